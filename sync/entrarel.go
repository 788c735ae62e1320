package sync

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"qtc/api/graph"
	"qtc/store"
	"qtc/sync/internal/jsonobj"
	"qtc/sync/relations"
)

// Relations of Entra ID objects, got the cheapest way that gives what the
// per-object endpoints of seed 003 would:
//   - group and administrative-unit members: a full pull lists them
//     (/groups/{id}/members, /directory/administrativeUnits/{id}/members,
//     through $batch), a delta round reads the members@delta of each
//     changed group or unit (/groups/delta, administrativeUnits/delta with
//     $select=…,members; a large one spread over pages);
//   - directory-role members from /directoryRoles/{id}/members;
//   - app role assignments from each service principal's
//     appRoleAssignedTo, through $batch.
// A user's or group's memberOf (its groups, directory roles and
// administrative units, as Graph lists them) and appRoleAssignments are the
// inverse links, stored with them (no per-user calls).

const (
	directoryRoleSelect = "id,displayName,description,roleTemplateId"
	adminUnitSelect     = "id,displayName,description,visibility,membershipType,membershipRule,isMemberManagementRestricted"
	assignmentSelect    = "id,appRoleId,createdDateTime,principalDisplayName,principalId,principalType,resourceDisplayName,resourceId"
)

// kindData is the short kind stored on a link.
func kindData(odataType string) []byte { return []byte(relations.Kind(odataType)) }

// groupMembers takes members@delta out of each group of a groups/delta page
// and turns it into link changes. A group listed only for its members
// (nothing else selected changed) is not rewritten.
func groupMembers(_ context.Context, _ *graph.Client, p *rawPage) error {
	return membersDelta(p, "group")
}

// adminUnitMembersDelta is groupMembers for administrativeUnits/delta.
func adminUnitMembersDelta(_ context.Context, _ *graph.Client, p *rawPage) error {
	return membersDelta(p, "administrativeUnit")
}

// membersDelta takes members@delta out of each owner (a group or unit,
// whose kind is ownerKind) of a delta page and turns it into link changes.
func membersDelta(p *rawPage, ownerKind string) error {
	items := p.items[:0]
	for _, it := range p.items {
		m, err := cutMembersDelta(it)
		if err != nil {
			return err
		}
		op := store.LinkOp{Rel: relations.Members, Inverse: relations.MemberOf, From: m.id, FromData: []byte(ownerKind), Reset: true}
		for _, e := range m.members {
			l := store.Link{To: e.ID, Data: kindData(e.Type)}
			if e.Removed != nil {
				op.Remove = append(op.Remove, l)
			} else {
				op.Add = append(op.Add, l)
			}
		}
		p.links = append(p.links, op)
		if m.hasProps {
			items = append(items, m.rest)
		}
	}
	p.items = items
	return nil
}

// memberEntry is one entry of members@delta or of a members listing.
type memberEntry struct {
	Type    string `json:"@odata.type"`
	ID      string `json:"id"`
	Removed *struct {
		Reason string `json:"reason"`
	} `json:"@removed"`
}

// cutGroup is a groups/delta item split into its properties and members.
type cutGroup struct {
	id       string
	rest     []byte // the item without members@delta
	members  []memberEntry
	hasProps bool // rest holds more than id and @odata.type
}

// cutMembersDelta removes the top-level "members@delta" member from obj,
// keeping every other byte as it was.
func cutMembersDelta(obj []byte) (cutGroup, error) {
	var g cutGroup
	dec := json.NewDecoder(bytes.NewReader(obj))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return g, fmt.Errorf("group item is not a JSON object")
	}
	cutFrom, cutTo := -1, -1
	first := true
	for dec.More() {
		start := int(dec.InputOffset())
		kt, err := dec.Token()
		if err != nil {
			return g, fmt.Errorf("group item: %w", err)
		}
		key, _ := kt.(string)
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return g, fmt.Errorf("group item member %q: %w", key, err)
		}
		switch key {
		case "members@delta":
			if err := json.Unmarshal(val, &g.members); err != nil {
				return g, fmt.Errorf("group item: members@delta: %w", err)
			}
			cutFrom, cutTo = start, int(dec.InputOffset())
			if first {
				// The first member: drop the comma after it instead of the
				// one before it (there is none).
				rest := obj[cutTo:]
				i := 0
				for i < len(rest) && (rest[i] == ' ' || rest[i] == '\t' || rest[i] == '\n' || rest[i] == '\r') {
					i++
				}
				if i < len(rest) && rest[i] == ',' {
					i++
					for i < len(rest) && (rest[i] == ' ' || rest[i] == '\t' || rest[i] == '\n' || rest[i] == '\r') {
						i++
					}
					cutTo += i
				}
			}
		case "id":
			if err := json.Unmarshal(val, &g.id); err != nil {
				return g, fmt.Errorf("group item: id: %w", err)
			}
		case "@odata.type":
		default:
			g.hasProps = true
		}
		first = false
	}
	if _, err := dec.Token(); err != nil {
		return g, fmt.Errorf("group item: %w", err)
	}
	if len(bytes.TrimSpace(obj[dec.InputOffset():])) > 0 {
		return g, errors.New("group item: data after the object")
	}
	if g.id == "" {
		return g, errors.New("group item has no id")
	}
	g.rest = obj
	if cutFrom >= 0 {
		g.rest = append(append(make([]byte, 0, len(obj)-(cutTo-cutFrom)), obj[:cutFrom]...), obj[cutTo:]...)
	}
	return g, nil
}

