package sync_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"testing"

	"qtc/api/sim"
	"qtc/store"
	qsync "qtc/sync"
	"qtc/sync/catalog"
)

// resourceFixture syncs every resource type from a small simulator.
func resourceFixture(t *testing.T) *fixture {
	t.Helper()
	opt := sim.Options{Policies: 3, Exceptions: 3, Counts: map[string]int{
		sim.TypeEntraIDUser: 300, sim.TypeEC2Instance: 120, sim.TypeRoleDefinitions: 40, sim.TypeRoleAssignment: 60,
	}}
	f := &fixture{t: t, dir: t.TempDir()}
	f.sim = sim.New(opt)
	srv := httptest.NewServer(f.sim.Handler())
	t.Cleanup(srv.Close)
	f.url = srv.URL
	f.open()
	d := sim.Defaults(opt)
	if _, err := f.engine.SaveQualys(context.Background(), qsync.QualysConnector{Name: "t", GatewayURL: f.url, Username: d.Username, Password: d.Password}); err != nil {
		t.Fatal(err)
	}
	return f
}

func resName(simType string) string {
	cloud := "Azure"
	if simType == sim.TypeEC2Instance {
		cloud = "AWS"
	}
	return catalog.ResourceTypeName(cloud, simType)
}

func TestResourceSyncFullThenDeltaThenBaseline(t *testing.T) {
	f := resourceFixture(t)
	ctx := context.Background()
	run, err := f.engine.Sync(ctx, "t", qsync.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if run.Kind != qsync.ModeFull {
		t.Errorf("first run kind %s, want full", run.Kind)
	}
	for _, typ := range sim.Types() {
		if typ == sim.TypePolicies || typ == sim.TypeExceptions {
			continue
		}
		f.assertTruth(resName(typ), toBytes(f.sim.Records(typ)))
	}

	// Role assignments show the role's name, resolved from the synced
	// role definitions.
	names := map[string]string{}
	for _, raw := range f.sim.Records(sim.TypeRoleDefinitions) {
		var d struct{ ResourceID, RoleName string }
		json.Unmarshal(raw, &d)
		names[d.ResourceID] = d.RoleName
	}
	for _, raw := range f.sim.Records(sim.TypeRoleAssignment)[:10] {
		var a struct{ UUID, RoleDefinitionID string }
		json.Unmarshal(raw, &a)
		rec, err := f.engine.Store.Get(ctx, "t", resName(sim.TypeRoleAssignment), a.UUID)
		if err != nil {
			t.Fatal(err)
		}
		if want := names[a.RoleDefinitionID]; want == "" || rec.Cells[0] != want {
			t.Errorf("assignment %s role cell %q, want %q", a.UUID, rec.Cells[0], want)
		}
	}

	// Changes at the source; a delta run picks up adds and changes only.
	users := f.sim.Mutate(sim.Mutation{Type: sim.TypeEntraIDUser, Add: 5, Change: 7, Remove: 3, Seed: 1})
	ec2 := f.sim.Mutate(sim.Mutation{Type: sim.TypeEC2Instance, Add: 2, Change: 2, Remove: 1, Seed: 2})
	if users.Error != "" || ec2.Error != "" {
		t.Fatal(users.Error, ec2.Error)
	}
	run, err = f.engine.Sync(ctx, "t", qsync.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if run.Kind != qsync.ModeDelta {
		t.Errorf("second run kind %s, want delta", run.Kind)
	}
	uc := run.Counts[resName(sim.TypeEntraIDUser)]
	if uc.Added != 5 || uc.Changed != 7 || uc.Removed != 0 {
		t.Errorf("delta user counts %+v, want +5 ~7 -0", uc)
	}
	for _, id := range users.Changed {
		rec, err := f.engine.Store.Get(ctx, "t", resName(sim.TypeEntraIDUser), id)
		if err != nil {
			t.Fatal(err)
		}
		if !containsRaw(f.sim.Records(sim.TypeEntraIDUser), rec.Raw) {
			t.Errorf("changed user %s not updated by the delta", id)
		}
	}

	// A baseline (full) run marks what the source no longer has.
	run, err = f.engine.Sync(ctx, "t", qsync.Options{Full: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := run.Counts[resName(sim.TypeEntraIDUser)].Removed; got != len(users.Removed) {
		t.Errorf("baseline marked %d users removed, want %d", got, len(users.Removed))
	}
	f.assertTruth(resName(sim.TypeEntraIDUser), toBytes(f.sim.Records(sim.TypeEntraIDUser)))
	f.assertTruth(resName(sim.TypeEC2Instance), toBytes(f.sim.Records(sim.TypeEC2Instance)))
	for _, id := range users.Removed {
		rec, err := f.engine.Store.Get(ctx, "t", resName(sim.TypeEntraIDUser), id)
		if err != nil || rec.Removed.IsZero() {
			t.Errorf("removed user %s: %v, removed at %v; want kept and marked", id, err, rec.Removed)
		}
	}
}

func containsRaw(list []json.RawMessage, raw []byte) bool {
	for _, r := range list {
		if string(r) == string(raw) {
			return true
		}
	}
	return false
}

func TestInterruptedMarkerPullRestartsWhenMarkerIsStale(t *testing.T) {
	f := resourceFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	ec2 := resName(sim.TypeEC2Instance)
	_, err := f.engine.Sync(ctx, "t", qsync.Options{Types: []string{ec2}, Progress: func(ev qsync.Event) {
		if ev.Stream == ec2 && ev.Phase == "paging" {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want canceled", err)
	}
	if st, _ := f.engine.Store.StreamState(context.Background(), "t", ec2); st.Phase != store.PhasePaging || st.Marker == "" {
		t.Fatalf("state %+v, want paging with a saved marker", st)
	}
	// The simulator restarts: its markers are gone.
	fresh := sim.New(sim.Options{Policies: 3, Exceptions: 3, Counts: map[string]int{sim.TypeEC2Instance: 120}})
	srv := httptest.NewServer(fresh.Handler())
	defer srv.Close()
	d := sim.Defaults(sim.Options{})
	if _, err := f.engine.SaveQualys(context.Background(), qsync.QualysConnector{Name: "t", GatewayURL: srv.URL, Username: d.Username, Password: d.Password}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.engine.Sync(context.Background(), "t", qsync.Options{Types: []string{ec2}}); err != nil {
		t.Fatal(err)
	}
	f.assertTruth(ec2, toBytes(fresh.Records(sim.TypeEC2Instance)))
}

func TestResourceScopeValidation(t *testing.T) {
	for _, tt := range []struct {
		scope string
		ok    bool
	}{
		{"", true}, {"none", true}, {"azure/ENTRA_ID_USER,aws/EC2_INSTANCE", true},
		{"aws/S3_BUCKET", true}, {"gcp/COMPUTE_INSTANCE", true},
		{"ENTRA_ID_USER", false}, {"ibm/VM", false}, {"azure/", false},
	} {
		q := qsync.QualysConnector{Name: "c", GatewayURL: "https://gateway.qg1.apps.qualys.com", Username: "u", Password: "p", Resources: tt.scope}
		if err := q.Validate(); (err == nil) != tt.ok {
			t.Errorf("scope %q: %v", tt.scope, err)
		}
	}
}
