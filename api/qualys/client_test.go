package qualys

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"qtc/api/internal/httpbody"
)

const testPassword = "s3cret-P@ss"

// --- test plumbing ---------------------------------------------------------

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

// gateway is a fake Qualys gateway: /auth hands out tokens in order (the
// last one repeats); everything else goes to api.
type gateway struct {
	t          *testing.T
	srv        *httptest.Server
	tokens     []string
	authStatus int    // 0 = 201
	authBody   string // overrides the token when authStatus is set
	api        http.HandlerFunc

	authCalls atomic.Int64
	apiCalls  atomic.Int64
	issued    sync.Map // tokens handed out, to check logs
}

func newGateway(t *testing.T, api http.HandlerFunc, tokens ...string) *gateway {
	t.Helper()
	if len(tokens) == 0 {
		tokens = []string{"tok-1"}
	}
	g := &gateway{t: t, tokens: tokens, api: api}
	g.srv = httptest.NewServer(http.HandlerFunc(g.serve))
	t.Cleanup(g.srv.Close)
	return g
}

func (g *gateway) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/auth" {
		n := g.authCalls.Add(1)
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if g.authStatus != 0 {
			w.WriteHeader(g.authStatus)
			io.WriteString(w, g.authBody)
			return
		}
		tok := g.tokens[min(int(n), len(g.tokens))-1]
		g.issued.Store(tok, true)
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, tok+"\n")
		return
	}
	g.apiCalls.Add(1)
	if g.api == nil {
		http.NotFound(w, r)
		return
	}
	g.api(w, r)
}

type clientOpts struct {
	maxAttempts int
	maxWait     time.Duration
	transport   http.RoundTripper
	gatewayURL  string
}

// newTestClient returns a client for g with tiny backoffs, a counting
// transport and a debug log. At cleanup it checks that every response body
// was closed and that the log holds neither the password nor any token.
func newTestClient(t *testing.T, g *gateway, o clientOpts) (*Client, *countingTransport, *syncBuffer) {
	t.Helper()
	base := o.transport
	if base == nil {
		base = http.DefaultTransport.(*http.Transport).Clone()
	}
	ct := &countingTransport{base: base}
	logs := &syncBuffer{}
	gw := o.gatewayURL
	if gw == "" {
		gw = g.srv.URL
	}
	c, err := New(Config{
		GatewayURL:  gw,
		Username:    "alice",
		Password:    testPassword,
		HTTPClient:  &http.Client{Transport: ct, Timeout: 30 * time.Second},
		Logger:      slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		MaxAttempts: o.maxAttempts,
		MaxWait:     o.maxWait,
	})
	if err != nil {
		t.Fatal(err)
	}
	c.backoffBase, c.backoffCap = time.Millisecond, 2*time.Millisecond
	c.throttleBase, c.throttleCap = time.Millisecond, 2*time.Millisecond
	c.throttleMin = 0
	t.Cleanup(func() {
		if o, cl := ct.opened.Load(), ct.closed.Load(); o != cl {
			t.Errorf("response bodies: %d opened, %d closed", o, cl)
		}
		out := logs.String()
		if strings.Contains(out, testPassword) {
			t.Errorf("log contains the password:\n%s", out)
		}
		g.issued.Range(func(k, _ any) bool {
			if strings.Contains(out, k.(string)) {
				t.Errorf("log contains token %q:\n%s", k, out)
			}
			return true
		})
	})
	return c, ct, logs
}

// makeJWT builds an unsigned-looking JWT with the given exp claim.
func makeJWT(exp time.Time) string {
	enc := base64.RawURLEncoding
	header := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	payload := enc.EncodeToString([]byte(fmt.Sprintf(`{"sub":"alice","exp":%d,"n":%d}`, exp.Unix(), exp.UnixNano())))
	return header + "." + payload + ".c2lnbmF0dXJl"
}

// step is one scripted API answer.
type step struct {
	status  int
	headers map[string]string
	body    string
}

// script answers API calls with steps in order; the last one repeats.
func script(t *testing.T, steps ...step) http.HandlerFunc {
	var n atomic.Int64
	return func(w http.ResponseWriter, r *http.Request) {
		i := min(int(n.Add(1)), len(steps)) - 1
		s := steps[i]
		for k, v := range s.headers {
			w.Header().Set(k, v)
		}
		if s.status == 0 {
			s.status = http.StatusOK
		}
		w.WriteHeader(s.status)
		io.WriteString(w, s.body)
	}
}

func policiesBody(t *testing.T) string { return string(readFixture(t, fixturePolicies)) }

// --- New -------------------------------------------------------------------

