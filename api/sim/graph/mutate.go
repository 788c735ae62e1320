package graphsim

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Mutation changes the tenant so that delta queries have something to
// report. Counts pick their objects deterministically (from Seed and the
// number of mutations so far); Memberships names exact changes. Counts
// larger than what exists are cut down.
type Mutation struct {
	AddUsers        int `json:"addUsers,omitempty"`
	UpdateUsers     int `json:"updateUsers,omitempty"`
	SoftDeleteUsers int `json:"softDeleteUsers,omitempty"` // to deleted items: delta reports "@removed":{"reason":"changed"}
	RestoreUsers    int `json:"restoreUsers,omitempty"`    // from deleted items, with their memberships and assignments
	HardDeleteUsers int `json:"hardDeleteUsers,omitempty"` // soft-deleted ones first: "@removed":{"reason":"deleted"}

	AddGroups    int `json:"addGroups,omitempty"`
	UpdateGroups int `json:"updateGroups,omitempty"`
	DeleteGroups int `json:"deleteGroups,omitempty"` // Microsoft 365 groups are soft-deleted, security groups deleted for good

	AddMembers    int                `json:"addMembers,omitempty"`    // users joining groups
	RemoveMembers int                `json:"removeMembers,omitempty"` // direct members leaving groups
	Memberships   []MembershipChange `json:"memberships,omitempty"`

	AddDevices    int `json:"addDevices,omitempty"`
	UpdateDevices int `json:"updateDevices,omitempty"`
	DeleteDevices int `json:"deleteDevices,omitempty"`
}

// MembershipChange adds (or with Remove, removes) MemberID as a direct
// member of GroupID.
type MembershipChange struct {
	GroupID  string `json:"groupId"`
	MemberID string `json:"memberId"`
	Remove   bool   `json:"remove,omitempty"`
}

// ChangeSet lists the ids of changed objects of one kind.
type ChangeSet struct {
	Added       []string `json:"added,omitempty"`
	Updated     []string `json:"updated,omitempty"`
	SoftDeleted []string `json:"softDeleted,omitempty"`
	Restored    []string `json:"restored,omitempty"`
	Deleted     []string `json:"deleted,omitempty"`
}

// Membership is one direct membership.
type Membership struct {
	GroupID  string `json:"groupId"`
	MemberID string `json:"memberId"`
}

// MutationResult says what a Mutation did.
type MutationResult struct {
	Users          ChangeSet    `json:"users"`
	Groups         ChangeSet    `json:"groups"`
	Devices        ChangeSet    `json:"devices"`
	MembersAdded   []Membership `json:"membersAdded,omitempty"`
	MembersRemoved []Membership `json:"membersRemoved,omitempty"`
	Errors         []string     `json:"errors,omitempty"` // Memberships that could not be applied
}

