package sync_test

import (
	"bytes"
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"qtc/api/retries"
	"qtc/api/sim"
	"qtc/store"
	qsync "qtc/sync"
)

// qualysFaultFixture is a Qualys connector with every stream — policies,
// exceptions, the default resource types, and (the simulator serving the
// classic XML APIs on the gateway's base URL) hosts, findings and CVEs.
func qualysFaultFixture(t *testing.T, opt sim.Options) *fixture {
	t.Helper()
	f := &fixture{t: t, dir: t.TempDir()}
	f.sim = sim.New(opt)
	srv := httptest.NewServer(f.sim.Handler())
	t.Cleanup(srv.Close)
	f.url = srv.URL
	f.open()
	d := sim.Defaults(opt)
	if _, err := f.engine.SaveQualys(context.Background(), qsync.QualysConnector{
		Name: "t", GatewayURL: f.url, APIURL: f.url, Username: d.Username, Password: d.Password,
	}); err != nil {
		t.Fatal(err)
	}
	return f
}

// storeImage is every record of the connector: type → id → raw bytes and
// whether it is marked removed.
func storeImage(t *testing.T, st *store.Store) map[string]map[string]string {
	t.Helper()
	ctx := context.Background()
	types, err := st.Types(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]string{}
	for _, typ := range types {
		recs := map[string]string{}
		err := st.Each(ctx, "t", typ, func(r store.Record) error {
			state := "present "
			if !r.Removed.IsZero() {
				state = "removed "
			}
			recs[r.ID] = state + string(r.Raw)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		out[typ] = recs
	}
	return out
}

// TestQualysSyncsThroughFaults: a full and a delta sync of a Qualys
// connector (gateway JSON APIs and classic XML APIs) with 20% of the
// requests failing — 429 (409 CODE 1965 on the XML APIs), 503, 504,
// connection resets, bodies cut off mid-way, slow bodies, expired tokens —
// leave the store exactly as the same syncs without faults do, and the
// runs count the retries by cause.
func TestQualysSyncsThroughFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out injected rate limits")
	}
	const p = 0.20 / 7
	now := time.Now().UTC()
	// Seed 2 injects every kind at least once in these syncs (the plan is
	// sequential, so the faults fall on the same requests every time).
	base := sim.Options{Exceptions: 300, Hosts: 150, Seed: 2, Now: func() time.Time { return now }}
	faulty := base
	faulty.Faults = sim.FaultOptions{Throttle: p, Unavailable: p, GatewayTimeout: p, ConnReset: p,
		TruncatedBody: p, SlowBody: p, ExpiredToken: p, SlowBodyTime: 100 * time.Millisecond}
	clean, faulted := qualysFaultFixture(t, base), qualysFaultFixture(t, faulty)
	ctx := context.Background()

	got := map[string]int{}
	for round, mutate := range []func(s *sim.Server){
		nil,
		func(s *sim.Server) {
			s.Mutate(sim.Mutation{Type: "exceptions", Add: 5, Change: 5, Remove: 3, Seed: 7})
			s.Mutate(sim.Mutation{Type: "ENTRA_ID_USER", Add: 3, Change: 4, Remove: 2, Seed: 7})
			s.MutateHosts(sim.HostMutation{AddHosts: 3, ChangeHosts: 4, RemoveHosts: 1, NewDetections: 5, FixDetections: 3, Seed: 7})
		},
	} {
		for _, f := range []*fixture{clean, faulted} {
			if mutate != nil {
				mutate(f.sim)
			}
			run, err := f.engine.Sync(ctx, "t", qsync.Options{})
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
			if f == clean && len(run.Retries) != 0 {
				t.Fatalf("round %d without faults retried %v", round, run.Retries)
			}
			if f == faulted {
				for c, n := range run.Retries {
					got[c] += n
				}
			}
		}
		want, have := storeImage(t, clean.engine.Store), storeImage(t, faulted.engine.Store)
		if len(want) == 0 || len(want) != len(have) {
			t.Fatalf("round %d: types %d without faults, %d with", round, len(want), len(have))
		}
		for typ, recs := range want {
			if len(recs) == 0 || len(have[typ]) != len(recs) {
				t.Fatalf("round %d: %s: %d records without faults, %d with", round, typ, len(recs), len(have[typ]))
			}
			for id, v := range recs {
				if !bytes.Equal([]byte(have[typ][id]), []byte(v)) {
					t.Fatalf("round %d: %s %s differs:\nwithout faults %.200s\nwith faults    %.200s", round, typ, id, v, have[typ][id])
				}
			}
		}
	}
	st := faulted.sim.Stats()
	t.Logf("faults injected: %v; retries recorded: %s", st.Faults, retries.Format(got))
	if retries.Total(st.Faults) == 0 || retries.Total(got) == 0 {
		t.Fatal("no fault was injected or retried: the test proves nothing")
	}
	tests := []struct {
		kind   string
		causes []string
		atMost bool // see TestEntraSyncsThroughFaults
	}{
		{kind: "429", causes: []string{"429", "409"}},
		{kind: "503", causes: []string{"503-no-retry-after", "503"}},
		{kind: "504", causes: []string{"504"}},
		{kind: "expired-token", causes: []string{"expired-token"}},
		{kind: "truncated", causes: []string{"truncated"}},
		{kind: "reset", causes: []string{"reset"}, atMost: true},
		{kind: "slow", causes: []string{"timeout"}, atMost: true},
	}
	for _, tc := range tests {
		t.Run(tc.kind, func(t *testing.T) {
			n := 0
			for _, c := range tc.causes {
				n += got[c]
			}
			want := st.Faults[tc.kind]
			switch {
			case want == 0:
				t.Errorf("no %s fault was injected: the row proves nothing (pick a seed that injects every kind)", tc.kind)
			case tc.kind == "slow" && n != 0:
				t.Errorf("%d slow bodies timed out; they must complete", n)
			case tc.atMost && n > want:
				t.Errorf("retries as %v = %d, more than the %d %s faults injected", tc.causes, n, want, tc.kind)
			case !tc.atMost && n != want:
				t.Errorf("retries as %v = %d, want the %d %s faults injected", tc.causes, n, want, tc.kind)
			}
		})
	}
}