func TestNewValidation(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string // substring; "" = valid
	}{
		{"ok https", Config{GatewayURL: "https://gateway.qg1.apps.qualys.com", Username: "u"}, ""},
		{"ok trailing slash", Config{GatewayURL: "https://gateway.qg2.apps.qualys.eu/", Username: "u"}, ""},
		{"ok http loopback", Config{GatewayURL: "http://127.0.0.1:8080", Username: "u"}, ""},
		{"ok http localhost", Config{GatewayURL: "http://localhost:8080", Username: "u"}, ""},
		{"ok http ipv6 loopback", Config{GatewayURL: "http://[::1]:8080", Username: "u"}, ""},
		{"empty url", Config{Username: "u"}, "Config.GatewayURL is empty"},
		{"unparsable", Config{GatewayURL: "https://exa mple.com:x/", Username: "u"}, "Config.GatewayURL"},
		{"no scheme", Config{GatewayURL: "gateway.qg1.apps.qualys.com", Username: "u"}, "Config.GatewayURL"},
		{"ftp", Config{GatewayURL: "ftp://gateway.qg1.apps.qualys.com", Username: "u"}, "not http or https"},
		{"no host", Config{GatewayURL: "https://", Username: "u"}, "no host"},
		{"http remote", Config{GatewayURL: "http://gateway.qg1.apps.qualys.com", Username: "u"}, "plain http"},
		{"credentials in url", Config{GatewayURL: "https://u:p@gateway.qg1.apps.qualys.com", Username: "u"}, "credentials"},
		{"credentials unparsable", Config{GatewayURL: "https://user:hunter2@exa mple.com", Username: "u"}, "Config.GatewayURL"},
		{"credentials over http", Config{GatewayURL: "http://user:hunter2@gateway.example.com", Username: "u"}, "Config.GatewayURL"},
		{"query", Config{GatewayURL: "https://gateway.qg1.apps.qualys.com?x=1", Username: "u"}, "query"},
		{"empty username", Config{GatewayURL: "https://gateway.qg1.apps.qualys.com", Password: "p"}, "Config.Username"},
		{"blank username", Config{GatewayURL: "https://gateway.qg1.apps.qualys.com", Username: "  "}, "Config.Username"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.cfg)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				if c.hc == nil || c.log == nil || c.maxAttempts != 5 || c.maxWait != 10*time.Minute || c.hc.Timeout != 60*time.Second {
					t.Errorf("defaults not applied: %+v", c)
				}
				return
			}
			if err == nil {
				t.Fatalf("New succeeded, want error containing %q", tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not contain %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), ":p@") || strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error repeats URL credentials: %q", err)
			}
		})
	}
}

func TestEndpointKeepsPathPrefix(t *testing.T) {
	c, err := New(Config{GatewayURL: "https://proxy.example.com/qualys/", Username: "u"})
	if err != nil {
		t.Fatal(err)
	}
	got := c.endpoint(policiesPath, map[string][]string{"pageSize": {"50"}, "pageNo": {"0"}})
	want := "https://proxy.example.com/qualys/cloudview-api/rest/v2/policies?pageNo=0&pageSize=50"
	if got != want {
		t.Errorf("endpoint = %q, want %q", got, want)
	}
}

// --- authentication ----------------------------------------------------------

func TestAuthenticateRequest(t *testing.T) {
	var gotAuth atomic.Value
	g := newGateway(t, nil)
	inner := g.srv.Config.Handler
	g.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/auth" {
			body, _ := io.ReadAll(r.Body)
			gotAuth.Store(fmt.Sprintf("%s %s|%s|%s", r.Method, r.URL.Path, r.Header.Get("Content-Type"), body))
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		inner.ServeHTTP(w, r)
	})
	c, _, _ := newTestClient(t, g, clientOpts{})
	if err := c.Authenticate(context.Background()); err != nil {
		t.Fatal(err)
	}
	got, _ := gotAuth.Load().(string)
	parts := strings.SplitN(got, "|", 3)
	if len(parts) != 3 || parts[0] != "POST /auth" || parts[1] != "application/x-www-form-urlencoded" {
		t.Fatalf("auth request = %q", got)
	}
	form := parts[2]
	for _, want := range []string{"username=alice", "password=" + strings.ReplaceAll(testPassword, "@", "%40"), "token=true"} {
		if !strings.Contains(form, want) {
			t.Errorf("auth form %q lacks %q", form, want)
		}
	}
	if c.token != "tok-1" {
		t.Errorf("token = %q, want trimmed tok-1", c.token)
	}
}

