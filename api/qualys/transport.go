package qualys

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
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"qtc/api/internal/httpbody"
	"qtc/api/retries"
)

const userAgent = "qtc-qualys-client/1"

// request describes one logical call; do turns it into as many HTTP
// requests as retries need.
type request struct {
	op      string
	method  string
	url     string
	form    url.Values // sent as application/x-www-form-urlencoded when non-nil
	json    []byte     // sent as application/json when non-nil (and form is nil)
	bearer  bool       // send the token; on 401 authenticate again and retry (maxReauths times)
	want    int        // the success status
	want2   int        // a second success status (0 = none), e.g. 200 besides 201
	maxBody int64      // largest success body accepted; 0 = the client's maxBody

	// once marks a request that must not take effect twice (a POST that
	// creates something). Once it may have reached the server it is sent
	// again only when the server said it did not process it: 401 (then
	// re-authenticated), 409 and 429. A 5xx answer, a network error after
	// the connection was made, or a cut-off success body ends the call.
	once bool

	// conflict marks a mutating request for which a 409 that carries no
	// wait header (X-RateLimit-ToWait-Sec, Retry-After) is the server
	// refusing the change (Conflict), returned at once, rather than a rate
	// or concurrency limit to wait out.
	conflict bool

	// redact lists strings the request carried that must not appear in an
	// error (a secret the server might echo in its message).
	redact []string

	// check, if set, vets a success body: a *DecodeError (a body that is
	// not valid JSON, as a garbled transfer leaves it) makes do fetch it
	// again, like a body cut off in transit.
	check func(body []byte) error
}

// validJSON is a request.check for JSON answers.
func validJSON(body []byte) error {
	if de := syntaxError(body, "JSON"); de != nil {
		return de
	}
	return nil
}

// success reports whether status is one of r's success statuses.
func (r request) success(status int) bool {
	return status == r.want || (r.want2 != 0 && status == r.want2)
}

