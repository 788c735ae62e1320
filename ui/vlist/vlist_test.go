package vlist

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

// ---- helpers ----

// keyMsg builds the key press bubbletea delivers for a key name.
func keyMsg(name string) tea.KeyPressMsg {
	switch name {
	case "up":
		return tea.KeyPressMsg{Code: tea.KeyUp}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	case "pgup":
		return tea.KeyPressMsg{Code: tea.KeyPgUp}
	case "pgdown":
		return tea.KeyPressMsg{Code: tea.KeyPgDown}
	case "home":
		return tea.KeyPressMsg{Code: tea.KeyHome}
	case "end":
		return tea.KeyPressMsg{Code: tea.KeyEnd}
	case "space":
		return tea.KeyPressMsg{Code: tea.KeySpace, Text: " "}
	case "ctrl+b":
		return tea.KeyPressMsg{Code: 'b', Mod: tea.ModCtrl}
	case "ctrl+f":
		return tea.KeyPressMsg{Code: 'f', Mod: tea.ModCtrl}
	case "G":
		return tea.KeyPressMsg{Code: 'g', ShiftedCode: 'G', Text: "G", Mod: tea.ModShift}
	}
	r := []rune(name)
	if len(r) != 1 {
		panic("unknown key " + name)
	}
	return tea.KeyPressMsg{Code: r[0], Text: name}
}

// run executes cmd and every command its replies lead to, synchronously.
func run(t testing.TB, m Model, cmd tea.Cmd) Model {
	t.Helper()
	for i := 0; cmd != nil; i++ {
		if i > 100 {
			t.Fatal("command loop")
		}
		m, cmd = m.Update(cmd())
	}
	return m
}

// press sends each key and runs the resulting commands.
func press(t testing.TB, m Model, keys ...string) Model {
	t.Helper()
	for _, k := range keys {
		var cmd tea.Cmd
		m, cmd = m.Update(keyMsg(k))
		m = run(t, m, cmd)
	}
	return m
}

// screen is ansi.Strip(View()) with a '>' before the selected line and a
// space before the others, so the selection shows in golden text.
func screen(t testing.TB, m Model) string {
	t.Helper()
	checkSize(t, m)
	set := m.styles
	if set == nil {
		set = zeroModelStyles()
	}
	sel := set.wraps[stySelected].pre
	var b strings.Builder
	for i, l := range strings.Split(m.View(), "\n") {
		if i > 0 {
			b.WriteByte('\n')
		}
		if sel != "" && strings.HasPrefix(l, sel) {
			b.WriteByte('>')
		} else {
			b.WriteByte(' ')
		}
		b.WriteString(ansi.Strip(l))
	}
	lines := strings.Split(b.String(), "\n")
	for i := range lines {
		lines[i] = strings.TrimRight(lines[i], " ")
	}
	return strings.Join(lines, "\n")
}

// checkSize asserts View is exactly height lines of exactly width cells.
func checkSize(t testing.TB, m Model) {
	t.Helper()
	v := m.View()
	if m.width == 0 || m.height == 0 {
		if v != "" {
			t.Fatalf("zero size view = %q", v)
		}
		return
	}
	lines := strings.Split(v, "\n")
	if len(lines) != m.height {
		t.Fatalf("view has %d lines, want %d:\n%s", len(lines), m.height, ansi.Strip(v))
	}
	for i, l := range lines {
		if w := ansi.StringWidth(l); w != m.width {
			t.Fatalf("line %d is %d cells, want %d: %q", i, w, m.width, ansi.Strip(l))
		}
	}
}

func golden(lines ...string) string { return strings.Join(lines, "\n") }

// genSource is a synthetic source of n rows that counts what is asked of it.
type genSource struct {
	n int

	mu        sync.Mutex
	calls     int
	requested int
	maxN      int
	fail      error
	ctxs      []context.Context
	tag       string // appended to the first cell: tells data versions apart
}

func (s *genSource) Len() int { return s.n }

