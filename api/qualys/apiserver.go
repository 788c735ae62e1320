package qualys

// APIClient talks to the classic Qualys API server (qualysapi.*, see
// Platform.APIServer) with HTTP basic authentication: the XML APIs that
// Microsoft Security Exposure Management pulls (seed 004) — host assets,
// VM host detections and the knowledge base.
//
// Every call sends the X-Requested-With header (the classic API refuses
// calls without it). Responses are decoded as a stream (see xmlstream.go),
// so memory stays flat however large a page is. Calls are held under the
// concurrency limit the server reports in X-Concurrency-Limit-Limit (2
// until a response says otherwise); a 409 whose SIMPLE_RETURN CODE is 1960
// (concurrency) or 1965 (rate), or that carries X-RateLimit-ToWait-Sec, is
// waited out as told and the call resumes. The password never appears in
// errors or logs.

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"qtc/api/internal/httpbody"
	"qtc/api/internal/httplog"
	"qtc/api/retries"
)

// APIConfig configures an APIClient. APIServerURL and Username are required.
type APIConfig struct {
	// APIServerURL is the account's API server, e.g. Platform.APIServer
	// ("https://qualysapi.qg1.apps.qualys.co.uk"); a bare host name gets
	// https://. Plain http is allowed for loopback simulators only.
	APIServerURL string
	Username     string
	Password     string // never logged, never in errors
	// RequestedWith is the X-Requested-With value, default "qtc".
	RequestedWith string
	HTTPClient    *http.Client  // default: 10-minute timeout (large pages)
	Logger        *slog.Logger  // default: discard
	Trace         *slog.Logger  // if set, gets every HTTP exchange at debug level, secrets redacted (qtc --trace)
	MaxAttempts   int           // attempts for 5xx / network errors, default 5
	MaxWait       time.Duration // longest total wait on 409s per call, default 10m
}

// Limits is the last limit state the API server reported. Known is false
// until a response carried one of the headers.
type Limits struct {
	RateLimit          int // X-RateLimit-Limit
	RateWindowSec      int // X-RateLimit-Window-Sec
	RateRemaining      int // X-RateLimit-Remaining
	ToWaitSec          int // X-RateLimit-ToWait-Sec of the last refused call
	ConcurrencyLimit   int // X-Concurrency-Limit-Limit
	ConcurrencyRunning int // X-Concurrency-Limit-Running
	Known              bool
}

// Classic API limit codes (SIMPLE_RETURN CODE of a 409).
const (
	CodeConcurrencyLimit = "1960"
	CodeRateLimit        = "1965"
)

const defaultConcurrency = 2 // Qualys default until the server says otherwise

// APIClient is safe for concurrent use.
type APIClient struct {
	base          *url.URL
	username      string
	password      string
	requestedWith string
	hc            *http.Client
	log           *slog.Logger
	maxAttempts   int
	maxWait       time.Duration

	// Tunables (tests shrink them).
	waitUnit    time.Duration // one "second" of X-RateLimit-ToWait-Sec
	throttleMin time.Duration
	backoffBase time.Duration
	backoffCap  time.Duration

	gate gate

	requests  atomic.Int64
	throttled atomic.Int64
	retries   retries.Counter

	limMu sync.Mutex
	lim   Limits
}

