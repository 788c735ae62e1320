package sim

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	graphsim "qtc/api/sim/graph"
)

// Host is one simulated Qualys host, as the classic XML APIs serve it: the
// host asset (POST /qps/rest/2.0/search/am/hostasset) and, when it has
// detections, its entry in the VM host detection list.
type Host struct {
	AssetID     int64  // HostAsset id (asset search paging key)
	HostID      int64  // qwebHostId = HOST/ID of the detection list
	Name        string // HostAsset name
	DNSHostName string // dnsHostName (lower-case FQDN)
	FQDN        string
	NetBIOS     string
	Address     string // primary IPv4 address
	OS          string
	Interfaces  []HostInterface
	Criticality int      // criticalityScore, 1..5
	Tags        []string // tag names (TagSimple)
	Agent       bool     // tracked by the cloud agent (has agentInfo/lastCheckedIn)

	Created, Modified time.Time
	LastVulnScan      time.Time
	LastCheckedIn     time.Time // zero when !Agent
	LastSystemBoot    time.Time
	LastVMScanned     time.Time // detection list LAST_VM_SCANNED_DATE (vm_processed_after filter)

	// EntraDeviceID is the id of the Graph simulator device (same Seed and
	// Scale, default counts) whose displayName this host carries; "" for
	// hosts with no Entra device.
	EntraDeviceID string

	Detections []Detection // in QID order; empty hosts are left out of the detection list
}

// HostInterface is one HostAssetInterface entry.
type HostInterface struct {
	Name, MAC, Address, Gateway string
}

// Detection is one DETECTION of a host.
type Detection struct {
	QID        int
	Type       string // Confirmed, Potential
	Severity   int    // 1..5
	Status     string // New, Active, Fixed, Re-Opened
	FirstFound time.Time
	LastFound  time.Time
	TimesFound int
}

// Vuln is one knowledge base entry.
type Vuln struct {
	QID       int
	Type      string // Vulnerability, Potential Vulnerability, Information Gathered
	Severity  int
	Title     string
	Category  string
	CVEs      []string
	Published time.Time
	platform  string // "windows", "linux" or "" (any)
}

// Default host counts per scale.
const (
	smallHosts = 200
	seedHosts  = 30000
	smallVulns = 300
	seedVulns  = 3000
)

// hostCount is the number of hosts a server built with o serves.
func (o Options) hostCount() int {
	switch {
	case o.Hosts < 0:
		return 0
	case o.Hosts > 0:
		return o.Hosts
	case o.Scale == ScaleSeed:
		return seedHosts
	}
	return smallHosts
}

func (o Options) vulnCount() int {
	if o.Scale == ScaleSeed {
		return seedVulns
	}
	return smallVulns
}

// famousVulns are fixed knowledge-base entries placed first, so that tests
// and demos can look for well-known CVEs (CVE-2024-3094 on Linux hosts).
var famousVulns = []Vuln{
	{QID: 380001, Type: "Vulnerability", Severity: 5, Title: "XZ Utils Backdoor Vulnerability (liblzma)", Category: "Local", CVEs: []string{"CVE-2024-3094"}, platform: "linux"},
	{QID: 380002, Type: "Vulnerability", Severity: 5, Title: "OpenSSH Remote Unauthenticated Code Execution (regreSSHion)", Category: "General remote services", CVEs: []string{"CVE-2024-6387"}, platform: "linux"},
	{QID: 380003, Type: "Vulnerability", Severity: 5, Title: "Apache Log4j Remote Code Execution (Log4Shell)", Category: "Local", CVEs: []string{"CVE-2021-44228", "CVE-2021-45046"}},
	{QID: 380004, Type: "Vulnerability", Severity: 4, Title: "Microsoft Outlook Remote Code Execution Vulnerability (MonikerLink)", Category: "Windows", CVEs: []string{"CVE-2024-21413"}, platform: "windows"},
	{QID: 380005, Type: "Vulnerability", Severity: 4, Title: "Google Chrome libwebp Heap Buffer Overflow", Category: "Local", CVEs: []string{"CVE-2023-4863"}},
	{QID: 380006, Type: "Information Gathered", Severity: 1, Title: "Operating System Detected", Category: "Information gathering"},
}

