// Package graphsim simulates Microsoft Graph v1.0 and the Microsoft identity
// platform token endpoints for qtc's demos and tests: a deterministic
// tenant, documented paging, delta, batching, throttling by resource units,
// and injectable faults.
//
// # Hosts
//
// One listener serves both hosts under path prefixes: the login host under
// LoginPath ("/login", so the authority is LoginURL and tokens come from
// {LoginURL}/{tenant}/oauth2/token or …/oauth2/v2.0/token) and the Graph
// host under GraphPath ("/graph", so clients build {GraphURL}/v1.0/users).
// Links the simulator returns (@odata.nextLink, @odata.deltaLink, Location)
// are absolute and built from the request's Host, so the same simulator
// works behind Start, httptest or a proxy.
//
// # Behaviour
//
// The simulator answers as Microsoft documents Graph v1.0: JSON in Graph's
// shapes with @odata.context; $top 1–999 (default 100); $select; a small
// $filter (eq, startswith, in, any, and, or on the properties Graph lets
// you filter without advanced queries); paging by opaque $skiptoken, with
// some pages shorter than $top or even empty while a nextLink follows;
// users' default property set (other properties need $select); delta
// queries for users, groups and administrative units (members@delta, large
// ones split over pages) and devices with soft and hard deletes, $deltatoken=latest, 7-day token
// expiry and replays; JSON batching (at most 20 requests, answered in a
// deterministic random order, each charged and throttled on its own);
// throttling by resource units per app and tenant per 10 seconds with
// Microsoft's cost table and headers; application permissions checked
// against the token's roles claim. It is deliberately not more forgiving
// than the real service.
//
// Data are generated from Options.Seed (and the UTC day of the clock at
// New): the same options give byte-identical objects. Mutate (or POST
// /_sim/mutate) changes the tenant so that delta can be tested end to end;
// Truth returns what a correct sync must hold, and CheapestPlan what such a
// sync costs at best.
package graphsim

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"qtc/api/sim/internal/listen"
)

// Path prefixes of the two hosts and the simulator's own controls.
const (
	LoginPath  = "/login"
	GraphPath  = "/graph"
	MutatePath = "/_sim/mutate" // POST a JSON Mutation; no authentication
	StatsPath  = "/_sim/stats"  // GET the Stats as JSON; no authentication
)

// Defaults for the app registration the simulator knows.
const (
	DefaultTenantID     = "5f1c3a2e-7b4d-4e8a-9c61-2d0f8b7a6e13"
	DefaultClientID     = "8d2e6f4a-1c3b-4a5d-b7e9-0f6a2c4d8e1b"
	DefaultClientSecret = "sim-secret-2026~QtcGraphDemo"
)

// Scales.
const (
	ScaleSmall = "small" // the default counts below
	ScaleSeed  = "seed"  // the sizes the Qualys release notes report for a large tenant
)

// Default counts at ScaleSmall and ScaleSeed.
const (
	smallUsers, smallGroups, smallDevices, smallApps, smallSPs = 500, 40, 300, 30, 60
	seedUsers, seedGroups, seedDevices, seedApps, seedSPs      = 111207, 800, 40000, 447, 1379
)

// Options configure a Server. Zero values mean the documented defaults; use
// Defaults to see them filled in.
type Options struct {
	// TenantID, ClientID and ClientSecret are the one app registration the
	// tenant holds. Defaults: DefaultTenantID, DefaultClientID,
	// DefaultClientSecret. A token request for another tenant answers
	// AADSTS90002, for another client AADSTS700016, with another secret
	// AADSTS7000215. The tenant may also be named by its verified domains.
	TenantID, ClientID, ClientSecret string
	// SecretExpired makes the client secret past its end date: token
	// requests with it answer AADSTS7000222.
	SecretExpired bool

	// Roles are the application permissions granted to the app (the
	// token's roles claim). nil means DefaultRoles; an empty non-nil slice
	// grants nothing. Endpoints needing a permission the token lacks answer
	// 403 Authorization_RequestDenied.
	Roles []string

	// Object counts; 0 means the Scale's default, negative means none.
	// The app registration itself (ClientID) is always one of the
	// applications, and its service principal holds Roles as app role
	// assignments of the Microsoft Graph service principal. Administrative
	// units follow the users: 4, plus one per 3,075 users (40 at
	// ScaleSeed).
	Users, Groups, Devices, Applications, ServicePrincipals int
	// Scale is ScaleSmall (default: 500 users, 40 groups, 300 devices, 30
	// applications, 60 service principals) or ScaleSeed (111,207 users, 800
	// groups, 40,000 devices, 447 applications, 1,379 service principals).
	Scale string
	Seed  int64 // default 1

	// Latency is added to every request; it honours request cancellation.
	Latency time.Duration

	// Budget is the resource units per 10-second window per app and tenant.
	// 0 means Microsoft's limit for the tenant's size: 3,500 under 50
	// users, 5,000 for 50–500, 8,000 above 500. -1 disables throttling.
	Budget int

	TokenTTL      time.Duration // access token lifetime, default 1h (expires_in 3599)
	DeltaTokenTTL time.Duration // delta and skip token lifetime, default 7 days

	Now    func() time.Time // clock, default time.Now (tests inject)
	Faults FaultOptions
	Logger *slog.Logger // default: discard
}

