package graphsim

import (
	"encoding/json"
	"maps"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// deltaClient is a minimal idempotent delta consumer: it merges objects
// and group memberships the way a sync must.
type deltaClient struct {
	e       *env
	hdr     map[string]string
	objs    map[string]map[string]json.RawMessage
	members map[string]map[string]bool
	link    string
}

type roundStats struct {
	pages, items     int
	removed          map[string]string // id → reason
	memberAdds       int
	memberRemoves    int
	multiPageObjects int // objects that appeared on more than one page of the round
	ids              []string
	contexts         []string
}

func newDeltaClient(e *env, hdr map[string]string) *deltaClient {
	return &deltaClient{e: e, hdr: hdr, objs: map[string]map[string]json.RawMessage{}, members: map[string]map[string]bool{}}
}

// round follows links from start (or the stored deltaLink) until a
// deltaLink, applying every page.
func (c *deltaClient) round(t *testing.T, start string) roundStats {
	t.Helper()
	next := start
	if next == "" {
		next = c.link
	}
	rs := roundStats{removed: map[string]string{}}
	pagesOf := map[string]int{}
	for i := 0; ; i++ {
		if i > 10000 {
			t.Fatal("delta round does not end")
		}
		resp, b := c.e.do("GET", next, nil, c.hdr)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s", next, resp.StatusCode, b)
		}
		p := decodePage(t, b)
		rs.pages++
		rs.contexts = append(rs.contexts, p.Context)
		if (p.NextLink == "") == (p.DeltaLink == "") {
			t.Fatalf("page must carry exactly one of nextLink and deltaLink: %.300s", b)
		}
		seenOnPage := map[string]bool{}
		for _, raw := range p.Value {
			var m map[string]json.RawMessage
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatal(err)
			}
			var id string
			_ = json.Unmarshal(m["id"], &id)
			rs.items++
			rs.ids = append(rs.ids, id)
			if !seenOnPage[id] {
				seenOnPage[id] = true
				pagesOf[id]++
			}
			if rem, ok := m["@removed"]; ok {
				var r struct{ Reason string }
				_ = json.Unmarshal(rem, &r)
				rs.removed[id] = r.Reason
				delete(c.objs, id)
				delete(c.members, id)
				continue
			}
			cur := c.objs[id]
			if cur == nil {
				cur = map[string]json.RawMessage{}
				c.objs[id] = cur
			}
			for k, v := range m {
				if k != "members@delta" {
					cur[k] = v
				}
			}
			if md, ok := m["members@delta"]; ok {
				var entries []struct {
					Type    string          `json:"@odata.type"`
					ID      string          `json:"id"`
					Removed json.RawMessage `json:"@removed"`
				}
				if err := json.Unmarshal(md, &entries); err != nil {
					t.Fatal(err)
				}
				set := c.members[id]
				if set == nil {
					set = map[string]bool{}
					c.members[id] = set
				}
				for _, en := range entries {
					if !strings.HasPrefix(en.Type, "#microsoft.graph.") {
						t.Fatalf("members@delta entry without @odata.type: %s", md)
					}
					if en.Removed != nil {
						if !strings.Contains(string(en.Removed), `"reason":"deleted"`) {
							t.Fatalf("member removal %s", en.Removed)
						}
						delete(set, en.ID)
						rs.memberRemoves++
					} else {
						set[en.ID] = true
						rs.memberAdds++
					}
				}
			}
		}
		if p.DeltaLink != "" {
			if !strings.Contains(p.DeltaLink, "$deltatoken=") || !strings.HasPrefix(p.DeltaLink, c.e.graph+"/v1.0/") {
				t.Fatalf("deltaLink %q", p.DeltaLink)
			}
			c.link = p.DeltaLink
			break
		}
		if !strings.Contains(p.NextLink, "$skiptoken=") {
			t.Fatalf("nextLink %q", p.NextLink)
		}
		next = p.NextLink
	}
	for _, n := range pagesOf {
		if n > 1 {
			rs.multiPageObjects++
		}
	}
	return rs
}

func (c *deltaClient) ids() []string {
	return sorted(slices.Collect(maps.Keys(c.objs)))
}

