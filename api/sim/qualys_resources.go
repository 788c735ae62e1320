package sim

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// awsMaxResults is how many records one inventory query can reach with
// markers: totalHits still reports the true count, but hasNext turns false
// at this many records (split the query by account).
const awsMaxResults = 10000

// resourceType is one {resourceType} of the inventory endpoints. Its
// records are generated on first use.
type resourceType struct {
	name  string // API name, e.g. "ENTRA_ID_USER"
	cloud string // path segment: "Azure" or "AWS"
	q     *qualys
	n     int // initial count

	gen    func(i int, fresh bool, now time.Time) *entry // record i; fresh: appearing at now
	change func(raw []byte, r *rng, now time.Time) *entry

	next int // index of the next added record (guarded by q.mutateMu)

	once sync.Once
	st   *store
}

// load generates the records on first use and returns the store.
func (rt *resourceType) load() *store {
	rt.once.Do(func() {
		start := time.Now()
		recs := genParallel(rt.n, func(i int) *entry { return rt.gen(i, false, time.Time{}) })
		rt.st = newStore(recs, rt.cloud == "AWS")
		rt.next = rt.n
		size := 0
		for _, e := range recs {
			size += len(e.raw)
		}
		rt.q.s.log.Debug("sim: generated resources", "type", rt.name, "records", rt.n, "bytes", size, "dur", time.Since(start))
	})
	return rt.st
}

// azureGen generates the CIEM types. Everything it reads is fixed at New.
type azureGen struct {
	az     *azureTenant
	day0   time.Time
	base   map[string]uint64 // per-record stream bases per type
	counts map[string]int    // initial counts per type

	groupsOnce sync.Once
	groupList  []groupIdent

	// rdServed reports whether a role definition resourceId is served now
	// (for role assignments added by Mutate).
	rdServed func(resourceID string) bool
}

// groups returns the initial groups' ids and names.
func (g *azureGen) groups() []groupIdent {
	g.groupsOnce.Do(func() {
		for j := 0; j < g.counts[TypeEntraIDGroup]; j++ {
			g.groupList = append(g.groupList, g.groupIdentOf(j))
		}
	})
	return g.groupList
}

// timeline is record's timeline: a past one, or fresh at now.
func (g *azureGen) timeline(r *rng, fresh bool, now time.Time, maxAge time.Duration) timeline {
	if fresh {
		return freshTimeline(r, now)
	}
	return newTimeline(r, g.day0, maxAge)
}

// ec2Gen generates EC2_INSTANCE.
type ec2Gen struct {
	base       uint64
	layout     *ec2Layout
	day0       time.Time
	customerID string
}

func newResourceTypes(q *qualys) map[string]*resourceType {
	opt := q.s.opt
	g := &azureGen{az: q.azure, day0: q.day0, base: map[string]uint64{}, counts: map[string]int{}}
	for _, t := range azureTypes {
		g.base[t] = streamBase(opt.Seed, "resource/"+t)
		g.counts[t] = opt.Count(t)
	}
	azure := map[string]struct {
		gen    func(int, bool, time.Time) *entry
		change func([]byte, *rng, time.Time) *entry
	}{
		TypeEntraIDUser:                    {g.genUser, changeAzure[entraUser]},
		TypeEntraIDGroup:                   {g.genGroup, changeAzure[entraGroup]},
		TypeEntraIDServicePrincipal:        {g.genServicePrincipal, changeAzure[entraApp]},
		TypeEntraIDApplicationRegistration: {g.genAppRegistration, changeAzure[entraApp]},
		TypeRoleAssignment:                 {g.genRoleAssignment, changeAzure[roleAssignment]},
		TypeRoleDefinitions:                {g.genRoleDefinition, changeAzure[roleDefinition]},
		TypeDenyAssignment:                 {g.genDenyAssignment, changeAzure[denyAssignment]},
		TypeManagedIdentities:              {g.genManagedIdentity, changeAzure[managedIdentity]},
	}
	out := map[string]*resourceType{}
	for _, t := range azureTypes {
		out[t] = &resourceType{name: t, cloud: "Azure", q: q, n: g.counts[t], gen: azure[t].gen, change: azure[t].change}
	}
	g.rdServed = func(rid string) bool {
		return out[TypeRoleDefinitions].load().get(nameUUID(g.az.customerID, "role_definitions", rid)) != nil
	}
	n := opt.Count(TypeEC2Instance)
	eg := &ec2Gen{base: streamBase(opt.Seed, "resource/"+TypeEC2Instance), day0: q.day0, customerID: q.azure.customerID}
	eg.layout = newEC2Layout(opt.Seed, n, eg.customerID)
	out[TypeEC2Instance] = &resourceType{name: TypeEC2Instance, cloud: "AWS", q: q, n: n, gen: eg.genInstance, change: changeInstance}
	return out
}

