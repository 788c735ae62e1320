package ui

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"qtc/store"
	qsync "qtc/sync"
	"qtc/sync/catalog"
	"qtc/ui/vlist"
)

// changesScreen lists what the current connector's last sync runs added,
// changed and removed: one row per run, type, change and record, newest run
// first, from the change sets the sync engine keeps (the last run's, or the
// last few with the connector's retainDelta setting). Record names are read
// one window at a time; enter opens a record that is still stored.
type changesScreen struct {
	env    *env
	conn   string
	list   vlist.Model
	src    changeSource
	runs   int  // runs with change sets
	retain bool // the connector keeps the last RetainedChangeSets runs
	seq    int
	loaded bool
	err    error
}

// Change kinds as the CHANGE column shows them; the marker column repeats
// them as + ~ - (the records screen's removed marker).
const (
	changeAdded   = "added"
	changeChanged = "changed"
	changeRemoved = "removed"
	changeInitial = "initial"
)

var changeMarks = map[string]string{changeAdded: "+", changeChanged: "~", changeRemoved: markRemoved, changeInitial: "+"}

var changeKeys = struct{ Open key.Binding }{
	Open: key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "open record")),
}

func newChangesScreen(e *env, conn string) *changesScreen {
	cols := []vlist.Column{
		{Title: "RUN", MinWidth: 15, MaxWidth: 16},
		{Title: "TYPE", MinWidth: 10, MaxWidth: 32, Flex: 2},
		{Title: "CHANGE", MinWidth: 7, MaxWidth: 7},
		{Title: "NAME", MinWidth: 12, Flex: 3},
		{Title: "ID", MinWidth: 10, MaxWidth: 36, Flex: 2},
	}
	return &changesScreen{env: e, conn: conn, list: vlist.New(conn+"/changes", cols)}
}

// changeEntry is one row of the changes list before its name is read.
type changeEntry struct {
	run   string // "#12 05-17 18:30"
	typ   string
	kind  string
	id    string // "" for an initial pull
	count int    // records an initial pull added
}

// changesLoadedMsg carries the change sets of the connector, flattened.
type changesLoadedMsg struct {
	seq     int
	entries []changeEntry
	runs    int
	retain  bool
	err     error
}

// changeRecordMsg answers enter: the record to open, or why not.
type changeRecordMsg struct {
	typ catalog.Type
	rec store.Record
	err error
}

func (c *changesScreen) Init() tea.Cmd { return c.load() }

// load reads the change sets of every run that has them (ids only; names
// are read per window by changeSource).
func (c *changesScreen) load() tea.Cmd {
	c.seq = c.env.nextSeq()
	seq, e, conn := c.seq, c.env, c.conn
	return func() tea.Msg {
		entries, runs, retain, err := loadChanges(e.ctx, e.store, conn)
		return changesLoadedMsg{seq: seq, entries: entries, runs: runs, retain: retain, err: err}
	}
}

// loadChanges flattens the connector's change sets: newest run first, then
// types by name, then added, changed, removed, ids in order.
func loadChanges(ctx context.Context, st *store.Store, conn string) ([]changeEntry, int, bool, error) {
	c, err := st.Connector(ctx, conn)
	if err != nil {
		return nil, 0, false, err
	}
	ids, err := st.ChangeRuns(ctx, conn)
	if err != nil || len(ids) == 0 {
		return nil, 0, qsync.RetainsDelta(c), err
	}
	// Run ids are sequential per connector: the runs from the oldest one
	// with change sets to the newest are enough to date them.
	runs, err := st.Runs(ctx, conn, int(ids[0]-ids[len(ids)-1])+1)
	if err != nil {
		return nil, 0, false, err
	}
	started := map[uint64]time.Time{}
	for _, r := range runs {
		started[r.ID] = r.Start
	}
	var out []changeEntry
	for _, id := range ids {
		sets, err := st.Changes(ctx, conn, id)
		if errors.Is(err, store.ErrNotFound) {
			continue // pruned meanwhile by a sync
		}
		if err != nil {
			return nil, 0, false, err
		}
		label := fmt.Sprintf("#%d", id)
		if t, ok := started[id]; ok {
			label += " " + t.Local().Format("01-02 15:04")
		}
		types := make([]string, 0, len(sets))
		for typ := range sets {
			types = append(types, typ)
		}
		sort.Strings(types)
		for _, typ := range types {
			cs := sets[typ]
			if cs.Initial {
				out = append(out, changeEntry{run: label, typ: typ, kind: changeInitial, count: cs.InitialAdded})
				continue
			}
			for _, k := range []struct {
				kind string
				ids  []string
			}{{changeAdded, cs.Added}, {changeChanged, cs.Changed}, {changeRemoved, cs.Removed}} {
				for _, rid := range k.ids {
					out = append(out, changeEntry{run: label, typ: typ, kind: k.kind, id: rid})
				}
			}
		}
	}
	return out, len(ids), qsync.RetainsDelta(c), nil
}