// Mutate applies m. Memberships lost by deleting an object (its groups,
// roles, administrative units and app role assignments) are reported by
// delta as member removals of the groups, not in MembersRemoved. Added
// users also join the dynamic administrative units of their country (not
// listed in MembersAdded, which holds group memberships).
func (s *Server) Mutate(m Mutation) MutationResult {
	d := s.dir
	d.mu.Lock()
	defer d.mu.Unlock()
	d.mutations++
	r := newRNG(s.opt.Seed, "mutation/"+strconv.Itoa(d.mutations))
	now := s.now()
	g := &generator{d: d, opt: &s.opt, day0: d.day0, upns: map[string]int{}}
	var res MutationResult

	pick := func(list []*obj, ok func(*obj) bool) *obj {
		if len(list) == 0 {
			return nil
		}
		start := r.intn(len(list))
		for i := 0; i < len(list); i++ {
			o := list[(start+i)%len(list)]
			if ok == nil || ok(o) {
				return o
			}
		}
		return nil
	}

	// Users.
	for i := 0; i < m.AddUsers; i++ {
		o := g.userObj(g.newUserSpec(r))
		d.add(o)
		d.logChange(o, allProps)
		res.Users.Added = append(res.Users.Added, o.id)
		// A new employee joins a few groups.
		for j := r.between(0, 3); j > 0; j-- {
			if gr := pick(d.lists[kGroup], func(x *obj) bool { return !x.dynamic }); gr != nil && d.addMember(gr, o) {
				d.logMember(gr, o)
				res.MembersAdded = append(res.MembersAdded, Membership{gr.id, o.id})
			}
		}
		// and the dynamic administrative units of their country.
		for _, au := range d.lists[kAU] {
			if adminUnitMatches(au, o) && d.addMember(au, o) {
				d.logMember(au, o)
			}
		}
	}
	for i := 0; i < m.UpdateUsers; i++ {
		o := pick(d.lists[kUser], nil)
		if o == nil {
			break
		}
		d.logChange(o, s.updateUser(r, o, now))
		res.Users.Updated = append(res.Users.Updated, o.id)
	}
	for i := 0; i < m.SoftDeleteUsers; i++ {
		o := pick(d.lists[kUser], func(x *obj) bool { return x != nil })
		if o == nil {
			break
		}
		d.detach(o, true)
		o.state = softDeleted
		d.removeLive(o)
		d.logChange(o, allProps)
		res.Users.SoftDeleted = append(res.Users.SoftDeleted, o.id)
	}
	for i := 0; i < m.RestoreUsers; i++ {
		o := d.pickDeleted(r, kUser)
		if o == nil {
			break
		}
		o.state = live
		d.insertLive(o)
		d.reattach(o)
		d.logChange(o, allProps)
		res.Users.Restored = append(res.Users.Restored, o.id)
	}
	for i := 0; i < m.HardDeleteUsers; i++ {
		o := d.pickDeleted(r, kUser)
		if o == nil {
			o = pick(d.lists[kUser], nil)
			if o == nil {
				break
			}
			d.detach(o, false)
			d.removeLive(o)
		}
		o.saved = nil
		o.state = hardDeleted
		delete(d.byID, o.id)
		delete(d.byUPN, strings.ToLower(o.upn))
		d.logChange(o, allProps)
		res.Users.Deleted = append(res.Users.Deleted, o.id)
	}

	// Groups.
	for i := 0; i < m.AddGroups; i++ {
		names := map[string]int{}
		for _, x := range d.lists[kGroup] {
			names[x.name]++
		}
		spec := g.newGroupSpec(r, 1+len(d.lists[kGroup]), names, false)
		spec.dynamic, spec.created = false, now.UTC().Truncate(time.Second)
		o := g.groupObj(spec)
		d.add(o)
		d.logChange(o, allProps)
		res.Groups.Added = append(res.Groups.Added, o.id)
		for j := r.between(2, 12); j > 0; j-- {
			if u := pick(d.lists[kUser], nil); u != nil && d.addMember(o, u) {
				d.logMember(o, u)
				res.MembersAdded = append(res.MembersAdded, Membership{o.id, u.id})
			}
		}
	}
	for i := 0; i < m.UpdateGroups; i++ {
		o := pick(d.lists[kGroup], nil)
		if o == nil {
			break
		}
		d.logChange(o, s.updateGroup(r, o, now))
		res.Groups.Updated = append(res.Groups.Updated, o.id)
	}
	for i := 0; i < m.DeleteGroups; i++ {
		o := pick(d.lists[kGroup], nil)
		if o == nil {
			break
		}
		d.detach(o, false)
		for _, mem := range o.members {
			mem.memberOf, _ = removeBySeq(mem.memberOf, o)
		}
		o.members = nil
		d.relVersion++
		d.removeLive(o)
		if o.unified {
			o.state = softDeleted
			res.Groups.SoftDeleted = append(res.Groups.SoftDeleted, o.id)
		} else {
			o.state = hardDeleted
			delete(d.byID, o.id)
			res.Groups.Deleted = append(res.Groups.Deleted, o.id)
		}
		d.logChange(o, allProps)
	}

	// Memberships.
	for i := 0; i < m.AddMembers; i++ {
		gr := pick(d.lists[kGroup], func(x *obj) bool { return !strings.HasPrefix(x.name, "Devices - ") })
		if gr == nil {
			break
		}
		u := pick(d.lists[kUser], func(x *obj) bool { return !containsBySeq(gr.members, x) })
		if u == nil {
			continue
		}
		d.addMember(gr, u)
		d.logMember(gr, u)
		res.MembersAdded = append(res.MembersAdded, Membership{gr.id, u.id})
	}
	for i := 0; i < m.RemoveMembers; i++ {
		gr := pick(d.lists[kGroup], func(x *obj) bool { return len(x.members) > 0 })
		if gr == nil {
			break
		}
		mem := gr.members[r.intn(len(gr.members))]
		d.removeMember(gr, mem)
		d.logMember(gr, mem)
		res.MembersRemoved = append(res.MembersRemoved, Membership{gr.id, mem.id})
	}
	for _, mc := range m.Memberships {
		gr := d.lookup(kGroup, mc.GroupID)
		mem := d.byID[strings.ToLower(mc.MemberID)]
		switch {
		case gr == nil:
			res.Errors = append(res.Errors, fmt.Sprintf("group %q not found", mc.GroupID))
		case mem == nil || mem.state != live || mem == gr:
			res.Errors = append(res.Errors, fmt.Sprintf("member %q not found", mc.MemberID))
		case mem.k != kUser && mem.k != kGroup && mem.k != kDevice && mem.k != kSP:
			res.Errors = append(res.Errors, fmt.Sprintf("%q cannot be a group member", mc.MemberID))
		case mc.Remove:
			if d.removeMember(gr, mem) {
				d.logMember(gr, mem)
				res.MembersRemoved = append(res.MembersRemoved, Membership{gr.id, mem.id})
			} else {
				res.Errors = append(res.Errors, fmt.Sprintf("%q is not a member of %q", mc.MemberID, mc.GroupID))
			}
		default:
			if d.addMember(gr, mem) {
				d.logMember(gr, mem)
				res.MembersAdded = append(res.MembersAdded, Membership{gr.id, mem.id})
			} else {
				res.Errors = append(res.Errors, fmt.Sprintf("%q is already a member of %q", mc.MemberID, mc.GroupID))
			}
		}
	}

	// Devices.
	for i := 0; i < m.AddDevices; i++ {
		o := g.deviceObj(r, pick(d.lists[kUser], nil))
		d.add(o)
		d.logChange(o, allProps)
		res.Devices.Added = append(res.Devices.Added, o.id)
	}
	for i := 0; i < m.UpdateDevices; i++ {
		o := pick(d.lists[kDevice], nil)
		if o == nil {
			break
		}
		d.logChange(o, s.updateDevice(r, o, now))
		res.Devices.Updated = append(res.Devices.Updated, o.id)
	}
	for i := 0; i < m.DeleteDevices; i++ {
		o := pick(d.lists[kDevice], nil)
		if o == nil {
			break
		}
		d.detach(o, false)
		d.removeLive(o)
		o.state = hardDeleted
		delete(d.byID, o.id)
		d.logChange(o, allProps)
		res.Devices.Deleted = append(res.Devices.Deleted, o.id)
	}
	return res
}

