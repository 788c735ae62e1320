package sync_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	graphsim "qtc/api/sim/graph"
	"qtc/store"
	qsync "qtc/sync"
	"qtc/sync/export"
	"qtc/sync/relations"
)

// relatedIDs returns the ids of what rel lists for id (assignments: the
// assignment ids), sorted.
func (f *entraFixture) relatedIDs(typ, id, rel string) []string {
	f.t.Helper()
	groups, err := relations.Get(context.Background(), f.eng.Store, "e", typ, id)
	if err != nil {
		f.t.Fatal(err)
	}
	var out []string
	for _, g := range groups {
		if g.Rel == rel {
			for _, it := range g.Items {
				out = append(out, it.ID)
			}
		}
	}
	slices.Sort(out)
	return out
}

// diff says what got lacks and what it has too many of.
func diff(got, want []string) string {
	missing, extra := []string{}, []string{}
	for _, w := range want {
		if !slices.Contains(got, w) {
			missing = append(missing, w)
		}
	}
	for _, g := range got {
		if !slices.Contains(want, g) {
			extra = append(extra, g)
		}
	}
	return fmt.Sprintf("%d, want %d: missing %v, extra %v", len(got), len(want), missing, extra)
}

// assertRelations compares every stored relation with the simulator's
// truth: members of groups, directory roles and administrative units, each
// user's and group's memberOf, and app role assignments from both sides.
func (f *entraFixture) assertRelations() {
	f.t.Helper()
	truth := f.sim.Truth()
	sorted := func(s []string) []string { s = slices.Clone(s); slices.Sort(s); return s }
	memberOf := truth.MemberOf()
	for _, g := range truth.Groups {
		if got, want := f.relatedIDs("groups", g.ID, relations.Members), sorted(truth.Members[g.ID]); !slices.Equal(got, want) {
			f.t.Fatalf("group %s (%s) members: %s", g.ID, g.DisplayName, diff(got, want))
		}
	}
	for _, r := range truth.DirectoryRoles {
		if got, want := f.relatedIDs("directoryRoles", r.ID, relations.Members), sorted(truth.Members[r.ID]); !slices.Equal(got, want) {
			f.t.Fatalf("directory role %s members: %s", r.DisplayName, diff(got, want))
		}
	}
	if len(truth.AdministrativeUnits) == 0 {
		f.t.Fatal("the simulator's tenant has no administrative units")
	}
	for _, u := range truth.AdministrativeUnits {
		if got, want := f.relatedIDs("administrativeUnits", u.ID, relations.Members), sorted(truth.Members[u.ID]); !slices.Equal(got, want) {
			f.t.Fatalf("administrative unit %s members: %s", u.DisplayName, diff(got, want))
		}
	}
	asgOf, asgTo := map[string][]string{}, map[string][]string{}
	for _, a := range truth.AppRoleAssignments {
		asgOf[a.PrincipalID] = append(asgOf[a.PrincipalID], a.ID)
		asgTo[a.ResourceID] = append(asgTo[a.ResourceID], a.ID)
	}
	for _, list := range [][]graphsim.Object{truth.Users, truth.Groups} {
		typ := "users"
		if len(list) > 0 && list[0].Type == "#microsoft.graph.group" {
			typ = "groups"
		}
		for _, o := range list {
			if got, want := f.relatedIDs(typ, o.ID, relations.MemberOf), sorted(memberOf[o.ID]); !slices.Equal(got, want) {
				f.t.Fatalf("%s %s (%s) memberOf: %s", typ, o.ID, o.DisplayName, diff(got, want))
			}
			if got, want := f.relatedIDs(typ, o.ID, relations.AppRoleAssignments), sorted(asgOf[o.ID]); !slices.Equal(got, want) {
				f.t.Fatalf("%s %s appRoleAssignments: %s", typ, o.DisplayName, diff(got, want))
			}
		}
	}
	for _, sp := range truth.ServicePrincipals {
		if got, want := f.relatedIDs("servicePrincipals", sp.ID, relations.AppRoleAssignedTo), sorted(asgTo[sp.ID]); !slices.Equal(got, want) {
			f.t.Fatalf("service principal %s appRoleAssignedTo: %s", sp.DisplayName, diff(got, want))
		}
	}
	if err := f.eng.Store.Check(context.Background()); err != nil {
		f.t.Fatal(err)
	}
}