// FaultOptions are probabilities (0..1) of injected failures per Graph
// request (inner $batch requests included where the kind applies). The
// decisions are a deterministic function of Seed and the request's arrival
// number, so a sequential client sees the same faults on every run.
type FaultOptions struct {
	Throttle                float64 // 429 TooManyRequests with Retry-After (not charged)
	Unavailable             float64 // 503 serviceNotAvailable with Retry-After
	UnavailableNoRetryAfter float64 // 503 without Retry-After
	GatewayTimeout          float64 // 504
	ConnReset               float64 // the connection is reset before any answer (outer requests only)
	TruncatedBody           float64 // a 200 whose body stops mid-JSON, then the connection closes (outer only)
	ExpiredToken            float64 // 401 InvalidAuthenticationToken "token is expired" for a valid token
	DeltaGone               float64 // 410 Gone with Location on delta requests carrying a token
	DeltaReplay             float64 // a delta round also re-sends the previous round's changes
	SlowBody                float64 // a 200 whose headers come at once and whose body trickles over SlowBodyTime (outer only)

	RetryAfter   time.Duration // Retry-After of injected 429 and 503, default 1s
	SlowBodyTime time.Duration // how long a slow body takes to arrive, default 500ms

	// TruncateIf, if set, pins a fault to the requests it matches (outer
	// requests to the Graph host): every 200 they get stops mid-JSON and
	// the connection closes, however often they are sent (counted as
	// "truncated"). MalformIf does the same with a complete answer whose
	// Content-Length covers only the first half of the JSON: the body
	// arrives whole, and is not valid JSON (counted as "malformed"). For
	// tests of a page that stays broken.
	TruncateIf, MalformIf func(r *http.Request) bool
}

