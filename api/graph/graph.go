// Package graph is a Microsoft Graph v1.0 client for qtc's Entra ID
// connectors: client-credentials tokens, paging and delta by @odata links,
// JSON batching, and pacing under Graph's resource-unit throttle.
//
// # Tokens
//
// A Client gets app-only tokens with the OAuth 2.0 client-credentials grant
// (golang.org/x/oauth2/clientcredentials), from the v1 endpoint
// {login}/{tenant}/oauth2/token with resource={graph} (the one Qualys's
// connector documents) or the v2 endpoint {login}/{tenant}/oauth2/v2.0/token
// with scope={graph}/.default. The token is cached, refreshed shortly before
// it expires, and refreshed once when Graph answers 401. Token endpoint
// failures are *TokenError, carrying the AADSTS code and what it means.
//
// # Paging and delta
//
// Get returns one page; Pages follows @odata.nextLink exactly as the server
// gave it until it is absent and returns the final @odata.deltaLink. Items
// are the "value" elements byte for byte. Pages may be short or empty: only
// the presence of a nextLink means more. Links must stay on the Graph host;
// the token is never sent anywhere else. An expired delta link is reported
// as an error that matches ErrDeltaExpired.
//
// # Throttling
//
// Identity endpoints are throttled per app and tenant in resource units
// (RU) per 10 seconds. Every request passes a pacer that keeps the RU of the
// requests in flight or answered within the last 10 s at or under
// Config.Budget, estimating each request's cost with Microsoft's table and
// correcting it with the x-ms-resource-unit header. 429 and 503 answers are
// waited out exactly as Retry-After says, for as long as the server keeps
// sending it; while one request waits, all requests from the client wait.
// Without Retry-After the client backs off exponentially with jitter, a few
// times. A request that finally fails is an error; nothing is dropped.
// Every response body is drained and closed.
//
// # Batching
//
// Batch sends any number of requests in $batch calls of at most 20 and
// re-sends only the inner requests that were throttled. Each inner request
// costs its own RU: batching saves round trips, not budget.
//
// The client secret and access tokens never appear in errors or logs.
package graph

import (
	"context"
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

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"qtc/api/internal/httplog"
	"qtc/api/retries"
)

// Cloud is a Microsoft national cloud: its Entra ID login endpoint and its
// Microsoft Graph endpoint.
type Cloud struct {
	Name     string
	LoginURL string
	GraphURL string
}

// The national clouds Microsoft Graph is deployed in.
var (
	Global = Cloud{"global", "https://login.microsoftonline.com", "https://graph.microsoft.com"}
	USGov  = Cloud{"usgov", "https://login.microsoftonline.us", "https://graph.microsoft.us"}
	China  = Cloud{"china", "https://login.chinacloudapi.cn", "https://microsoftgraph.chinacloudapi.cn"}
)

var clouds = []Cloud{Global, USGov, China}

// CloudByName returns the cloud named global, usgov or china (case-insensitive).
func CloudByName(name string) (Cloud, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	for _, c := range clouds {
		if c.Name == n {
			return c, nil
		}
	}
	names := make([]string, len(clouds))
	for i, c := range clouds {
		names[i] = c.Name
	}
	return Cloud{}, fmt.Errorf("graph: unknown cloud %q; use one of %s", name, strings.Join(names, ", "))
}

// TokenEndpoint selects the Entra ID token endpoint version.
type TokenEndpoint int

const (
	// TokenV1 is {login}/{tenant}/oauth2/token with resource={graph}, the
	// endpoint Qualys's Entra ID connector documents. It is the default.
	TokenV1 TokenEndpoint = iota
	// TokenV2 is {login}/{tenant}/oauth2/v2.0/token with
	// scope={graph}/.default.
	TokenV2
)

func (t TokenEndpoint) String() string {
	switch t {
	case TokenV1:
		return "v1"
	case TokenV2:
		return "v2"
	}
	return fmt.Sprintf("TokenEndpoint(%d)", int(t))
}

// Defaults applied by New.
const (
	DefaultConcurrency = 8
	DefaultBudget      = 8000 // RU per 10 s: Graph's limit for tenants over 500 users

	defaultHTTPTimeout = 120 * time.Second
	defaultMaxBackoff  = 6 // attempts for failures without Retry-After

	defaultBackoffBase = 1 * time.Second
	defaultBackoffCap  = 60 * time.Second

	defaultMaxBody = 512 << 20 // largest success body read into memory
	maxErrorBody   = 64 << 10  // largest error body read for its message
)

