package relations

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"qtc/store"
)

// Related is one object at the other end of a link.
type Related struct {
	Kind string // short kind of the object: "user", "group", "appRoleAssignment", …
	Type string // its record type ("" when qtc does not sync that kind)
	ID   string // its id
	// Name is its display name from the store ("" if it is not stored).
	Name string
	// Detail says more where Name alone is ambiguous (for an assignment:
	// the app role and the other side).
	Detail string
	// Open is the record a user walking the relation goes to next: the
	// object itself, or for an assignment the object on the other side.
	OpenType, OpenID string
	// Raw is the object as Graph returns it from the navigation property,
	// with its @odata.type (nil when it is not stored, and for members,
	// which are rendered as {"@odata.type","id"}).
	Raw     json.RawMessage
	Removed bool // stored but marked removed
}

// Group is the related objects of one relation.
type Group struct {
	Rel   string
	Items []Related
}

// Of says which relations each record type has, in display order.
var Of = map[string][]string{
	TypeUsers:               {MemberOf, AppRoleAssignments},
	TypeGroups:              {Members, MemberOf, AppRoleAssignments},
	TypeDirectoryRoles:      {Members},
	TypeAdministrativeUnits: {Members},
	TypeServicePrincipals:   {AppRoleAssignedTo, AppRoleAssignments, MemberOf},
	TypeCVEs:                {AffectedHosts},
	TypeHosts:               {HostCVEs},
}

// Titles are the relation names as a screen shows them.
var Titles = map[string]string{
	Members:            "Members",
	MemberOf:           "Member of",
	AppRoleAssignments: "App role assignments",
	AppRoleAssignedTo:  "Assigned to",
	AffectedHosts:      "Affected hosts",
	HostCVEs:           "CVEs",
}

// Get returns the relations of one record of typ (none for a type without
// relations). Related objects the store does not hold are listed with
// their id and kind only.
func Get(ctx context.Context, st *store.Store, conn, typ, id string) ([]Group, error) {
	rels := Of[typ]
	out := make([]Group, 0, len(rels))
	for _, rel := range rels {
		links, err := st.Links(ctx, conn, rel, id)
		if err != nil {
			return nil, err
		}
		g := Group{Rel: rel, Items: make([]Related, len(links))}
		switch rel {
		case Members, MemberOf, AffectedHosts, HostCVEs:
			for i, l := range links {
				kind := string(l.Data)
				t := TypeOfKind(kind)
				g.Items[i] = Related{Kind: kind, Type: t, ID: l.To, OpenType: t, OpenID: l.To}
			}
			// Qualys hosts and CVEs are not Graph objects: no raw with an
			// @odata.type, the name from the first cell.
			if err := fill(ctx, st, conn, g.Items, rel == MemberOf); err != nil {
				return nil, err
			}
		default:
			for i, l := range links {
				g.Items[i] = Related{Kind: "appRoleAssignment", Type: TypeAppRoleAssignments, ID: l.ID, OpenID: l.To}
			}
			if err := fillAssignments(ctx, st, conn, g.Items, rel); err != nil {
				return nil, err
			}
		}
		out = append(out, g)
	}
	return out, nil
}

// fill looks up the names (and, with raw, the objects) of related objects,
// one read per record type.
func fill(ctx context.Context, st *store.Store, conn string, items []Related, raw bool) error {
	byType := map[string][]int{}
	for i, it := range items {
		if it.Type != "" {
			byType[it.Type] = append(byType[it.Type], i)
		}
	}
	for typ, idx := range byType {
		ids := make([]string, len(idx))
		for j, i := range idx {
			ids[j] = items[i].ID
		}
		pos := make(map[string]int, len(idx))
		for _, i := range idx {
			pos[items[i].ID] = i
		}
		if raw {
			recs, err := st.RecordsByID(ctx, conn, typ, ids)
			if err != nil {
				return fmt.Errorf("relations: %w", err)
			}
			for _, r := range recs {
				it := &items[pos[r.ID]]
				it.Raw = withODataType(r.Raw, ODataType(it.Kind))
				it.Removed = !r.Removed.IsZero()
				if len(r.Cells) > 0 {
					it.Name = r.Cells[0]
				}
			}
			continue
		}
		rows, err := st.RowsByID(ctx, conn, typ, ids)
		if err != nil {
			return fmt.Errorf("relations: %w", err)
		}
		for _, r := range rows {
			it := &items[pos[r.ID]]
			it.Removed = !r.Removed.IsZero()
			if len(r.Cells) > 0 {
				it.Name = r.Cells[0]
			}
		}
	}
	return nil
}

// assignment is what a screen shows of an app role assignment.
type assignment struct {
	AppRoleID            string `json:"appRoleId"`
	ResourceID           string `json:"resourceId"`
	PrincipalDisplayName string `json:"principalDisplayName"`
	PrincipalType        string `json:"principalType"`
	ResourceDisplayName  string `json:"resourceDisplayName"`
}

