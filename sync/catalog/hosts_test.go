package catalog

import (
	"encoding/json"
	"testing"

	"qtc/store"
)

// The filters issue 6 names (cve:CVE-2024-3094, os:windows, crit>=4) need
// columns with those titles (the filter matches a title with its spaces
// removed, case-insensitively) and kinds.
func TestHostColumnsForFilters(t *testing.T) {
	hosts, ok := Lookup(TypeHosts)
	if !ok || hosts.Title != "Hosts" || hosts.ConnectorKind != "qualys" {
		t.Fatalf("hosts type %+v", hosts)
	}
	kinds := map[string]store.ColumnKind{}
	for _, c := range hosts.Columns {
		kinds[c.Title] = c.Kind
	}
	for title, kind := range map[string]store.ColumnKind{"NAME": store.Text, "FQDN": store.Text, "IP": store.Text, "MAC": store.Text,
		"OS": store.Text, "GATEWAY": store.Text, "CRIT": store.Number, "CVE": store.Text,
		"SEV5": store.Number, "SEV4": store.Number, "SEV3": store.Number, "LAST SEEN": store.Time} {
		if k, ok := kinds[title]; !ok || k != kind {
			t.Errorf("hosts column %s: kind %v (present %v), want %v", title, k, ok, kind)
		}
	}
	raw := json.RawMessage(`{"id":7,"hostId":9,"name":"web-01","dnsHostName":"web-01.corp.example","address":"10.0.0.7",
		"os":"Windows Server 2022","criticality":4,
		"interfaces":[{"macAddress":"00:11:22:33:44:55","address":"10.0.0.7","gatewayAddress":"10.0.0.1"},{"macAddress":"00:11:22:33:44:55","address":"fe80::1"}],
		"lastVulnScan":"2026-01-02T03:04:05Z","lastCheckedIn":"2026-01-03T00:00:00Z",
		"findings":[{"qid":1,"severity":5,"status":"Active","cves":["CVE-2024-3094"]},
		            {"qid":2,"severity":3,"status":"New","cves":["CVE-2024-3094","CVE-2021-44228"]},
		            {"qid":3,"severity":4,"status":"Fixed","cves":["CVE-2023-4863"]}]}`)
	r, err := hosts.Record(raw, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"web-01", "web-01.corp.example", "10.0.0.7", "00:11:22:33:44:55", "Windows Server 2022", "10.0.0.1", "4",
		"CVE-2021-44228, CVE-2024-3094", "1", "0", "1", "2026-01-03T00:00:00Z"}
	if r.ID != "7" || len(r.Cells) != len(want) {
		t.Fatalf("record %s cells %q", r.ID, r.Cells)
	}
	for i := range want {
		if r.Cells[i] != want[i] {
			t.Errorf("cell %s = %q, want %q", hosts.Columns[i].Title, r.Cells[i], want[i])
		}
	}

	cves, _ := Lookup(TypeCVEs)
	var titles []string
	for _, c := range cves.Columns {
		titles = append(titles, c.Title)
	}
	if cves.Title != "CVEs" || len(titles) != 5 || titles[0] != "CVE" || titles[1] != "HOSTS" || titles[2] != "WORST SEV" || titles[3] != "QIDS" || titles[4] != "TITLE" {
		t.Fatalf("cves columns %v", titles)
	}
	c, err := cves.Record(json.RawMessage(`{"id":"CVE-2021-44228","hosts":3,"worstSeverity":5,"qids":[380003],"titles":["Log4Shell"],"hostIds":["1","2","3"]}`), nil)
	if err != nil || c.ID != "CVE-2021-44228" || c.Cells[1] != "3" || c.Cells[2] != "5" || c.Cells[3] != "380003" {
		t.Fatalf("cve record %+v %v", c, err)
	}
}