// do performs r, retrying as the server and the network require, and
// returns the success body and status. Every response body is drained
// (bounded) and closed.
//
//   - 409/429: wait X-RateLimit-ToWait-Sec, else Retry-After, else an
//     exponential backoff, until the call has waited maxWait in total.
//   - 5xx and network errors: capped exponential backoff with full jitter,
//     at most maxAttempts attempts. A success body cut off in transit (or,
//     with r.check, not valid JSON) likewise; if it stays broken the error
//     is a *DecodeError naming the URL and the byte offset.
//   - 401 on a bearer call: authenticate again and retry, maxReauths
//     times at most.
//   - anything else: *APIError at once.
//
// A request marked once is not sent again after a 5xx answer, or after a
// network error unless the connection was never made (see request.once).
// Every retry is counted by cause (see package retries).
func (c *Client) do(ctx context.Context, r request) ([]byte, int, error) {
	var (
		failures  int           // 5xx answers and network errors so far
		throttled int           // 409/429 answers so far
		waited    time.Duration // time spent waiting on rate limits
		reauths   int           // re-authentications after a 401 so far
	)
	maxBody := r.maxBody
	if maxBody <= 0 {
		maxBody = c.maxBody
	}
	var form string
	if r.form != nil {
		form = r.form.Encode()
	}

	// transient handles a 5xx or a network error: it waits and returns nil
	// to retry, or returns the error that ends the call.
	transient := func(status int, cause error, final error, why string) error {
		failures++
		if failures >= c.maxAttempts {
			return final
		}
		c.noteRetry(ctx, why)
		d := c.backoff(failures)
		attrs := []any{"op", r.op, "url", r.url, "attempt", failures, "max_attempts", c.maxAttempts, "wait", d}
		if status != 0 {
			attrs = append(attrs, "status", status)
		}
		if cause != nil {
			attrs = append(attrs, "error", cause.Error())
		}
		c.log.Warn("qualys: transient failure, retrying", attrs...)
		if err := sleep(ctx, d); err != nil {
			return c.ctxError(r.op, err)
		}
		return nil
	}

	for {
		if err := ctx.Err(); err != nil {
			return nil, 0, c.ctxError(r.op, err)
		}
		var token string
		if r.bearer {
			t, err := c.acquireToken(ctx, "", false)
			if err != nil {
				return nil, 0, err
			}
			token = t
		}
		var body io.Reader
		switch {
		case r.form != nil:
			body = strings.NewReader(form)
		case r.json != nil:
			body = bytes.NewReader(r.json)
		}
		reqCtx := ctx
		var connected atomic.Bool // the request may have reached the server
		if r.once {
			reqCtx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
				GotConn: func(httptrace.GotConnInfo) { connected.Store(true) },
			})
		}
		req, err := http.NewRequestWithContext(reqCtx, r.method, r.url, body)
		if err != nil {
			return nil, 0, fmt.Errorf("qualys: %s: %w", r.op, err)
		}
		req.Header.Set("User-Agent", userAgent)
		switch {
		case r.form != nil:
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		case r.json != nil:
			req.Header.Set("Content-Type", "application/json")
		}
		if r.bearer {
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Accept", "application/json")
		}

		c.requests.Add(1)
		resp, err := c.hc.Do(req)
		if err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil {
				if r.once && connected.Load() {
					return nil, 0, fmt.Errorf("qualys: %s: %w; the request may have reached the server: check whether it took effect before retrying", r.op, ctxErr)
				}
				return nil, 0, c.ctxError(r.op, ctxErr)
			}
			final := fmt.Errorf("qualys: %s: %w", r.op, err)
			if !retryable(err) {
				return nil, 0, final
			}
			if r.once && (connected.Load() || !isDialError(err)) {
				c.log.Warn("qualys: request failed after it may have reached the server; not sending it again",
					"op", r.op, "url", r.url, "error", err.Error())
				return nil, 0, fmt.Errorf("qualys: %s: %w; the request may have reached the server, so it was not sent again: check whether it took effect before retrying", r.op, err)
			}
			if stop := transient(0, err, fmt.Errorf("qualys: %s: giving up after %d attempts: %w", r.op, failures+1, err), retries.OfError(err)); stop != nil {
				return nil, 0, stop
			}
			continue
		}
		c.noteRateLimit(resp.Header)
		status := resp.StatusCode

		if r.success(status) {
			data, err := httpbody.Read(resp, maxBody)
			if err == nil && r.check != nil {
				var de *DecodeError
				if cerr := r.check(data); errors.As(cerr, &de) {
					de.URL = r.url
					de.Err = fmt.Errorf("%w (%d attempts)", de.Err, failures+1)
					if stop := transient(0, nil, de, retries.Malformed); stop != nil {
						return nil, status, stop
					}
					continue
				}
			}
			if err == nil {
				return data, status, nil
			}
			if errors.Is(err, httpbody.ErrTooLarge) {
				return nil, status, &DecodeError{URL: r.url, Offset: maxBody, Err: err}
			}
			if ctxErr := ctx.Err(); ctxErr != nil {
				return nil, 0, c.ctxError(r.op, ctxErr)
			}
			if r.once {
				return nil, status, fmt.Errorf("qualys: %s: the server answered HTTP %d but the response was cut off: %w; the request probably took effect: check before retrying [%s]", r.op, status, err, r.url)
			}
			// The body was cut off in transit: a network error.
			why := retries.Truncated
			if retries.OfError(err) == retries.Timeout {
				why = retries.Timeout
			}
			var read int64
			if cut := (*httpbody.CutError)(nil); errors.As(err, &cut) {
				read, err = cut.Read, cut.Err
			}
			final := &DecodeError{URL: r.url, Offset: read,
				Err: fmt.Errorf("%s: the body was cut off after %d bytes (HTTP %d, %d attempts): %w", r.op, read, status, failures+1, err)}
			if stop := transient(0, err, final, why); stop != nil {
				return nil, 0, stop
			}
			continue
		}

		apiErr := c.readAPIError(r, resp)
		switch {
		case status == http.StatusUnauthorized && r.bearer && reauths < maxReauths:
			reauths++
			c.log.Info("qualys: token rejected (HTTP 401), authenticating again", "op", r.op, "url", r.url)
			if _, err := c.acquireToken(ctx, token, false); err != nil {
				return nil, 0, err
			}
			c.noteRetry(ctx, retries.ExpiredToken)
			continue

		case status == http.StatusConflict && r.conflict && !c.hasWaitHeader(resp.Header):
			apiErr.hint = "the server refused the change as conflicting with the current state (see its message)"
			return nil, status, apiErr

		case status == http.StatusTooManyRequests || status == http.StatusConflict:
			throttled++
			d, fromServer := c.throttleWait(resp.Header, throttled)
			if fromServer {
				apiErr.wait = d
			}
			if waited+d > c.maxWait {
				apiErr.waited = waited
				c.log.Warn("qualys: rate limited beyond the wait budget, giving up",
					"op", r.op, "url", r.url, "status", status, "wait", d, "waited", waited, "max_wait", c.maxWait)
				return nil, status, apiErr
			}
			c.log.Debug("qualys: rate limited, waiting",
				"op", r.op, "url", r.url, "status", status, "wait", d, "attempt", throttled, "waited", waited, "max_wait", c.maxWait)
			if err := sleep(ctx, d); err != nil {
				return nil, 0, c.ctxError(r.op, err)
			}
			waited += d
			c.noteRetry(ctx, retries.OfStatus(status, fromServer))
			continue

		case status >= 500 && r.once:
			apiErr.maybeApplied = true
			c.log.Warn("qualys: server error on a request that must not be repeated; not sending it again",
				"op", r.op, "url", r.url, "status", status)
			return nil, status, apiErr

		case status >= 500:
			_, hasRA := parseRetryAfter(resp.Header.Get("Retry-After"), c.now())
			if stop := transient(status, nil, apiErr, retries.OfStatus(status, hasRA)); stop != nil {
				return nil, status, stop
			}
			continue
		}
		return nil, status, apiErr
	}
}

