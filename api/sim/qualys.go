package sim

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Qualys TotalCloud gateway paths served by the simulator.
const (
	qualysAuthPath       = "/auth"
	qualysPoliciesPath   = "/cloudview-api/rest/v2/policies"
	qualysExceptionsPath = "/cloudview-api/rest/v1/exceptions/list"

	qualysExceptionPath       = "/cloudview-api/rest/v1/exceptions/{exceptionId}" // GET, PUT
	qualysExceptionCreatePath = "/cloudview-api/rest/v1/exceptions/create"        // POST
	qualysExceptionDeletePath = "/cloudview-api/rest/v1/exceptions/delete"        // DELETE

	qualysAzureResourcePath   = "/cloudview-api/rest/v1/resource/{resourceType}/Azure"
	qualysAWSResourcePath     = "/cloudview-api/rest/v1/resource/{resourceType}/AWS"
	qualysAWSResourceUUIDPath = "/cloudview-api/rest/v1/resource/{resourceType}/uuid/{resourceUuid}/AWS"

	qualysAzureOrgConnectorPath = "/connectors/v1.0/org/azure/" // POST (create), GET (simulator convenience)

	// simMutatePath is a simulator-only control (not a Qualys API): POST a
	// JSON Mutation, get the MutationResult. No authentication.
	simMutatePath = "/_sim/mutate"
)

const (
	qualysDefaultPageSize = 50
	qualysConcurrency     = 2 // advertised in X-Concurrency-Limit-Limit (not enforced)
	qualysMaxFormBytes    = 64 << 10
	qualysMaxBodyBytes    = 1 << 20 // JSON request bodies
)

// qualys is the state of the simulated Qualys gateway.
type qualys struct {
	s   *Server
	key []byte // HMAC-SHA256 key of the JWTs this server issues

	day0 time.Time // UTC day of the clock at New: generated data is placed relative to it

	policies   *store
	exceptions *exceptionBook
	resources  map[string]*resourceType // by API name, e.g. "ENTRA_ID_USER"
	azure      *azureTenant
	markers    *markerBook
	orgs       *orgConnectors

	mutateMu sync.Mutex // serialises Mutate calls

	idMu  sync.Mutex
	idRNG *rng // ids of objects created through the API

	mu       sync.Mutex // guards the counters below
	calls    int        // API requests seen (for ThrottleEvery / FailEvery)
	winStart time.Time  // start of the current rate-limit window
	winUsed  int        // calls admitted in the current window

	running atomic.Int64 // API requests in progress
}

func newQualys(s *Server) *qualys {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		panic("sim: crypto/rand: " + err.Error()) // crypto/rand.Read never fails on supported platforms
	}
	now := s.now()
	q := &qualys{s: s, key: key, day0: now.UTC().Truncate(24 * time.Hour)}
	q.policies = newStore(genPolicyEntries(s.opt.Seed, s.opt.Count(TypePolicies)), false)
	q.exceptions = newExceptionBook(genExceptions(s.opt.Seed, s.opt.Count(TypeExceptions), now))
	q.azure = newAzureTenant(s.opt.Seed, s.opt.Scale)
	q.resources = newResourceTypes(q)
	q.markers = newMarkerBook()
	q.orgs = newOrgConnectors(s.opt.Seed)
	q.idRNG = newRNG(s.opt.Seed, "created-ids")
	return q
}

func (q *qualys) register(s *Server) {
	s.handle(qualysAuthPath, http.MethodPost, q.serveAuth)
	s.handle(qualysPoliciesPath, http.MethodGet, q.api(q.servePolicies))
	s.handle(qualysExceptionsPath, http.MethodGet, q.api(q.serveExceptionList))
	s.handle(qualysExceptionPath, http.MethodGet, q.api(q.serveExceptionGet))
	s.handle(qualysExceptionPath, http.MethodPut, q.api(q.serveExceptionUpdate))
	s.handle(qualysExceptionCreatePath, http.MethodPost, q.api(q.serveExceptionCreate))
	s.handle(qualysExceptionDeletePath, http.MethodDelete, q.api(q.serveExceptionDelete))
	s.handle(qualysAzureResourcePath, http.MethodGet, q.api(q.serveAzureResources))
	s.handle(qualysAWSResourcePath, http.MethodGet, q.api(q.serveAWSResources))
	s.handle(qualysAWSResourceUUIDPath, http.MethodGet, q.api(q.serveAWSResource))
	orgAlias := strings.TrimSuffix(qualysAzureOrgConnectorPath, "/")
	s.handle(qualysAzureOrgConnectorPath, http.MethodPost, q.api(q.serveOrgConnectorCreate), orgAlias)
	s.handle(qualysAzureOrgConnectorPath, http.MethodGet, q.api(q.serveOrgConnectorList), orgAlias)
	s.handle(simMutatePath, http.MethodPost, q.serveMutate)
}