var (
	kbVendors    = []string{"Microsoft Windows", "Microsoft Office", "Mozilla Firefox", "Google Chrome", "OpenSSL", "Oracle Java SE", "Apache HTTP Server", "Linux Kernel", "glibc", "sudo", "curl", "Adobe Acrobat Reader", "VMware Tools", "Python", "Node.js"}
	kbKinds      = []string{"Remote Code Execution Vulnerability", "Elevation of Privilege Vulnerability", "Security Update", "Multiple Vulnerabilities", "Denial of Service Vulnerability", "Information Disclosure Vulnerability"}
	kbCategories = []string{"Windows", "Local", "General remote services", "Web server", "Security Policy"}
	detStatus    = []string{"New", "Active", "Active", "Active", "Fixed", "Re-Opened"}
	hostTags     = []string{"Cloud Agent", "Production", "Workstations", "Servers", "PCI", "EMEA", "Americas", "APAC", "Critical Assets"}
	serverRoles  = []string{"web", "db", "app", "file", "dc", "k8s", "mq", "build"}
	serverOSes   = []string{"Windows Server 2022 Datacenter 64 bit Edition", "Windows Server 2019 Standard 64 bit Edition", "Red Hat Enterprise Linux 9.3", "Ubuntu Linux 22.04", "Debian GNU/Linux 12", "Amazon Linux 2023"}
)

// genKB generates the knowledge base: famousVulns, then generated entries,
// in ascending QID order.
func genKB(seed int64, n int, day0 time.Time) []Vuln {
	r := newRNG(seed, "xml-kb")
	out := make([]Vuln, 0, max(n, len(famousVulns)))
	for _, v := range famousVulns {
		v.Published = day0.AddDate(0, 0, -r.between(30, 900))
		out = append(out, v)
	}
	qid := 105000
	for len(out) < n {
		qid += r.between(1, 9)
		v := Vuln{QID: qid, Category: r.pick(kbCategories), Published: day0.AddDate(0, 0, -r.between(1, 2000))}
		vendor := r.pick(kbVendors)
		switch {
		case r.chance(0.12):
			v.Type, v.Severity = "Information Gathered", r.between(1, 2)
			v.Title = vendor + " Version Detected"
		default:
			v.Type = "Vulnerability"
			if r.chance(0.2) {
				v.Type = "Potential Vulnerability"
			}
			v.Severity = r.between(1, 5)
			v.Title = vendor + " " + r.pick(kbKinds)
			year := v.Published.Year()
			for range r.between(0, 4) {
				v.CVEs = append(v.CVEs, fmt.Sprintf("CVE-%d-%d", year, r.between(1000, 52000)))
			}
		}
		switch {
		case strings.HasPrefix(vendor, "Microsoft"):
			v.platform = "windows"
		case vendor == "Linux Kernel" || vendor == "glibc" || vendor == "sudo":
			v.platform = "linux"
		}
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].QID < out[j].QID })
	return out
}

// entraDevice is a Graph simulator device that a Qualys agent would cover.
type entraDevice struct{ id, name, os, version string }

// entraDevices returns the Windows and Linux devices of the Graph
// simulator built with the same seed and scale (default counts), in listing
// order. Generating the tenant takes ~3 s at ScaleSeed; it is done once,
// on first use of the XML APIs.
func entraDevices(seed int64, scale string) []entraDevice {
	g := graphsim.New(graphsim.Options{Seed: seed, Scale: scale, Logger: slog.New(slog.DiscardHandler)})
	defer func() { _ = g.Close() }()
	var out []entraDevice
	for _, d := range g.Truth().Devices {
		var p struct {
			OS      string `json:"operatingSystem"`
			Version string `json:"operatingSystemVersion"`
		}
		if json.Unmarshal(d.JSON, &p) != nil || (p.OS != "Windows" && p.OS != "Linux") {
			continue
		}
		out = append(out, entraDevice{id: d.ID, name: d.DisplayName, os: p.OS, version: p.Version})
	}
	return out
}

