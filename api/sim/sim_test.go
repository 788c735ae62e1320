package sim

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// testNow is the injected "now" of the tests.
var testNow = time.Date(2026, 7, 1, 10, 0, 0, 0, time.UTC)

// fakeClock is a settable clock for Options.Now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// newTestServer serves a simulator through httptest; Now is a fake clock
// at testNow unless opt sets one.
func newTestServer(t testing.TB, opt Options) (*Server, string, *fakeClock) {
	t.Helper()
	clk := &fakeClock{t: testNow}
	if opt.Now == nil {
		opt.Now = clk.Now
	}
	s := New(opt)
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return s, ts.URL, clk
}

// authenticate posts the form to /auth.
func authenticate(t testing.TB, base string, form url.Values) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Post(base+qualysAuthPath, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	return resp, readAll(t, resp)
}

// login returns a token for the default credentials.
func login(t testing.TB, base string) string {
	t.Helper()
	resp, body := authenticate(t, base, url.Values{"username": {"demo"}, "password": {"demo-pass-2026"}, "token": {"true"}})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("auth: %d %s", resp.StatusCode, body)
	}
	return string(body)
}

// get performs a GET with an optional bearer token.
func get(t testing.TB, target, token string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp, readAll(t, resp)
}

func readAll(t testing.TB, resp *http.Response) []byte {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkError asserts a Qualys JSON error body with the given status.
func checkError(t *testing.T, resp *http.Response, body []byte, status int) qualysError {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("status %d, want %d (body %s)", resp.StatusCode, status, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	if got, want := objectKeys(t, body), []string{"errorCode", "message", "timestamp"}; !equalStrings(got, want) {
		t.Errorf("error keys %v, want %v", got, want)
	}
	var e qualysError
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("error body %s: %v", body, err)
	}
	if e.ErrorCode != strconv.Itoa(status) || e.Message == "" || e.Timestamp <= 0 {
		t.Errorf("error body %+v", e)
	}
	return e
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestStartClose(t *testing.T) {
	s := New(Options{})
	base, err := s.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(base, "http://127.0.0.1:") {
		t.Errorf("base URL %q", base)
	}
	if _, err := s.Start("127.0.0.1:0"); err == nil {
		t.Error("second Start succeeded")
	}
	tok := login(t, base)
	resp, body := get(t, base+qualysPoliciesPath+"?pageSize=5", tok)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("policies: %d %s", resp.StatusCode, body)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := http.Get(base + qualysPoliciesPath); err == nil {
		t.Error("request after Close succeeded")
	}
}

func TestCloseWithoutStart(t *testing.T) {
	if err := New(Options{}).Close(); err != nil {
		t.Fatal(err)
	}
}

func TestDefaults(t *testing.T) {
	o := Defaults(Options{})
	if o.Username != "demo" || o.Password != "demo-pass-2026" || o.Policies != 60 || o.Exceptions != 1500 ||
		o.Seed != 1 || o.RateLimit != 2000 || o.RateWindow != time.Hour || o.MaxPageSize != 200 ||
		o.TokenTTL != 4*time.Hour || o.Now == nil || o.Logger == nil {
		t.Errorf("defaults: %+v", o)
	}
	o = Defaults(Options{Policies: 7, RateLimit: 5})
	if o.Policies != 7 || o.RateLimit != 5 {
		t.Errorf("explicit values overwritten: %+v", o)
	}
}

func TestNotFoundAndMethod(t *testing.T) {
	s, base, _ := newTestServer(t, Options{})
	tests := []struct {
		name, method, path string
		status             int
		allow              string
	}{
		{"unknown path", http.MethodGet, "/cloudview-api/rest/v2/nope", http.StatusNotFound, ""},
		{"trailing slash", http.MethodGet, qualysPoliciesPath + "/", http.StatusNotFound, ""},
		{"root", http.MethodGet, "/", http.StatusNotFound, ""},
		{"POST policies", http.MethodPost, qualysPoliciesPath, http.StatusMethodNotAllowed, "GET"},
		{"DELETE exceptions", http.MethodDelete, qualysExceptionsPath, http.StatusMethodNotAllowed, "GET"},
		{"GET auth", http.MethodGet, qualysAuthPath, http.StatusMethodNotAllowed, "POST"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, base+tt.path, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body := readAll(t, resp)
			checkError(t, resp, body, tt.status)
			if got := resp.Header.Get("Allow"); got != tt.allow {
				t.Errorf("Allow %q, want %q", got, tt.allow)
			}
			if tt.path != qualysAuthPath && resp.Header.Get("X-RateLimit-Limit") == "" {
				t.Error("no rate-limit headers")
			}
		})
	}
	st := s.Stats()
	if st.Requests[unknownPattern] != 3 || st.Status[404] != 3 || st.Status[405] != 3 {
		t.Errorf("stats %+v", st)
	}
}

func TestLatencyApplied(t *testing.T) {
	const d = 30 * time.Millisecond
	_, base, _ := newTestServer(t, Options{Latency: d})
	start := time.Now()
	login(t, base)
	if el := time.Since(start); el < d {
		t.Errorf("response after %s, want at least %s", el, d)
	}
}

func TestLatencyHonoursCancel(t *testing.T) {
	s := New(Options{Latency: time.Hour, Now: (&fakeClock{t: testNow}).Now})
	ctx, cancel := context.WithCancel(context.Background())
	req := httptest.NewRequestWithContext(ctx, http.MethodGet, qualysPoliciesPath, nil)
	rec := httptest.NewRecorder()
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Handler().ServeHTTP(rec, req)
	}()
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("handler still waiting out the latency after cancel")
	}
	if rec.Body.Len() != 0 || len(rec.Header()) != 0 {
		t.Errorf("canceled request got a response: %d %v %s", rec.Code, rec.Header(), rec.Body)
	}
	if st := s.Stats(); st.Canceled != 1 || st.Requests[qualysPoliciesPath] != 1 || len(st.Status) != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestLatencyCancelOverHTTP(t *testing.T) {
	s := New(Options{Latency: time.Hour})
	base, err := s.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Cancel as soon as the request is on the wire.
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { cancel() }})
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+qualysPoliciesPath, nil)
	done := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("client still waiting after cancel")
	}
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close blocked")
	}
}

