package graph

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"qtc/api/internal/httpbody"
	"qtc/api/retries"
)

const userAgent = "qtc-graph-client/1"

// call is one logical request; do turns it into as many HTTP requests as
// retries need.
type call struct {
	method     string
	url        string // absolute, on the Graph host
	body       []byte // sent as application/json when non-nil
	key        string // request kind, for learning its RU cost ("" = do not learn)
	cost       int    // estimated RU
	idempotent bool   // safe to re-send after a network error or 504
	inner      int    // requests inside a $batch call

	// settle, for $batch calls, returns the RU the inner requests reported
	// and the RU estimated for those that reported nothing.
	settle func(body []byte) (reported, estimated int)

	// check, if set, vets a success body before it is returned: a
	// *DecodeError (a body that is not valid JSON, as a garbled or cut-off
	// transfer leaves it) makes do fetch it again, maxBodyAttempts times
	// at most.
	check func(body []byte) error
}

// answer is a response read into memory.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// maxReauths is how many times one request gets a new token after a 401
// (a token can expire, or be refused by a skewed clock, on the way; a
// fresh token refused twice means the credentials are wrong).
const maxReauths = 2

// maxBodyAttempts is how many times one request is sent when its success
// body arrives cut off, timed out mid-way or malformed: a body broken the
// same way three times is not a passing glitch.
const maxBodyAttempts = 3

// do performs r and returns its 2xx answer. Every response body is drained
// (bounded) and closed.
//
//   - 429 and 503 (and 504 for idempotent requests): wait Retry-After
//     exactly, for as long as the server keeps sending it (Config.MaxRetries
//     attempts if set); without it back off exponentially with jitter, at
//     most 6 attempts. A Retry-After holds every request of the client.
//   - network errors, 500 and 502 on idempotent requests: back off, at
//     most 6 attempts.
//   - a success body cut off, timed out or (with r.check) malformed: back
//     off, at most maxBodyAttempts attempts; then a *DecodeError with the
//     URL and the byte offset where the body broke.
//   - 401: get a new token and retry, at most maxReauths times.
//   - anything else: *Error at once.
//
// Every retry is counted by cause (see package retries).
func (c *Client) do(ctx context.Context, r *call) (*answer, error) {
	rt := retrier{c: c, graph: true}
	reauths := 0
	bodyFails := 0
	for {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("graph: %s %s: %w", r.method, r.url, err)
		}
		if err := c.acquireSlot(ctx); err != nil {
			return nil, fmt.Errorf("graph: %s %s: %w", r.method, r.url, err)
		}
		res, waited, err := c.pace.acquire(ctx, r.cost)
		c.st.pacerWait.Add(int64(waited))
		if err != nil {
			c.releaseSlot()
			return nil, fmt.Errorf("graph: %s %s: %w", r.method, r.url, err)
		}
		// The token is taken after any pacer wait, so it is fresh when sent.
		token, err := c.acquireToken(ctx, "")
		if err != nil {
			res.settle(0)
			c.releaseSlot()
			return nil, err
		}
		ans, herr := c.roundTrip(ctx, r, token)
		c.releaseSlot()

		if herr != nil {
			res.settle(r.cost)
			c.st.estimated.Add(int64(r.cost))
			if ctxErr := ctx.Err(); ctxErr != nil {
				return nil, fmt.Errorf("graph: %s %s: %w", r.method, r.url, ctxErr)
			}
			var de *DecodeError
			if errors.As(herr, &de) {
				return nil, de
			}
			var be *bodyError
			if errors.As(herr, &be) {
				// The answer came but its body broke off: the URL and how
				// far it got are what the final error must say.
				cause := retries.Truncated
				if retries.OfError(be.err) == retries.Timeout {
					cause = retries.Timeout
				}
				bodyFails++
				final := &DecodeError{URL: r.url, Offset: be.read,
					Err: fmt.Errorf("the body was cut off after %d bytes (HTTP %d, %d attempts): %w", be.read, be.status, bodyFails, be.err)}
				if !r.idempotent || bodyFails >= maxBodyAttempts {
					return nil, final
				}
				if werr := rt.wait(ctx, 0, nil, final, cause); werr != nil {
					return nil, werr
				}
				continue
			}
			nerr := fmt.Errorf("graph: %s %s: %w", r.method, r.url, herr)
			if !retryable(herr) || !r.idempotent {
				return nil, nerr
			}
			if werr := rt.wait(ctx, 0, nil, nerr, retries.OfError(herr)); werr != nil {
				return nil, werr
			}
			continue
		}

		ok := ans.status >= 200 && ans.status < 300
		c.account(r, res, ans, ok)

		if ok {
			if r.check == nil {
				return ans, nil
			}
			cerr := r.check(ans.body)
			var de *DecodeError
			if cerr == nil || !errors.As(cerr, &de) {
				return ans, cerr
			}
			de.URL = r.url
			bodyFails++
			if !r.idempotent || bodyFails >= maxBodyAttempts {
				de.Err = fmt.Errorf("%w (%d attempts)", de.Err, bodyFails)
				return nil, de
			}
			if werr := rt.wait(ctx, 0, nil, de, retries.Malformed); werr != nil {
				return nil, werr
			}
			continue
		}
		apiErr := parseError(r.method, r.url, ans.status, ans.header, ans.body)
		switch s := ans.status; {
		case s == http.StatusUnauthorized && reauths < maxReauths:
			reauths++
			c.log.Info("graph: access token rejected (HTTP 401), getting a new one", "method", r.method, "url", r.url, "code", apiErr.Code)
			if _, err := c.acquireToken(ctx, token); err != nil {
				return nil, err
			}
			c.noteRetry(ctx, retries.ExpiredToken)
			continue
		case s == http.StatusTooManyRequests, s == http.StatusServiceUnavailable,
			s == http.StatusGatewayTimeout && r.idempotent,
			(s == http.StatusInternalServerError || s == http.StatusBadGateway) && r.idempotent:
			if s == http.StatusTooManyRequests {
				c.st.outer429.Add(1)
			} else if s == http.StatusServiceUnavailable || s == http.StatusGatewayTimeout {
				c.st.unavailable.Add(1)
			}
			h := ans.header
			if s == http.StatusInternalServerError || s == http.StatusBadGateway {
				h = nil // not a throttle: back off, a few times
			}
			_, hasRA := parseRetryAfter(ans.header.Get("Retry-After"), c.clk.Now())
			if werr := rt.wait(ctx, s, h, apiErr, retries.OfStatus(s, hasRA)); werr != nil {
				return nil, werr
			}
			continue
		}
		return nil, apiErr
	}
}

