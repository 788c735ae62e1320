package ui

import (
	"context"
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/progress"
	tea "charm.land/bubbletea/v2"

	"qtc/store"
	qsync "qtc/sync"
)

// syncProgress is the live state of one sync started from the TUI. The app
// owns it (so a sync keeps reporting while the user browses elsewhere); the
// sync screen only draws it.
type syncProgress struct {
	connector string
	started   time.Time
	order     []string
	events    map[string]qsync.Event
	done      bool
	run       store.Run
	err       error
	cancel    func()
	ch        chan qsync.Event
}

type (
	syncEventMsg struct {
		connector string
		ev        qsync.Event
	}
	syncDoneMsg struct{ connector string }
)

// startSync starts a sync of the connector in the background and opens the
// sync screen on it. A connector already syncing just shows its screen.
func (a *app) startSync(conn string) tea.Cmd {
	if p := a.env.syncs[conn]; p != nil && !p.done {
		return push(newSyncScreen(a.env, conn))
	}
	return tea.Batch(push(newSyncScreen(a.env, conn)), a.runSync(conn))
}

// dueCheckEvery is how often the open TUI looks for connectors whose
// schedule is due and syncs them in the background (0: never; tests).
var dueCheckEvery = 30 * time.Second

type (
	// dueTickMsg: time to look for due connectors.
	dueTickMsg struct{}
	// dueMsg lists the connectors whose scheduled sync is due.
	dueMsg struct {
		names []string
		err   error
	}
)

// dueTick schedules the next look for due connectors.
func dueTick() tea.Cmd {
	if dueCheckEvery <= 0 {
		return nil
	}
	return tea.Tick(dueCheckEvery, func(time.Time) tea.Msg { return dueTickMsg{} })
}

// checkDue asks the engine which connectors are due (Require Manual Sync
// ones never are).
func (a *app) checkDue() tea.Cmd {
	eng, ctx := a.env.engine, a.env.ctx
	return func() tea.Msg {
		due, _, err := eng.DueConnectors(ctx, time.Now())
		names := make([]string, len(due))
		for i, c := range due {
			names[i] = c.Name
		}
		return dueMsg{names: names, err: err}
	}
}

// startDue starts the due syncs that are not running, in the background:
// browsing goes on; the header and the sync screen show their progress.
func (a *app) startDue(names []string) tea.Cmd {
	var cmds []tea.Cmd
	var started []string
	for _, n := range names {
		if p := a.env.syncs[n]; p != nil && !p.done {
			continue
		}
		if a.env.engine.Running(n) {
			continue // a sync from another process or the CLI
		}
		cmds = append(cmds, a.runSync(n))
		started = append(started, n)
	}
	if len(started) > 0 {
		cmds = append(cmds, status("scheduled sync started: "+strings.Join(started, ", ")+" (:sync shows it)"))
	}
	return tea.Batch(cmds...)
}

// runSync runs one sync in the background and listens to its progress.
func (a *app) runSync(conn string) tea.Cmd {
	ctx, cancel := context.WithCancel(a.env.ctx)
	p := &syncProgress{connector: conn, started: time.Now(), events: map[string]qsync.Event{},
		cancel: cancel, ch: make(chan qsync.Event, 64)}
	a.env.syncs[conn] = p
	eng := a.env.engine
	go func() {
		run, err := eng.Sync(ctx, conn, qsync.Options{Progress: func(ev qsync.Event) { p.ch <- ev }})
		// Written before close: the app reads them after the channel closes.
		p.run, p.err = run, err
		close(p.ch)
	}()
	return listen(p)
}

// listen waits for the next event of a running sync.
func listen(p *syncProgress) tea.Cmd {
	return func() tea.Msg {
		ev, ok := <-p.ch
		if !ok {
			return syncDoneMsg{connector: p.connector}
		}
		return syncEventMsg{connector: p.connector, ev: ev}
	}
}

func (a *app) handleSync(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case syncEventMsg:
		p := a.env.syncs[msg.connector]
		if p == nil {
			return nil
		}
		first := len(p.events) == 0
		if _, seen := p.events[msg.ev.Stream]; !seen && msg.ev.Stream != "" {
			p.order = append(p.order, msg.ev.Stream)
		}
		p.events[msg.ev.Stream] = msg.ev
		if first || msg.ev.Phase == "done" {
			// Live lists: the connector is Processing, then each finished
			// stream's records are in (the connectors screen, an open list).
			return tea.Batch(listen(p), a.forwardAll(storeChangedMsg{connector: p.connector}))
		}
		return listen(p)
	case syncDoneMsg:
		p := a.env.syncs[msg.connector]
		if p == nil {
			return nil
		}
		p.done = true
		p.cancel()
		text := fmt.Sprintf("sync of %s: %s", p.connector, p.run.State)
		if p.err != nil {
			text += " — " + p.err.Error()
		}
		changed := storeChangedMsg{connector: p.connector}
		return tea.Batch(
			func() tea.Msg { return statusMsg{text: text, err: p.err != nil} },
			a.forwardAll(changed),
			a.loadConnState(),
		)
	}
	return nil
}