func (s *genSource) Rows(ctx context.Context, offset, n int) ([]Row, error) {
	s.mu.Lock()
	s.calls++
	s.requested += n
	s.maxN = max(s.maxN, n)
	s.ctxs = append(s.ctxs, ctx)
	fail, tag := s.fail, s.tag
	s.mu.Unlock()
	if fail != nil {
		return nil, fail
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	end := min(offset+n, s.n)
	rows := make([]Row, 0, max(end-offset, 0))
	for i := offset; i < end; i++ {
		rows = append(rows, Row{ID: fmt.Sprint(i), Cells: []string{fmt.Sprintf("row %d%s", i, tag), fmt.Sprint(i * 7)}})
	}
	return rows, nil
}

func (s *genSource) stats() (calls, requested, maxN int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls, s.requested, s.maxN
}

var testCols = []Column{
	{Title: "Name", MinWidth: 8, Flex: 1},
	{Title: "Value", MinWidth: 6, MaxWidth: 10, Align: AlignRight},
}

// newList returns a list of size w×h showing a genSource of n rows, with
// the first window loaded.
func newList(t testing.TB, n, w, h int) (Model, *genSource) {
	t.Helper()
	src := &genSource{n: n}
	m := New("test", testCols)
	m, cmd := m.SetSize(w, h)
	m = run(t, m, cmd)
	m, cmd = m.SetSource(src)
	return run(t, m, cmd), src
}

// ---- tests ----

func TestScrollKeys(t *testing.T) {
	tests := []struct {
		name       string
		n, h       int
		keys       []string
		cursor     int
		top        int
		firstShown string // first row line (stripped, trimmed), "" to skip
	}{
		{name: "start", n: 100, h: 10, cursor: 0, top: 0, firstShown: "row 0"},
		{name: "down", n: 100, h: 10, keys: []string{"down", "j", "down"}, cursor: 3, top: 0},
		{name: "down scrolls", n: 100, h: 10, keys: rep("j", 10), cursor: 10, top: 2, firstShown: "row 2"},
		{name: "up at top", n: 100, h: 10, keys: []string{"up", "k"}, cursor: 0, top: 0},
		{name: "down up", n: 100, h: 10, keys: []string{"j", "j", "k"}, cursor: 1, top: 0},
		{name: "up scrolls", n: 100, h: 10, keys: append(rep("j", 12), rep("k", 12)...), cursor: 0, top: 0},
		{name: "pgdown", n: 100, h: 10, keys: []string{"pgdown"}, cursor: 9, top: 9, firstShown: "row 9"},
		{name: "ctrl+f", n: 100, h: 10, keys: []string{"ctrl+f", "ctrl+f"}, cursor: 18, top: 18},
		{name: "space", n: 100, h: 10, keys: []string{"j", "space"}, cursor: 10, top: 9},
		{name: "pgdown at bottom", n: 100, h: 10, keys: rep("pgdown", 20), cursor: 99, top: 91, firstShown: "row 91"},
		{name: "pgup", n: 100, h: 10, keys: []string{"end", "pgup"}, cursor: 90, top: 82},
		{name: "ctrl+b at top", n: 100, h: 10, keys: []string{"j", "j", "ctrl+b"}, cursor: 0, top: 0},
		{name: "pgup clamps", n: 100, h: 10, keys: []string{"pgdown", "j", "pgup", "pgup"}, cursor: 0, top: 0},
		{name: "end", n: 100, h: 10, keys: []string{"end"}, cursor: 99, top: 91, firstShown: "row 91"},
		{name: "G", n: 100, h: 10, keys: []string{"G"}, cursor: 99, top: 91},
		{name: "down at bottom", n: 100, h: 10, keys: []string{"G", "j", "down"}, cursor: 99, top: 91},
		{name: "up from bottom", n: 100, h: 10, keys: []string{"G", "k"}, cursor: 98, top: 91},
		{name: "home", n: 100, h: 10, keys: []string{"end", "home"}, cursor: 0, top: 0, firstShown: "row 0"},
		{name: "g", n: 100, h: 10, keys: []string{"pgdown", "pgdown", "g"}, cursor: 0, top: 0},
		{name: "other keys ignored", n: 100, h: 10, keys: []string{"x", "e", "q", "l"}, cursor: 0, top: 0},
		{name: "len 0", n: 0, h: 10, keys: []string{"j", "pgdown", "end", "k", "pgup", "home", "space"}, cursor: 0, top: 0},
		{name: "len 1", n: 1, h: 10, keys: []string{"j", "pgdown", "end"}, cursor: 0, top: 0, firstShown: "row 0"},
		{name: "len 1 up", n: 1, h: 10, keys: []string{"end", "k", "pgup", "home"}, cursor: 0, top: 0},
		{name: "len < height end", n: 5, h: 10, keys: []string{"end"}, cursor: 4, top: 0, firstShown: "row 0"},
		{name: "len < height pgdown", n: 5, h: 10, keys: []string{"pgdown", "j"}, cursor: 4, top: 0},
		{name: "len < height pgup", n: 5, h: 10, keys: []string{"end", "pgup"}, cursor: 0, top: 0},
		{name: "len = page", n: 9, h: 10, keys: []string{"end", "j"}, cursor: 8, top: 0},
		{name: "len = page+1", n: 10, h: 10, keys: []string{"end"}, cursor: 9, top: 1, firstShown: "row 1"},
		{name: "small end", n: 1000, h: 6, keys: []string{"end", "k", "k", "k", "k", "k"}, cursor: 994, top: 994},
		{name: "small pgdown", n: 1000, h: 6, keys: []string{"pgdown", "pgdown"}, cursor: 10, top: 10},
		{name: "height 1", n: 50, h: 1, keys: []string{"j", "j", "pgdown"}, cursor: 3, top: 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, w := range []int{80, 40} {
				m, _ := newList(t, tc.n, w, tc.h)
				for _, k := range tc.keys {
					m = press(t, m, k)
					checkSize(t, m)
				}
				if m.Cursor() != tc.cursor || m.top != tc.top {
					t.Fatalf("w=%d cursor=%d top=%d, want cursor=%d top=%d", w, m.Cursor(), m.top, tc.cursor, tc.top)
				}
				sel, ok := m.Selected()
				if tc.n == 0 {
					if ok {
						t.Fatalf("Selected on empty list = %v", sel)
					}
				} else if !ok || sel.ID != fmt.Sprint(tc.cursor) {
					t.Fatalf("Selected = %v %v, want ID %d", sel, ok, tc.cursor)
				}
				if tc.firstShown != "" {
					lines := strings.Split(screen(t, m), "\n")
					if len(lines) < 2 || !strings.HasPrefix(lines[1][1:], tc.firstShown+" ") {
						t.Fatalf("first row line = %q, want %q", lines[1], tc.firstShown)
					}
				}
			}
		})
	}
}

