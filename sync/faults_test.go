package sync_test

import (
	"context"
	"testing"

	graphsim "qtc/api/sim/graph"
	qsync "qtc/sync"
)

// TestEntraSyncsThroughFaults: at a 20% fault rate — 429 and 503 with and
// without Retry-After, 504, connection resets, bodies cut off mid-JSON,
// expired tokens, 410 delta links and replayed delta rounds — a full and a
// delta sync still end with exactly the simulator's truth.
func TestEntraSyncsThroughFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out injected Retry-After seconds")
	}
	const p = 0.20 / 9
	f := newEntraFixture(t, qsync.KindEntra, graphsim.Options{Users: 250, Groups: 12, Faults: graphsim.FaultOptions{
		Throttle: p, Unavailable: p, UnavailableNoRetryAfter: p, GatewayTimeout: p, ConnReset: p,
		TruncatedBody: p, ExpiredToken: p, DeltaGone: p, DeltaReplay: p,
	}}, "identities")
	ctx := context.Background()
	if _, err := f.eng.Sync(ctx, "e", qsync.Options{}); err != nil {
		t.Fatalf("full sync through faults: %v", err)
	}
	truth := f.sim.Truth()
	f.assertSame("users", truth.Users)
	f.assertSame("groups", truth.Groups)
	f.assertRelations()

	f.sim.Mutate(graphsim.Mutation{AddUsers: 6, UpdateUsers: 8, SoftDeleteUsers: 3, AddMembers: 10, RemoveMembers: 6})
	if _, err := f.eng.Sync(ctx, "e", qsync.Options{}); err != nil {
		t.Fatalf("delta sync through faults: %v", err)
	}
	truth = f.sim.Truth()
	f.assertSame("users", truth.Users)
	f.assertSame("groups", truth.Groups)
	f.assertRelations()
	st := f.sim.Stats()
	total := 0
	for _, n := range st.Faults {
		total += n
	}
	if total == 0 {
		t.Fatal("no fault was injected: the test proves nothing")
	}
	t.Logf("faults injected: %v", st.Faults)
}
