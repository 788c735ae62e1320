package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Mutation changes the served data, for incremental-sync tests and demos.
// Type is "exceptions", "EC2_INSTANCE", an Azure CIEM type, or "hosts"
// (TypeHosts: the classic XML APIs' hosts and detections, as
// Server.MutateHosts with AddHosts = Add, ChangeHosts = Change,
// RemoveHosts = Remove).
type Mutation struct {
	Type   string `json:"type"`
	Add    int    `json:"add"`    // new records (appended; for EC2_INSTANCE, last in marker order)
	Change int    `json:"change"` // existing records given new bytes, their update time now
	Remove int    `json:"remove"` // existing records removed
	Seed   int64  `json:"seed"`   // which records change and how (same server state and Seed: same result)
	// Type "hosts" only: new open detections, and open detections fixed.
	NewDetections int `json:"newDetections,omitempty"`
	FixDetections int `json:"fixDetections,omitempty"`
}

// MutationResult lists the uuids of the records a Mutation added, changed
// and removed. Change and Remove are capped at what exists (and, for
// ROLE_DEFINITIONS, removals at custom roles no assignment uses, as Azure
// refuses to delete the others). Error is set, and nothing changed, when the
// mutation was refused.
type MutationResult struct {
	Type    string   `json:"type"`
	Added   []string `json:"added"`
	Changed []string `json:"changed"`
	Removed []string `json:"removed"`
	// Type "hosts" only: the detections added and fixed, "assetId/qid".
	NewDetections   []string `json:"newDetections,omitempty"`
	FixedDetections []string `json:"fixedDetections,omitempty"`
	Error           string   `json:"error,omitempty"`
}

// Mutate applies m at the clock's now and returns what changed. Changes are
// visible to the next request; lists stay consistent (each page is cut
// from one state). Mutations are serialised.
func (s *Server) Mutate(m Mutation) MutationResult { return s.q.mutate(m) }

func (q *qualys) mutate(m Mutation) MutationResult {
	res := MutationResult{Type: m.Type, Added: []string{}, Changed: []string{}, Removed: []string{}}
	if m.Add < 0 || m.Change < 0 || m.Remove < 0 {
		res.Error = fmt.Sprintf("add, change and remove must not be negative (got %d, %d, %d)", m.Add, m.Change, m.Remove)
		return res
	}
	if m.Type == TypeHosts {
		return q.s.mutateHostsVia(m)
	}
	if m.NewDetections != 0 || m.FixDetections != 0 {
		res.Error = "newDetections and fixDetections apply to type '" + TypeHosts + "' only"
		return res
	}
	rt := q.resources[m.Type]
	if rt == nil && m.Type != TypeExceptions {
		var names []string
		for _, t := range Types() {
			if t != TypePolicies {
				names = append(names, t)
			}
		}
		names = append(names, TypeHosts)
		res.Error = fmt.Sprintf("unknown mutation type '%s': must be one of %s", clip(m.Type), strings.Join(names, ", "))
		return res
	}
	q.mutateMu.Lock()
	defer q.mutateMu.Unlock()
	now := q.s.now()
	r := newRNG(m.Seed, "mutate/"+m.Type+"/"+strconv.FormatInt(q.s.opt.Seed, 10))
	if m.Type == TypeExceptions {
		q.mutateExceptions(m, r, now, &res)
		return res
	}
	st := rt.load()

	// Choose the records to remove and change, distinct, from a snapshot
	// (mutations are serialised, so the snapshot stays current).
	ids := st.ids()
	removable := ids
	if m.Type == TypeRoleDefinitions && m.Remove > 0 {
		removable = q.removableRoleDefinitions(st)
	}
	removeSet := map[string]bool{}
	for _, i := range pickDistinct(r, len(removable), min(m.Remove, len(removable))) {
		removeSet[removable[i]] = true
		res.Removed = append(res.Removed, removable[i])
	}
	var rest []string
	for _, id := range ids {
		if !removeSet[id] {
			rest = append(rest, id)
		}
	}
	var changed []*entry
	for k, i := range pickDistinct(r, len(rest), min(m.Change, len(rest))) {
		old := st.get(rest[i])
		e := rt.change(old.raw, recRNG(r.next(), k), now)
		if e.id != old.id {
			panic("sim: a change altered the uuid of " + old.id)
		}
		changed = append(changed, e)
		res.Changed = append(res.Changed, e.id)
	}
	var added []*entry
	for k := 0; k < m.Add; k++ {
		e := rt.gen(rt.next, true, now)
		rt.next++
		if st.get(e.id) != nil {
			panic("sim: added record collides with " + e.id)
		}
		added = append(added, e)
		res.Added = append(res.Added, e.id)
	}

	st.mu.Lock()
	st.removeLocked(res.Removed)
	for _, e := range changed {
		st.putLocked(e)
	}
	for _, e := range added {
		st.putLocked(e)
	}
	st.resortLocked()
	st.mu.Unlock()
	return res
}

// pickDistinct returns k distinct indexes of [0, n), in a random order.
func pickDistinct(r *rng, n, k int) []int {
	if k <= 0 {
		return nil
	}
	if k*4 < n { // sparse: rejection
		seen := make(map[int]bool, k)
		out := make([]int, 0, k)
		for len(out) < k {
			if i := r.intn(n); !seen[i] {
				seen[i] = true
				out = append(out, i)
			}
		}
		return out
	}
	perm := make([]int, n)
	for i := range perm {
		perm[i] = i
	}
	for i := 0; i < k; i++ { // partial Fisher-Yates
		j := i + r.intn(n-i)
		perm[i], perm[j] = perm[j], perm[i]
	}
	return perm[:k]
}