// syncScreen draws the progress of a connector's sync: a bar per stream.
type syncScreen struct {
	env  *env
	conn string
	bar  progress.Model
}

var syncKeys = struct{ Cancel, Changes key.Binding }{
	Cancel:  key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "cancel sync")),
	Changes: key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "what changed")),
}

func newSyncScreen(e *env, conn string) *syncScreen {
	bar := progress.New(progress.WithoutPercentage(), progress.WithWidth(30))
	return &syncScreen{env: e, conn: conn, bar: bar}
}

func (s *syncScreen) Init() tea.Cmd { return nil }

func (s *syncScreen) Update(msg tea.Msg) (Screen, tea.Cmd) {
	if msg, ok := msg.(tea.KeyPressMsg); ok {
		switch {
		case key.Matches(msg, keys.Back):
			return s, pop
		case key.Matches(msg, syncKeys.Cancel):
			if p := s.env.syncs[s.conn]; p != nil && !p.done {
				p.cancel()
				return s, status("cancelling sync of " + s.conn + " (it resumes from the last page next time)")
			}
		case key.Matches(msg, syncKeys.Changes):
			if p := s.env.syncs[s.conn]; p != nil && p.done {
				return s, push(newChangesScreen(s.env, s.conn))
			}
		}
	}
	return s, nil
}

func (s *syncScreen) View(width, height int) string {
	st := s.env.styles
	p := s.env.syncs[s.conn]
	if p == nil {
		return fit(st.Dim.Render("no sync started for "+s.conn+" — press ctrl+r"), width, height)
	}
	var b strings.Builder
	head := fmt.Sprintf("Sync of %s — started %s", s.conn, p.started.Format("15:04:05"))
	b.WriteString(st.Title.Render(head) + "\n\n")
	bar := s.bar
	bar.SetWidth(max(min(width-50, 40), 10))
	for _, name := range p.order {
		ev := p.events[name]
		frac := 0.0
		if ev.Total > 0 {
			frac = float64(ev.Records) / float64(ev.Total)
		}
		if ev.Phase == "done" || ev.Phase == "sweeping" {
			frac = 1
		}
		line := fmt.Sprintf("%-12s %s %7s/%-7s", name, bar.ViewAs(min(frac, 1)), commas(ev.Records), commas(ev.Total))
		switch ev.Phase {
		case "paging":
			line += fmt.Sprintf(" %6.0f rec/s", ev.Rate)
		case "sweeping":
			line += " removing stale…"
		case "done":
			line += st.Good.Render(fmt.Sprintf(" ✓ +%d ~%d -%d =%d", ev.Counts.Added, ev.Counts.Changed, ev.Counts.Removed, ev.Counts.Unchanged))
		case "failed":
			line += st.Bad.Render(" ✗ " + errText(ev.Err))
		}
		b.WriteString(line + "\n")
	}
	if len(p.order) == 0 && !p.done {
		b.WriteString(st.Dim.Render("connecting…") + "\n")
	}
	b.WriteString(st.Dim.Render("+ added  ~ changed  - removed  = unchanged") + "\n\n")
	if p.done {
		elapsed := p.run.End.Sub(p.run.Start).Round(time.Millisecond)
		b.WriteString(stateBadge(st, p.run.State) + fmt.Sprintf(" in %s", elapsed) + "\n")
		if p.err != nil {
			b.WriteString(st.Error.Render("error: "+p.err.Error()) + "\n")
		}
		b.WriteString(st.Dim.Render("esc: back to the records · c: what changed"))
	} else {
		b.WriteString(st.Dim.Render(fmt.Sprintf("running %s · x cancels · esc browses while it runs", time.Since(p.started).Round(time.Second))))
	}
	return fit(b.String(), width, height)
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func (s *syncScreen) Crumb() string { return "sync" }
func (s *syncScreen) Keys() []key.Binding {
	if p := s.env.syncs[s.conn]; p != nil && p.done {
		return []key.Binding{syncKeys.Changes, keys.Back}
	}
	return []key.Binding{syncKeys.Cancel, keys.Back}
}
func (s *syncScreen) Capturing() bool { return false }