// checkMembers compares merged memberships with the truth for every
// live group.
func (c *deltaClient) checkMembers(t *testing.T, tr Truth) {
	t.Helper()
	c.checkMembersOf(t, tr, tr.Groups)
}

// checkMembersOf compares merged memberships with the truth for every
// owner (groups or administrative units).
func (c *deltaClient) checkMembersOf(t *testing.T, tr Truth, owners []Object) {
	t.Helper()
	for _, g := range owners {
		want := sorted(tr.Members[g.ID])
		got := sorted(slices.Collect(maps.Keys(c.members[g.ID])))
		if !slices.Equal(got, want) {
			t.Fatalf("group %s (%s): %d members merged, %d in truth", g.ID, g.DisplayName, len(got), len(want))
		}
	}
}

func TestDeltaUsersRoundTrip(t *testing.T) {
	e := newEnv(t, Options{Users: 400})
	c := newDeltaClient(e, map[string]string{"Prefer": "odata.maxpagesize=37"})
	rs := c.round(t, "/v1.0/users/delta")
	tr := e.s.Truth()
	if !slices.Equal(c.ids(), sorted(objIDs(tr.Users))) {
		t.Fatalf("initial round: %d users, truth %d", len(c.objs), len(tr.Users))
	}
	if rs.pages < 400/37 {
		t.Errorf("%d pages", rs.pages)
	}
	// Default delta properties are the users' default set.
	u0 := c.objs[tr.Users[0].ID]
	if _, ok := u0["accountEnabled"]; ok {
		t.Error("default delta view includes accountEnabled")
	}
	if _, ok := u0["userPrincipalName"]; !ok {
		t.Error("default delta view lacks userPrincipalName")
	}

	// An empty round.
	rs = c.round(t, "")
	if rs.items != 0 || rs.pages != 1 {
		t.Errorf("no changes, yet %d items on %d pages", rs.items, rs.pages)
	}

	res := e.s.Mutate(Mutation{AddUsers: 3, UpdateUsers: 5, SoftDeleteUsers: 3, HardDeleteUsers: 1})
	if len(res.Users.Added) != 3 || len(res.Users.Updated) != 5 || len(res.Users.SoftDeleted) != 3 || len(res.Users.Deleted) != 1 {
		t.Fatalf("mutation result %+v", res.Users)
	}
	rs = c.round(t, "")
	tr = e.s.Truth()
	if !slices.Equal(c.ids(), sorted(objIDs(tr.Users))) {
		t.Fatalf("after changes: %d users merged, truth %d", len(c.objs), len(tr.Users))
	}
	for _, id := range res.Users.Deleted {
		if rs.removed[id] != "deleted" {
			t.Errorf("hard-deleted %s reported %q", id, rs.removed[id])
		}
	}
	soft := 0
	for _, id := range res.Users.SoftDeleted {
		if slices.Contains(res.Users.Deleted, id) {
			continue
		}
		soft++
		if rs.removed[id] != "changed" {
			t.Errorf("soft-deleted %s reported %q", id, rs.removed[id])
		}
	}
	if soft != 2 {
		t.Errorf("%d users still soft-deleted", soft)
	}
	changed := map[string]bool{}
	for _, id := range append(append(res.Users.Added, res.Users.Updated...), res.Users.SoftDeleted...) {
		changed[id] = true
	}
	for _, id := range rs.ids {
		if !changed[id] {
			t.Errorf("unchanged user %s reported", id)
		}
	}
	// Changed users come in full: what GET returns now.
	for _, id := range res.Users.Updated {
		if c.objs[id] == nil {
			continue // also deleted by this mutation
		}
		_, b := e.get("/v1.0/users/" + id)
		var want map[string]json.RawMessage
		_ = json.Unmarshal(b, &want)
		delete(want, "@odata.context")
		if !maps.EqualFunc(c.objs[id], want, func(a, b json.RawMessage) bool { return string(a) == string(b) }) {
			t.Errorf("user %s merged %v, GET %v", id, c.objs[id], want)
		}
	}

	res = e.s.Mutate(Mutation{RestoreUsers: 1})
	rs = c.round(t, "")
	if len(res.Users.Restored) != 1 || rs.items != 1 || c.objs[res.Users.Restored[0]] == nil {
		t.Errorf("restore: %+v, %d items", res.Users, rs.items)
	}
	if !slices.Equal(c.ids(), sorted(objIDs(e.s.Truth().Users))) {
		t.Fatal("after restore: users differ from truth")
	}
}