func TestAuthenticateErrors(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		body       string
		wantStatus int // 0: not an APIError
		wantIn     []string
	}{
		{"401 wrong credentials", 401, `{"errorCode":"CMS-2000","message":"Bad credentials","timestamp":1718000000000}`, 401,
			[]string{"authenticate failed", "HTTP 401", "CMS-2000: Bad credentials", "check the username and password"}},
		{"401 plain text", 401, "Unauthorized", 401, []string{"HTTP 401", "Unauthorized", "username and password"}},
		{"403", 403, `{"errorCode":"403","message":"No API access"}`, 403, []string{"No API access", "TotalCloud permission"}},
		{"200 instead of 201", 200, "tok", 200, []string{"HTTP 200"}},
		{"201 empty body", 201, "  \n", 0, []string{"empty body"}},
		{"201 html", 201, "<html>\n<body>login</body></html>", 0, []string{"not a token"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGateway(t, nil)
			g.authStatus, g.authBody = tt.status, tt.body
			c, _, _ := newTestClient(t, g, clientOpts{})
			err := c.Authenticate(context.Background())
			if err == nil {
				t.Fatal("no error")
			}
			var ae *APIError
			if tt.wantStatus != 0 {
				if !errors.As(err, &ae) || ae.StatusCode != tt.wantStatus {
					t.Fatalf("error %T %v, want *APIError %d", err, err, tt.wantStatus)
				}
				if ae.Op != "authenticate" || ae.URL != g.srv.URL+"/auth" {
					t.Errorf("Op=%q URL=%q", ae.Op, ae.URL)
				}
			} else if errors.As(err, &ae) {
				t.Fatalf("got *APIError %v, want a plain error", err)
			}
			msg := err.Error()
			for _, w := range tt.wantIn {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
			if strings.Contains(msg, testPassword) || strings.Contains(msg, "\n") {
				t.Errorf("error leaks the password or is not one line: %q", msg)
			}
			if g.authCalls.Load() != 1 {
				t.Errorf("auth calls = %d, want 1 (no retry)", g.authCalls.Load())
			}
		})
	}
}

func TestTokenReuseAndRefresh(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name      string
		token     func(i int) string
		wantAuths int64 // after 3 calls
	}{
		{"opaque token lives 4h", func(i int) string { return "opaque-" + strconv.Itoa(i) }, 1},
		{"jwt valid 1h", func(i int) string { return makeJWT(now.Add(time.Hour + time.Duration(i)*time.Second)) }, 1},
		{"jwt within refresh margin", func(i int) string { return makeJWT(now.Add(2*time.Minute + time.Duration(i)*time.Second)) }, 3},
		{"jwt already expired", func(i int) string { return makeJWT(now.Add(-time.Hour + time.Duration(i)*time.Second)) }, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tokens := []string{tt.token(1), tt.token(2), tt.token(3)}
			var seen []string
			var mu sync.Mutex
			body := policiesBody(t)
			g := newGateway(t, func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				seen = append(seen, strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
				mu.Unlock()
				io.WriteString(w, body)
			}, tokens...)
			c, _, _ := newTestClient(t, g, clientOpts{})
			for range 3 {
				if _, err := c.Policies(context.Background(), 0, 50); err != nil {
					t.Fatal(err)
				}
			}
			if got := g.authCalls.Load(); got != tt.wantAuths {
				t.Errorf("auth calls = %d, want %d", got, tt.wantAuths)
			}
			for i, s := range seen {
				want := tokens[min(i, int(tt.wantAuths)-1)]
				if s != want {
					t.Errorf("call %d sent token %q, want %q", i, s, want)
				}
			}
		})
	}
}