func TestEntraRelationsMatchTheTruthThroughFullDeltaAndBaseline(t *testing.T) {
	// Few enough objects a page that big groups span several delta pages.
	f := newEntraFixture(t, qsync.KindEntra, graphsim.Options{Users: 400, Groups: 30}, "posture")
	ctx := context.Background()
	if _, err := f.eng.Sync(ctx, "e", qsync.Options{}); err != nil {
		t.Fatal(err)
	}
	f.assertRelations()

	steps := []struct {
		name string
		m    graphsim.Mutation
		full bool
	}{
		{"members join and leave", graphsim.Mutation{AddMembers: 25, RemoveMembers: 20}, false},
		{"users come and go", graphsim.Mutation{AddUsers: 5, SoftDeleteUsers: 4, HardDeleteUsers: 2}, false},
		{"groups come and go", graphsim.Mutation{AddGroups: 3, DeleteGroups: 2, UpdateGroups: 2}, false},
		{"restored users get their memberships back", graphsim.Mutation{RestoreUsers: 2}, false},
		{"a baseline after more change", graphsim.Mutation{AddMembers: 10, RemoveMembers: 10, SoftDeleteUsers: 2}, true},
	}
	for _, s := range steps {
		f.sim.Mutate(s.m)
		before := f.sim.Stats().Requests
		run, err := f.eng.Sync(ctx, "e", qsync.Options{Full: s.full})
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if want := map[bool]string{true: qsync.ModeFull, false: qsync.ModeDelta}[s.full]; run.Kind != want {
			t.Errorf("%s: run kind %s, want %s", s.name, run.Kind, want)
		}
		// A delta round reads group and unit members from members@delta:
		// none is listed again.
		after := f.sim.Stats().Requests
		for _, pattern := range []string{"GET /v1.0/groups/{id}/members", "GET /v1.0/directory/administrativeUnits/{id}/members"} {
			if n := after[pattern] - before[pattern]; !s.full && n != 0 {
				t.Errorf("%s: a delta run listed members %d times (%s)", s.name, n, pattern)
			} else if s.full && n == 0 {
				t.Errorf("%s: a full run did not list members (%s)", s.name, pattern)
			}
		}
		t.Run(s.name, func(t *testing.T) { f.t = t; f.assertRelations() })
	}
}

