package graphsim

import (
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"testing"
)

// typed is a directory object entry of a relation.
type typed struct {
	Type string `json:"@odata.type"`
	ID   string `json:"id"`
}

func typedItems(t *testing.T, items []json.RawMessage) []typed {
	t.Helper()
	out := make([]typed, len(items))
	for i, it := range items {
		if err := json.Unmarshal(it, &out[i]); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(out[i].Type, "#microsoft.graph.") {
			t.Fatalf("entry without @odata.type: %s", it)
		}
	}
	return out
}

func sorted(xs []string) []string {
	ys := slices.Clone(xs)
	sort.Strings(ys)
	return ys
}

func TestRelationsConsistency(t *testing.T) {
	e := newEnv(t, Options{Users: 300, Groups: 30, Devices: 120, Applications: 20, ServicePrincipals: 45})
	tr := e.s.Truth()
	memberOf := tr.MemberOf()
	types := map[string]string{}
	for _, list := range [][]Object{tr.Users, tr.Groups, tr.Devices, tr.ServicePrincipals, tr.DirectoryRoles, tr.AdministrativeUnits} {
		for _, o := range list {
			types[o.ID] = o.Type
		}
	}
	byPrincipal := map[string][]string{}
	byResource := map[string][]string{}
	for _, a := range tr.AppRoleAssignments {
		byPrincipal[a.PrincipalID] = append(byPrincipal[a.PrincipalID], a.ID)
		byResource[a.ResourceID] = append(byResource[a.ResourceID], a.ID)
	}
	if len(tr.AppRoleAssignments) == 0 {
		t.Fatal("no app role assignments")
	}
	check := func(t *testing.T, path string, want []string, directory bool) {
		t.Helper()
		ps := e.walk(path+"?$top=13", 13, nil)
		var got []string
		if directory {
			for _, it := range typedItems(t, ps.items) {
				if it.Type != types[it.ID] {
					t.Fatalf("%s: %s typed %s, want %s", path, it.ID, it.Type, types[it.ID])
				}
				got = append(got, it.ID)
			}
		} else {
			got = ids(t, ps.items)
		}
		if !slices.Equal(sorted(got), sorted(want)) {
			t.Fatalf("%s: got %d, want %d", path, len(got), len(want))
		}
	}
	t.Run("users memberOf and appRoleAssignments", func(t *testing.T) {
		sawRole, sawUnit := false, false
		for i, u := range tr.Users {
			if i%7 != 0 && len(memberOf[u.ID]) < 2 {
				continue
			}
			check(t, "/v1.0/users/"+u.ID+"/memberOf", memberOf[u.ID], true)
			check(t, "/v1.0/users/"+u.ID+"/appRoleAssignments", byPrincipal[u.ID], false)
			for _, g := range memberOf[u.ID] {
				switch types[g] {
				case "#microsoft.graph.directoryRole":
					sawRole = true
				case "#microsoft.graph.administrativeUnit":
					sawUnit = true
				}
			}
		}
		if !sawRole {
			t.Error("no user is in a directory role")
		}
		if !sawUnit {
			t.Error("no user's memberOf lists an administrative unit")
		}
	})
	t.Run("groups members, memberOf, appRoleAssignments", func(t *testing.T) {
		for _, g := range tr.Groups {
			check(t, "/v1.0/groups/"+g.ID+"/members", tr.Members[g.ID], true)
			check(t, "/v1.0/groups/"+g.ID+"/memberOf", memberOf[g.ID], true)
			check(t, "/v1.0/groups/"+g.ID+"/appRoleAssignments", byPrincipal[g.ID], false)
		}
	})
	t.Run("groups transitiveMembers", func(t *testing.T) {
		nested := 0
		for _, g := range tr.Groups {
			seen := map[string]bool{}
			queue := []string{g.ID}
			var want []string
			for len(queue) > 0 {
				x := queue[0]
				queue = queue[1:]
				for _, m := range tr.Members[x] {
					if !seen[m] && m != g.ID {
						seen[m] = true
						want = append(want, m)
						if types[m] == "#microsoft.graph.group" {
							queue = append(queue, m)
							nested++
						}
					}
				}
			}
			check(t, "/v1.0/groups/"+g.ID+"/transitiveMembers", want, true)
		}
		if nested == 0 {
			t.Error("no nested groups")
		}
	})
	t.Run("service principals", func(t *testing.T) {
		for _, sp := range tr.ServicePrincipals {
			check(t, "/v1.0/servicePrincipals/"+sp.ID+"/appRoleAssignedTo", byResource[sp.ID], false)
			check(t, "/v1.0/servicePrincipals/"+sp.ID+"/appRoleAssignments", byPrincipal[sp.ID], false)
		}
	})
	t.Run("directory roles", func(t *testing.T) {
		for _, r := range tr.DirectoryRoles {
			check(t, "/v1.0/directoryRoles/"+r.ID+"/members", tr.Members[r.ID], true)
		}
	})
	t.Run("administrative units", func(t *testing.T) {
		for _, u := range tr.AdministrativeUnits {
			check(t, "/v1.0/directory/administrativeUnits/"+u.ID+"/members", tr.Members[u.ID], true)
		}
	})
	t.Run("assignment shape", func(t *testing.T) {
		a := tr.AppRoleAssignments[len(tr.AppRoleAssignments)-1]
		_, b := e.get("/v1.0/servicePrincipals/" + a.ResourceID + "/appRoleAssignedTo?$top=999")
		p := decodePage(t, b)
		if !strings.Contains(p.Context, "/$metadata#servicePrincipals('"+a.ResourceID+"')/appRoleAssignedTo") {
			t.Errorf("context %q", p.Context)
		}
		for _, raw := range p.Value {
			var got struct {
				ID, AppRoleID, PrincipalID, PrincipalType, PrincipalDisplayName, ResourceID, ResourceDisplayName, CreatedDateTime string
				DeletedDateTime                                                                                                   *string
			}
			_ = json.Unmarshal(raw, &got)
			if got.ID == a.ID {
				if got.AppRoleID != a.AppRoleID || got.PrincipalID != a.PrincipalID || got.PrincipalType != a.PrincipalType ||
					got.PrincipalDisplayName != a.PrincipalDisplayName || got.ResourceID != a.ResourceID ||
					got.ResourceDisplayName != a.ResourceDisplayName || got.CreatedDateTime == "" {
					t.Errorf("assignment %s vs %+v", raw, a)
				}
				return
			}
		}
		t.Errorf("assignment %s not listed", a.ID)
	})
	t.Run("connector app holds its roles", func(t *testing.T) {
		var graphSP string
		for _, sp := range tr.ServicePrincipals {
			if strings.Contains(string(sp.JSON), `"appId":"`+graphAppID+`"`) {
				graphSP = sp.ID
			}
		}
		n := 0
		for _, a := range tr.AppRoleAssignments {
			if a.ResourceID == graphSP && a.PrincipalDisplayName == "qtc Entra ID connector" {
				n++
			}
		}
		if n != len(DefaultRoles) {
			t.Errorf("connector holds %d Graph app roles, want %d", n, len(DefaultRoles))
		}
	})
	t.Run("memberOf entries carry group properties", func(t *testing.T) {
		for _, u := range tr.Users {
			if len(memberOf[u.ID]) == 0 {
				continue
			}
			_, b := e.get("/v1.0/users/" + u.ID + "/memberOf?$top=999")
			p := decodePage(t, b)
			if !strings.HasSuffix(p.Context, "#directoryObjects") {
				t.Errorf("context %q", p.Context)
			}
			for _, raw := range p.Value {
				s := string(raw)
				if strings.Contains(s, `"#microsoft.graph.group"`) && (!strings.Contains(s, `"displayName":`) || !strings.Contains(s, `"visibility":`) || !strings.Contains(s, `"uniqueName":`)) {
					t.Fatalf("group entry lacks properties: %s", s)
				}
			}
			return
		}
	})
}

