package catalog

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	"qtc/store"
)

// Qualys host assets and their CVE findings (seed 004), pulled from the
// classic XML APIs of the account's API server. Three types:
//
// findings — one record per host of the VM host detection list (id: the
// detection list's HOST/ID), its detections joined with the knowledge base:
//
//	{"id": 1001, "assetId": 5001, "ip", "dns", "fqdn", "os", "lastScan", "lastVmScanned",
//	 "detections": [{"qid", "type", "severity", "status", "firstFound", "lastFound",
//	                 "timesFound", "title", "cves": ["CVE-…"]}]}
//
// hosts — one record per host asset (id: the asset id), qualys.HostAsset's
// JSON with the host's findings merged in under "findings" (the detections
// of the findings record whose assetId is this host's id; [] when it has
// none):
//
//	{"id": 5001, "hostId": 1001, "name", "dnsHostName", "fqdn", "address", "os",
//	 "interfaces": [{"interfaceName", "macAddress", "address", "gatewayAddress"}],
//	 "criticality", "tags", "lastVulnScan", "lastCheckedIn", …,
//	 "findings": [ …the detections above… ]}
//
// cves — one record per CVE id named by an open finding (derived from the
// stored findings, not fetched; id: the CVE id):
//
//	{"id": "CVE-2024-3094", "hosts": 12, "worstSeverity": 5, "qids": [380001],
//	 "titles": ["XZ Utils Backdoor Vulnerability (liblzma)"], "hostIds": ["5001", …]}
//
// A finding is open unless its status is Fixed: only open findings count
// towards a host's CVE and SEV columns and a CVE's hosts.
const (
	TypeFindings = "findings"
	TypeHosts    = "hosts"
	TypeCVEs     = "cves"
)

// Finding is one detection of a host, with its knowledge base title and
// CVE ids.
type Finding struct {
	QID        int       `json:"qid"`
	Type       string    `json:"type,omitempty"`
	Severity   int       `json:"severity,omitempty"`
	Status     string    `json:"status,omitempty"`
	FirstFound time.Time `json:"firstFound,omitzero"`
	LastFound  time.Time `json:"lastFound,omitzero"`
	TimesFound int       `json:"timesFound,omitempty"`
	Title      string    `json:"title,omitempty"`
	CVEs       []string  `json:"cves,omitempty"`
}

// Open reports whether the finding still affects the host (not Fixed).
func (f Finding) Open() bool { return !strings.EqualFold(f.Status, "Fixed") }

// HostCVEs returns the distinct CVE ids of a host's open findings, sorted,
// each with the worst severity of the findings naming it.
func HostCVEs(findings []Finding) (ids []string, worst map[string]int) {
	worst = map[string]int{}
	for _, f := range findings {
		if !f.Open() {
			continue
		}
		for _, c := range f.CVEs {
			if s, ok := worst[c]; !ok || f.Severity > s {
				worst[c] = f.Severity
			}
		}
	}
	for c := range worst {
		ids = append(ids, c)
	}
	slices.Sort(ids)
	return ids, worst
}