// typesOf lists the resource types of a cloud, for error messages.
func (q *qualys) typesOf(cloud string) string {
	var names []string
	for _, t := range Types() {
		if rt := q.resources[t]; rt != nil && rt.cloud == cloud {
			names = append(names, t)
		}
	}
	return strings.Join(names, ", ")
}

// resourceTypeParam returns the path's resource type for cloud, or writes
// a 400 naming it.
func (q *qualys) resourceTypeParam(w http.ResponseWriter, r *http.Request, cloud string) *resourceType {
	typ := r.PathValue("resourceType")
	if rt := q.resources[typ]; rt != nil && rt.cloud == cloud {
		return rt
	}
	q.writeError(w, http.StatusBadRequest, fmt.Sprintf("Invalid resourceType '%s' for %s: supported types are %s", clip(typ), cloud, q.typesOf(cloud)))
	return nil
}

// serveAzureResources implements GET /rest/v1/resource/{resourceType}/Azure
// (Spring page; updated window and subscription filter).
func (q *qualys) serveAzureResources(w http.ResponseWriter, r *http.Request, _ string) {
	rt := q.resourceTypeParam(w, r, "Azure")
	if rt == nil {
		return
	}
	query := r.URL.Query()
	p, ok := q.pageParams(w, query)
	if !ok {
		return
	}
	match, ok := q.matcher(w, query, azureFilters)
	if !ok {
		return
	}
	recs, total := rt.load().page(match, p.from(), p.size)
	writeSpringPage(w, p, recs, total)
}

// Filters of the inventory endpoints: "field:value" (QQL style) on the
// account of the record. The simulator supports these fields only.
var (
	azureFilters = []string{"subscriptionId", "subscription.id"}
	awsFilters   = []string{"account.id", "cloud.accountId"}
)

// matcher parses the updated and filter parameters into a record
// predicate (nil: all records). It writes a 400 and reports false when one
// is malformed.
func (q *qualys) matcher(w http.ResponseWriter, query url.Values, filters []string) (func(*entry) bool, bool) {
	var preds []func(*entry) bool
	if v := query.Get("updated"); v != "" {
		win, msg := parseWindow(v, q.s.now())
		if msg != "" {
			q.writeError(w, http.StatusBadRequest, msg)
			return nil, false
		}
		preds = append(preds, func(e *entry) bool { return e.updated >= win.from && e.updated <= win.to })
	}
	if v := strings.TrimSpace(query.Get("filter")); v != "" {
		field, value, ok := strings.Cut(v, ":")
		field, value = strings.TrimSpace(field), strings.Trim(strings.TrimSpace(value), `"'`)
		known := false
		for _, f := range filters {
			known = known || f == field
		}
		if !ok || !known || value == "" {
			q.writeError(w, http.StatusBadRequest, fmt.Sprintf(
				"Invalid value '%s' for parameter 'filter': expected <field>:<value> with field one of %s",
				clip(v), strings.Join(filters, ", ")))
			return nil, false
		}
		preds = append(preds, func(e *entry) bool { return e.acct == value })
	}
	switch len(preds) {
	case 0:
		return nil, true
	case 1:
		return preds[0], true
	}
	return func(e *entry) bool { return preds[0](e) && preds[1](e) }, true
}

// window is an inclusive time range in Unix nanoseconds.
type window struct{ from, to int64 }

const windowHelp = "expected [from..to] where from and to are now, now-<n><unit> (unit s, m, h, d, w, M or y) or an ISO 8601 date or date-time"

