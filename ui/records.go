package ui

import (
	"context"
	"errors"
	"fmt"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"qtc/api/qualys"
	"qtc/store"
	"qtc/sync/catalog"
	"qtc/ui/filter"
	"qtc/ui/vlist"
)

// recordsScreen lists the records of one type of one connector, read from
// the store one window at a time, sortable by any column and filtered as you
// type.
type recordsScreen struct {
	env   *env
	conn  string
	typ   catalog.Type
	list  vlist.Model
	order store.Order

	total   int // records of the type
	removed int // of which marked removed at the source
	// filter state: the applied query (or "") and the query being typed.
	filtering bool
	input     textinput.Model
	query     string
	matched   int // rows matching query, -1 without a filter
	filterSeq int
	// stopFilter cancels the filter query in flight, if any: a newer
	// keystroke supersedes it (its reply would be dropped anyway).
	stopFilter context.CancelFunc
	filterErr  error
	countSeq   int
	width      int
	height     int
}

var (
	recordKeys = struct {
		Filter, Open, Sort, Reverse, New, Edit, Delete key.Binding
	}{
		New:     key.NewBinding(key.WithKeys("n"), key.WithHelp("n", "new")),
		Edit:    key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "edit")),
		Delete:  key.NewBinding(key.WithKeys("d"), key.WithHelp("d", "delete")),
		Filter:  key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
		Open:    key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "open")),
		Sort:    key.NewBinding(key.WithKeys("1", "2", "3", "4", "5", "6", "7", "8", "9"), key.WithHelp("1-9", "sort by column (again: reverse)")),
		Reverse: key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "reverse sort")),
	}
)

func newRecordsScreen(e *env, conn string, t catalog.Type) *recordsScreen {
	cols := make([]vlist.Column, len(t.Columns))
	for i, c := range t.Columns {
		cols[i] = vlist.Column{Title: c.Title, MinWidth: c.MinWidth, MaxWidth: c.MaxWidth, Flex: c.Flex}
		if c.Right {
			cols[i].Align = vlist.AlignRight
		}
	}
	in := newTextInput("/", 200)
	in.Placeholder = `text, "a phrase", !exclude, column:text, column=value, column>N, tag:key=value`
	s := &recordsScreen{
		env: e, conn: conn, typ: t,
		list:    vlist.New(conn+"/"+t.Name, cols),
		order:   store.Order{Column: t.DefaultSort, Desc: t.DefaultDesc},
		input:   in,
		matched: -1,
		width:   80, height: 22,
	}
	s.list = s.list.SetSort(s.order.Column, s.order.Desc)
	return s
}

// Messages of the records screen.
type (
	countMsg struct {
		seq     int
		n       int
		removed int
		err     error
	}
	filterDoneMsg struct {
		seq int
		ids []string
		err error
	}
	recordLoadedMsg struct {
		rec store.Record
		err error
	}
)

func (s *recordsScreen) Init() tea.Cmd { return s.reload() }

// reload re-counts the type and rebuilds the list's source (after a sync, a
// sort change, or at start).
func (s *recordsScreen) reload() tea.Cmd {
	s.countSeq = s.env.nextSeq()
	seq, e, conn, typ := s.countSeq, s.env, s.conn, s.typ.Name
	return func() tea.Msg {
		n, err := e.store.Count(e.ctx, conn, typ)
		if err != nil {
			return countMsg{seq: seq, err: err}
		}
		removed, err := e.store.CountRemoved(e.ctx, conn, typ)
		return countMsg{seq: seq, n: n, removed: removed, err: err}
	}
}