// Config configures a Client. TenantID, ClientID and ClientSecret are
// required.
type Config struct {
	TenantID, ClientID, ClientSecret string

	// Cloud selects the login and Graph endpoints; the zero value is Global,
	// and a Cloud with only Name set is looked up by name. LoginURL and
	// GraphURL may be custom (tests point them at a simulator); plain http
	// is allowed only for loopback hosts.
	Cloud Cloud

	Token      TokenEndpoint // default TokenV1
	HTTPClient *http.Client  // default: &http.Client{Timeout: 120 * time.Second}
	Logger     *slog.Logger  // default: discard
	// Trace, if set, gets every HTTP exchange (token requests included)
	// at debug level, secrets redacted (qtc --trace).
	Trace *slog.Logger

	// Concurrency is the most requests in flight at once; default 8.
	Concurrency int

	// Budget is the resource units per rolling 10 s the pacer keeps under.
	// 0 means DefaultBudget (8000, tenants over 500 users; Graph allows
	// 5000 for 50-500 users and 3500 under 50), -1 disables pacing.
	Budget int

	// MaxRetries is the most attempts per request for 429, 503, 504 and
	// network errors. 0 means: keep retrying as long as the server answers
	// with Retry-After, and at most 6 attempts with exponential backoff when
	// it does not.
	MaxRetries int
}

// Client is a Microsoft Graph client for one app in one tenant. It is safe
// for concurrent use.
type Client struct {
	cloud      Cloud
	graph      *url.URL // GraphURL, path without trailing slash
	tenant     string
	clientID   string
	secret     string
	tokenURL   string
	tokenKind  TokenEndpoint
	cc         *clientcredentials.Config
	hc         *http.Client
	log        *slog.Logger
	sem        chan struct{}
	maxRetries int
	pace       *pacer

	// Tunables, unexported so tests can shrink or fake them.
	clk         clock
	backoffBase time.Duration
	backoffCap  time.Duration
	maxBackoff  int
	maxBody     int64

	tok tokenCache

	st stats
}

// New checks cfg and returns a Client. It does not contact any server; call
// Token to check the credentials.
func New(cfg Config) (*Client, error) {
	if err := checkTenant(cfg.TenantID); err != nil {
		return nil, err
	}
	if !isGUID(strings.TrimSpace(cfg.ClientID)) {
		if strings.TrimSpace(cfg.ClientID) == "" {
			return nil, errors.New("graph: Config.ClientID is empty; use the Application (client) ID from the app registration's Overview page")
		}
		return nil, fmt.Errorf("graph: Config.ClientID %q is not a GUID; use the Application (client) ID from the app registration's Overview page", cfg.ClientID)
	}
	if strings.TrimSpace(cfg.ClientSecret) == "" {
		return nil, errors.New("graph: Config.ClientSecret is empty; use the secret's Value from Certificates & secrets (not its Secret ID)")
	}
	cloud := cfg.Cloud
	if cloud.LoginURL == "" && cloud.GraphURL == "" {
		name := cloud.Name
		if name == "" {
			name = Global.Name
		}
		c, err := CloudByName(name)
		if err != nil {
			return nil, fmt.Errorf("graph: Config.Cloud.Name: %s", strings.TrimPrefix(err.Error(), "graph: "))
		}
		cloud = c
	}
	login, err := parseEndpoint("Config.Cloud.LoginURL", cloud.LoginURL)
	if err != nil {
		return nil, err
	}
	graphURL, err := parseEndpoint("Config.Cloud.GraphURL", cloud.GraphURL)
	if err != nil {
		return nil, err
	}
	cloud.LoginURL, cloud.GraphURL = login.String(), graphURL.String()
	if cfg.Token != TokenV1 && cfg.Token != TokenV2 {
		return nil, fmt.Errorf("graph: Config.Token %d is not TokenV1 or TokenV2", int(cfg.Token))
	}
	switch {
	case cfg.Concurrency < 0:
		return nil, fmt.Errorf("graph: Config.Concurrency %d is negative", cfg.Concurrency)
	case cfg.Budget < -1:
		return nil, fmt.Errorf("graph: Config.Budget %d is invalid; use 0 for the default (%d RU per 10 s), -1 for no pacing, or a positive RU budget", cfg.Budget, DefaultBudget)
	case cfg.MaxRetries < 0:
		return nil, fmt.Errorf("graph: Config.MaxRetries %d is negative", cfg.MaxRetries)
	}

	tenant := strings.TrimSpace(cfg.TenantID)
	c := &Client{
		cloud:       cloud,
		graph:       graphURL,
		tenant:      tenant,
		clientID:    strings.TrimSpace(cfg.ClientID),
		secret:      cfg.ClientSecret,
		tokenKind:   cfg.Token,
		hc:          cfg.HTTPClient,
		log:         cfg.Logger,
		maxRetries:  cfg.MaxRetries,
		clk:         realClock{},
		backoffBase: defaultBackoffBase,
		backoffCap:  defaultBackoffCap,
		maxBackoff:  defaultMaxBackoff,
		maxBody:     defaultMaxBody,
	}
	if c.hc == nil {
		c.hc = &http.Client{Timeout: defaultHTTPTimeout}
	}
	c.hc = httplog.Client(c.hc, cfg.Trace)
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	n := cfg.Concurrency
	if n == 0 {
		n = DefaultConcurrency
	}
	c.sem = make(chan struct{}, n)
	budget := cfg.Budget
	if budget == 0 {
		budget = DefaultBudget
	}
	c.pace = newPacer(budget, func() clock { return c.clk })

	tu := *login
	params := url.Values{}
	var scopes []string
	if cfg.Token == TokenV2 {
		tu.Path = login.Path + "/" + url.PathEscape(tenant) + "/oauth2/v2.0/token"
		scopes = []string{cloud.GraphURL + "/.default"}
	} else {
		tu.Path = login.Path + "/" + url.PathEscape(tenant) + "/oauth2/token"
		params.Set("resource", cloud.GraphURL)
	}
	tu.RawPath = ""
	c.tokenURL = tu.String()
	c.cc = &clientcredentials.Config{
		ClientID:       c.clientID,
		ClientSecret:   c.secret,
		TokenURL:       c.tokenURL,
		Scopes:         scopes,
		EndpointParams: params,
		AuthStyle:      oauth2.AuthStyleInParams, // client_secret_post; avoids oauth2's probing
	}
	return c, nil
}

