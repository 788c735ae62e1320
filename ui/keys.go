package ui

import "charm.land/bubbles/v2/key"

// globalKeys are the app-wide bindings; help is built from them and from
// each screen's Keys().
type globalKeys struct {
	Command, Help, Back, Quit, Sync, Connectors key.Binding
}

var keys = globalKeys{
	Command:    key.NewBinding(key.WithKeys(":"), key.WithHelp(":", "command")),
	Help:       key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
	Back:       key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),
	Quit:       key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
	Sync:       key.NewBinding(key.WithKeys("ctrl+r"), key.WithHelp("ctrl+r", "sync")),
	Connectors: key.NewBinding(key.WithKeys("C"), key.WithHelp("C", "connectors")),
}

// navKeys are the list movement keys (handled by vlist), listed for help.
var navKeys = []key.Binding{
	key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
	key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
	key.NewBinding(key.WithKeys("pgup", "ctrl+b"), key.WithHelp("pgup", "page up")),
	key.NewBinding(key.WithKeys("pgdown", "ctrl+f", "space"), key.WithHelp("pgdn", "page down")),
	key.NewBinding(key.WithKeys("home", "g"), key.WithHelp("home/g", "top")),
	key.NewBinding(key.WithKeys("end", "G"), key.WithHelp("end/G", "bottom")),
}
