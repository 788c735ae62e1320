package sim

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	qapi "qtc/api/qualys"
)

// xmlClient is a classic API client of the test server.
func xmlClient(t *testing.T, base string) *qapi.APIClient {
	t.Helper()
	d := Defaults(Options{})
	c, err := qapi.NewAPIClient(qapi.APIConfig{APIServerURL: base, Username: d.Username, Password: d.Password})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// servedAssets lists the asset ids the host asset search returns for
// assets updated after since (zero: all).
func servedAssets(t *testing.T, c *qapi.APIClient, since time.Time) []int64 {
	t.Helper()
	var out []int64
	err := c.HostAssets(context.Background(), qapi.HostAssetQuery{PageSize: 7, UpdatedAfter: since}, func(h qapi.HostAsset) error {
		out = append(out, h.ID)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// servedDetections lists the detection list's hosts processed after since.
func servedDetections(t *testing.T, c *qapi.APIClient, since time.Time) map[int64]qapi.DetectionHost {
	t.Helper()
	out := map[int64]qapi.DetectionHost{}
	err := c.HostDetections(context.Background(), qapi.DetectionQuery{TruncationLimit: 9, ProcessedAfter: since}, func(h qapi.DetectionHost) error {
		out[h.AssetID] = h
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestMutateHosts(t *testing.T) {
	s, base, clk := newTestServer(t, Options{Hosts: 60})
	c := xmlClient(t, base)
	before := s.HostAssets()
	if got := servedAssets(t, c, time.Time{}); len(got) != len(before) {
		t.Fatalf("served %d assets, HostAssets %d", len(got), len(before))
	}
	t0 := clk.Now()
	if got := servedAssets(t, c, t0); len(got) != 0 {
		t.Fatalf("%d assets updated after the clock's now before any mutation", len(got))
	}
	clk.Advance(3 * time.Hour)
	m := HostMutation{AddHosts: 3, ChangeHosts: 4, RemoveHosts: 2, NewDetections: 5, FixDetections: 3, Seed: 7}
	res := s.MutateHosts(m)
	if res.Error != "" || len(res.Added) != 3 || len(res.Changed) != 4 || len(res.Removed) != 2 || len(res.NewDetections) != 5 || len(res.FixedDetections) != 3 {
		t.Fatalf("result %+v", res)
	}
	now := clk.Now().UTC().Truncate(time.Second)

	// The same state and Seed give the same result.
	s2, _, clk2 := newTestServer(t, Options{Hosts: 60})
	clk2.Advance(3 * time.Hour)
	res2 := s2.MutateHosts(m)
	a, _ := json.Marshal(res)
	b, _ := json.Marshal(res2)
	if string(a) != string(b) {
		t.Fatalf("same mutation on the same state:\n%s\n%s", a, b)
	}

	after := s.HostAssets()
	if len(after) != len(before)+3-2 {
		t.Fatalf("%d hosts after, want %d", len(after), len(before)+1)
	}
	byID := map[int64]Host{}
	for i, h := range after {
		if i > 0 && (h.AssetID <= after[i-1].AssetID || h.HostID <= after[i-1].HostID) {
			t.Fatal("hosts not in id order after the mutation")
		}
		byID[h.AssetID] = h
	}
	old := map[int64]Host{}
	for _, h := range before {
		old[h.AssetID] = h
	}
	for _, id := range res.Removed {
		if _, ok := byID[id]; ok {
			t.Errorf("removed host %d still served", id)
		}
	}
	for _, id := range res.Changed {
		h, o := byID[id], old[id]
		if !h.Modified.Equal(now) || h.Criticality == o.Criticality || len(h.Tags) != len(o.Tags)+1 || !h.LastVMScanned.Equal(o.LastVMScanned) && !touched(res, id) {
			t.Errorf("changed host %d: %+v (was %+v)", id, h, o)
		}
	}
	for _, id := range res.Added {
		h := byID[id]
		if h.Name == "" || !h.Modified.Equal(now) || !h.Created.Equal(now) || !h.LastVMScanned.Equal(now) || len(h.Detections) == 0 {
			t.Errorf("added host %+v", h)
		}
	}
	kb := map[int]Vuln{}
	for _, v := range s.KnowledgeBase() {
		kb[v.QID] = v
	}
	for _, d := range res.NewDetections {
		h := byID[d.AssetID]
		k := slices.IndexFunc(h.Detections, func(x Detection) bool { return x.QID == d.QID })
		if k < 0 || h.Detections[k].Status != "New" || !h.Detections[k].FirstFound.Equal(now) || len(kb[d.QID].CVEs) == 0 {
			t.Errorf("new detection %v: %+v", d, h.Detections)
		}
		if !h.LastVMScanned.Equal(now) || h.Modified.Equal(now) && !slices.Contains(res.Changed, d.AssetID) {
			t.Errorf("host of new detection %v: processed %v, modified %v", d, h.LastVMScanned, h.Modified)
		}
	}
	for _, d := range res.FixedDetections {
		h := byID[d.AssetID]
		k := slices.IndexFunc(h.Detections, func(x Detection) bool { return x.QID == d.QID })
		if k < 0 || h.Detections[k].Status != "Fixed" || !h.LastVMScanned.Equal(now) {
			t.Errorf("fixed detection %v: %+v", d, h.Detections)
		}
		o := old[d.AssetID]
		if ok := slices.IndexFunc(o.Detections, func(x Detection) bool { return x.QID == d.QID }); ok < 0 || o.Detections[ok].Status == "Fixed" {
			t.Errorf("fixed detection %v was not open before", d)
		}
	}
	// The snapshot taken before is untouched (copy on write).
	for _, h := range before {
		if h.Modified.Equal(now) || h.LastVMScanned.Equal(now) {
			t.Fatalf("the mutation wrote into an earlier snapshot: host %d", h.AssetID)
		}
	}

	// The delta filters see exactly the changes.
	wantAssets := append(append([]int64(nil), res.Changed...), res.Added...)
	slices.Sort(wantAssets)
	if got := servedAssets(t, c, t0); !slices.Equal(got, wantAssets) {
		t.Errorf("assets updated after %v: %v, want %v", t0, got, wantAssets)
	}
	wantDet := map[int64]bool{}
	for _, id := range res.Added {
		wantDet[id] = true
	}
	for _, d := range append(append([]DetectionRef(nil), res.NewDetections...), res.FixedDetections...) {
		wantDet[d.AssetID] = true
	}
	got := servedDetections(t, c, t0)
	if len(got) != len(wantDet) {
		t.Errorf("detection list after %v: %d hosts, want %d", t0, len(got), len(wantDet))
	}
	for id := range wantDet {
		h, ok := got[id]
		if !ok || len(h.Detections) != len(byID[id].Detections) {
			t.Errorf("detection list lacks host %d or its detections", id)
		}
	}
	all := servedDetections(t, c, time.Time{})
	if len(all) != len(s.Detections()) {
		t.Errorf("detection list %d hosts, Detections %d", len(all), len(s.Detections()))
	}
	for _, id := range res.Removed {
		if _, ok := all[id]; ok {
			t.Errorf("removed host %d in the detection list", id)
		}
	}

	// CVE-2024-3094 is among the new detections for some seed.
	xz := false
	for seed := int64(1); seed <= 20 && !xz; seed++ {
		for _, d := range s.MutateHosts(HostMutation{NewDetections: 3, Seed: seed}).NewDetections {
			xz = xz || d.QID == 380001
		}
	}
	if !xz {
		t.Error("no new detection of CVE-2024-3094 in 20 mutations")
	}
}

// touched reports whether the mutation changed id's detections.
func touched(res HostMutationResult, id int64) bool {
	for _, d := range append(append([]DetectionRef(nil), res.NewDetections...), res.FixedDetections...) {
		if d.AssetID == id {
			return true
		}
	}
	return false
}

func TestMutateHostsEndpoint(t *testing.T) {
	s, base, _ := newTestServer(t, Options{Hosts: 30})
	n := len(s.HostAssets())
	for _, tc := range []struct {
		body   string
		status int
		want   string
	}{
		{`{"type":"hosts","add":2,"change":1,"remove":1,"newDetections":2,"fixDetections":1,"seed":3}`, 200, `"newDetections":["`},
		{`{"type":"hosts","add":-1}`, 400, "must not be negative"},
		{`{"type":"exceptions","newDetections":1}`, 400, "apply to type 'hosts' only"},
		{`{"type":"NOPE"}`, 400, "hosts"},
	} {
		resp, err := http.Post(base+simMutatePath, "application/json", strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		body := readAll(t, resp)
		if resp.StatusCode != tc.status || !strings.Contains(string(body), tc.want) {
			t.Errorf("%s: %d %s, want %d with %q", tc.body, resp.StatusCode, body, tc.status, tc.want)
		}
	}
	if got := len(s.HostAssets()); got != n+1 {
		t.Errorf("%d hosts after the endpoint's mutation, want %d", got, n+1)
	}
	res := s.Mutate(Mutation{Type: TypeHosts, Change: 1, FixDetections: 1, Seed: 9})
	if res.Error != "" || len(res.Changed) != 1 || len(res.FixedDetections) != 1 {
		t.Errorf("Mutate hosts: %+v", res)
	}
}