func (s *recordsScreen) Update(msg tea.Msg) (Screen, tea.Cmd) {
	switch msg := msg.(type) {
	case sizeMsg:
		s.width, s.height = msg.Width, msg.Height
		var cmd tea.Cmd
		s.list, cmd = s.list.SetSize(s.width, s.listHeight())
		s.input.SetWidth(max(s.width-30, 10))
		return s, cmd
	case countMsg:
		if msg.seq != s.countSeq {
			return s, nil
		}
		if msg.err != nil && !errors.Is(msg.err, store.ErrNotFound) {
			return s, statusErr(msg.err)
		}
		s.total, s.removed = msg.n, msg.removed
		return s, s.runFilter()
	case filterDoneMsg:
		if msg.seq != s.filterSeq {
			return s, nil // a newer keystroke superseded this result
		}
		if msg.err != nil {
			if errors.Is(msg.err, context.Canceled) {
				return s, nil
			}
			return s, statusErr(msg.err)
		}
		s.matched = len(msg.ids)
		var cmd tea.Cmd
		s.list, cmd = s.list.SetSource(idSource{st: s.env.store, conn: s.conn, typ: s.typ.Name, ids: msg.ids})
		return s, cmd
	case recordLoadedMsg:
		if msg.err != nil {
			return s, statusErr(msg.err)
		}
		return s, push(newDetailScreen(s.env, s.conn, s.typ, msg.rec))
	case storeChangedMsg:
		if msg.connector == s.conn {
			return s, s.reload()
		}
		return s, nil
	case tea.KeyPressMsg:
		if s.filtering {
			return s.updateFilter(msg)
		}
		return s.updateKey(msg)
	}
	var cmd tea.Cmd
	s.list, cmd = s.list.Update(msg)
	return s, cmd
}

func (s *recordsScreen) updateKey(msg tea.KeyPressMsg) (Screen, tea.Cmd) {
	switch {
	case key.Matches(msg, recordKeys.Filter):
		s.filtering = true
		s.input.SetValue(s.query)
		s.input.CursorEnd()
		return s, s.input.Focus()
	case key.Matches(msg, keys.Back):
		if s.query != "" {
			s.input.SetValue("")
			return s, s.applyQuery("")
		}
		return s, pop
	case key.Matches(msg, recordKeys.Open):
		row, ok := s.list.Selected()
		if !ok {
			return s, nil
		}
		e, conn, typ := s.env, s.conn, s.typ.Name
		return s, func() tea.Msg {
			rec, err := e.store.Get(e.ctx, conn, typ, row.ID)
			return recordLoadedMsg{rec: rec, err: err}
		}
	case key.Matches(msg, recordKeys.Sort):
		col := int(msg.String()[0] - '1')
		if col >= len(s.typ.Columns) {
			return s, nil
		}
		if col == s.order.Column {
			s.order.Desc = !s.order.Desc
		} else {
			s.order = store.Order{Column: col}
		}
		s.list = s.list.SetSort(s.order.Column, s.order.Desc)
		return s, s.reload()
	case s.typ.Name == catalog.AzureOrgType && key.Matches(msg, recordKeys.New):
		return s, push(newAzureOrgForm(s.env, s.conn))
	case s.editable() && key.Matches(msg, recordKeys.New):
		return s, push(newExceptionForm(s.env, s.conn, "", qualys.ExceptionInput{}))
	case s.editable() && key.Matches(msg, recordKeys.Edit):
		row, ok := s.list.Selected()
		if !ok {
			return s, nil
		}
		e, conn, typ := s.env, s.conn, s.typ.Name
		return s, func() tea.Msg {
			rec, err := e.store.Get(e.ctx, conn, typ, row.ID)
			if err != nil {
				return statusMsg{text: err.Error(), err: true}
			}
			return pushMsg{newExceptionForm(e, conn, rec.ID, exceptionInputOf(rec.Raw))}
		}
	case s.editable() && key.Matches(msg, recordKeys.Delete):
		row, ok := s.list.Selected()
		if !ok {
			return s, nil
		}
		name := row.ID
		if len(row.Cells) > 0 {
			name = row.Cells[0]
		}
		e, conn := s.env, s.conn
		del := func() tea.Msg {
			ids, err := e.engine.DeleteExceptions(e.ctx, conn, []string{row.ID})
			if err != nil {
				return statusMsg{text: err.Error(), err: true}
			}
			return deletedMsg{connector: conn, ids: ids, name: name}
		}
		return s, push(newConfirm(s.env, "Delete this exception on the server?",
			fmt.Sprintf("%q\n%s\n\nIt is deleted in Qualys TotalCloud, then from the local store.", name, row.ID), del))
	case key.Matches(msg, recordKeys.Reverse):
		s.order.Desc = !s.order.Desc
		s.list = s.list.SetSort(s.order.Column, s.order.Desc)
		return s, s.reload()
	}
	var cmd tea.Cmd
	s.list, cmd = s.list.Update(msg)
	return s, cmd
}

