// Package sim is an in-process simulator of the Qualys TotalCloud gateway
// (and, later, Microsoft Graph) for demos and tests: deterministic data, real
// paging, authentication, rate limits and injectable faults.
//
// The simulator serves the APIs exactly as the vendor documentation shows
// them (field names, field order, formats), so the same client code works
// unchanged against it and against the real service. It is deliberately not
// more forgiving than the real service: it sends no headers the real service
// does not document (no Retry-After on 429, for instance).
//
// Qualys endpoints served (gateway paths; Bearer JWT from POST /auth):
//
//	GET    /cloudview-api/rest/v2/policies                        Spring page
//	GET    /cloudview-api/rest/v1/exceptions/list                 Spring page
//	GET    /cloudview-api/rest/v1/exceptions/{exceptionId}        one exception
//	POST   /cloudview-api/rest/v1/exceptions/create               201, the exception
//	PUT    /cloudview-api/rest/v1/exceptions/{exceptionId}        200, the exception
//	DELETE /cloudview-api/rest/v1/exceptions/delete               {"exceptionIds"} → {"deletedIds"}
//	GET    /cloudview-api/rest/v1/resource/{resourceType}/Azure   Spring page of a CIEM type
//	GET    /cloudview-api/rest/v1/resource/{resourceType}/AWS     marker page (EC2_INSTANCE)
//	GET    /cloudview-api/rest/v1/resource/{resourceType}/uuid/{resourceUuid}/AWS
//	POST   /connectors/v1.0/org/azure/                            Azure tenant connector
//	GET    /connectors/v1.0/org/azure/                            (simulator convenience) the created ones
//
// The resource lists take updated=[from..to] (now, now-<n><unit>, ISO
// dates) and filter=<field>:<value> (account.id or cloud.accountId for AWS,
// subscriptionId for Azure). One AWS query reaches at most 10,000 records.
//
// POST /_sim/mutate (JSON Mutation, no authentication) is a simulator-only
// control, not a Qualys API: it adds, changes and removes records like
// Server.Mutate, for incremental-sync demos.
//
// The Qualys part lives in the qualys*.go files; a Graph part can be added
// beside it by registering more routes in New.
package sim

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"qtc/api/sim/internal/listen"
)

// Options configure a Server. Zero values mean the documented defaults; use
// Defaults to see them filled in.
type Options struct {
	Username, Password string // accepted credentials; defaults "demo" / "demo-pass-2026"

	Policies   int   // number of policies, default 60 (negative: none); Counts["policies"] wins
	Exceptions int   // number of exceptions, default 1500 (negative: none); Counts["exceptions"] wins
	Seed       int64 // data seed, default 1; same seed (and same UTC day of Now) → byte-identical data

	Latency       time.Duration // added to every response; honours request cancellation
	ThrottleEvery int           // every Kth API request (not /auth) → 429 with X-RateLimit-ToWait-Sec: 1
	FailEvery     int           // every Kth API request (not /auth) → 503 with a JSON error body
	Faults        FaultOptions  // random faults (see FaultOptions), on the gateway and XML APIs

	RateLimit  int           // API calls allowed per window, default 2000; exhausted → 429 with X-RateLimit-ToWait-Sec
	RateWindow time.Duration // rate-limit window, default 1h

	MaxPageSize int           // pageSize above this is clamped (trust content/last), default 200
	TokenTTL    time.Duration // JWT lifetime, default 4h

	// Scale sets how many resources (EC2_INSTANCE and the Azure CIEM
	// types) are served: "" or ScaleSmall (a few dozen to a few hundred
	// per type) or ScaleSeed (the totals the release notes report, e.g.
	// 111,207 ENTRA_ID_USER). Resources are generated on first use.
	Scale string
	// Counts overrides the number of records of any type named by Types
	// ("policies" and "exceptions" included, overriding Policies and
	// Exceptions); a count of 0 or less means none. See Options.Count.
	Counts map[string]int
	// MarkerTTL is how long an AWS inventory marker stays valid after it
	// was issued (an older or unknown marker is a 400), default 1h.
	MarkerTTL time.Duration

	// Hosts is the number of Qualys host assets served by the classic
	// XML APIs (host asset search, VM host detections): 0 means the Scale's
	// default (200 at ScaleSmall, 30,000 at ScaleSeed), negative none.
	// See xmlapi.go.
	Hosts int
	// ConcurrencyLimit is how many classic XML API calls may run at once
	// (X-Concurrency-Limit-Limit); one more is answered 409 with CODE 1960.
	// Default 2, the Qualys default.
	ConcurrencyLimit int
	// XMLWork is how long each classic XML API call holds its concurrency
	// slot before answering (simulated server work), default 0.
	XMLWork time.Duration

	Now    func() time.Time // clock, default time.Now (tests inject)
	Logger *slog.Logger     // default: discard
}