// Defaults returns o with every zero field set to its default.
func Defaults(o Options) Options {
	if o.TenantID == "" {
		o.TenantID = DefaultTenantID
	}
	if o.ClientID == "" {
		o.ClientID = DefaultClientID
	}
	if o.ClientSecret == "" {
		o.ClientSecret = DefaultClientSecret
	}
	if o.Roles == nil {
		o.Roles = append([]string(nil), DefaultRoles...)
	}
	if o.Scale == "" {
		o.Scale = ScaleSmall
	}
	u, g, d, a, s := smallUsers, smallGroups, smallDevices, smallApps, smallSPs
	if o.Scale == ScaleSeed {
		u, g, d, a, s = seedUsers, seedGroups, seedDevices, seedApps, seedSPs
	}
	fill := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	fill(&o.Users, u)
	fill(&o.Groups, g)
	fill(&o.Devices, d)
	fill(&o.Applications, a)
	fill(&o.ServicePrincipals, s)
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Budget == 0 {
		users := max(o.Users, 0)
		switch {
		case users < 50:
			o.Budget = 3500
		case users <= 500:
			o.Budget = 5000
		default:
			o.Budget = 8000
		}
	}
	if o.TokenTTL <= 0 {
		o.TokenTTL = time.Hour
	}
	if o.DeltaTokenTTL <= 0 {
		o.DeltaTokenTTL = 7 * 24 * time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Faults.RetryAfter <= 0 {
		o.Faults.RetryAfter = time.Second
	}
	if o.Faults.SlowBodyTime <= 0 {
		o.Faults.SlowBodyTime = 500 * time.Millisecond
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Stats counts what a Server has answered since New.
type Stats struct {
	// Requests per endpoint pattern, e.g. "GET /v1.0/users",
	// "GET /v1.0/groups/{id}/members", "POST /v1.0/$batch",
	// "POST /login/{tenant}/oauth2/token"; inner $batch requests are counted
	// under their own pattern. Paths not served count as "unknown".
	Requests map[string]int
	// RU is the resource units charged per pattern (throttled requests are
	// not charged).
	RU map[string]int
	// Status counts answers per HTTP status, inner $batch answers included.
	Status map[int]int
	// Throttled429 counts 429s caused by the RU budget, outer and inner;
	// Throttled429ByPattern splits them per pattern.
	Throttled429          int
	Throttled429ByPattern map[string]int
	// Faults counts injected faults by kind ("429", "503", "503-no-retry-after",
	// "504", "reset", "truncated", "malformed", "slow", "expired-token",
	// "410", "replay"), inner $batch requests included. Faults inside an
	// answer that is then cut off or malformed never reached the client and
	// are not counted: only the answer's own fault is.
	Faults map[string]int

	TotalRU       int
	Batches       int // $batch calls answered
	InnerRequests int // requests inside them
	Tokens        int // access tokens issued
	TokenErrors   int // token requests refused
	Canceled      int // requests the client abandoned during Latency
}

// Server is one simulator instance. It is safe for concurrent use.
type Server struct {
	opt   Options
	log   *slog.Logger
	key   []byte // HMAC-SHA256 key of access tokens and page tokens
	epoch uint64 // random per instance: tokens of an earlier instance are stale
	dir   *directory
	thr   *throttle

	reqN   atomic.Uint64 // Graph requests (outer and inner), for faults and request ids
	batchN atomic.Uint64

	mu    sync.Mutex // guards stats
	stats Stats

	ln listen.Server // Start and Close
}

// New builds a simulator and generates its tenant (deterministically from
// the options). It does not listen: use Handler or Start.
func New(o Options) *Server {
	o = Defaults(o)
	if o.Scale != ScaleSmall && o.Scale != ScaleSeed {
		o.Logger.Error("graphsim: unknown scale, using the small one", "scale", o.Scale)
		o.Scale = ScaleSmall
	}
	s := &Server{opt: o, log: o.Logger}
	h := sha256.New()
	fmt.Fprintf(h, "qtc-graphsim/1\x00%d\x00%s\x00%s\x00%s", o.Seed, strings.ToLower(o.TenantID), strings.ToLower(o.ClientID), o.ClientSecret)
	s.key = h.Sum(nil)
	var e [8]byte
	if _, err := rand.Read(e[:]); err != nil {
		panic("graphsim: crypto/rand: " + err.Error())
	}
	s.epoch = binary.LittleEndian.Uint64(e[:])
	gen := o
	gen.Users, gen.Groups, gen.Devices = max(o.Users, 0), max(o.Groups, 0), max(o.Devices, 0)
	gen.Applications, gen.ServicePrincipals = max(o.Applications, 1), max(o.ServicePrincipals, 0)
	s.dir = newDirectory(&gen, o.Now())
	s.thr = newThrottle(o.Budget)
	s.stats = Stats{Requests: map[string]int{}, RU: map[string]int{}, Status: map[int]int{},
		Throttled429ByPattern: map[string]int{}, Faults: map[string]int{}}
	return s
}

// Options returns the options in effect (defaults filled in).
func (s *Server) Options() Options { return s.opt }

// Handler returns the simulator as an http.Handler serving the login host
// (under LoginPath), the Graph host (under GraphPath) and the simulator
// controls.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

// Start listens on addr (e.g. "127.0.0.1:0") and serves in the background.
// It returns the base URL, e.g. "http://127.0.0.1:41234".
func (s *Server) Start(addr string) (baseURL string, err error) {
	return s.ln.Start(addr, s.Handler(), s.log, "graphsim", slog.LevelDebug)
}

// Close stops a server started with Start. Close without Start, or a
// second Close, does nothing.
func (s *Server) Close() error { return s.ln.Close() }

func (s *Server) base() string { return s.ln.URL() }

// LoginURL returns the authority to use (base URL + LoginPath) once
// started; before Start it returns LoginPath alone.
func (s *Server) LoginURL() string { return s.base() + LoginPath }

// GraphURL returns the Graph endpoint to use (base URL + GraphPath) once
// started, so clients build {GraphURL}/v1.0/users; before Start it returns
// GraphPath alone.
func (s *Server) GraphURL() string { return s.base() + GraphPath }

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Requests = cloneMap(s.stats.Requests)
	st.RU = cloneMap(s.stats.RU)
	st.Status = cloneMap(s.stats.Status)
	st.Throttled429ByPattern = cloneMap(s.stats.Throttled429ByPattern)
	st.Faults = cloneMap(s.stats.Faults)
	return st
}

func cloneMap[K comparable, V any](m map[K]V) map[K]V {
	out := make(map[K]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func (s *Server) count(f func(*Stats)) {
	s.mu.Lock()
	f(&s.stats)
	s.mu.Unlock()
}

func (s *Server) now() time.Time { return s.opt.Now() }

// serveHTTP is the single entry point.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	switch {
	case path == MutatePath:
		s.serveMutate(w, r)
	case path == StatsPath:
		if r.Method != http.MethodGet {
			w.Header().Set("Allow", "GET")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		body, _ := json.Marshal(s.Stats())
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	case path == LoginPath || strings.HasPrefix(path, LoginPath+"/"):
		if !s.delay(r.Context()) {
			s.count(func(st *Stats) { st.Canceled++ })
			return
		}
		s.serveLogin(w, r, strings.TrimPrefix(path, LoginPath))
	case path == GraphPath || strings.HasPrefix(path, GraphPath+"/"):
		if !s.delay(r.Context()) {
			s.count(func(st *Stats) { st.Canceled++ })
			return
		}
		s.serveGraph(w, r)
	default:
		body := []byte(`{"error":{"code":"NotFound","message":"The simulator serves ` + LoginPath + `/…, ` + GraphPath + `/v1.0/… and ` + MutatePath + `."}}`)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write(body)
		s.count(func(st *Stats) { st.Requests["unknown"]++; st.Status[http.StatusNotFound]++ })
	}
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

// linkBase returns the absolute Graph base for links in answers to r:
// scheme and host of the request, then GraphPath.
func linkBase(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	host := r.Host
	if host == "" {
		host = "localhost"
	}
	return scheme + "://" + host + GraphPath
}