func TestTokenExpiry(t *testing.T) {
	issued := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	exp := time.Date(2026, 6, 1, 15, 30, 0, 0, time.UTC)
	enc := base64.RawURLEncoding.EncodeToString
	tests := []struct {
		name string
		tok  string
		want time.Time
	}{
		{"jwt exp", makeJWT(exp), exp},
		{"jwt padded payload", "h." + base64.URLEncoding.EncodeToString([]byte(`{"exp":1780327800}`)) + ".s", time.Unix(1780327800, 0)},
		{"jwt float exp", "h." + enc([]byte(`{"exp":1780327800.5}`)) + ".s", time.Unix(1780327800, 5e8)},
		{"jwt no exp", "h." + enc([]byte(`{"sub":"x"}`)) + ".s", issued.Add(4 * time.Hour)},
		{"jwt bad base64", "h.!!!.s", issued.Add(4 * time.Hour)},
		{"jwt exp string", "h." + enc([]byte(`{"exp":"soon"}`)) + ".s", issued.Add(4 * time.Hour)},
		{"jwt exp negative", "h." + enc([]byte(`{"exp":-5}`)) + ".s", issued.Add(4 * time.Hour)},
		{"opaque", "abcdef", issued.Add(4 * time.Hour)},
	}
	for _, tt := range tests {
		if got := tokenExpiry(tt.tok, issued); !got.Equal(tt.want) {
			t.Errorf("%s: expiry %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestAuthenticateForcesNewToken(t *testing.T) {
	body := policiesBody(t)
	var last atomic.Value
	g := newGateway(t, func(w http.ResponseWriter, r *http.Request) {
		last.Store(r.Header.Get("Authorization"))
		io.WriteString(w, body)
	}, "tok-1", "tok-2")
	c, _, _ := newTestClient(t, g, clientOpts{})
	ctx := context.Background()
	if _, err := c.Policies(ctx, 0, 50); err != nil {
		t.Fatal(err)
	}
	if err := c.Authenticate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Policies(ctx, 1, 50); err != nil {
		t.Fatal(err)
	}
	if g.authCalls.Load() != 2 || last.Load() != "Bearer tok-2" {
		t.Errorf("auth calls %d, last token %v; want 2, Bearer tok-2", g.authCalls.Load(), last.Load())
	}
}

func TestReauthOn401(t *testing.T) {
	body := policiesBody(t)
	tests := []struct {
		name      string
		accept    string // the token the API accepts ("" = none)
		wantErr   bool
		wantAuths int64
		wantAPI   int64
	}{
		{"second token accepted", "tok-2", false, 2, 2},
		// A token can be refused twice on the way (expired, a skewed
		// clock): the third is still tried.
		{"third token accepted", "tok-3", false, 3, 3},
		{"third 401 returned", "", true, 3, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGateway(t, func(w http.ResponseWriter, r *http.Request) {
				if tt.accept == "" || r.Header.Get("Authorization") != "Bearer "+tt.accept {
					w.WriteHeader(http.StatusUnauthorized)
					io.WriteString(w, `{"errorCode":"401","message":"Token expired","timestamp":"2026-06-01T00:00:00Z"}`)
					return
				}
				io.WriteString(w, body)
			}, "tok-1", "tok-2", "tok-3")
			c, _, _ := newTestClient(t, g, clientOpts{})
			page, err := c.Policies(context.Background(), 0, 50)
			if tt.wantErr {
				var ae *APIError
				if !errors.As(err, &ae) || ae.StatusCode != 401 || ae.Message != "Token expired" {
					t.Fatalf("error %v, want *APIError 401 Token expired", err)
				}
				if !strings.Contains(ae.Hint(), "username and password") {
					t.Errorf("hint %q", ae.Hint())
				}
			} else if err != nil || len(page.Items) != 2 {
				t.Fatalf("Policies: %v", err)
			}
			if g.authCalls.Load() != tt.wantAuths || g.apiCalls.Load() != tt.wantAPI {
				t.Errorf("auth calls %d, api calls %d; want %d, %d", g.authCalls.Load(), g.apiCalls.Load(), tt.wantAuths, tt.wantAPI)
			}
		})
	}
}

func TestConcurrentCallersShareOneAuth(t *testing.T) {
	body := policiesBody(t)
	g := newGateway(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, body) })
	c, _, _ := newTestClient(t, g, clientOpts{})
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Go(func() {
			_, err := c.Policies(context.Background(), i, 50)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := g.authCalls.Load(); got != 1 {
		t.Errorf("auth calls = %d, want 1", got)
	}
	if got := c.Requests(); got != 17 {
		t.Errorf("Requests() = %d, want 17", got)
	}
}

// A caller whose context ends while it runs the authentication must not
// fail the callers waiting on it.
func TestAuthLeaderCanceled(t *testing.T) {
	body := policiesBody(t)
	entered := make(chan struct{}, 1)
	var first atomic.Bool
	g := newGateway(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, body) })
	inner := g.srv.Config.Handler
	g.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/auth" && first.CompareAndSwap(false, true) {
			io.Copy(io.Discard, r.Body) // lets the server notice the client hanging up
			entered <- struct{}{}
			<-r.Context().Done() // hang until the client gives up
			return
		}
		inner.ServeHTTP(w, r)
	})
	c, _, _ := newTestClient(t, g, clientOpts{})

	ctxA, cancelA := context.WithCancel(context.Background())
	errA := make(chan error, 1)
	go func() { _, err := c.Policies(ctxA, 0, 50); errA <- err }()
	<-entered
	errB := make(chan error, 1)
	go func() { _, err := c.Policies(context.Background(), 0, 50); errB <- err }()
	cancelA()
	if err := <-errA; !errors.Is(err, context.Canceled) {
		t.Errorf("leader error = %v, want context.Canceled", err)
	}
	if err := <-errB; err != nil {
		t.Errorf("waiter error = %v, want success", err)
	}
}

// --- retries ---------------------------------------------------------------

