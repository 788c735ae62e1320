package graphsim

import (
	"slices"
	"strings"
	"sync"
	"time"
)

// directory is the simulated tenant: every object, relation and the change
// log delta queries read. mu guards everything; pages are cut under the
// read lock, so each page is a consistent snapshot.
type directory struct {
	mu sync.RWMutex

	seed         int64
	tenantID     string
	tenantName   string
	initialDom   string // qtcsim.onmicrosoft.com
	defaultDom   string // the verified custom domain
	day0         time.Time
	clientID     string
	secretExpiry time.Time

	lists [numKinds][]*obj // live objects of each kind, by seq
	byID  map[string]*obj  // lower-case id → live or soft-deleted object
	byUPN map[string]*obj  // lower-case userPrincipalName → user
	ids   map[string]struct{}

	seq    uint32
	asgSeq uint32
	cn     uint64      // change number of the last change
	logs   [4][]change // users, groups, devices, administrative units

	graphSP     *obj
	connectorSP *obj
	connector   *obj // the connector's application object

	mutations  int
	relVersion uint64 // bumped by every membership change (transitive cache)

	cacheMu    sync.Mutex
	transCache map[*obj]transEntry
	deltaCache map[deltaKey]*changeSet
	deltaOrder []deltaKey
}

type transEntry struct {
	version uint64
	list    []*obj
}

// change is one entry of a delta log: an object's own change (member nil;
// props says which properties changed) or a membership change of group o.
type change struct {
	cn     uint64
	o      *obj
	member *obj
	props  uint64
}

const allProps = ^uint64(0)

func propBit(k int) uint64 {
	if k >= 63 {
		return 1 << 63
	}
	return 1 << uint(k)
}

// logIndex returns the delta log of a kind, or -1 when the kind has no
// delta query here.
func logIndex(k kind) int {
	switch k {
	case kUser:
		return 0
	case kGroup:
		return 1
	case kDevice:
		return 2
	case kAU:
		return 3
	}
	return -1
}

// add registers a new live object.
func (d *directory) add(o *obj) {
	d.seq++
	o.seq = d.seq
	d.lists[o.k] = append(d.lists[o.k], o)
	d.byID[o.id] = o
	if o.k == kUser && o.upn != "" {
		d.byUPN[strings.ToLower(o.upn)] = o
	}
}

// lookup returns the live object of kind k with the given id (or, for
// users, userPrincipalName).
func (d *directory) lookup(k kind, key string) *obj {
	lk := strings.ToLower(key)
	o := d.byID[lk]
	if o == nil && k == kUser {
		o = d.byUPN[lk]
	}
	if o == nil || o.k != k || o.state != live {
		return nil
	}
	return o
}

// addMember makes m a direct member of g (a group, directory role or
// administrative unit).
func (d *directory) addMember(g, m *obj) bool {
	var ok bool
	if g.members, ok = insertBySeq(g.members, m); !ok {
		return false
	}
	m.memberOf, _ = insertBySeq(m.memberOf, g)
	d.relVersion++
	return true
}

func (d *directory) removeMember(g, m *obj) bool {
	var ok bool
	if g.members, ok = removeBySeq(g.members, m); !ok {
		return false
	}
	m.memberOf, _ = removeBySeq(m.memberOf, g)
	d.relVersion++
	return true
}

func (d *directory) newAssignment(r *rng, principal, resource *obj, roleID string, created time.Time) *assignment {
	d.asgSeq++
	a := &assignment{seq: d.asgSeq, id: r.token(43), appRoleID: roleID, created: fmtTime(created), principal: principal, resource: resource}
	principal.asg = append(principal.asg, a)
	resource.asgTo = append(resource.asgTo, a)
	return a
}

// logChange appends an own-change entry for o and returns its number.
func (d *directory) logChange(o *obj, props uint64) {
	li := logIndex(o.k)
	d.cn++
	if li >= 0 {
		d.logs[li] = append(d.logs[li], change{cn: d.cn, o: o, props: props})
	}
}

// logMember appends a membership change of g (a group or administrative
// unit: the kinds whose delta query tracks members).
func (d *directory) logMember(g, m *obj) {
	d.cn++
	if li := logIndex(g.k); li >= 0 && (g.k == kGroup || g.k == kAU) {
		d.logs[li] = append(d.logs[li], change{cn: d.cn, o: g, member: m})
	}
}

// transitive returns the members of g and of every group nested in it,
// without duplicates, by seq. The caller holds the read lock.
func (d *directory) transitive(g *obj) []*obj {
	d.cacheMu.Lock()
	if e, ok := d.transCache[g]; ok && e.version == d.relVersion {
		d.cacheMu.Unlock()
		return e.list
	}
	d.cacheMu.Unlock()
	seen := map[*obj]bool{g: true}
	var out []*obj
	queue := []*obj{g}
	for len(queue) > 0 {
		x := queue[0]
		queue = queue[1:]
		for _, m := range x.members {
			if seen[m] {
				continue
			}
			seen[m] = true
			out = append(out, m)
			if m.k == kGroup {
				queue = append(queue, m)
			}
		}
	}
	sortBySeq(out)
	d.cacheMu.Lock()
	if len(d.transCache) > 256 {
		clear(d.transCache)
	}
	d.transCache[g] = transEntry{version: d.relVersion, list: out}
	d.cacheMu.Unlock()
	return out
}

// removeLive drops o from its kind's live list.
func (d *directory) removeLive(o *obj) {
	d.lists[o.k], _ = removeBySeq(d.lists[o.k], o)
}

func (d *directory) insertLive(o *obj) {
	d.lists[o.k], _ = insertBySeq(d.lists[o.k], o)
}

// cloneList returns a copy of a relation list (for callers outside the lock).
func cloneList(l []*obj) []*obj { return slices.Clone(l) }
