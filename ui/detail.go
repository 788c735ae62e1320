package ui

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"

	"qtc/store"
	"qtc/sync/catalog"
)

// detailScreen shows one record: a Fields tab (every field, flattened to
// dotted paths in the order the API sent them) and a JSON tab (the raw
// record, indented).
type detailScreen struct {
	env  *env
	typ  catalog.Type
	rec  store.Record
	tab  int
	tabs []string
	// content per tab, rendered once when the record loads.
	content []string
	vp      viewport.Model
}

var detailKeys = struct {
	NextTab, PrevTab key.Binding
}{
	NextTab: key.NewBinding(key.WithKeys("tab", "right", "l"), key.WithHelp("tab", "next tab")),
	PrevTab: key.NewBinding(key.WithKeys("shift+tab", "left", "h"), key.WithHelp("shift+tab", "prev tab")),
}

func newDetailScreen(e *env, t catalog.Type, rec store.Record) *detailScreen {
	d := &detailScreen{env: e, typ: t, rec: rec, tabs: []string{"Fields", "JSON"}}
	d.content = []string{fieldsText(rec.Raw), prettyJSON(rec.Raw)}
	d.vp = viewport.New(viewport.WithWidth(80), viewport.WithHeight(20))
	d.vp.SoftWrap = true
	d.vp.SetContent(d.content[0])
	return d
}

func (d *detailScreen) Init() tea.Cmd { return nil }

func (d *detailScreen) Update(msg tea.Msg) (Screen, tea.Cmd) {
	switch msg := msg.(type) {
	case sizeMsg:
		d.vp.SetWidth(msg.Width)
		d.vp.SetHeight(max(msg.Height-2, 1))
		return d, nil
	case tea.KeyPressMsg:
		switch {
		case key.Matches(msg, keys.Back):
			return d, pop
		case key.Matches(msg, detailKeys.NextTab):
			d.setTab((d.tab + 1) % len(d.tabs))
			return d, nil
		case key.Matches(msg, detailKeys.PrevTab):
			d.setTab((d.tab + len(d.tabs) - 1) % len(d.tabs))
			return d, nil
		case msg.String() == "g" || msg.String() == "home":
			d.vp.GotoTop()
			return d, nil
		case msg.String() == "G" || msg.String() == "end":
			d.vp.GotoBottom()
			return d, nil
		}
	}
	var cmd tea.Cmd
	d.vp, cmd = d.vp.Update(msg)
	return d, cmd
}

func (d *detailScreen) setTab(i int) {
	d.tab = i
	d.vp.SetContent(d.content[i])
	d.vp.GotoTop()
}

func (d *detailScreen) View(width, height int) string {
	st := d.env.styles
	var tabs []string
	for i, t := range d.tabs {
		if i == d.tab {
			tabs = append(tabs, st.TabActive.Render(t))
		} else {
			tabs = append(tabs, st.TabInactive.Render(t))
		}
	}
	title := st.Title.Render(d.title())
	head := strings.Join(tabs, " ") + "  " + title
	pct := fmt.Sprintf("%3.0f%%", d.vp.ScrollPercent()*100)
	return fit(head+"\n"+d.vp.View()+"\n"+st.Dim.Render(d.rec.ID+" · "+pct), width, height)
}

// title is the record's first column (its name or title) or its ID.
func (d *detailScreen) title() string {
	if len(d.rec.Cells) > 0 && d.rec.Cells[0] != "" {
		return d.rec.Cells[0]
	}
	return d.rec.ID
}

func (d *detailScreen) Crumb() string { return d.title() }

func (d *detailScreen) Keys() []key.Binding {
	return []key.Binding{detailKeys.NextTab, keys.Back}
}

func (d *detailScreen) Capturing() bool { return false }

// prettyJSON indents raw JSON; invalid JSON is shown as it is.
func prettyJSON(raw []byte) string {
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "  "); err != nil {
		return string(raw)
	}
	return b.String()
}

// fieldsText flattens a JSON object into "path  value" lines in document
// order: nested objects become dotted paths, arrays indexed paths; empty
// arrays and objects are shown as [] and {}.
func fieldsText(raw []byte) string {
	var lines [][2]string
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := flatten(dec, "", &lines); err != nil && err != io.EOF {
		return fmt.Sprintf("(record is not valid JSON: %v)\n\n%s", err, raw)
	}
	w := 0
	for _, l := range lines {
		w = max(w, len(l[0]))
	}
	w = min(w, 48)
	var b strings.Builder
	for _, l := range lines {
		fmt.Fprintf(&b, "%-*s  %s\n", w, l[0], l[1])
	}
	return b.String()
}

func flatten(dec *json.Decoder, path string, out *[][2]string) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			n := 0
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return err
				}
				name, _ := k.(string)
				if err := flatten(dec, join(path, name), out); err != nil {
					return err
				}
				n++
			}
			if _, err := dec.Token(); err != nil {
				return err
			}
			if n == 0 && path != "" {
				*out = append(*out, [2]string{path, "{}"})
			}
		case '[':
			i := 0
			for dec.More() {
				if err := flatten(dec, fmt.Sprintf("%s[%d]", path, i), out); err != nil {
					return err
				}
				i++
			}
			if _, err := dec.Token(); err != nil {
				return err
			}
			if i == 0 {
				*out = append(*out, [2]string{path, "[]"})
			}
		}
	case nil:
		*out = append(*out, [2]string{path, "null"})
	case string:
		*out = append(*out, [2]string{path, t})
	default:
		*out = append(*out, [2]string{path, fmt.Sprint(t)})
	}
	return nil
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}
