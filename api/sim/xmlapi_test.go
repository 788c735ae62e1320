package sim

import (
	"strings"
	"testing"

	graphsim "qtc/api/sim/graph"
)

// Hosts carry the names of the Graph simulator's devices (same Seed and
// Scale): a coverage join by name (case-insensitive) finds matches on both
// sides, and leaves some on each side unmatched.
func TestHostsShareNamesWithGraphDevices(t *testing.T) {
	s := New(Options{})
	hosts := s.HostAssets()
	if len(hosts) != smallHosts {
		t.Fatalf("%d hosts", len(hosts))
	}
	devices := map[string]string{} // lower-case name → id
	for _, d := range graphsim.New(graphsim.Options{}).Truth().Devices {
		devices[strings.ToLower(d.DisplayName)] = d.ID
	}
	matched, lower := 0, 0
	names := map[string]bool{}
	for i, h := range hosts {
		if i > 0 && (h.AssetID <= hosts[i-1].AssetID || h.HostID <= hosts[i-1].HostID) {
			t.Fatal("hosts not in id order")
		}
		names[strings.ToLower(h.Name)] = true
		id, ok := devices[strings.ToLower(h.Name)]
		switch {
		case h.EntraDeviceID != "" && id != h.EntraDeviceID:
			t.Errorf("host %q: device %q, Graph has %q", h.Name, h.EntraDeviceID, id)
		case h.EntraDeviceID != "":
			matched++
			if h.Name == strings.ToLower(h.Name) && strings.ToUpper(h.Name) != h.Name {
				lower++
			}
		case ok:
			t.Errorf("host %q has no device but Graph has one", h.Name)
		}
	}
	unmatchedDevices := 0
	for n := range devices {
		if !names[n] {
			unmatchedDevices++
		}
	}
	if matched < len(hosts)/2 || matched == len(hosts) || unmatchedDevices == 0 || lower == 0 {
		t.Errorf("matched %d of %d hosts (%d lower-cased), %d Entra devices without a host", matched, len(hosts), lower, unmatchedDevices)
	}
	det := s.Detections()
	if len(det) == 0 || len(det) >= len(hosts) {
		t.Errorf("%d hosts with detections of %d", len(det), len(hosts))
	}
	xz := false
	for _, v := range s.KnowledgeBase() {
		for _, c := range v.CVEs {
			xz = xz || c == "CVE-2024-3094"
		}
	}
	if !xz {
		t.Error("no CVE-2024-3094 in the knowledge base")
	}
}

func TestSeedScaleHosts(t *testing.T) {
	if testing.Short() {
		t.Skip("seed scale")
	}
	if n := (Options{Scale: ScaleSeed}).hostCount(); n != seedHosts {
		t.Fatalf("seed hosts %d", n)
	}
	if n := (Options{Hosts: -1}).hostCount(); n != 0 {
		t.Fatalf("negative hosts %d", n)
	}
}
