package vlist

import (
	"os"
	"strings"
	"sync"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

// Styles are the list's styles. Each is applied to a whole line.
type Styles struct {
	Header, Row, Selected, Placeholder, Empty lipgloss.Style
}

// DefaultStyles returns the standard list styles. The selection is reversed
// and bold, so it shows without colour; under NO_COLOR no colours are set.
func DefaultStyles() Styles {
	s := Styles{
		Header:      lipgloss.NewStyle().Bold(true),
		Row:         lipgloss.NewStyle(),
		Selected:    lipgloss.NewStyle().Reverse(true).Bold(true),
		Placeholder: lipgloss.NewStyle().Faint(true),
		Empty:       lipgloss.NewStyle().Faint(true).Italic(true),
	}
	if os.Getenv("NO_COLOR") == "" {
		s.Header = s.Header.Foreground(lipgloss.Color("12"))
		s.Selected = s.Selected.Foreground(lipgloss.Color("6"))
	}
	return s
}

const (
	styHeader = iota
	styRow
	stySelected
	styPlaceholder
	styEmpty
	numStyles
)

// styleSet is the prepared form of a Styles value.
type styleSet struct {
	wraps [numStyles]wrap
}

// zeroModelStyles serves a Model that was not made with New.
var zeroModelStyles = sync.OnceValue(func() *styleSet { return New("", nil).styles })

// wrap applies a style to one line. Most styles only wrap the text in SGR
// sequences; for those the prefix and suffix are computed once and a line
// costs two string writes instead of a lipgloss Render.
type wrap struct {
	fast     bool
	pre, suf string
	style    lipgloss.Style
}

func newWrap(s lipgloss.Style) wrap {
	w := wrap{style: s}
	const probe = "x y"
	out := s.Render(probe)
	i := strings.Index(out, probe)
	if i < 0 {
		return w
	}
	pre, suf := out[:i], out[i+len(probe):]
	if strings.ContainsAny(pre+suf, "\n\t") || ansi.StringWidth(pre+suf) != 0 {
		return w
	}
	const probe2 = "ab\u2026 c"
	if s.Render(probe2) != pre+probe2+suf {
		return w
	}
	w.fast, w.pre, w.suf = true, pre, suf
	return w
}

// relayout computes the column widths from the width, the columns and
// whether the marker column is shown.
func (m *Model) relayout() {
	avail := m.width
	if m.mark {
		avail -= 2 // marker cell + gap
	}
	m.widths = layout(m.cols, avail, m.widths)
}

// layout gives every column its minimum, shares the rest among Flex columns
// (capped at MaxWidth), and when the minimums do not fit shrinks the widest
// columns first, dropping columns from the right when even one cell each
// does not fit. Gaps of one space are accounted for.
func layout(cols []Column, avail int, w []int) []int {
	n := len(cols)
	if cap(w) < n {
		w = make([]int, n)
	}
	w = w[:n]
	clear(w)
	k := n // columns shown
	for k > 0 && 2*k-1 > avail {
		k--
	}
	if k == 0 {
		return w
	}
	sum := k - 1
	for i := range k {
		c := cols[i]
		mn := c.MinWidth
		if mn <= 0 {
			mn = max(ansi.StringWidth(c.Title), 1)
		}
		if c.MaxWidth > 0 {
			mn = min(mn, c.MaxWidth)
		}
		w[i] = mn
		sum += mn
	}
	if sum > avail {
		for over := sum - avail; over > 0; over-- {
			wi := 0
			for i := 1; i < k; i++ {
				if w[i] >= w[wi] {
					wi = i
				}
			}
			w[wi]--
		}
		return w
	}
	open := func(i int) bool {
		return cols[i].Flex > 0 && (cols[i].MaxWidth <= 0 || w[i] < cols[i].MaxWidth)
	}
	for rest := avail - sum; rest > 0; {
		flex := 0
		for i := range k {
			if open(i) {
				flex += cols[i].Flex
			}
		}
		if flex == 0 {
			break
		}
		given := 0
		for i := range k {
			if !open(i) {
				continue
			}
			share := rest * cols[i].Flex / flex
			if mx := cols[i].MaxWidth; mx > 0 {
				share = min(share, mx-w[i])
			}
			w[i] += share
			given += share
		}
		if given == 0 { // only remainders left: one cell each, left to right
			for i := 0; i < k && given < rest; i++ {
				if open(i) {
					w[i]++
					given++
				}
			}
		}
		rest -= given
	}
	return w
}

// bufPool recycles line buffers across View calls.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// View renders the header and the visible rows: exactly height lines, each
// exactly width cells wide.
func (m Model) View() string {
	if m.width <= 0 || m.height <= 0 {
		return ""
	}
	bp := bufPool.Get().(*[]byte)
	line := (*bp)[:0]
	defer func() { *bp = line[:0]; bufPool.Put(bp) }()

	var b strings.Builder
	b.Grow(m.height * (2*m.width + 32))

	// header
	line = m.headerLine(line[:0])
	m.emit(&b, styHeader, line)

	rows := m.listRows()
	for i := range rows {
		b.WriteByte('\n')
		idx := m.top + i
		switch {
		case m.total == 0:
			if i == 0 {
				line = centred(line[:0], "no records", m.width)
				m.emit(&b, styEmpty, line)
			} else {
				line = appendSpaces(line[:0], m.width)
				b.Write(line)
			}
		case idx >= m.total:
			line = appendSpaces(line[:0], m.width)
			b.Write(line)
		default:
			sty := styRow
			r, ok := m.row(idx)
			if ok {
				line = m.rowLine(line[:0], r)
			} else {
				line = m.placeholderLine(line[:0])
				sty = styPlaceholder
			}
			if idx == m.cursor {
				sty = stySelected
			}
			m.emit(&b, sty, line)
		}
	}
	if m.err != nil && m.height >= 2 {
		b.WriteByte('\n')
		line = appendCell(line[:0], "error: "+m.err.Error(), m.width, AlignLeft)
		m.emit(&b, styEmpty, line)
	}
	return b.String()
}

// emit writes one line (exactly m.width cells of plain text) in style st.
func (m Model) emit(b *strings.Builder, st int, line []byte) {
	set := m.styles
	if set == nil {
		set = zeroModelStyles()
	}
	w := &set.wraps[st]
	if w.fast {
		b.WriteString(w.pre)
		b.Write(line)
		b.WriteString(w.suf)
		return
	}
	out := w.style.Render(string(line))
	if i := strings.IndexByte(out, '\n'); i >= 0 {
		out = out[:i]
	}
	sw := ansi.StringWidth(out)
	if sw > m.width {
		out = ansi.Truncate(out, m.width, "")
		sw = ansi.StringWidth(out)
	}
	b.WriteString(out)
	writeSpaces(b, m.width-sw)
}

// The line builders below write cells of exactly their column width
// (appendCell pads or truncates), so a line's width is known by arithmetic
// and never measured.

func (m Model) headerLine(line []byte) []byte {
	used := 0
	if m.mark {
		line = append(line, "  "...)
		used += 2
	}
	for i, c := range m.cols {
		w := m.widths[i]
		if w <= 0 {
			break
		}
		if i > 0 {
			line = append(line, ' ')
			used++
		}
		used += w
		if i != m.sortCol {
			line = appendCell(line, c.Title, w, c.Align)
			continue
		}
		arrow := "▲"
		if m.desc {
			arrow = "▼"
		}
		if w < 3 {
			line = appendCell(line, arrow, w, c.Align)
			continue
		}
		title := clean(c.Title)
		if textWidth(title) > w-2 {
			title = ansi.Truncate(title, w-2, "…")
		}
		line = appendCell(line, title+" "+arrow, w, c.Align)
	}
	return padTo(line, used, m.width)
}

func (m Model) rowLine(line []byte, r Row) []byte {
	used := 0
	if m.mark {
		mk := clean(r.Mark)
		if textWidth(mk) > 1 {
			mk = ansi.Truncate(mk, 1, "")
		}
		line = appendCell(line, mk, 1, AlignLeft)
		line = append(line, ' ')
		used += 2
	}
	for i, c := range m.cols {
		w := m.widths[i]
		if w <= 0 {
			break
		}
		if i > 0 {
			line = append(line, ' ')
			used++
		}
		used += w
		var s string
		if i < len(r.Cells) {
			s = r.Cells[i]
		}
		line = appendCell(line, s, w, c.Align)
	}
	return padTo(line, used, m.width)
}

func (m Model) placeholderLine(line []byte) []byte {
	used := 0
	if m.mark {
		line = append(line, "  "...)
		used += 2
	}
	if len(m.cols) > 0 && m.widths[0] > 0 {
		line = appendCell(line, "…", m.widths[0], m.cols[0].Align)
		used += m.widths[0]
	}
	return padTo(line, used, m.width)
}

// padTo pads a line of used cells to width cells (or, defensively, cuts it).
func padTo(line []byte, used, width int) []byte {
	if used > width {
		s := ansi.Truncate(string(line), width, "")
		line = append(line[:0], s...)
		used = textWidth(s)
	}
	return appendSpaces(line, width-used)
}

func centred(line []byte, s string, width int) []byte {
	if sw := textWidth(s); sw < width {
		left := (width - sw) / 2
		line = appendSpaces(line, left)
		line = append(line, s...)
		return appendSpaces(line, width-left-sw)
	}
	return appendCell(line, s, width, AlignLeft)
}

// appendCell appends s cleaned, truncated with an ellipsis or padded to
// exactly w cells.
func appendCell(line []byte, s string, w int, a Align) []byte {
	if w <= 0 {
		return line
	}
	s = clean(s)
	sw := textWidth(s)
	if sw > w {
		s = ansi.Truncate(s, w, "…")
		sw = textWidth(s)
		if sw > w { // cannot happen; keep the cell exactly w wide regardless
			s = ansi.Truncate(s, w, "")
			sw = textWidth(s)
		}
	}
	if a == AlignRight {
		line = appendSpaces(line, w-sw)
		return append(line, s...)
	}
	line = append(line, s...)
	return appendSpaces(line, w-sw)
}

const spaces = "                                                                                "

func appendSpaces(line []byte, n int) []byte {
	for n > 0 {
		k := min(n, len(spaces))
		line = append(line, spaces[:k]...)
		n -= k
	}
	return line
}

func writeSpaces(b *strings.Builder, n int) {
	for n > 0 {
		k := min(n, len(spaces))
		b.WriteString(spaces[:k])
		n -= k
	}
}

// textWidth is the display width of s, with a fast path for ASCII.
func textWidth(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return ansi.StringWidth(s)
		}
	}
	return len(s)
}

// clean makes cell text safe to draw on one line: escape sequences are
// removed (data must not drive the terminal) and other control characters,
// C1 ones included, become spaces. Clean strings are returned unchanged
// without allocating.
func clean(s string) string {
	dirty := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == 0x7f || (c == 0xc2 && i+1 < len(s) && s[i+1] >= 0x80 && s[i+1] <= 0x9f) {
			dirty = true
			break
		}
	}
	if !dirty {
		return s
	}
	if strings.IndexByte(s, 0x1b) >= 0 || strings.Contains(s, "\u009b") || strings.Contains(s, "\u009d") {
		s = ansi.Strip(s)
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || (r >= 0x7f && r <= 0x9f) {
			return ' '
		}
		return r
	}, s)
}
