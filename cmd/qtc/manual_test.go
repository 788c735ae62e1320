package main

import (
	"context"
	"strings"
	"testing"

	"qtc/store"
	qsync "qtc/sync"
)

func TestSyncWithoutNameSkipsManualConnectors(t *testing.T) {
	s := newSandbox(t)
	s.startSim()
	g := s.graph
	add := func(kind, name string, flags ...string) {
		t.Helper()
		args := append([]string{"connector", "add", kind, name, "--tenant-id", g["tenant"], "--client-id", g["client"],
			"--login-url", g["login URL"], "--graph-url", g["graph URL"]}, flags...)
		if _, stderr, code := s.run(s.env("QTC_CLIENT_SECRET="+g["secret"]), args...); code != 0 {
			t.Fatalf("add %s: exit %d: %s", name, code, stderr)
		}
	}
	add("entra", "auto")
	add("entra-devices", "hands", "--manual", "--retain-delta")

	tests := []struct {
		name       string
		args       []string
		wantStderr []string
		notStderr  []string
		synced     map[string]int // runs per connector afterwards
	}{
		{"no name skips the manual one", []string{"sync"},
			[]string{"skipped hands: manual sync required; run `qtc sync hands`", "auto: Processed"}, []string{"hands: Processed"},
			map[string]int{"auto": 1, "hands": 0}},
		{"naming it syncs it", []string{"sync", "hands"},
			[]string{"hands: Processed"}, []string{"skipped"},
			map[string]int{"auto": 1, "hands": 1}},
		{"and the next unnamed sync skips it again", []string{"sync"},
			[]string{"skipped hands", "auto: Processed"}, []string{"hands: Processed"},
			map[string]int{"auto": 2, "hands": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, code := s.run(s.env(), tt.args...)
			if code != 0 {
				t.Fatalf("%v: exit %d: %s", tt.args, code, stderr)
			}
			for _, w := range tt.wantStderr {
				if !strings.Contains(stderr, w) {
					t.Errorf("%v: stderr does not say %q:\n%s", tt.args, w, stderr)
				}
			}
			for _, w := range tt.notStderr {
				if strings.Contains(stderr, w) {
					t.Errorf("%v: stderr says %q:\n%s", tt.args, w, stderr)
				}
			}
			st, err := store.Open(s.db, store.Options{ReadOnly: true})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			for name, want := range tt.synced {
				runs, err := st.Runs(context.Background(), name, 0)
				if err != nil || len(runs) != want {
					t.Errorf("%s: %d runs, %v; want %d", name, len(runs), err, want)
				}
			}
		})
	}

	// The flags are stored as the connector's settings.
	st, err := store.Open(s.db, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for name, want := range map[string]bool{"auto": false, "hands": true} {
		c, err := st.Connector(context.Background(), name)
		if err != nil {
			t.Fatal(err)
		}
		if qsync.Manual(c) != want || qsync.RetainsDelta(c) != want {
			t.Errorf("%s: settings %v", name, c.Settings)
		}
	}
}
