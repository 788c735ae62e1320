package graph

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	testTenant   = "ff4e2413-1111-2222-3333-1ea02d3d94eb"
	testClientID = "e78a9c6a-4444-5555-6666-9c53b6547fe3"
	testSecret   = "Zx8Q~s3cr3t.VALUE-do-not-log"
)

// --- fake clock ------------------------------------------------------------

// fakeClock is virtual time: a sleep moves the clock to its deadline at
// once (never backwards), so a simulated minute takes no real time.
// Sleeps without a deadline wait for their wake channel or ctx.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	waits []time.Duration // deadline minus now, per timed sleep
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 5, 4, 15, 26, 0, 0, time.UTC)}
}

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeClock) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

func (f *fakeClock) SleepUntil(ctx context.Context, t time.Time, wake <-chan struct{}) error {
	if t.IsZero() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-wake:
			return nil
		}
	}
	select {
	case <-wake:
		return nil
	default:
	}
	f.mu.Lock()
	f.waits = append(f.waits, t.Sub(f.now))
	if t.After(f.now) {
		f.now = t
	}
	f.mu.Unlock()
	return ctx.Err()
}

func (f *fakeClock) Waits() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.waits...)
}

// --- counting transport ----------------------------------------------------

// countingTransport counts response bodies handed out and closed.
type countingTransport struct {
	base           http.RoundTripper
	opened, closed atomic.Int64
}

func (ct *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := ct.base.RoundTrip(req)
	if resp != nil && resp.Body != nil {
		ct.opened.Add(1)
		resp.Body = &countingBody{ReadCloser: resp.Body, ct: ct}
	}
	return resp, err
}

type countingBody struct {
	io.ReadCloser
	once sync.Once
	ct   *countingTransport
}

func (b *countingBody) Close() error {
	b.once.Do(func() { b.ct.closed.Add(1) })
	return b.ReadCloser.Close()
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// --- fake Entra ID + Graph -------------------------------------------------

// fakeEntra serves the token endpoints under /login and hands everything
// else to api. Tokens are JWTs with the configured roles and a serial.
type fakeEntra struct {
	t   *testing.T
	srv *httptest.Server

	mu         sync.Mutex
	roles      []string
	expiresIn  string // "" = "3599"
	tokenSteps []tokenStep
	forms      []url.Values
	paths      []string
	issued     []string

	api      http.HandlerFunc
	apiCalls atomic.Int64
}

// tokenStep scripts one token answer; the last one repeats. A zero step
// issues a token.
type tokenStep struct {
	status  int
	headers map[string]string
	body    string
}

func newFakeEntra(t *testing.T, api http.HandlerFunc) *fakeEntra {
	t.Helper()
	f := &fakeEntra{t: t, api: api, roles: []string{"User.Read.All", "GroupMember.Read.All"}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeEntra) cloud() Cloud {
	return Cloud{Name: "test", LoginURL: f.srv.URL + "/login", GraphURL: f.srv.URL}
}

func (f *fakeEntra) serve(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/login/") {
		f.serveToken(w, r)
		return
	}
	f.apiCalls.Add(1)
	if f.api == nil {
		http.NotFound(w, r)
		return
	}
	f.api(w, r)
}

func (f *fakeEntra) serveToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.forms = append(f.forms, r.PostForm)
	f.paths = append(f.paths, r.URL.Path)
	n := len(f.forms)
	var step tokenStep
	if len(f.tokenSteps) > 0 {
		step = f.tokenSteps[min(n, len(f.tokenSteps))-1]
	}
	roles := f.roles
	exp := f.expiresIn
	f.mu.Unlock()
	for k, v := range step.headers {
		w.Header().Set(k, v)
	}
	if step.status != 0 {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(step.status)
		io.WriteString(w, step.body)
		return
	}
	tok := makeJWT(map[string]any{"aud": "https://graph.microsoft.com", "tid": testTenant, "appid": testClientID, "roles": roles, "n": n})
	f.mu.Lock()
	f.issued = append(f.issued, tok)
	f.mu.Unlock()
	if exp == "" {
		exp = "3599"
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	// The v1 endpoint sends expires_in as a string, v2 as a number.
	if strings.Contains(r.URL.Path, "/v2.0/") {
		fmt.Fprintf(w, `{"token_type":"Bearer","expires_in":%s,"ext_expires_in":%s,"access_token":%q}`, exp, exp, tok)
	} else {
		fmt.Fprintf(w, `{"token_type":"Bearer","expires_in":"%s","ext_expires_in":"%s","expires_on":"1999999999","not_before":"1700000000","resource":"https://graph.microsoft.com","access_token":%q}`, exp, exp, tok)
	}
}

func (f *fakeEntra) tokens() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.issued...)
}