func TestDeltaGroupsMembers(t *testing.T) {
	e := newEnv(t, Options{Users: 600, Groups: 14, Devices: 50})
	c := newDeltaClient(e, map[string]string{"Prefer": "odata.maxpagesize=25"})
	rs := c.round(t, "/v1.0/groups/delta?$select=displayName,description,members")
	tr := e.s.Truth()
	if !slices.Equal(c.ids(), sorted(objIDs(tr.Groups))) {
		t.Fatalf("initial: %d groups, truth %d", len(c.objs), len(tr.Groups))
	}
	c.checkMembers(t, tr)
	if rs.multiPageObjects == 0 {
		t.Error("no group was split over pages")
	}
	if !strings.HasSuffix(rs.contexts[0], "#groups(displayName,description,members)") {
		t.Errorf("context %q", rs.contexts[0])
	}
	for id, props := range c.objs {
		if len(props) != 3 { // id, displayName, description
			t.Fatalf("group %s has properties %v", id, slices.Collect(maps.Keys(props)))
		}
	}
	t.Logf("initial: %d pages, %d groups on several pages, %d member links", rs.pages, rs.multiPageObjects, rs.memberAdds)

	// Remove a member of the biggest group, late in its member list, and
	// change other memberships, users and groups.
	big := tr.Groups[0]
	for _, g := range tr.Groups {
		if len(tr.Members[g.ID]) > len(tr.Members[big.ID]) {
			big = g
		}
	}
	bm := tr.Members[big.ID]
	res := e.s.Mutate(Mutation{
		AddMembers: 12, RemoveMembers: 9, SoftDeleteUsers: 3, HardDeleteUsers: 1, DeleteGroups: 2, AddGroups: 1, UpdateGroups: 2,
		Memberships: []MembershipChange{{GroupID: big.ID, MemberID: bm[len(bm)-2], Remove: true}},
	})
	if len(res.Errors) > 0 {
		t.Fatal(res.Errors)
	}
	rs = c.round(t, "")
	tr = e.s.Truth()
	if !slices.Equal(c.ids(), sorted(objIDs(tr.Groups))) {
		t.Fatalf("after changes: %d groups, truth %d", len(c.objs), len(tr.Groups))
	}
	c.checkMembers(t, tr)
	if rs.memberRemoves == 0 || rs.memberAdds == 0 {
		t.Errorf("member adds %d, removes %d", rs.memberAdds, rs.memberRemoves)
	}
	for _, id := range res.Groups.Deleted {
		if rs.removed[id] != "deleted" {
			t.Errorf("deleted group %s reported %q", id, rs.removed[id])
		}
	}
	for _, id := range res.Groups.SoftDeleted {
		if rs.removed[id] != "changed" {
			t.Errorf("soft-deleted group %s reported %q", id, rs.removed[id])
		}
	}
	// Without members in $select, membership changes do not show.
	c2 := newDeltaClient(e, nil)
	c2.round(t, "/v1.0/groups/delta?$select=displayName")
	e.s.Mutate(Mutation{AddMembers: 5, RemoveMembers: 5})
	if rs := c2.round(t, ""); rs.items != 0 {
		t.Errorf("membership changes reported to a query without members: %d items", rs.items)
	}
	// Without $select, members are tracked.
	c3 := newDeltaClient(e, nil)
	c3.round(t, "/v1.0/groups/delta")
	c3.checkMembers(t, e.s.Truth())
	e.s.Mutate(Mutation{AddMembers: 5, RemoveMembers: 5})
	c3.round(t, "")
	c3.checkMembers(t, e.s.Truth())
}

