package graphsim

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

func heapMB() float64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return float64(m.HeapAlloc) / (1 << 20)
}

func TestSeedScale(t *testing.T) {
	if testing.Short() {
		t.Skip("seed scale takes a few seconds")
	}
	h0 := heapMB()
	start := time.Now()
	s := New(Options{Scale: ScaleSeed, Now: func() time.Time { return testNow }})
	gen := time.Since(start)
	h1 := heapMB()
	tr := s.Truth()
	t.Logf("generated in %v, heap %+.0f MB", gen.Round(time.Millisecond), h1-h0)
	if len(tr.Users) != 111207 || len(tr.Groups) != 800 || len(tr.Devices) != 40000 || len(tr.Applications) != 447 || len(tr.ServicePrincipals) != 1379 {
		t.Fatalf("counts: %d users, %d groups, %d devices, %d apps, %d SPs", len(tr.Users), len(tr.Groups), len(tr.Devices), len(tr.Applications), len(tr.ServicePrincipals))
	}
	if len(tr.RoleDefinitions) < 100 || len(tr.DirectoryRoles) < 25 {
		t.Errorf("%d role definitions, %d directory roles", len(tr.RoleDefinitions), len(tr.DirectoryRoles))
	}
	for _, r := range tr.DirectoryRoles {
		if len(tr.Members[r.ID]) == 0 {
			t.Errorf("role %s has no members", r.DisplayName)
		}
	}
	if len(tr.AdministrativeUnits) != 40 {
		t.Errorf("%d administrative units, want 40", len(tr.AdministrativeUnits))
	}
	for _, u := range tr.AdministrativeUnits {
		if len(tr.Members[u.ID]) == 0 {
			t.Errorf("administrative unit %s has no members", u.DisplayName)
		}
	}
	groupIDs := map[string]bool{}
	var big []string
	edges := 0
	for _, g := range tr.Groups {
		groupIDs[g.ID] = true
		edges += len(tr.Members[g.ID])
		if len(tr.Members[g.ID]) >= 10000 {
			big = append(big, g.DisplayName)
		}
	}
	if len(big) < 3 {
		t.Errorf("groups with 10k+ members: %v", big)
	}
	memberOf := tr.MemberOf()
	inRange := 0
	for _, u := range tr.Users {
		n := 0
		for _, g := range memberOf[u.ID] {
			if groupIDs[g] {
				n++
			}
		}
		if n >= 3 && n <= 16 { // 3–15 drawn, plus All Employees
			inRange++
		}
	}
	if frac := float64(inRange) / float64(len(tr.Users)); frac < 0.8 {
		t.Errorf("%.0f%% of users are in 3–15 groups", frac*100)
	}
	resources := map[string]bool{}
	for _, a := range tr.AppRoleAssignments {
		resources[a.ResourceID] = true
	}
	if len(tr.AppRoleAssignments) < 10000 || len(resources) < 100 {
		t.Errorf("%d assignments to %d service principals", len(tr.AppRoleAssignments), len(resources))
	}
	unitLinks := 0
	for _, u := range tr.AdministrativeUnits {
		unitLinks += len(tr.Members[u.ID])
	}
	t.Logf("%d memberships, %d groups ≥10k members, %d app role assignments on %d SPs, %d directory roles, %d administrative units with %d members",
		edges, len(big), len(tr.AppRoleAssignments), len(resources), len(tr.DirectoryRoles), len(tr.AdministrativeUnits), unitLinks)

	// Page through every user the cheap way, under Microsoft's budget.
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	e := &env{t: t, s: s, base: ts.URL, login: ts.URL + LoginPath, graph: ts.URL + GraphPath}
	start = time.Now()
	ps := e.walk("/v1.0/users?$top=999&$select=id,displayName,accountEnabled,userPrincipalName", 999, nil)
	if len(ps.items) != len(tr.Users) {
		t.Errorf("listed %d users", len(ps.items))
	}
	st := s.Stats()
	t.Logf("listed %d users in %d pages, %d RU, %v", len(ps.items), ps.pages, st.TotalRU, time.Since(start).Round(time.Millisecond))
	plan := CheapestPlan(tr)
	t.Logf("cheapest full sync:\n%s", plan)
	if plan.RU < 2000 || plan.RU > 8000 {
		t.Errorf("cheapest plan %d RU", plan.RU)
	}
}