// account settles r's reservation with the RU Graph reported (or the
// estimate), learns the cost of its kind, and notes throttle headers.
func (c *Client) account(r *call, res *reservation, ans *answer, ok bool) {
	if v := ans.header.Get("x-ms-throttle-limit-percentage"); v != "" {
		if p, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && p >= 0 && p < 100 {
			c.notePct(p)
		}
	}
	if ok && r.settle != nil {
		reported, estimated := r.settle(ans.body)
		c.st.ru.Add(int64(reported))
		c.st.estimated.Add(int64(estimated))
		res.settle(reported + estimated)
		return
	}
	if ru, has := headerInt(ans.header, "x-ms-resource-unit"); has {
		c.st.ru.Add(int64(ru))
		if ok {
			c.pace.learn(r.key, ru)
		}
		res.settle(ru)
		return
	}
	c.st.estimated.Add(int64(r.cost))
	res.settle(r.cost)
}

// roundTrip sends one HTTP request and reads its answer: a 2xx body in
// full (up to maxBody), an error body up to maxErrorBody. The body is
// always drained (bounded) and closed.
func (c *Client) roundTrip(ctx context.Context, r *call, token string) (*answer, error) {
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, r.url, body)
	if err != nil {
		return nil, &nonRetryable{err}
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	c.st.requests.Add(1)
	if r.inner > 0 {
		c.st.batches.Add(1)
		c.st.inner.Add(int64(r.inner))
	}
	c.log.Debug("graph: request", "method", r.method, "url", r.url, "est_ru", r.cost)
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	ans := &answer{status: resp.StatusCode, header: resp.Header}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		data, err := httpbody.Read(resp, c.maxBody)
		if errors.Is(err, httpbody.ErrTooLarge) {
			return nil, &DecodeError{URL: r.url, Offset: c.maxBody, Err: err}
		}
		var cut *httpbody.CutError
		if errors.As(err, &cut) {
			return nil, &bodyError{status: resp.StatusCode, read: cut.Read, err: cut.Err}
		}
		if err != nil {
			return nil, err
		}
		ans.body = data
		return ans, nil
	}
	defer httpbody.Close(resp.Body)
	ans.body, _ = io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	return ans, nil
}