func TestRetries(t *testing.T) {
	ok := step{body: "<fixture>"}
	tests := []struct {
		name        string
		steps       []step
		maxAttempts int
		maxWait     time.Duration
		wantStatus  int   // 0 = success
		wantAPI     int64 // API requests the server saw; -1 = at least 2
		wantCode    string
		wantMessage string
		wantHint    string
	}{
		{name: "429 ToWait 0 then ok", steps: []step{{status: 429, headers: map[string]string{"X-RateLimit-ToWait-Sec": "0"}}, ok}, wantAPI: 2},
		{name: "409 ToWait 0 then ok", steps: []step{{status: 409, headers: map[string]string{"X-RateLimit-ToWait-Sec": "0"}}, ok}, wantAPI: 2},
		{name: "429 Retry-After 0 then ok", steps: []step{{status: 429, headers: map[string]string{"Retry-After": "0"}}, ok}, wantAPI: 2},
		{name: "429 Retry-After past date then ok", steps: []step{{status: 429, headers: map[string]string{"Retry-After": "Mon, 01 Jan 2001 00:00:00 GMT"}}, ok}, wantAPI: 2},
		{name: "429 no header then ok", steps: []step{{status: 429}, {status: 429}, ok}, wantAPI: 3},
		{name: "503 twice then ok", steps: []step{{status: 503}, {status: 503}, ok}, maxAttempts: 5, wantAPI: 3},
		{name: "500 forever", steps: []step{{status: 500, body: `{"errorCode":"CV-500","message":"Internal error","timestamp":"t"}`}}, maxAttempts: 3,
			wantStatus: 500, wantAPI: 3, wantCode: "CV-500", wantMessage: "Internal error", wantHint: "retry later"},
		{name: "429 wait beyond budget", steps: []step{{status: 429, headers: map[string]string{"X-RateLimit-ToWait-Sec": "5"}, body: `{"errorCode":"429","message":"Rate limit exceeded"}`}},
			maxWait: time.Second, wantStatus: 429, wantAPI: 1, wantCode: "429", wantMessage: "Rate limit exceeded", wantHint: "wait 5s"},
		{name: "409 forever until budget", steps: []step{{status: 409}}, maxWait: 20 * time.Millisecond,
			wantStatus: 409, wantAPI: -1, wantHint: "X-RateLimit-ToWait-Sec"},
		{name: "400 not retried", steps: []step{{status: 400, body: `{"errorCode":"CV-400","message":"pageSize must be <= 1000","timestamp":"t","status":400,"error":"Bad Request","path":"/x"}`}},
			wantStatus: 400, wantAPI: 1, wantCode: "CV-400", wantMessage: "pageSize must be <= 1000"},
		{name: "403 verbatim message", steps: []step{{status: 403, body: `{"errorCode":"CV-403","message":"User \"alice\" lacks\nCloudView permission","timestamp":"t"}`}},
			wantStatus: 403, wantAPI: 1, wantCode: "CV-403", wantMessage: "User \"alice\" lacks\nCloudView permission", wantHint: "TotalCloud permission"},
		{name: "404 html", steps: []step{{status: 404, body: "<html><body>Not Found</body></html>"}},
			wantStatus: 404, wantAPI: 1, wantMessage: "<html><body>Not Found</body></html>", wantHint: "gateway URL"},
		{name: "spring error body", steps: []step{{status: 404, body: `{"timestamp":"t","status":404,"error":"Not Found","path":"/cloudview-api/rest/v2/policies"}`}},
			wantStatus: 404, wantAPI: 1, wantMessage: "Not Found"},
		{name: "error object with 200", steps: []step{{status: 200, body: `{"errorCode":"CV-1","message":"Something odd"}`}},
			wantStatus: 200, wantAPI: 1, wantCode: "CV-1", wantMessage: "Something odd"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			steps := append([]step(nil), tt.steps...)
			for i := range steps {
				if steps[i].body == "<fixture>" {
					steps[i].body = policiesBody(t)
				}
			}
			g := newGateway(t, script(t, steps...))
			c, _, logs := newTestClient(t, g, clientOpts{maxAttempts: tt.maxAttempts, maxWait: tt.maxWait})
			page, err := c.Policies(context.Background(), 0, 50)
			switch {
			case tt.wantAPI == -1 && g.apiCalls.Load() < 2:
				t.Errorf("api calls = %d, want at least 2", g.apiCalls.Load())
			case tt.wantAPI >= 0 && g.apiCalls.Load() != tt.wantAPI:
				t.Errorf("api calls = %d, want %d", g.apiCalls.Load(), tt.wantAPI)
			}
			if tt.wantStatus == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if len(page.Items) != 2 {
					t.Errorf("got %d items", len(page.Items))
				}
				if tt.wantAPI > 1 {
					out := logs.String()
					for _, w := range []string{"status=", "wait=", "attempt="} {
						if !strings.Contains(out, w) {
							t.Errorf("retry log lacks %q:\n%s", w, out)
						}
					}
				}
				return
			}
			var ae *APIError
			if !errors.As(err, &ae) {
				t.Fatalf("error %T %v, want *APIError", err, err)
			}
			if ae.StatusCode != tt.wantStatus || ae.Code != tt.wantCode || ae.Message != tt.wantMessage {
				t.Errorf("APIError{Status %d, Code %q, Message %q}, want {%d, %q, %q}", ae.StatusCode, ae.Code, ae.Message, tt.wantStatus, tt.wantCode, tt.wantMessage)
			}
			if ae.Op != "list policies" || ae.URL != g.srv.URL+"/cloudview-api/rest/v2/policies?pageNo=0&pageSize=50" {
				t.Errorf("Op %q URL %q", ae.Op, ae.URL)
			}
			if !strings.Contains(ae.Hint(), tt.wantHint) {
				t.Errorf("hint %q lacks %q", ae.Hint(), tt.wantHint)
			}
			msg := ae.Error()
			if strings.Contains(msg, "\n") || !strings.Contains(msg, "HTTP "+strconv.Itoa(tt.wantStatus)) || !strings.Contains(msg, ae.Hint()) {
				t.Errorf("Error() = %q", msg)
			}
		})
	}
}

