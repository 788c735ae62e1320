package sync_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"qtc/api/qualys"
	"qtc/api/sim"
	"qtc/store"
	qsync "qtc/sync"
	"qtc/sync/catalog"
)

// hostTypes limits a run to the seed 004 streams (the gateway is only
// asked for a token).
var hostTypes = []string{catalog.TypeFindings, catalog.TypeHosts, catalog.TypeCVEs}

// offsetClock is the simulator's clock: the real time shifted by an
// offset the test sets. Starting two days back puts every generated host
// time well before any delta window the engine (which uses the real time)
// computes, so a delta returns exactly what a mutation changed.
type offsetClock struct{ off atomic.Int64 }

func (c *offsetClock) Now() time.Time           { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *offsetClock) set(offset time.Duration) { c.off.Store(int64(offset)) }

// truthFrom is the hostTruth of the given hosts.
func truthFrom(hosts []sim.Host, kb []sim.Vuln) hostTruth {
	t := hostTruth{hosts: hosts, kb: map[int]sim.Vuln{}, cveHosts: map[string][]string{}, cveWorst: map[string]int{}}
	for _, v := range kb {
		t.kb[v.QID] = v
	}
	for _, h := range hosts {
		id := strconv.FormatInt(h.AssetID, 10)
		for _, d := range h.Detections {
			if d.Status == "Fixed" {
				continue
			}
			for _, c := range t.kb[d.QID].CVEs {
				if !slices.Contains(t.cveHosts[c], id) {
					t.cveHosts[c] = append(t.cveHosts[c], id)
				}
				t.cveWorst[c] = max(t.cveWorst[c], d.Severity)
			}
		}
	}
	for c := range t.cveHosts {
		slices.Sort(t.cveHosts[c])
	}
	return t
}

// storedHost is the stored hosts record.
type storedHost struct {
	qualys.HostAsset
	Findings []catalog.Finding `json:"findings"`
}

