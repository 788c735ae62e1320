package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"qtc/store"
	qsync "qtc/sync"
)

func TestProgressLines(t *testing.T) {
	tests := []struct {
		ev   qsync.Event
		want []string
	}{
		{qsync.Event{Stream: "exceptions", Phase: "paging", Records: 50, Total: 200, Page: 1, Rate: 1000}, []string{"50/200 records", "1 pages", "1000 rec/s", "[███████"}},
		{qsync.Event{Stream: "policies", Phase: "done", Records: 60, Total: 60, Page: 1, Counts: store.Counts{Added: 3, Unchanged: 57}}, []string{"✓", "+3 added", "=57 unchanged", "[" + strings.Repeat("█", 30) + "]"}},
		{qsync.Event{Stream: "users", Phase: "failed", Err: errors.New("boom")}, []string{"✗ boom", "0 records"}},
	}
	for _, tt := range tests {
		line := progressLine(tt.ev, 30)
		for _, w := range tt.want {
			if !strings.Contains(line, w) {
				t.Errorf("%q lacks %q", line, w)
			}
		}
	}
}

func TestProgressRedrawNeverWraps(t *testing.T) {
	var b bytes.Buffer
	p := &progressPrinter{w: &b, tty: true, width: 40, last: map[string]qsync.Event{}}
	for _, s := range []string{"azure/ENTRA_ID_APPLICATION_REGISTRATION", "policies"} {
		p.event(qsync.Event{Stream: s, Phase: "done", Records: 447, Total: 447, Counts: store.Counts{Added: 447}})
	}
	for _, l := range strings.Split(b.String(), "\n") {
		if i := strings.LastIndex(l, "\x1b[2K"); i >= 0 {
			l = l[i+4:]
		}
		if w := ansi.StringWidth(l); w >= 40 {
			t.Errorf("line %q is %d wide on a 40-column terminal", l, w)
		}
	}
}
