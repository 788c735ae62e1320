package sync_test

import (
	"context"
	"testing"
	"time"

	"qtc/api/retries"
	graphsim "qtc/api/sim/graph"
	"qtc/store"
	qsync "qtc/sync"
)

// TestEntraSyncsThroughFaults: at a 20% fault rate — 429 and 503 with and
// without Retry-After, 504, connection resets, bodies cut off mid-JSON,
// slow bodies, expired tokens, 410 delta links and replayed delta rounds —
// a full and a delta sync still end with exactly the simulator's truth,
// and the runs count every retry by cause: as many as the simulator
// injected faults of each kind.
func TestEntraSyncsThroughFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out injected Retry-After seconds")
	}
	const p = 0.20 / 10
	f := newEntraFixture(t, qsync.KindEntra, graphsim.Options{Users: 250, Groups: 12, Faults: graphsim.FaultOptions{
		Throttle: p, Unavailable: p, UnavailableNoRetryAfter: p, GatewayTimeout: p, ConnReset: p,
		TruncatedBody: p, ExpiredToken: p, DeltaGone: p, DeltaReplay: p, SlowBody: p, SlowBodyTime: 200 * time.Millisecond,
	}}, "identities")
	ctx := context.Background()
	full, err := f.eng.Sync(ctx, "e", qsync.Options{})
	if err != nil {
		t.Fatalf("full sync through faults: %v", err)
	}
	truth := f.sim.Truth()
	f.assertSame("users", truth.Users)
	f.assertSame("groups", truth.Groups)
	f.assertRelations()

	runs := []store.Run{full}
	for round := range 3 {
		f.sim.Mutate(graphsim.Mutation{AddUsers: 6, UpdateUsers: 8, SoftDeleteUsers: 3, AddMembers: 10, RemoveMembers: 6})
		delta, err := f.eng.Sync(ctx, "e", qsync.Options{})
		if err != nil {
			t.Fatalf("delta sync %d through faults: %v", round+1, err)
		}
		runs = append(runs, delta)
		truth = f.sim.Truth()
		f.assertSame("users", truth.Users)
		f.assertSame("groups", truth.Groups)
		f.assertRelations()
	}

	st := f.sim.Stats()
	if retries.Total(st.Faults) == 0 {
		t.Fatal("no fault was injected: the test proves nothing")
	}
	got := map[string]int{}
	byID := map[uint64]store.Run{}
	for _, run := range runs {
		byID[run.ID] = run
		for cause, n := range run.Retries {
			got[cause] += n
		}
	}
	t.Logf("faults injected: %v; budget 429s: %d; retries recorded: %s", st.Faults, st.Throttled429, retries.Format(got))
	stored, err := f.eng.Store.Runs(ctx, "e", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, run := range stored {
		if want := byID[run.ID]; retries.Format(run.Retries) != retries.Format(want.Retries) {
			t.Errorf("run %d stored retries %v, returned %v", run.ID, run.Retries, want.Retries)
		}
	}
	tests := []struct {
		kind   string   // the simulator's fault kind
		causes []string // the run's retry causes it shows up as
		extra  int      // answers of the same kind the simulator gave besides injected faults
		atMost bool     // the run may see fewer (see below)
	}{
		{kind: "429", causes: []string{"429", "batch-429"}, extra: st.Throttled429},
		{kind: "503", causes: []string{"503", "batch-503"}},
		{kind: "503-no-retry-after", causes: []string{"503-no-retry-after", "batch-503-no-retry-after"}},
		{kind: "504", causes: []string{"504", "batch-504"}},
		{kind: "expired-token", causes: []string{"expired-token", "batch-expired-token"}},
		{kind: "truncated", causes: []string{"truncated"}},
		{kind: "410", causes: []string{"410-resync"}},
		// net/http itself re-sends a GET whose reused connection is reset
		// before any answer: the client never sees those resets.
		{kind: "reset", causes: []string{"reset"}, atMost: true},
		// Slow bodies and replayed deltas are not failures: no retry.
		{kind: "slow", causes: []string{"timeout"}, atMost: true},
		{kind: "replay", causes: nil, atMost: true},
	}
	for _, tc := range tests {
		t.Run(tc.kind, func(t *testing.T) {
			want := st.Faults[tc.kind] + tc.extra
			n := 0
			for _, c := range tc.causes {
				n += got[c]
			}
			switch {
			case tc.atMost && n > want:
				t.Errorf("retries as %v = %d, more than the %d %s faults injected", tc.causes, n, want, tc.kind)
			case tc.kind == "slow" && n != 0:
				t.Errorf("%d slow bodies timed out; they must complete", n)
			case !tc.atMost && n != want:
				t.Errorf("retries as %v = %d, want the %d %s answers the simulator gave", tc.causes, n, want, tc.kind)
			}
		})
	}
	for _, c := range []string{"network", "malformed", "5xx"} {
		if got[c] != 0 {
			t.Errorf("%d retries for %q: no such fault was injected", got[c], c)
		}
	}
}