func rep(k string, n int) []string {
	s := make([]string, n)
	for i := range s {
		s[i] = k
	}
	return s
}

func TestGolden(t *testing.T) {
	t.Run("80x10", func(t *testing.T) {
		m, _ := newList(t, 1000, 80, 10)
		m = press(t, m, "end", "k", "k")
		want := golden(
			" Name                                                                       Value",
			" row 991                                                                     6937",
			" row 992                                                                     6944",
			" row 993                                                                     6951",
			" row 994                                                                     6958",
			" row 995                                                                     6965",
			" row 996                                                                     6972",
			">row 997                                                                     6979",
			" row 998                                                                     6986",
			" row 999                                                                     6993",
		)
		if got := screen(t, m); got != want {
			t.Fatalf("got\n%s\nwant\n%s", got, want)
		}
	})
	t.Run("40x6", func(t *testing.T) {
		m, _ := newList(t, 1000000, 40, 6)
		m = press(t, m, "pgdown", "j")
		want := golden(
			" Name                               Value",
			" row 5                                 35",
			">row 6                                 42",
			" row 7                                 49",
			" row 8                                 56",
			" row 9                                 63",
		)
		if got := screen(t, m); got != want {
			t.Fatalf("got\n%s\nwant\n%s", got, want)
		}
		m = press(t, m, "end")
		want = golden(
			" Name                               Value",
			" row 999995                        69999…",
			" row 999996                        69999…",
			" row 999997                        69999…",
			" row 999998                        69999…",
			">row 999999                        69999…",
		)
		if got := screen(t, m); got != want {
			t.Fatalf("got\n%s\nwant\n%s", got, want)
		}
	})
	t.Run("empty", func(t *testing.T) {
		m, _ := newList(t, 0, 40, 6)
		want := golden(
			" Name                               Value",
			"                no records",
			"",
			"",
			"",
			"",
		)
		if got := screen(t, m); got != want {
			t.Fatalf("got\n%q\nwant\n%q", got, want)
		}
		if m.Loading() {
			t.Fatal("empty source should not fetch")
		}
	})
	t.Run("short", func(t *testing.T) {
		m, _ := newList(t, 2, 40, 6)
		m = press(t, m, "end")
		want := golden(
			" Name                               Value",
			" row 0                                  0",
			">row 1                                  7",
			"",
			"",
			"",
		)
		if got := screen(t, m); got != want {
			t.Fatalf("got\n%s\nwant\n%s", got, want)
		}
	})
}

func TestOnlyWindowsAreFetched(t *testing.T) {
	const n = 1_000_000
	m, src := newList(t, n, 80, 10)
	page := m.page()
	m = press(t, m, "end", "pgup", "pgup", "pgup", "pgup", "pgup", "home", "end", "pgup")
	calls, requested, maxN := src.stats()
	t.Logf("jumps: %d calls, %d rows requested, largest request %d", calls, requested, maxN)
	if requested >= 2000 {
		t.Fatalf("requested %d rows", requested)
	}
	if maxN > 3*page {
		t.Fatalf("largest request %d rows, want <= %d", maxN, 3*page)
	}
	if m.Cursor() != n-1-9 {
		t.Fatalf("cursor = %d", m.Cursor())
	}

	// Line-by-line scrolling fetches a new window about every half screen.
	m, src = newList(t, n, 80, 10)
	_ = press(t, m, rep("j", 500)...)
	calls, requested, maxN = src.stats()
	t.Logf("500 lines: %d calls, %d rows requested", calls, requested)
	if calls > 500/(page/2)+2 || maxN > 3*page {
		t.Fatalf("500 lines: %d calls, largest %d", calls, maxN)
	}
	// Paging down 200 screens: one fetch per screen at most.
	m, src = newList(t, n, 80, 10)
	m = press(t, m, rep("pgdown", 200)...)
	calls, _, maxN = src.stats()
	if calls > 201 || maxN > 3*page {
		t.Fatalf("200 pages: %d calls, largest %d", calls, maxN)
	}
	_ = m
}