// bodyError is a success answer whose body could not be read to its end
// (cut off, reset or timed out mid-way) after read bytes.
type bodyError struct {
	status int
	read   int64
	err    error
}

func (e *bodyError) Error() string {
	return fmt.Sprintf("reading the answer (HTTP %d): cut off after %d bytes: %v", e.status, e.read, e.err)
}

func (e *bodyError) Unwrap() error { return e.err }

// noteRetry counts one retry of cause in the client's counters and in the
// request context's retries.Counter, if any.
func (c *Client) noteRetry(ctx context.Context, cause string) {
	c.st.retries.Add(1)
	c.st.byCause.Add(cause)
	retries.Note(ctx, cause)
}

// nonRetryable marks an error that will not go away on retry.
type nonRetryable struct{ error }

func (e *nonRetryable) Unwrap() error { return e.error }

// retrier decides, for one logical request, whether and how long to wait
// before the next attempt.
type retrier struct {
	c        *Client
	graph    bool // a Graph request: Retry-After holds the whole client
	attempts int  // failed attempts so far
	backoffs int  // of which without a usable Retry-After
}

// wait is called after a failed attempt (status 0 for a network error).
// It waits as the server asked (Retry-After) or backs off, and returns nil
// to retry (counted under cause); or it returns final, annotated, when
// attempts ran out.
func (r *retrier) wait(ctx context.Context, status int, h http.Header, final error, cause string) error {
	c := r.c
	r.attempts++
	now := c.clk.Now()
	d, fromServer := parseRetryAfter(h.Get("Retry-After"), now)
	limit := c.maxRetries
	giveUp := false
	if fromServer {
		giveUp = limit > 0 && r.attempts >= limit
	} else {
		r.backoffs++
		if limit > 0 {
			giveUp = r.attempts >= limit
		} else {
			giveUp = r.backoffs >= c.maxBackoff
		}
	}
	var ge *Error
	if errors.As(final, &ge) {
		ge.attempts = r.attempts
		if fromServer {
			ge.retryAfter = d
		}
	}
	if giveUp {
		c.log.Warn("graph: giving up", "error", final.Error(), "attempts", r.attempts)
		if ge == nil {
			return fmt.Errorf("%w (gave up after %d attempts)", final, r.attempts)
		}
		return final
	}
	if !fromServer {
		d = c.backoff(r.backoffs)
	}
	until := now.Add(d)
	if r.graph && (status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable && fromServer) {
		var hold time.Time
		if fromServer {
			hold = until
		}
		c.pace.hold(hold, status == http.StatusTooManyRequests)
	}
	c.noteRetry(ctx, cause)
	c.log.Debug("graph: retrying", "cause", cause, "status", status, "wait", d, "retry_after", fromServer, "attempt", r.attempts, "error", final.Error())
	err := c.clk.SleepUntil(ctx, until, nil)
	c.st.retryWait.Add(int64(max(c.clk.Now().Sub(now), 0)))
	if err != nil {
		return fmt.Errorf("%w (while waiting to retry: %w)", final, err)
	}
	return nil
}

// backoff is the wait before the n-th retry (1-based) without Retry-After:
// equal jitter over min(cap, base·2^(n-1)).
func (c *Client) backoff(n int) time.Duration {
	ceiling := expo(c.backoffBase, c.backoffCap, n)
	half := ceiling / 2
	if half <= 0 {
		return ceiling
	}
	return half + rand.N(ceiling-half+1)
}

// expo returns min(cap, base·2^(n-1)) without overflow.
func expo(base, cap time.Duration, n int) time.Duration {
	if base <= 0 || cap <= 0 {
		return 0
	}
	d := base
	for i := 1; i < n && d < cap; i++ {
		if d > math.MaxInt64/2 {
			return cap
		}
		d *= 2
	}
	return min(d, cap)
}

// maxHeaderWait bounds waits read from headers (and avoids overflow).
const maxHeaderWait = 24 * time.Hour

