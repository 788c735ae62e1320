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
// The Qualys part lives in the qualys*.go files; a Graph part can be added
// beside it by registering more routes in New.
package sim

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// Options configure a Server. Zero values mean the documented defaults; use
// Defaults to see them filled in.
type Options struct {
	Username, Password string // accepted credentials; defaults "demo" / "demo-pass-2026"

	Policies   int   // number of policies, default 60 (negative: none)
	Exceptions int   // number of exceptions, default 1500 (negative: none)
	Seed       int64 // data seed, default 1; same seed (and same UTC day of Now) → byte-identical data

	Latency       time.Duration // added to every response; honours request cancellation
	ThrottleEvery int           // every Kth API request (not /auth) → 429 with X-RateLimit-ToWait-Sec: 1
	FailEvery     int           // every Kth API request (not /auth) → 503 with a JSON error body

	RateLimit  int           // API calls allowed per window, default 2000; exhausted → 429 with X-RateLimit-ToWait-Sec
	RateWindow time.Duration // rate-limit window, default 1h

	MaxPageSize int           // pageSize above this is clamped (trust content/last), default 200
	TokenTTL    time.Duration // JWT lifetime, default 4h

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
	// "/cloudview-api/rest/v2/policies"; paths the simulator does not serve
	// are counted under "unknown".
	Requests map[string]int
	// Status counts responses per HTTP status code.
	Status map[int]int
	// Throttled counts 429 responses (injected by ThrottleEvery and caused
	// by an exhausted rate limit); RateLimited is the latter part.
	Throttled, RateLimited int
	// Failed counts 503 responses injected by FailEvery.
	Failed int
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
	routes map[string]*route
	q      *qualys

	mu    sync.Mutex // guards stats
	stats Stats

	lifeMu  sync.Mutex // guards the listener lifecycle below
	hs      *http.Server
	cancel  context.CancelFunc
	done    chan struct{}
	started bool
}

// route is one served path.
type route struct {
	pattern string // Stats key
	method  string
	serve   func(w http.ResponseWriter, r *http.Request)
}

// unknownPattern is the Stats key of paths the simulator does not serve.
const unknownPattern = "unknown"

// New builds a simulator and generates its data (deterministically from
// opt.Seed). It does not listen: use Handler or Start.
func New(opt Options) *Server {
	opt = Defaults(opt)
	s := &Server{
		opt:    opt,
		log:    opt.Logger,
		routes: make(map[string]*route),
		stats:  Stats{Requests: make(map[string]int), Status: make(map[int]int)},
	}
	s.q = newQualys(s)
	s.q.register(s)
	return s
}

func (s *Server) handle(pattern, method string, serve func(http.ResponseWriter, *http.Request)) {
	s.routes[pattern] = &route{pattern: pattern, method: method, serve: serve}
}

// Handler returns the simulator as an http.Handler (for httptest or a
// caller's own server).
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

// Start listens on addr (e.g. "127.0.0.1:0") and serves in the background.
// It returns the base URL, e.g. "http://127.0.0.1:41234".
func (s *Server) Start(addr string) (baseURL string, err error) {
	s.lifeMu.Lock()
	defer s.lifeMu.Unlock()
	if s.started {
		return "", errors.New("sim: server already started")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithCancel(context.Background())
	hs := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 30 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("sim: serve", "err", err)
		}
	}()
	s.hs, s.cancel, s.done, s.started = hs, cancel, done, true
	baseURL = "http://" + ln.Addr().String()
	s.log.Info("sim: listening", "url", baseURL)
	return baseURL, nil
}

// Close stops a server started with Start: the listener and all connections
// are closed and requests waiting out Latency are abandoned. Close without
// Start, or a second Close, does nothing.
func (s *Server) Close() error {
	s.lifeMu.Lock()
	defer s.lifeMu.Unlock()
	if s.hs == nil {
		return nil
	}
	s.cancel()
	err := s.hs.Close()
	<-s.done
	s.hs = nil
	return err
}

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
	rt := s.routes[r.URL.Path]
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
	case r.Method != rt.method:
		s.q.methodNotAllowed(sw, r, rt.method)
	default:
		rt.serve(sw, r)
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
func (s *Server) ExceptionRecords() []json.RawMessage { return s.q.exceptions.records() }
