// Package qualys is a client for the Qualys TotalCloud gateway API: JWT
// authentication, the paged policy and exception lists, exception CRUD, the
// resource inventory (Spring, marker and single-object answers), Azure
// tenant (org) connector creation, and the table of Qualys platforms.
//
// A Client authenticates against {gateway}/auth, keeps the JWT it gets back
// (re-authenticating shortly before it expires, or after a 401), and
// fetches Spring-paged lists. Every record is returned both decoded and as
// the exact bytes the server sent (Item.Raw), so callers can store what the
// API returned without re-encoding it.
//
// Rate limits (409/429) are waited out as the server asks, for at most
// Config.MaxWait per call; 5xx answers and network errors are retried with
// capped, jittered exponential backoff, at most Config.MaxAttempts times.
// Creating calls (POST) are never sent twice once they may have reached the
// server, unless the server said it did not process them (401, 409, 429).
// The password, the token and connector secrets never appear in errors or
// logs.
package qualys

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"qtc/api/internal/httplog"
	"qtc/api/retries"
)

// Defaults applied by New to zero Config fields.
const (
	defaultHTTPTimeout = 60 * time.Second
	defaultMaxAttempts = 5
	defaultMaxWait     = 10 * time.Minute

	defaultBackoffBase  = 250 * time.Millisecond // 5xx / network errors
	defaultBackoffCap   = 10 * time.Second
	defaultThrottleBase = 1 * time.Second // 409/429 without a wait header
	defaultThrottleCap  = 60 * time.Second
	defaultThrottleMin  = 1 * time.Second // floor for any rate-limit wait (guards "wait 0" loops)

	defaultMaxBody = 256 << 20 // largest success body read into memory
	maxErrorBody   = 64 << 10  // largest error body read for its message

	tokenLifetime = 4 * time.Hour   // documented gateway JWT lifetime
	refreshMargin = 5 * time.Minute // re-authenticate when less than this remains
)

// Config configures a Client. Only GatewayURL and Username are required.
type Config struct {
	GatewayURL  string        // e.g. https://gateway.qg1.apps.qualys.com (http allowed for loopback simulators)
	Username    string        // a Qualys user with API access
	Password    string        // never logged, never in errors
	HTTPClient  *http.Client  // default: &http.Client{Timeout: 60 * time.Second}
	Logger      *slog.Logger  // default: discard
	Trace       *slog.Logger  // if set, gets every HTTP exchange at debug level, secrets redacted (qtc --trace)
	MaxAttempts int           // attempts for 5xx / network errors, default 5
	MaxWait     time.Duration // longest total time one call may spend waiting on rate limits, default 10m
}

// RateLimit is the last rate-limit state the gateway reported in the
// X-RateLimit-* response headers. Known is false until a response carried
// at least one of them.
type RateLimit struct {
	Limit     int // X-RateLimit-Limit: calls allowed per window
	WindowSec int // X-RateLimit-Window-Sec: window length in seconds
	Remaining int // X-RateLimit-Remaining: calls left in the current window
	Known     bool
}

// Client talks to one Qualys gateway as one user. It is safe for concurrent
// use; concurrent callers share one token and at most one authentication is
// in flight at a time.
type Client struct {
	base        *url.URL
	username    string
	password    string
	hc          *http.Client
	log         *slog.Logger
	maxAttempts int
	maxWait     time.Duration

	// Tunables, unexported so tests can shrink them.
	backoffBase  time.Duration
	backoffCap   time.Duration
	throttleBase time.Duration
	throttleCap  time.Duration
	throttleMin  time.Duration
	maxBody      int64
	now          func() time.Time

	requests atomic.Int64
	retries  retries.Counter

	mu       sync.Mutex // guards token, expiry, inflight
	token    string
	expiry   time.Time
	inflight *authCall

	rlMu sync.Mutex
	rl   RateLimit
}

