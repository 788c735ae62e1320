package sync_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"qtc/api/qualys"
	"qtc/api/sim"
	"qtc/store"
	qsync "qtc/sync"
	"qtc/sync/catalog"
	"qtc/sync/relations"
	"qtc/ui/filter"
)

// hostFixture is a Qualys connector whose API URL is the simulator (which
// serves the classic XML APIs on the gateway's base URL).
func hostFixture(t *testing.T, opt sim.Options) *fixture {
	t.Helper()
	f := &fixture{t: t, dir: t.TempDir()}
	f.sim = sim.New(opt)
	srv := httptest.NewServer(f.sim.Handler())
	t.Cleanup(srv.Close)
	f.url = srv.URL
	f.open()
	d := sim.Defaults(opt)
	if _, err := f.engine.SaveQualys(context.Background(), qsync.QualysConnector{
		Name: "t", GatewayURL: f.url, APIURL: f.url, Username: d.Username, Password: d.Password, Resources: "none",
	}); err != nil {
		t.Fatal(err)
	}
	return f
}

// hostTruth is what the simulator says: each host's findings (with the
// knowledge base's CVEs) and each CVE's affected hosts (open findings).
type hostTruth struct {
	hosts    []sim.Host
	kb       map[int]sim.Vuln
	cveHosts map[string][]string // CVE → asset ids, sorted
	cveWorst map[string]int
}

