package sync_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	graphsim "qtc/api/sim/graph"
	"qtc/store"
	"qtc/store/vault"
	qsync "qtc/sync"
)

// entraFixture is a store and an Entra connector on the Graph simulator.
type entraFixture struct {
	t   *testing.T
	sim *graphsim.Server
	eng *qsync.Engine
	now *atomic.Int64 // the simulator's clock, unix seconds
}

func newEntraFixture(t *testing.T, kind string, opt graphsim.Options, scope string) *entraFixture {
	t.Helper()
	f := &entraFixture{t: t, now: &atomic.Int64{}}
	f.now.Store(time.Now().Unix())
	opt.Now = func() time.Time { return time.Unix(f.now.Load(), 0) }
	f.sim = graphsim.New(opt)
	srv := httptest.NewServer(f.sim.Handler())
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	st, err := store.Open(filepath.Join(dir, "qtc.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	v, err := vault.Open(filepath.Join(dir, "key"))
	if err != nil {
		t.Fatal(err)
	}
	f.eng = &qsync.Engine{Store: st, Vault: v}
	d := graphsim.Defaults(opt)
	if _, err := f.eng.SaveEntra(context.Background(), qsync.EntraConnector{
		Kind: kind, Name: "e", TenantID: d.TenantID, ClientID: d.ClientID, ClientSecret: d.ClientSecret,
		LoginURL: srv.URL + graphsim.LoginPath, GraphURL: srv.URL + graphsim.GraphPath, Scope: scope,
	}); err != nil {
		t.Fatal(err)
	}
	return f
}

// present returns the ids of the records of typ not marked removed.
func (f *entraFixture) present(typ string) map[string]bool {
	f.t.Helper()
	ids := map[string]bool{}
	err := f.eng.Store.Each(context.Background(), "e", typ, func(r store.Record) error {
		if r.Removed.IsZero() {
			ids[r.ID] = true
		}
		return nil
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return ids
}

func (f *entraFixture) assertSame(typ string, truth []graphsim.Object) {
	f.t.Helper()
	got := f.present(typ)
	if len(got) != len(truth) {
		f.t.Fatalf("%s: %d present, truth %d", typ, len(got), len(truth))
	}
	for _, o := range truth {
		if !got[o.ID] {
			f.t.Fatalf("%s: %s (%s) missing", typ, o.ID, o.DisplayName)
		}
	}
}

func TestEntraFullThenDeltaWithEveryKindOfChange(t *testing.T) {
	f := newEntraFixture(t, qsync.KindEntra, graphsim.Options{Users: 300, Groups: 25}, "posture")
	ctx := context.Background()
	run, err := f.eng.Sync(ctx, "e", qsync.Options{})
	if err != nil {
		t.Fatal(err)
	}
	truth := f.sim.Truth()
	f.assertSame("users", truth.Users)
	f.assertSame("groups", truth.Groups)
	f.assertSame("roles", truth.RoleDefinitions)
	f.assertSame("applications", truth.Applications)
	f.assertSame("servicePrincipals", truth.ServicePrincipals)
	f.assertSame("organization", []graphsim.Object{truth.Organization})
	if run.Kind != qsync.ModeFull {
		t.Errorf("first run %s", run.Kind)
	}

	res := f.sim.Mutate(graphsim.Mutation{AddUsers: 4, UpdateUsers: 6, SoftDeleteUsers: 3, AddGroups: 2, UpdateGroups: 2})
	run, err = f.eng.Sync(ctx, "e", qsync.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if run.Kind != qsync.ModeDelta {
		t.Errorf("second run %s, want delta", run.Kind)
	}
	if c := run.Counts["users"]; c.Added != 4 || c.Removed != 3 {
		t.Errorf("delta users %+v, want +4 and 3 removed", c)
	}
	truth = f.sim.Truth()
	f.assertSame("users", truth.Users)
	f.assertSame("groups", truth.Groups)
	// Soft-deleted users stay visible, marked removed.
	for _, id := range res.Users.SoftDeleted {
		rec, err := f.eng.Store.Get(ctx, "e", "users", id)
		if err != nil || rec.Removed.IsZero() {
			t.Errorf("soft-deleted user %s: %v, removed %v", id, err, rec.Removed)
		}
	}
	// Hard deletes remove them; restores bring users back.
	res = f.sim.Mutate(graphsim.Mutation{HardDeleteUsers: 1, RestoreUsers: 1})
	if _, err := f.eng.Sync(ctx, "e", qsync.Options{}); err != nil {
		t.Fatal(err)
	}
	f.assertSame("users", f.sim.Truth().Users)
	for _, id := range res.Users.Deleted {
		if _, err := f.eng.Store.Get(ctx, "e", "users", id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("hard-deleted user %s still stored: %v", id, err)
		}
	}
}

func TestEntraExpiredDeltaFallsBackToFullPull(t *testing.T) {
	f := newEntraFixture(t, qsync.KindEntraDevices, graphsim.Options{Devices: 120}, "")
	ctx := context.Background()
	if _, err := f.eng.Sync(ctx, "e", qsync.Options{}); err != nil {
		t.Fatal(err)
	}
	before := f.present("devices")
	res := f.sim.Mutate(graphsim.Mutation{DeleteDevices: 5, AddDevices: 2})
	gone := 0
	for _, id := range res.Devices.Deleted {
		if before[id] {
			gone++
		}
	}
	f.now.Add(8 * 24 * 3600) // the delta link is now older than 7 days
	run, err := f.eng.Sync(ctx, "e", qsync.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := run.Counts["devices"]
	if c.Fallbacks != 1 || c.Removed != gone {
		t.Errorf("counts %+v, want one fallback and %d removed", c, gone)
	}
	f.assertSame("devices", f.sim.Truth().Devices)
}

func TestEntraMissingPermissionIsPartiallyProcessed(t *testing.T) {
	var roles []string
	for _, r := range graphsim.DefaultRoles {
		if r != "RoleManagement.Read.Directory" && r != "Directory.Read.All" && r != "RoleManagement.Read.All" {
			roles = append(roles, r)
		}
	}
	f := newEntraFixture(t, qsync.KindEntra, graphsim.Options{Users: 60, Groups: 5, Roles: roles}, "")
	run, err := f.eng.Sync(context.Background(), "e", qsync.Options{})
	if run.State != qsync.StatePartiallyProcessed || err == nil {
		t.Fatalf("state %s, err %v; want Partially Processed", run.State, err)
	}
	if !strings.Contains(err.Error(), "RoleManagement.Read.Directory") || !strings.Contains(err.Error(), "admin consent") {
		t.Errorf("error %q does not name the missing permission", err)
	}
	f.assertSame("users", f.sim.Truth().Users)
}

func TestEntraConnectorValidation(t *testing.T) {
	ok := qsync.EntraConnector{Kind: qsync.KindEntra, Name: "tenant", TenantID: "5f1c3a2e-7b4d-4e8a-9c61-2d0f8b7a6e13",
		ClientID: "0d0e0f10-2222-4b4b-8c8c-abcdefabcdef", ClientSecret: "s"}
	for _, tt := range []struct {
		mutate func(*qsync.EntraConnector)
		want   string
	}{
		{func(*qsync.EntraConnector) {}, ""},
		{func(c *qsync.EntraConnector) { c.TenantID = "contoso.onmicrosoft.com" }, ""},
		{func(c *qsync.EntraConnector) { c.TenantID = "not a tenant" }, "--tenant-id"},
		{func(c *qsync.EntraConnector) { c.ClientID = "abc" }, "--client-id"},
		{func(c *qsync.EntraConnector) { c.ClientSecret = "" }, "client secret"},
		{func(c *qsync.EntraConnector) { c.Cloud = "mars" }, "--cloud"},
		{func(c *qsync.EntraConnector) { c.LoginURL = "http://127.0.0.1:1" }, "--graph-url"},
		{func(c *qsync.EntraConnector) { c.Scope = "everything" }, "--scope"},
		{func(c *qsync.EntraConnector) { c.Baseline = "daily" }, "--baseline"},
		{func(c *qsync.EntraConnector) { c.Token = "v3" }, "--token"},
	} {
		c := ok
		tt.mutate(&c)
		err := c.Validate()
		if (tt.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: error %v, want %q", c, err, tt.want)
		}
	}
}

func TestEntraLinksFromAnotherEndpointAreNotFollowed(t *testing.T) {
	f := newEntraFixture(t, qsync.KindEntraDevices, graphsim.Options{Devices: 50}, "")
	ctx := context.Background()
	if _, err := f.eng.Sync(ctx, "e", qsync.Options{}); err != nil {
		t.Fatal(err)
	}
	// The connector now points at another Graph endpoint (a new simulator):
	// the saved delta link belongs to the old one and must not be used.
	other := graphsim.New(graphsim.Options{Devices: 40})
	srv := httptest.NewServer(other.Handler())
	defer srv.Close()
	d := graphsim.Defaults(graphsim.Options{})
	if _, err := f.eng.SaveEntra(ctx, qsync.EntraConnector{Kind: qsync.KindEntraDevices, Name: "e", TenantID: d.TenantID, ClientID: d.ClientID,
		ClientSecret: d.ClientSecret, LoginURL: srv.URL + graphsim.LoginPath, GraphURL: srv.URL + graphsim.GraphPath}); err != nil {
		t.Fatal(err)
	}
	run, err := f.eng.Sync(ctx, "e", qsync.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if run.Counts["devices"].Fallbacks != 1 {
		t.Errorf("counts %+v, want a fallback to a full pull", run.Counts["devices"])
	}
	f.assertSame("devices", other.Truth().Devices)
}

func TestEntraTokenExpiringMidSyncIsRenewed(t *testing.T) {
	f := newEntraFixture(t, qsync.KindEntra, graphsim.Options{Users: 300, Groups: 10}, "posture")
	var once sync.Once
	run, err := f.eng.Sync(context.Background(), "e", qsync.Options{Progress: func(ev qsync.Event) {
		if ev.Phase == "paging" {
			// The simulator's clock jumps past the token's expiry: its
			// next requests answer 401 InvalidAuthenticationToken.
			once.Do(func() { f.now.Add(2 * 3600) })
		}
	}})
	if err != nil {
		t.Fatalf("sync with an expired token: %v (%+v)", err, run)
	}
	if st := f.sim.Stats(); st.Tokens < 2 || st.Status[401] == 0 {
		t.Errorf("%d tokens issued after %d 401s, want a renewal after a 401", st.Tokens, st.Status[401])
	}
	truth := f.sim.Truth()
	f.assertSame("users", truth.Users)
	f.assertSame("groups", truth.Groups)
	f.assertRelations()
}