// Defaults returns opt with every zero field set to its default.
func Defaults(opt Options) Options {
	if opt.Username == "" {
		opt.Username = "demo"
	}
	if opt.Password == "" {
		opt.Password = "demo-pass-2026"
	}
	if opt.Policies == 0 {
		opt.Policies = 60
	}
	if opt.Exceptions == 0 {
		opt.Exceptions = 1500
	}
	if opt.Seed == 0 {
		opt.Seed = 1
	}
	if opt.RateLimit <= 0 {
		opt.RateLimit = 2000
	}
	if opt.RateWindow <= 0 {
		opt.RateWindow = time.Hour
	}
	if opt.MaxPageSize <= 0 {
		opt.MaxPageSize = 200
	}
	if opt.TokenTTL <= 0 {
		opt.TokenTTL = 4 * time.Hour
	}
	if opt.Scale == "" {
		opt.Scale = ScaleSmall
	}
	if opt.MarkerTTL <= 0 {
		opt.MarkerTTL = time.Hour
	}
	if opt.ConcurrencyLimit <= 0 {
		opt.ConcurrencyLimit = qualysConcurrency
	}
	if opt.Faults.SlowBodyTime <= 0 {
		opt.Faults.SlowBodyTime = 500 * time.Millisecond
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	return opt
}

// Stats counts what a Server has answered since New.
type Stats struct {
	// Requests per endpoint path pattern, e.g. "/auth",
	// "/cloudview-api/rest/v2/policies",
	// "/cloudview-api/rest/v1/exceptions/{exceptionId}"; paths the
	// simulator does not serve are counted under "unknown".
	Requests map[string]int
	// Status counts responses per HTTP status code.
	Status map[int]int
	// Throttled counts 429 responses (injected by ThrottleEvery and caused
	// by an exhausted rate limit); RateLimited is the latter part.
	Throttled, RateLimited int
	// Failed counts 503 responses injected by FailEvery.
	Failed int
	// Faults counts the faults injected by Options.Faults, by kind: "429"
	// (409 CODE 1965 on the XML APIs), "503", "504", "reset", "truncated",
	// "malformed", "slow", "expired-token".
	Faults map[string]int
	// Canceled counts requests the client abandoned while the simulator was
	// applying Latency (no response was written).
	Canceled int
	// Tokens counts JWTs issued by /auth.
	Tokens int
}

// Server is one simulator instance. It is safe for concurrent use.
type Server struct {
	opt    Options
	log    *slog.Logger
	routes map[string]*route // by path, for patterns without wildcards
	wild   []*route          // patterns with {wildcards}, in registration order
	q      *qualys
	x      *xmlAPI // classic XML APIs (host assets, detections, knowledge base)

	reqN atomic.Uint64 // API requests (gateway and XML), for Faults

	mu    sync.Mutex // guards stats
	stats Stats

	ln listen.Server // Start and Close
}

// route is one served path pattern, e.g.
// "/cloudview-api/rest/v1/exceptions/{exceptionId}".
type route struct {
	pattern string   // Stats key
	segs    []string // pattern split at "/"; "{name}" matches one non-empty segment
	literal int      // number of segments without wildcard (more wins)
	methods []string // in registration order, for Allow
	serve   map[string]func(w http.ResponseWriter, r *http.Request)
}

func (rt *route) allow() string { return strings.Join(rt.methods, ", ") }

// match reports whether a path, split at "/", matches rt.
func (rt *route) match(segs []string) bool {
	if len(segs) != len(rt.segs) {
		return false
	}
	for i, p := range rt.segs {
		if isWildcard(p) {
			if segs[i] == "" {
				return false
			}
		} else if p != segs[i] {
			return false
		}
	}
	return true
}

func isWildcard(seg string) bool { return strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") }

// unknownPattern is the Stats key of paths the simulator does not serve.
const unknownPattern = "unknown"

// New builds a simulator and generates its policies and exceptions
// (deterministically from opt.Seed); resource types are generated, from the
// same seed and the UTC day of the clock at New, on first use. It does not
// listen: use Handler or Start.
func New(opt Options) *Server {
	opt = Defaults(opt)
	if err := opt.Validate(); err != nil {
		opt.Logger.Error("sim: invalid options, using the small scale and ignoring unknown counts", "err", err)
		if scaleCounts[opt.Scale] == nil {
			opt.Scale = ScaleSmall
		}
	}
	s := &Server{
		opt:    opt,
		log:    opt.Logger,
		routes: make(map[string]*route),
		stats:  Stats{Requests: make(map[string]int), Status: make(map[int]int), Faults: make(map[string]int)},
	}
	s.q = newQualys(s)
	s.q.register(s)
	s.x = newXMLAPI(s)
	s.x.register(s)
	return s
}

// handle registers serve for method on pattern and on any alias paths
// (counted under pattern). A pattern may carry "{name}" wildcards, read with
// r.PathValue; a path matching several patterns goes to the one with the
// most literal segments that serves the method.
func (s *Server) handle(pattern, method string, serve func(http.ResponseWriter, *http.Request), aliases ...string) {
	for _, path := range append([]string{pattern}, aliases...) {
		rt := s.routes[path]
		if rt == nil {
			for _, w := range s.wild {
				if w.pattern == path {
					rt = w
				}
			}
		}
		if rt == nil {
			rt = &route{pattern: pattern, segs: strings.Split(path, "/"), serve: map[string]func(http.ResponseWriter, *http.Request){}}
			wild := false
			for _, seg := range rt.segs {
				if isWildcard(seg) {
					wild = true
				} else {
					rt.literal++
				}
			}
			if wild {
				s.wild = append(s.wild, rt)
			} else {
				s.routes[path] = rt
			}
		}
		if _, dup := rt.serve[method]; !dup {
			rt.methods = append(rt.methods, method)
		}
		rt.serve[method] = serve
	}
}

// lookup returns the route serving method on path, or, when no route
// serves the method, the most specific route matching path (whose Allow
// then answers 405), or nil.
func (s *Server) lookup(method, path string) *route {
	var cands []*route
	if rt := s.routes[path]; rt != nil {
		cands = append(cands, rt)
	}
	if len(s.wild) > 0 {
		segs := strings.Split(path, "/")
		for _, rt := range s.wild {
			if rt.match(segs) {
				cands = append(cands, rt)
			}
		}
	}
	if len(cands) == 0 {
		return nil
	}
	// Most literal segments first; stable keeps registration order.
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].literal > cands[j].literal })
	for _, rt := range cands {
		if rt.serve[method] != nil {
			return rt
		}
	}
	return cands[0]
}

