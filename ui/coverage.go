package ui

import (
	"fmt"
	"strconv"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	qsync "qtc/sync"
	"qtc/sync/catalog"
	"qtc/ui/vlist"
)

// coverageScreen shows what no single source shows: Entra ID devices with
// no Qualys host asset and hosts with no device, TotalCloud's Entra ID
// users missing from Graph and Graph's users missing from TotalCloud —
// across every connector in the store, with the matching rules. Enter opens
// the record on its side.
type coverageScreen struct {
	env    *env
	list   vlist.Model
	rows   []qsync.CoverageRow
	notes  []string
	counts string // the per-gap totals, worked out once per load

	seq    int
	loaded bool
	err    error
}

var coverageKeys = struct{ Open key.Binding }{
	Open: key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "open record")),
}

func newCoverageScreen(e *env) *coverageScreen {
	cols := []vlist.Column{
		{Title: "GAP", MinWidth: 29, MaxWidth: 29},
		{Title: "NAME", MinWidth: 14, Flex: 3},
		{Title: "CONNECTOR", MinWidth: 9, MaxWidth: 20, Flex: 1},
		{Title: "TYPE", MinWidth: 7, MaxWidth: 19, Flex: 1},
		{Title: "DETAIL", MinWidth: 8, Flex: 2},
	}
	return &coverageScreen{env: e, list: vlist.New("coverage", cols)}
}

type coverageMsg struct {
	seq   int
	rows  []qsync.CoverageRow
	notes []string
	err   error
}

func (c *coverageScreen) Init() tea.Cmd { return c.load() }

func (c *coverageScreen) load() tea.Cmd {
	c.seq = c.env.nextSeq()
	seq, e := c.seq, c.env
	return func() tea.Msg {
		rows, notes, err := e.engine.Coverage(e.ctx)
		return coverageMsg{seq: seq, rows: rows, notes: notes, err: err}
	}
}

func (c *coverageScreen) Update(msg tea.Msg) (Screen, tea.Cmd) {
	switch msg := msg.(type) {
	case sizeMsg:
		var cmd tea.Cmd
		c.list, cmd = c.list.SetSize(msg.Width, max(msg.Height-3, 2))
		return c, cmd
	case coverageMsg:
		if msg.seq != c.seq {
			return c, nil
		}
		c.loaded, c.err, c.rows, c.notes = true, msg.err, msg.rows, msg.notes
		c.counts = gapCounts(msg.rows, msg.notes)
		rows := make([]vlist.Row, len(msg.rows))
		for i, r := range msg.rows {
			rows[i] = vlist.Row{ID: strconv.Itoa(i), Cells: []string{r.Gap, r.Name, r.Connector, r.Type, r.Detail}}
		}
		var cmd tea.Cmd
		c.list, cmd = c.list.SetSource(vlist.SliceSource(rows))
		return c, cmd
	case storeChangedMsg:
		return c, c.load()
	case tea.KeyPressMsg:
		switch {
		case key.Matches(msg, keys.Back):
			return c, pop
		case key.Matches(msg, coverageKeys.Open):
			row, ok := c.list.Selected()
			if !ok {
				return c, nil
			}
			i, err := strconv.Atoi(row.ID)
			if err != nil || i < 0 || i >= len(c.rows) {
				return c, nil
			}
			r, e := c.rows[i], c.env
			t, ok := catalog.Lookup(r.Type)
			if !ok {
				return c, status(fmt.Sprintf("%s: no screen for type %s", r.Name, r.Type))
			}
			return c, func() tea.Msg {
				rec, err := e.store.Get(e.ctx, r.Connector, r.Type, r.ID)
				if err != nil {
					return statusMsg{text: err.Error(), err: true}
				}
				return pushMsg{newDetailScreen(e, r.Connector, t, rec)}
			}
		}
	}
	var cmd tea.Cmd
	c.list, cmd = c.list.Update(msg)
	return c, cmd
}

func (c *coverageScreen) View(width, height int) string {
	st := c.env.styles
	head := st.Dim.Render("match: " + qsync.DeviceHostRule + "; " + qsync.TotalCloudGraphUserRule)
	var foot string
	switch {
	case c.err != nil:
		foot = st.Error.Render("error: " + c.err.Error())
	case !c.loaded:
		foot = st.Dim.Render("comparing…")
	default:
		foot = st.Dim.Render(c.counts)
	}
	return fit(head+"\n"+strings.TrimRight(c.list.View(), "\n")+"\n"+foot, width, height)
}

// gapCounts is the footer: how many rows each gap has, and the notes.
func gapCounts(rows []qsync.CoverageRow, notes []string) string {
	counts := map[string]int{}
	for _, r := range rows {
		counts[r.Gap]++
	}
	var parts []string
	for _, g := range []string{qsync.GapDeviceWithoutHost, qsync.GapHostWithoutDevice, qsync.GapTotalCloudUserOnly, qsync.GapGraphUserOnly} {
		if counts[g] > 0 {
			parts = append(parts, fmt.Sprintf("%s: %s", g, commas(counts[g])))
		}
	}
	if len(parts) == 0 && len(notes) == 0 {
		parts = append(parts, "no gaps: every record has its counterpart")
	}
	return strings.Join(append(parts, notes...), " · ")
}

func (c *coverageScreen) Crumb() string       { return "coverage" }
func (c *coverageScreen) Keys() []key.Binding { return []key.Binding{coverageKeys.Open, keys.Back} }
func (c *coverageScreen) Capturing() bool     { return false }
