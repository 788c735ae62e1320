package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/charmbracelet/x/ansi"
	"golang.org/x/term"

	"qtc/api/retries"
	qsync "qtc/sync"
)

// syncWithProgress runs a sync, drawing a bar per stream on a terminal and
// plain lines otherwise, and turns the run's outcome into the exit status.
func (c *cli) syncWithProgress(eng *qsync.Engine, name string, opt qsync.Options) error {
	p := newProgressPrinter(c.stderr)
	opt.Progress = p.event
	run, err := eng.Sync(c.ctx, name, opt)
	if run.ID != 0 {
		fmt.Fprintf(c.stderr, "%s: %s in %s, %d requests", name, run.State, run.End.Sub(run.Start).Round(time.Millisecond), run.Requests)
		for _, t := range sortedKeys(run.Counts) {
			n := run.Counts[t]
			fmt.Fprintf(c.stderr, "; %s +%d ~%d -%d", t, n.Added, n.Changed, n.Removed)
		}
		fmt.Fprintln(c.stderr)
		if n := retries.Total(run.Retries); n > 0 {
			fmt.Fprintf(c.stderr, "%s: %d requests retried: %s\n", name, n, retries.Format(run.Retries))
		}
	}
	if err != nil && run.State == qsync.StatePartiallyProcessed {
		return &partialError{err: err}
	}
	return err
}

// progressPrinter renders sync events. On a terminal it redraws one line per
// stream in place; otherwise it prints a line per stream at most once a
// second, plus the stream's final line.
type progressPrinter struct {
	mu      sync.Mutex
	w       io.Writer
	tty     bool
	width   int // terminal width: redrawn lines must not wrap
	order   []string
	last    map[string]qsync.Event
	printed map[string]time.Time
	drawn   int
}

func newProgressPrinter(w io.Writer) *progressPrinter {
	tty, width := false, 80
	if f, ok := w.(*os.File); ok {
		tty = term.IsTerminal(int(f.Fd())) && os.Getenv("TERM") != "dumb"
		if w, _, err := term.GetSize(int(f.Fd())); err == nil && w > 0 {
			width = w
		}
	}
	return &progressPrinter{w: w, tty: tty, width: width, last: map[string]qsync.Event{}, printed: map[string]time.Time{}}
}

func (p *progressPrinter) event(ev qsync.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if ev.Stream == "" {
		return
	}
	if _, seen := p.last[ev.Stream]; !seen {
		p.order = append(p.order, ev.Stream)
	}
	p.last[ev.Stream] = ev
	if p.tty {
		p.redraw()
		return
	}
	final := ev.Phase == "done" || ev.Phase == "failed"
	if final || time.Since(p.printed[ev.Stream]) >= time.Second {
		p.printed[ev.Stream] = time.Now()
		fmt.Fprintln(p.w, progressLine(ev, 0))
	}
}

func (p *progressPrinter) redraw() {
	if p.drawn > 0 {
		fmt.Fprintf(p.w, "\x1b[%dA", p.drawn)
	}
	for _, s := range p.order {
		// Cut to the width: a wrapped line would break the cursor-up redraw.
		fmt.Fprintf(p.w, "\r\x1b[2K%s\n", ansi.Truncate(progressLine(p.last[s], 30), p.width-1, "…"))
	}
	p.drawn = len(p.order)
}

// progressLine formats one stream's progress; barWidth 0 omits the bar.
func progressLine(ev qsync.Event, barWidth int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-12s ", ev.Stream)
	if barWidth > 0 {
		frac := 0.0
		if ev.Total > 0 {
			frac = float64(ev.Records) / float64(ev.Total)
		}
		if ev.Phase == "done" || ev.Phase == "sweeping" {
			frac = 1
		}
		if frac > 1 {
			frac = 1
		}
		full := int(frac * float64(barWidth))
		b.WriteString("[" + strings.Repeat("█", full) + strings.Repeat("░", barWidth-full) + "] ")
	}
	if ev.Total > 0 {
		fmt.Fprintf(&b, "%d/%d records", ev.Records, ev.Total)
	} else {
		fmt.Fprintf(&b, "%d records", ev.Records)
	}
	fmt.Fprintf(&b, ", %d pages", ev.Page)
	if ev.Rate > 0 && ev.Phase == "paging" {
		fmt.Fprintf(&b, ", %.0f rec/s", ev.Rate)
	}
	switch ev.Phase {
	case "done":
		fmt.Fprintf(&b, " ✓ (+%d added ~%d changed -%d removed =%d unchanged)", ev.Counts.Added, ev.Counts.Changed, ev.Counts.Removed, ev.Counts.Unchanged)
	case "failed":
		fmt.Fprintf(&b, " ✗ %v", ev.Err)
	case "sweeping":
		b.WriteString(" removing stale records…")
	}
	return b.String()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