// TestPrefetch shows that the list asks for rows before it needs them, so
// normal scrolling never shows a placeholder: line by line with every reply
// delivered up to three key presses late (a slow disk), and page by page with
// the screen checked before the page move's own fetch has run.
func TestPrefetch(t *testing.T) {
	for _, tc := range []struct {
		key   string
		times int
		lag   int
	}{{"j", 300, 1}, {"j", 300, 3}, {"down", 300, 2}, {"pgdown", 60, 0}, {"space", 60, 0}, {"ctrl+f", 60, 0}} {
		t.Run(fmt.Sprintf("%s lag %d", tc.key, tc.lag), func(t *testing.T) {
			m, _ := newList(t, 1_000_000, 80, 10)
			var pending []tea.Cmd
			for i := 0; i < tc.times; i++ {
				var cmd tea.Cmd
				m, cmd = m.Update(keyMsg(tc.key))
				if v := ansi.Strip(m.View()); strings.Contains(v, "…") {
					t.Fatalf("placeholder after %d × %s:\n%s", i+1, tc.key, v)
				}
				pending = append(pending, cmd)
				for len(pending) > tc.lag {
					m = run(t, m, pending[0])
					pending = pending[1:]
				}
			}
		})
	}
}

func TestPlaceholdersThenRows(t *testing.T) {
	src := &genSource{n: 1_000_000}
	m := New("p", testCols)
	m, _ = m.SetSize(40, 6)
	m, cmd := m.SetSource(src)
	if cmd == nil || !m.Loading() {
		t.Fatal("SetSource should fetch")
	}
	want := golden(
		" Name                               Value",
		">…",
		" …",
		" …",
		" …",
		" …",
	)
	if got := screen(t, m); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	if _, ok := m.Selected(); ok {
		t.Fatal("Selected before load")
	}
	// The cursor moves through unloaded rows.
	m, cmd2 := m.Update(keyMsg("j"))
	if m.Cursor() != 1 || cmd2 != nil {
		t.Fatalf("cursor %d, cmd %v", m.Cursor(), cmd2 != nil)
	}
	m, _ = m.Update(cmd())
	if m.Loading() {
		t.Fatal("still loading")
	}
	want = golden(
		" Name                               Value",
		" row 0                                  0",
		">row 1                                  7",
		" row 2                                 14",
		" row 3                                 21",
		" row 4                                 28",
	)
	if got := screen(t, m); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	// Jumping far shows placeholders until the window arrives.
	m, cmd = m.SetCursor(500_000)
	if cmd == nil {
		t.Fatal("no fetch for far jump")
	}
	if got := screen(t, m); strings.Count(got, "…") != 5 {
		t.Fatalf("want placeholders:\n%s", got)
	}
	m = run(t, m, cmd)
	if sel, ok := m.Selected(); !ok || sel.ID != "500000" {
		t.Fatalf("Selected = %v %v", sel, ok)
	}
	if got := screen(t, m); !strings.Contains(got, ">row 500000 ") {
		t.Fatalf("got\n%s", got)
	}
}

func TestStaleReplies(t *testing.T) {
	a := &genSource{n: 1000}
	b := &genSource{n: 2000}
	m := New("s", testCols)
	m, _ = m.SetSize(40, 6)

	t.Run("old generation", func(t *testing.T) {
		m, cmdA := m.SetSource(a)
		m, cmdB := m.SetSource(b)
		m, _ = m.Update(cmdA())
		if !m.Loading() || m.Len() != 2000 {
			t.Fatal("reply for the old source was applied")
		}
		if _, ok := m.Selected(); ok {
			t.Fatal("old source row selected")
		}
		m, _ = m.Update(cmdB())
		if m.Loading() {
			t.Fatal("current reply not applied")
		}
		if sel, ok := m.Selected(); !ok || sel.ID != "0" {
			t.Fatalf("Selected = %v %v", sel, ok)
		}
	})

	t.Run("old sequence", func(t *testing.T) {
		m, cmd := m.SetSource(b)
		m = run(t, m, cmd)
		m, cmdEnd := m.Update(keyMsg("end"))
		m, cmdMid := m.SetCursor(1000)
		if cmdEnd == nil || cmdMid == nil {
			t.Fatal("expected two fetches")
		}
		endReply := cmdEnd()
		midReply := cmdMid()
		m, _ = m.Update(midReply)
		m, _ = m.Update(endReply) // arrives late: dropped
		if sel, ok := m.Selected(); !ok || sel.ID != "1000" {
			t.Fatalf("Selected = %v %v", sel, ok)
		}
		if m.winStart > 1000 || m.winStart+len(m.rows) < 1005 {
			t.Fatalf("stale window applied: winStart %d", m.winStart)
		}
		// And the superseded request was cancelled.
		b.mu.Lock()
		defer b.mu.Unlock()
		if len(b.ctxs) < 2 || b.ctxs[len(b.ctxs)-2].Err() == nil {
			t.Fatal("superseded request not cancelled")
		}
	})

	t.Run("back into the cache", func(t *testing.T) {
		// End then Home before the End reply: the cache already covers the
		// top, so the End request is cancelled and its reply dropped.
		m, cmd := m.SetSource(b)
		m = run(t, m, cmd)
		m, cmdEnd := m.Update(keyMsg("end"))
		m, cmdHome := m.Update(keyMsg("home"))
		if cmdEnd == nil || cmdHome != nil || m.Loading() {
			t.Fatalf("end fetch %v, home fetch %v, loading %v", cmdEnd != nil, cmdHome != nil, m.Loading())
		}
		m, cmd = m.Update(cmdEnd())
		if cmd != nil || m.winStart != 0 {
			t.Fatalf("cancelled reply applied: winStart %d", m.winStart)
		}
		if got := screen(t, m); strings.Contains(got, "…") {
			t.Fatalf("got\n%s", got)
		}
	})

	t.Run("other list", func(t *testing.T) {
		m, cmd := m.SetSource(a)
		msg := cmd().(rowsMsg)
		other := msg
		other.listID = "other"
		m2, c := m.Update(other)
		if !m2.Loading() || c != nil {
			t.Fatal("reply for another list was applied")
		}
		m2, _ = m2.Update(msg)
		if m2.Loading() {
			t.Fatal("own reply dropped")
		}
		// A duplicate is ignored.
		m3, _ := m2.Update(msg)
		if m3.winStart != m2.winStart || len(m3.rows) != len(m2.rows) {
			t.Fatal("duplicate applied")
		}
	})

	t.Run("recreated list", func(t *testing.T) {
		// A new model with the same id never accepts the old model's replies.
		m1 := New("same", testCols)
		m1, _ = m1.SetSize(40, 6)
		_, cmd1 := m1.SetSource(a)
		m2 := New("same", testCols)
		m2, _ = m2.SetSize(40, 6)
		m2, _ = m2.SetSource(b)
		m2, _ = m2.Update(cmd1())
		if !m2.Loading() {
			t.Fatal("reply from another model instance applied")
		}
	})
}