func truthOf(s *sim.Server) hostTruth {
	t := hostTruth{hosts: s.HostAssets(), kb: map[int]sim.Vuln{}, cveHosts: map[string][]string{}, cveWorst: map[string]int{}}
	for _, v := range s.KnowledgeBase() {
		t.kb[v.QID] = v
	}
	for _, h := range t.hosts {
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

func TestHostsFindingsAndCVEs(t *testing.T) {
	f := hostFixture(t, sim.Options{Policies: 3, Exceptions: 3, Hosts: 120})
	ctx := context.Background()
	run, err := f.engine.Sync(ctx, "t", qsync.Options{})
	if err != nil {
		t.Fatal(err)
	}
	truth := truthOf(f.sim)

	// Every host, with its findings and their CVE ids.
	if n, _ := f.engine.Store.Count(ctx, "t", catalog.TypeHosts); n != len(truth.hosts) {
		t.Fatalf("stored %d hosts, simulator has %d", n, len(truth.hosts))
	}
	withFindings := 0
	for _, h := range truth.hosts {
		rec, err := f.engine.Store.Get(ctx, "t", catalog.TypeHosts, strconv.FormatInt(h.AssetID, 10))
		if err != nil {
			t.Fatalf("host %d: %v", h.AssetID, err)
		}
		var got struct {
			Name     string            `json:"name"`
			HostID   int64             `json:"hostId"`
			Findings []catalog.Finding `json:"findings"`
		}
		if err := json.Unmarshal(rec.Raw, &got); err != nil {
			t.Fatal(err)
		}
		if got.Name != h.Name || got.HostID != h.HostID {
			t.Fatalf("host %d: name %q hostId %d, want %q %d", h.AssetID, got.Name, got.HostID, h.Name, h.HostID)
		}
		if len(got.Findings) != len(h.Detections) {
			t.Fatalf("host %d: %d findings, want %d", h.AssetID, len(got.Findings), len(h.Detections))
		}
		if len(h.Detections) > 0 {
			withFindings++
		}
		for i, d := range h.Detections {
			g := got.Findings[i]
			want := truth.kb[d.QID]
			if g.QID != d.QID || g.Severity != d.Severity || g.Status != d.Status || !g.FirstFound.Equal(d.FirstFound) ||
				!g.LastFound.Equal(d.LastFound) || !slices.Equal(g.CVEs, want.CVEs) || g.Title != want.Title {
				t.Fatalf("host %d finding %d: got %+v, want %+v with %v", h.AssetID, i, g, d, want.CVEs)
			}
		}
		ids, _ := catalog.HostCVEs(got.Findings)
		if rec.Cells[7] != strings.Join(ids, ", ") {
			t.Fatalf("host %d CVES cell %q, want %q", h.AssetID, rec.Cells[7], strings.Join(ids, ", "))
		}
	}
	if withFindings == 0 {
		t.Fatal("no simulated host has findings")
	}
	if n, _ := f.engine.Store.Count(ctx, "t", catalog.TypeFindings); n != withFindings {
		t.Errorf("stored %d findings records, want %d (hosts with detections)", n, withFindings)
	}

	// The CVE index equals the truth's CVE → hosts map.
	checkCVEs(t, f, truth)
	if len(truth.cveHosts["CVE-2024-3094"]) == 0 {
		t.Fatal("no simulated host has CVE-2024-3094")
	}

	// Relations: from a CVE to its hosts and back.
	for _, c := range []string{"CVE-2024-3094", "CVE-2021-44228"} {
		gs, err := relations.Get(ctx, f.engine.Store, "t", catalog.TypeCVEs, c)
		if err != nil {
			t.Fatal(err)
		}
		if len(gs) != 1 || gs[0].Rel != relations.AffectedHosts {
			t.Fatalf("%s relations %+v", c, gs)
		}
		var ids []string
		for _, it := range gs[0].Items {
			if it.Type != catalog.TypeHosts || it.OpenType != catalog.TypeHosts || it.Name == "" {
				t.Fatalf("%s related %+v", c, it)
			}
			ids = append(ids, it.ID)
		}
		slices.Sort(ids)
		if !slices.Equal(ids, truth.cveHosts[c]) {
			t.Fatalf("%s affected hosts %v, want %v", c, ids, truth.cveHosts[c])
		}
		back, err := relations.Get(ctx, f.engine.Store, "t", catalog.TypeHosts, ids[0])
		if err != nil {
			t.Fatal(err)
		}
		if len(back) != 1 || !slices.ContainsFunc(back[0].Items, func(r relations.Related) bool { return r.ID == c && r.Type == catalog.TypeCVEs }) {
			t.Fatalf("host %s cves relation %+v lacks %s", ids[0], back, c)
		}
		exp, err := relations.Expand([]byte(`{"id":"x"}`), gs)
		if err != nil || !json.Valid(exp) {
			t.Fatalf("expand: %v %s", err, exp)
		}
	}

	// The filters of issue 6 over the stored host rows.
	rows := hostRows(t, f)
	titles := titlesOf(catalog.TypeHosts)
	count := func(q string) int {
		m, err := filter.Parse(q, titles)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		n := 0
		for _, c := range rows {
			if m(c) {
				n++
			}
		}
		return n
	}
	if got, want := count("cve:CVE-2024-3094"), len(truth.cveHosts["CVE-2024-3094"]); got != want {
		t.Errorf("cve:CVE-2024-3094 matches %d hosts, want %d", got, want)
	}
	wantWin, wantCrit := 0, 0
	for _, h := range truth.hosts {
		if strings.Contains(strings.ToLower(h.OS), "windows") {
			wantWin++
		}
		if h.Criticality >= 4 {
			wantCrit++
		}
	}
	if got := count("os:windows"); got != wantWin || got == 0 {
		t.Errorf("os:windows matches %d hosts, want %d", got, wantWin)
	}
	if got := count("crit>=4"); got != wantCrit || got == 0 {
		t.Errorf("crit>=4 matches %d hosts, want %d", got, wantCrit)
	}

	if run.Requests == 0 || run.State != qsync.StateProcessed {
		t.Errorf("run %+v", run)
	}

	// A delta run after nothing changed writes nothing new.
	run2, err := f.engine.Sync(ctx, "t", qsync.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if run2.Kind != qsync.ModeDelta {
		t.Errorf("second run kind %s, want delta", run2.Kind)
	}
	for _, typ := range []string{catalog.TypeFindings, catalog.TypeHosts, catalog.TypeCVEs} {
		c, ok := run2.Counts[typ]
		if !ok {
			t.Fatalf("second run has no %s counts", typ)
		}
		if c.Added+c.Changed+c.Removed != 0 {
			t.Errorf("second run %s: %+v, want nothing new", typ, c)
		}
	}
	checkCVEs(t, f, truth)

	// A full run (baseline) after nothing changed writes nothing new either.
	run3, err := f.engine.Sync(ctx, "t", qsync.Options{Full: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, typ := range []string{catalog.TypeFindings, catalog.TypeHosts, catalog.TypeCVEs} {
		if c := run3.Counts[typ]; c.Added+c.Changed+c.Removed != 0 {
			t.Errorf("full run %s: %+v, want nothing new", typ, c)
		}
	}
	if err := f.engine.Store.Check(ctx); err != nil {
		t.Fatal(err)
	}
}

func checkCVEs(t *testing.T, f *fixture, truth hostTruth) {
	t.Helper()
	got := map[string]catalog.CVE{}
	err := f.engine.Store.Each(context.Background(), "t", catalog.TypeCVEs, func(r store.Record) error {
		if !r.Removed.IsZero() {
			return nil
		}
		var c catalog.CVE
		if err := json.Unmarshal(r.Raw, &c); err != nil {
			return err
		}
		got[r.ID] = c
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(truth.cveHosts) {
		t.Fatalf("stored %d CVEs, truth has %d", len(got), len(truth.cveHosts))
	}
	for id, hosts := range truth.cveHosts {
		c := got[id]
		if !slices.Equal(c.HostIDs, hosts) || c.Hosts != len(hosts) || c.WorstSeverity != truth.cveWorst[id] {
			t.Fatalf("CVE %s: %+v, want hosts %v worst %d", id, c, hosts, truth.cveWorst[id])
		}
	}
}

func hostRows(t *testing.T, f *fixture) [][]string {
	t.Helper()
	var rows [][]string
	err := f.engine.Store.Each(context.Background(), "t", catalog.TypeHosts, func(r store.Record) error {
		rows = append(rows, r.Cells)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func titlesOf(typ string) []string {
	ct, _ := catalog.Lookup(typ)
	out := make([]string, len(ct.Columns))
	for i, c := range ct.Columns {
		out[i] = c.Title
	}
	return out
}

// Another client holding the API server's only concurrency slot makes the
// sync's calls answer 409 (CODE 1960): the sync waits as told, finishes,
// and the run says how many times it was held back.
func TestHostsConcurrencyLimitBackOff(t *testing.T) {
	opt := sim.Options{Policies: 1, Exceptions: 1, Hosts: 20, ConcurrencyLimit: 1, XMLWork: 50 * time.Millisecond}
	f := hostFixture(t, opt)
	ctx := context.Background()
	d := sim.Defaults(opt)
	other, err := qualys.NewAPIClient(qualys.APIConfig{APIServerURL: f.url, Username: d.Username, Password: d.Password})
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		deadline := time.After(600 * time.Millisecond)
		for {
			select {
			case <-stop:
				return
			case <-deadline:
				return
			default:
			}
			_ = other.KnowledgeBase(ctx, []int{380001}, func(qualys.Vuln) error { return nil })
		}
	})
	time.Sleep(20 * time.Millisecond) // the other client holds the slot
	run, err := f.engine.Sync(ctx, "t", qsync.Options{Types: []string{catalog.TypeFindings, catalog.TypeHosts, catalog.TypeCVEs}})
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if run.Throttled == 0 {
		t.Errorf("run throttled %d times, want > 0 (requests %d)", run.Throttled, run.Requests)
	}
	checkCVEs(t, f, truthOf(f.sim))
}

// A 401 from the API server (here: another simulator, whose users do not
// include the connector's) is explained in the run log with seed 004's
// advice; the gateway's streams still land (Partially Processed).
func TestHostsUnauthorizedExplained(t *testing.T) {
	f := hostFixture(t, sim.Options{Policies: 1, Exceptions: 1, Hosts: 5})
	ctx := context.Background()
	other := sim.New(sim.Options{Username: "someone-else", Hosts: 5})
	srv := httptest.NewServer(other.Handler())
	t.Cleanup(srv.Close)
	d := sim.Defaults(sim.Options{})
	if _, err := f.engine.SaveQualys(ctx, qsync.QualysConnector{
		Name: "t", GatewayURL: f.url, APIURL: srv.URL, Username: d.Username, Password: d.Password, Resources: "none",
	}); err != nil {
		t.Fatal(err)
	}
	run, err := f.engine.Sync(ctx, "t", qsync.Options{})
	if err == nil {
		t.Fatal("sync succeeded against an API server that refuses the credentials")
	}
	if run.State != qsync.StatePartiallyProcessed || !strings.Contains(run.Error, "HTTP 401") || !strings.Contains(run.Error, "Read Asset") {
		t.Fatalf("run %s: %q lacks the 401 advice", run.State, run.Error)
	}
}
