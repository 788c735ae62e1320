package ui

import (
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	qsync "qtc/sync"
	"qtc/ui/vlist"
)

// connectorsScreen lists the configured connectors with their state, last
// sync and record counts; enter makes one current and opens its data.
type connectorsScreen struct {
	env    *env
	list   vlist.Model
	seq    int
	n      int
	err    error
	loaded bool
}

var connectorKeys = struct{ Open, Test, New, Edit, Logs key.Binding }{
	Logs: key.NewBinding(key.WithKeys("l"), key.WithHelp("l", "run log")),
	Open: key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "browse")),
	Test: key.NewBinding(key.WithKeys("t"), key.WithHelp("t", "test connection")),
	New:  key.NewBinding(key.WithKeys("n"), key.WithHelp("n", "new connector")),
	Edit: key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "edit / rotate secret")),
}

func newConnectorsScreen(e *env) *connectorsScreen {
	cols := []vlist.Column{
		{Title: "NAME", MinWidth: 10, Flex: 1},
		{Title: "KIND", MinWidth: 6, MaxWidth: 13, Flex: 1},
		{Title: "STATE", MinWidth: 10, MaxWidth: 19, Flex: 1},
		{Title: "LAST SYNC", MinWidth: 9, MaxWidth: 16},
		{Title: "NEXT RUN", MinWidth: 8, MaxWidth: 12},
		{Title: "NEXT BASELINE", MinWidth: 8, MaxWidth: 13, Flex: 1},
		{Title: "RECORDS", MinWidth: 8, MaxWidth: 9, Align: vlist.AlignRight},
		{Title: "ENDPOINT", MinWidth: 10, Flex: 2},
	}
	return &connectorsScreen{env: e, list: vlist.New("connectors", cols)}
}

type connectorsMsg struct {
	seq  int
	rows []vlist.Row
	err  error
}

func (c *connectorsScreen) Init() tea.Cmd { return c.load() }

func (c *connectorsScreen) load() tea.Cmd {
	c.seq = c.env.nextSeq()
	seq, e := c.seq, c.env
	return func() tea.Msg {
		conns, err := e.store.Connectors(e.ctx)
		if err != nil {
			return connectorsMsg{seq: seq, err: err}
		}
		rows := make([]vlist.Row, 0, len(conns))
		for _, conn := range conns {
			s, err := e.engine.ConnectorStatus(e.ctx, conn)
			if err != nil {
				return connectorsMsg{seq: seq, err: err}
			}
			last, total := "never", 0
			if s.LastRun != nil {
				last = ago(s.LastRun.Start)
			}
			for _, n := range s.Records {
				total += n
			}
			rows = append(rows, vlist.Row{ID: conn.Name, Cells: []string{
				conn.Name, conn.Kind, s.State, last, ahead(s.NextRun, "-"), ahead(s.NextBaseline, "next sync"), commas(total), qsync.Endpoint(conn),
			}})
		}
		return connectorsMsg{seq: seq, rows: rows}
	}
}

func (c *connectorsScreen) Update(msg tea.Msg) (Screen, tea.Cmd) {
	switch msg := msg.(type) {
	case sizeMsg:
		var cmd tea.Cmd
		c.list, cmd = c.list.SetSize(msg.Width, max(msg.Height-1, 2))
		return c, cmd
	case connectorsMsg:
		if msg.seq != c.seq {
			return c, nil
		}
		c.loaded, c.err, c.n = true, msg.err, len(msg.rows)
		var cmd tea.Cmd
		c.list, cmd = c.list.SetSource(vlist.SliceSource(msg.rows))
		return c, cmd
	case storeChangedMsg:
		return c, c.load()
	case tea.KeyPressMsg:
		switch {
		case key.Matches(msg, connectorKeys.Open):
			if row, ok := c.list.Selected(); ok {
				name := row.ID
				return c, func() tea.Msg { return selectConnectorMsg{name: name} }
			}
			return c, nil
		case key.Matches(msg, connectorKeys.Test):
			if row, ok := c.list.Selected(); ok {
				return c, push(newTestConnScreen(c.env, row.ID))
			}
			return c, nil
		case key.Matches(msg, connectorKeys.Logs):
			if row, ok := c.list.Selected(); ok {
				return c, push(newRunLogScreen(c.env, row.ID))
			}
			return c, nil
		case key.Matches(msg, connectorKeys.New):
			e := c.env
			return c, func() tea.Msg {
				conns, err := e.store.Connectors(e.ctx)
				if err != nil {
					return statusMsg{text: err.Error(), err: true}
				}
				taken := map[string]bool{}
				for _, conn := range conns {
					taken[conn.Name] = true
				}
				return pushMsg{newConnectorForm(e, "", taken)}
			}
		case key.Matches(msg, connectorKeys.Edit):
			row, ok := c.list.Selected()
			if !ok {
				return c, nil
			}
			e, name := c.env, row.ID
			return c, func() tea.Msg {
				conn, err := e.store.Connector(e.ctx, name)
				if err == nil {
					var f *connectorForm
					if f, err = newConnectorEditForm(e, conn); err == nil {
						return pushMsg{f}
					}
				}
				return statusMsg{text: err.Error(), err: true}
			}
		case key.Matches(msg, keys.Back):
			return c, pop
		}
	}
	var cmd tea.Cmd
	c.list, cmd = c.list.Update(msg)
	return c, cmd
}

func (c *connectorsScreen) View(width, height int) string {
	st := c.env.styles
	var foot string
	switch {
	case c.err != nil:
		foot = st.Error.Render("error: " + c.err.Error())
	case c.loaded && c.n == 0:
		foot = st.Dim.Render("no connectors yet — n adds one (or qtc connector add …, or run qtc demo)")
	default:
		foot = st.Dim.Render(fmt.Sprintf("%d connectors · enter browses · n new · e edit · t test · l log · ctrl+r syncs the current one", c.n))
	}
	return fit(strings.TrimRight(c.list.View(), "\n")+"\n"+foot, width, height)
}

func (c *connectorsScreen) Crumb() string { return "connectors" }
func (c *connectorsScreen) Keys() []key.Binding {
	return []key.Binding{connectorKeys.Open, connectorKeys.New, connectorKeys.Edit, connectorKeys.Test, connectorKeys.Logs, keys.Sync}
}
func (c *connectorsScreen) Capturing() bool { return false }

// ahead shows a coming time like ago shows a past one: "in 5m", "in 3h",
// "in 2d"; "due" once it has passed; none when zero.
func ahead(t time.Time, none string) string {
	d := time.Until(t)
	switch {
	case t.IsZero():
		return none
	case d <= 0:
		return "due"
	case d < time.Hour:
		return fmt.Sprintf("in %dm", int(d.Minutes())+1)
	case d < 48*time.Hour:
		return fmt.Sprintf("in %dh", int(d.Hours()))
	default:
		return fmt.Sprintf("in %dd", int(d.Hours()/24))
	}
}