func TestFetchError(t *testing.T) {
	boom := errors.New("disk on fire")
	src := &genSource{n: 1000, fail: boom}
	m := New("e", testCols)
	m, _ = m.SetSize(40, 6)
	m, cmd := m.SetSource(src)
	m, cmd = m.Update(cmd())
	if cmd != nil {
		t.Fatal("error reply must not retry by itself")
	}
	if !errors.Is(m.Err(), boom) || m.Loading() {
		t.Fatalf("Err = %v, loading %v", m.Err(), m.Loading())
	}
	want := golden(
		" Name                               Value",
		">…",
		" …",
		" …",
		" …",
		" error: disk on fire",
	)
	if got := screen(t, m); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	// The next movement retries; success clears the error.
	src.mu.Lock()
	src.fail = nil
	src.mu.Unlock()
	m = press(t, m, "j")
	if m.Err() != nil {
		t.Fatalf("Err after success = %v", m.Err())
	}
	want = golden(
		" Name                               Value",
		" row 0                                  0",
		">row 1                                  7",
		" row 2                                 14",
		" row 3                                 21",
		" row 4                                 28",
	)
	if got := screen(t, m); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	// An error with the cursor on the last line keeps the cursor visible.
	m = press(t, m, "j", "j", "j")
	src.mu.Lock()
	src.fail = boom
	src.mu.Unlock()
	m, cmd = m.Reload()
	m = run(t, m, cmd)
	got := screen(t, m)
	if !strings.Contains(got, ">row 4 ") || !strings.HasSuffix(got, " error: disk on fire") {
		t.Fatalf("got\n%s", got)
	}
}

func TestLayout(t *testing.T) {
	cols := []Column{
		{Title: "Hostname", MinWidth: 6, MaxWidth: 12, Flex: 2},
		{Title: "OS", MinWidth: 4, Flex: 1},
		{Title: "Score", MinWidth: 5, Align: AlignRight},
	}
	src := SliceSource{
		{ID: "a", Cells: []string{"a-very-long-hostname.example.com", "Windows Server 2019", "12345678"}},
		{ID: "b", Cells: []string{"short", "linux", "7"}, Mark: "!"},
		{ID: "c", Cells: []string{"日本語のホスト名です", "ok\nline\tbreak", "\x1b[31m42\x1b[0m"}},
		{ID: "d", Cells: []string{"missing cells"}},
	}
	m := New("l", cols)
	m, _ = m.SetSize(40, 6)
	m, cmd := m.SetSource(src)
	m = run(t, m, cmd)

	// 40 = marker 2 + gaps 2 + Hostname 12 (capped) + OS 19 + Score 5
	want := golden(
		"   Hostname     OS                  Score",
		">  a-very-long… Windows Server 2019 1234…",
		" ! short        linux                   7",
		"   日本語のホ…  ok line break          42",
		"   missing cel…",
		"",
	)
	if got := screen(t, m); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}

	m = m.SetSort(2, true)
	if got := strings.Split(screen(t, m), "\n")[0]; got != "   Hostname     OS                  Sc… ▼" {
		t.Fatalf("header %q", got)
	}
	m = m.SetSort(0, false)
	if got := strings.Split(screen(t, m), "\n")[0]; got != "   Hostname ▲   OS                  Score" {
		t.Fatalf("header %q", got)
	}

	// Resize: narrower widths truncate more; every line still fits.
	m, cmd = m.SetSize(20, 4)
	m = run(t, m, cmd)
	want = golden(
		"   Host… ▲ OS   Score",
		">  a-very… Win… 1234…",
		" ! short   lin…     7",
		"   日本語… ok …    42",
	)
	if got := screen(t, m); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	// Too narrow for all columns: columns drop from the right.
	for _, w := range []int{1, 2, 3, 5, 8, 12, 80, 200} {
		for _, h := range []int{1, 2, 3, 7} {
			m, cmd = m.SetSize(w, h)
			m = run(t, m, cmd)
			checkSize(t, m)
		}
	}
	m, _ = m.SetSize(0, 0)
	checkSize(t, m)
}