func (c *changesScreen) Update(msg tea.Msg) (Screen, tea.Cmd) {
	switch msg := msg.(type) {
	case sizeMsg:
		var cmd tea.Cmd
		c.list, cmd = c.list.SetSize(msg.Width, max(msg.Height-1, 2))
		return c, cmd
	case changesLoadedMsg:
		if msg.seq != c.seq {
			return c, nil
		}
		c.loaded, c.err, c.runs, c.retain = true, msg.err, msg.runs, msg.retain
		c.src = changeSource{st: c.env.store, conn: c.conn, entries: msg.entries}
		var cmd tea.Cmd
		c.list, cmd = c.list.SetSource(c.src)
		return c, cmd
	case changeRecordMsg:
		if msg.err != nil {
			return c, statusErr(msg.err)
		}
		return c, push(newDetailScreen(c.env, c.conn, msg.typ, msg.rec))
	case storeChangedMsg:
		if msg.connector == c.conn {
			return c, c.load()
		}
		return c, nil
	case tea.KeyPressMsg:
		switch {
		case key.Matches(msg, changeKeys.Open):
			return c, c.open()
		case key.Matches(msg, keys.Back):
			return c, pop
		}
	}
	var cmd tea.Cmd
	c.list, cmd = c.list.Update(msg)
	return c, cmd
}

// open reads the selected record for the detail screen.
func (c *changesScreen) open() tea.Cmd {
	i := c.list.Cursor()
	if i < 0 || i >= len(c.src.entries) {
		return nil
	}
	en := c.src.entries[i]
	if en.kind == changeInitial {
		return status(fmt.Sprintf("the first full pull of %s added %s records: open them with :%s", en.typ, commas(en.count), en.typ))
	}
	t, ok := catalog.Lookup(en.typ)
	if !ok {
		return status("no screen for type " + en.typ)
	}
	e, conn := c.env, c.conn
	return func() tea.Msg {
		rec, err := e.store.Get(e.ctx, conn, en.typ, en.id)
		if errors.Is(err, store.ErrNotFound) {
			return statusMsg{text: fmt.Sprintf("%s %s is no longer stored (deleted at the source)", en.typ, en.id)}
		}
		return changeRecordMsg{typ: t, rec: rec, err: err}
	}
}

func (c *changesScreen) View(width, height int) string {
	st := c.env.styles
	var foot string
	switch {
	case c.err != nil:
		foot = st.Error.Render("error: " + c.err.Error())
	case !c.loaded:
		foot = st.Dim.Render("loading…")
	case c.runs == 0:
		foot = st.Dim.Render("no change sets yet — sync the connector (ctrl+r) and its changes show here")
	default:
		pos := "0 of 0"
		if n := c.list.Len(); n > 0 {
			pos = fmt.Sprintf("%s of %s", commas(c.list.Cursor()+1), commas(n))
		}
		kept := fmt.Sprintf("the last run's changes (with retainDelta a connector keeps its last %d)", qsync.RetainedChangeSets)
		if c.retain {
			kept = fmt.Sprintf("changes of the last %d runs (at most %d kept)", c.runs, qsync.RetainedChangeSets)
		}
		foot = st.Dim.Render(fmt.Sprintf("%s · %s · + added ~ changed - removed", pos, kept))
		if c.list.Len() == 0 {
			foot = st.Dim.Render("the last sync changed nothing · " + kept)
		}
	}
	return fit(strings.TrimRight(c.list.View(), "\n")+"\n"+foot, width, height)
}

func (c *changesScreen) Crumb() string { return "changes" }
func (c *changesScreen) Keys() []key.Binding {
	return []key.Binding{changeKeys.Open, keys.Sync}
}
func (c *changesScreen) Capturing() bool { return false }

// changeSource serves the change rows, reading the names of one window's
// records (the first cell of their rows) from the store.
type changeSource struct {
	st      *store.Store
	conn    string
	entries []changeEntry
}

func (s changeSource) Len() int { return len(s.entries) }

// HasMarks implements vlist.MarkHinter: every change row has a marker.
func (s changeSource) HasMarks() bool { return len(s.entries) > 0 }

func (s changeSource) Rows(ctx context.Context, offset, n int) ([]vlist.Row, error) {
	if offset >= len(s.entries) {
		return nil, nil
	}
	window := s.entries[offset:min(offset+n, len(s.entries))]
	byType := map[string][]string{}
	for _, en := range window {
		if en.id != "" {
			byType[en.typ] = append(byType[en.typ], en.id)
		}
	}
	names := map[[2]string]string{}
	for typ, ids := range byType {
		rows, err := s.st.RowsByID(ctx, s.conn, typ, ids)
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			if len(r.Cells) > 0 {
				names[[2]string{typ, r.ID}] = r.Cells[0]
			}
		}
	}
	out := make([]vlist.Row, len(window))
	for i, en := range window {
		name, ok := names[[2]string{en.typ, en.id}]
		switch {
		case en.kind == changeInitial:
			name = fmt.Sprintf("%s records (first full pull)", commas(en.count))
		case !ok:
			name = "(no longer stored)"
		}
		out[i] = vlist.Row{
			ID:    fmt.Sprintf("%d", offset+i),
			Cells: []string{en.run, en.typ, en.kind, name, en.id},
			Mark:  changeMarks[en.kind],
		}
	}
	return out, nil
}