// noteRetry counts one retry of cause in the client's counter and in the
// request context's retries.Counter, if any.
func (c *Client) noteRetry(ctx context.Context, cause string) {
	c.retries.Add(cause)
	retries.Note(ctx, cause)
}

// maxReauths is how many times one call authenticates again after a 401:
// a token can expire, or be refused by a skewed clock, on the way (as with
// Graph); a fresh token refused twice means the credentials are wrong.
const maxReauths = 2

func (c *Client) ctxError(op string, err error) error {
	return fmt.Errorf("qualys: %s: %w", op, err)
}

// retryable reports whether a transport error may go away on retry. TLS
// verification failures and unknown hosts will not.
func retryable(err error) bool {
	var (
		certErr     *tls.CertificateVerificationError
		unknownAuth x509.UnknownAuthorityError
		hostErr     x509.HostnameError
		invalidErr  x509.CertificateInvalidError
		dnsErr      *net.DNSError
	)
	switch {
	case errors.As(err, &certErr), errors.As(err, &unknownAuth), errors.As(err, &hostErr), errors.As(err, &invalidErr):
		return false
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return false
	}
	return true
}

// isDialError reports whether err happened while dialing, before any byte
// of the request could be sent.
func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// backoff is the wait before retry n (1-based) after a 5xx or network
// error: full jitter over min(cap, base·2^(n-1)).
func (c *Client) backoff(n int) time.Duration {
	ceiling := expo(c.backoffBase, c.backoffCap, n)
	if ceiling <= 0 {
		return 0
	}
	return rand.N(ceiling + 1)
}

// throttleWait is the wait after the n-th 409/429 answer, and whether the
// server said how long (X-RateLimit-ToWait-Sec or Retry-After). Without a
// header it backs off exponentially with equal jitter. It is never below
// throttleMin, so a server answering "wait 0" cannot make a hot loop.
func (c *Client) throttleWait(h http.Header, n int) (time.Duration, bool) {
	d, fromServer := parseSeconds(h.Get("X-RateLimit-ToWait-Sec"))
	if !fromServer {
		d, fromServer = parseRetryAfter(h.Get("Retry-After"), c.now())
	}
	if !fromServer {
		ceiling := expo(c.throttleBase, c.throttleCap, n)
		d = ceiling / 2
		if half := ceiling - d; half > 0 {
			d += rand.N(half + 1)
		}
	}
	return max(d, c.throttleMin), fromServer
}