func TestLayoutWidths(t *testing.T) {
	tests := []struct {
		name  string
		cols  []Column
		avail int
		want  []int
	}{
		{"flex shares", []Column{{MinWidth: 2, Flex: 1}, {MinWidth: 2, Flex: 3}}, 21, []int{6, 14}},
		{"max caps and gives the rest on", []Column{{MinWidth: 2, Flex: 1, MaxWidth: 4}, {MinWidth: 2, Flex: 1}}, 21, []int{4, 16}},
		{"no flex leaves slack", []Column{{MinWidth: 3}, {MinWidth: 3}}, 20, []int{3, 3}},
		{"title is the default min", []Column{{Title: "Created"}, {Title: "ID", Flex: 1}}, 20, []int{7, 12}},
		{"shrinks widest first", []Column{{MinWidth: 10}, {MinWidth: 4}}, 12, []int{7, 4}},
		{"drops from the right", []Column{{MinWidth: 10}, {MinWidth: 4}, {MinWidth: 4}}, 4, []int{2, 1, 0}},
		{"nothing fits", []Column{{MinWidth: 10}}, 0, []int{0}},
		{"remainders left to right", []Column{{MinWidth: 1, Flex: 1}, {MinWidth: 1, Flex: 1}, {MinWidth: 1, Flex: 1}}, 9, []int{3, 2, 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := layout(tc.cols, tc.avail, nil)
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("layout = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestMarkColumnAutoDetect(t *testing.T) {
	// A source without MarkHinter gets the marker column once a marked row
	// is loaded.
	src := plainSource{SliceSource{{ID: "1", Cells: []string{"one"}}, {ID: "2", Cells: []string{"two"}, Mark: "⚠!"}}}
	m := New("m", []Column{{Title: "N", Flex: 1}})
	m, _ = m.SetSize(10, 3)
	m, cmd := m.SetSource(src)
	if m.mark {
		t.Fatal("marker column before any row is known")
	}
	m = run(t, m, cmd)
	want := golden(
		"   N",
		">  one",
		" ⚠ two",
	)
	if got := screen(t, m); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	// A hinting source without marks never gets one.
	m, cmd = m.SetSource(SliceSource{{ID: "1", Cells: []string{"one"}}})
	m = run(t, m, cmd)
	if got := screen(t, m); got != golden(" N", ">one", "") {
		t.Fatalf("got\n%s", got)
	}
}

type plainSource struct{ s SliceSource }

func (p plainSource) Len() int { return p.s.Len() }
func (p plainSource) Rows(ctx context.Context, o, n int) ([]Row, error) {
	return p.s.Rows(ctx, o, n)
}

func TestReload(t *testing.T) {
	src := &genSource{n: 1000}
	m := New("r", testCols)
	m, _ = m.SetSize(40, 6)
	m, cmd := m.SetSource(src)
	m = run(t, m, cmd)
	m, cmd = m.SetCursor(500)
	m = run(t, m, cmd)
	before, _, _ := src.stats()

	m, cmd = m.Reload()
	if cmd == nil {
		t.Fatal("Reload must refetch")
	}
	// The old rows stay on screen until the reply.
	if sel, ok := m.Selected(); !ok || sel.ID != "500" {
		t.Fatalf("Selected during reload = %v %v", sel, ok)
	}
	m = run(t, m, cmd)
	if after, _, _ := src.stats(); after != before+1 || m.Cursor() != 500 {
		t.Fatalf("calls %d→%d, cursor %d", before, after, m.Cursor())
	}

	// The source shrank: the cursor is clamped, rows past the end vanish.
	src.mu.Lock()
	src.n = 100
	src.mu.Unlock()
	m, cmd = m.Reload()
	if m.Cursor() != 99 || m.Len() != 100 {
		t.Fatalf("cursor %d len %d", m.Cursor(), m.Len())
	}
	checkSize(t, m)
	m = run(t, m, cmd)
	if sel, ok := m.Selected(); !ok || sel.ID != "99" {
		t.Fatalf("Selected = %v %v", sel, ok)
	}
	if got := screen(t, m); !strings.HasSuffix(got, ">row 99                               693") {
		t.Fatalf("got\n%s", got)
	}
	// A reply to the request before Reload is dropped.
	m, old := m.SetCursor(0)
	m, cmd = m.Reload()
	m, _ = m.Update(cmd())
	if old != nil {
		m, _ = m.Update(old())
	}
	if m.Loading() || m.winStart != 0 {
		t.Fatalf("loading %v winStart %d", m.Loading(), m.winStart)
	}
}

// TestReloadLands: moving inside the old cache while a Reload is loading
// does not cancel it, and once it lands the screen shows only new data.
func TestReloadLands(t *testing.T) {
	m, src := newList(t, 1_000_000, 80, 10)
	m, cmd := m.SetCursor(500_000)
	m = run(t, m, cmd)
	// The cache is [499987, 500014); scroll to its lower edge without
	// triggering a prefetch, so the Reload asks for [499992, 500019) ...
	m = press(t, m, rep("j", 9)...)
	if m.top != 500_001 || m.winStart != 499_987 {
		t.Fatalf("top %d winStart %d", m.top, m.winStart)
	}
	src.mu.Lock()
	src.tag = " new"
	src.mu.Unlock()
	m, reload := m.Reload()
	// ... then back up to where the old cache covers the screen and the
	// reload's range does not.
	var cmds []tea.Cmd
	for range 16 {
		m, cmd = m.Update(keyMsg("k"))
		if cmd != nil {
			cmds = append(cmds, cmd)
		}
	}
	if !m.Loading() {
		t.Fatal("the reload was cancelled")
	}
	m = run(t, m, reload)
	for _, c := range cmds {
		m = run(t, m, c)
	}
	got := screen(t, m)
	if strings.Count(got, " new ") != 9 || m.Loading() {
		t.Fatalf("loading %v, got\n%s", m.Loading(), got)
	}
	// The reply did not cover the margin above the screen: it was fetched.
	if lo, hi := m.wanted(); m.winStart > lo || m.winStart+len(m.rows) < hi {
		t.Fatalf("cache [%d,%d) does not cover [%d,%d)", m.winStart, m.winStart+len(m.rows), lo, hi)
	}
}

func TestSetCursor(t *testing.T) {
	m, _ := newList(t, 1_000_000, 80, 10)
	for _, tc := range []struct{ to, cursor, top int }{
		{5, 5, 0},
		{12, 12, 4},
		{-3, 0, 0},
		{2_000_000, 999_999, 999_991},
		{500_000, 500_000, 499_996},
		{500_003, 500_003, 499_996},
	} {
		var cmd tea.Cmd
		m, cmd = m.SetCursor(tc.to)
		m = run(t, m, cmd)
		if m.Cursor() != tc.cursor || m.top != tc.top {
			t.Fatalf("SetCursor(%d): cursor %d top %d, want %d %d", tc.to, m.Cursor(), m.top, tc.cursor, tc.top)
		}
		if _, ok := m.Selected(); !ok {
			t.Fatal("not loaded")
		}
	}
}

func TestSourceBeforeSize(t *testing.T) {
	src := &genSource{n: 1_000_000}
	m := New("b", testCols)
	m, cmd := m.SetSource(src)
	if cmd == nil {
		t.Fatal("SetSource before SetSize must still fetch")
	}
	if m.View() != "" {
		t.Fatal("view without size")
	}
	m = run(t, m, cmd)
	m, cmd = m.SetSize(80, 20)
	if cmd != nil {
		t.Fatal("first window should already cover a 20-line screen")
	}
	if got := screen(t, m); strings.Contains(got, "…") {
		t.Fatalf("got\n%s", got)
	}
	// Growing the screen fetches more.
	m, cmd = m.SetSize(80, 100)
	m = run(t, m, cmd)
	if got := screen(t, m); strings.Contains(got, "…") || !strings.Contains(got, "row 98 ") {
		t.Fatalf("got\n%s", got)
	}
	if _, _, maxN := src.stats(); maxN > 3*99 {
		t.Fatalf("largest request %d", maxN)
	}
}

func TestZeroModel(t *testing.T) {
	var m Model
	m, cmd := m.SetSize(20, 3)
	if cmd != nil {
		t.Fatal("fetch without a source")
	}
	if got := screen(t, m); got != golden("", "      no records", "") {
		t.Fatalf("got %q", got)
	}
	m, cmd = m.SetSource(SliceSource{{ID: "x", Cells: []string{"x"}}})
	m = run(t, m, cmd)
	m = press(t, m, "j", "k", "end")
	if sel, ok := m.Selected(); !ok || sel.ID != "x" {
		t.Fatalf("Selected = %v %v", sel, ok)
	}
	if _, cmd := (Model{}).Reload(); cmd != nil {
		t.Fatal("Reload without a source fetched")
	}
}

func TestSliceSource(t *testing.T) {
	s := SliceSource{{ID: "a"}, {ID: "b"}, {ID: "c"}}
	for _, tc := range []struct {
		off, n int
		want   string
	}{{0, 2, "ab"}, {1, 10, "bc"}, {3, 1, ""}, {5, 1, ""}, {-1, 1, "a"}, {0, -1, ""}} {
		rows, err := s.Rows(context.Background(), tc.off, tc.n)
		var got string
		for _, r := range rows {
			got += r.ID
		}
		if err != nil || got != tc.want {
			t.Fatalf("Rows(%d,%d) = %q %v, want %q", tc.off, tc.n, got, err, tc.want)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Rows(ctx, 0, 1); err == nil {
		t.Fatal("cancelled context ignored")
	}
	if s.HasMarks() || !(SliceSource{{Mark: "!"}}).HasMarks() {
		t.Fatal("HasMarks")
	}
}

func TestClean(t *testing.T) {
	for in, want := range map[string]string{
		"plain":                             "plain",
		"a\nb\tc\rd":                        "a b c d",
		"\x1b[31mred\x1b[0m":                "red",
		"x\x1b]0;title\x07y":                "xy",
		"c1\u009b31mz":                      "c1 31mz",
		"del\x7f":                           "del ",
		"日本語":                               "日本語",
		"\x1b]8;;http://e\x07l\x1b]8;;\x07": "l",
	} {
		if got := clean(in); got != want {
			t.Errorf("clean(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNoColorStyles(t *testing.T) {
	for _, noColor := range []string{"", "1"} {
		t.Run("NO_COLOR="+noColor, func(t *testing.T) {
			t.Setenv("NO_COLOR", noColor)
			s := DefaultStyles()
			if !s.Selected.GetReverse() || !s.Selected.GetBold() {
				t.Fatal("the selection must not rely on colour alone")
			}
			if noColor == "" {
				return
			}
			for i, st := range []lipgloss.Style{s.Header, s.Row, s.Selected, s.Placeholder, s.Empty} {
				_, fg := st.GetForeground().(lipgloss.NoColor)
				_, bg := st.GetBackground().(lipgloss.NoColor)
				if !fg || !bg {
					t.Fatalf("style %d has a colour under NO_COLOR", i)
				}
			}
			m := New("n", testCols).SetStyles(s)
			m, _ = m.SetSize(40, 4)
			m, cmd := m.SetSource(&genSource{n: 10})
			m = run(t, m, cmd)
			if sel := strings.Split(m.View(), "\n")[1]; !strings.HasPrefix(sel, "\x1b[1;7m") {
				t.Fatalf("selected line %q is not bold+reverse", sel)
			}
		})
	}
}

func TestSlowPathStyles(t *testing.T) {
	// Styles that are not a plain SGR wrap (padding, underline, width) still
	// give lines of exactly the list width.
	s := DefaultStyles()
	s.Row = s.Row.Underline(true)
	s.Header = s.Header.Padding(0, 2)
	s.Selected = s.Selected.Width(100)
	m := New("sp", testCols).SetStyles(s)
	if m.styles.wraps[styRow].fast || m.styles.wraps[styHeader].fast || m.styles.wraps[stySelected].fast {
		t.Fatal("expected slow path")
	}
	m, _ = m.SetSize(30, 5)
	m, cmd := m.SetSource(&genSource{n: 10})
	m = run(t, m, cmd)
	checkSize(t, m)
}

// ---- benchmarks ----

func BenchmarkView(b *testing.B) {
	m, _ := newList(b, 1_000_000, 80, 40)
	m, cmd := m.SetCursor(500_000)
	m = run(b, m, cmd)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		_ = m.View()
	}
}

// fixedSource is a cheap source for benchmarks: every window has the same
// prebuilt rows, so the benchmark measures the list, not the source.
type fixedSource struct {
	n    int
	pool []Row
}

func (s fixedSource) Len() int { return s.n }
func (s fixedSource) Rows(_ context.Context, offset, n int) ([]Row, error) {
	return s.pool[:min(n, s.n-offset, len(s.pool))], nil
}

func BenchmarkScroll(b *testing.B) {
	pool := make([]Row, 512)
	for i := range pool {
		pool[i] = Row{ID: fmt.Sprint(i), Cells: []string{fmt.Sprintf("host-%d.example.com", i), fmt.Sprint(i)}}
	}
	for _, withView := range []bool{false, true} {
		name := "update"
		if withView {
			name = "update+view"
		}
		b.Run(name, func(b *testing.B) {
			m := New("bench", testCols)
			m, _ = m.SetSize(80, 40)
			m, cmd := m.SetSource(fixedSource{n: 1_000_000, pool: pool})
			m = run(b, m, cmd)
			down, home := keyMsg("j"), keyMsg("home")
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				var cmd tea.Cmd
				k := down
				if m.Cursor() == m.Len()-1 {
					k = home
				}
				m, cmd = m.Update(k)
				if cmd != nil {
					m, _ = m.Update(cmd())
				}
				if withView {
					_ = m.View()
				}
			}
		})
	}
}