func TestStats(t *testing.T) {
	s, base, _ := newTestServer(t, Options{ThrottleEvery: 3})
	tok := login(t, base)
	authenticate(t, base, url.Values{"username": {"demo"}, "password": {"nope"}, "token": {"true"}})
	for i := 0; i < 3; i++ {
		get(t, base+qualysPoliciesPath, tok)
	}
	get(t, base+qualysExceptionsPath, "")
	get(t, base+"/nope", tok)
	st := s.Stats()
	want := map[string]int{qualysAuthPath: 2, qualysPoliciesPath: 3, qualysExceptionsPath: 1, unknownPattern: 1}
	for k, v := range want {
		if st.Requests[k] != v {
			t.Errorf("Requests[%q] = %d, want %d", k, st.Requests[k], v)
		}
	}
	wantStatus := map[int]int{201: 1, 401: 2, 200: 2, 429: 1, 404: 1}
	for k, v := range wantStatus {
		if st.Status[k] != v {
			t.Errorf("Status[%d] = %d, want %d (all %v)", k, st.Status[k], v, st.Status)
		}
	}
	if st.Throttled != 1 || st.RateLimited != 0 || st.Tokens != 1 || st.Failed != 0 {
		t.Errorf("stats %+v", st)
	}
	// The snapshot is a copy.
	st.Requests[qualysAuthPath] = 99
	if s.Stats().Requests[qualysAuthPath] != 2 {
		t.Error("Stats shares its maps")
	}
}
