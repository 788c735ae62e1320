package ui

import (
	"charm.land/bubbles/v2/textinput"
	"charm.land/lipgloss/v2"

	"qtc/ui/vlist"
)

// Styles is the one set of styles every screen draws with. Colours degrade
// with the terminal's profile (NO_COLOR gives none); nothing relies on colour
// alone: the selection is also reversed, errors are also prefixed.
type Styles struct {
	Header, HeaderDim, Crumb  lipgloss.Style
	Status, StatusKey, Error  lipgloss.Style
	Title, Dim, Good, Bad     lipgloss.Style
	TabActive, TabInactive    lipgloss.Style
	Prompt, Border, HelpTitle lipgloss.Style
	List                      vlist.Styles
}

// DefaultStyles returns the standard theme.
func DefaultStyles() Styles {
	accent := lipgloss.Color("#7D56F4")
	dim := lipgloss.Color("245")
	return Styles{
		Header:      lipgloss.NewStyle().Bold(true),
		HeaderDim:   lipgloss.NewStyle().Foreground(dim),
		Crumb:       lipgloss.NewStyle().Foreground(accent).Bold(true),
		Status:      lipgloss.NewStyle().Foreground(dim),
		StatusKey:   lipgloss.NewStyle().Bold(true),
		Error:       lipgloss.NewStyle().Foreground(lipgloss.Color("9")).Bold(true),
		Title:       lipgloss.NewStyle().Bold(true).Underline(true),
		Dim:         lipgloss.NewStyle().Foreground(dim),
		Good:        lipgloss.NewStyle().Foreground(lipgloss.Color("10")),
		Bad:         lipgloss.NewStyle().Foreground(lipgloss.Color("9")),
		TabActive:   lipgloss.NewStyle().Bold(true).Reverse(true).Padding(0, 1),
		TabInactive: lipgloss.NewStyle().Foreground(dim).Padding(0, 1),
		Prompt:      lipgloss.NewStyle().Foreground(accent).Bold(true),
		Border:      lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).BorderForeground(accent).Padding(0, 1),
		HelpTitle:   lipgloss.NewStyle().Bold(true).Foreground(accent),
		List:        vlist.DefaultStyles(),
	}
}

// newTextInput makes the one-line input used by the command line and the
// filter: a steady (non-blinking) cursor, so typing never schedules timers.
func newTextInput(prompt string, limit int) textinput.Model {
	in := textinput.New()
	in.Prompt = prompt
	in.CharLimit = limit
	st := textinput.DefaultStyles(true)
	st.Cursor.Blink = false
	in.SetStyles(st)
	return in
}