func TestAdministrativeUnits(t *testing.T) {
	e := newEnv(t, Options{})
	tr := e.s.Truth()
	if len(tr.AdministrativeUnits) != 4 {
		t.Fatalf("%d administrative units at the default scale, want 4", len(tr.AdministrativeUnits))
	}
	types := map[string]string{}
	for _, list := range [][]Object{tr.Users, tr.Groups, tr.Devices} {
		for _, o := range list {
			types[o.ID] = o.Type
		}
	}
	unitOf := map[string][]string{} // member → its units
	memberKinds := map[string]int{}
	for _, u := range tr.AdministrativeUnits {
		if u.Type != "#microsoft.graph.administrativeUnit" {
			t.Errorf("unit %s typed %s", u.ID, u.Type)
		}
		for _, m := range tr.Members[u.ID] {
			memberKinds[types[m]]++
			unitOf[m] = append(unitOf[m], u.ID)
		}
	}
	if memberKinds["#microsoft.graph.user"] == 0 || memberKinds["#microsoft.graph.device"] == 0 || memberKinds["#microsoft.graph.group"] == 0 {
		t.Errorf("members by type %v: want users, groups and devices", memberKinds)
	}
	if memberKinds[""] > 0 {
		t.Errorf("%d members are neither users, groups nor devices", memberKinds[""])
	}

	t.Run("list", func(t *testing.T) {
		ps := e.walk("/v1.0/directory/administrativeUnits?$top=3", 3, nil)
		if got := ids(t, ps.items); !slices.Equal(got, objIDs(tr.AdministrativeUnits)) {
			t.Fatalf("listed %v, want %v", got, objIDs(tr.AdministrativeUnits))
		}
		if !strings.HasSuffix(ps.last.Context, "/v1.0/$metadata#directory/administrativeUnits") {
			t.Errorf("context %q", ps.last.Context)
		}
		var u struct {
			ID, DisplayName, Description               string
			Visibility, MembershipType, MembershipRule *string
			MembershipRuleProcessingState              *string
			IsMemberManagementRestricted               *bool
		}
		dynamic := 0
		for _, raw := range ps.items {
			for _, p := range []string{"id", "deletedDateTime", "displayName", "description", "isMemberManagementRestricted", "membershipRule", "membershipType", "membershipRuleProcessingState", "visibility"} {
				if !strings.Contains(string(raw), `"`+p+`":`) {
					t.Errorf("unit lacks %s: %s", p, raw)
				}
			}
			u.MembershipType, u.MembershipRule, u.MembershipRuleProcessingState = nil, nil, nil
			_ = json.Unmarshal(raw, &u)
			if u.MembershipType != nil {
				dynamic++
				if *u.MembershipType != "Dynamic" || u.MembershipRule == nil || !strings.HasPrefix(*u.MembershipRule, "(user.country -") ||
					u.MembershipRuleProcessingState == nil || *u.MembershipRuleProcessingState != "On" {
					t.Errorf("dynamic unit %s", raw)
				}
			} else if u.MembershipRule != nil {
				t.Errorf("assigned unit with a rule: %s", raw)
			}
		}
		if dynamic == 0 || dynamic == len(ps.items) {
			t.Errorf("%d of %d units are dynamic: want both kinds", dynamic, len(ps.items))
		}
		_, b := e.get("/v1.0/directory/administrativeUnits?$select=displayName,membershipType&$top=999")
		p := decodePage(t, b)
		if !strings.HasSuffix(p.Context, "#directory/administrativeUnits(displayName,membershipType)") || len(p.Value) != len(tr.AdministrativeUnits) {
			t.Errorf("context %q, %d units", p.Context, len(p.Value))
		}
		var keys map[string]json.RawMessage
		_ = json.Unmarshal(p.Value[0], &keys)
		if len(keys) != 3 {
			t.Errorf("$select=displayName,membershipType gave %s", p.Value[0])
		}
		if resp, b := e.get("/v1.0/directory/administrativeUnits?$top=1000"); resp.StatusCode != 400 {
			t.Errorf("$top=1000: %d %s", resp.StatusCode, b)
		}
		if resp, _ := e.get("/v1.0/directory/administrativeUnits?$select=id&$top=999"); resp.Header.Get("x-ms-resource-unit") != "1" {
			t.Errorf("listing cost %s RU, want 1", resp.Header.Get("x-ms-resource-unit"))
		}
	})
	t.Run("get", func(t *testing.T) {
		u := tr.AdministrativeUnits[1]
		resp, b := e.get("/v1.0/directory/administrativeUnits/" + strings.ToUpper(u.ID) + "?$select=displayName")
		var got struct {
			Context     string `json:"@odata.context"`
			ID          string `json:"id"`
			DisplayName string `json:"displayName"`
		}
		_ = json.Unmarshal(b, &got)
		if resp.StatusCode != 200 || got.ID != u.ID || got.DisplayName != u.DisplayName || !strings.HasSuffix(got.Context, "#directory/administrativeUnits(displayName)/$entity") {
			t.Errorf("%d %s", resp.StatusCode, b)
		}
		if resp, _ := e.get("/v1.0/directory/administrativeUnits/" + tr.Users[0].ID); resp.StatusCode != 404 {
			t.Errorf("a user's id as a unit: %d", resp.StatusCode)
		}
	})
	t.Run("members", func(t *testing.T) {
		for _, u := range tr.AdministrativeUnits {
			ps := e.walk("/v1.0/directory/administrativeUnits/"+u.ID+"/members?$select=id&$top=2", 2, nil)
			var got []string
			for _, it := range typedItems(t, ps.items) {
				if it.Type != types[it.ID] {
					t.Errorf("member %s typed %s, want %s", it.ID, it.Type, types[it.ID])
				}
				got = append(got, it.ID)
			}
			if !slices.Equal(got, tr.Members[u.ID]) {
				t.Errorf("unit %s: %d members listed, %d in truth", u.DisplayName, len(got), len(tr.Members[u.ID]))
			}
			if ps.pages < 2 && len(got) > 2 {
				t.Errorf("unit %s: %d members on %d page", u.DisplayName, len(got), ps.pages)
			}
		}
		_, b := e.get("/v1.0/directory/administrativeUnits?$top=999&$expand=members($select=id)")
		for _, raw := range decodePage(t, b).Value {
			var u struct {
				ID      string            `json:"id"`
				Members []json.RawMessage `json:"members"`
			}
			_ = json.Unmarshal(raw, &u)
			if want := tr.Members[u.ID]; len(u.Members) != min(20, len(want)) {
				t.Errorf("unit %s: %d expanded members, want %d", u.ID, len(u.Members), min(20, len(want)))
			}
		}
	})
	t.Run("memberOf lists units", func(t *testing.T) {
		n := 0
		for _, list := range [][]Object{tr.Users, tr.Groups, tr.Devices} {
			for _, o := range list {
				if len(unitOf[o.ID]) == 0 || n > 30 {
					continue
				}
				n++
				set := map[string]string{"#microsoft.graph.user": "users", "#microsoft.graph.group": "groups", "#microsoft.graph.device": "devices"}[o.Type]
				for _, rel := range []string{"memberOf", "transitiveMemberOf"} {
					if rel == "transitiveMemberOf" && set != "users" {
						continue
					}
					ps := e.walk("/v1.0/"+set+"/"+o.ID+"/"+rel+"?$top=999", 999, nil)
					var units []string
					for _, it := range typedItems(t, ps.items) {
						if it.Type == "#microsoft.graph.administrativeUnit" {
							units = append(units, it.ID)
						}
					}
					if !slices.Equal(sorted(units), sorted(unitOf[o.ID])) {
						t.Errorf("%s %s %s: units %v, want %v", set, o.ID, rel, units, unitOf[o.ID])
					}
				}
			}
		}
		if n == 0 {
			t.Fatal("no object is in a unit")
		}
	})
	t.Run("permissions", func(t *testing.T) {
		u := tr.AdministrativeUnits[0].ID
		for _, tc := range []struct {
			roles  []string
			status int
		}{
			{[]string{"User.Read.All", "GroupMember.Read.All", "Device.Read.All"}, 403},
			{[]string{"AdministrativeUnit.Read.All"}, 200},
			{[]string{"Directory.Read.All"}, 200},
		} {
			e := newEnv(t, Options{Roles: tc.roles})
			for _, path := range []string{"/v1.0/directory/administrativeUnits", "/v1.0/directory/administrativeUnits/" + u, "/v1.0/directory/administrativeUnits/" + u + "/members"} {
				resp, b := e.get(path)
				if resp.StatusCode != tc.status {
					t.Errorf("%v %s: %d, want %d", tc.roles, path, resp.StatusCode, tc.status)
				}
				if tc.status == 403 {
					if code, _ := graphError(t, b); code != "Authorization_RequestDenied" {
						t.Errorf("%v %s: code %s", tc.roles, path, code)
					}
				}
			}
		}
	})
}

