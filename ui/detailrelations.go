package ui

import (
	"errors"
	"fmt"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"qtc/store"
	"qtc/sync/catalog"
	"qtc/sync/export"
	"qtc/sync/relations"
	"qtc/sync/transform"
	"qtc/ui/vlist"
)

// The detail screen's Relations tab (walk user → groups and roles → a
// group's members → …; service principal → who is assigned) and its Qualys
// asset tab (the record as the seeds' transformation map produces it).

const (
	tabRelations = "Relations"
	tabAsset     = "Qualys asset"
)

// relationColumns are the Relations tab's columns.
var relationColumns = []struct {
	title    string
	min, max int
}{{"RELATION", 20, 20}, {"NAME", 16, 60}, {"KIND", 10, 16}, {"DETAIL", 8, 60}}

// extrasMsg carries a record's relations and Qualys asset.
type extrasMsg struct {
	id     string
	groups []relations.Group
	asset  []byte
	err    error
}

// relatedRow is what enter on a Relations row opens.
type relatedRow struct {
	typ, id, name, kind string
}

// loadExtras reads the relations and the asset of the shown record.
func (d *detailScreen) loadExtras() tea.Cmd {
	_, hasRel := relations.Of[d.typ.Name]
	_, hasMap := transform.For(d.typ.Name)
	if !hasRel && !hasMap {
		return nil
	}
	e, conn, typ, rec := d.env, d.conn, d.typ.Name, d.rec
	return func() tea.Msg {
		msg := extrasMsg{id: rec.ID}
		if hasRel {
			if msg.groups, msg.err = relations.Get(e.ctx, e.store, conn, typ, rec.ID); msg.err != nil {
				return msg
			}
		}
		if hasMap {
			asset, err := export.Asset(e.ctx, e.store, conn, typ, rec)
			if err != nil {
				msg.asset = []byte(fmt.Sprintf("(the %s map does not apply: %v)", typ, err))
			} else {
				msg.asset = []byte(prettyJSON(asset))
			}
		}
		return msg
	}
}

// setExtras adds the tabs once their content has loaded.
func (d *detailScreen) setExtras(msg extrasMsg) tea.Cmd {
	if msg.id != d.rec.ID {
		return nil
	}
	if msg.err != nil {
		return statusErr(msg.err)
	}
	d.related = nil
	if _, ok := relations.Of[d.typ.Name]; ok {
		var rows []vlist.Row
		for _, g := range msg.groups {
			for _, it := range g.Items {
				name := it.Name
				if name == "" {
					name = it.ID
				}
				mark := ""
				if it.Removed {
					mark = "-"
				}
				kind := it.Kind
				if kind == "appRoleAssignment" {
					kind = "assignment"
				}
				rows = append(rows, vlist.Row{ID: fmt.Sprint(len(d.related)), Mark: mark,
					Cells: []string{relations.Titles[g.Rel], name, kind, it.Detail}})
				d.related = append(d.related, relatedRow{typ: it.OpenType, id: it.OpenID, name: name, kind: it.Kind})
			}
		}
		d.addTab(tabRelations, "")
		if d.typ.Name == relations.TypeCVEs && d.tab == 0 {
			// A CVE is about its hosts: open on them.
			d.setTab(len(d.tabs) - 1)
		}
		var cmd tea.Cmd
		d.relList, cmd = d.relList.SetSource(vlist.SliceSource(rows))
		if msg.asset != nil {
			d.addTab(tabAsset, string(msg.asset))
		}
		return cmd
	}
	if msg.asset != nil {
		d.addTab(tabAsset, string(msg.asset))
	}
	return nil
}

// addTab appends a tab, or replaces its content if it is there.
func (d *detailScreen) addTab(name, content string) {
	for i, t := range d.tabs {
		if t == name {
			d.content[i] = content
			if i == d.tab {
				d.vp.SetContent(content)
			}
			return
		}
	}
	d.tabs = append(d.tabs, name)
	d.content = append(d.content, content)
}

// onRelations reports that the Relations tab is shown.
func (d *detailScreen) onRelations() bool {
	return d.tab < len(d.tabs) && d.tabs[d.tab] == tabRelations
}

// openRelated opens the record a Relations row points at.
func (d *detailScreen) openRelated() tea.Cmd {
	row, ok := d.relList.Selected()
	if !ok {
		return nil
	}
	var i int
	if _, err := fmt.Sscan(row.ID, &i); err != nil || i < 0 || i >= len(d.related) {
		return nil
	}
	r := d.related[i]
	if r.typ == "" {
		return status(fmt.Sprintf("%s is a %s: qtc does not sync that kind of object", r.name, r.kind))
	}
	t, ok := catalog.Lookup(r.typ)
	if !ok {
		return status(fmt.Sprintf("%s: unknown type %s", r.name, r.typ))
	}
	e, conn := d.env, d.conn
	return func() tea.Msg {
		rec, err := e.store.Get(e.ctx, conn, r.typ, r.id)
		if errors.Is(err, store.ErrNotFound) {
			hint := ""
			if r.typ == relations.TypeDevices {
				hint = " (devices come from an entra-devices connector)"
			} else if r.typ == relations.TypeServicePrincipals || r.typ == relations.TypeApplications {
				hint = " (sync the connector with --scope posture to get them)"
			}
			return statusMsg{text: fmt.Sprintf("%s (%s %s) is not in the store%s", r.name, r.kind, r.id, hint), err: true}
		}
		if err != nil {
			return statusMsg{text: err.Error(), err: true}
		}
		return pushMsg{newDetailScreen(e, conn, t, rec)}
	}
}

var relationKeys = struct{ Open key.Binding }{
	Open: key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "open related")),
}