func TestEntraCredentialsAreListedByExpiry(t *testing.T) {
	f := newEntraFixture(t, qsync.KindEntra, graphsim.Options{Users: 60, Groups: 5}, "posture")
	ctx := context.Background()
	if _, err := f.eng.Sync(ctx, "e", qsync.Options{}); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{} // id → endDateTime
	truth := f.sim.Truth()
	for _, o := range append(slices.Clone(truth.Applications), truth.ServicePrincipals...) {
		var v struct {
			Keys, Passwords []struct{ KeyID, EndDateTime string }
		}
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(o.JSON, &raw); err != nil {
			t.Fatal(err)
		}
		_ = json.Unmarshal(raw["keyCredentials"], &v.Keys)
		_ = json.Unmarshal(raw["passwordCredentials"], &v.Passwords)
		for _, c := range append(v.Keys, v.Passwords...) {
			want[o.ID+"/"+c.KeyID] = c.EndDateTime
		}
	}
	if len(want) == 0 {
		t.Fatal("the simulator's tenant has no credentials")
	}
	got := map[string]string{}
	err := f.eng.Store.Each(ctx, "e", "credentials", func(r store.Record) error {
		got[r.ID] = r.Cells[4]
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d credentials stored, truth has %d", len(got), len(want))
	}
	for id, end := range want {
		if got[id] != end {
			t.Errorf("credential %s expires %q, truth %q", id, got[id], end)
		}
	}
}

func TestEntraExportCarriesRelationsAndQualysAssets(t *testing.T) {
	f := newEntraFixture(t, qsync.KindEntra, graphsim.Options{Users: 150, Groups: 12}, "posture")
	ctx := context.Background()
	if _, err := f.eng.Sync(ctx, "e", qsync.Options{}); err != nil {
		t.Fatal(err)
	}
	truth := f.sim.Truth()
	memberOf := truth.MemberOf()
	asg := map[string]int{}
	for _, a := range truth.AppRoleAssignments {
		asg[a.PrincipalID]++
	}
	enabled := map[string]bool{}
	for _, u := range truth.Users {
		var v struct{ AccountEnabled bool }
		_ = json.Unmarshal(u.JSON, &v)
		enabled[u.ID] = v.AccountEnabled
	}

	lines := func(format string) []json.RawMessage {
		var b bytes.Buffer
		n, err := export.Write(ctx, f.eng.Store, "e", "users", format, &b)
		if err != nil || n != len(truth.Users) {
			t.Fatalf("export %s: %d records, %v", format, n, err)
		}
		var out []json.RawMessage
		for _, l := range bytes.Split(bytes.TrimSpace(b.Bytes()), []byte("\n")) {
			out = append(out, l)
		}
		return out
	}
	withGroups := 0
	for _, l := range lines("ndjson") {
		var u struct {
			ID       string
			MemberOf []struct {
				Type string `json:"@odata.type"`
				ID   string
			}
			AppRoleAssignments []struct{ PrincipalID string }
		}
		if err := json.Unmarshal(l, &u); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, m := range u.MemberOf {
			if m.Type != "#microsoft.graph.group" && m.Type != "#microsoft.graph.directoryRole" && m.Type != "#microsoft.graph.administrativeUnit" {
				t.Errorf("user %s memberOf entry of type %q", u.ID, m.Type)
			}
			got = append(got, m.ID)
		}
		slices.Sort(got)
		want := slices.Clone(memberOf[u.ID])
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("user %s exported memberOf %s", u.ID, diff(got, want))
		}
		if len(want) > 0 {
			withGroups++
		}
		if len(u.AppRoleAssignments) != asg[u.ID] {
			t.Errorf("user %s exported %d appRoleAssignments, truth %d", u.ID, len(u.AppRoleAssignments), asg[u.ID])
		}
	}
	if withGroups == 0 {
		t.Fatal("no user is in a group: the test proves nothing")
	}
	for _, l := range lines("qualys-asset") {
		var a struct {
			Asset struct {
				AssetHeader struct {
					VendorAssetID string `json:"vendorAssetId"`
					Status        string `json:"status"`
				} `json:"assetHeader"`
				AssetRelations []json.RawMessage `json:"assetRelations"`
			} `json:"asset"`
		}
		if err := json.Unmarshal(l, &a); err != nil {
			t.Fatal(err)
		}
		id := a.Asset.AssetHeader.VendorAssetID
		want := map[bool]string{true: "ACTIVE", false: "INACTIVE"}[enabled[id]]
		if a.Asset.AssetHeader.Status != want {
			t.Errorf("asset %s status %q, want %q", id, a.Asset.AssetHeader.Status, want)
		}
		if len(a.Asset.AssetRelations) != len(memberOf[id]) {
			t.Errorf("asset %s has %d assetRelations, the user is in %d groups, roles and units", id, len(a.Asset.AssetRelations), len(memberOf[id]))
		}
	}
	var b bytes.Buffer
	if _, err := export.Write(ctx, f.eng.Store, "e", "appRoleAssignments", "qualys-asset", &b); err == nil || !strings.Contains(err.Error(), "no transformation map") {
		t.Errorf("qualys-asset of a type without a map: %v", err)
	}
}
