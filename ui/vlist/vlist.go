// Package vlist is the one virtualised table every qtc screen uses: it holds
// only a window of rows fetched from a Source, renders only the visible ones,
// and loads more asynchronously as the cursor moves.
//
// The model keeps the first visible index (top), the cursor, and a cache
// window of about three screens of rows centred on the viewport. Whenever the
// viewport comes within half a screen of the cache edge (and the source has
// more rows there) the model returns a tea.Cmd that calls Source.Rows and
// replies with an unexported message; Update applies only the reply to the
// newest request of the current source, so stale replies are dropped. Rows
// that are not loaded yet render as a dim placeholder and the cursor moves
// through them freely: nothing ever blocks on a fetch.
//
// Route every message to the list (or at least every message it did not
// produce for another list): replies carry the list id and a generation, so a
// reply meant for another list or an older source is ignored. A model whose
// reply was lost (e.g. it sat in a history stack while its reply was dropped)
// recovers with Reload.
package vlist

import (
	"context"
	"sync/atomic"

	tea "charm.land/bubbletea/v2"
)

// Row is one table row. Cells line up with the list's columns.
type Row struct {
	ID    string
	Cells []string
	// Mark is an optional one-cell marker drawn left of the first column
	// (e.g. "!" for expiring), "" for none.
	Mark string
}

// Source supplies rows by position.
type Source interface {
	// Len is the total number of rows; it must be known and cheap.
	Len() int
	// Rows returns up to n rows starting at offset. It may be slow (disk):
	// the list calls it only from a tea.Cmd, never from Update or View, so it
	// runs on another goroutine and may overlap a superseded call (whose
	// context is then cancelled). The list keeps the returned slice: do not
	// modify it afterwards.
	Rows(ctx context.Context, offset, n int) ([]Row, error)
}

// MarkHinter may be implemented by a Source to say up front whether any of
// its rows has a Mark. When it reports true the marker column is reserved
// from the first frame; when it reports false it is never drawn. Sources that
// do not implement it get the marker column as soon as a loaded row has a
// Mark (and keep it for the rest of that source).
type MarkHinter interface {
	HasMarks() bool
}

// SliceSource is an in-memory Source, for tests and small lists.
type SliceSource []Row

// Len implements Source.
func (s SliceSource) Len() int { return len(s) }

// Rows implements Source. It returns a sub-slice: callers must not modify it.
func (s SliceSource) Rows(ctx context.Context, offset, n int) ([]Row, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if offset < 0 {
		offset = 0
	}
	if offset > len(s) {
		offset = len(s)
	}
	end := offset + max(n, 0)
	if end > len(s) {
		end = len(s)
	}
	return s[offset:end:end], nil
}

// HasMarks implements MarkHinter.
func (s SliceSource) HasMarks() bool {
	for i := range s {
		if s[i].Mark != "" {
			return true
		}
	}
	return false
}

// Align is a column's horizontal alignment.
type Align int

// Alignments.
const (
	AlignLeft Align = iota
	AlignRight
)

// Column describes one table column. Widths are computed from the list width
// once per SetSize/SetSource: every column gets MinWidth (its title width when
// MinWidth is 0), the rest is shared among Flex columns in proportion to Flex,
// each capped at MaxWidth (0 = no cap). Columns are separated by one space.
type Column struct {
	Title              string
	MinWidth, MaxWidth int
	Flex               int
	Align              Align
}

// rowsMsg is the reply to a fetch command.
type rowsMsg struct {
	listID string
	gen    uint64
	seq    uint64
	offset int
	n      int // rows asked for
	rows   []Row
	err    error
}

// ids hands out generations and request sequence numbers. One process-wide
// counter makes them unique across lists and across re-created models, so a
// reply can never match a model it was not requested by.
var ids atomic.Uint64

const (
	// minPage is the smallest screen height used to size fetch windows, so
	// tiny lists do not fetch on every line.
	minPage = 8
	// defaultPage sizes the first fetch when SetSource comes before SetSize.
	defaultPage = 24
	// screensPerWindow is the cache window size in screens.
	screensPerWindow = 3
)

// Model is the list. It is a value: every method returns the updated copy.
type Model struct {
	id   string
	cols []Column

	// layout, computed by relayout
	widths  []int
	mark    bool      // marker column drawn
	hinted  bool      // mark decided by MarkHinter
	styles  *styleSet // shared and never modified: keeps the model small to copy
	sortCol int
	desc    bool

	src   Source
	total int
	gen   uint64

	// newest request
	seq      uint64
	inflight bool
	force    bool // a Reload: keep it even while the cache covers the screen
	inStart  int
	inEnd    int
	cancel   context.CancelFunc

	// cache window
	winStart int
	rows     []Row

	top, cursor   int
	width, height int
	err           error
}