// qualysOS renders an Entra device's OS the way the Qualys agent reports it.
func qualysOS(d entraDevice) string {
	if d.os == "Linux" {
		return "Ubuntu Linux " + d.version
	}
	build := d.version
	if parts := strings.Split(d.version, "."); len(parts) >= 3 {
		build = parts[2]
	}
	switch build {
	case "26100":
		return "Windows 11 Enterprise 64 bit Edition Version 24H2"
	case "22631":
		return "Windows 11 Enterprise 64 bit Edition Version 23H2"
	case "22621":
		return "Windows 11 Enterprise 64 bit Edition Version 22H2"
	case "19045":
		return "Windows 10 Enterprise 64 bit Edition Version 22H2"
	case "20348":
		return "Windows Server 2022 Datacenter 64 bit Edition"
	case "17763":
		return "Windows Server 2019 Datacenter 64 bit Edition"
	}
	return "Windows " + d.version
}

// hostDomain is the DNS domain of simulated hosts.
const hostDomain = "corp.qtcsim.example"

// genHosts generates n hosts. About 60 % carry the name of a Windows or
// Linux device of the Graph simulator (every fourth such device is left
// without a Qualys host, so coverage finds Entra-only devices); every
// seventh of those names is lower-cased, as agents on some hosts report
// it. The rest are servers with no Entra device ("srv-web-0001", ...).
// Hosts are ordered by AssetID (and HostID, which grows with it).
func genHosts(seed int64, n int, devices []entraDevice, kb []Vuln, day0 time.Time) []Host {
	r := newRNG(seed, "xml-hosts")
	var picked []entraDevice
	for i, d := range devices {
		if i%4 != 3 {
			picked = append(picked, d)
		}
	}
	matched := min(len(picked), n*3/5)
	type spec struct {
		dev    *entraDevice
		server int
	}
	specs := make([]spec, 0, n)
	for i := range matched {
		specs = append(specs, spec{dev: &picked[i]})
	}
	for i := 0; len(specs) < n; i++ {
		specs = append(specs, spec{server: i + 1})
	}
	r.shuffle(len(specs), func(i, j int) { specs[i], specs[j] = specs[j], specs[i] })

	var byPlatform = map[string][]int{}
	for i, v := range kb {
		byPlatform[v.platform] = append(byPlatform[v.platform], i)
	}
	qidIndex := map[int]int{}
	for i, v := range kb {
		qidIndex[v.QID] = i
	}

	hosts := make([]Host, 0, n)
	assetID, hostID := int64(11000000), int64(200000)
	for i, sp := range specs {
		assetID += int64(r.between(1, 5))
		hostID += int64(r.between(1, 3))
		h := Host{AssetID: assetID, HostID: hostID, Criticality: r.between(1, 5)}
		if sp.dev != nil {
			h.Name, h.OS, h.EntraDeviceID, h.Agent = sp.dev.name, qualysOS(*sp.dev), sp.dev.id, true
			if i%7 == 0 {
				h.Name = strings.ToLower(h.Name)
			}
		} else {
			h.Name = fmt.Sprintf("srv-%s-%04d", serverRoles[sp.server%len(serverRoles)], sp.server)
			h.OS = r.pick(serverOSes)
			h.Agent = r.chance(0.8)
		}
		short := strings.ToLower(h.Name)
		h.FQDN = short + "." + hostDomain
		h.DNSHostName = h.FQDN
		h.NetBIOS = strings.ToUpper(short)
		if len(h.NetBIOS) > 15 {
			h.NetBIOS = h.NetBIOS[:15]
		}
		subnet := r.between(0, 63)
		h.Address = fmt.Sprintf("10.%d.%d.%d", 20+subnet/16, subnet%16*16+r.between(0, 15), r.between(2, 254))
		gw := h.Address[:strings.LastIndexByte(h.Address, '.')] + ".1"
		mac := fmt.Sprintf("00:50:56:%02x:%02x:%02x", r.intn(256), r.intn(256), r.intn(256))
		h.Interfaces = []HostInterface{{Name: "eth0", MAC: mac, Address: h.Address, Gateway: gw}}
		if r.chance(0.25) {
			addr2 := fmt.Sprintf("192.168.%d.%d", r.between(0, 255), r.between(2, 254))
			h.Interfaces = append(h.Interfaces, HostInterface{Name: "eth1",
				MAC:     fmt.Sprintf("00:15:5d:%02x:%02x:%02x", r.intn(256), r.intn(256), r.intn(256)),
				Address: addr2, Gateway: addr2[:strings.LastIndexByte(addr2, '.')] + ".1"})
		}
		if strings.HasPrefix(h.OS, "Windows") {
			for k := range h.Interfaces {
				h.Interfaces[k].Name = fmt.Sprintf("Ethernet%d", k)
			}
		}
		h.Tags = []string{r.pick(hostTags)}
		if h.Agent {
			h.Tags = append([]string{"Cloud Agent"}, h.Tags...)
		}
		if h.Tags[len(h.Tags)-1] == "Cloud Agent" && len(h.Tags) > 1 {
			h.Tags = h.Tags[:1]
		}
		h.Created = day0.Add(-time.Duration(r.between(30, 900)) * 24 * time.Hour).Add(time.Duration(r.intn(86400)) * time.Second)
		h.LastVMScanned = day0.Add(-time.Duration(r.intn(30*86400)) * time.Second)
		h.LastVulnScan = h.LastVMScanned
		if h.Agent {
			h.LastCheckedIn = day0.Add(-time.Duration(r.intn(7*86400)) * time.Second)
		}
		h.LastSystemBoot = h.LastVMScanned.Add(-time.Duration(r.between(1, 60*86400)) * time.Second)
		h.Modified = h.LastVMScanned
		if h.LastCheckedIn.After(h.Modified) {
			h.Modified = h.LastCheckedIn
		}

		// Detections: vulnerabilities of the host's platform or of any.
		platform := "linux"
		if strings.HasPrefix(h.OS, "Windows") {
			platform = "windows"
		}
		pool := append(append([]int(nil), byPlatform[""]...), byPlatform[platform]...)
		seen := map[int]bool{}
		var qids []int
		if platform == "linux" && r.chance(0.35) {
			qids = append(qids, 380001)
		}
		if platform == "windows" && r.chance(0.4) {
			qids = append(qids, 380004)
		}
		for range r.between(0, 12) {
			qids = append(qids, kb[pool[r.intn(len(pool))]].QID)
		}
		for _, qid := range qids {
			if seen[qid] {
				continue
			}
			seen[qid] = true
			v := kb[qidIndex[qid]]
			first := h.LastVMScanned.Add(-time.Duration(r.between(0, 400*86400)) * time.Second)
			if first.Before(v.Published) {
				first = v.Published.Add(time.Duration(r.intn(86400*20)) * time.Second)
			}
			if first.After(h.LastVMScanned) {
				first = h.LastVMScanned
			}
			d := Detection{QID: qid, Type: "Confirmed", Severity: v.Severity, Status: detStatus[r.intn(len(detStatus))],
				FirstFound: first, LastFound: h.LastVMScanned, TimesFound: r.between(1, 200)}
			if v.Type == "Potential Vulnerability" {
				d.Type = "Potential"
			}
			if d.Status == "New" {
				d.FirstFound, d.TimesFound = h.LastVMScanned, 1
			}
			h.Detections = append(h.Detections, d)
		}
		sort.Slice(h.Detections, func(a, b int) bool { return h.Detections[a].QID < h.Detections[b].QID })
		hosts = append(hosts, h)
	}
	return hosts
}

