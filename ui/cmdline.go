package ui

import (
	"sort"
	"strings"

	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"qtc/sync/catalog"
)

// cmdline is the `:` command line: screen names with completion (tab) and a
// history (up/down).
type cmdline struct {
	env     *env
	kind    string // the current connector's kind: its types complete
	input   textinput.Model
	history []string
	hpos    int
}

// commandNames are the commands besides the record type names.
var commandNames = []string{"connectors", "changes", "logs", "coverage", "sync", "help", "quit"}

func newCmdline(e *env) cmdline {
	in := newTextInput(":", 100)
	in.ShowSuggestions = true
	return cmdline{env: e, input: in}
}

// completions lists the commands: the record types of the connector kind
// (every type when kind is ""), then the other commands.
func completions(kind string) []string {
	var out []string
	for _, n := range catalog.Names() {
		if t, _ := catalog.Lookup(n); kind == "" || t.ConnectorKind == kind {
			out = append(out, n)
		}
	}
	out = append(out, commandNames...)
	sort.Strings(out)
	return out
}

func (c *cmdline) open(kind string) tea.Cmd {
	c.kind = kind
	c.input.Reset()
	c.input.SetSuggestions(completions(kind))
	c.hpos = len(c.history)
	return c.input.Focus()
}

// update handles a key; done reports that the command line closed.
func (c *cmdline) update(msg tea.KeyPressMsg) (done bool, cmd tea.Cmd) {
	switch msg.String() {
	case "esc", "ctrl+c":
		c.input.Blur()
		return true, nil
	case "enter":
		v := strings.TrimSpace(c.input.Value())
		if v == "" {
			if s := c.input.CurrentSuggestion(); s != "" {
				v = s
			}
		}
		c.input.Blur()
		if v != "" {
			c.history = append(c.history, v)
		}
		return true, c.execute(v)
	case "up":
		if c.hpos > 0 {
			c.hpos--
			c.input.SetValue(c.history[c.hpos])
			c.input.CursorEnd()
		}
		return false, nil
	case "down":
		if c.hpos < len(c.history)-1 {
			c.hpos++
			c.input.SetValue(c.history[c.hpos])
		} else {
			c.hpos = len(c.history)
			c.input.SetValue("")
		}
		c.input.CursorEnd()
		return false, nil
	}
	c.input, cmd = c.input.Update(msg)
	return false, cmd
}

// resolve maps typed text to a command: an exact name, else the only
// command it is a prefix of.
func resolve(v, kind string) (string, bool) {
	all := completions(kind)
	lv := strings.ToLower(v)
	for _, n := range all {
		if strings.ToLower(n) == lv {
			return n, true
		}
	}
	if lv == "q" || lv == "q!" {
		return "quit", true
	}
	var hits []string
	for _, n := range all {
		if strings.HasPrefix(strings.ToLower(n), lv) {
			hits = append(hits, n)
		}
	}
	if len(hits) == 1 {
		return hits[0], true
	}
	// Any {cloud}/{RESOURCE_TYPE} opens a generic resource screen.
	if t, ok := catalog.Generic(v); ok && (kind == "" || kind == t.ConnectorKind) {
		return t.Name, true
	}
	return "", false
}

// execute runs a command; unknown ones report in the status bar.
func (c *cmdline) execute(v string) tea.Cmd {
	if v == "" {
		return nil
	}
	name, ok := resolve(v, c.kind)
	if !ok {
		return status("unknown command :" + v + " — try :" + strings.Join(completions(c.kind), ", :"))
	}
	e := c.env
	switch name {
	case "quit":
		return tea.Quit
	case "help":
		return func() tea.Msg { return helpMsg{} }
	case "connectors":
		return func() tea.Msg { return replaceMsg{newConnectorsScreen(e)} }
	case "sync":
		return func() tea.Msg { return syncCurrentMsg{} }
	case "changes":
		return func() tea.Msg { return openChangesMsg{} }
	case "logs":
		return func() tea.Msg { return openLogsMsg{} }
	case "coverage":
		return func() tea.Msg { return replaceMsg{newCoverageScreen(e)} }
	}
	t, _ := catalog.Lookup(name)
	return func() tea.Msg { return openTypeMsg{typ: t} }
}

type (
	helpMsg        struct{}
	syncCurrentMsg struct{}
	// openChangesMsg opens the current connector's changes screen.
	openChangesMsg struct{}
	// openLogsMsg opens the current connector's run log.
	openLogsMsg struct{}
	openTypeMsg struct{ typ catalog.Type }
)

func (c *cmdline) view(width int) string {
	c.input.SetWidth(max(width-2, 10))
	return c.input.View()
}
