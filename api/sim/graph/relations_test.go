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
	for _, list := range [][]Object{tr.Users, tr.Groups, tr.Devices, tr.ServicePrincipals, tr.DirectoryRoles} {
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
		sawRole := false
		for i, u := range tr.Users {
			if i%7 != 0 && len(memberOf[u.ID]) < 2 {
				continue
			}
			check(t, "/v1.0/users/"+u.ID+"/memberOf", memberOf[u.ID], true)
			check(t, "/v1.0/users/"+u.ID+"/appRoleAssignments", byPrincipal[u.ID], false)
			for _, g := range memberOf[u.ID] {
				if types[g] == "#microsoft.graph.directoryRole" {
					sawRole = true
				}
			}
		}
		if !sawRole {
			t.Error("no user is in a directory role")
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