// hasWaitHeader reports whether a response says how long to wait
// (X-RateLimit-ToWait-Sec or Retry-After), which marks a 409 as a rate or
// concurrency limit.
func (c *Client) hasWaitHeader(h http.Header) bool {
	if _, ok := parseSeconds(h.Get("X-RateLimit-ToWait-Sec")); ok {
		return true
	}
	_, ok := parseRetryAfter(h.Get("Retry-After"), c.now())
	return ok
}

// expo returns min(cap, base·2^(n-1)) without overflow.
func expo(base, cap time.Duration, n int) time.Duration {
	if base <= 0 || cap <= 0 {
		return 0
	}
	if n < 1 {
		n = 1
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

// parseSeconds parses a non-negative number of seconds (integer, or a
// decimal as some proxies send).
func parseSeconds(v string) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, false
		}
		if n > int64(maxHeaderWait/time.Second) {
			return maxHeaderWait, true
		}
		return time.Duration(n) * time.Second, true
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	if f > maxHeaderWait.Seconds() {
		return maxHeaderWait, true
	}
	return time.Duration(f * float64(time.Second)), true
}

// parseRetryAfter parses Retry-After as seconds or as an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	if d, ok := parseSeconds(v); ok {
		return d, true
	}
	t, err := http.ParseTime(strings.TrimSpace(v))
	if err != nil {
		return 0, false
	}
	return min(max(t.Sub(now), 0), maxHeaderWait), true
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// readAPIError reads the start of an error response into an *APIError, and
// drains and closes the body.
func (c *Client) readAPIError(r request, resp *http.Response) *APIError {
	defer httpbody.Close(resp.Body)
	data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	code, msg := parseErrorBody(data)
	return &APIError{Op: r.op, URL: r.url, StatusCode: resp.StatusCode, Code: redact(code, r.redact), Message: redact(msg, r.redact)}
}

// redactedText replaces secrets in server text.
const redactedText = "[REDACTED]"

// redact replaces every occurrence of each non-empty secret in s.
func redact(s string, secrets []string) string {
	for _, sec := range secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, redactedText)
		}
	}
	return s
}

// noteRateLimit records the X-RateLimit-* headers of a response, if any.
func (c *Client) noteRateLimit(h http.Header) {
	limit, okL := atoiHeader(h, "X-RateLimit-Limit")
	window, okW := atoiHeader(h, "X-RateLimit-Window-Sec")
	remaining, okR := atoiHeader(h, "X-RateLimit-Remaining")
	if !okL && !okW && !okR {
		return
	}
	c.rlMu.Lock()
	defer c.rlMu.Unlock()
	if okL {
		c.rl.Limit = limit
	}
	if okW {
		c.rl.WindowSec = window
	}
	if okR {
		c.rl.Remaining = remaining
	}
	c.rl.Known = true
}

// doObject performs r and decodes the success body as one JSON object
// (recordKey: see errorObject).
func doObject[T any](ctx context.Context, c *Client, r request, recordKey string) (Item[T], error) {
	body, status, err := c.do(ctx, r)
	if err != nil {
		return Item[T]{}, err
	}
	it, apiErr, err := decodeObject[T](body, recordKey)
	if err != nil {
		var de *DecodeError
		if errors.As(err, &de) {
			de.URL = r.url
		}
		return Item[T]{}, err
	}
	if apiErr != nil {
		apiErr.Op, apiErr.URL, apiErr.StatusCode = r.op, r.url, status
		apiErr.Code, apiErr.Message = redact(apiErr.Code, r.redact), redact(apiErr.Message, r.redact)
		return Item[T]{}, apiErr
	}
	return it, nil
}
