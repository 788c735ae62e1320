package graphsim

import (
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestPagingToTheEnd(t *testing.T) {
	e := newEnv(t, Options{})
	tr := e.s.Truth()
	collections := []struct {
		path string
		want []Object
	}{
		{"users", tr.Users},
		{"groups", tr.Groups},
		{"devices", tr.Devices},
		{"applications", tr.Applications},
		{"servicePrincipals", tr.ServicePrincipals},
		{"roleManagement/directory/roleDefinitions", tr.RoleDefinitions},
		{"directory/administrativeUnits", tr.AdministrativeUnits},
	}
	var short, empty, pages int
	for _, c := range collections {
		for _, top := range []int{0, 7, 999} {
			t.Run(c.path+"/top="+strconv.Itoa(top), func(t *testing.T) {
				path := "/v1.0/" + c.path
				size := defaultPageSize
				if top > 0 {
					path += "?$top=" + strconv.Itoa(top)
					size = top
				}
				ps := e.walk(path, size, nil)
				got := ids(t, ps.items)
				seen := map[string]bool{}
				for _, id := range got {
					if seen[id] {
						t.Fatalf("duplicate %s", id)
					}
					seen[id] = true
				}
				if want := objIDs(c.want); !slices.Equal(got, want) {
					t.Fatalf("got %d ids, want %d (same order)", len(got), len(want))
				}
				if !strings.HasSuffix(ps.last.Context, "/v1.0/$metadata#"+c.path) {
					t.Errorf("context %q", ps.last.Context)
				}
				if ps.last.NextLink != "" {
					t.Error("last page has a nextLink")
				}
				short += ps.short
				empty += ps.empty
				pages += ps.pages
			})
		}
	}
	t.Logf("%d pages: %d short, %d empty", pages, short, empty)
	if short == 0 || empty == 0 {
		t.Errorf("want some short (%d) and some empty (%d) pages", short, empty)
	}
}

func TestNextLinkKeepsOptions(t *testing.T) {
	e := newEnv(t, Options{})
	resp, b := e.get("/v1.0/users?$select=displayName&$top=5&$filter=userType%20eq%20'Member'")
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	p := decodePage(t, b)
	u, err := url.Parse(p.NextLink)
	if err != nil || !u.IsAbs() {
		t.Fatalf("nextLink %q", p.NextLink)
	}
	q := u.Query()
	if q.Get("$select") != "displayName" || q.Get("$top") != "5" || q.Get("$filter") != "userType eq 'Member'" || q.Get("$skiptoken") == "" {
		t.Errorf("nextLink query %v", q)
	}
	// The same link twice gives the same page (retries are safe).
	_, b1 := e.get(p.NextLink)
	_, b2 := e.get(p.NextLink)
	if string(b1) != string(b2) {
		t.Error("the same nextLink gave different pages")
	}
	// Only Members, with the filter kept across pages.
	ps := e.walk("/v1.0/users?$select=userType&$top=50&$filter=userType%20eq%20'Member'", 50, nil)
	for _, it := range ps.items {
		if !strings.Contains(string(it), `"userType":"Member"`) {
			t.Fatalf("filter lost: %s", it)
		}
	}
	members := 0
	for _, u := range e.s.Truth().Users {
		if strings.Contains(string(u.JSON), `"userType":"Member"`) {
			members++
		}
	}
	if len(ps.items) != members {
		t.Errorf("%d members listed, %d in the tenant", len(ps.items), members)
	}
}

func TestSelect(t *testing.T) {
	e := newEnv(t, Options{})
	keys := func(raw json.RawMessage) []string {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		var ks []string
		for k := range m {
			ks = append(ks, k)
		}
		slices.Sort(ks)
		return ks
	}
	tests := []struct {
		path string
		want []string
	}{
		// Users without $select: Graph's default set only.
		{"/v1.0/users?$top=1", []string{"businessPhones", "displayName", "givenName", "id", "jobTitle", "mail", "mobilePhone", "officeLocation", "preferredLanguage", "surname", "userPrincipalName"}},
		{"/v1.0/users?$top=1&$select=displayName,accountEnabled,userType,onPremisesSyncEnabled,department", []string{"accountEnabled", "department", "displayName", "id", "onPremisesSyncEnabled", "userType"}},
		{"/v1.0/users?$top=1&$select=ID,DisplayName", []string{"displayName", "id"}},
		{"/v1.0/devices?$top=1&$select=deviceId,trustType", []string{"deviceId", "id", "trustType"}},
		{"/v1.0/groups?$top=1&$select=securityIdentifier", []string{"id", "securityIdentifier"}},
		{"/v1.0/servicePrincipals?$top=1&$select=appRoles,keyCredentials", []string{"appRoles", "id", "keyCredentials"}},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			resp, b := e.get(tc.path)
			if resp.StatusCode != 200 {
				t.Fatalf("%d %s", resp.StatusCode, b)
			}
			p := decodePage(t, b)
			if got := keys(p.Value[0]); !slices.Equal(got, tc.want) {
				t.Errorf("properties %v, want %v", got, tc.want)
			}
		})
	}
	t.Run("context", func(t *testing.T) {
		_, b := e.get("/v1.0/users?$top=1&$select=displayName,mail")
		if p := decodePage(t, b); !strings.HasSuffix(p.Context, "#users(displayName,mail)") {
			t.Errorf("context %q", p.Context)
		}
	})
	t.Run("unknown property", func(t *testing.T) {
		resp, b := e.get("/v1.0/users?$select=displayName,shoeSize")
		code, msg := graphError(t, b)
		if resp.StatusCode != 400 || code != "BadRequest" || !strings.Contains(msg, "Could not find a property named 'shoeSize' on type 'microsoft.graph.user'") {
			t.Errorf("%d %s %s", resp.StatusCode, code, msg)
		}
	})
	t.Run("every property the transformation maps read", func(t *testing.T) {
		// Seed 003's users map and seed 002's devices map.
		for _, path := range []string{
			"/v1.0/users?$select=userPrincipalName,id,accountEnabled,displayName,mail,givenName,surname,mobilePhone,jobTitle,lastPasswordChangeDateTime,streetAddress,state,city,country,postalCode,department",
			"/v1.0/groups?$select=id,displayName,visibility,description,securityIdentifier,securityEnabled",
			"/v1.0/devices?$select=id,displayName,operatingSystem,operatingSystemVersion,isCompliant,isManaged,deviceId,trustType,approximateLastSignInDateTime",
			"/v1.0/roleManagement/directory/roleDefinitions?$select=id,displayName,description,resourceScopes,templateId",
			"/v1.0/users/" + e.s.Truth().Users[0].ID + "/memberOf?$select=id,displayName,description,visibility,uniqueName",
		} {
			if resp, b := e.get(path); resp.StatusCode != 200 {
				t.Errorf("%s: %d %.300s", path, resp.StatusCode, b)
			}
		}
	})
}