func TestAdministrativeUnitsFollowMutations(t *testing.T) {
	e := newEnv(t, Options{})
	unitsOf := func(tr Truth, id string) []string {
		var out []string
		for _, u := range tr.AdministrativeUnits {
			if slices.Contains(tr.Members[u.ID], id) {
				out = append(out, u.ID)
			}
		}
		return out
	}
	tr := e.s.Truth()
	var user string
	for _, u := range tr.Users {
		if len(unitsOf(tr, u.ID)) > 0 {
			user = u.ID
			break
		}
	}
	if user == "" {
		t.Fatal("no user is in a unit")
	}
	before := unitsOf(tr, user)
	// Soft-delete users until ours goes, then restore them all.
	deleted := 0
	for !slices.Contains(e.s.Truth().SoftDeleted, user) {
		if deleted++; deleted > len(tr.Users) {
			t.Fatal("the user was never soft-deleted")
		}
		e.s.Mutate(Mutation{SoftDeleteUsers: 1})
	}
	if got := unitsOf(e.s.Truth(), user); len(got) != 0 {
		t.Fatalf("soft-deleted user still in units %v", got)
	}
	if resp, _ := e.get("/v1.0/directory/administrativeUnits/" + before[0] + "/members?$top=999"); resp.StatusCode != 200 {
		t.Fatalf("members: %d", resp.StatusCode)
	}
	for len(e.s.Truth().SoftDeleted) > 0 {
		e.s.Mutate(Mutation{RestoreUsers: 1})
	}
	if got := unitsOf(e.s.Truth(), user); !slices.Equal(got, before) {
		t.Errorf("restored user in units %v, was in %v", got, before)
	}
	// New users join the dynamic units of their country.
	res := e.s.Mutate(Mutation{AddUsers: 20})
	tr = e.s.Truth()
	joined := 0
	for _, id := range res.Users.Added {
		var u struct {
			Country *string `json:"country"`
		}
		for _, o := range tr.Users {
			if o.ID == id {
				_ = json.Unmarshal(o.JSON, &u)
			}
		}
		for _, au := range tr.AdministrativeUnits {
			var v struct{ MembershipRule *string }
			_ = json.Unmarshal(au.JSON, &v)
			want := u.Country != nil && v.MembershipRule != nil && strings.Contains(*v.MembershipRule, `"`+*u.Country+`"`)
			if got := slices.Contains(tr.Members[au.ID], id); got != want {
				t.Errorf("new user %s (country %v) in %s: %v, want %v", id, u.Country, au.DisplayName, got, want)
			}
			if want {
				joined++
			}
		}
	}
	if joined == 0 {
		t.Error("no new user joined a dynamic unit")
	}
}
