package sim

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// TypeHosts is the Mutation type that changes the hosts and detections of
// the classic XML APIs (see HostMutation).
const TypeHosts = "hosts"

// HostMutation changes the hosts and detections the classic XML APIs
// serve, at the clock's now (truncated to the second, as the APIs render
// times), for incremental-sync tests and demos:
//
//   - AddHosts new server hosts, after the last asset and host ids, each
//     with 1..6 new detections (created, modified and processed now);
//   - ChangeHosts existing hosts get another criticality and tag (and an
//     agent check-in now): modified now, so the host asset search's
//     updated GREATER filter returns them; their detections are untouched;
//   - RemoveHosts existing hosts disappear from both APIs (as a purged
//     asset does: nothing lists the deletion);
//   - NewDetections new open detections (status New) on existing hosts,
//     of QIDs whose knowledge base entries list CVEs (CVE-2024-3094 on about
//     half the Linux hosts that lack it);
//   - FixDetections open detections of existing hosts become Fixed.
//
// A host whose detections change is processed now (LAST_VM_SCANNED_DATE,
// the vm_processed_after filter) but its asset is not modified: a delta
// sees the new findings only through the detection list. Hosts picked for
// removal get no other change; changed, new-detection and fixed hosts may
// overlap. The same server state and Seed give the same result.
type HostMutation struct {
	AddHosts      int   `json:"addHosts"`
	ChangeHosts   int   `json:"changeHosts"`
	RemoveHosts   int   `json:"removeHosts"`
	NewDetections int   `json:"newDetections"`
	FixDetections int   `json:"fixDetections"`
	Seed          int64 `json:"seed"`
}

// DetectionRef names one detection: the host (both ids) and the QID.
type DetectionRef struct {
	AssetID int64 `json:"assetId"`
	HostID  int64 `json:"hostId"`
	QID     int   `json:"qid"`
}

func (d DetectionRef) String() string { return fmt.Sprintf("%d/%d", d.AssetID, d.QID) }

// HostMutationResult lists what a HostMutation did: asset ids of the hosts
// added, changed and removed (ascending), and the detections added and
// fixed. ChangeHosts, RemoveHosts and FixDetections are capped at what
// exists. Error is set, and nothing changed, when the mutation was refused.
type HostMutationResult struct {
	Added           []int64        `json:"added"`
	Changed         []int64        `json:"changed"`
	Removed         []int64        `json:"removed"`
	NewDetections   []DetectionRef `json:"newDetections"`
	FixedDetections []DetectionRef `json:"fixedDetections"`
	Error           string         `json:"error,omitempty"`
}

// MutateHosts applies m (see HostMutation) and returns what changed. The
// change is visible to the next request and to HostAssets, Detections and
// KnowledgeBase; a page being served is cut from the state before it.
// Mutations are serialised.
func (s *Server) MutateHosts(m HostMutation) HostMutationResult { return s.x.mutate(m) }

// mutateHostsVia applies a Mutation of TypeHosts (Add, Change, Remove are
// hosts), for Server.Mutate and POST /_sim/mutate.
func (s *Server) mutateHostsVia(m Mutation) MutationResult {
	hr := s.MutateHosts(HostMutation{AddHosts: m.Add, ChangeHosts: m.Change, RemoveHosts: m.Remove,
		NewDetections: m.NewDetections, FixDetections: m.FixDetections, Seed: m.Seed})
	res := MutationResult{Type: TypeHosts, Added: []string{}, Changed: []string{}, Removed: []string{},
		NewDetections: []string{}, FixedDetections: []string{}, Error: hr.Error}
	ids := func(xs []int64) []string {
		out := make([]string, len(xs))
		for i, x := range xs {
			out[i] = strconv.FormatInt(x, 10)
		}
		return out
	}
	refs := func(xs []DetectionRef) []string {
		out := make([]string, len(xs))
		for i, x := range xs {
			out[i] = x.String()
		}
		return out
	}
	if hr.Error == "" {
		res.Added, res.Changed, res.Removed = ids(hr.Added), ids(hr.Changed), ids(hr.Removed)
		res.NewDetections, res.FixedDetections = refs(hr.NewDetections), refs(hr.FixedDetections)
	}
	return res
}