// detach removes o from every group, role and administrative unit it is in
// (logging the group membership changes) and drops its app role
// assignments; with save, they are kept for a restore.
func (d *directory) detach(o *obj, save bool) {
	var sv savedRels
	for _, g := range cloneList(o.memberOf) {
		d.removeMember(g, o)
		d.logMember(g, o)
		sv.memberOf = append(sv.memberOf, g)
	}
	for _, a := range o.asg {
		a.resource.asgTo = removeAssignment(a.resource.asgTo, a)
		sv.asg = append(sv.asg, a)
	}
	o.asg = nil
	if save {
		o.saved = &sv
	}
}

// reattach restores what detach saved, as far as the groups, roles,
// administrative units and resources still exist.
func (d *directory) reattach(o *obj) {
	sv := o.saved
	o.saved = nil
	if sv == nil {
		return
	}
	for _, g := range sv.memberOf {
		if g.state == live && d.addMember(g, o) {
			d.logMember(g, o)
		}
	}
	for _, a := range sv.asg {
		if a.resource.state == live {
			a.resource.asgTo = insertAssignment(a.resource.asgTo, a)
			o.asg = insertAssignment(o.asg, a)
		}
	}
}

// pickDeleted returns a soft-deleted object of kind k, or nil.
func (d *directory) pickDeleted(r *rng, k kind) *obj {
	var cands []*obj
	for _, o := range d.byID {
		if o.k == k && o.state == softDeleted {
			cands = append(cands, o)
		}
	}
	if len(cands) == 0 {
		return nil
	}
	sortBySeq(cands) // map order is random; the pick must not be
	return cands[r.intn(len(cands))]
}

