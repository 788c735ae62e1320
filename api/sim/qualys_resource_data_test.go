package sim

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"
)

// decodeAll decodes every record of typ as T.
func decodeAll[T any](t *testing.T, s *Server, typ string) []T {
	t.Helper()
	recs := s.Records(typ)
	out := make([]T, len(recs))
	for i, r := range recs {
		decodeStrict(t, r, &out[i])
	}
	return out
}

func TestCIEMDataRealistic(t *testing.T) {
	s := New(Options{Now: (&fakeClock{t: testNow}).Now})
	now := testNow

	groups := decodeAll[entraGroup](t, s, TypeEntraIDGroup)
	groupName := map[string]string{}
	kinds := map[string]int{}
	for _, g := range groups {
		groupName[g.ResourceID] = g.DisplayName
		switch {
		case g.MailEnabled:
			kinds["m365"]++
			if !strings.HasSuffix(g.Mail, ".com") {
				t.Errorf("m365 group mail %q", g.Mail)
			}
		case g.MembershipRule != "":
			kinds["dynamic"]++
		default:
			kinds["security"]++
		}
	}
	for _, g := range groups {
		for i, id := range g.GroupIDs {
			if groupName[id] != g.GroupNames[i] {
				t.Errorf("group %s nested in unknown group %s", g.DisplayName, id)
			}
		}
	}
	if len(kinds) != 3 {
		t.Errorf("group kinds %v", kinds)
	}

	users := decodeAll[entraUser](t, s, TypeEntraIDUser)
	userIDs := map[string]bool{}
	upns := map[string]bool{}
	count := map[string]int{}
	for _, u := range users {
		userIDs[u.ResourceID] = true
		if upns[u.UserPrincipalName] {
			t.Errorf("userPrincipalName %s repeated", u.UserPrincipalName)
		}
		upns[u.UserPrincipalName] = true
		count[u.UserType]++
		count["sync "+u.OnPremisesSyncEnabled]++
		if u.Mail != "" {
			count["mail"]++
		}
		if (u.UserType == "Guest") != strings.Contains(u.UserPrincipalName, "#EXT#@") {
			t.Errorf("user %s %s", u.UserType, u.UserPrincipalName)
		}
		for i, id := range u.GroupIDs {
			if groupName[id] != u.GroupNames[i] {
				t.Errorf("user %s in unknown group %s", u.DisplayName, id)
			}
		}
		checkDiscovery(t, "user", u.FirstDiscoveredOn, u.LastDiscoveredOn, u.NotDiscoveredInLast7Days)
	}
	for _, k := range []string{"Member", "Guest", "sync Yes", "sync No"} {
		if count[k] == 0 {
			t.Errorf("no user with %s (%v)", k, count)
		}
	}
	if count["mail"] < len(users)*3/4 {
		t.Errorf("%d of %d users have a mail", count["mail"], len(users))
	}

	// Credentials' end dates spread from expired to years ahead.
	var expired, soon, years int
	creds := func(keys []keyCredential, pws []passwordCredential) {
		var ends []string
		for _, k := range keys {
			ends = append(ends, k.EndDateTime)
			if k.StartDateTime >= k.EndDateTime {
				t.Errorf("certificate %s..%s", k.StartDateTime, k.EndDateTime)
			}
		}
		for _, p := range pws {
			ends = append(ends, p.EndDateTime)
			if p.CustomKeyIdentifier != nil || p.StartDateTime >= p.EndDateTime || p.KeyID == "" {
				t.Errorf("password %+v", p)
			}
		}
		for _, e := range ends {
			switch end := parseTime(t, fmtSecZ, e); {
			case end.Before(now):
				expired++
			case end.Before(now.AddDate(0, 1, 0)):
				soon++
			case end.After(now.AddDate(1, 0, 0)):
				years++
			}
		}
	}
	apps := decodeAll[entraApp](t, s, TypeEntraIDApplicationRegistration)
	appIDs := map[string]string{}
	for _, a := range apps {
		appIDs[a.AppID] = a.DisplayName
		creds(a.KeyCredential, a.PasswordCredential)
		if a.ServicePrincipalType != "Application" || a.AppOwnerOrganizationID != a.TenantID || a.AppDisplayName != a.DisplayName {
			t.Errorf("app registration %+v", a)
		}
	}
	sps := decodeAll[entraApp](t, s, TypeEntraIDServicePrincipal)
	spIDs := map[string]bool{}
	spTypes := map[string]int{}
	linked := 0
	for _, sp := range sps {
		spIDs[sp.ResourceID] = true
		spTypes[sp.ServicePrincipalType]++
		creds(sp.KeyCredential, sp.PasswordCredential)
		if name, ok := appIDs[sp.AppID]; ok {
			linked++
			if name != sp.DisplayName {
				t.Errorf("service principal %s of app %s", sp.DisplayName, name)
			}
		}
		if sp.ServicePrincipalType == "ManagedIdentity" && (len(sp.AlternativeName) != 2 || !strings.HasPrefix(sp.ServicePrincipalName[1], "https://identity.azure.net/")) {
			t.Errorf("managed identity SP %+v", sp)
		}
	}
	if expired == 0 || soon == 0 || years == 0 {
		t.Errorf("credential ends: %d expired, %d within a month, %d over a year ahead", expired, soon, years)
	}
	if spTypes["Application"] == 0 || spTypes["ManagedIdentity"] == 0 || linked == 0 {
		t.Errorf("service principal types %v, %d linked to app registrations", spTypes, linked)
	}

	mis := decodeAll[managedIdentity](t, s, TypeManagedIdentities)
	for _, m := range mis {
		if !strings.Contains(m.ResourceID, "/subscriptions/"+m.SubscriptionID+"/resourcegroups/"+m.ResourceGroupName+"/") ||
			!strings.HasSuffix(m.ResourceID, "/"+m.DisplayName) || m.Location == "" || m.SubscriptionName == "" {
			t.Errorf("managed identity %+v", m)
		}
		if !spIDs[m.PrincipalID] {
			t.Errorf("managed identity %s: principal %s is not a served service principal", m.DisplayName, m.PrincipalID)
		}
	}

	rds := decodeAll[roleDefinition](t, s, TypeRoleDefinitions)
	rdIDs := map[string]bool{}
	roleTypes := map[string]int{}
	for _, rd := range rds {
		if rdIDs[rd.ResourceID] {
			t.Errorf("role definition %s repeated", rd.ResourceID)
		}
		rdIDs[rd.ResourceID] = true
		roleTypes[rd.RoleType]++
		if rd.RoleName == "" || len(rd.Actions)+len(rd.DataActions) == 0 || len(rd.AssignableScopes) == 0 ||
			!strings.HasSuffix(rd.ResourceID, "/roleDefinitions/"+rd.DisplayName) || !strings.HasPrefix(rd.ResourceID, "/subscriptions/"+rd.SubscriptionID+"/") {
			t.Errorf("role definition %+v", rd)
		}
		if (rd.RoleType == "BuiltInRole") != (rd.CreatedBy == nil) {
			t.Errorf("role definition %s %s createdBy %v", rd.RoleName, rd.RoleType, rd.CreatedBy)
		}
	}
	if roleTypes["BuiltInRole"] == 0 || roleTypes["CustomRole"] == 0 {
		t.Errorf("role types %v", roleTypes)
	}

	ras := decodeAll[roleAssignment](t, s, TypeRoleAssignment)
	principals := map[string]int{}
	for _, ra := range ras {
		if !rdIDs[ra.RoleDefinitionID] {
			t.Errorf("role assignment %s: roleDefinitionId %s is not served", ra.DisplayName, ra.RoleDefinitionID)
		}
		principals[ra.PrincipalType]++
		known := map[string]bool{"User": userIDs[ra.PrincipalID], "Group": groupName[ra.PrincipalID] != "", "ServicePrincipal": spIDs[ra.PrincipalID]}
		if !known[ra.PrincipalType] {
			t.Errorf("role assignment %s: %s %s is not served", ra.DisplayName, ra.PrincipalType, ra.PrincipalID)
		}
		if ra.ResourceID != ra.Scope+"/providers/Microsoft.Authorization/roleAssignments/"+ra.DisplayName {
			t.Errorf("role assignment id %s scope %s", ra.ResourceID, ra.Scope)
		}
	}
	if len(principals) != 3 {
		t.Errorf("principal types %v", principals)
	}

	for _, d := range decodeAll[denyAssignment](t, s, TypeDenyAssignment) {
		if !d.IsSystemProtected || len(d.Principals) == 0 || len(d.Actions) == 0 || d.ResourceID != d.Scope+"/providers/Microsoft.Authorization/denyAssignments/"+d.DisplayName {
			t.Errorf("deny assignment %+v", d)
		}
	}
}