func (x *xmlAPI) mutate(m HostMutation) HostMutationResult {
	res := HostMutationResult{Added: []int64{}, Changed: []int64{}, Removed: []int64{},
		NewDetections: []DetectionRef{}, FixedDetections: []DetectionRef{}}
	if m.AddHosts < 0 || m.ChangeHosts < 0 || m.RemoveHosts < 0 || m.NewDetections < 0 || m.FixDetections < 0 {
		res.Error = fmt.Sprintf("addHosts, changeHosts, removeHosts, newDetections and fixDetections must not be negative (got %d, %d, %d, %d, %d)",
			m.AddHosts, m.ChangeHosts, m.RemoveHosts, m.NewDetections, m.FixDetections)
		return res
	}
	x.data()
	x.mutateMu.Lock()
	defer x.mutateMu.Unlock()
	now := x.s.now().UTC().Truncate(time.Second)
	r := newRNG(m.Seed, "xml-mutate/"+strconv.FormatInt(x.s.opt.Seed, 10))
	old := *x.hosts.Load()

	// Removed hosts, then the survivors (copies of the structs: a host is
	// deep-copied before its first change, so served snapshots stay intact).
	removed := map[int]bool{}
	for _, i := range pickDistinct(r, len(old), min(m.RemoveHosts, len(old))) {
		removed[i] = true
		res.Removed = append(res.Removed, old[i].AssetID)
	}
	hosts := make([]Host, 0, len(old)-len(removed)+m.AddHosts)
	for i, h := range old {
		if !removed[i] {
			hosts = append(hosts, h)
		}
	}
	copied := map[int]bool{}
	own := func(i int) *Host {
		if !copied[i] {
			hosts[i] = cloneHost(hosts[i])
			copied[i] = true
		}
		return &hosts[i]
	}

	for _, i := range pickDistinct(r, len(hosts), min(m.ChangeHosts, len(hosts))) {
		h := own(i)
		if c := r.between(1, 4); c >= h.Criticality {
			h.Criticality = c + 1
		} else {
			h.Criticality = c
		}
		var tags []string
		for _, t := range hostTags {
			if t != "Cloud Agent" && !slices.Contains(h.Tags, t) {
				tags = append(tags, t)
			}
		}
		if len(tags) > 0 {
			h.Tags = append(h.Tags, r.pick(tags))
		}
		if h.Agent {
			h.LastCheckedIn = now
		}
		h.Modified = now
		res.Changed = append(res.Changed, h.AssetID)
	}

	// Fixes first (of detections that existed before this mutation), then
	// new detections.
	type slot struct{ host, det int }
	var open []slot
	for i, h := range hosts {
		for k, d := range h.Detections {
			if d.Status != "Fixed" {
				open = append(open, slot{i, k})
			}
		}
	}
	for _, j := range pickDistinct(r, len(open), min(m.FixDetections, len(open))) {
		h := own(open[j].host)
		d := &h.Detections[open[j].det]
		d.Status = "Fixed"
		h.LastVMScanned = now
		res.FixedDetections = append(res.FixedDetections, DetectionRef{h.AssetID, h.HostID, d.QID})
	}
	if len(hosts) > 0 {
		for range m.NewDetections {
			i := r.intn(len(hosts))
			h := own(i)
			qid, ok := x.newQID(r, h)
			if !ok {
				continue // every QID of the platform is already there
			}
			h.Detections = append(h.Detections, x.newDetection(qid, now))
			slices.SortFunc(h.Detections, func(a, b Detection) int { return a.QID - b.QID })
			h.LastVMScanned = now
			res.NewDetections = append(res.NewDetections, DetectionRef{h.AssetID, h.HostID, qid})
		}
	}

	assetID, hostID := int64(11000000), int64(200000)
	for _, h := range old { // the removed hosts' ids are not reused
		assetID, hostID = max(assetID, h.AssetID), max(hostID, h.HostID)
	}
	for range m.AddHosts {
		assetID += int64(r.between(1, 5))
		hostID += int64(r.between(1, 3))
		h := x.newHost(r, assetID, hostID, now)
		for range r.between(1, 6) {
			if qid, ok := x.newQID(r, &h); ok {
				h.Detections = append(h.Detections, x.newDetection(qid, now))
			}
		}
		slices.SortFunc(h.Detections, func(a, b Detection) int { return a.QID - b.QID })
		hosts = append(hosts, h)
		res.Added = append(res.Added, h.AssetID)
	}

	slices.Sort(res.Removed)
	slices.Sort(res.Changed)
	x.hosts.Store(&hosts)
	return res
}