func TestNetworkErrors(t *testing.T) {
	body := policiesBody(t)
	tests := []struct {
		name      string
		drops     int64 // connections dropped before answering
		wantErr   bool
		wantCalls int64
	}{
		{"two drops then ok", 2, false, 3},
		{"drops forever", 1 << 30, true, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n atomic.Int64
			g := newGateway(t, func(w http.ResponseWriter, r *http.Request) {
				if n.Add(1) <= tt.drops {
					conn, _, err := w.(http.Hijacker).Hijack()
					if err != nil {
						t.Error(err)
						return
					}
					conn.Close()
					return
				}
				io.WriteString(w, body)
			})
			tr := http.DefaultTransport.(*http.Transport).Clone()
			tr.DisableKeepAlives = true // no transparent transport retries
			c, _, _ := newTestClient(t, g, clientOpts{maxAttempts: 3, transport: tr})
			_, err := c.Policies(context.Background(), 0, 50)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil {
				var ae *APIError
				if errors.As(err, &ae) || !strings.Contains(err.Error(), "giving up after 3 attempts") {
					t.Errorf("error = %v", err)
				}
			}
			if got := g.apiCalls.Load(); got != tt.wantCalls {
				t.Errorf("api calls = %d, want %d", got, tt.wantCalls)
			}
		})
	}
}

func TestTLSErrorNotRetried(t *testing.T) {
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	t.Cleanup(srv.Close)
	g := &gateway{t: t, srv: srv}
	c, _, _ := newTestClient(t, g, clientOpts{maxAttempts: 5}) // default transport: does not trust the test CA
	err := c.Authenticate(context.Background())
	if err == nil {
		t.Fatal("no error")
	}
	if got := c.Requests(); got != 1 {
		t.Errorf("requests = %d, want 1 (certificate errors are not retried): %v", got, err)
	}
}

func TestContextCanceledDuringWait(t *testing.T) {
	tests := []struct {
		name   string
		status int
		header map[string]string
		setup  func(c *Client)
	}{
		{"rate limit wait", 429, map[string]string{"X-RateLimit-ToWait-Sec": "3600"}, nil},
		{"5xx backoff", 503, nil, func(c *Client) { c.backoffBase, c.backoffCap = time.Hour, time.Hour }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hit := make(chan struct{}, 1)
			g := newGateway(t, func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tt.status)
				select {
				case hit <- struct{}{}:
				default:
				}
			})
			c, _, _ := newTestClient(t, g, clientOpts{maxWait: 2 * time.Hour})
			if tt.setup != nil {
				tt.setup(c)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { _, err := c.Policies(ctx, 0, 50); done <- err }()
			<-hit
			cancel()
			select {
			case err := <-done:
				if !errors.Is(err, context.Canceled) {
					t.Errorf("error = %v, want context.Canceled", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Policies did not return after cancel")
			}
		})
	}
}