// checkHostStore checks that the live (not removed) hosts, findings and
// CVE records of the store are exactly want — the simulator's hosts plus
// stale, hosts gone from the simulator that the store cannot know about
// yet — field by field, findings open and fixed with their CVE ids. It
// returns the ids of the hosts and findings records marked removed.
func checkHostStore(t *testing.T, f *fixture, hosts, stale []sim.Host) (removedHosts, removedFindings map[string]bool) {
	t.Helper()
	ctx := context.Background()
	want := append(append([]sim.Host(nil), hosts...), stale...)
	truth := truthFrom(want, f.sim.KnowledgeBase())

	live := map[string]store.Record{}
	removedHosts, removedFindings = map[string]bool{}, map[string]bool{}
	err := f.engine.Store.Each(ctx, "t", catalog.TypeHosts, func(r store.Record) error {
		if r.Removed.IsZero() {
			live[r.ID] = r
		} else {
			removedHosts[r.ID] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	liveFindings := map[string][]catalog.Finding{}
	err = f.engine.Store.Each(ctx, "t", catalog.TypeFindings, func(r store.Record) error {
		if !r.Removed.IsZero() {
			removedFindings[r.ID] = true
			return nil
		}
		var fr struct {
			Detections []catalog.Finding `json:"detections"`
		}
		if err := json.Unmarshal(r.Raw, &fr); err != nil {
			return err
		}
		liveFindings[r.ID] = fr.Detections
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(live) != len(want) {
		t.Fatalf("store has %d live hosts, want %d (%d in the simulator, %d stale)", len(live), len(want), len(hosts), len(stale))
	}
	withDetections := 0
	for _, h := range want {
		id := strconv.FormatInt(h.AssetID, 10)
		rec, ok := live[id]
		if !ok {
			t.Fatalf("host %d (%s) not stored or marked removed", h.AssetID, h.Name)
		}
		var got storedHost
		if err := json.Unmarshal(rec.Raw, &got); err != nil {
			t.Fatal(err)
		}
		var tags, wantMACs, macs []string
		for _, tg := range got.Tags {
			tags = append(tags, tg.Name)
		}
		for _, n := range h.Interfaces {
			wantMACs = append(wantMACs, n.MAC)
		}
		for _, n := range got.Interfaces {
			macs = append(macs, n.MACAddress)
		}
		if got.Name != h.Name || got.HostID != h.HostID || got.Address != h.Address || got.OS != h.OS || got.Criticality != h.Criticality ||
			!got.Modified.Equal(h.Modified) || !got.Created.Equal(h.Created) || !got.LastVulnScan.Equal(h.LastVulnScan) ||
			!got.LastCheckedIn.Equal(h.LastCheckedIn) || !slices.Equal(tags, h.Tags) || !slices.Equal(macs, wantMACs) {
			t.Fatalf("host %d: stored %+v, want %+v", h.AssetID, got.HostAsset, h)
		}
		checkFindings(t, fmtHost(h, "host record"), got.Findings, h.Detections, truth)
		ids, _ := catalog.HostCVEs(got.Findings)
		if rec.Cells[7] != strings.Join(ids, ", ") {
			t.Fatalf("host %d CVES cell %q, want %q", h.AssetID, rec.Cells[7], strings.Join(ids, ", "))
		}
		if len(h.Detections) > 0 {
			withDetections++
			fs, ok := liveFindings[strconv.FormatInt(h.HostID, 10)]
			if !ok {
				t.Fatalf("host %d: no live findings record %d", h.AssetID, h.HostID)
			}
			checkFindings(t, fmtHost(h, "findings record"), fs, h.Detections, truth)
		}
	}
	if len(liveFindings) != withDetections {
		t.Fatalf("store has %d live findings records, want %d", len(liveFindings), withDetections)
	}
	checkCVEs(t, f, truth)
	return removedHosts, removedFindings
}

func fmtHost(h sim.Host, what string) string {
	return "host " + strconv.FormatInt(h.AssetID, 10) + " " + what
}

func checkFindings(t *testing.T, what string, got []catalog.Finding, want []sim.Detection, truth hostTruth) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d findings, want %d", what, len(got), len(want))
	}
	for i, d := range want {
		g, v := got[i], truth.kb[d.QID]
		if g.QID != d.QID || g.Type != d.Type || g.Severity != d.Severity || g.Status != d.Status || !g.FirstFound.Equal(d.FirstFound) ||
			!g.LastFound.Equal(d.LastFound) || g.TimesFound != d.TimesFound || !slices.Equal(g.CVEs, v.CVEs) || g.Title != v.Title {
			t.Fatalf("%s finding %d: got %+v, want %+v with %v", what, i, g, d, v.CVEs)
		}
	}
}

// A delta after hosts and detections changed pulls exactly the changes —
// new and modified assets by the asset search's updated filter, hosts
// whose detections changed by vm_processed_after, and, in the reconcile
// page, the hosts whose findings changed while their asset did not — and
// the store then equals the simulator, except for removals.
//
// What a delta cannot see: a host removed at the source. Neither the asset
// search nor the detection list names what is gone (a filter returns only
// what exists and changed), so a delta leaves the removed host, its
// findings and its CVEs in the store as they were last seen; only a full
// pull (the connector's periodic baseline, or --full), which lists
// everything and marks what it did not see as removed, retires them.
func TestHostsDeltaAfterMutation(t *testing.T) {
	clk := &offsetClock{}
	clk.set(-48 * time.Hour)
	f := hostFixture(t, sim.Options{Policies: 1, Exceptions: 1, Hosts: 120, Now: clk.Now})
	ctx := context.Background()
	opt := qsync.Options{Types: hostTypes}

	run, err := f.engine.Sync(ctx, "t", opt)
	if err != nil {
		t.Fatal(err)
	}
	if run.Kind != qsync.ModeFull {
		t.Fatalf("first run kind %s", run.Kind)
	}
	before := f.sim.HostAssets()
	checkHostStore(t, f, before, nil)

	// Time moves on; then hosts and detections change.
	clk.set(0)
	res := f.sim.MutateHosts(sim.HostMutation{AddHosts: 3, ChangeHosts: 4, RemoveHosts: 2, NewDetections: 5, FixDetections: 3, Seed: 1})
	if res.Error != "" || len(res.Added) != 3 || len(res.Changed) != 4 || len(res.Removed) != 2 || len(res.NewDetections) != 5 || len(res.FixedDetections) != 3 {
		t.Fatalf("mutation %+v", res)
	}
	if !slices.ContainsFunc(res.NewDetections, func(d sim.DetectionRef) bool { return d.QID == 380001 }) {
		t.Fatalf("seed 1 no longer adds CVE-2024-3094: %+v", res.NewDetections)
	}
	old := map[int64]sim.Host{}
	for _, h := range before {
		old[h.AssetID] = h
	}
	var stale []sim.Host
	for _, id := range res.Removed {
		stale = append(stale, old[id])
	}
	// The hosts whose detections changed, split by whether they had
	// detections before (their findings record is new or changed), and
	// those among them whose asset did not change (only the reconcile
	// page rewrites their host record).
	detHosts := map[int64]bool{}
	for _, d := range append(append([]sim.DetectionRef(nil), res.NewDetections...), res.FixedDetections...) {
		detHosts[d.AssetID] = true
	}
	newFindings, changedFindings, reconciled := 0, 0, 0
	for id := range detHosts {
		if len(old[id].Detections) == 0 {
			newFindings++
		} else {
			changedFindings++
		}
		if !slices.Contains(res.Changed, id) {
			reconciled++
		}
	}
	if reconciled == 0 {
		t.Fatal("the mutation left no host whose findings changed without its asset: the reconcile page is not exercised")
	}

	run, err = f.engine.Sync(ctx, "t", opt)
	if err != nil {
		t.Fatal(err)
	}
	if run.Kind != qsync.ModeDelta {
		t.Fatalf("run after the mutation: kind %s, want delta", run.Kind)
	}
	wantCounts := map[string]store.Counts{
		catalog.TypeFindings: {Added: 3 + newFindings, Changed: changedFindings},
		catalog.TypeHosts:    {Added: 3, Changed: len(res.Changed) + reconciled},
	}
	for typ, w := range wantCounts {
		c := run.Counts[typ]
		if c.Added != w.Added || c.Changed != w.Changed || c.Unchanged != 0 || c.Removed != 0 {
			t.Errorf("delta %s: %+v, want added %d changed %d, nothing unchanged or removed", typ, c, w.Added, w.Changed)
		}
	}
	after := f.sim.HostAssets()
	removedHosts, removedFindings := checkHostStore(t, f, after, stale)
	if len(removedHosts)+len(removedFindings) != 0 {
		t.Fatalf("a delta marked hosts %v, findings %v removed", removedHosts, removedFindings)
	}

	// A delta with nothing new changes nothing.
	run, err = f.engine.Sync(ctx, "t", opt)
	if err != nil {
		t.Fatal(err)
	}
	for _, typ := range hostTypes {
		if c := run.Counts[typ]; c.Added+c.Changed+c.Removed != 0 {
			t.Errorf("second delta %s: %+v, want nothing new", typ, c)
		}
	}

	// The baseline sees the removals, and nothing else the delta missed.
	run, err = f.engine.Sync(ctx, "t", qsync.Options{Full: true, Types: hostTypes})
	if err != nil {
		t.Fatal(err)
	}
	if run.Kind != qsync.ModeFull {
		t.Fatalf("baseline kind %s", run.Kind)
	}
	staleFindings := 0
	for _, h := range stale {
		if len(h.Detections) > 0 {
			staleFindings++
		}
	}
	for typ, removed := range map[string]int{catalog.TypeHosts: len(stale), catalog.TypeFindings: staleFindings} {
		if c := run.Counts[typ]; c.Added != 0 || c.Changed != 0 || c.Removed != removed {
			t.Errorf("baseline %s: %+v, want only %d removed", typ, c, removed)
		}
	}
	removedHosts, removedFindings = checkHostStore(t, f, after, nil)
	for _, h := range stale {
		if !removedHosts[strconv.FormatInt(h.AssetID, 10)] {
			t.Errorf("host %d gone from the simulator but not marked removed", h.AssetID)
		}
		if len(h.Detections) > 0 && !removedFindings[strconv.FormatInt(h.HostID, 10)] {
			t.Errorf("findings of host %d gone from the simulator but not marked removed", h.AssetID)
		}
	}
	if len(removedHosts) != len(stale) || len(removedFindings) != staleFindings {
		t.Errorf("removed hosts %v, findings %v; want the %d stale hosts only", removedHosts, removedFindings, len(stale))
	}
	if err := f.engine.Store.Check(ctx); err != nil {
		t.Fatal(err)
	}
}

// A pull interrupted after the first hosts page resumes from the saved
// cursor on the next run (no --full): it asks for fewer pages than a full
// pull, and the store then equals the simulator.
func TestHostsInterruptedPullResumes(t *testing.T) {
	clk := &offsetClock{}
	clk.set(-48 * time.Hour)
	f := hostFixture(t, sim.Options{Policies: 1, Exceptions: 1, Hosts: 150, Now: clk.Now})
	f.engine.PageSize = 20 // 8 pages of hosts
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var hostPages atomic.Int32
	_, err := f.engine.Sync(ctx, "t", qsync.Options{Types: hostTypes, Progress: func(ev qsync.Event) {
		if ev.Stream == catalog.TypeHosts && ev.Phase == "paging" && hostPages.Add(1) == 1 {
			cancel()
		}
	}})
	if err == nil || !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted sync: %v", err)
	}
	st, err := f.engine.Store.StreamState(context.Background(), "t", catalog.TypeHosts)
	if err != nil {
		t.Fatal(err)
	}
	if st.Phase != store.PhasePaging || st.Marker == "" || st.Marker == "reconcile" {
		t.Fatalf("hosts state after the interruption: %+v, want paging with an asset id cursor", st)
	}
	written, err := f.engine.Store.Count(context.Background(), "t", catalog.TypeHosts)
	if err != nil || written == 0 || written >= 150 {
		t.Fatalf("%d hosts written before the interruption (%v)", written, err)
	}

	clk.set(0)
	resumed, err := f.engine.Sync(context.Background(), "t", qsync.Options{Types: hostTypes})
	if err != nil {
		t.Fatal(err)
	}
	hc := resumed.Counts[catalog.TypeHosts]
	if hc.Added != 150-written || hc.Pages >= 8 {
		t.Errorf("resumed hosts pull: %+v, want %d added in fewer than 8 pages", hc, 150-written)
	}
	checkHostStore(t, f, f.sim.HostAssets(), nil)

	full, err := f.engine.Sync(context.Background(), "t", qsync.Options{Full: true, Types: hostTypes})
	if err != nil {
		t.Fatal(err)
	}
	if resumed.Requests >= full.Requests {
		t.Errorf("resumed run made %d requests, a full pull %d", resumed.Requests, full.Requests)
	}
	for _, typ := range hostTypes {
		if c := full.Counts[typ]; c.Added+c.Changed+c.Removed != 0 {
			t.Errorf("full pull after the resumed one %s: %+v, want nothing new", typ, c)
		}
	}
	checkHostStore(t, f, f.sim.HostAssets(), nil)
}