func TestTopBounds(t *testing.T) {
	e := newEnv(t, Options{})
	tests := []struct {
		top    string
		status int
		n      int
	}{
		{"1", 200, 1}, {"999", 200, 500}, {"0", 400, 0}, {"1000", 400, 0}, {"-1", 400, 0}, {"abc", 400, 0}, {"2.5", 400, 0},
	}
	for _, tc := range tests {
		t.Run(tc.top, func(t *testing.T) {
			resp, b := e.get("/v1.0/users?$top=" + tc.top)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, b)
			}
			if tc.status == 200 {
				if p := decodePage(t, b); len(p.Value) != tc.n {
					t.Errorf("%d items, want %d", len(p.Value), tc.n)
				}
				return
			}
			code, _ := graphError(t, b)
			if code != "Request_UnsupportedQuery" && code != "BadRequest" {
				t.Errorf("code %s", code)
			}
		})
	}
	t.Run("relations too", func(t *testing.T) {
		g := e.s.Truth().Groups[0].ID
		if resp, _ := e.get("/v1.0/groups/" + g + "/members?$top=1000"); resp.StatusCode != 400 {
			t.Errorf("status %d", resp.StatusCode)
		}
	})
}

func TestFilter(t *testing.T) {
	e := newEnv(t, Options{})
	tr := e.s.Truth()
	u := tr.Users[3]
	var uo struct {
		UPN  string `json:"userPrincipalName"`
		Name string `json:"displayName"`
	}
	_ = json.Unmarshal(u.JSON, &uo)
	count := func(path string) int {
		t.Helper()
		ps := e.walk(path, 0, nil)
		return len(ps.items)
	}
	guests := 0
	for _, x := range tr.Users {
		if strings.Contains(string(x.JSON), `"userType":"Guest"`) {
			guests++
		}
	}
	unified := 0
	for _, x := range tr.Groups {
		if strings.Contains(string(x.JSON), `"groupTypes":["Unified"`) {
			unified++
		}
	}
	q := url.QueryEscape
	tests := []struct {
		filter string
		path   string
		want   int
	}{
		{"id eq '" + u.ID + "'", "users", 1},
		{"userPrincipalName eq '" + strings.ToUpper(uo.UPN) + "'", "users", 1},
		{"userType eq 'Guest'", "users", guests},
		{"userType eq 'Guest' or userType eq 'Member'", "users", len(tr.Users)},
		{"userType eq 'Guest' and accountEnabled eq true", "users", -1},
		{"startswith(displayName,'" + uo.Name[:3] + "')", "users", -1},
		{"id in ('" + u.ID + "','" + tr.Users[4].ID + "')", "users", 2},
		{"groupTypes/any(c:c eq 'Unified')", "groups", unified},
		{"(userType eq 'Guest')", "users", guests},
	}
	for _, tc := range tests {
		t.Run(tc.filter, func(t *testing.T) {
			got := count("/v1.0/" + tc.path + "?$top=999&$filter=" + q(tc.filter))
			if tc.want >= 0 && got != tc.want {
				t.Errorf("%d matches, want %d", got, tc.want)
			}
			if got == 0 {
				t.Error("no match")
			}
		})
	}
	bad := []struct {
		filter, code string
	}{
		{"businessPhones eq '1'", "Request_UnsupportedQuery"},
		{"userType ne 'Guest'", "Request_UnsupportedQuery"},
		{"shoeSize eq 1", "BadRequest"},
		{"userType eq", "BadRequest"},
		{"userType eq 'Guest", "BadRequest"},
		{"not(userType eq 'Guest')", "Request_UnsupportedQuery"},
	}
	for _, tc := range bad {
		t.Run("bad "+tc.filter, func(t *testing.T) {
			resp, b := e.get("/v1.0/users?$filter=" + q(tc.filter))
			if code, _ := graphError(t, b); resp.StatusCode != 400 || code != tc.code {
				t.Errorf("%d %s, want 400 %s", resp.StatusCode, code, tc.code)
			}
		})
	}
}