// TestCheapestSync runs the cheapest plan against the simulator, checks
// that it rebuilds the truth, and compares its cost with CheapestPlan and
// with per-user calls.
func TestCheapestSync(t *testing.T) {
	e := newEnv(t, Options{})
	tr := e.s.Truth()
	list := func(path string) []json.RawMessage { return e.walk(path, 0, nil).items }

	users := ids(t, list("/v1.0/users?$select=id,displayName,userPrincipalName,accountEnabled,mail,department&$top=999"))
	c := newDeltaClient(e, nil)
	c.round(t, "/v1.0/groups/delta?$select=displayName,description,visibility,securityEnabled,securityIdentifier,members")
	devices := ids(t, list("/v1.0/devices?$select=id,displayName,operatingSystem,deviceId,trustType&$top=999"))
	apps := ids(t, list("/v1.0/applications?$select=id,appId,displayName,passwordCredentials,keyCredentials&$top=999"))
	sps := ids(t, list("/v1.0/servicePrincipals?$select=id,appId,displayName,appRoles&$top=999"))
	var asg []string
	for _, sp := range sps {
		asg = append(asg, ids(t, list("/v1.0/servicePrincipals/"+sp+"/appRoleAssignedTo?$select=id,principalId,appRoleId&$top=999"))...)
	}
	defs := ids(t, list("/v1.0/roleManagement/directory/roleDefinitions?$select=id,displayName,templateId&$top=999"))
	roles := ids(t, list("/v1.0/directoryRoles?$select=id,displayName,roleTemplateId"))
	roleMembers := map[string][]string{}
	for _, r := range roles {
		roleMembers[r] = ids(t, list("/v1.0/directoryRoles/"+r+"/members?$select=id&$top=999"))
	}
	units := ids(t, list("/v1.0/directory/administrativeUnits?$select=id,displayName,description,visibility,membershipType&$top=999"))
	unitMembers := map[string][]string{}
	for _, u := range units {
		unitMembers[u] = ids(t, list("/v1.0/directory/administrativeUnits/"+u+"/members?$select=id&$top=999"))
	}
	org := list("/v1.0/organization")

	eq := func(what string, got, want []string) {
		if !slices.Equal(sorted(got), sorted(want)) {
			t.Errorf("%s: %d synced, %d in truth", what, len(got), len(want))
		}
	}
	eq("users", users, objIDs(tr.Users))
	eq("groups", c.ids(), objIDs(tr.Groups))
	c.checkMembers(t, tr)
	eq("devices", devices, objIDs(tr.Devices))
	eq("applications", apps, objIDs(tr.Applications))
	eq("service principals", sps, objIDs(tr.ServicePrincipals))
	var want []string
	for _, a := range tr.AppRoleAssignments {
		want = append(want, a.ID)
	}
	eq("app role assignments", asg, want)
	eq("role definitions", defs, objIDs(tr.RoleDefinitions))
	eq("directory roles", roles, objIDs(tr.DirectoryRoles))
	for _, r := range roles {
		eq("role members", roleMembers[r], tr.Members[r])
	}
	eq("administrative units", units, objIDs(tr.AdministrativeUnits))
	for _, u := range units {
		eq("unit members", unitMembers[u], tr.Members[u])
	}
	if len(org) != 1 {
		t.Errorf("%d organizations", len(org))
	}

	st := e.s.Stats()
	plan := CheapestPlan(tr)
	t.Logf("cheapest sync: %d RU in %d requests; CheapestPlan %d RU in %d calls (short and empty pages cost the difference)", st.TotalRU, requests(st), plan.RU, plan.Calls)
	if st.TotalRU < plan.RU || float64(st.TotalRU) > float64(plan.RU)*1.3 {
		t.Errorf("sync cost %d RU, plan %d", st.TotalRU, plan.RU)
	}
	// What Qualys's documented per-object calls cost on the same tenant.
	perUser := len(tr.Users)*(Cost("GET", "/v1.0/users/x/memberOf")+Cost("GET", "/v1.0/users/x/appRoleAssignments")) +
		len(tr.Groups)*(Cost("GET", "/v1.0/groups/x/memberOf")+Cost("GET", "/v1.0/groups/x/appRoleAssignments"))
	t.Logf("per-user and per-group memberOf/appRoleAssignments calls alone: %d RU (%.0f× the whole cheapest sync)", perUser, float64(perUser)/float64(plan.RU))
}

func requests(st Stats) int {
	n := 0
	for p, c := range st.Requests {
		if strings.HasPrefix(p, "GET ") {
			n += c
		}
	}
	return n
}

func BenchmarkGenerate(b *testing.B) {
	for _, scale := range []string{ScaleSmall, ScaleSeed} {
		b.Run(scale, func(b *testing.B) {
			if scale == ScaleSeed && testing.Short() {
				b.Skip("seed scale")
			}
			now := func() time.Time { return testNow }
			h0 := heapMB()
			var s *Server
			b.ReportAllocs()
			for b.Loop() {
				s = New(Options{Scale: scale, Now: now})
			}
			b.StopTimer()
			b.ReportMetric(heapMB()-h0, "heap-MB")
			runtime.KeepAlive(s)
		})
	}
}

type discardWriter struct {
	h    http.Header
	code int
	n    int
}

func (w *discardWriter) Header() http.Header  { return w.h }
func (w *discardWriter) WriteHeader(code int) { w.code = code }
func (w *discardWriter) Write(p []byte) (int, error) {
	w.n += len(p)
	return len(p), nil
}

// benchServe measures answering one request through the handler (no
// network): authentication, routing, RU accounting, the page.
func benchServe(b *testing.B, o Options, path string, hdr map[string]string) {
	o.Now = func() time.Time { return testNow }
	o.Budget = -1
	s := New(o)
	tok := s.issue(testNow, time.Hour)
	req := httptest.NewRequest(http.MethodGet, GraphPath+path, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	h := s.Handler()
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		w.n = 0
		h.ServeHTTP(w, req)
	}
	b.StopTimer()
	if w.code != http.StatusOK {
		b.Fatalf("status %d", w.code)
	}
	b.SetBytes(int64(w.n))
	b.ReportMetric(float64(w.n), "body-bytes/op")
}

func BenchmarkUsersPage999(b *testing.B) {
	benchServe(b, Options{Users: 5000}, "/v1.0/users?$top=999&$select=id,displayName,userPrincipalName,accountEnabled,mail,department", nil)
}

func BenchmarkUsersPage999AllProperties(b *testing.B) {
	benchServe(b, Options{Users: 5000}, "/v1.0/users?$top=999&$select=*", nil)
}

func BenchmarkGroupsDeltaFirstPage(b *testing.B) {
	benchServe(b, Options{Users: 5000, Groups: 100}, "/v1.0/groups/delta?$select=displayName,members", nil)
}

func BenchmarkUserMemberOf(b *testing.B) {
	o := Options{Users: 2000, Groups: 100, Now: func() time.Time { return testNow }}
	id := New(o).Truth().Users[5].ID
	benchServe(b, o, "/v1.0/users/"+id+"/memberOf", nil)
}