// qualysError is the gateway's JSON error body.
type qualysError struct {
	ErrorCode string `json:"errorCode"`
	Message   string `json:"message"`
	Timestamp int64  `json:"timestamp"` // epoch milliseconds
}

func (q *qualys) writeError(w http.ResponseWriter, code int, msg string) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(qualysError{ErrorCode: strconv.Itoa(code), Message: msg, Timestamp: q.s.now().UnixMilli()})
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}

func (q *qualys) notFound(w http.ResponseWriter, r *http.Request) {
	q.limitHeaders(w, q.s.now())
	q.writeError(w, http.StatusNotFound, "No handler found for "+r.Method+" "+clip(r.URL.Path))
}

func (q *qualys) methodNotAllowed(w http.ResponseWriter, r *http.Request, allow string) {
	if r.URL.Path != qualysAuthPath {
		q.limitHeaders(w, q.s.now())
	}
	w.Header().Set("Allow", allow)
	q.writeError(w, http.StatusMethodNotAllowed, "Request method '"+clip(r.Method)+"' is not supported; use "+allow)
}

// serveAuth implements POST /auth: form username, password, token=true →
// 201 text/plain JWT.
func (q *qualys) serveAuth(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, qualysMaxFormBytes)
	if err := r.ParseForm(); err != nil {
		q.writeError(w, http.StatusUnauthorized, "Authentication failed: could not read the form: "+err.Error())
		return
	}
	user, pass, token := r.PostForm.Get("username"), r.PostForm.Get("password"), r.PostForm.Get("token")
	switch {
	case user == "" || pass == "":
		q.writeError(w, http.StatusUnauthorized, "Authentication failed: username and password are required (form fields, application/x-www-form-urlencoded)")
		return
	case token != "true":
		q.writeError(w, http.StatusUnauthorized, "Authentication failed: token=true is required")
		return
	}
	okUser := subtle.ConstantTimeCompare([]byte(user), []byte(q.s.opt.Username))
	okPass := subtle.ConstantTimeCompare([]byte(pass), []byte(q.s.opt.Password))
	if okUser&okPass != 1 {
		q.writeError(w, http.StatusUnauthorized, "Authentication failed: invalid username or password")
		return
	}
	jwt := q.issue(user, q.s.now())
	q.s.count(func(st *Stats) { st.Tokens++ })
	h := w.Header()
	h.Set("Content-Type", "text/plain;charset=UTF-8")
	h.Set("Content-Length", strconv.Itoa(len(jwt)))
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write([]byte(jwt))
}

// api wraps an API endpoint. The order of checks is: injected faults (a
// gateway-level failure happens before anything else), authentication,
// rate limit (each admitted call uses one unit of the budget), then the
// endpoint, which gets the authenticated user (and its answer may get a
// body fault).
func (q *qualys) api(serve func(w http.ResponseWriter, r *http.Request, user string)) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		q.running.Add(1)
		defer q.running.Add(-1)
		now := q.s.now()
		opt := &q.s.opt

		rf, ok := q.s.decideFaults(w, r)
		if !ok {
			return
		}
		switch rf.statusKind {
		case faultThrottle:
			q.limitHeaders(w, now)
			w.Header().Set("X-RateLimit-ToWait-Sec", "1")
			q.s.countFault("429")
			q.writeError(w, http.StatusTooManyRequests, "Too many requests: the API gateway is throttling calls, retry after X-RateLimit-ToWait-Sec seconds")
			return
		case faultUnavailable:
			q.limitHeaders(w, now)
			q.s.countFault("503")
			q.writeError(w, http.StatusServiceUnavailable, "Service temporarily unavailable, please retry later")
			return
		case faultGatewayTimeout:
			q.limitHeaders(w, now)
			q.s.countFault("504")
			q.writeError(w, http.StatusGatewayTimeout, "Gateway timeout: the upstream service did not answer in time")
			return
		}

		q.mu.Lock()
		q.calls++
		n := q.calls
		q.mu.Unlock()

		if opt.ThrottleEvery > 0 && n%opt.ThrottleEvery == 0 {
			q.limitHeaders(w, now)
			w.Header().Set("X-RateLimit-ToWait-Sec", "1")
			q.s.count(func(st *Stats) { st.Throttled++ })
			q.writeError(w, http.StatusTooManyRequests, "Too many requests: the API gateway is throttling calls, retry after X-RateLimit-ToWait-Sec seconds")
			return
		}
		if opt.FailEvery > 0 && n%opt.FailEvery == 0 {
			q.limitHeaders(w, now)
			q.s.count(func(st *Stats) { st.Failed++ })
			q.writeError(w, http.StatusServiceUnavailable, "Service temporarily unavailable, please retry later")
			return
		}
		user, msg := q.authorize(r, now)
		if msg == "" && rf.expired {
			q.s.countFault("expired-token")
			msg = "Unauthorized: the token has expired; authenticate again"
		}
		if msg != "" {
			q.limitHeaders(w, now)
			q.writeError(w, http.StatusUnauthorized, msg)
			return
		}
		remaining, wait, ok := q.admit(now)
		q.setLimitHeaders(w, remaining)
		if !ok {
			w.Header().Set("X-RateLimit-ToWait-Sec", strconv.Itoa(wait))
			q.s.count(func(st *Stats) { st.Throttled++; st.RateLimited++ })
			q.writeError(w, http.StatusTooManyRequests, fmt.Sprintf(
				"Rate limit exceeded: %d calls per %d seconds allowed; retry in %d seconds",
				opt.RateLimit, windowSec(opt.RateWindow), wait))
			return
		}
		if rf.body == "" {
			serve(w, r, user)
			return
		}
		bw := newBodyFaultWriter(w)
		serve(bw, r, user)
		q.s.sendWithFault(bw, r, rf.body)
	}
}