// parseWindow parses an updated parameter such as "[now-3w..now]" or
// "[2026-04-01..2026-04-30T12:00:00Z]". A date alone as the end of the
// range covers that whole day.
func parseWindow(v string, now time.Time) (window, string) {
	bad := func() (window, string) {
		return window{}, fmt.Sprintf("Invalid value '%s' for parameter 'updated': %s", clip(v), windowHelp)
	}
	s := strings.TrimSpace(v)
	if len(s) < 2 || s[0] != '[' || s[len(s)-1] != ']' {
		return bad()
	}
	a, b, ok := strings.Cut(s[1:len(s)-1], "..")
	if !ok {
		return bad()
	}
	from, ok1 := parseInstant(strings.TrimSpace(a), now, false)
	to, ok2 := parseInstant(strings.TrimSpace(b), now, true)
	if !ok1 || !ok2 {
		return bad()
	}
	return window{from: from.UnixNano(), to: to.UnixNano()}, ""
}

var instantLayouts = []string{
	time.RFC3339Nano, "2006-01-02T15:04:05.999999999Z0700", "2006-01-02T15:04:05.999999999",
	"2006-01-02T15:04Z07:00", "2006-01-02T15:04",
}

// parseInstant parses one end of a window. end makes a bare date mean the
// end of that day.
func parseInstant(s string, now time.Time, end bool) (time.Time, bool) {
	if s == "now" {
		return now, true
	}
	if rest, ok := strings.CutPrefix(s, "now"); ok {
		if len(rest) < 3 || (rest[0] != '-' && rest[0] != '+') {
			return time.Time{}, false
		}
		n, err := strconv.Atoi(rest[1 : len(rest)-1])
		if err != nil || n < 0 || strings.ContainsAny(rest[1:len(rest)-1], "+-") {
			return time.Time{}, false
		}
		if rest[0] == '-' {
			n = -n
		}
		switch rest[len(rest)-1] {
		case 's':
			return now.Add(time.Duration(n) * time.Second), true
		case 'm':
			return now.Add(time.Duration(n) * time.Minute), true
		case 'h':
			return now.Add(time.Duration(n) * time.Hour), true
		case 'd':
			return now.AddDate(0, 0, n), true
		case 'w':
			return now.AddDate(0, 0, 7*n), true
		case 'M':
			return now.AddDate(0, n, 0), true
		case 'y':
			return now.AddDate(n, 0, 0), true
		}
		return time.Time{}, false
	}
	if t, err := time.ParseInLocation("2006-01-02", s, time.UTC); err == nil {
		if end {
			t = t.Add(day - time.Nanosecond)
		}
		return t, true
	}
	for _, l := range instantLayouts {
		if t, err := time.ParseInLocation(l, s, time.UTC); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// ---- AWS inventory: marker paging ----

// markerBook remembers the markers issued, so that an unknown or expired
// marker is refused (as a server-side cursor would be).
type markerBook struct {
	mu     sync.Mutex
	issued map[string]time.Time
}

func newMarkerBook() *markerBook { return &markerBook{issued: map[string]time.Time{}} }

func (b *markerBook) issue(m string, now time.Time, ttl time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.issued) >= 4096 {
		for k, t := range b.issued {
			if now.Sub(t) >= ttl {
				delete(b.issued, k)
			}
		}
	}
	b.issued[m] = now
}

func (b *markerBook) valid(m string, now time.Time, ttl time.Duration) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	t, ok := b.issued[m]
	return ok && now.Sub(t) < ttl
}

// encodeMarker returns the marker after e: base64 of the search_after key
// [updated in epoch milliseconds, "uuid"], as the service's markers are.
func encodeMarker(e *entry) string {
	key, _ := json.Marshal([]any{e.updated / 1e6, e.id})
	return base64.StdEncoding.EncodeToString(key)
}

// decodeMarker parses a marker into an entry holding its key.
func decodeMarker(m string) (*entry, bool) {
	var raw []byte
	var err error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if raw, err = enc.DecodeString(m); err == nil {
			break
		}
	}
	if err != nil {
		return nil, false
	}
	var key []json.RawMessage
	if json.Unmarshal(raw, &key) != nil || len(key) != 2 {
		return nil, false
	}
	var ms int64
	var id string
	if json.Unmarshal(key[0], &ms) != nil || json.Unmarshal(key[1], &id) != nil || id == "" {
		return nil, false
	}
	return &entry{id: id, updated: ms * 1e6}, true
}

