package graphsim

import (
	"strconv"
	"testing"
	"time"
)

func TestCost(t *testing.T) {
	tests := []struct {
		method, path string
		want         int
	}{
		{"GET", "/v1.0/users", 2},
		{"GET", "/v1.0/users?$select=id", 1},
		{"GET", "/v1.0/users?$top=999", 2},
		{"GET", "/v1.0/users?$top=5", 1},
		{"GET", "/v1.0/users?top=5&select=id", 1},
		{"GET", "/v1.0/users/abc", 1},
		{"GET", "/v1.0/users/abc/memberOf", 2},
		{"GET", "/v1.0/users/8d2e6f4a-1c3b-4a5d-b7e9-0f6a2c4d8e1b/memberof?$select=id", 1},
		{"GET", "/v1.0/users/abc/appRoleAssignments", 1},
		{"GET", "/v1.0/groups/abc/members", 3},
		{"GET", "/v1.0/groups/abc/members?$select=id", 2},
		{"GET", "/v1.0/groups/abc/transitiveMembers", 5},
		{"GET", "/v1.0/groups", 1},
		{"GET", "/v1.0/groups?$expand=members", 2},
		{"GET", "/v1.0/groups/delta?$select=members", 1},
		{"GET", "/v1.0/users/delta", 1},
		{"GET", "/v1.0/applications", 2},
		{"GET", "/v1.0/applications?$select=id", 1},
		{"GET", "/v1.0/servicePrincipals/abc/appRoleAssignments", 2},
		{"GET", "/v1.0/servicePrincipals/abc/appRoleAssignedTo", 1},
		{"GET", "/v1.0/me/memberOf", 2},
		{"POST", "/v1.0/users/abc/getMemberGroups", 2},
	}
	for _, tc := range tests {
		if got := Cost(tc.method, tc.path); got != tc.want {
			t.Errorf("Cost(%s %s) = %d, want %d", tc.method, tc.path, got, tc.want)
		}
	}
}

func TestResourceUnitsPerEndpoint(t *testing.T) {
	e := newEnv(t, Options{})
	tr := e.s.Truth()
	u, g, sp := tr.Users[0].ID, tr.Groups[0].ID, tr.ServicePrincipals[0].ID
	calls := []struct {
		path, pattern string
		ru            int
	}{
		{"/v1.0/users", "GET /v1.0/users", 2},
		{"/v1.0/users?$select=id", "GET /v1.0/users", 1},
		{"/v1.0/users/" + u + "/memberOf", "GET /v1.0/users/{id}/memberOf", 2},
		{"/v1.0/groups/" + g + "/members", "GET /v1.0/groups/{id}/members", 3},
		{"/v1.0/groups/" + g + "/transitiveMembers", "GET /v1.0/groups/{id}/transitiveMembers", 5},
		{"/v1.0/servicePrincipals/" + sp + "/appRoleAssignments", "GET /v1.0/servicePrincipals/{id}/appRoleAssignments", 2},
		{"/v1.0/applications", "GET /v1.0/applications", 2},
		{"/v1.0/devices", "GET /v1.0/devices", 1},
		{"/v1.0/groups?$expand=members", "GET /v1.0/groups", 2},
	}
	want := map[string]int{}
	total := 0
	for _, c := range calls {
		resp, b := e.get(c.path)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", c.path, resp.StatusCode, b)
		}
		if got := resp.Header.Get("x-ms-resource-unit"); got != strconv.Itoa(c.ru) {
			t.Errorf("%s: x-ms-resource-unit %s, want %d", c.path, got, c.ru)
		}
		if resp.Header.Get("x-ms-throttle-limit-percentage") != "" {
			t.Errorf("%s: throttle percentage below 0.8 of the budget", c.path)
		}
		want[c.pattern] += c.ru
		total += c.ru
	}
	st := e.s.Stats()
	for p, ru := range want {
		if st.RU[p] != ru {
			t.Errorf("Stats.RU[%s] = %d, want %d", p, st.RU[p], ru)
		}
	}
	if st.TotalRU != total || st.Requests["GET /v1.0/users"] != 2 || st.Status[200] != len(calls)+1 { // and the token request
		t.Errorf("stats %+v", st)
	}
}