// cloneHost deep-copies h's slices.
func cloneHost(h Host) Host {
	h.Interfaces = append([]HostInterface(nil), h.Interfaces...)
	h.Tags = append([]string(nil), h.Tags...)
	h.Detections = append([]Detection(nil), h.Detections...)
	return h
}

// HostAssets returns every simulated host in asset id order (the order of
// the host asset search), with its detections. The slices are copies.
func (s *Server) HostAssets() []Host {
	hosts := s.x.hostList()
	out := make([]Host, len(hosts))
	for i, h := range hosts {
		out[i] = cloneHost(h)
	}
	return out
}

// Detections returns the hosts of the VM host detection list (those with at
// least one detection: the list leaves the others out) in HOST/ID order,
// keyed by nothing: each Host carries HostID and Detections. Copies.
func (s *Server) Detections() []Host {
	var out []Host
	for _, h := range s.x.hostList() {
		if len(h.Detections) > 0 {
			out = append(out, cloneHost(h))
		}
	}
	return out
}

// KnowledgeBase returns every knowledge base entry in QID order. Copies.
func (s *Server) KnowledgeBase() []Vuln {
	x := s.x.data()
	out := make([]Vuln, len(x.kb))
	for i, v := range x.kb {
		v.CVEs = append([]string(nil), v.CVEs...)
		out[i] = v
	}
	return out
}
