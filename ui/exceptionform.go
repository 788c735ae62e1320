package ui

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/huh/v2"

	"qtc/api/qualys"
	"qtc/store"
)

// exceptionForm creates or edits a TotalCloud exception in an embedded huh
// form: every field validated as you type, then a summary to confirm, then
// the call; the store then holds the server's version.
type exceptionForm struct {
	env       *env
	conn      string
	id        string // "" creates
	in        qualys.ExceptionInput
	form      *huh.Form
	confirmed bool
	sending   bool
	err       error
	width     int
}

type (
	formSubmitMsg     struct{}
	formCancelMsg     struct{}
	exceptionSavedMsg struct {
		rec store.Record
		err error
	}
)

// exceptionInputOf fills a form from a stored exception (for edit).
func exceptionInputOf(raw []byte) qualys.ExceptionInput {
	var e qualys.Exception
	_ = json.Unmarshal(raw, &e)
	return qualys.ExceptionInput{
		Name: e.Name, Description: e.Description, Reason: e.Reason,
		StartingDate: e.StartingDate, EndingDate: e.EndingDate, Scope: e.Scope,
	}
}

func newExceptionForm(e *env, conn, id string, in qualys.ExceptionInput) *exceptionForm {
	f := &exceptionForm{env: e, conn: conn, id: id, in: in, width: 80}
	if f.in.StartingDate == "" {
		now := time.Now().UTC().Truncate(time.Minute)
		f.in.StartingDate = now.Format(time.RFC3339)
		f.in.EndingDate = now.Add(30 * 24 * time.Hour).Format(time.RFC3339)
	}
	if f.in.Reason == "" {
		f.in.Reason = qualys.ExceptionReasons[0]
	}
	if f.in.Scope == "" {
		f.in.Scope = qualys.ExceptionScopes[0]
	}
	f.form = f.build()
	return f
}

// Field validators, shared with the tests.
func validateExceptionName(s string) error {
	switch {
	case strings.TrimSpace(s) == "":
		return errors.New("name is required")
	case len(s) > 255:
		return fmt.Errorf("name is %d characters; at most 255", len(s))
	}
	return nil
}

func validateDate(s string) error {
	if _, err := parseFormDate(s); err != nil {
		return errors.New("use a date-time like 2026-12-01T00:00:00Z")
	}
	return nil
}