func (f *fakeEntra) tokenRequests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.forms)
}

// makeJWT builds an unsigned-looking JWT with the given claims.
func makeJWT(claims map[string]any) string {
	enc := base64.RawURLEncoding
	header := enc.EncodeToString([]byte(`{"typ":"JWT","alg":"RS256","kid":"test"}`))
	payload, _ := json.Marshal(claims)
	return header + "." + enc.EncodeToString(payload) + ".c2lnbmF0dXJl"
}

type clientOpts struct {
	token       TokenEndpoint
	concurrency int
	budget      int
	maxRetries  int
	clock       *fakeClock // nil: a new fake clock
	cloud       *Cloud
	timeout     time.Duration // the HTTP client's; 0: 30s
}

// newTestClient returns a client for f with a fake clock, a counting
// transport and a debug log. At cleanup it checks that every response body
// was closed and that the log holds neither the secret nor any token.
func newTestClient(t *testing.T, f *fakeEntra, o clientOpts) (*Client, *fakeClock, *syncBuffer) {
	t.Helper()
	ct := &countingTransport{base: http.DefaultTransport.(*http.Transport).Clone()}
	logs := &syncBuffer{}
	cloud := f.cloud()
	if o.cloud != nil {
		cloud = *o.cloud
	}
	timeout := o.timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	c, err := New(Config{
		TenantID:     testTenant,
		ClientID:     testClientID,
		ClientSecret: testSecret,
		Cloud:        cloud,
		Token:        o.token,
		HTTPClient:   &http.Client{Transport: ct, Timeout: timeout},
		Logger:       slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Concurrency:  o.concurrency,
		Budget:       o.budget,
		MaxRetries:   o.maxRetries,
	})
	if err != nil {
		t.Fatal(err)
	}
	clk := o.clock
	if clk == nil {
		clk = newFakeClock()
	}
	c.clk = clk
	t.Cleanup(func() {
		if o, cl := ct.opened.Load(), ct.closed.Load(); o != cl {
			t.Errorf("response bodies: %d opened, %d closed", o, cl)
		}
		out := logs.String()
		if strings.Contains(out, testSecret) {
			t.Errorf("log contains the client secret:\n%s", out)
		}
		for _, tok := range f.tokens() {
			if strings.Contains(out, tok) {
				t.Errorf("log contains an access token:\n%s", out)
			}
		}
	})
	return c, clk, logs
}

// checkNoSecrets fails if err's text holds the secret or an issued token.
func checkNoSecrets(t *testing.T, f *fakeEntra, err error) {
	t.Helper()
	if err == nil {
		return
	}
	s := err.Error()
	if strings.Contains(s, testSecret) {
		t.Errorf("error contains the client secret: %s", s)
	}
	for _, tok := range f.tokens() {
		if strings.Contains(s, tok) {
			t.Errorf("error contains an access token: %s", s)
		}
	}
}

// writeJSON answers status with body and headers.
func writeJSON(w http.ResponseWriter, status int, body string, headers ...string) {
	for i := 0; i+1 < len(headers); i += 2 {
		w.Header().Set(headers[i], headers[i+1])
	}
	w.Header().Set("Content-Type", "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

func graphError(code, msg string) string {
	return fmt.Sprintf(`{"error":{"code":%q,"message":%q,"innerError":{"date":"2026-05-04T15:26:00","request-id":"93b6f17e-c05d-4f45-ad2a-6665c708d8a0","client-request-id":"93b6f17e-c05d-4f45-ad2a-6665c708d8a0"}}}`, code, msg)
}
