package ui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
)

// helpView lists every key binding that applies here: the current screen's,
// the list movement keys and the global ones — built from the bindings, so
// it cannot drift from what the keys do.
func (a *app) helpView(width, height int) string {
	s := a.env.styles
	var b strings.Builder
	section := func(title string, bindings []key.Binding) {
		if len(bindings) == 0 {
			return
		}
		b.WriteString(s.HelpTitle.Render(title) + "\n")
		for _, k := range bindings {
			h := k.Help()
			fmt.Fprintf(&b, "  %-12s %s\n", h.Key, h.Desc)
		}
		b.WriteString("\n")
	}
	if top := a.top(); top != nil {
		section("This screen ("+top.Crumb()+")", top.Keys())
	}
	section("Moving", navKeys)
	section("Everywhere", []key.Binding{keys.Command, keys.Help, keys.Back, keys.Sync, keys.Connectors, keys.Quit})
	b.WriteString(s.HelpTitle.Render("Commands") + "\n")
	line := " "
	for _, c := range completions(a.kind()) {
		if len(line)+len(c)+3 > width && line != " " {
			b.WriteString(line + "\n")
			line = " "
		}
		line += " :" + c
	}
	b.WriteString(line + "\n\n")
	b.WriteString(s.Dim.Render("esc or ? closes this help"))
	return fit(b.String(), width, height)
}