func TestRequestErrors(t *testing.T) {
	e := newEnv(t, Options{})
	tests := []struct {
		method, path string
		hdr          map[string]string
		status       int
		code         string
	}{
		{"GET", "/v1.0/users/00000000-0000-0000-0000-000000000000", nil, 404, "Request_ResourceNotFound"},
		{"GET", "/v1.0/groups/00000000-0000-0000-0000-000000000000/members", nil, 404, "Request_ResourceNotFound"},
		{"GET", "/v1.0/frobnicate", nil, 400, "BadRequest"},
		{"GET", "/v1.0/users/x/frobnicate", nil, 400, "BadRequest"},
		{"GET", "/beta/users", nil, 400, "BadRequest"},
		{"DELETE", "/v1.0/users", nil, 405, "Request_BadRequest"},
		{"GET", "/v1.0/users?$orderby=displayName", nil, 400, "Request_UnsupportedQuery"},
		{"GET", "/v1.0/users?$skip=5", nil, 400, "Request_BadRequest"},
		{"GET", "/v1.0/users?$count=true", nil, 400, "Request_BadRequest"},
		{"GET", "/v1.0/users?$search=%22displayName:a%22", nil, 400, "Request_BadRequest"},
		{"GET", "/v1.0/users?$foo=1", nil, 400, "BadRequest"},
		{"GET", "/v1.0/users?$skiptoken=garbage", nil, 400, "Directory_ExpiredPageToken"},
		{"GET", "/v1.0/users?$deltatoken=latest", nil, 400, "Request_BadRequest"},
		{"GET", "/v1.0/users?$expand=manager", nil, 400, "BadRequest"},
		{"GET", "/v1.0/users?$expand=memberOf,appRoleAssignments", nil, 400, "Request_UnsupportedQuery"},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			resp, b := e.do(tc.method, tc.path, nil, tc.hdr)
			code, _ := graphError(t, b)
			if resp.StatusCode != tc.status || code != tc.code {
				t.Errorf("%d %s, want %d %s: %s", resp.StatusCode, code, tc.status, tc.code, b)
			}
			if resp.Header.Get("request-id") == "" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
				t.Errorf("headers %v", resp.Header)
			}
		})
	}
	t.Run("skiptoken of another collection", func(t *testing.T) {
		_, b := e.get("/v1.0/users?$top=2")
		tok := mustQuery(t, decodePage(t, b).NextLink).Get("$skiptoken")
		resp, b := e.get("/v1.0/devices?$skiptoken=" + tok)
		if code, _ := graphError(t, b); resp.StatusCode != 400 || code != "Directory_ExpiredPageToken" {
			t.Errorf("%d %s", resp.StatusCode, code)
		}
	})
}