// checkDiscovery asserts first ≤ last seen and the 7-day flag.
func checkDiscovery(t *testing.T, what, first, last string, stale bool) {
	t.Helper()
	f := parseTime(t, fmtMilliPlus, first)
	l := parseTime(t, time.RFC3339Nano, last)
	if f.After(l) || l.After(testNow) || stale != l.Before(testNow.Truncate(day).Add(-7*day)) {
		t.Errorf("%s: first %s last %s notDiscoveredInLast7Days %v", what, f, l, stale)
	}
}

func TestCountsAndScale(t *testing.T) {
	tests := []struct {
		opt  Options
		typ  string
		want int
	}{
		{Options{}, TypePolicies, 60},
		{Options{}, TypeExceptions, 1500},
		{Options{}, TypeEntraIDUser, 250},
		{Options{Scale: ScaleSmall}, TypeEC2Instance, 120},
		{Options{Scale: ScaleSeed}, TypeEntraIDUser, 111207},
		{Options{Scale: ScaleSeed}, TypeRoleDefinitions, 7515},
		{Options{Scale: ScaleSeed}, TypeEntraIDServicePrincipal, 1379},
		{Options{Scale: ScaleSeed}, TypeRoleAssignment, 752},
		{Options{Scale: ScaleSeed}, TypeEntraIDApplicationRegistration, 447},
		{Options{Scale: ScaleSeed}, TypeManagedIdentities, 52},
		{Options{Scale: ScaleSeed}, TypeEntraIDGroup, 36},
		{Options{Scale: ScaleSeed}, TypeDenyAssignment, 9},
		{Options{Scale: ScaleSeed}, TypeEC2Instance, 640},
		{Options{Scale: ScaleSeed, Counts: map[string]int{TypeEntraIDUser: 10}}, TypeEntraIDUser, 10},
		{Options{Counts: map[string]int{TypeDenyAssignment: 0}}, TypeDenyAssignment, 0},
		{Options{Counts: map[string]int{TypeDenyAssignment: -5}}, TypeDenyAssignment, 0},
		{Options{Policies: 7, Counts: map[string]int{TypePolicies: 9}}, TypePolicies, 9},
		{Options{Exceptions: -1}, TypeExceptions, 0},
		{Options{Scale: "huge"}, TypeEntraIDUser, 250},
		{Options{}, "NOPE", 0},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%s/%v", tt.opt.Scale, tt.typ, tt.opt.Counts), func(t *testing.T) {
			if got := tt.opt.Count(tt.typ); got != tt.want {
				t.Errorf("Count = %d, want %d", got, tt.want)
			}
			if tt.typ == TypeEntraIDUser && tt.want > 1000 {
				return // generated in TestSeedScale
			}
			opt := tt.opt
			opt.Now = (&fakeClock{t: testNow}).Now
			if got := len(New(opt).Records(tt.typ)); got != tt.want {
				t.Errorf("Records: %d, want %d", got, tt.want)
			}
		})
	}
	if err := (Options{Scale: "huge"}).Validate(); err == nil || !strings.Contains(err.Error(), "huge") {
		t.Errorf("Validate: %v", err)
	}
	if err := (Options{Counts: map[string]int{"USERS": 1}}).Validate(); err == nil || !strings.Contains(err.Error(), "USERS") {
		t.Errorf("Validate: %v", err)
	}
	if err := (Options{Scale: ScaleSeed, Counts: map[string]int{TypeEC2Instance: 1, TypePolicies: 3}}).Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	if got := Types(); len(got) != 11 || got[0] != TypePolicies || got[2] != TypeEC2Instance {
		t.Errorf("Types %v", got)
	}
	if d := Defaults(Options{}); d.Scale != ScaleSmall || d.MarkerTTL != time.Hour {
		t.Errorf("Defaults %+v", d)
	}
}