// numericID reads the "id" field as a number (or string) and returns it
// as a decimal string.
func numericID(raw json.RawMessage) (string, error) {
	var v struct {
		ID json.Number `json:"id"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", err
	}
	return v.ID.String(), nil
}

func stringID(raw json.RawMessage) (string, error) {
	var v struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", err
	}
	return v.ID, nil
}

func timeCell(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func init() {
	register(Type{
		Name:          TypeFindings,
		Order:         10,
		Title:         "Findings",
		ConnectorKind: "qualys",
		Columns: []Column{
			{Title: "HOST", Kind: store.Text, MinWidth: 14, Flex: 3},
			{Title: "IP", Kind: store.Text, MinWidth: 7, MaxWidth: 15},
			{Title: "OS", Kind: store.Text, MinWidth: 8, MaxWidth: 30, Flex: 1},
			{Title: "FINDINGS", Kind: store.Number, MinWidth: 8, MaxWidth: 8, Right: true},
			{Title: "OPEN", Kind: store.Number, MinWidth: 5, MaxWidth: 5, Right: true},
			{Title: "LAST SCAN", Kind: store.Time, MinWidth: 10, MaxWidth: 16, Flex: 1},
		},
		ID: numericID,
		Cells: func(raw json.RawMessage, _ Resolver) ([]string, error) {
			var h struct {
				IP         string    `json:"ip"`
				DNS        string    `json:"dns"`
				FQDN       string    `json:"fqdn"`
				OS         string    `json:"os"`
				LastScan   time.Time `json:"lastScan"`
				Detections []Finding `json:"detections"`
			}
			if err := json.Unmarshal(raw, &h); err != nil {
				return nil, err
			}
			name := h.FQDN
			if name == "" {
				name = h.DNS
			}
			open := 0
			for _, d := range h.Detections {
				if d.Open() {
					open++
				}
			}
			return []string{name, h.IP, h.OS, itoa(len(h.Detections)), itoa(open), timeCell(h.LastScan)}, nil
		},
	})
	register(Type{
		Name:          TypeHosts,
		Order:         11,
		Title:         "Hosts",
		ConnectorKind: "qualys",
		Columns: []Column{
			{Title: "NAME", Kind: store.Text, MinWidth: 12, Flex: 3},
			{Title: "FQDN", Kind: store.Text, MinWidth: 14, Flex: 3},
			{Title: "IP", Kind: store.Text, MinWidth: 7, MaxWidth: 15},
			{Title: "MAC", Kind: store.Text, MinWidth: 8, MaxWidth: 17},
			{Title: "OS", Kind: store.Text, MinWidth: 8, MaxWidth: 30, Flex: 2},
			{Title: "GATEWAY", Kind: store.Text, MinWidth: 7, MaxWidth: 15},
			{Title: "CRIT", Kind: store.Number, MinWidth: 4, MaxWidth: 4, Right: true},
			{Title: "CVE", Kind: store.Text, MinWidth: 8, Flex: 2}, // the CVE ids, ", "-joined: cve:CVE-2024-3094 filters
			{Title: "SEV5", Kind: store.Number, MinWidth: 4, MaxWidth: 4, Right: true},
			{Title: "SEV4", Kind: store.Number, MinWidth: 4, MaxWidth: 4, Right: true},
			{Title: "SEV3", Kind: store.Number, MinWidth: 4, MaxWidth: 4, Right: true},
			{Title: "LAST SEEN", Kind: store.Time, MinWidth: 10, MaxWidth: 16, Flex: 1},
		},
		ID:    numericID,
		Cells: hostCells,
	})
	register(Type{
		Name:          TypeCVEs,
		Order:         12,
		Title:         "CVEs",
		ConnectorKind: "qualys",
		Columns: []Column{
			{Title: "CVE", Kind: store.Text, MinWidth: 14, MaxWidth: 16},
			{Title: "HOSTS", Kind: store.Number, MinWidth: 5, MaxWidth: 6, Right: true},
			{Title: "WORST SEV", Kind: store.Number, MinWidth: 9, MaxWidth: 9, Right: true},
			{Title: "QIDS", Kind: store.Text, MinWidth: 6, MaxWidth: 30, Flex: 1},
			{Title: "TITLE", Kind: store.Text, MinWidth: 20, Flex: 4},
		},
		DefaultSort: 1,
		DefaultDesc: true, // the most widespread first
		ID:          stringID,
		Cells: func(raw json.RawMessage, _ Resolver) ([]string, error) {
			var c CVE
			if err := json.Unmarshal(raw, &c); err != nil {
				return nil, err
			}
			qids := make([]string, len(c.QIDs))
			for i, q := range c.QIDs {
				qids[i] = strconv.Itoa(q)
			}
			return []string{c.ID, itoa(c.Hosts), itoa(c.WorstSeverity), strings.Join(qids, ", "), strings.Join(c.Titles, "; ")}, nil
		},
	})
}

// CVE is the record of one CVE (type cves).
type CVE struct {
	ID            string   `json:"id"`
	Hosts         int      `json:"hosts"`
	WorstSeverity int      `json:"worstSeverity"`
	QIDs          []int    `json:"qids"`
	Titles        []string `json:"titles"`
	HostIDs       []string `json:"hostIds"`
}

// hostCells reads a hosts record.
func hostCells(raw json.RawMessage, _ Resolver) ([]string, error) {
	var h struct {
		Name        string `json:"name"`
		DNSHostName string `json:"dnsHostName"`
		FQDN        string `json:"fqdn"`
		Address     string `json:"address"`
		OS          string `json:"os"`
		Interfaces  []struct {
			MAC     string `json:"macAddress"`
			Gateway string `json:"gatewayAddress"`
		} `json:"interfaces"`
		Criticality   int       `json:"criticality"`
		LastVulnScan  time.Time `json:"lastVulnScan"`
		LastCheckedIn time.Time `json:"lastCheckedIn"`
		Findings      []Finding `json:"findings"`
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		return nil, err
	}
	var macs, gws []string
	for _, i := range h.Interfaces {
		if i.MAC != "" && !slices.Contains(macs, i.MAC) {
			macs = append(macs, i.MAC)
		}
		if i.Gateway != "" && !slices.Contains(gws, i.Gateway) {
			gws = append(gws, i.Gateway)
		}
	}
	fqdn := h.FQDN
	if fqdn == "" {
		fqdn = h.DNSHostName
	}
	name := h.Name
	if name == "" {
		name = fqdn
	}
	crit := ""
	if h.Criticality > 0 {
		crit = itoa(h.Criticality)
	}
	ids, worst := HostCVEs(h.Findings)
	var sev [6]int
	for _, s := range worst {
		if s >= 1 && s <= 5 {
			sev[s]++
		}
	}
	seen := h.LastVulnScan
	if h.LastCheckedIn.After(seen) {
		seen = h.LastCheckedIn
	}
	return []string{name, fqdn, h.Address, strings.Join(macs, ", "), h.OS, strings.Join(gws, ", "), crit,
		strings.Join(ids, ", "), itoa(sev[5]), itoa(sev[4]), itoa(sev[3]), timeCell(seen)}, nil
}