func mustQuery(t *testing.T, link string) url.Values {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query()
}

func TestSingleCountExpand(t *testing.T) {
	e := newEnv(t, Options{})
	tr := e.s.Truth()
	var u0 struct {
		UPN string `json:"userPrincipalName"`
	}
	_ = json.Unmarshal(tr.Users[0].JSON, &u0)
	t.Run("by id and by userPrincipalName", func(t *testing.T) {
		for _, key := range []string{tr.Users[0].ID, strings.ToUpper(tr.Users[0].ID), url.PathEscape(u0.UPN)} {
			resp, b := e.get("/v1.0/users/" + key + "?$select=accountEnabled")
			if resp.StatusCode != 200 {
				t.Fatalf("%s: %d %s", key, resp.StatusCode, b)
			}
			var m map[string]any
			_ = json.Unmarshal(b, &m)
			if m["id"] != tr.Users[0].ID || m["@odata.context"] == nil || m["accountEnabled"] == nil {
				t.Errorf("%s", b)
			}
		}
	})
	t.Run("count", func(t *testing.T) {
		resp, b := e.do("GET", "/v1.0/users?$count=true&$top=3", nil, map[string]string{"ConsistencyLevel": "eventual"})
		p := decodePage(t, b)
		if resp.StatusCode != 200 || p.Count == nil || *p.Count != len(tr.Users) {
			t.Errorf("%d %s", resp.StatusCode, b)
		}
	})
	t.Run("expand members", func(t *testing.T) {
		_, b := e.get("/v1.0/groups?$top=999&$expand=members($select=id)")
		p := decodePage(t, b)
		for i, raw := range p.Value {
			var g struct {
				ID      string            `json:"id"`
				Members []json.RawMessage `json:"members"`
			}
			_ = json.Unmarshal(raw, &g)
			want := tr.Members[g.ID]
			if len(g.Members) != min(20, len(want)) {
				t.Fatalf("group %d: %d expanded members, want %d", i, len(g.Members), min(20, len(want)))
			}
			if got := ids(t, g.Members); !slices.Equal(got, want[:len(got)]) {
				t.Fatalf("expanded members differ")
			}
		}
		if resp, _ := e.get("/v1.0/groups?$top=50&$expand=members"); resp.Header.Get("x-ms-resource-unit") != "2" {
			t.Errorf("$expand cost %s, want 2 (1 +1 for $expand)", resp.Header.Get("x-ms-resource-unit"))
		}
	})
	t.Run("trailing slash and case", func(t *testing.T) {
		for _, p := range []string{"/v1.0/servicePrincipals/", "/v1.0/SERVICEPRINCIPALS", "/v1.0/groups/" + tr.Groups[0].ID + "/memberof"} {
			if resp, b := e.get(p); resp.StatusCode != 200 {
				t.Errorf("%s: %d %.200s", p, resp.StatusCode, b)
			}
		}
	})
	t.Run("directoryRoles and organization are not paged", func(t *testing.T) {
		for path, want := range map[string]int{"/v1.0/directoryRoles": len(tr.DirectoryRoles), "/v1.0/organization": 1} {
			_, b := e.get(path)
			p := decodePage(t, b)
			if len(p.Value) != want || p.NextLink != "" {
				t.Errorf("%s: %d items, nextLink %q", path, len(p.Value), p.NextLink)
			}
		}
		_, b := e.get("/v1.0/organization")
		var org struct {
			Value []struct {
				ID              string `json:"id"`
				TenantType      string `json:"tenantType"`
				VerifiedDomains []struct {
					Name      string `json:"name"`
					IsDefault bool   `json:"isDefault"`
				} `json:"verifiedDomains"`
			} `json:"value"`
		}
		_ = json.Unmarshal(b, &org)
		if o := org.Value[0]; o.ID != tr.TenantID || o.TenantType != "AAD" || len(o.VerifiedDomains) != 2 {
			t.Errorf("organization %s", b)
		}
	})
}