// updateUser changes one to three properties and returns their bits.
func (s *Server) updateUser(r *rng, o *obj, now time.Time) uint64 {
	sch := userSchema
	var bits uint64
	set := func(name string, v []byte) {
		k := sch.mustIndex(name)
		o.setProp(k, v)
		bits |= propBit(k)
	}
	for n := r.between(1, 3); n > 0; n-- {
		switch r.intn(6) {
		case 0:
			set("jobTitle", jsonString(r.pick(jobTitles)))
		case 1:
			set("department", jsonString(r.pick(departments)))
		case 2:
			pl := places[r.intn(len(places))]
			set("officeLocation", jsonString(pl.office))
			set("city", jsonString(pl.city))
		case 3:
			set("mobilePhone", jsonString(fmt.Sprintf("+1 206 555 %04d", r.intn(10000))))
		case 4:
			k := sch.mustIndex("accountEnabled")
			if string(o.value(k)) == "true" {
				set("accountEnabled", []byte("false"))
			} else {
				set("accountEnabled", []byte("true"))
			}
		case 5:
			set("lastPasswordChangeDateTime", jsonString(fmtTime(now)))
		}
	}
	return bits
}

func (s *Server) updateGroup(r *rng, o *obj, now time.Time) uint64 {
	sch := groupSchema
	var bits uint64
	set := func(name string, v []byte) {
		k := sch.mustIndex(name)
		o.setProp(k, v)
		bits |= propBit(k)
	}
	switch r.intn(3) {
	case 0:
		set("description", jsonString("Updated "+fmtTime(now)))
	case 1:
		set("displayName", jsonString(o.name+" (renamed)"))
	default:
		if o.unified {
			set("visibility", jsonString([]string{"Private", "Public"}[r.intn(2)]))
		} else {
			set("description", jsonString(o.name+" – reviewed "+now.UTC().Format("2006-01-02")))
		}
	}
	return bits
}

func (s *Server) updateDevice(r *rng, o *obj, now time.Time) uint64 {
	sch := deviceSchema
	var bits uint64
	set := func(name string, v []byte) {
		k := sch.mustIndex(name)
		o.setProp(k, v)
		bits |= propBit(k)
	}
	set("approximateLastSignInDateTime", jsonString(fmtTime(now)))
	if r.chance(0.5) {
		k := sch.mustIndex("isManaged")
		if string(o.value(k)) == "true" {
			if string(o.value(sch.mustIndex("isCompliant"))) == "true" {
				set("isCompliant", []byte("false"))
			} else {
				set("isCompliant", []byte("true"))
			}
		}
	}
	if r.chance(0.5) {
		osv := string(o.value(sch.mustIndex("operatingSystemVersion")))
		set("operatingSystemVersion", jsonString(strings.Trim(osv, `"`)+".1"))
	}
	return bits
}

// serveMutate serves POST /_sim/mutate.
func (s *Server) serveMutate(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeJSON(w, http.StatusMethodNotAllowed, http.Header{"Allow": {"POST"}},
			[]byte(`{"error":{"code":"MethodNotAllowed","message":"POST a JSON Mutation."}}`))
		return
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	var m Mutation
	if err := dec.Decode(&m); err != nil {
		var w2 jw
		w2.open()
		w2.key("error")
		w2.open()
		w2.str("code", "BadRequest")
		w2.str("message", "Invalid Mutation: "+clip(err.Error()))
		w2.close()
		w2.close()
		writeJSON(w, http.StatusBadRequest, nil, w2.b)
		return
	}
	res := s.Mutate(m)
	body, _ := json.Marshal(res)
	writeJSON(w, http.StatusOK, nil, body)
}