// setPathValues stores the wildcard segments of path on r.
func (rt *route) setPathValues(r *http.Request) {
	segs := strings.Split(r.URL.Path, "/")
	for i, p := range rt.segs {
		if isWildcard(p) && i < len(segs) {
			r.SetPathValue(p[1:len(p)-1], segs[i])
		}
	}
}

// Handler returns the simulator as an http.Handler (for httptest or a
// caller's own server).
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

// Start listens on addr (e.g. "127.0.0.1:0") and serves in the background.
// It returns the base URL, e.g. "http://127.0.0.1:41234".
func (s *Server) Start(addr string) (baseURL string, err error) {
	return s.ln.Start(addr, s.Handler(), s.log, "sim", slog.LevelWarn)
}

// Close stops a server started with Start: the listener and all connections
// are closed and requests waiting out Latency are abandoned. Close without
// Start, or a second Close, does nothing.
func (s *Server) Close() error { return s.ln.Close() }

// Stats returns a snapshot of the request counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Requests = make(map[string]int, len(s.stats.Requests))
	for k, v := range s.stats.Requests {
		st.Requests[k] = v
	}
	st.Status = make(map[int]int, len(s.stats.Status))
	for k, v := range s.stats.Status {
		st.Status[k] = v
	}
	st.Faults = make(map[string]int, len(s.stats.Faults))
	for k, v := range s.stats.Faults {
		st.Faults[k] = v
	}
	return st
}

// count applies f to the stats under the lock.
func (s *Server) count(f func(*Stats)) {
	s.mu.Lock()
	f(&s.stats)
	s.mu.Unlock()
}

func (s *Server) now() time.Time { return s.opt.Now() }

// serveHTTP is the single entry point: latency, routing, stats.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rt := s.lookup(r.Method, r.URL.Path)
	pattern := unknownPattern
	if rt != nil {
		pattern = rt.pattern
	}
	if !s.delay(r.Context()) {
		s.count(func(st *Stats) { st.Requests[pattern]++; st.Canceled++ })
		s.log.Debug("sim: request canceled during latency", "method", r.Method, "path", r.URL.Path)
		return
	}
	sw := &statusWriter{ResponseWriter: w}
	switch {
	case rt == nil:
		s.q.notFound(sw, r)
	case rt.serve[r.Method] == nil:
		s.q.methodNotAllowed(sw, r, rt.allow())
	default:
		rt.setPathValues(r)
		rt.serve[r.Method](sw, r)
	}
	code := sw.code
	if code == 0 {
		code = http.StatusOK
	}
	s.count(func(st *Stats) { st.Requests[pattern]++; st.Status[code]++ })
	s.log.Debug("sim: request", "method", r.Method, "path", r.URL.Path, "query", r.URL.RawQuery,
		"status", code, "dur", time.Since(start))
}

// delay waits out Latency; it reports false if the request was canceled
// first.
func (s *Server) delay(ctx context.Context) bool {
	if s.opt.Latency <= 0 {
		return true
	}
	t := time.NewTimer(s.opt.Latency)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// statusWriter remembers the status code written.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// PolicyRecords returns the exact bytes served for each policy, in served
// order. The slices are copies: callers may keep and modify them.
func (s *Server) PolicyRecords() []json.RawMessage { return s.q.policies.records() }

// ExceptionRecords returns the exact bytes served for each exception, in
// served order. The slices are copies.
func (s *Server) ExceptionRecords() []json.RawMessage { return s.q.exceptions.st.records() }