// NewAPIClient checks cfg and returns a client; it does not contact the
// server.
func NewAPIClient(cfg APIConfig) (*APIClient, error) {
	raw := strings.TrimSpace(cfg.APIServerURL)
	if raw != "" && !strings.Contains(raw, "://") {
		raw = "https://" + raw
	}
	base, err := parseGatewayURL(raw)
	if err != nil {
		return nil, errors.New(strings.Replace(err.Error(), "Config.GatewayURL", "APIConfig.APIServerURL", 1))
	}
	if strings.TrimSpace(cfg.Username) == "" {
		return nil, errors.New("qualys: APIConfig.Username is empty")
	}
	c := &APIClient{
		base: base, username: cfg.Username, password: cfg.Password,
		requestedWith: cfg.RequestedWith, hc: cfg.HTTPClient, log: cfg.Logger,
		maxAttempts: cfg.MaxAttempts, maxWait: cfg.MaxWait,
		waitUnit: time.Second, throttleMin: defaultThrottleMin,
		backoffBase: defaultBackoffBase, backoffCap: defaultBackoffCap,
	}
	if c.requestedWith == "" {
		c.requestedWith = "qtc"
	}
	if c.hc == nil {
		c.hc = &http.Client{Timeout: 10 * time.Minute}
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
	c.gate.limit = defaultConcurrency
	return c, nil
}

// Requests is the number of HTTP requests sent so far.
func (c *APIClient) Requests() int64 { return c.requests.Load() }

// Throttled is the number of 409 limit answers (codes 1960/1965) waited out.
func (c *APIClient) Throttled() int64 { return c.throttled.Load() }

// Retries counts the requests the client sent again, by cause (package
// retries: "409", "503", "reset", "truncated", …).
func (c *APIClient) Retries() map[string]int { return c.retries.Counts() }

func (c *APIClient) noteRetry(ctx context.Context, cause string) {
	c.retries.Add(cause)
	retries.Note(ctx, cause)
}

// Limits returns the last limit headers seen.
func (c *APIClient) Limits() Limits {
	c.limMu.Lock()
	defer c.limMu.Unlock()
	return c.lim
}

func (c *APIClient) noteLimits(h http.Header) {
	c.limMu.Lock()
	defer c.limMu.Unlock()
	set := func(name string, dst *int) {
		if v, ok := atoiHeader(h, name); ok {
			*dst = v
			c.lim.Known = true
		}
	}
	set("X-RateLimit-Limit", &c.lim.RateLimit)
	set("X-RateLimit-Window-Sec", &c.lim.RateWindowSec)
	set("X-RateLimit-Remaining", &c.lim.RateRemaining)
	set("X-RateLimit-ToWait-Sec", &c.lim.ToWaitSec)
	set("X-Concurrency-Limit-Running", &c.lim.ConcurrencyRunning)
	if v, ok := atoiHeader(h, "X-Concurrency-Limit-Limit"); ok && v > 0 {
		c.lim.ConcurrencyLimit = v
		c.lim.Known = true
		c.gate.setLimit(v)
	}
}

func (c *APIClient) url(path string, q url.Values) string {
	u := *c.base
	u.Path = c.base.Path + path
	u.RawPath = ""
	u.RawQuery = q.Encode()
	return u.String()
}

// sameServer reports whether next (a WARNING/URL) points at the API server,
// so that the credentials are never sent elsewhere.
func (c *APIClient) sameServer(next string) bool {
	u, err := url.Parse(next)
	return err == nil && strings.EqualFold(u.Scheme, c.base.Scheme) && strings.EqualFold(u.Host, c.base.Host)
}

// Hints for the seed 004 troubleshooting table.
const (
	hint401 = "credentials, or the user lacks the Read Asset permission / API access: check the username and password, " +
		"and that the user's role has API Access and Asset View → Read Asset (a Manager, or a Reader with full scope)"
	hint409Limit = "rate or concurrency limit reached (X-RateLimit-ToWait-Sec / X-Concurrency-Limit-*)"
	hint409KB    = "rate or concurrency limit, or the user may lack access to the knowledge base API (seed 004: 409 on the knowledge base can be a missing permission)"
)

// call is one logical request.
type call struct {
	op     string
	method string
	url    string
	body   []byte // XML request body (POST), or nil
	form   bool   // body is application/x-www-form-urlencoded
	kb     bool   // knowledge base call (409 hint)
}

// open sends cl, waiting out 409 limits and retrying 5xx / network errors,
// and returns the open success response. The caller must call done (which
// closes the body and frees the concurrency slot).
func (c *APIClient) open(ctx context.Context, cl call) (*http.Response, func(), error) {
	var failures int
	var waited time.Duration
	for {
		if err := ctx.Err(); err != nil {
			return nil, nil, fmt.Errorf("qualys: %s: %w", cl.op, err)
		}
		if err := c.gate.acquire(ctx); err != nil {
			return nil, nil, fmt.Errorf("qualys: %s: %w", cl.op, err)
		}
		var body io.Reader
		if cl.body != nil {
			body = bytes.NewReader(cl.body)
		}
		req, err := http.NewRequestWithContext(ctx, cl.method, cl.url, body)
		if err != nil {
			c.gate.release()
			return nil, nil, fmt.Errorf("qualys: %s: %w", cl.op, err)
		}
		req.SetBasicAuth(c.username, c.password)
		req.Header.Set("X-Requested-With", c.requestedWith)
		req.Header.Set("User-Agent", userAgent)
		if cl.body != nil {
			if cl.form {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			} else {
				req.Header.Set("Content-Type", "text/xml")
			}
		}
		c.requests.Add(1)
		c.log.Debug("qualys: request", "op", cl.op, "method", cl.method, "url", cl.url)
		resp, err := c.hc.Do(req)
		if err != nil {
			c.gate.release()
			if ctxErr := ctx.Err(); ctxErr != nil {
				return nil, nil, fmt.Errorf("qualys: %s: %w", cl.op, ctxErr)
			}
			failures++
			if !retryable(err) || failures >= c.maxAttempts {
				return nil, nil, fmt.Errorf("qualys: %s [%s]: %w", cl.op, cl.url, err)
			}
			c.noteRetry(ctx, retries.OfError(err))
			if err := c.pause(ctx, cl, backoffN(c.backoffBase, c.backoffCap, failures)); err != nil {
				return nil, nil, err
			}
			continue
		}
		c.noteLimits(resp.Header)
		if resp.StatusCode == http.StatusOK {
			var once sync.Once
			body := resp.Body
			resp.Body = readCloser{&transitReader{r: body}, body}
			return resp, func() {
				once.Do(func() { httpbody.Close(resp.Body); c.gate.release() })
			}, nil
		}
		data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		httpbody.Close(resp.Body)
		c.gate.release()
		code, msg := parseXMLError(data)
		apiErr := &APIError{Op: cl.op, URL: cl.url, StatusCode: resp.StatusCode, Code: code, Message: msg}
		switch s := resp.StatusCode; {
		case s == http.StatusUnauthorized:
			apiErr.hint = hint401
			return nil, nil, apiErr
		case s == http.StatusConflict && (code == CodeConcurrencyLimit || code == CodeRateLimit || c.hasToWait(resp.Header)):
			c.throttled.Add(1)
			d := c.throttleMin
			if secs, ok := atoiHeader(resp.Header, "X-RateLimit-ToWait-Sec"); ok {
				d = max(d, time.Duration(secs)*c.waitUnit)
			}
			apiErr.wait = d
			if waited+d > c.maxWait {
				apiErr.waited = waited
				apiErr.hint = hint409Limit
				if cl.kb {
					apiErr.hint = hint409KB
				}
				return nil, nil, apiErr
			}
			c.log.Debug("qualys: limit reached, waiting", "op", cl.op, "url", cl.url, "code", code, "wait", d)
			if err := sleep(ctx, d); err != nil {
				return nil, nil, fmt.Errorf("qualys: %s: %w", cl.op, err)
			}
			waited += d
			c.noteRetry(ctx, retries.Limit409)
			continue
		case s == http.StatusConflict:
			apiErr.hint = hint409Limit
			if cl.kb {
				apiErr.hint = hint409KB
			}
			return nil, nil, apiErr
		case s >= 500:
			failures++
			if failures >= c.maxAttempts {
				return nil, nil, apiErr
			}
			_, hasRA := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
			c.noteRetry(ctx, retries.OfStatus(s, hasRA))
			if err := c.pause(ctx, cl, backoffN(c.backoffBase, c.backoffCap, failures)); err != nil {
				return nil, nil, err
			}
			continue
		case s == http.StatusNotFound:
			apiErr.hint = "check the API server URL (e.g. https://qualysapi.qg1.apps.qualys.co.uk for UK1)"
		}
		return nil, nil, apiErr
	}
}

// transitReader marks the errors of reading a success body (the
// connection cut or timed out mid-way) as transitError, so that a page
// broken in transit can be told from a malformed document.
type transitReader struct{ r io.Reader }

// readCloser reads through one reader and closes another.
type readCloser struct {
	io.Reader
	io.Closer
}

func (t *transitReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err != nil && err != io.EOF {
		err = &transitError{err}
	}
	return n, err
}

// transitError is a success body that broke off in transit.
type transitError struct{ err error }

func (e *transitError) Error() string { return "the body was cut off in transit: " + e.err.Error() }
func (e *transitError) Unwrap() error { return e.err }

// brokenInTransit reports whether a page failed because its body was cut
// off (or timed out) in transit, and the retry cause.
func brokenInTransit(err error) (string, bool) {
	var te *transitError
	if !errors.As(err, &te) {
		return "", false
	}
	if retries.OfError(te.err) == retries.Timeout {
		return retries.Timeout, true
	}
	return retries.Truncated, true
}

// getPage opens a page and decodes it, fetching it again (at most
// maxAttempts times) when its body breaks off in transit, after calling
// restart so the caller forgets the records of the broken attempt. With
// restart nil a broken page is not fetched again. Errors carry the URL.
func (c *APIClient) getPage(ctx context.Context, cl call, restart func(), decode func(io.Reader) error) error {
	for attempt := 1; ; attempt++ {
		resp, done, err := c.open(ctx, cl)
		if err != nil {
			return err
		}
		err = decode(resp.Body)
		done()
		if err == nil {
			return nil
		}
		err = withURL(err, cl.op, cl.url)
		cause, broken := brokenInTransit(err)
		if !broken || restart == nil || attempt >= c.maxAttempts || ctx.Err() != nil {
			if broken {
				err = fmt.Errorf("%w (%d attempts)", err, attempt)
			}
			return err
		}
		restart()
		c.noteRetry(ctx, cause)
		if err := c.pause(ctx, cl, backoffN(c.backoffBase, c.backoffCap, attempt)); err != nil {
			return err
		}
	}
}

func (c *APIClient) hasToWait(h http.Header) bool {
	_, ok := atoiHeader(h, "X-RateLimit-ToWait-Sec")
	return ok
}

func (c *APIClient) pause(ctx context.Context, cl call, d time.Duration) error {
	c.log.Warn("qualys: transient failure, retrying", "op", cl.op, "url", cl.url, "wait", d)
	if err := sleep(ctx, d); err != nil {
		return fmt.Errorf("qualys: %s: %w", cl.op, err)
	}
	return nil
}

// backoffN is half of min(cap, base·2^(n-1)) plus jitter over the rest.
func backoffN(base, cap time.Duration, n int) time.Duration {
	d := expo(base, cap, n)
	return d/2 + time.Duration(time.Now().UnixNano()%int64(d/2+1))
}

// parseXMLError reads the code and text of a classic SIMPLE_RETURN
// (RESPONSE/CODE, RESPONSE/TEXT) or a QPS ServiceResponse (responseCode,
// responseErrorDetails/errorMessage); otherwise the start of the body.
func parseXMLError(data []byte) (code, msg string) {
	var sr struct {
		XMLName  xml.Name
		Code     string `xml:"RESPONSE>CODE"`
		Text     string `xml:"RESPONSE>TEXT"`
		RespCode string `xml:"responseCode"`
		ErrMsg   string `xml:"responseErrorDetails>errorMessage"`
	}
	if err := xml.Unmarshal(data, &sr); err == nil {
		switch sr.XMLName.Local {
		case "SIMPLE_RETURN":
			return strings.TrimSpace(sr.Code), strings.TrimSpace(sr.Text)
		case "ServiceResponse":
			return strings.TrimSpace(sr.RespCode), strings.TrimSpace(sr.ErrMsg)
		}
	}
	_, msg = parseErrorBody(data)
	return "", msg
}

// gate is a semaphore whose size can change (X-Concurrency-Limit-Limit).
type gate struct {
	mu      sync.Mutex
	limit   int
	inUse   int
	waiters []chan struct{}
}

func (g *gate) acquire(ctx context.Context) error {
	g.mu.Lock()
	if g.inUse < g.limit && len(g.waiters) == 0 {
		g.inUse++
		g.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	g.waiters = append(g.waiters, ch)
	g.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		g.mu.Lock()
		defer g.mu.Unlock()
		for i, w := range g.waiters {
			if w == ch {
				g.waiters = append(g.waiters[:i], g.waiters[i+1:]...)
				return ctx.Err()
			}
		}
		// Granted meanwhile: give the slot back.
		g.inUse--
		g.wake()
		return ctx.Err()
	}
}

func (g *gate) release() {
	g.mu.Lock()
	g.inUse--
	g.wake()
	g.mu.Unlock()
}

func (g *gate) setLimit(n int) {
	g.mu.Lock()
	g.limit = n
	g.wake()
	g.mu.Unlock()
}

// wake grants free slots to waiters in order. Callers hold mu.
func (g *gate) wake() {
	for g.inUse < g.limit && len(g.waiters) > 0 {
		ch := g.waiters[0]
		g.waiters = g.waiters[1:]
		g.inUse++
		close(ch)
	}
}