// TestDeltaAdministrativeUnitsMembers: administrativeUnits/delta tracks
// units and their members (members@delta) like groups/delta: new users
// join the dynamic units of their country, soft-deleted users leave every
// unit and come back when restored.
func TestDeltaAdministrativeUnitsMembers(t *testing.T) {
	e := newEnv(t, Options{Users: 600, Groups: 14, Devices: 50})
	c := newDeltaClient(e, map[string]string{"Prefer": "odata.maxpagesize=25"})
	rs := c.round(t, "/v1.0/directory/administrativeUnits/delta?$select=displayName,members")
	tr := e.s.Truth()
	if len(tr.AdministrativeUnits) == 0 || !slices.Equal(c.ids(), sorted(objIDs(tr.AdministrativeUnits))) {
		t.Fatalf("initial: %d units, truth %d", len(c.objs), len(tr.AdministrativeUnits))
	}
	c.checkMembersOf(t, tr, tr.AdministrativeUnits)
	if rs.multiPageObjects == 0 {
		t.Error("no unit was split over pages")
	}
	if !strings.HasSuffix(rs.contexts[0], "#directory/administrativeUnits(displayName,members)") {
		t.Errorf("context %q", rs.contexts[0])
	}

	res := e.s.Mutate(Mutation{AddUsers: 40, SoftDeleteUsers: 6, AddMembers: 10})
	if len(res.Errors) > 0 {
		t.Fatal(res.Errors)
	}
	rs = c.round(t, "")
	tr = e.s.Truth()
	c.checkMembersOf(t, tr, tr.AdministrativeUnits)
	if rs.memberAdds == 0 || rs.memberRemoves == 0 {
		t.Errorf("after users joined and left: member adds %d, removes %d", rs.memberAdds, rs.memberRemoves)
	}
	if rs.items > len(tr.AdministrativeUnits) {
		t.Errorf("%d items for %d units", rs.items, len(tr.AdministrativeUnits))
	}
	// Group membership changes are not unit changes.
	e.s.Mutate(Mutation{AddMembers: 5, RemoveMembers: 5, UpdateUsers: 5})
	if rs := c.round(t, ""); rs.items != 0 {
		t.Errorf("group membership and user changes reported as unit changes: %d items", rs.items)
	}
	e.s.Mutate(Mutation{RestoreUsers: 6})
	c.round(t, "")
	c.checkMembersOf(t, e.s.Truth(), e.s.Truth().AdministrativeUnits)

	// The path without /directory, and $deltatoken=latest.
	c2 := newDeltaClient(e, nil)
	c2.round(t, "/v1.0/administrativeUnits/delta")
	c2.checkMembersOf(t, e.s.Truth(), e.s.Truth().AdministrativeUnits)
	c3 := newDeltaClient(e, nil)
	if rs := c3.round(t, "/v1.0/directory/administrativeUnits/delta?$select=displayName,members&$deltatoken=latest"); rs.items != 0 {
		t.Errorf("$deltatoken=latest returned %d units", rs.items)
	}
	e.s.Mutate(Mutation{AddUsers: 40})
	if rs := c3.round(t, ""); rs.memberAdds == 0 {
		t.Error("a round from $deltatoken=latest saw no unit joined by the new users")
	}
}

func TestDeltaDevices(t *testing.T) {
	e := newEnv(t, Options{Devices: 250})
	c := newDeltaClient(e, nil)
	rs := c.round(t, "/v1.0/devices/delta?$select=displayName,operatingSystem,operatingSystemVersion,isCompliant,isManaged,deviceId,trustType,approximateLastSignInDateTime")
	if !slices.Equal(c.ids(), sorted(objIDs(e.s.Truth().Devices))) {
		t.Fatal("initial devices differ")
	}
	if rs.pages < 2 {
		t.Errorf("%d pages for 250 devices (200 a page)", rs.pages)
	}
	res := e.s.Mutate(Mutation{AddDevices: 4, UpdateDevices: 6, DeleteDevices: 3})
	rs = c.round(t, "")
	if !slices.Equal(c.ids(), sorted(objIDs(e.s.Truth().Devices))) {
		t.Fatal("devices differ after changes")
	}
	for _, id := range res.Devices.Deleted {
		if rs.removed[id] != "deleted" {
			t.Errorf("device %s reported %q", id, rs.removed[id])
		}
	}
	for _, id := range res.Devices.Updated {
		if d := c.objs[id]; d != nil && string(d["approximateLastSignInDateTime"]) != `"`+fmtTime(testNow)+`"` {
			t.Errorf("updated device %s: %s", id, d["approximateLastSignInDateTime"])
		}
	}
}