func (s *recordsScreen) updateFilter(msg tea.KeyPressMsg) (Screen, tea.Cmd) {
	switch msg.String() {
	case "esc":
		s.filtering = false
		s.input.Blur()
		s.input.SetValue("")
		return s, s.applyQuery("")
	case "enter":
		s.filtering = false
		s.input.Blur()
		return s, s.applyQuery(s.input.Value())
	case "up", "down", "pgup", "pgdown":
		var cmd tea.Cmd
		s.list, cmd = s.list.Update(msg)
		return s, cmd
	}
	var cmd tea.Cmd
	s.input, cmd = s.input.Update(msg)
	if v := s.input.Value(); v != s.query {
		// No debounce: every keystroke runs its query at once and cancels
		// the one still running, so the list follows the typing.
		return s, tea.Batch(cmd, s.applyQuery(v))
	}
	return s, cmd
}

// applyQuery sets the filter and runs it.
func (s *recordsScreen) applyQuery(q string) tea.Cmd {
	s.query = q
	s.filterSeq = s.env.nextSeq()
	return s.runFilter()
}

// runFilter shows the rows matching the query: all of them, read through
// the sort index, when there is no query; otherwise the ids a scan of every
// row matched, computed in a command. A query still running is cancelled:
// its reply carries an older filterSeq and would be dropped.
func (s *recordsScreen) runFilter() tea.Cmd {
	if s.stopFilter != nil {
		s.stopFilter()
		s.stopFilter = nil
	}
	if s.query == "" || s.query == "!" {
		s.matched = -1
		var cmd tea.Cmd
		s.list, cmd = s.list.SetSource(storeSource{st: s.env.store, conn: s.conn, typ: s.typ.Name, order: s.order, n: s.total})
		return cmd
	}
	titles := make([]string, len(s.typ.Columns))
	for i, c := range s.typ.Columns {
		titles[i] = c.Title
	}
	pred, err := filter.Parse(s.query, titles)
	s.filterErr = err
	if err != nil {
		return nil // the footer shows the error; the list keeps the last result
	}
	ctx, cancel := context.WithCancel(s.env.ctx)
	s.stopFilter = cancel
	seq, st, conn, typ, order := s.filterSeq, s.env.store, s.conn, s.typ.Name, s.order
	return func() tea.Msg {
		defer cancel()
		ids, err := st.Match(ctx, conn, typ, order, pred)
		return filterDoneMsg{seq: seq, ids: ids, err: err}
	}
}

func (s *recordsScreen) listHeight() int { return max(s.height-1, 2) }

func (s *recordsScreen) View(width, height int) string {
	st := s.env.styles
	body := s.list.View()
	var foot string
	switch {
	case s.filtering:
		foot = s.input.View()
		if s.filterErr != nil {
			foot += "  " + st.Error.Render(s.filterErr.Error())
		}
	default:
		col := s.typ.Columns[s.order.Column].Title
		dir := "▲"
		if s.order.Desc {
			dir = "▼"
		}
		pos := "0 of 0"
		if n := s.list.Len(); n > 0 {
			pos = fmt.Sprintf("%s of %s", commas(s.list.Cursor()+1), commas(n))
		}
		foot = st.Dim.Render(fmt.Sprintf("%s · sorted by %s %s", pos, col, dir))
		if s.query != "" {
			foot += st.Dim.Render(" · filter: ") + st.Prompt.Render(s.query)
			if s.filterErr != nil {
				foot += "  " + st.Error.Render(s.filterErr.Error())
			}
		}
		if s.removed > 0 {
			foot += st.Dim.Render(fmt.Sprintf(" · %s removed at source (%s)", commas(s.removed), markRemoved))
		}
		if s.typ.Marker != nil {
			foot += st.Dim.Render(" · " + catalog.MarkEnded + " ended, " + catalog.MarkEndingSoon + " ends within 7 days")
		}
		if s.list.Loading() {
			foot += st.Dim.Render(" · loading…")
		}
	}
	return fit(body+"\n"+foot, width, height)
}