// platformOf is the knowledge-base platform of a host.
func platformOf(h *Host) string {
	if strings.HasPrefix(h.OS, "Windows") {
		return "windows"
	}
	return "linux"
}

// newQID picks a QID the host does not have, of its platform or of any,
// whose knowledge base entry lists CVEs: CVE-2024-3094 (QID 380001) for
// about half the Linux hosts without it.
func (x *xmlAPI) newQID(r *rng, h *Host) (int, bool) {
	has := func(q int) bool {
		return slices.ContainsFunc(h.Detections, func(d Detection) bool { return d.QID == q })
	}
	p := platformOf(h)
	if p == "linux" && !has(380001) && r.chance(0.5) {
		return 380001, true
	}
	var pool []int
	for _, v := range x.kb {
		if len(v.CVEs) > 0 && (v.platform == "" || v.platform == p) && !has(v.QID) {
			pool = append(pool, v.QID)
		}
	}
	if len(pool) == 0 {
		return 0, false
	}
	return pool[r.intn(len(pool))], true
}

func (x *xmlAPI) newDetection(qid int, now time.Time) Detection {
	v := x.kb[x.kbIdx[qid]]
	d := Detection{QID: qid, Type: "Confirmed", Severity: v.Severity, Status: "New", FirstFound: now, LastFound: now, TimesFound: 1}
	if v.Type == "Potential Vulnerability" {
		d.Type = "Potential"
	}
	return d
}

// newHost is an added server host (no Entra device), first seen now.
func (x *xmlAPI) newHost(r *rng, assetID, hostID int64, now time.Time) Host {
	h := Host{AssetID: assetID, HostID: hostID, Criticality: r.between(1, 5), OS: r.pick(serverOSes), Agent: r.chance(0.8)}
	h.Name = fmt.Sprintf("srv-%s-n%d", serverRoles[r.intn(len(serverRoles))], assetID%1000000)
	h.FQDN = h.Name + "." + hostDomain
	h.DNSHostName = h.FQDN
	h.NetBIOS = strings.ToUpper(h.Name)
	if len(h.NetBIOS) > 15 {
		h.NetBIOS = h.NetBIOS[:15]
	}
	subnet := r.between(0, 63)
	h.Address = fmt.Sprintf("10.%d.%d.%d", 20+subnet/16, subnet%16*16+r.between(0, 15), r.between(2, 254))
	name := "eth0"
	if strings.HasPrefix(h.OS, "Windows") {
		name = "Ethernet0"
	}
	h.Interfaces = []HostInterface{{Name: name, MAC: fmt.Sprintf("00:50:56:%02x:%02x:%02x", r.intn(256), r.intn(256), r.intn(256)),
		Address: h.Address, Gateway: h.Address[:strings.LastIndexByte(h.Address, '.')] + ".1"}}
	h.Tags = []string{r.pick(hostTags[1:])}
	if h.Agent {
		h.Tags = append([]string{"Cloud Agent"}, h.Tags...)
		h.LastCheckedIn = now
	}
	h.Created, h.Modified, h.LastVulnScan, h.LastVMScanned = now, now, now, now
	h.LastSystemBoot = now.Add(-time.Duration(r.between(600, 30*86400)) * time.Second)
	return h
}
