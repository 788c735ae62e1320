// Package ui is qtc's terminal interface: an app shell (header, status bar,
// `:` command line, `?` help) around a stack of screens that read the store
// through asynchronous commands and start syncs through the sync engine.
//
// Every list screen uses the one virtualised table in ui/vlist. No I/O runs
// in Update or View: reads are tea.Cmds whose replies carry a request id so
// stale results are dropped.
package ui

import (
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// Screen is one page of the app. The app routes keys to the top screen of
// its stack unless a prompt (command line, filter) is capturing them.
type Screen interface {
	// Init starts the screen's first reads.
	Init() tea.Cmd
	// Update handles a message; the app forwards every message it does not
	// consume itself.
	Update(msg tea.Msg) (Screen, tea.Cmd)
	// View renders the screen body in exactly width × height cells.
	View(width, height int) string
	// Crumb is the screen's breadcrumb in the header.
	Crumb() string
	// Keys lists the screen's own key bindings for the status bar and help.
	Keys() []key.Binding
	// Capturing reports that the screen is taking text input, so the app's
	// hotkeys (q, :, ?) must not fire.
	Capturing() bool
}

// headerInfo is what a screen tells the header about itself.
type headerInfo struct {
	Connector string
	Type      string
	Count     int
	Filtered  int // -1 when no filter
}

// informer is implemented by screens that describe a connector/type.
type informer interface {
	Info() headerInfo
}

// Messages shared between screens and the app.
type (
	// pushMsg asks the app to open a screen on top of the current one.
	pushMsg struct{ screen Screen }
	// popMsg asks the app to go back.
	popMsg struct{}
	// replaceMsg switches the bottom screen (command-line navigation).
	replaceMsg struct{ screen Screen }
	// statusMsg shows a transient message in the status bar.
	statusMsg struct {
		text string
		err  bool
	}
	// storeChangedMsg tells screens that a sync wrote to a connector.
	storeChangedMsg struct{ connector string }
	// sizeMsg gives screens the size of the body area they draw in.
	sizeMsg struct{ Width, Height int }
	// selectConnectorMsg makes a connector the current one.
	selectConnectorMsg struct{ name string }
)

func push(s Screen) tea.Cmd { return func() tea.Msg { return pushMsg{s} } }
func pop() tea.Msg          { return popMsg{} }
func status(text string) tea.Cmd {
	return func() tea.Msg { return statusMsg{text: text} }
}
func statusErr(err error) tea.Cmd {
	return func() tea.Msg { return statusMsg{text: err.Error(), err: true} }
}
