package ui

import (
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// confirmScreen asks a yes/no question before a destructive action; only
// "y" runs it, anything else goes back.
type confirmScreen struct {
	env      *env
	question string
	detail   string
	yes      tea.Cmd
}

var confirmKeys = struct{ Yes, No key.Binding }{
	Yes: key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "yes")),
	No:  key.NewBinding(key.WithKeys("n", "esc"), key.WithHelp("n/esc", "no")),
}

func newConfirm(e *env, question, detail string, yes tea.Cmd) *confirmScreen {
	return &confirmScreen{env: e, question: question, detail: detail, yes: yes}
}

func (c *confirmScreen) Init() tea.Cmd { return nil }

func (c *confirmScreen) Update(msg tea.Msg) (Screen, tea.Cmd) {
	if k, ok := msg.(tea.KeyPressMsg); ok {
		if key.Matches(k, confirmKeys.Yes) {
			return c, tea.Batch(pop, c.yes)
		}
		return c, pop
	}
	return c, nil
}

func (c *confirmScreen) View(width, height int) string {
	st := c.env.styles
	body := st.Title.Render(c.question) + "\n\n" + c.detail + "\n\n" + st.Prompt.Render("y") + " to confirm, any other key to go back"
	return fit(st.Border.Render(body), width, height)
}

func (c *confirmScreen) Crumb() string       { return "confirm" }
func (c *confirmScreen) Keys() []key.Binding { return []key.Binding{confirmKeys.Yes, confirmKeys.No} }
func (c *confirmScreen) Capturing() bool     { return true }