// Cloud returns the cloud the client talks to (with normalised URLs).
func (c *Client) Cloud() Cloud { return c.cloud }

// TokenURL returns the token endpoint the client uses (it holds no secret).
func (c *Client) TokenURL() string { return c.tokenURL }

// checkTenant accepts a directory (tenant) ID GUID or a verified domain
// such as contoso.onmicrosoft.com. "common", "organizations" and
// "consumers" do not work with the client-credentials grant.
func checkTenant(raw string) error {
	t := strings.TrimSpace(raw)
	switch {
	case t == "":
		return errors.New("graph: Config.TenantID is empty; use the Directory (tenant) ID from the app registration's Overview page")
	case isGUID(t):
		return nil
	case strings.EqualFold(t, "common"), strings.EqualFold(t, "organizations"), strings.EqualFold(t, "consumers"):
		return fmt.Errorf("graph: Config.TenantID %q cannot be used for app-only tokens; use the Directory (tenant) ID GUID or a verified domain", t)
	case isDomain(t):
		return nil
	}
	return fmt.Errorf("graph: Config.TenantID %q is neither a GUID nor a domain name; use the Directory (tenant) ID (e.g. ff4e2413-…-1ea02d3d94eb) or a verified domain (e.g. contoso.onmicrosoft.com)", t)
}

// isGUID reports whether s is a GUID in 8-4-4-4-12 hex form.
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch i {
		case 8, 13, 18, 23:
			if ch != '-' {
				return false
			}
		default:
			if !isHex(ch) {
				return false
			}
		}
	}
	return true
}

func isHex(ch byte) bool {
	return '0' <= ch && ch <= '9' || 'a' <= ch && ch <= 'f' || 'A' <= ch && ch <= 'F'
}

// isDomain reports whether s is a DNS name with at least two labels, each
// of letters, digits and inner hyphens, and an alphabetic top-level label.
func isDomain(s string) bool {
	if len(s) > 253 {
		return false
	}
	labels := strings.Split(s, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			ch := l[i]
			if !('a' <= ch && ch <= 'z' || 'A' <= ch && ch <= 'Z' || '0' <= ch && ch <= '9' || ch == '-') {
				return false
			}
		}
	}
	tld := labels[len(labels)-1]
	for i := 0; i < len(tld); i++ {
		if ch := tld[i]; !('a' <= ch && ch <= 'z' || 'A' <= ch && ch <= 'Z') {
			return false
		}
	}
	return true
}