func TestDeltaLatest(t *testing.T) {
	e := newEnv(t, Options{})
	_, b := e.get("/v1.0/users/delta?$deltatoken=latest&$select=displayName")
	p := decodePage(t, b)
	if len(p.Value) != 0 || p.DeltaLink == "" || p.NextLink != "" {
		t.Fatalf("latest: %s", b)
	}
	c := newDeltaClient(e, nil)
	c.link = p.DeltaLink
	if rs := c.round(t, ""); rs.items != 0 {
		t.Errorf("%d items without changes", rs.items)
	}
	res := e.s.Mutate(Mutation{AddUsers: 2})
	rs := c.round(t, "")
	if !slices.Equal(sorted(rs.ids), sorted(res.Users.Added)) {
		t.Errorf("changes %v, want %v", rs.ids, res.Users.Added)
	}
}

func TestDeltaChangesDuringRound(t *testing.T) {
	e := newEnv(t, Options{Users: 300})
	c := newDeltaClient(e, map[string]string{"Prefer": "odata.maxpagesize=50"})
	// Take two pages, mutate, then finish the round.
	_, b := e.do("GET", "/v1.0/users/delta", nil, c.hdr)
	p := decodePage(t, b)
	res := e.s.Mutate(Mutation{UpdateUsers: 10, AddUsers: 2, SoftDeleteUsers: 2})
	c.round(t, p.NextLink)
	for _, raw := range p.Value { // apply the first page too
		var m map[string]json.RawMessage
		_ = json.Unmarshal(raw, &m)
		var id string
		_ = json.Unmarshal(m["id"], &id)
		c.objs[id] = m
	}
	rs := c.round(t, "")
	if !slices.Equal(c.ids(), sorted(objIDs(e.s.Truth().Users))) {
		t.Fatal("users differ from truth after a round with concurrent changes")
	}
	for _, id := range res.Users.Updated {
		if !slices.Contains(rs.ids, id) && c.objs[id] != nil {
			// Changes during a round are (re)delivered by the next one.
			t.Errorf("user %s changed during the round is not in the next", id)
		}
	}
}

func TestDeltaExpiry(t *testing.T) {
	e := newEnv(t, Options{Users: 120})
	c := newDeltaClient(e, map[string]string{"Prefer": "odata.maxpagesize=50"})
	c.round(t, "/v1.0/users/delta?$select=displayName,accountEnabled")
	e.clk.Advance(6 * 24 * time.Hour)
	c.round(t, "") // still valid, and a fresh link
	e.clk.Advance(7*24*time.Hour + time.Second)
	resp, b := e.get(c.link)
	code, msg := graphError(t, b)
	if resp.StatusCode != 410 || code != "syncStateNotFound" || !strings.Contains(msg, "expired") {
		t.Fatalf("%d %s %s", resp.StatusCode, code, msg)
	}
	loc := resp.Header.Get("Location")
	u, err := url.Parse(loc)
	if err != nil || u.Path != "/graph/v1.0/users/delta" || u.Query().Get("$select") != "displayName,accountEnabled" || u.Query().Get("$deltatoken") != "" {
		t.Fatalf("Location %q", loc)
	}
	c2 := newDeltaClient(e, nil)
	c2.round(t, loc)
	if len(c2.objs) != 120 {
		t.Errorf("resync from Location: %d users", len(c2.objs))
	}
	// A skip token of a round older than 7 days is refused the same way.
	_, b = e.do("GET", "/v1.0/users/delta", nil, map[string]string{"Prefer": "odata.maxpagesize=10"})
	next := decodePage(t, b).NextLink
	e.clk.Advance(8 * 24 * time.Hour)
	if resp, _ := e.get(next); resp.StatusCode != 410 {
		t.Errorf("old skip token: %d", resp.StatusCode)
	}
}

