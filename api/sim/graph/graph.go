package graphsim

import (
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"qtc/api/sim/internal/trickle"
)

// Permission sets: a token needs one of them (Microsoft's least privileged
// application permission and the higher ones that include it).
var (
	permUsers        = []string{"User.Read.All", "User.ReadWrite.All", "User.ReadBasic.All", "Directory.Read.All", "Directory.ReadWrite.All"}
	permGroups       = []string{"GroupMember.Read.All", "GroupMember.ReadWrite.All", "Group.Read.All", "Group.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}
	permMemberOf     = permGroups // documented as Directory.Read.All; group permissions read the group part ("limited information" rule)
	permAssignments  = []string{"Directory.Read.All", "Directory.ReadWrite.All", "AppRoleAssignment.ReadWrite.All"}
	permDevices      = []string{"Device.Read.All", "Device.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}
	permApps         = []string{"Application.Read.All", "Application.ReadWrite.All", "Application.ReadWrite.OwnedBy", "Directory.Read.All", "Directory.ReadWrite.All"}
	permSPAssignment = []string{"Application.Read.All", "Application.ReadWrite.All", "AppRoleAssignment.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}
	permRoles        = []string{"RoleManagement.Read.Directory", "RoleManagement.Read.All", "RoleManagement.ReadWrite.Directory", "Directory.Read.All", "Directory.ReadWrite.All"}
	permOrg          = []string{"Organization.Read.All", "Organization.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}
	permAdminUnits   = []string{"AdministrativeUnit.Read.All", "AdministrativeUnit.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}
)

// rctx is one Graph request being answered (outer, or inside a $batch).
type rctx struct {
	s      *Server
	base   string // absolute Graph base for links: scheme://host/graph
	now    time.Time
	hdr    http.Header
	claims *claims
	n      uint64 // arrival number: faults and request ids
	reqID  string
	cliID  string
	inner  bool
	raw    string // the request's raw query (for nextLink)
	// faults are the kinds injected into this answer (and, for a $batch,
	// into its inner answers): counted in Stats once the answer is sent
	// whole, so that faults inside an answer cut off never count.
	faults *[]string
}

// countFault notes a fault injected into the answer.
func (rc *rctx) countFault(kind string) {
	if rc.faults == nil {
		rc.s.countFault(kind, "")
		return
	}
	*rc.faults = append(*rc.faults, kind)
}

// resp is a handler's answer.
type resp struct {
	status int
	hdr    http.Header
	body   []byte
}

type handler func(rc *rctx, q *query, keys []string) (*resp, *gerr)

// route is one served path pattern of the Graph host (after /v1.0).
type route struct {
	id      int
	segs    []string // lower case; "{id}" matches one segment
	pattern string   // Stats key, e.g. "GET /v1.0/users/{id}/memberOf"
	method  string
	perms   []string
	serve   handler
}

var routes []*route

func addRoute(method, path string, perms []string, serve handler) {
	rt := &route{id: len(routes), method: method, perms: perms, serve: serve,
		pattern: method + " /v1.0/" + path}
	for _, s := range strings.Split(path, "/") {
		if s == "{id}" {
			rt.segs = append(rt.segs, s)
		} else {
			rt.segs = append(rt.segs, strings.ToLower(s))
		}
	}
	routes = append(routes, rt)
}

func init() {
	collection := func(k kind) handler {
		return func(rc *rctx, q *query, keys []string) (*resp, *gerr) { return rc.serveCollection(q, k) }
	}
	single := func(k kind) handler {
		return func(rc *rctx, q *query, keys []string) (*resp, *gerr) { return rc.serveSingle(q, k, keys[0]) }
	}
	rel := func(k kind, r int) handler {
		return func(rc *rctx, q *query, keys []string) (*resp, *gerr) { return rc.serveRelation(q, k, keys[0], r) }
	}
	delta := func(k kind) handler {
		return func(rc *rctx, q *query, keys []string) (*resp, *gerr) { return rc.serveDelta(q, k) }
	}
	// Literal routes come before {id} routes of the same length.
	addRoute("GET", "users", permUsers, collection(kUser))
	addRoute("GET", "users/delta", permUsers, delta(kUser))
	addRoute("GET", "users/{id}", permUsers, single(kUser))
	addRoute("GET", "users/{id}/memberOf", permMemberOf, rel(kUser, relMemberOf))
	addRoute("GET", "users/{id}/transitiveMemberOf", permMemberOf, rel(kUser, relTransitiveMemberOf))
	addRoute("GET", "users/{id}/appRoleAssignments", permAssignments, rel(kUser, relAppRoleAssignments))
	addRoute("GET", "groups", permGroups, collection(kGroup))
	addRoute("GET", "groups/delta", permGroups, delta(kGroup))
	addRoute("GET", "groups/{id}", permGroups, single(kGroup))
	addRoute("GET", "groups/{id}/members", permGroups, rel(kGroup, relMembers))
	addRoute("GET", "groups/{id}/transitiveMembers", permGroups, rel(kGroup, relTransitiveMembers))
	addRoute("GET", "groups/{id}/memberOf", permGroups, rel(kGroup, relMemberOf))
	addRoute("GET", "groups/{id}/appRoleAssignments", permAssignments, rel(kGroup, relAppRoleAssignments))
	addRoute("GET", "devices", permDevices, collection(kDevice))
	addRoute("GET", "devices/delta", permDevices, delta(kDevice))
	addRoute("GET", "devices/{id}", permDevices, single(kDevice))
	addRoute("GET", "devices/{id}/memberOf", permDevices, rel(kDevice, relMemberOf))
	addRoute("GET", "applications", permApps, collection(kApp))
	addRoute("GET", "applications/{id}", permApps, single(kApp))
	addRoute("GET", "servicePrincipals", permApps, collection(kSP))
	addRoute("GET", "servicePrincipals/{id}", permApps, single(kSP))
	addRoute("GET", "servicePrincipals/{id}/appRoleAssignedTo", permSPAssignment, rel(kSP, relAppRoleAssignedTo))
	addRoute("GET", "servicePrincipals/{id}/appRoleAssignments", permSPAssignment, rel(kSP, relAppRoleAssignments))
	addRoute("GET", "servicePrincipals/{id}/memberOf", permApps, rel(kSP, relMemberOf))
	addRoute("GET", "directoryRoles", permRoles, func(rc *rctx, q *query, keys []string) (*resp, *gerr) { return rc.serveUnpaged(q, kRole) })
	addRoute("GET", "directoryRoles/{id}", permRoles, single(kRole))
	addRoute("GET", "directoryRoles/{id}/members", permRoles, rel(kRole, relMembers))
	addRoute("GET", "roleManagement/directory/roleDefinitions", permRoles, collection(kRoleDef))
	addRoute("GET", "roleManagement/directory/roleDefinitions/{id}", permRoles, single(kRoleDef))
	addRoute("GET", "directory/administrativeUnits", permAdminUnits, collection(kAU))
	addRoute("GET", "directory/administrativeUnits/delta", permAdminUnits, delta(kAU))
	addRoute("GET", "administrativeUnits/delta", permAdminUnits, delta(kAU))
	addRoute("GET", "directory/administrativeUnits/{id}", permAdminUnits, single(kAU))
	addRoute("GET", "directory/administrativeUnits/{id}/members", permAdminUnits, rel(kAU, relMembers))
	addRoute("GET", "organization", permOrg, func(rc *rctx, q *query, keys []string) (*resp, *gerr) { return rc.serveUnpaged(q, kOrg) })
	addRoute("GET", "organization/{id}", permOrg, single(kOrg))
	addRoute("POST", "$batch", nil, nil) // served by serveBatch
}

// relTransitiveMemberOf lists the groups and roles an object is in,
// directly or through nested groups, and the administrative units it is
// directly in.
const relTransitiveMemberOf = 100

// match finds the route for a path below /v1.0 (segments as sent). It
// returns the route serving the path (whatever the method), the key
// segments, and the first segment no route knows.
func match(segs []string) (*route, []string, string) {
	norm := make([]string, len(segs))
	for i, s := range segs {
		ls := strings.ToLower(s)
		switch ls {
		case "delta()", "microsoft.graph.delta", "microsoft.graph.delta()":
			ls = "delta"
		}
		norm[i] = ls
	}
	var best *route
	bestLit := -1
	var keys []string
	for _, rt := range routes {
		if len(rt.segs) != len(norm) {
			continue
		}
		ok, lit := true, 0
		var ks []string
		for i, p := range rt.segs {
			if p == "{id}" {
				if norm[i] == "" {
					ok = false
					break
				}
				ks = append(ks, segs[i])
				continue
			}
			if p != norm[i] {
				ok = false
				break
			}
			lit++
		}
		if ok && lit > bestLit {
			best, bestLit, keys = rt, lit, ks
		}
	}
	if best != nil {
		return best, keys, ""
	}
	// The first segment that no route with this prefix knows.
	for i := range norm {
		known := false
		for _, rt := range routes {
			if len(rt.segs) > i && (rt.segs[i] == norm[i] || rt.segs[i] == "{id}" && i > 0) && prefixMatches(rt.segs, norm, i) {
				known = true
				break
			}
		}
		if !known {
			return nil, nil, segs[i]
		}
	}
	return nil, nil, segs[len(segs)-1]
}

func prefixMatches(pat, norm []string, n int) bool {
	for i := 0; i < n; i++ {
		if pat[i] != "{id}" && pat[i] != norm[i] {
			return false
		}
	}
	return true
}

const graphContentType = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"

// serveGraph answers one request to the Graph host.
func (s *Server) serveGraph(w http.ResponseWriter, r *http.Request) {
	n := s.reqN.Add(1)
	rc := s.newRctx(r.Header, linkBase(r), n, false)
	rc.faults = new([]string)
	if s.fault(n, faultReset, s.opt.Faults.ConnReset) {
		s.countFault("reset", "unknown")
		resetConn(w)
		return
	}
	var body io.Reader = r.Body
	res := s.dispatch(rc, r.Method, strings.TrimPrefix(r.URL.Path, GraphPath), r.URL.RawQuery, body)
	s.record(res, false)
	h := w.Header()
	for k, v := range res.hdr {
		h[k] = v
	}
	h.Set("Content-Length", strconv.Itoa(len(res.body)))
	f := &s.opt.Faults
	ok := res.status == http.StatusOK && len(res.body) > 2
	if ok && f.MalformIf != nil && f.MalformIf(r) {
		s.countFault("malformed", res.pattern) // what the answer held never arrives
		half := res.body[:len(res.body)/2]
		h.Set("Content-Length", strconv.Itoa(len(half)))
		w.WriteHeader(res.status)
		_, _ = w.Write(half)
		return
	}
	if ok && (s.fault(n, faultTruncate, f.TruncatedBody) || f.TruncateIf != nil && f.TruncateIf(r)) {
		s.countFault("truncated", res.pattern)
		w.WriteHeader(res.status)
		_, _ = w.Write(res.body[:len(res.body)/2])
		if fl, canFlush := w.(http.Flusher); canFlush {
			fl.Flush()
		}
		panic(http.ErrAbortHandler) // the connection is closed mid-body
	}
	for _, kind := range *rc.faults {
		s.countFault(kind, res.pattern)
	}
	w.WriteHeader(res.status)
	if ok && s.fault(n, faultSlowBody, f.SlowBody) {
		s.countFault("slow", res.pattern)
		trickle.Write(w, r, res.body, f.SlowBodyTime)
		return
	}
	_, _ = w.Write(res.body)
	s.log.Debug("graphsim: request", "method", r.Method, "path", r.URL.Path, "query", r.URL.RawQuery, "status", res.status, "ru", res.ru)
}

// resetConn closes the client's connection abruptly (TCP RST where
// possible), without an answer.
func resetConn(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			if tc, ok := conn.(*net.TCPConn); ok {
				_ = tc.SetLinger(0)
			}
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

func (s *Server) newRctx(h http.Header, base string, n uint64, inner bool) *rctx {
	rc := &rctx{s: s, base: base, now: s.now(), hdr: h, n: n, inner: inner,
		reqID: uuidFrom(hashOf(uint64(s.opt.Seed), n, 0x7e9))}
	rc.cliID = h.Get("client-request-id")
	if rc.cliID == "" {
		rc.cliID = rc.reqID
	}
	return rc
}

// result is a complete answer with what Stats needs.
type result struct {
	status    int
	hdr       http.Header
	body      []byte
	pattern   string
	ru        int
	throttled bool
}

// record counts an answer.
func (s *Server) record(res result, inner bool) {
	s.count(func(st *Stats) {
		st.Requests[res.pattern]++
		st.Status[res.status]++
		if res.ru > 0 {
			st.RU[res.pattern] += res.ru
			st.TotalRU += res.ru
		}
		if res.throttled {
			st.Throttled429++
			st.Throttled429ByPattern[res.pattern]++
		}
		if inner {
			st.InnerRequests++
		}
	})
}

func (s *Server) countFault(kind, pattern string) {
	s.count(func(st *Stats) { st.Faults[kind]++ })
}

// dispatch answers one Graph request: faults, authentication, routing,
// permissions, the RU budget, then the endpoint. path starts at the
// version segment ("/v1.0/users").
func (s *Server) dispatch(rc *rctx, method, path, rawQuery string, body io.Reader) result {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	res := result{pattern: "unknown"}
	finish := func(status int, hdr http.Header, b []byte) result {
		res.status, res.body = status, b
		if res.hdr == nil {
			res.hdr = http.Header{}
		}
		for k, v := range hdr {
			res.hdr[k] = v
		}
		rc.commonHeaders(res.hdr)
		return res
	}
	fail := func(e *gerr) result { return finish(e.status, e.hdr, rc.errorBody(e)) }

	if len(segs) == 0 || segs[0] == "" {
		return fail(badRequest("BadRequest", "Invalid version."))
	}
	if !strings.EqualFold(segs[0], "v1.0") {
		return fail(badRequest("BadRequest", "Invalid version: %s. The simulator serves v1.0.", clip(segs[0])))
	}
	rt, keys, unknownSeg := match(segs[1:])
	if rt != nil {
		res.pattern = rt.pattern
		if rt.method != method {
			res.pattern = method + strings.TrimPrefix(rt.pattern, rt.method)
		}
	}
	// Service-side faults come first: they happen whatever the request.
	f := &s.opt.Faults
	switch {
	case s.fault(rc.n, faultThrottle, f.Throttle):
		rc.countFault("429")
		secs := strconv.Itoa(int((f.RetryAfter + time.Second - 1) / time.Second))
		return fail(&gerr{status: http.StatusTooManyRequests, code: "TooManyRequests",
			msg: "Too many requests. Please retry after " + secs + " seconds.",
			hdr: http.Header{"Retry-After": {secs}}})
	case s.fault(rc.n, faultUnavailable, f.Unavailable):
		rc.countFault("503")
		secs := strconv.Itoa(int((f.RetryAfter + time.Second - 1) / time.Second))
		return fail(&gerr{status: http.StatusServiceUnavailable, code: "serviceNotAvailable",
			msg: "The service is temporarily unavailable. Please retry after " + secs + " seconds.",
			hdr: http.Header{"Retry-After": {secs}}})
	case s.fault(rc.n, faultUnavailableNoRA, f.UnavailableNoRetryAfter):
		rc.countFault("503-no-retry-after")
		return fail(&gerr{status: http.StatusServiceUnavailable, code: "serviceNotAvailable",
			msg: "The service is temporarily unavailable."})
	case s.fault(rc.n, faultGatewayTimeout, f.GatewayTimeout):
		rc.countFault("504")
		return fail(&gerr{status: http.StatusGatewayTimeout, code: "UnknownError", msg: "Gateway timeout."})
	}

	c, ae := s.authenticate(rc.hdr, rc.now)
	if ae == nil && s.fault(rc.n, faultExpiredToken, f.ExpiredToken) {
		rc.countFault("expired-token")
		ae = &authError{"Lifetime validation failed, the token is expired."}
	}
	if ae != nil {
		return fail(&gerr{status: http.StatusUnauthorized, code: "InvalidAuthenticationToken", msg: ae.msg,
			hdr: http.Header{"Www-Authenticate": {`Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"`}}})
	}
	rc.claims = c
	rc.raw = rawQuery
	if rt != nil && rt.serve == nil && rt.method == method { // $batch: its requests are charged one by one
		if rc.inner {
			return fail(badRequest("BadRequest", "A $batch request cannot be nested in a $batch request."))
		}
		st, hdr, b := s.serveBatch(rc, body)
		return finish(st, hdr, b)
	}
	// Every authenticated request is charged (errors included), except
	// those refused by the budget itself.
	vals, _ := url.ParseQuery(rawQuery)
	ru := cost(method, costPattern(path), vals)
	admitted, retry, pct := s.thr.charge(c.AppID+"/"+c.Tid, rc.now, ru)
	if !admitted {
		res.throttled = true
		return fail(&gerr{status: http.StatusTooManyRequests, code: "TooManyRequests",
			msg: "Too many requests. The application has exceeded its resource unit limit; retry after " + strconv.Itoa(retry) + " seconds.",
			hdr: http.Header{
				"Retry-After":                    {strconv.Itoa(retry)},
				"X-Ms-Throttle-Scope":            {"Tenant_Application/ReadWrite/" + c.AppID + "/" + c.Tid},
				"X-Ms-Throttle-Information":      {"ResourceUnitLimitExceeded"},
				"X-Ms-Throttle-Limit-Percentage": {pctHeader(pct)},
			}})
	}
	r := s.serveRoute(rc, rt, keys, unknownSeg, method, rawQuery, c)
	r.ru = ru
	r.hdr.Set("X-Ms-Resource-Unit", strconv.Itoa(ru))
	if pct >= 0.8 {
		r.hdr.Set("X-Ms-Throttle-Limit-Percentage", pctHeader(pct))
	}
	return r
}

// serveRoute answers an admitted request: routing, method, permissions,
// query options, then the endpoint.
func (s *Server) serveRoute(rc *rctx, rt *route, keys []string, unknownSeg, method, rawQuery string, c *claims) result {
	res := result{pattern: "unknown"}
	if rt != nil {
		res.pattern = rt.pattern
		if rt.method != method {
			res.pattern = method + strings.TrimPrefix(rt.pattern, rt.method)
		}
	}
	finish := func(status int, hdr http.Header, b []byte) result {
		res.status, res.body, res.hdr = status, b, http.Header{}
		for k, v := range hdr {
			res.hdr[k] = v
		}
		rc.commonHeaders(res.hdr)
		return res
	}
	fail := func(e *gerr) result { return finish(e.status, e.hdr, rc.errorBody(e)) }
	if rt == nil {
		return fail(badRequest("BadRequest", "Resource not found for the segment '%s'.", clip(unknownSeg)))
	}
	if rt.method != method || rt.serve == nil {
		return fail(&gerr{status: http.StatusMethodNotAllowed, code: "Request_BadRequest",
			msg: "Specified HTTP method is not allowed for the request target.", hdr: http.Header{"Allow": {rt.method}}})
	}
	if len(rt.perms) > 0 && !c.hasAny(rt.perms) {
		return fail(&gerr{status: http.StatusForbidden, code: "Authorization_RequestDenied",
			msg: "Insufficient privileges to complete the operation."})
	}
	q, ge := parseQuery(rawQuery)
	if ge != nil {
		return fail(ge)
	}
	out, ge := rt.serve(rc, q, keys)
	if ge != nil {
		return fail(ge)
	}
	return finish(out.status, out.hdr, out.body)
}

func (rc *rctx) commonHeaders(h http.Header) {
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", graphContentType)
	}
	h.Set("Request-Id", rc.reqID)
	h.Set("Client-Request-Id", rc.cliID)
	h.Set("Cache-Control", "no-cache")
	if !rc.inner {
		h.Set("Odata-Version", "4.0")
		h.Set("X-Ms-Ags-Diagnostic", `{"ServerInfo":{"DataCenter":"Simulated","Slice":"E","Ring":"1","ScaleUnit":"000","RoleInstance":"GRAPHSIM01"}}`)
	}
}

// errorBody renders Graph's error shape.
func (rc *rctx) errorBody(e *gerr) []byte {
	var w jw
	w.open()
	w.key("error")
	w.open()
	w.str("code", e.code)
	w.str("message", e.msg)
	w.key("innerError")
	w.open()
	w.str("date", rc.now.UTC().Format("2006-01-02T15:04:05"))
	w.str("request-id", rc.reqID)
	w.str("client-request-id", rc.cliID)
	w.close()
	w.close()
	w.close()
	return w.b
}

func ok(body []byte) (*resp, *gerr) { return &resp{status: http.StatusOK, body: body}, nil }

// context returns an @odata.context value.
func (rc *rctx) context(frag string) string { return rc.base + "/v1.0/$metadata#" + frag }

// selectSuffix renders "(a,b)" for a context when $select was given.
func selectSuffix(q *query) string {
	if !q.hasSel || len(q.sel) == 0 {
		return ""
	}
	return "(" + strings.Join(q.sel, ",") + ")"
}

// nextLink rebuilds the request URL with a new $skiptoken: the other query
// options are kept as sent.
func (rc *rctx) nextLink(path, rawQuery, token string) string {
	var kept []string
	for _, part := range strings.Split(rawQuery, "&") {
		if part == "" {
			continue
		}
		k, _, _ := strings.Cut(part, "=")
		if uk, err := url.QueryUnescape(k); err == nil {
			k = uk
		}
		if lk := strings.TrimPrefix(strings.ToLower(k), "$"); lk == "skiptoken" || lk == "deltatoken" {
			continue
		}
		kept = append(kept, part)
	}
	kept = append(kept, "$skiptoken="+token)
	return rc.base + "/v1.0/" + path + "?" + strings.Join(kept, "&")
}

// pageLen decides a page's length: usually $top, for one page in ten
// shorter, and now and then (never first) empty though more follow. It is
// a pure function of the position, so a retried link gets the same page.
func (s *Server) pageLen(top int, pos, page uint32, salt uint64) int {
	h := hashOf(uint64(s.opt.Seed), salt, uint64(pos), uint64(page), uint64(top))
	switch {
	case page > 0 && h%50 == 7:
		return 0
	case h%10 == 3 && top > 1:
		return 1 + int((h>>16)%uint64(top-1))
	}
	return top
}

// cut is one page cut from a list ordered by seq.
type cut[T any] struct {
	items []T
	last  uint32
	more  bool
}

func cutPage[T any](list []T, seq func(T) uint32, pos uint32, n int, keep func(T) bool) cut[T] {
	lo, hi := 0, len(list)
	for lo < hi {
		m := (lo + hi) / 2
		if seq(list[m]) <= pos {
			lo = m + 1
		} else {
			hi = m
		}
	}
	c := cut[T]{last: pos}
	i := lo
	for ; i < len(list) && len(c.items) < n; i++ {
		if keep != nil && !keep(list[i]) {
			continue
		}
		c.items = append(c.items, list[i])
		c.last = seq(list[i])
	}
	for ; i < len(list); i++ {
		if keep == nil || keep(list[i]) {
			c.more = true
			break
		}
	}
	return c
}

func objSeq(o *obj) uint32        { return o.seq }
func asgSeq(a *assignment) uint32 { return a.seq }

// listState reads the $skiptoken of a paged collection.
func (rc *rctx) listState(q *query, routeID int, owner uint32) (listTok, *gerr) {
	t := listTok{route: uint64(routeID), owner: owner}
	if q.deltatoken != "" {
		return t, badRequest("Request_BadRequest", "$deltatoken is only supported on delta queries.")
	}
	if q.skiptoken == "" {
		if q.hasToken {
			return t, badRequest("Directory_ExpiredPageToken", "The specified page token value has expired and can no longer be included in your request.")
		}
		return t, nil
	}
	tok, err := rc.s.decodeList(q.skiptoken)
	if err != nil || tok.route != uint64(routeID) || tok.owner != owner {
		return t, badRequest("Directory_ExpiredPageToken", "The specified page token value has expired and can no longer be included in your request.")
	}
	return tok, nil
}

func (rc *rctx) routeFor(pattern string) int {
	for _, rt := range routes {
		if rt.pattern == pattern {
			return rt.id
		}
	}
	return -1
}

// serveCollection serves a top-level paged collection.
func (rc *rctx) serveCollection(q *query, k kind) (*resp, *gerr) {
	sch := schemas[k]
	top, ge := q.pageSize()
	if ge != nil {
		return nil, ge
	}
	view := sch.def
	if q.hasSel {
		if view, ge = selectView(sch, q.sel); ge != nil {
			return nil, ge
		}
	}
	filter, ge := parseFilter(sch, q.filter, false)
	if ge != nil {
		return nil, ge
	}
	exp, ge := parseExpand(sch, q.expand)
	if ge != nil {
		return nil, ge
	}
	if ge := q.checkUnsupported(rc.hdr, true); ge != nil {
		return nil, ge
	}
	routeID := rc.routeFor("GET /v1.0/" + sch.set)
	st, ge := rc.listState(q, routeID, 0)
	if ge != nil {
		return nil, ge
	}
	d := rc.s.dir
	d.mu.RLock()
	defer d.mu.RUnlock()
	var keep func(*obj) bool
	if filter != nil {
		keep = filter.eval
	}
	n := rc.s.pageLen(top, st.pos, st.page, uint64(routeID))
	c := cutPage(d.lists[k], objSeq, st.pos, n, keep)
	size := 512
	for _, o := range c.items {
		size += o.viewLen(view)
	}
	b := make([]byte, 0, size)
	b = append(b, `{"@odata.context":`...)
	b = appendJSONString(b, rc.context(sch.set+selectSuffix(q)))
	if q.count == "true" {
		total := 0
		for _, o := range d.lists[k] {
			if keep == nil || keep(o) {
				total++
			}
		}
		b = append(b, `,"@odata.count":`...)
		b = strconv.AppendInt(b, int64(total), 10)
	}
	if c.more {
		tok := rc.s.encodeList(listTok{route: uint64(routeID), pos: c.last, page: st.page + 1})
		b = append(b, `,"@odata.nextLink":`...)
		b = appendJSONString(b, rc.nextLink(sch.set, rc.rawQuery(), tok))
	}
	b = append(b, `,"value":[`...)
	for i, o := range c.items {
		if i > 0 {
			b = append(b, ',')
		}
		start := len(b)
		if exp != nil {
			b = o.appendView(b, view, false, rc.expanded(o, exp))
		} else {
			b = o.appendView(b, view, false)
		}
		if i == 0 {
			b = growFor(b, len(b)-start, len(c.items)-1)
		}
	}
	b = append(b, "]}"...)
	return ok(b)
}

func (rc *rctx) rawQuery() string { return rc.raw }

// expanded renders an expanded relation (at most 20 items, as Graph does).
func (rc *rctx) expanded(o *obj, e *expandSpec) []byte {
	var b []byte
	b = appendJSONString(b, e.name)
	b = append(b, ":["...)
	const limit = 20
	switch e.rel {
	case relAppRoleAssignments, relAppRoleAssignedTo:
		list := o.asg
		if e.rel == relAppRoleAssignedTo {
			list = o.asgTo
		}
		var view map[string]bool
		if len(e.sel) > 0 {
			view = map[string]bool{}
			for _, p := range e.sel {
				view[p] = true
			}
		}
		for i, a := range list {
			if i == limit {
				break
			}
			if i > 0 {
				b = append(b, ',')
			}
			b = appendAssignment(b, a, view)
		}
	default:
		list := o.members
		if e.rel == relMemberOf {
			list = o.memberOf
		}
		mv, _ := newMixedView(e.sel)
		for i, m := range list {
			if i == limit {
				break
			}
			if i > 0 {
				b = append(b, ',')
			}
			b = m.appendView(b, mv.view(m.k), true)
		}
	}
	return append(b, ']')
}

// serveSingle serves GET {collection}/{id}.
func (rc *rctx) serveSingle(q *query, k kind, key string) (*resp, *gerr) {
	sch := schemas[k]
	view := sch.def
	var ge *gerr
	if q.hasSel {
		if view, ge = selectView(sch, q.sel); ge != nil {
			return nil, ge
		}
	}
	exp, ge := parseExpand(sch, q.expand)
	if ge != nil {
		return nil, ge
	}
	d := rc.s.dir
	d.mu.RLock()
	defer d.mu.RUnlock()
	o := d.lookup(k, key)
	if o == nil {
		return nil, notFound(key)
	}
	var b []byte
	b = append(b, `{"@odata.context":`...)
	b = appendJSONString(b, rc.context(sch.set+selectSuffix(q)+"/$entity"))
	inner := o.appendView(nil, view, false)
	if exp != nil {
		inner = o.appendView(nil, view, false, rc.expanded(o, exp))
	}
	b = append(b, ',')
	b = append(b, inner[1:]...)
	return ok(b)
}

// serveUnpaged serves directoryRoles and organization: every object in
// one answer.
func (rc *rctx) serveUnpaged(q *query, k kind) (*resp, *gerr) {
	sch := schemas[k]
	view := sch.def
	var ge *gerr
	if q.hasSel {
		if view, ge = selectView(sch, q.sel); ge != nil {
			return nil, ge
		}
	}
	filter, ge := parseFilter(sch, q.filter, false)
	if ge != nil {
		return nil, ge
	}
	exp, ge := parseExpand(sch, q.expand)
	if ge != nil {
		return nil, ge
	}
	if ge := q.checkUnsupported(rc.hdr, false); ge != nil {
		return nil, ge
	}
	d := rc.s.dir
	d.mu.RLock()
	defer d.mu.RUnlock()
	var b []byte
	b = append(b, `{"@odata.context":`...)
	b = appendJSONString(b, rc.context(sch.set+selectSuffix(q)))
	b = append(b, `,"value":[`...)
	first := true
	for _, o := range d.lists[k] {
		if filter != nil && !filter.eval(o) {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		if exp != nil {
			b = o.appendView(b, view, false, rc.expanded(o, exp))
		} else {
			b = o.appendView(b, view, false)
		}
	}
	b = append(b, "]}"...)
	return ok(b)
}

// serveRelation serves a paged relation of one object.
func (rc *rctx) serveRelation(q *query, k kind, key string, rel int) (*resp, *gerr) {
	sch := schemas[k]
	top, ge := q.pageSize()
	if ge != nil {
		return nil, ge
	}
	if q.filter != "" {
		return nil, unsupportedQuery("$filter on this relationship requires advanced query capabilities (ConsistencyLevel: eventual and $count=true), which the simulator does not offer.")
	}
	if q.expand != "" {
		return nil, unsupportedQuery("$expand is not supported on this relationship.")
	}
	if ge := q.checkUnsupported(rc.hdr, false); ge != nil {
		return nil, ge
	}
	relName := map[int]string{relMembers: "members", relTransitiveMembers: "transitiveMembers", relMemberOf: "memberOf",
		relTransitiveMemberOf: "transitiveMemberOf", relAppRoleAssignments: "appRoleAssignments", relAppRoleAssignedTo: "appRoleAssignedTo"}[rel]
	routeID := rc.routeFor("GET /v1.0/" + sch.set + "/{id}/" + relName)
	var asgView map[string]bool
	var mv *mixedView
	isAsg := rel == relAppRoleAssignments || rel == relAppRoleAssignedTo
	if isAsg && q.hasSel {
		asgView = map[string]bool{}
		for _, p := range q.sel {
			found := false
			for _, ap := range assignmentProps {
				if strings.EqualFold(ap, p) {
					asgView[ap] = true
					found = true
				}
			}
			if !found {
				return nil, badRequest("BadRequest", "Parsing OData Select and Expand failed: Could not find a property named '%s' on type 'microsoft.graph.appRoleAssignment'.", clip(p))
			}
		}
	} else if !isAsg {
		if mv, ge = newMixedView(q.sel); ge != nil {
			return nil, ge
		}
	}
	d := rc.s.dir
	d.mu.RLock()
	defer d.mu.RUnlock()
	o := d.lookup(k, key)
	if o == nil {
		return nil, notFound(key)
	}
	st, ge := rc.listState(q, routeID, o.seq)
	if ge != nil {
		return nil, ge
	}
	n := rc.s.pageLen(top, st.pos, st.page, uint64(routeID)<<32|uint64(o.seq))
	var b []byte
	b = append(b, `{"@odata.context":`...)
	var more bool
	var last uint32
	var items []byte
	if isAsg {
		b = appendJSONString(b, rc.context(sch.set+"('"+o.id+"')/"+relName+selectSuffix(q)))
		list := o.asg
		if rel == relAppRoleAssignedTo {
			list = o.asgTo
		}
		c := cutPage(list, asgSeq, st.pos, n, nil)
		more, last = c.more, c.last
		for i, a := range c.items {
			if i > 0 {
				items = append(items, ',')
			}
			items = appendAssignment(items, a, asgView)
		}
	} else {
		b = appendJSONString(b, rc.context("directoryObjects"+selectSuffix(q)))
		var list []*obj
		switch rel {
		case relMembers:
			list = o.members
		case relMemberOf:
			list = o.memberOf
		case relTransitiveMembers:
			list = d.transitive(o)
		case relTransitiveMemberOf:
			list = d.transitiveMemberOf(o)
		}
		c := cutPage(list, objSeq, st.pos, n, nil)
		more, last = c.more, c.last
		for i, m := range c.items {
			if i > 0 {
				items = append(items, ',')
			}
			start := len(items)
			items = m.appendView(items, mv.view(m.k), true)
			if i == 0 {
				items = growFor(items, len(items)-start, len(c.items)-1)
			}
		}
	}
	if more {
		tok := rc.s.encodeList(listTok{route: uint64(routeID), owner: o.seq, pos: last, page: st.page + 1})
		b = append(b, `,"@odata.nextLink":`...)
		b = appendJSONString(b, rc.nextLink(sch.set+"/"+o.id+"/"+relName, rc.rawQuery(), tok))
	}
	b = append(b, `,"value":[`...)
	b = append(b, items...)
	b = append(b, "]}"...)
	return ok(b)
}

// transitiveMemberOf returns the groups and roles o is in, directly or
// through nested groups, by seq, and the administrative units o itself is
// in: administrative units do not nest, and a group's membership of one
// scopes the group, not its members.
func (d *directory) transitiveMemberOf(o *obj) []*obj {
	seen := map[*obj]bool{o: true}
	var out []*obj
	queue := []*obj{o}
	for len(queue) > 0 {
		x := queue[0]
		queue = queue[1:]
		for _, g := range x.memberOf {
			if g.k == kAU && x != o {
				continue
			}
			if !seen[g] {
				seen[g] = true
				out = append(out, g)
				queue = append(queue, g)
			}
		}
	}
	sortBySeq(out)
	return out
}

// growFor makes room in b for n more objects about as long as one (plus
// a little): a page's objects are alike, and growing a large page by
// doubling copied it several times.
func growFor(b []byte, one, n int) []byte {
	return slices.Grow(b, n*(one+one/8+1))
}