// parseEndpoint validates a login or Graph base URL: https (http only for
// loopback hosts), a host, no credentials, query or fragment.
func parseEndpoint(field, raw string) (*url.URL, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, fmt.Errorf("graph: %s is empty", field)
	}
	shown := redactUserinfo(raw)
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("graph: %s %q does not parse: %v", field, shown, err)
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
	case "http":
		if !isLoopback(u.Hostname()) {
			return nil, fmt.Errorf("graph: %s %q: plain http is only allowed for loopback hosts; use https", field, shown)
		}
	case "":
		return nil, fmt.Errorf("graph: %s %q has no scheme; use https://host", field, shown)
	default:
		return nil, fmt.Errorf("graph: %s %q: scheme %q is not https", field, shown, u.Scheme)
	}
	if u.User != nil {
		return nil, fmt.Errorf("graph: %s must not contain credentials", field)
	}
	if u.Host == "" || u.Hostname() == "" {
		return nil, fmt.Errorf("graph: %s %q has no host", field, shown)
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return nil, fmt.Errorf("graph: %s %q must not have a query or fragment", field, shown)
	}
	u.Scheme = strings.ToLower(u.Scheme)
	u.Host = strings.ToLower(u.Host)
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// redactUserinfo hides anything between "://" and the last "@" so that
// errors never repeat credentials typed into a URL.
func redactUserinfo(raw string) string {
	rest, prefix := raw, ""
	if i := strings.Index(raw, "://"); i >= 0 {
		prefix, rest = raw[:i+3], raw[i+3:]
	}
	if slash := strings.IndexAny(rest, "/?#"); slash >= 0 {
		if at := strings.LastIndex(rest[:slash], "@"); at >= 0 {
			return prefix + "***@" + rest[at+1:]
		}
		return raw
	}
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		return prefix + "***@" + rest[at+1:]
	}
	return raw
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Stats are counters since the client was created, for run logs.
type Stats struct {
	Requests      int64 // HTTP requests sent to Graph, including $batch calls and retries
	TokenRequests int64 // requests sent to the token endpoint
	Batches       int64 // $batch calls sent (included in Requests)
	InnerRequests int64 // requests sent inside $batch calls, including re-sent ones

	Throttled429Outer int64 // 429 answers to whole requests ($batch calls included)
	Throttled429Inner int64 // 429 answers to requests inside $batch calls
	Unavailable       int64 // 503 and 504 answers, outer and inner
	Retries           int64 // requests re-sent after a failure (inner requests counted one by one)
	// RetriesByCause splits Retries by cause (package retries: "429",
	// "503", "reset", "truncated", "batch-429", …).
	RetriesByCause map[string]int

	ResourceUnits   int64   // RU Graph reported in x-ms-resource-unit (outer and inner)
	EstimatedUnits  int64   // RU charged by estimate for answers without x-ms-resource-unit
	MaxThrottlePct  float64 // highest x-ms-throttle-limit-percentage seen (sent from 0.8 of the limit)
	EffectiveBudget int     // the pacer's current budget (lowered after 429s, recovers); 0 when pacing is off

	PacerWait time.Duration // time requests waited for the pacer (summed over concurrent requests)
	RetryWait time.Duration // time spent waiting before retries (Retry-After and backoff)
}

type stats struct {
	requests, tokenRequests, batches, inner  atomic.Int64
	outer429, inner429, unavailable, retries atomic.Int64
	ru, estimated                            atomic.Int64
	pacerWait, retryWait                     atomic.Int64
	byCause                                  retries.Counter

	mu     sync.Mutex
	maxPct float64
}

// Stats returns the client's counters.
func (c *Client) Stats() Stats {
	c.st.mu.Lock()
	maxPct := c.st.maxPct
	c.st.mu.Unlock()
	return Stats{
		Requests:          c.st.requests.Load(),
		TokenRequests:     c.st.tokenRequests.Load(),
		Batches:           c.st.batches.Load(),
		InnerRequests:     c.st.inner.Load(),
		Throttled429Outer: c.st.outer429.Load(),
		Throttled429Inner: c.st.inner429.Load(),
		Unavailable:       c.st.unavailable.Load(),
		Retries:           c.st.retries.Load(),
		RetriesByCause:    c.st.byCause.Counts(),
		ResourceUnits:     c.st.ru.Load(),
		EstimatedUnits:    c.st.estimated.Load(),
		MaxThrottlePct:    maxPct,
		EffectiveBudget:   c.pace.effective(),
		PacerWait:         time.Duration(c.st.pacerWait.Load()),
		RetryWait:         time.Duration(c.st.retryWait.Load()),
	}
}

func (c *Client) notePct(p float64) {
	c.st.mu.Lock()
	defer c.st.mu.Unlock()
	if p > c.st.maxPct {
		c.st.maxPct = p
	}
}

// acquireSlot takes one of the Concurrency slots.
func (c *Client) acquireSlot(ctx context.Context) error {
	select {
	case c.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *Client) releaseSlot() { <-c.sem }