// markerPage cuts a marker page: up to n matching records after the key
// `after` (from the start when nil), without going past the first limit
// matching records. It returns the records, the last one, how many match
// and whether more can be reached.
func (st *store) markerPage(match func(*entry) bool, after *entry, n, limit int) (recs [][]byte, last *entry, total int, hasNext bool) {
	st.mu.RLock()
	defer st.mu.RUnlock()
	pos := 0 // matching records up to and including the marker
	for _, e := range st.list {
		if match != nil && !match(e) {
			continue
		}
		total++
		if after != nil && compareMarker(e, after) <= 0 {
			pos++
			continue
		}
		if len(recs) < n && pos+len(recs) < limit {
			if recs == nil {
				recs = make([][]byte, 0, min(n, 256))
			}
			recs = append(recs, e.raw)
			last = e
		}
	}
	hasNext = pos+len(recs) < min(total, limit)
	return recs, last, total, hasNext
}

// serveAWSResources implements GET /rest/v1/resource/{resourceType}/AWS:
// the marker envelope, updated window and account filter, at most
// awsMaxResults records per query.
func (q *qualys) serveAWSResources(w http.ResponseWriter, r *http.Request, _ string) {
	rt := q.resourceTypeParam(w, r, "AWS")
	if rt == nil {
		return
	}
	now := q.s.now()
	query := r.URL.Query()
	pageSize, msg := intParam(query.Get("pageSize"), "pageSize", qualysDefaultPageSize, 1)
	if msg != "" {
		q.writeError(w, http.StatusBadRequest, msg)
		return
	}
	pageSize = min(pageSize, q.s.opt.MaxPageSize)
	var after *entry
	if m := query.Get("marker"); m != "" {
		var ok bool
		if after, ok = decodeMarker(m); !ok {
			q.writeError(w, http.StatusBadRequest, fmt.Sprintf("Invalid value '%s' for parameter 'marker': not a marker returned by this API", clip(m)))
			return
		}
		if !q.markers.valid(m, now, q.s.opt.MarkerTTL) {
			q.writeError(w, http.StatusBadRequest, fmt.Sprintf(
				"Invalid value for parameter 'marker': the marker has expired or is unknown (markers are valid for %d seconds after they are issued); start the query again without a marker",
				windowSec(q.s.opt.MarkerTTL)))
			return
		}
	}
	match, ok := q.matcher(w, query, awsFilters)
	if !ok {
		return
	}
	recs, last, total, hasNext := rt.load().markerPage(match, after, pageSize, awsMaxResults)

	var head, tail bytes.Buffer
	head.WriteString(`{"currentPageSize":`)
	head.WriteString(strconv.Itoa(len(recs)))
	head.WriteString(`,"content":[`)
	tail.WriteString(`],"hasNext":`)
	tail.WriteString(strconv.FormatBool(hasNext))
	tail.WriteString(`,"totalHits":`)
	tail.WriteString(strconv.Itoa(total))
	tail.WriteString(`,"hasContent":`)
	tail.WriteString(strconv.FormatBool(len(recs) > 0))
	tail.WriteString(`,"marker":`)
	if hasNext {
		m := encodeMarker(last)
		q.markers.issue(m, now, q.s.opt.MarkerTTL)
		tail.WriteString(`"` + m + `"`)
	} else {
		tail.WriteString("null")
	}
	tail.WriteString("}")
	writeJSONParts(w, http.StatusOK, head.Bytes(), recs, tail.Bytes())
}

// serveAWSResource implements GET
// /rest/v1/resource/{resourceType}/uuid/{resourceUuid}/AWS: a Spring page
// holding the record in its detail form (404 for an unknown uuid; an empty
// page when updated or filter exclude it).
func (q *qualys) serveAWSResource(w http.ResponseWriter, r *http.Request, _ string) {
	rt := q.resourceTypeParam(w, r, "AWS")
	if rt == nil {
		return
	}
	query := r.URL.Query()
	p, ok := q.pageParams(w, query)
	if !ok {
		return
	}
	match, ok := q.matcher(w, query, awsFilters)
	if !ok {
		return
	}
	id := r.PathValue("resourceUuid")
	e := rt.load().get(id)
	if e == nil {
		q.writeError(w, http.StatusNotFound, fmt.Sprintf("Resource with uuid '%s' not found for resourceType %s", clip(id), rt.name))
		return
	}
	var recs [][]byte
	total := 0
	if match == nil || match(e) {
		total = 1
		if p.from() == 0 {
			var v ec2Instance
			if err := json.Unmarshal(e.raw, &v); err != nil {
				panic("sim: decode own record: " + err.Error())
			}
			recs = append(recs, marshalRecord(v.detail()))
		}
	}
	writeSpringPage(w, p, recs, total)
}