// removableRoleDefinitions returns the uuids of custom role definitions no
// served role assignment refers to.
func (q *qualys) removableRoleDefinitions(st *store) []string {
	used := map[string]bool{}
	for _, raw := range q.resources[TypeRoleAssignment].load().records() {
		var ra struct {
			RoleDefinitionID string `json:"roleDefinitionId"`
		}
		if json.Unmarshal(raw, &ra) == nil {
			used[ra.RoleDefinitionID] = true
		}
	}
	var out []string
	for _, raw := range st.records() {
		if !bytes.Contains(raw, []byte(`"roleType":"CustomRole"`)) {
			continue
		}
		var rd struct {
			UUID       string `json:"uuid"`
			ResourceID string `json:"resourceId"`
		}
		if json.Unmarshal(raw, &rd) == nil && !used[rd.ResourceID] {
			out = append(out, rd.UUID)
		}
	}
	return out
}

// mutateExceptions adds, changes and removes exceptions.
func (q *qualys) mutateExceptions(m Mutation, r *rng, now time.Time, res *MutationResult) {
	b := q.exceptions
	users := qualysUsers(q.s.opt.Seed)
	ids := b.st.ids()
	removeSet := map[string]bool{}
	for _, i := range pickDistinct(r, len(ids), min(m.Remove, len(ids))) {
		removeSet[ids[i]] = true
		res.Removed = append(res.Removed, ids[i])
	}
	var rest []string
	for _, id := range ids {
		if !removeSet[id] {
			rest = append(rest, id)
		}
	}
	changeIdx := pickDistinct(r, len(rest), min(m.Change, len(rest)))

	b.st.mu.Lock()
	defer b.st.mu.Unlock()
	b.removeLocked(res.Removed)
	for _, i := range changeIdx {
		var e qualysException
		if err := json.Unmarshal(b.st.byID[rest[i]].raw, &e); err != nil {
			panic("sim: decode own exception: " + err.Error())
		}
		// Extend the window by a month (re-activating an expired one)
		// and note it.
		end, _ := time.Parse(qualysMilliLayout, e.EndingDate)
		if end.Before(now) {
			end = now.Truncate(24 * time.Hour)
		}
		end = end.AddDate(0, 1, 0)
		e.EndingDate = fmtQualysMilli(end)
		start, _ := time.Parse(qualysMilliLayout, e.StartingDate)
		if e.State != "INACTIVE" {
			e.State = exceptionFields{start: start, end: end}.state(now)
		}
		e.Description = strings.TrimSuffix(e.Description, " (extended)") + " (extended)"
		e.UpdatedBy = r.pick(users)
		e.UpdatedOn = fmtQualysTime(now)
		b.putLocked(&e, now)
		res.Changed = append(res.Changed, e.UUID)
	}
	for k := 0; k < m.Add; k++ {
		c := qualysClouds[r.intn(len(qualysClouds))]
		base := fmt.Sprintf("%s %s %s Exception", c.short, r.pick(qualysEnvs), r.pick(qualysTopics))
		name := base
		for n := 2; b.names[name] != ""; n++ {
			name = fmt.Sprintf("%s #%d", base, n)
		}
		start := now.Truncate(24 * time.Hour)
		if r.chance(0.3) {
			start = start.AddDate(0, 0, r.between(1, 14)) // pending
		}
		f := exceptionFields{start: start, end: start.AddDate(0, 0, []int{7, 30, 90, 365}[r.intn(4)]).Add(-time.Second)}
		user := r.pick(users)
		e := &qualysException{
			UUID: q.newID(func(u string) bool { return b.st.byID[u] != nil }), Name: name,
			Description: fmt.Sprintf("Added by the %s team for %s.", r.pick(qualysTeams), r.pick(qualysProjects)),
			Reason:      exceptionReasons[r.weighted(exceptionReasonWeight)], State: f.state(now),
			StartingDate: fmtQualysMilli(f.start), EndingDate: fmtQualysMilli(f.end),
			CreatedBy: user, UpdatedBy: user, CreatedOn: fmtQualysTime(now), UpdatedOn: fmtQualysTime(now),
			Scope: exceptionScopes[r.weighted(exceptionScopeWeights)],
		}
		b.putLocked(e, now)
		res.Added = append(res.Added, e.UUID)
	}
}

// serveMutate implements POST /_sim/mutate, a simulator-only control (no
// authentication, no faults, no rate limit): body a JSON Mutation, answer
// the MutationResult (400 with the usual error body when refused).
func (q *qualys) serveMutate(w http.ResponseWriter, r *http.Request) {
	var m Mutation
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, qualysMaxBodyBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		q.writeError(w, http.StatusBadRequest, "Malformed mutation: "+err.Error()+` (want {"type", "add", "change", "remove", "seed"}, and for type hosts "newDetections", "fixDetections")`)
		return
	}
	res := q.mutate(m)
	if res.Error != "" {
		q.writeError(w, http.StatusBadRequest, res.Error)
		return
	}
	writeJSON(w, http.StatusOK, marshalRecord(res))
}
