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
	"qtc/ui/vlist"
)

// detailScreen shows one record: a Fields tab (every field, flattened to
// dotted paths in the order the API sent them) and a JSON tab (the raw
// record, indented).
type detailScreen struct {
	env  *env
	conn string
	typ  catalog.Type
	rec  store.Record
	tab  int
	tabs []string
	// content per tab, rendered once when the record loads.
	content []string
	vp      viewport.Model
	// The Relations tab: a list of related objects to walk to.
	related []relatedRow
	relList vlist.Model
}

var detailKeys = struct {
	NextTab, PrevTab, Refresh key.Binding
}{
	Refresh: key.NewBinding(key.WithKeys("u"), key.WithHelp("u", "refresh from server")),
	NextTab: key.NewBinding(key.WithKeys("tab", "right", "l"), key.WithHelp("tab", "next tab")),
	PrevTab: key.NewBinding(key.WithKeys("shift+tab", "left", "h"), key.WithHelp("shift+tab", "prev tab")),
}

func newDetailScreen(e *env, conn string, t catalog.Type, rec store.Record) *detailScreen {
	d := &detailScreen{env: e, conn: conn, typ: t}
	cols := make([]vlist.Column, len(relationColumns))
	for i, c := range relationColumns {
		cols[i] = vlist.Column{Title: c.title, MinWidth: c.min, MaxWidth: c.max}
		if i == 1 || i == 3 {
			cols[i].Flex = 1
		}
	}
	d.relList = vlist.New("relations", cols)
	d.vp = viewport.New(viewport.WithWidth(80), viewport.WithHeight(20))
	d.vp.SoftWrap = true
	d.setRecord(rec)
	return d
}

// setRecord renders the tabs of a record once, when it loads.
func (d *detailScreen) setRecord(rec store.Record) {
	d.rec = rec
	d.tabs = []string{"Fields", "JSON"}
	d.content = []string{fieldsText(rec.Raw), prettyJSON(rec.Raw)}
	if tags, ok := tagsText(rec.Raw); ok {
		d.tabs = append(d.tabs, "Tags")
		d.content = append(d.content, tags)
	}
	d.tab = min(d.tab, len(d.tabs)-1)
	d.vp.SetContent(d.content[d.tab])
}

// tagsText shows a resource's tags and its account's tags side by side
// (seed 000: accountTags now come with every AWS inventory record).
func tagsText(raw []byte) (string, bool) {
	var r struct {
		Tags        *[]struct{ Key, Value string } `json:"tags"`
		AccountTags *[]struct{ Key, Value string } `json:"accountTags"`
	}
	if json.Unmarshal(raw, &r) != nil || r.AccountTags == nil {
		return "", false
	}
	var left, right []string
	if r.Tags != nil {
		for _, t := range *r.Tags {
			left = append(left, t.Key+" = "+t.Value)
		}
	}
	for _, t := range *r.AccountTags {
		right = append(right, t.Key+" = "+t.Value)
	}
	w := len("RESOURCE TAGS")
	for _, l := range left {
		w = max(w, len(l))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%-*s   %s\n", w, "RESOURCE TAGS", "ACCOUNT TAGS")
	for i := 0; i < max(len(left), len(right)); i++ {
		var l, r string
		if i < len(left) {
			l = left[i]
		}
		if i < len(right) {
			r = right[i]
		}
		fmt.Fprintf(&b, "%-*s   %s\n", w, l, r)
	}
	return b.String(), true
}

// refreshable: records with a single-record read on the server.
func (d *detailScreen) refreshable() bool {
	return d.typ.Name == "exceptions" || d.typ.Cloud != ""
}

// refreshedMsg carries a record re-read from the server.
type refreshedMsg struct {
	rec store.Record
	err error
}

func (d *detailScreen) Init() tea.Cmd { return d.loadExtras() }

func (d *detailScreen) Update(msg tea.Msg) (Screen, tea.Cmd) {
	switch msg := msg.(type) {
	case refreshedMsg:
		if msg.err != nil {
			return d, statusErr(msg.err)
		}
		d.setRecord(msg.rec)
		conn := d.conn
		return d, tea.Batch(status("refreshed from the server"), func() tea.Msg { return storeChangedMsg{connector: conn} }, d.loadExtras())
	case extrasMsg:
		return d, d.setExtras(msg)
	case sizeMsg:
		d.vp.SetWidth(msg.Width)
		d.vp.SetHeight(max(msg.Height-2, 1))
		var cmd tea.Cmd
		d.relList, cmd = d.relList.SetSize(msg.Width, max(msg.Height-2, 2))
		return d, cmd
	case tea.KeyPressMsg:
		switch {
		case key.Matches(msg, keys.Back):
			return d, pop
		case d.onRelations() && key.Matches(msg, relationKeys.Open):
			return d, d.openRelated()
		case d.refreshable() && key.Matches(msg, detailKeys.Refresh):
			e, conn, typ, id := d.env, d.conn, d.typ, d.rec.ID
			return d, tea.Batch(status("refreshing "+id+" from the server…"), func() tea.Msg {
				var rec store.Record
				var err error
				if typ.Name == "exceptions" {
					rec, err = e.engine.RefreshException(e.ctx, conn, id)
				} else {
					rec, err = e.engine.RefreshResource(e.ctx, conn, typ.Name, id)
				}
				return refreshedMsg{rec: rec, err: err}
			})
		case key.Matches(msg, detailKeys.NextTab):
			d.setTab((d.tab + 1) % len(d.tabs))
			return d, nil
		case key.Matches(msg, detailKeys.PrevTab):
			d.setTab((d.tab + len(d.tabs) - 1) % len(d.tabs))
			return d, nil
		case d.onRelations():
			var cmd tea.Cmd
			d.relList, cmd = d.relList.Update(msg)
			return d, cmd
		case msg.String() == "g" || msg.String() == "home":
			d.vp.GotoTop()
			return d, nil
		case msg.String() == "G" || msg.String() == "end":
			d.vp.GotoBottom()
			return d, nil
		}
	}
	var cmd, lcmd tea.Cmd
	if _, isKey := msg.(tea.KeyPressMsg); !isKey {
		d.relList, lcmd = d.relList.Update(msg) // its row replies
	}
	d.vp, cmd = d.vp.Update(msg)
	return d, tea.Batch(cmd, lcmd)
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
	body := d.vp.View()
	pct := fmt.Sprintf("%3.0f%%", d.vp.ScrollPercent()*100)
	if d.onRelations() {
		body = strings.TrimRight(d.relList.View(), "\n")
		pct = fmt.Sprintf("%d related", len(d.related))
		if len(d.related) == 0 {
			body = st.Dim.Render("no related objects")
		}
	}
	foot := d.rec.ID + " · " + pct
	if !d.rec.Removed.IsZero() {
		foot += " · removed at the source " + d.rec.Removed.Local().Format("2006-01-02 15:04")
	}
	return fit(head+"\n"+body+"\n"+st.Dim.Render(foot), width, height)
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
	if d.onRelations() {
		return []key.Binding{relationKeys.Open, detailKeys.NextTab, keys.Back}
	}
	if d.refreshable() {
		return []key.Binding{detailKeys.NextTab, detailKeys.Refresh, keys.Back}
	}
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