// New returns an empty list. id distinguishes lists so that replies to one
// never land in another; give every live list a different id.
func New(id string, cols []Column) Model {
	m := Model{id: id, cols: append([]Column(nil), cols...), sortCol: -1}
	m = m.SetStyles(DefaultStyles())
	m.relayout()
	return m
}

// SetStyles replaces the styles.
func (m Model) SetStyles(s Styles) Model {
	m.styles = &styleSet{wraps: [numStyles]wrap{
		styHeader:      newWrap(s.Header),
		styRow:         newWrap(s.Row),
		stySelected:    newWrap(s.Selected),
		styPlaceholder: newWrap(s.Placeholder),
		styEmpty:       newWrap(s.Empty),
	}}
	return m
}

// SetSource shows a new source: the cursor goes back to the top, the cache is
// dropped, any reply to an earlier request is ignored from now on, and the
// returned command fetches the first window.
func (m Model) SetSource(src Source) (Model, tea.Cmd) {
	m.stopRequest()
	m.src = src
	m.total = 0
	if src != nil {
		m.total = max(src.Len(), 0)
	}
	m.gen = ids.Add(1)
	m.top, m.cursor = 0, 0
	m.winStart, m.rows = 0, nil
	m.err = nil
	m.mark, m.hinted = false, false
	if h, ok := src.(MarkHinter); ok {
		m.mark, m.hinted = h.HasMarks(), true
	}
	m.relayout()
	return m, m.ensure()
}

// SetSize sets the list's size: width cells and height lines, the header line
// included.
func (m Model) SetSize(width, height int) (Model, tea.Cmd) {
	m.width, m.height = max(width, 0), max(height, 0)
	m.relayout()
	m.scrollToCursor()
	return m, m.ensure()
}

// SetSort draws the sort arrow (▲ ascending, ▼ descending) in column col's
// header; col < 0 draws none. It does not reorder anything: to re-sort, give
// the list a new Source.
func (m Model) SetSort(col int, desc bool) Model {
	m.sortCol, m.desc = col, desc
	return m
}

// Reload refetches the window around the cursor from the same source (after
// new data was written), keeping the cursor position clamped to the new Len.
// The rows on screen stay until the reply replaces them.
func (m Model) Reload() (Model, tea.Cmd) {
	if m.src == nil {
		return m, nil
	}
	m.stopRequest()
	m.total = max(m.src.Len(), 0)
	m.gen = ids.Add(1)
	m.err = nil
	if end := m.winStart + len(m.rows); end > m.total {
		m.rows = m.rows[:max(m.total-m.winStart, 0)]
	}
	if h, ok := m.src.(MarkHinter); ok && h.HasMarks() != m.mark {
		m.mark = !m.mark
		m.relayout()
	}
	m.clampCursor()
	m.scrollToCursor()
	cmd := m.fetchAround()
	m.force = cmd != nil
	return m, cmd
}

// SetCursor moves the cursor to absolute index i (clamped). A far jump
// centres the cursor on the screen.
func (m Model) SetCursor(i int) (Model, tea.Cmd) {
	m.cursor = i
	m.clampCursor()
	vis := m.scrollRows()
	if m.cursor < m.top-vis || m.cursor >= m.top+2*vis {
		m.top = m.cursor - vis/2
	}
	m.scrollToCursor()
	return m, m.ensure()
}

// Update handles the navigation keys (up/k, down/j, pgup/ctrl+b,
// pgdown/ctrl+f/space, home/g, end/G) and the list's own fetch replies.
// Everything else is ignored.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	switch msg := msg.(type) {
	case rowsMsg:
		return m.applyRows(msg)
	case tea.KeyPressMsg:
		return m.key(msg)
	}
	return m, nil
}

func (m Model) key(k tea.KeyPressMsg) (Model, tea.Cmd) {
	page := m.scrollRows()
	switch k.String() {
	case "up", "k":
		m.cursor--
	case "down", "j":
		m.cursor++
	case "pgup", "ctrl+b":
		m.top -= page
		m.cursor -= page
	case "pgdown", "ctrl+f", "space", " ":
		m.top += page
		m.cursor += page
	case "home", "g":
		m.cursor, m.top = 0, 0
	case "end", "G":
		m.cursor = m.total - 1
	default:
		return m, nil
	}
	m.clampCursor()
	m.scrollToCursor()
	return m, m.ensure()
}

// Cursor is the absolute index of the selected row.
func (m Model) Cursor() int { return m.cursor }

// Selected returns the selected row if it is loaded.
func (m Model) Selected() (Row, bool) { return m.row(m.cursor) }

// Len is the number of rows in the source.
func (m Model) Len() int { return m.total }

// Loading reports whether a fetch is outstanding.
func (m Model) Loading() bool { return m.inflight }

// Err is the error of the last fetch, nil after a successful one.
func (m Model) Err() error { return m.err }