// listEach lists a collection for each of the given owners through $batch
// (following every @odata.nextLink) and calls fn with each owner's items in
// order. An owner that no longer exists (404) has none.
func listEach(ctx context.Context, c *graph.Client, owners []string, path func(id string) string, fn func(owner string, items []json.RawMessage) error) error {
	type pending struct {
		owner, url string
	}
	got := make(map[string][]json.RawMessage, len(owners))
	todo := make([]pending, len(owners))
	for i, o := range owners {
		todo[i] = pending{o, path(o)}
	}
	for len(todo) > 0 {
		reqs := make([]graph.BatchRequest, len(todo))
		for i, t := range todo {
			reqs[i] = graph.BatchRequest{URL: t.url}
		}
		resps, err := c.Batch(ctx, reqs)
		if err != nil {
			return err
		}
		var next []pending
		for i, r := range resps {
			t := todo[i]
			switch {
			case r.Status == http.StatusNotFound:
				continue
			case r.Status != http.StatusOK:
				return &graph.Error{Status: r.Status, URL: t.url, Code: innerCode(r.Body), Message: innerMessage(r.Body)}
			}
			page, err := graph.DecodePage(r.Body)
			if err != nil {
				return fmt.Errorf("%s: %w", t.url, err)
			}
			got[t.owner] = append(got[t.owner], page.Items...)
			if page.NextLink != "" {
				next = append(next, pending{t.owner, page.NextLink})
			}
		}
		todo = next
	}
	for _, o := range owners {
		if err := fn(o, got[o]); err != nil {
			return err
		}
	}
	return nil
}

// innerCode and innerMessage read Graph's {"error":{"code","message"}}.
func innerCode(body []byte) string    { c, _ := innerError(body); return c }
func innerMessage(body []byte) string { _, m := innerError(body); return m }

func innerError(body []byte) (code, msg string) {
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil {
		return "", ""
	}
	return e.Error.Code, e.Error.Message
}

// ids reads the id of each item.
func ids(items [][]byte) ([]string, error) {
	out := make([]string, 0, len(items))
	for _, it := range items {
		var v struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(it, &v); err != nil || v.ID == "" {
			return nil, fmt.Errorf("item without an id: %.80s", it)
		}
		out = append(out, v.ID)
	}
	return out, nil
}

// directoryRoleMembers lists the members of each directory role of the page.
func directoryRoleMembers(ctx context.Context, c *graph.Client, p *rawPage) error {
	return listedMembers(ctx, c, p, "directoryRole", func(id string) string {
		return "/directoryRoles/" + url.PathEscape(id) + "/members?$select=id"
	})
}

// adminUnitMembers lists the members (users, groups, devices) of each
// administrative unit of the page.
func adminUnitMembers(ctx context.Context, c *graph.Client, p *rawPage) error {
	return listedMembers(ctx, c, p, "administrativeUnit", func(id string) string {
		return "/directory/administrativeUnits/" + url.PathEscape(id) + "/members?$select=id&$top=999"
	})
}

// groupMembersListed lists the direct members of each group of a page of a
// full listing (see fullListing).
func groupMembersListed(ctx context.Context, c *graph.Client, p *rawPage) error {
	return listedMembers(ctx, c, p, "group", func(id string) string {
		return "/groups/" + url.PathEscape(id) + "/members?$select=id&$top=999"
	})
}

// listedMembers lists the members of each owner of the page (a group, role
// or unit, whose kind is ownerKind) through $batch; each owner's complete
// listing replaces its stored one.
func listedMembers(ctx context.Context, c *graph.Client, p *rawPage, ownerKind string, path func(id string) string) error {
	owners, err := ids(p.items)
	if err != nil {
		return err
	}
	return listEach(ctx, c, owners, path, func(owner string, items []json.RawMessage) error {
		op := store.LinkOp{Rel: relations.Members, Inverse: relations.MemberOf, From: owner, FromData: []byte(ownerKind), Replace: true}
		op.Add = make([]store.Link, 0, len(items))
		for _, it := range items {
			o, err := jsonobj.Scan(it)
			id, _ := jsonobj.String(o.Get("id"))
			if err != nil || id == "" {
				return fmt.Errorf("%s %s: member without an id", ownerKind, owner)
			}
			typ, _ := jsonobj.String(o.Get("@odata.type"))
			op.Add = append(op.Add, store.Link{To: id, Data: kindData(typ)})
		}
		p.links = append(p.links, op)
		return nil
	})
}

// appRoleAssignedTo turns a page of service principal ids into their app
// role assignments (the stored records) and links resource → principal.
func appRoleAssignedTo(ctx context.Context, c *graph.Client, p *rawPage) error {
	sps, err := ids(p.items)
	if err != nil {
		return err
	}
	var out [][]byte
	err = listEach(ctx, c, sps,
		func(id string) string {
			return "/servicePrincipals/" + url.PathEscape(id) + "/appRoleAssignedTo?$select=" + assignmentSelect + "&$top=999"
		},
		func(sp string, items []json.RawMessage) error {
			op := store.LinkOp{Rel: relations.AppRoleAssignedTo, Inverse: relations.AppRoleAssignments, From: sp, Replace: true}
			for _, it := range items {
				var a struct {
					ID          string `json:"id"`
					PrincipalID string `json:"principalId"`
				}
				if err := json.Unmarshal(it, &a); err != nil || a.ID == "" || a.PrincipalID == "" {
					return fmt.Errorf("service principal %s: assignment without id or principalId", sp)
				}
				op.Add = append(op.Add, store.Link{To: a.PrincipalID, ID: a.ID})
				out = append(out, it)
			}
			p.links = append(p.links, op)
			return nil
		})
	if err != nil {
		return err
	}
	p.items = out
	return nil
}