// TestDecodeErrorsFromServer: a body that is not JSON (as a garbled or
// cut-off transfer leaves it) is fetched again, MaxAttempts times; JSON of
// the wrong shape is not. Either way the error names the URL and the byte
// offset.
func TestDecodeErrorsFromServer(t *testing.T) {
	full := policiesBody(t)
	tests := []struct {
		name       string
		body       string
		wantOffset int64
		wantCalls  int64
	}{
		{"truncated", full[:len(full)-40], int64(len(full) - 40), 3},
		{"not json", "Service temporarily unavailable", 1, 3},
		{"no content", `{"status":"ok"}`, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGateway(t, script(t, step{body: tt.body}, step{body: tt.body}, step{body: tt.body}))
			c, _, _ := newTestClient(t, g, clientOpts{maxAttempts: 3})
			_, err := c.Policies(context.Background(), 2, 25)
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %T %v, want *DecodeError", err, err)
			}
			wantURL := g.srv.URL + "/cloudview-api/rest/v2/policies?pageNo=2&pageSize=25"
			if de.URL != wantURL || de.Offset != tt.wantOffset {
				t.Errorf("DecodeError{URL %q, Offset %d}, want {%q, %d}", de.URL, de.Offset, wantURL, tt.wantOffset)
			}
			if !strings.Contains(err.Error(), wantURL) || !strings.Contains(err.Error(), fmt.Sprintf("at byte %d", tt.wantOffset)) {
				t.Errorf("Error() = %q", err)
			}
			if g.apiCalls.Load() != tt.wantCalls {
				t.Errorf("api calls = %d, want %d", g.apiCalls.Load(), tt.wantCalls)
			}
			if n := c.Retries()["malformed"]; n != int(tt.wantCalls-1) {
				t.Errorf("retries %v, want %d as malformed", c.Retries(), tt.wantCalls-1)
			}
		})
	}
}

func TestBodyTooLarge(t *testing.T) {
	g := newGateway(t, script(t, step{body: policiesBody(t)}))
	c, _, _ := newTestClient(t, g, clientOpts{})
	c.maxBody = 100
	_, err := c.Policies(context.Background(), 0, 50)
	var de *DecodeError
	if !errors.As(err, &de) || !errors.Is(err, httpbody.ErrTooLarge) || de.Offset != 100 {
		t.Fatalf("error = %v, want DecodeError for a body over 100 bytes", err)
	}
}

func TestExceptions(t *testing.T) {
	body := string(readFixture(t, fixtureExceptions))
	var gotPath atomic.Value
	g := newGateway(t, func(w http.ResponseWriter, r *http.Request) {
		gotPath.Store(r.Method + " " + r.URL.RequestURI() + " " + r.Header.Get("Accept"))
		io.WriteString(w, body)
	})
	c, _, _ := newTestClient(t, g, clientOpts{})
	page, err := c.Exceptions(context.Background(), 0, 50)
	if err != nil {
		t.Fatal(err)
	}
	if want := "GET /cloudview-api/rest/v1/exceptions/list?pageNo=0&pageSize=50 application/json"; gotPath.Load() != want {
		t.Errorf("request = %q, want %q", gotPath.Load(), want)
	}
	if len(page.Items) != 1 || page.Items[0].Value.Name != "OCI Resource Level Exception" || !page.Last {
		t.Errorf("page = %+v", page)
	}
	if !bytes.Contains([]byte(body), page.Items[0].Raw) {
		t.Error("Raw is not a slice of the body")
	}
}

func TestPageArguments(t *testing.T) {
	g := newGateway(t, nil)
	c, _, _ := newTestClient(t, g, clientOpts{})
	for _, args := range [][2]int{{-1, 50}, {0, 0}, {0, -3}} {
		if _, err := c.Policies(context.Background(), args[0], args[1]); err == nil {
			t.Errorf("Policies(%d, %d): no error", args[0], args[1])
		}
	}
	if c.Requests() != 0 {
		t.Errorf("requests = %d, want 0", c.Requests())
	}
}

func TestRateLimitHeaders(t *testing.T) {
	body := policiesBody(t)
	g := newGateway(t, script(t,
		step{status: 429, headers: map[string]string{"X-RateLimit-Limit": "300", "X-RateLimit-Window-Sec": "3600", "X-RateLimit-Remaining": "0", "X-RateLimit-ToWait-Sec": "0"}},
		step{body: body, headers: map[string]string{"X-RateLimit-Limit": "300", "X-RateLimit-Window-Sec": "3600", "X-RateLimit-Remaining": "299"}},
		step{body: body},
	))
	c, _, _ := newTestClient(t, g, clientOpts{})
	if rl := c.RateLimit(); rl.Known {
		t.Errorf("RateLimit before any call = %+v", rl)
	}
	for range 2 {
		if _, err := c.Policies(context.Background(), 0, 50); err != nil {
			t.Fatal(err)
		}
	}
	want := RateLimit{Limit: 300, WindowSec: 3600, Remaining: 299, Known: true}
	if rl := c.RateLimit(); rl != want {
		t.Errorf("RateLimit = %+v, want %+v", rl, want)
	}
	if got := c.Requests(); got != 4 { // auth + 429 + 200 + 200
		t.Errorf("Requests() = %d, want 4", got)
	}
}