func (s *recordsScreen) Crumb() string { return s.typ.Name }

func (s *recordsScreen) Keys() []key.Binding {
	ks := []key.Binding{recordKeys.Open, recordKeys.Filter, recordKeys.Sort, recordKeys.Reverse}
	switch {
	case s.editable():
		ks = append(ks, recordKeys.New, recordKeys.Edit, recordKeys.Delete)
	case s.typ.Name == catalog.AzureOrgType:
		ks = append(ks, recordKeys.New)
	}
	return append(ks, keys.Sync)
}

// editable: exceptions can be created, edited and deleted from their list.
func (s *recordsScreen) editable() bool { return s.typ.Name == "exceptions" }

// deletedMsg reports records deleted on the server and in the store.
type deletedMsg struct {
	connector string
	ids       []string
	name      string
}

func (s *recordsScreen) Capturing() bool { return s.filtering }

func (s *recordsScreen) Info() headerInfo {
	return headerInfo{Connector: s.conn, Type: s.typ.Name, Count: s.total, Filtered: s.matched}
}

// storeSource reads a type's rows through one of its indexes.
type storeSource struct {
	st    *store.Store
	conn  string
	typ   string
	order store.Order
	n     int
}

func (s storeSource) Len() int { return s.n }

func (s storeSource) Rows(ctx context.Context, offset, n int) ([]vlist.Row, error) {
	rows, err := s.st.Rows(ctx, s.conn, s.typ, s.order, offset, n)
	return toVRows(s.typ, rows), err
}

// idSource reads the rows of a filter result, in its order.
type idSource struct {
	st   *store.Store
	conn string
	typ  string
	ids  []string
}

func (s idSource) Len() int { return len(s.ids) }

func (s idSource) Rows(ctx context.Context, offset, n int) ([]vlist.Row, error) {
	if offset >= len(s.ids) {
		return nil, nil
	}
	end := min(offset+n, len(s.ids))
	rows, err := s.st.RowsByID(ctx, s.conn, s.typ, s.ids[offset:end])
	return toVRows(s.typ, rows), err
}

// toVRows turns store rows into list rows, showing time cells in the
// analyst's local time to the minute. It runs for one window of rows only.
func toVRows(typ string, rows []store.Row) []vlist.Row {
	t, _ := catalog.Lookup(typ)
	now := time.Now()
	out := make([]vlist.Row, len(rows))
	for i, r := range rows {
		mark := ""
		switch {
		case !r.Removed.IsZero():
			mark = markRemoved
		case t.Marker != nil:
			mark = t.Marker(r.Cells, now)
		}
		// The store hands out copies, so the cells can be rewritten here.
		for c, col := range t.Columns {
			if col.Kind == store.Time && c < len(r.Cells) {
				r.Cells[c] = displayTime(r.Cells[c])
			}
		}
		out[i] = vlist.Row{ID: r.ID, Cells: r.Cells, Mark: mark}
	}
	return out
}

// markRemoved flags a record the last full pull no longer found at the
// source; it stays browsable until the retention purges it.
const markRemoved = "-"

// displayTime formats an API timestamp as local "2006-01-02 15:04"; a value
// it cannot parse is shown as it is.
func displayTime(s string) string {
	for _, layout := range []string{"2006-01-02T15:04:05.000Z07:00", "2006-01-02T15:04:05-0700", time.RFC3339Nano} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.Local().Format("2006-01-02 15:04")
		}
	}
	return s
}