func TestWhichAnswersAreCharged(t *testing.T) {
	e := newEnv(t, Options{Roles: []string{"User.Read.All"}, Users: 10})
	tests := []struct {
		path, auth string
		status     int
		ru         string
	}{
		{"/v1.0/users", "", 200, "2"},
		{"/v1.0/users/00000000-0000-0000-0000-000000000000", "", 404, "1"},
		{"/v1.0/users?$top=0", "", 400, "1"},
		{"/v1.0/devices", "", 403, "1"},
		{"/v1.0/nothing", "", 400, "1"},
		{"/v1.0/users", "Bearer x.y.z", 401, ""},
	}
	for _, tc := range tests {
		var hdr map[string]string
		if tc.auth != "" {
			hdr = map[string]string{"Authorization": tc.auth}
		}
		resp, b := e.do("GET", tc.path, nil, hdr)
		if resp.StatusCode != tc.status || resp.Header.Get("x-ms-resource-unit") != tc.ru {
			t.Errorf("%s: %d x-ms-resource-unit %q, want %d %q: %s", tc.path, resp.StatusCode, resp.Header.Get("x-ms-resource-unit"), tc.status, tc.ru, b)
		}
	}
}

func TestBudgetAndRetryAfter(t *testing.T) {
	e := newEnv(t, Options{Budget: 100})
	// 40 requests of 2 RU at one second intervals fill 80 RU: from there
	// the percentage header appears.
	var pct string
	for i := 0; i < 49; i++ {
		resp, b := e.get("/v1.0/users?$top=50")
		if resp.StatusCode != 200 {
			t.Fatalf("request %d: %d %s", i, resp.StatusCode, b)
		}
		pct = resp.Header.Get("x-ms-throttle-limit-percentage")
		if i < 39 && pct != "" {
			t.Fatalf("request %d: percentage %q before 0.8 of the budget", i, pct)
		}
		e.clk.Advance(100 * time.Millisecond)
	}
	if pct != "0.98" {
		t.Errorf("percentage %q at 98 of 100 RU", pct)
	}
	// 98 RU used over the last 4.9 s: one more of 2 RU fits, the next does not.
	if resp, _ := e.get("/v1.0/users?$top=50"); resp.StatusCode != 200 {
		t.Fatalf("100th RU refused: %d", resp.StatusCode)
	}
	resp, b := e.get("/v1.0/users?$top=50")
	if resp.StatusCode != 429 {
		t.Fatalf("over budget: %d", resp.StatusCode)
	}
	code, _ := graphError(t, b)
	// The first request (t=0) leaves the window at t=10 s; it is now 4.9 s.
	if code != "TooManyRequests" || resp.Header.Get("Retry-After") != "6" || resp.Header.Get("x-ms-resource-unit") != "" ||
		resp.Header.Get("x-ms-throttle-scope") != "Tenant_Application/ReadWrite/"+DefaultClientID+"/"+DefaultTenantID {
		t.Errorf("429: %s, headers %v", code, resp.Header)
	}
	// A cheaper request does not fit either; waiting as told does.
	e.clk.Advance(5*time.Second + 100*time.Millisecond)
	if resp, b := e.get("/v1.0/users?$top=50"); resp.StatusCode != 200 {
		t.Errorf("after Retry-After: %d %s", resp.StatusCode, b)
	}
	st := e.s.Stats()
	if st.Throttled429 != 1 || st.Throttled429ByPattern["GET /v1.0/users"] != 1 || st.RU["GET /v1.0/users"] != 102 {
		t.Errorf("stats: throttled %d %v, RU %v", st.Throttled429, st.Throttled429ByPattern, st.RU)
	}
}

func TestDefaultBudget(t *testing.T) {
	tests := []struct {
		users, budget, want int
	}{
		{20, 0, 3500}, {49, 0, 3500}, {50, 0, 5000}, {500, 0, 5000}, {501, 0, 8000}, {0, 0, 5000}, {-1, 0, 3500},
		{20, 7, 7}, {20, -1, -1},
	}
	for _, tc := range tests {
		if got := Defaults(Options{Users: tc.users, Budget: tc.budget}).Budget; got != tc.want {
			t.Errorf("users %d budget %d: %d, want %d", tc.users, tc.budget, got, tc.want)
		}
	}
	if got := Defaults(Options{Scale: ScaleSeed}).Budget; got != 8000 {
		t.Errorf("seed scale budget %d", got)
	}
	// Throttling off.
	e := newEnv(t, Options{Budget: -1, Users: 10})
	for i := 0; i < 50; i++ {
		if resp, _ := e.get("/v1.0/users"); resp.StatusCode != 200 {
			t.Fatalf("throttled with Budget -1: %d", resp.StatusCode)
		}
	}
}
