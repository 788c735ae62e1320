package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"qtc/store"
	"qtc/sync/catalog"
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

	total int // records of the type
	// filter state: the applied query (or "") and the query being typed.
	filtering bool
	input     textinput.Model
	query     string
	matched   int // rows matching query, -1 without a filter
	filterSeq int
	countSeq  int
	width     int
	height    int
}

var (
	recordKeys = struct {
		Filter, Open, Sort, Reverse key.Binding
	}{
		Filter:  key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
		Open:    key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "open")),
		Sort:    key.NewBinding(key.WithKeys("1", "2", "3", "4", "5", "6", "7", "8", "9"), key.WithHelp("1-9", "sort by column (again: reverse)")),
		Reverse: key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "reverse sort")),
	}
	filterDebounce = 120 * time.Millisecond
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
	in.Placeholder = "filter: text in any column, !text to exclude"
	s := &recordsScreen{
		env: e, conn: conn, typ: t,
		list:    vlist.New(conn+"/"+t.Name, cols),
		order:   store.Order{Column: t.DefaultSort},
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
		seq int
		n   int
		err error
	}
	filterTickMsg struct{ seq int }
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
		return countMsg{seq: seq, n: n, err: err}
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
		s.total = msg.n
		return s, s.runFilter()
	case filterTickMsg:
		if msg.seq != s.filterSeq {
			return s, nil
		}
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
		return s, push(newDetailScreen(s.env, s.typ, msg.rec))
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
		s.query = v
		s.filterSeq = s.env.nextSeq()
		seq := s.filterSeq
		return s, tea.Batch(cmd, tea.Tick(filterDebounce, func(time.Time) tea.Msg { return filterTickMsg{seq: seq} }))
	}
	return s, cmd
}

// applyQuery sets the filter immediately (no debounce).
func (s *recordsScreen) applyQuery(q string) tea.Cmd {
	s.query = q
	s.filterSeq = s.env.nextSeq()
	return s.runFilter()
}

// runFilter shows the rows matching the query: all of them, read through
// the sort index, when there is no query; otherwise the ids a scan of every
// row matched, computed in a command.
func (s *recordsScreen) runFilter() tea.Cmd {
	if s.query == "" || s.query == "!" {
		s.matched = -1
		var cmd tea.Cmd
		s.list, cmd = s.list.SetSource(storeSource{st: s.env.store, conn: s.conn, typ: s.typ.Name, order: s.order, n: s.total})
		return cmd
	}
	seq, e, conn, typ, order := s.filterSeq, s.env, s.conn, s.typ.Name, s.order
	pred := MatchQuery(s.query)
	return func() tea.Msg {
		ids, err := e.store.Match(e.ctx, conn, typ, order, pred)
		return filterDoneMsg{seq: seq, ids: ids, err: err}
	}
}

// MatchQuery builds the row predicate of a filter: a case-insensitive
// substring of any cell; a leading "!" keeps the rows that do not match.
func MatchQuery(q string) func(cells []string) bool {
	neg := strings.HasPrefix(q, "!")
	if neg {
		q = q[1:]
	}
	q = strings.ToLower(q)
	return func(cells []string) bool {
		hit := false
		for _, c := range cells {
			if containsFold(c, q) {
				hit = true
				break
			}
		}
		return hit != neg
	}
}

// containsFold reports whether lower-cased needle occurs in s, ignoring ASCII
// case without allocating.
func containsFold(s, needle string) bool {
	if needle == "" {
		return true
	}
	n := len(needle)
	for i := 0; i+n <= len(s); i++ {
		j := 0
		for ; j < n; j++ {
			c := s[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != needle[j] {
				break
			}
		}
		if j == n {
			return true
		}
	}
	return false
}

func (s *recordsScreen) listHeight() int { return max(s.height-1, 2) }

func (s *recordsScreen) View(width, height int) string {
	st := s.env.styles
	body := s.list.View()
	var foot string
	switch {
	case s.filtering:
		foot = s.input.View()
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
		}
		if s.list.Loading() {
			foot += st.Dim.Render(" · loading…")
		}
	}
	return fit(body+"\n"+foot, width, height)
}

func (s *recordsScreen) Crumb() string { return s.typ.Name }

func (s *recordsScreen) Keys() []key.Binding {
	return []key.Binding{recordKeys.Open, recordKeys.Filter, recordKeys.Sort, recordKeys.Reverse, keys.Sync}
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
	out := make([]vlist.Row, len(rows))
	for i, r := range rows {
		// The store hands out copies, so the cells can be rewritten here.
		for c, col := range t.Columns {
			if col.Kind == store.Time && c < len(r.Cells) {
				r.Cells[c] = displayTime(r.Cells[c])
			}
		}
		out[i] = vlist.Row{ID: r.ID, Cells: r.Cells}
	}
	return out
}

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