func TestWaitHeaders(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	c := &Client{now: func() time.Time { return now }, throttleBase: time.Second, throttleCap: 8 * time.Second, throttleMin: time.Second}
	tests := []struct {
		name       string
		headers    map[string]string
		n          int
		want       time.Duration // exact, or the upper bound when jittered
		jitter     bool
		fromServer bool
	}{
		{"to-wait", map[string]string{"X-RateLimit-ToWait-Sec": "30", "Retry-After": "5"}, 1, 30 * time.Second, false, true},
		{"to-wait zero floors at min", map[string]string{"X-RateLimit-ToWait-Sec": "0"}, 1, time.Second, false, true},
		{"retry-after seconds", map[string]string{"Retry-After": "7"}, 1, 7 * time.Second, false, true},
		{"retry-after date", map[string]string{"Retry-After": now.Add(90 * time.Second).Format(http.TimeFormat)}, 1, 90 * time.Second, false, true},
		{"bad to-wait falls back", map[string]string{"X-RateLimit-ToWait-Sec": "soon", "Retry-After": "3"}, 1, 3 * time.Second, false, true},
		{"huge to-wait capped", map[string]string{"X-RateLimit-ToWait-Sec": "99999999999999999"}, 1, 24 * time.Hour, false, true},
		{"no header backoff 4th", nil, 4, 8 * time.Second, true, false},
		{"no header backoff capped", nil, 60, 8 * time.Second, true, false},
	}
	for _, tt := range tests {
		h := http.Header{}
		for k, v := range tt.headers {
			h.Set(k, v)
		}
		got, fromServer := c.throttleWait(h, tt.n)
		if fromServer != tt.fromServer {
			t.Errorf("%s: fromServer = %v", tt.name, fromServer)
		}
		if tt.jitter {
			if got < tt.want/2 || got > tt.want {
				t.Errorf("%s: wait %v outside [%v, %v]", tt.name, got, tt.want/2, tt.want)
			}
		} else if got != tt.want {
			t.Errorf("%s: wait %v, want %v", tt.name, got, tt.want)
		}
	}
	c.backoffBase, c.backoffCap = 250*time.Millisecond, 10*time.Second
	for n, ceiling := range map[int]time.Duration{1: 250 * time.Millisecond, 3: time.Second, 7: 10 * time.Second, 1000: 10 * time.Second} {
		for range 50 {
			if d := c.backoff(n); d < 0 || d > ceiling {
				t.Fatalf("backoff(%d) = %v, want within [0, %v]", n, d, ceiling)
			}
		}
	}
}

func TestHints(t *testing.T) {
	tests := []struct {
		status int
		want   string
	}{
		{401, "username and password"},
		{403, "TotalCloud permission"},
		{404, "gateway URL"},
		{409, "X-RateLimit-ToWait-Sec"},
		{429, "X-RateLimit-ToWait-Sec"},
		{500, "retry later"},
		{503, "retry later"},
		{400, ""},
	}
	for _, tt := range tests {
		e := &APIError{Op: "list policies", StatusCode: tt.status}
		h := e.Hint()
		if tt.want == "" && h != "" || !strings.Contains(h, tt.want) {
			t.Errorf("Hint(%d) = %q, want %q", tt.status, h, tt.want)
		}
		if !strings.Contains(e.Error(), h) {
			t.Errorf("Error(%d) = %q lacks the hint", tt.status, e.Error())
		}
	}
}

// Everything the gateway answers, whatever the path, has its body closed;
// this runs a mixed sequence through one client and lets the cleanup check
// count bodies.
func TestBodiesClosed(t *testing.T) {
	body := policiesBody(t)
	g := newGateway(t, script(t,
		step{status: 503, body: strings.Repeat("x", 1<<20)}, // bigger than the error read and the drain
		step{status: 429, headers: map[string]string{"X-RateLimit-ToWait-Sec": "0"}, body: "slow down"},
		step{status: 401, body: `{"message":"expired"}`},
		step{body: body},
		step{body: body[:100]},
		step{body: body[:100]}, // fetched again: still cut off
		step{status: 404, body: "nope"},
	), "tok-1", "tok-2")
	c, ct, _ := newTestClient(t, g, clientOpts{maxAttempts: 2})
	ctx := context.Background()
	if _, err := c.Policies(ctx, 0, 50); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Policies(ctx, 1, 50); err == nil {
		t.Fatal("truncated body: no error")
	}
	if _, err := c.Policies(ctx, 2, 50); err == nil {
		t.Fatal("404: no error")
	}
	if ct.opened.Load() != 9 { // 2 auth + 7 API
		t.Errorf("bodies opened = %d, want 9", ct.opened.Load())
	}
}

func TestJSONErrorMessageVerbatim(t *testing.T) {
	msg := "Invalid value for 'pageSize': \"abc\" — expected a number\tπ"
	b, _ := json.Marshal(map[string]any{"errorCode": 1234, "message": msg, "timestamp": 1718000000000})
	code, got := parseErrorBody(b)
	if code != "1234" || got != msg {
		t.Errorf("parseErrorBody = %q, %q; want 1234, %q", code, got, msg)
	}
}