// fillAssignments reads the assignment records: from a principal
// (appRoleAssignments) the way out is the resource; from a resource
// (appRoleAssignedTo) it is the principal.
func fillAssignments(ctx context.Context, st *store.Store, conn string, items []Related, rel string) error {
	if len(items) == 0 {
		return nil
	}
	ids := make([]string, len(items))
	pos := make(map[string]int, len(items))
	for i, it := range items {
		ids[i] = it.ID
		pos[it.ID] = i
	}
	recs, err := st.RecordsByID(ctx, conn, TypeAppRoleAssignments, ids)
	if err != nil {
		return fmt.Errorf("relations: %w", err)
	}
	asgs := make([]assignment, len(recs))
	var resources []string
	for i, r := range recs {
		_ = json.Unmarshal(r.Raw, &asgs[i])
		resources = append(resources, asgs[i].ResourceID)
	}
	roleNames, err := appRoleNames(ctx, st, conn, resources)
	if err != nil {
		return err
	}
	for i, r := range recs {
		it := &items[pos[r.ID]]
		it.Raw = withODataType(r.Raw, ODataType("appRoleAssignment"))
		it.Removed = !r.Removed.IsZero()
		a := asgs[i]
		role := a.AppRoleID
		switch {
		case role == "00000000-0000-0000-0000-000000000000":
			role = "default access"
		case roleNames[role] != "":
			role = roleNames[role]
		}
		if rel == AppRoleAssignments {
			it.Name, it.OpenType = a.ResourceDisplayName, TypeServicePrincipals
			it.Detail = role
		} else {
			it.Name = a.PrincipalDisplayName
			it.OpenType = TypeOfKind(lowerFirst(a.PrincipalType))
			it.Detail = a.PrincipalType + ": " + role
		}
	}
	for i := range items {
		if items[i].OpenType == "" && rel == AppRoleAssignments {
			items[i].OpenType = TypeServicePrincipals
		}
	}
	return nil
}

// appRoleNames maps the app role ids of the given resource service
// principals (those stored) to their value or display name.
func appRoleNames(ctx context.Context, st *store.Store, conn string, resources []string) (map[string]string, error) {
	out := map[string]string{}
	if len(resources) == 0 {
		return out, nil
	}
	recs, err := st.RecordsByID(ctx, conn, TypeServicePrincipals, resources)
	if err != nil {
		return nil, fmt.Errorf("relations: %w", err)
	}
	for _, r := range recs {
		var sp struct {
			AppRoles []struct {
				ID          string `json:"id"`
				Value       string `json:"value"`
				DisplayName string `json:"displayName"`
			} `json:"appRoles"`
		}
		if json.Unmarshal(r.Raw, &sp) != nil {
			continue
		}
		for _, ar := range sp.AppRoles {
			name := ar.Value
			if name == "" {
				name = ar.DisplayName
			}
			out[ar.ID] = name
		}
	}
	return out, nil
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// withODataType puts "@odata.type" first in a JSON object (unless it has
// one).
func withODataType(raw json.RawMessage, odataType string) json.RawMessage {
	t := bytes.TrimLeft(raw, " \t\r\n")
	if len(t) < 2 || t[0] != '{' || bytes.Contains(raw, []byte(`"@odata.type"`)) {
		return raw
	}
	out := make([]byte, 0, len(raw)+len(odataType)+20)
	out = append(out, `{"@odata.type":`...)
	q, _ := json.Marshal(odataType)
	out = append(out, q...)
	body := bytes.TrimLeft(t[1:], " \t\r\n")
	if len(body) > 0 && body[0] != '}' {
		out = append(out, ',')
	}
	return append(out, body...)
}

// Expand returns raw with each relation appended under its Graph name, as
// a JSON array of the related objects (what $expand would give): memberOf
// and the assignments as the full objects, members as {"@odata.type","id"}.
func Expand(raw json.RawMessage, groups []Group) (json.RawMessage, error) {
	t := bytes.TrimRight(raw, " \t\r\n")
	if len(t) < 2 || t[len(t)-1] != '}' {
		return nil, fmt.Errorf("relations: record is not a JSON object")
	}
	if len(groups) == 0 {
		return raw, nil
	}
	out := make([]byte, 0, len(raw)+256)
	out = append(out, t[:len(t)-1]...)
	empty := len(bytes.TrimSpace(t[1:len(t)-1])) == 0
	for _, g := range groups {
		if !empty {
			out = append(out, ',')
		}
		empty = false
		name, _ := json.Marshal(g.Rel)
		out = append(out, name...)
		out = append(out, ":["...)
		for i, it := range g.Items {
			if i > 0 {
				out = append(out, ',')
			}
			if g.Rel == AffectedHosts || g.Rel == HostCVEs {
				// Qualys objects: no Graph type, the id and the name.
				b, _ := json.Marshal(struct {
					ID   string `json:"id"`
					Name string `json:"name,omitempty"`
				}{it.ID, it.Name})
				out = append(out, b...)
				continue
			}
			if g.Rel == Members || it.Raw == nil {
				out = append(out, `{"@odata.type":`...)
				q, _ := json.Marshal(ODataType(it.Kind))
				out = append(out, q...)
				out = append(out, `,"id":`...)
				q, _ = json.Marshal(it.ID)
				out = append(out, q...)
				out = append(out, '}')
				continue
			}
			out = append(out, it.Raw...)
		}
		out = append(out, ']')
	}
	return append(out, '}'), nil
}

// Values wraps each relation as Graph's collection response
// ({"value":[…]}), the shape the transformation maps of seeds 002 and 003
// read (memberOf.value[], appRoleAssignments.value[]).
func Values(raw json.RawMessage, groups []Group) (json.RawMessage, error) {
	exp, err := Expand(raw, nil)
	if err != nil {
		return nil, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(exp, &m); err != nil {
		return nil, fmt.Errorf("relations: %w", err)
	}
	for _, g := range groups {
		arr, err := Expand([]byte("{}"), []Group{g})
		if err != nil {
			return nil, err
		}
		var inner map[string]json.RawMessage
		if err := json.Unmarshal(arr, &inner); err != nil {
			return nil, fmt.Errorf("relations: %w", err)
		}
		m[g.Rel] = append(append([]byte(`{"value":`), inner[g.Rel]...), '}')
	}
	return json.Marshal(m)
}