// TestSeedScale builds the release notes' volumes and checks the totals the
// API reports. It takes about a second (several under -race).
func TestSeedScale(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("seed scale: skipped in -short mode and under the race detector (run go test ./api/sim/)")
	}
	start := time.Now()
	s, base, _ := newTestServer(t, Options{Scale: ScaleSeed, RateLimit: math.MaxInt})
	for _, typ := range Types() {
		s.q.storeOf(typ)
	}
	t.Logf("seed-scale generation: %s", time.Since(start))
	tok := login(t, base)
	want := map[string]int{
		TypeEntraIDUser: 111207, TypeRoleDefinitions: 7515, TypeEntraIDServicePrincipal: 1379, TypeRoleAssignment: 752,
		TypeEntraIDApplicationRegistration: 447, TypeManagedIdentities: 52, TypeEntraIDGroup: 36, TypeDenyAssignment: 9,
	}
	for typ, n := range want {
		p, _ := fetchPage(t, fmt.Sprintf("%s/cloudview-api/rest/v1/resource/%s/Azure?pageNo=0&pageSize=2", base, typ), tok)
		checkPage(t, p, 0, 2, 200, n)
		// The last page too (pageNo is 0-based).
		p, _ = fetchPage(t, fmt.Sprintf("%s/cloudview-api/rest/v1/resource/%s/Azure?pageNo=%d&pageSize=200", base, typ, (n-1)/200), tok)
		checkPage(t, p, (n-1)/200, 200, 200, n)
	}
	resp, body := get(t, base+ec2Path+"?pageSize=1", tok)
	var env markerEnvelope
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &env) != nil || env.TotalHits != 640 {
		t.Errorf("EC2: %d totalHits %d", resp.StatusCode, env.TotalHits)
	}
	if n := len(s.PolicyRecords()); n < 25 {
		t.Errorf("%d policies", n)
	}
	// Users: unique uuids and principal names at full scale.
	uuids, upns := map[string]bool{}, map[string]bool{}
	for _, r := range s.Records(TypeEntraIDUser) {
		var u struct{ UUID, UserPrincipalName string }
		_ = json.Unmarshal(r, &u)
		if uuids[u.UUID] || upns[u.UserPrincipalName] {
			t.Fatalf("repeated user %s %s", u.UUID, u.UserPrincipalName)
		}
		uuids[u.UUID], upns[u.UserPrincipalName] = true, true
	}
}