// parseRetryAfter parses Retry-After as seconds or as an HTTP date. A
// value of 0, a date in the past or garbage is reported as absent (the
// caller backs off instead of retrying at once).
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	var d time.Duration
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n > int64(maxHeaderWait/time.Second) {
			return maxHeaderWait, true
		}
		d = time.Duration(n) * time.Second
	} else if f, err := strconv.ParseFloat(v, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
		if f > maxHeaderWait.Seconds() {
			return maxHeaderWait, true
		}
		d = time.Duration(f * float64(time.Second))
	} else if t, err := http.ParseTime(v); err == nil {
		d = min(t.Sub(now), maxHeaderWait)
	}
	if d <= 0 {
		return 0, false
	}
	return d, true
}

// headerInt parses a non-negative integer header.
func headerInt(h http.Header, name string) (int, bool) {
	return parseCount(h.Get(name))
}

// parseCount parses a non-negative integer header value.
func parseCount(v string) (int, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > 1<<20 {
		return 0, false
	}
	return n, true
}

// isNetError reports whether err came from the transport rather than from
// an answer.
func isNetError(err error) bool {
	var ue *url.Error
	var ne net.Error
	return errors.As(err, &ue) || errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) ||
		strings.HasPrefix(err.Error(), "oauth2: cannot fetch token: ")
}

// retryable reports whether a transport error may go away on retry. TLS
// verification failures, unknown hosts and malformed requests will not.
func retryable(err error) bool {
	var (
		nr          *nonRetryable
		certErr     *tls.CertificateVerificationError
		unknownAuth x509.UnknownAuthorityError
		hostErr     x509.HostnameError
		invalidErr  x509.CertificateInvalidError
		dnsErr      *net.DNSError
	)
	switch {
	case errors.As(err, &nr):
		return false
	case errors.As(err, &certErr), errors.As(err, &unknownAuth), errors.As(err, &hostErr), errors.As(err, &invalidErr):
		return false
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return false
	}
	return true
}

// resolve turns a path ("/v1.0/users?$top=999", or "/users" for v1.0) or an
// absolute link (a nextLink or deltaLink) into an absolute URL on the Graph
// host. Links are used exactly as given; a link to any other host or
// scheme is refused, so the token never leaves Graph.
func (c *Client) resolve(pathOrURL string) (string, error) {
	s := strings.TrimSpace(pathOrURL)
	if s == "" {
		return "", errors.New("graph: empty path")
	}
	if strings.HasPrefix(s, "/") && !strings.HasPrefix(s, "//") {
		p := s
		if !hasVersion(p) {
			p = "/v1.0" + p
		}
		p = strings.ReplaceAll(p, " ", "%20")
		full := c.graph.String() + p
		if _, err := url.Parse(full); err != nil {
			return "", fmt.Errorf("graph: path %q does not parse: %v", pathOrURL, err)
		}
		return full, nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("graph: link %q does not parse: %v", redactUserinfo(s), err)
	}
	if !u.IsAbs() {
		return "", fmt.Errorf("graph: %q is neither a path starting with / nor an absolute link", s)
	}
	if !c.onGraph(u) {
		return "", fmt.Errorf("graph: refusing to follow link to %s://%s: it is not on %s (the access token is only sent to Microsoft Graph)", u.Scheme, u.Host, c.graph.String())
	}
	return s, nil
}

// onGraph reports whether u is on the Graph host, scheme and base path.
func (c *Client) onGraph(u *url.URL) bool {
	if u.User != nil || !strings.EqualFold(u.Scheme, c.graph.Scheme) || !strings.EqualFold(u.Hostname(), c.graph.Hostname()) {
		return false
	}
	if portOf(u) != portOf(c.graph) {
		return false
	}
	base := c.graph.Path
	return base == "" || u.Path == base || strings.HasPrefix(u.Path, base+"/")
}

func portOf(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if strings.EqualFold(u.Scheme, "http") {
		return "80"
	}
	return "443"
}

// hasVersion reports whether a path starts with /v1.0 or /beta.
func hasVersion(p string) bool {
	for _, v := range []string{"/v1.0", "/beta"} {
		if strings.HasPrefix(p, v) && (len(p) == len(v) || p[len(v)] == '/' || p[len(v)] == '?') {
			return true
		}
	}
	return false
}