func TestDeltaStaleInstance(t *testing.T) {
	clk := &fakeClock{t: testNow}
	e := newEnv(t, Options{Now: clk.Now})
	_, b := e.get("/v1.0/groups/delta?$deltatoken=latest")
	link := decodePage(t, b).DeltaLink
	// A restarted simulator (same options, same key) no longer knows the
	// sync state: 410 with a Location to start over.
	e2 := newEnv(t, Options{Now: clk.Now})
	tok := mustQuery(t, link).Get("$deltatoken")
	resp, b := e2.get("/v1.0/groups/delta?$deltatoken=" + tok)
	if code, _ := graphError(t, b); resp.StatusCode != 410 || code != "resyncRequired" || resp.Header.Get("Location") == "" {
		t.Errorf("%d %s %v", resp.StatusCode, code, resp.Header)
	}
}

func TestDeltaBadRequests(t *testing.T) {
	e := newEnv(t, Options{})
	_, b := e.get("/v1.0/users/delta?$deltatoken=latest")
	usersTok := mustQuery(t, decodePage(t, b).DeltaLink).Get("$deltatoken")
	tests := []struct {
		path string
		code string
	}{
		{"/v1.0/users/delta?$top=10", "Request_UnsupportedQuery"},
		{"/v1.0/groups/delta?$orderby=displayName", "Request_UnsupportedQuery"},
		{"/v1.0/users/delta?$expand=memberOf", "Request_UnsupportedQuery"},
		{"/v1.0/users/delta?$filter=" + url.QueryEscape("userType eq 'Guest'"), "Request_UnsupportedQuery"},
		{"/v1.0/users/delta?$select=shoeSize", "BadRequest"},
		{"/v1.0/users/delta?$deltatoken=garbage", "Request_BadRequest"},
		{"/v1.0/groups/delta?$deltatoken=" + usersTok, "Request_BadRequest"},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			resp, b := e.get(tc.path)
			if code, _ := graphError(t, b); resp.StatusCode != 400 || code != tc.code {
				t.Errorf("%d %s, want 400 %s", resp.StatusCode, code, tc.code)
			}
		})
	}
}

func TestDeltaSelectAndScope(t *testing.T) {
	e := newEnv(t, Options{})
	tr := e.s.Truth()
	c := newDeltaClient(e, nil)
	c.round(t, "/v1.0/users/delta?$select=displayName")
	// updateUser never touches displayName: no change is tracked.
	e.s.Mutate(Mutation{UpdateUsers: 20})
	if rs := c.round(t, ""); rs.items != 0 {
		t.Errorf("%d users reported for changes to unselected properties", rs.items)
	}
	// Scoping filter by id.
	a, b := tr.Users[1].ID, tr.Users[2].ID
	sc := newDeltaClient(e, nil)
	sc.round(t, "/v1.0/users/delta?$filter="+url.QueryEscape("id eq '"+a+"' or id eq '"+b+"'"))
	if !slices.Equal(sc.ids(), sorted([]string{a, b})) {
		t.Errorf("scoped round: %v", sc.ids())
	}
}

func TestDeltaReplayAndGoneFaults(t *testing.T) {
	e := newEnv(t, Options{Users: 150, Faults: FaultOptions{DeltaReplay: 1}})
	c := newDeltaClient(e, nil)
	c.round(t, "/v1.0/users/delta")
	first := e.s.Mutate(Mutation{UpdateUsers: 3})
	c.round(t, "")
	second := e.s.Mutate(Mutation{AddUsers: 1})
	rs := c.round(t, "")
	// The round replays the previous round's changes as well.
	for _, id := range append(first.Users.Updated, second.Users.Added...) {
		if !slices.Contains(rs.ids, id) {
			t.Errorf("%s missing from the replaying round", id)
		}
	}
	if !slices.Equal(c.ids(), sorted(objIDs(e.s.Truth().Users))) {
		t.Error("an idempotent client still matches the truth")
	}
	if e.s.Stats().Faults["replay"] == 0 {
		t.Error("no replay counted")
	}

	g := newEnv(t, Options{Faults: FaultOptions{DeltaGone: 1}})
	_, b := g.get("/v1.0/devices/delta?$deltatoken=latest")
	resp, b := g.get(decodePage(t, b).DeltaLink)
	if code, _ := graphError(t, b); resp.StatusCode != 410 || code != "resyncRequired" || !strings.HasSuffix(resp.Header.Get("Location"), "/graph/v1.0/devices/delta") {
		t.Errorf("%d %s %q", resp.StatusCode, code, resp.Header.Get("Location"))
	}
}