func parseFormDate(s string) (time.Time, error) {
	for _, l := range []string{time.RFC3339, "2006-01-02T15:04:05.000Z07:00", "2006-01-02T15:04:05-0700", "2006-01-02"} {
		if t, err := time.Parse(l, strings.TrimSpace(s)); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errors.New("bad date")
}

func (f *exceptionForm) validateEnd(s string) error {
	if err := validateDate(s); err != nil {
		return err
	}
	end, _ := parseFormDate(s)
	if start, err := parseFormDate(f.in.StartingDate); err == nil && !end.After(start) {
		return errors.New("must be after the start")
	}
	if end.Before(time.Now()) {
		return errors.New("is in the past")
	}
	return nil
}

func options(values []string) []huh.Option[string] {
	out := make([]huh.Option[string], len(values))
	for i, v := range values {
		out[i] = huh.NewOption(v, v)
	}
	return out
}

func (f *exceptionForm) build() *huh.Form {
	f.confirmed = false
	clouds := append([]huh.Option[string]{huh.NewOption("(any)", "")}, options([]string{"AWS", "AZURE", "GCP", "OCI"})...)
	verb := "Create"
	if f.id != "" {
		verb = "Update"
	}
	form := huh.NewForm(
		huh.NewGroup(
			huh.NewInput().Title("Name").Value(&f.in.Name).CharLimit(255).Validate(validateExceptionName),
			huh.NewInput().Title("Description").Value(&f.in.Description).CharLimit(1000),
			huh.NewSelect[string]().Inline(true).Title("Reason").Options(options(qualys.ExceptionReasons)...).Value(&f.in.Reason),
			huh.NewSelect[string]().Inline(true).Title("Scope").Options(options(qualys.ExceptionScopes)...).Value(&f.in.Scope),
			huh.NewSelect[string]().Inline(true).Title("Cloud").Options(clouds...).Value(&f.in.CloudType),
			huh.NewInput().Title("Starts").Description("RFC 3339, e.g. 2026-12-01T00:00:00Z").Value(&f.in.StartingDate).Validate(validateDate),
			huh.NewInput().Title("Ends").Description("after the start, not in the past").Value(&f.in.EndingDate).Validate(f.validateEnd),
		),
		huh.NewGroup(
			huh.NewNote().Title("Review").DescriptionFunc(f.summary, &f.in),
			huh.NewConfirm().Title(verb+" this exception on the server?").Affirmative(verb).Negative("Back").Value(&f.confirmed),
		),
	).WithShowHelp(true).WithWidth(f.width)
	form.SubmitCmd = func() tea.Msg { return formSubmitMsg{} }
	form.CancelCmd = func() tea.Msg { return formCancelMsg{} }
	return form
}

func (f *exceptionForm) summary() string {
	in := f.in
	cloud := in.CloudType
	if cloud == "" {
		cloud = "(any)"
	}
	return fmt.Sprintf("Name: %s\nReason: %s\nScope: %s   Cloud: %s\nFrom %s to %s\n%s", in.Name, in.Reason, in.Scope, cloud, in.StartingDate, in.EndingDate, in.Description)
}

func (f *exceptionForm) Init() tea.Cmd { return f.form.Init() }

func (f *exceptionForm) Update(msg tea.Msg) (Screen, tea.Cmd) {
	switch msg := msg.(type) {
	case sizeMsg:
		f.width = msg.Width
		f.form = f.form.WithWidth(min(msg.Width, 100)).WithHeight(max(msg.Height-2, 10))
		return f, nil
	case formCancelMsg:
		return f, pop
	case tea.KeyPressMsg:
		if msg.String() == "esc" && !f.sending {
			return f, pop
		}
	case formSubmitMsg:
		if !f.confirmed {
			// "Back" on the review: edit again.
			f.form = f.build()
			return f, f.form.Init()
		}
		if err := f.in.Validate(time.Now()); err != nil {
			f.err = err
			f.form = f.build()
			return f, f.form.Init()
		}
		f.sending = true
		e, conn, id, in := f.env, f.conn, f.id, f.in
		return f, func() tea.Msg {
			var rec store.Record
			var err error
			if id == "" {
				rec, err = e.engine.CreateException(e.ctx, conn, in)
			} else {
				rec, err = e.engine.UpdateException(e.ctx, conn, id, in)
			}
			return exceptionSavedMsg{rec: rec, err: err}
		}
	case exceptionSavedMsg:
		f.sending = false
		if msg.err != nil {
			// The server refused: say why, verbatim, and let the user fix it.
			f.err = msg.err
			f.form = f.build()
			return f, f.form.Init()
		}
		verb := "created"
		if f.id != "" {
			verb = "updated"
		}
		conn := f.conn
		return f, tea.Batch(pop, status(fmt.Sprintf("exception %q %s (%s)", f.in.Name, verb, msg.rec.ID)),
			func() tea.Msg { return storeChangedMsg{connector: conn} })
	}
	m, cmd := f.form.Update(msg)
	if hf, ok := m.(*huh.Form); ok {
		f.form = hf
	}
	return f, cmd
}

func (f *exceptionForm) View(width, height int) string {
	st := f.env.styles
	title := "New exception"
	if f.id != "" {
		title = "Edit exception " + f.id
	}
	head := st.Title.Render(title)
	if f.err != nil {
		head += "\n" + st.Error.Render("error: "+f.err.Error())
	}
	if f.sending {
		head += "\n" + st.Dim.Render("sending…")
	}
	return fit(head+"\n"+f.form.View(), width, height)
}

func (f *exceptionForm) Crumb() string {
	if f.id == "" {
		return "new exception"
	}
	return "edit"
}

func (f *exceptionForm) Keys() []key.Binding {
	return []key.Binding{
		key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "next field")),
		key.NewBinding(key.WithKeys("shift+tab"), key.WithHelp("shift+tab", "previous")),
		key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel")),
	}
}

// Capturing: the form takes every key (q, :, ? are text here).
func (f *exceptionForm) Capturing() bool { return true }
