// Package httplog has one job: an http.RoundTripper that logs every HTTP
// exchange (request line, headers and form or JSON body; response status,
// duration, headers and the start of the body) to a *slog.Logger at debug
// level, with every credential redacted — the tracing behind qtc --trace.
//
// Redacted: the Authorization, Proxy-Authorization, Cookie and Set-Cookie
// headers and any header whose name contains token, secret, password or
// key; the form fields client_secret, password, client_assertion,
// refresh_token, access_token, id_token and code; the JSON fields
// access_token, refresh_token, id_token, token, client_assertion and any
// whose name contains secret or password; and anything that looks like a
// JWT (base64url segments starting "eyJ"), wherever it appears. The
// successful answer to a form carrying a secret (a login) is not shown
// unless it is JSON, whose token fields are redacted one by one.
//
// Bodies reach the caller unchanged: request bodies are read from a copy
// (Request.GetBody) and never consumed; response bodies stream through,
// and only their first BodyLimit bytes are kept for the log.
package httplog

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultBodyLimit is the most bytes of a body logged.
const DefaultBodyLimit = 2 << 10

// Transport logs the exchanges of its Base transport. Create it with Wrap.
type Transport struct {
	base  http.RoundTripper
	log   *slog.Logger
	limit int
	seq   atomic.Uint64
}

// Wrap returns base (http.DefaultTransport when nil) logging every exchange
// to log at debug level, secrets redacted. With a nil log it returns base.
func Wrap(base http.RoundTripper, log *slog.Logger) http.RoundTripper {
	if log == nil {
		return base
	}
	if base == nil {
		base = http.DefaultTransport
	}
	return &Transport{base: base, log: log, limit: DefaultBodyLimit}
}

// Client returns a copy of hc whose transport is wrapped by Wrap; hc itself
// is not modified. With a nil log it returns hc.
func Client(hc *http.Client, log *slog.Logger) *http.Client {
	if log == nil || hc == nil {
		return hc
	}
	c := *hc
	c.Transport = Wrap(hc.Transport, log)
	return &c
}

// CloseIdleConnections closes the idle connections of the base transport.
func (t *Transport) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// RoundTrip sends req through the base transport and logs the exchange.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	if !t.log.Enabled(ctx, slog.LevelDebug) {
		return t.base.RoundTrip(req)
	}
	id := t.seq.Add(1)
	attrs := []slog.Attr{
		slog.Uint64("id", id),
		slog.String("method", req.Method),
		slog.String("url", RedactURL(req.URL)),
		headersAttr(req.Header),
	}
	b, hasBody, credential := t.requestBody(req)
	if hasBody {
		attrs = append(attrs, slog.String("body", b))
	}
	t.log.LogAttrs(ctx, slog.LevelDebug, "http request", attrs...)

	start := time.Now()
	resp, err := t.base.RoundTrip(req)
	d := time.Since(start)
	if err != nil {
		t.log.LogAttrs(ctx, slog.LevelDebug, "http error", slog.Uint64("id", id),
			slog.Duration("duration", d), slog.String("err", RedactText(err.Error())))
		return resp, err
	}
	t.log.LogAttrs(ctx, slog.LevelDebug, "http response", slog.Uint64("id", id),
		slog.String("status", resp.Status), slog.Duration("duration", d), headersAttr(resp.Header))
	if resp.Body != nil && resp.Body != http.NoBody {
		// The answer to a login is a token: a bare one (not a JWT, not in a
		// JSON field) would pass every rule, so a successful one that is
		// not JSON is not shown.
		hide := credential && resp.StatusCode/100 == 2
		resp.Body = &body{rc: resp.Body, t: t, ctx: ctx, id: id, ct: resp.Header.Get("Content-Type"), start: start, hideText: hide}
	}
	return resp, nil
}

// requestBody returns the loggable, redacted start of req's body, read from
// a fresh copy (GetBody) so the request is not touched; ok is false when
// the request has no body, credential true for a form carrying a secret (a
// login).
func (t *Transport) requestBody(req *http.Request) (s string, ok, credential bool) {
	if req.Body == nil || req.Body == http.NoBody {
		return "", false, false
	}
	ct := req.Header.Get("Content-Type")
	kind := kindOf(ct)
	if kind != kindForm && kind != kindJSON {
		return fmt.Sprintf("[not logged: %s, %d bytes]", orUnknown(ct), req.ContentLength), true, false
	}
	if req.GetBody == nil {
		return fmt.Sprintf("[not logged: %s body that cannot be re-read]", ct), true, kind == kindForm
	}
	rc, err := req.GetBody()
	if err != nil {
		return "[not logged: " + RedactText(err.Error()) + "]", true, kind == kindForm
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, int64(t.limit)+1))
	if err != nil {
		return "[not logged: " + RedactText(err.Error()) + "]", true, kind == kindForm
	}
	truncated := len(b) > t.limit
	if truncated {
		b = b[:t.limit]
	}
	return RedactBody(ct, b, truncated), true, kind == kindForm && formHasSecret(string(b))
}

func orUnknown(ct string) string {
	if ct == "" {
		return "no Content-Type"
	}
	return ct
}

// headersAttr is a group of the headers, sorted by name, redacted.
func headersAttr(h http.Header) slog.Attr {
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	sort.Strings(names)
	attrs := make([]slog.Attr, 0, len(names))
	for _, k := range names {
		attrs = append(attrs, slog.String(k, RedactHeader(k, strings.Join(h[k], ", "))))
	}
	return slog.Attr{Key: "headers", Value: slog.GroupValue(attrs...)}
}

// body passes a response body through, keeping its first bytes, and logs
// them once: at end of file or on Close, whichever comes first.
type body struct {
	rc    io.ReadCloser
	t     *Transport
	ctx   context.Context
	id    uint64
	ct    string
	start time.Time
	// hideText: show a text body only as its size (the answer to a login).
	hideText bool

	mu     sync.Mutex
	head   []byte
	n      int64
	logged bool
}

func (b *body) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	b.mu.Lock()
	if room := b.t.limit - len(b.head); room > 0 && n > 0 {
		b.head = append(b.head, p[:min(n, room)]...)
	}
	b.n += int64(n)
	b.mu.Unlock()
	if err == io.EOF {
		b.finish(true)
	}
	return n, err
}

func (b *body) Close() error {
	err := b.rc.Close()
	b.finish(false)
	return err
}

func (b *body) finish(eof bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.logged {
		return
	}
	b.logged = true
	complete := eof && b.n <= int64(b.t.limit)
	var snippet string
	switch k := kindOf(b.ct); {
	case k == kindBinary:
		snippet = fmt.Sprintf("[not logged: %s]", b.ct)
	case b.hideText && k != kindJSON:
		snippet = "[redacted: the answer to a login]"
	default:
		snippet = RedactBody(b.ct, b.head, !complete)
	}
	b.t.log.LogAttrs(b.ctx, slog.LevelDebug, "http response body", slog.Uint64("id", b.id),
		slog.Int64("bytes_read", b.n), slog.Bool("eof", eof),
		slog.Duration("elapsed", time.Since(b.start)), slog.String("body", snippet))
}