// New checks cfg and returns a Client. It does not contact the server; call
// Authenticate to check the credentials.
func New(cfg Config) (*Client, error) {
	base, err := parseGatewayURL(cfg.GatewayURL)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(cfg.Username) == "" {
		return nil, errors.New("qualys: Config.Username is empty")
	}
	c := &Client{
		base:         base,
		username:     cfg.Username,
		password:     cfg.Password,
		hc:           cfg.HTTPClient,
		log:          cfg.Logger,
		maxAttempts:  cfg.MaxAttempts,
		maxWait:      cfg.MaxWait,
		backoffBase:  defaultBackoffBase,
		backoffCap:   defaultBackoffCap,
		throttleBase: defaultThrottleBase,
		throttleCap:  defaultThrottleCap,
		throttleMin:  defaultThrottleMin,
		maxBody:      defaultMaxBody,
		now:          time.Now,
	}
	if c.hc == nil {
		c.hc = &http.Client{Timeout: defaultHTTPTimeout}
	}
	c.hc = httplog.Client(c.hc, cfg.Trace)
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.maxAttempts <= 0 {
		c.maxAttempts = defaultMaxAttempts
	}
	if c.maxWait <= 0 {
		c.maxWait = defaultMaxWait
	}
	return c, nil
}

// parseGatewayURL validates Config.GatewayURL. Plain http is accepted only
// for loopback hosts (local simulators): anything else would send the
// password in clear text.
func parseGatewayURL(raw string) (*url.URL, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, errors.New("qualys: Config.GatewayURL is empty (e.g. https://gateway.qg1.apps.qualys.com)")
	}
	shown := redactUserinfo(raw)
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("qualys: Config.GatewayURL %q does not parse: %w", shown, unwrapURLError(err))
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
	case "http":
		if !isLoopback(u.Hostname()) {
			return nil, fmt.Errorf("qualys: Config.GatewayURL %q: plain http is only allowed for loopback hosts; use https", shown)
		}
	case "":
		return nil, fmt.Errorf("qualys: Config.GatewayURL %q has no scheme; use https://host", shown)
	default:
		return nil, fmt.Errorf("qualys: Config.GatewayURL %q: scheme %q is not http or https", shown, u.Scheme)
	}
	if u.Host == "" || u.Hostname() == "" {
		return nil, fmt.Errorf("qualys: Config.GatewayURL %q has no host", shown)
	}
	if u.User != nil {
		return nil, fmt.Errorf("qualys: Config.GatewayURL must not contain credentials; use Config.Username and Config.Password")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("qualys: Config.GatewayURL %q must not have a query or fragment", shown)
	}
	u.Scheme = strings.ToLower(u.Scheme)
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// redactUserinfo hides anything between "://" and the last "@" so that errors
// never repeat credentials typed into the URL.
func redactUserinfo(raw string) string {
	rest := raw
	prefix := ""
	if i := strings.Index(raw, "://"); i >= 0 {
		prefix, rest = raw[:i+3], raw[i+3:]
	}
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		return prefix + "***@" + rest[at+1:]
	}
	return raw
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Requests reports how many HTTP requests the client has sent so far, of all
// kinds (authentication, retries and list calls), for run logs.
func (c *Client) Requests() int64 { return c.requests.Load() }

// Retries counts the requests the client sent again, by cause (package
// retries: "429", "409", "503", "reset", "truncated", "expired-token", …).
func (c *Client) Retries() map[string]int { return c.retries.Counts() }

// RateLimit returns the rate-limit state from the most recent response that
// carried X-RateLimit-* headers.
func (c *Client) RateLimit() RateLimit {
	c.rlMu.Lock()
	defer c.rlMu.Unlock()
	return c.rl
}

// endpoint returns the absolute URL of path (which starts with "/") under the
// gateway, with query q.
func (c *Client) endpoint(path string, q url.Values) string {
	u := *c.base
	u.Path = c.base.Path + path
	u.RawPath = ""
	u.RawQuery = q.Encode()
	return u.String()
}

// endpointf is endpoint for a path template whose %s verbs are replaced by
// segs, each escaped with url.PathEscape (so "a/b" stays one segment).
func (c *Client) endpointf(q url.Values, format string, segs ...string) string {
	plain := make([]any, len(segs))
	escaped := make([]any, len(segs))
	for i, s := range segs {
		plain[i], escaped[i] = s, url.PathEscape(s)
	}
	u := *c.base
	u.Path = c.base.Path + fmt.Sprintf(format, plain...)
	u.RawPath = c.base.EscapedPath() + fmt.Sprintf(format, escaped...)
	u.RawQuery = q.Encode()
	return u.String()
}

// checkSegment rejects a path segment argument that is empty or that a
// proxy could resolve to another path ("." and "..").
func checkSegment(op, name, v string) error {
	switch strings.TrimSpace(v) {
	case "":
		return fmt.Errorf("qualys: %s: %s is empty", op, name)
	case ".", "..":
		return fmt.Errorf("qualys: %s: %s %q is not a valid path segment", op, name, v)
	}
	return nil
}