// BenchmarkSeedScaleGeneration measures generating every type at seed
// scale (about 111k Entra users and 8k role definitions dominate) and
// reports the heap the served records hold.
func BenchmarkSeedScaleGeneration(b *testing.B) {
	var heap float64
	for b.Loop() {
		runtime.GC()
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		s := New(Options{Scale: ScaleSeed, Now: (&fakeClock{t: testNow}).Now})
		for _, typ := range Types() {
			s.q.storeOf(typ)
		}
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&m1)
		heap = float64(m1.HeapAlloc) - float64(m0.HeapAlloc)
		runtime.KeepAlive(s)
		b.StartTimer()
	}
	b.ReportMetric(heap/1e6, "heap-MB")
}

// BenchmarkUsersPage measures one 200-user page at seed scale with an
// updated window (a scan of all 111k records).
func BenchmarkUsersPage(b *testing.B) {
	s := New(Options{Scale: ScaleSeed, RateLimit: math.MaxInt, Now: (&fakeClock{t: testNow}).Now})
	s.Records(TypeEntraIDUser)
	tok := s.q.issue("demo", testNow)
	for _, q := range []string{"", "&updated=%5Bnow-3w..now%5D"} {
		b.Run("query="+q, func(b *testing.B) {
			benchTarget(b, s, tok, "/cloudview-api/rest/v1/resource/ENTRA_ID_USER/Azure?pageNo=100&pageSize=200"+q)
		})
	}
}
