package ui

import (
	"context"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"qtc/api/sim"
	"qtc/store"
	"qtc/store/vault"
	qsync "qtc/sync"
)

// newHostsHarness is the app on a Qualys connector "q" whose API server
// (the simulator) serves host assets, detections and the knowledge base.
func newHostsHarness(t *testing.T, w, h int) (*harness, *sim.Server) {
	t.Helper()
	dueCheckEvery = 0
	dir := t.TempDir()
	s := sim.New(sim.Options{Policies: 5, Exceptions: 5, Hosts: 80})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	st, err := store.Open(filepath.Join(dir, "qtc.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	v, err := vault.Open(filepath.Join(dir, "key"))
	if err != nil {
		t.Fatal(err)
	}
	eng := &qsync.Engine{Store: st, Vault: v}
	d := sim.Defaults(sim.Options{})
	ctx := context.Background()
	if _, err := eng.SaveQualys(ctx, qsync.QualysConnector{Name: "q", GatewayURL: srv.URL, APIURL: srv.URL, Username: d.Username, Password: d.Password, Resources: "none"}); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Sync(ctx, "q", qsync.Options{}); err != nil {
		t.Fatal(err)
	}
	hn := &harness{t: t, app: newApp(ctx, Config{Engine: eng}), sim: s, eng: eng}
	hn.send(tea.WindowSizeMsg{Width: w, Height: h})
	hn.run(hn.app.Init())
	return hn, s
}

func TestHostsFilterByCVEAndCVEsWalkToHosts(t *testing.T) {
	h, s := newHostsHarness(t, 200, 40)
	// The simulator's truth: hosts with CVE-2024-3094 among open findings.
	want := map[string]bool{}
	kb := map[int][]string{}
	for _, v := range s.KnowledgeBase() {
		kb[v.QID] = v.CVEs
	}
	for _, host := range s.Detections() {
		for _, d := range host.Detections {
			if strings.EqualFold(d.Status, "Fixed") {
				continue
			}
			for _, c := range kb[d.QID] {
				if c == "CVE-2024-3094" {
					want[host.Name] = true
				}
			}
		}
	}
	if len(want) == 0 {
		t.Fatal("no simulator host has CVE-2024-3094")
	}
	h.open("hosts")
	h.contains("NAME", "CRIT", "CVE", "SEV5", "80 records")
	h.keys("/")
	h.typeText("cve:CVE-2024-3094")
	h.keys("enter")
	h.contains(fmt.Sprintf("%d of 80 records", len(want)))

	h.open("cves")
	h.contains("HOSTS ▼") // the most widespread first
	h.keys("/")
	h.typeText("cve=CVE-2024-3094")
	h.keys("enter")
	h.contains("1 of ", "CVE-2024-3094")
	h.keys("enter") // the CVE's detail opens on its affected hosts
	h.contains("Affected hosts", fmt.Sprintf("%d related", len(want)))
	h.keys("enter") // a host
	h.contains("Fields", "findings")
}