// pageParams parses pageNo and pageSize; it writes a 400 and reports false
// when one is invalid.
func (q *qualys) pageParams(w http.ResponseWriter, query url.Values) (pageSpan, bool) {
	pageNo, err := intParam(query.Get("pageNo"), "pageNo", 0, 0)
	if err != "" {
		q.writeError(w, http.StatusBadRequest, err)
		return pageSpan{}, false
	}
	pageSize, err := intParam(query.Get("pageSize"), "pageSize", qualysDefaultPageSize, 1)
	if err != "" {
		q.writeError(w, http.StatusBadRequest, err)
		return pageSpan{}, false
	}
	return newPageSpan(pageNo, pageSize, q.s.opt.MaxPageSize), true
}

// servePolicies implements GET /rest/v2/policies.
func (q *qualys) servePolicies(w http.ResponseWriter, r *http.Request, _ string) {
	p, ok := q.pageParams(w, r.URL.Query())
	if !ok {
		return
	}
	recs, total := q.policies.page(nil, p.from(), p.size)
	writeSpringPage(w, p, recs, total)
}

// intParam parses an optional integer query parameter (Java int range);
// empty means def. It returns an error message naming the parameter.
func intParam(v, name string, def, min int) (int, string) {
	if v == "" {
		return def, ""
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil || int(n) < min {
		want := "a non-negative integer"
		if min > 0 {
			want = "a positive integer"
		}
		return 0, fmt.Sprintf("Invalid value '%s' for parameter '%s': must be %s", clip(v), name, want)
	}
	return int(n), ""
}

// admit takes one call from the rate-limit budget. It returns the calls
// left in the window and, when the budget is exhausted (ok false), the
// seconds until the window resets.
func (q *qualys) admit(now time.Time) (remaining, wait int, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.refreshWindow(now)
	limit := q.s.opt.RateLimit
	if q.winUsed >= limit {
		window := q.s.opt.RateWindow
		left := q.winStart.Add(window).Sub(now)
		wait = int(math.Ceil(left.Seconds()))
		wait = max(1, min(wait, windowSec(window)))
		return 0, wait, false
	}
	q.winUsed++
	return limit - q.winUsed, 0, true
}

// refreshWindow starts a new fixed window when the current one is over.
// Callers hold q.mu.
func (q *qualys) refreshWindow(now time.Time) {
	if q.winStart.IsZero() || !now.Before(q.winStart.Add(q.s.opt.RateWindow)) {
		q.winStart = now
		q.winUsed = 0
	}
}

// limitHeaders sets the rate-limit headers without using the budget.
func (q *qualys) limitHeaders(w http.ResponseWriter, now time.Time) {
	q.mu.Lock()
	q.refreshWindow(now)
	remaining := q.s.opt.RateLimit - q.winUsed
	q.mu.Unlock()
	q.setLimitHeaders(w, remaining)
}

func (q *qualys) setLimitHeaders(w http.ResponseWriter, remaining int) {
	h := w.Header()
	h.Set("X-RateLimit-Limit", strconv.Itoa(q.s.opt.RateLimit))
	h.Set("X-RateLimit-Window-Sec", strconv.Itoa(windowSec(q.s.opt.RateWindow)))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(max(0, remaining)))
	h.Set("X-Concurrency-Limit-Limit", strconv.Itoa(qualysConcurrency))
	h.Set("X-Concurrency-Limit-Running", strconv.FormatInt(max(0, q.running.Load()), 10))
}

// windowSec is a window in whole seconds (at least 1).
func windowSec(d time.Duration) int { return max(1, int(math.Ceil(d.Seconds()))) }

// clip shortens client-supplied text echoed in error messages.
func clip(s string) string {
	const n = 64
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