// row returns row i if it is in the cache.
func (m Model) row(i int) (Row, bool) {
	if i < 0 || i >= m.total || i < m.winStart || i >= m.winStart+len(m.rows) {
		return Row{}, false
	}
	return m.rows[i-m.winStart], true
}

// listRows is the number of lines available for rows (the error line, when
// there is one, takes the last).
func (m Model) listRows() int {
	n := m.height - 1
	if m.err != nil {
		n--
	}
	return max(n, 0)
}

// scrollRows is the number of rows one screen moves by (at least 1, so the
// cursor logic works even with no room to draw).
func (m Model) scrollRows() int { return max(m.listRows(), 1) }

// page is the screen height used to size fetch windows.
func (m Model) page() int {
	p := m.height - 1
	if p <= 0 {
		p = defaultPage
	}
	return max(p, minPage)
}

func (m *Model) clampCursor() {
	m.cursor = min(m.cursor, m.total-1)
	m.cursor = max(m.cursor, 0)
}

// scrollToCursor moves top the least needed to show the cursor, and keeps
// the screen full when possible.
func (m *Model) scrollToCursor() {
	vis := m.scrollRows()
	if m.cursor < m.top {
		m.top = m.cursor
	}
	if m.cursor >= m.top+vis {
		m.top = m.cursor - vis + 1
	}
	m.top = min(m.top, m.total-vis)
	m.top = max(m.top, 0)
}

// wanted is the range of rows that should be cached: the screen plus half a
// screen either side.
func (m Model) wanted() (lo, hi int) {
	p := m.page()
	margin := max(p/2, 1)
	return max(m.top-margin, 0), min(m.top+p+margin, m.total)
}

// ensure returns a fetch command when the wanted rows are neither cached nor
// being fetched. An outstanding request that is no longer needed (the
// cursor came back into the cache) is cancelled, so its reply cannot replace
// a cache that covers the screen with one that does not.
func (m *Model) ensure() tea.Cmd {
	if m.src == nil || m.total == 0 {
		return nil
	}
	lo, hi := m.wanted()
	inflightCovers := m.inflight && m.inStart <= lo && m.inEnd >= hi
	if m.winStart <= lo && m.winStart+len(m.rows) >= hi {
		if m.inflight && !inflightCovers && !m.force {
			m.stopRequest()
		}
		return nil
	}
	if inflightCovers {
		return nil
	}
	return m.fetchAround()
}

// fetchAround requests a window of three screens centred on the viewport.
func (m *Model) fetchAround() tea.Cmd {
	if m.src == nil || m.total == 0 {
		return nil
	}
	p := m.page()
	n := min(screensPerWindow*p, m.total)
	start := m.top - (n-p)/2
	start = min(start, m.total-n)
	start = max(start, 0)
	return m.request(start, n)
}

// request supersedes any outstanding request with a fetch of n rows at
// offset.
func (m *Model) request(offset, n int) tea.Cmd {
	m.stopRequest()
	ctx, cancel := context.WithCancel(context.Background())
	m.seq = ids.Add(1)
	m.inflight, m.inStart, m.inEnd, m.cancel = true, offset, offset+n, cancel
	src, id, gen, seq := m.src, m.id, m.gen, m.seq
	return func() tea.Msg {
		defer cancel()
		rows, err := src.Rows(ctx, offset, n)
		if len(rows) > n {
			rows = rows[:n]
		}
		return rowsMsg{listID: id, gen: gen, seq: seq, offset: offset, n: n, rows: rows, err: err}
	}
}

// stopRequest cancels the outstanding request, whose reply will be dropped.
func (m *Model) stopRequest() {
	if m.cancel != nil {
		m.cancel()
	}
	m.cancel = nil
	m.inflight, m.force = false, false
}

func (m Model) applyRows(msg rowsMsg) (Model, tea.Cmd) {
	if msg.listID != m.id || msg.gen != m.gen || msg.seq != m.seq || !m.inflight {
		return m, nil // another list's, an older source's, superseded or cancelled
	}
	m.inflight, m.force, m.cancel = false, false, nil
	if msg.err != nil {
		// Keep the rows we have; the next movement retries. No automatic
		// retry here, so a failing source cannot spin.
		m.err = msg.err
		m.scrollToCursor()
		return m, nil
	}
	hadErr := m.err != nil
	m.err = nil
	m.winStart, m.rows = msg.offset, msg.rows
	if hadErr {
		m.scrollToCursor()
	}
	if !m.hinted && !m.mark {
		for i := range m.rows {
			if m.rows[i].Mark != "" {
				m.mark = true
				m.relayout()
				break
			}
		}
	}
	// The cursor moved out of the requested range while it was loading (a
	// Reload's reply): fetch around it. Compared with what was asked for,
	// not what came back, so a source shorter than its Len cannot loop.
	if lo, hi := m.wanted(); msg.offset > lo || msg.offset+msg.n < hi {
		return m, m.ensure()
	}
	return m, nil
}
