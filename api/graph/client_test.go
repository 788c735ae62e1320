package graph

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestNewValidation(t *testing.T) {
	ok := Config{TenantID: testTenant, ClientID: testClientID, ClientSecret: testSecret}
	with := func(f func(*Config)) Config { c := ok; f(&c); return c }
	tests := []struct {
		name    string
		cfg     Config
		wantErr string // substring; "" = valid
	}{
		{"ok", ok, ""},
		{"ok domain tenant", with(func(c *Config) { c.TenantID = "contoso.onmicrosoft.com" }), ""},
		{"ok custom domain tenant", with(func(c *Config) { c.TenantID = "corp.example.co.uk" }), ""},
		{"ok uppercase guid", with(func(c *Config) { c.ClientID = strings.ToUpper(testClientID) }), ""},
		{"ok usgov by name", with(func(c *Config) { c.Cloud = Cloud{Name: "usgov"} }), ""},
		{"ok loopback simulator", with(func(c *Config) {
			c.Cloud = Cloud{Name: "sim", LoginURL: "http://127.0.0.1:9/login", GraphURL: "http://localhost:9"}
		}), ""},
		{"ok v2", with(func(c *Config) { c.Token = TokenV2 }), ""},
		{"empty tenant", with(func(c *Config) { c.TenantID = "" }), "Config.TenantID is empty"},
		{"bad tenant", with(func(c *Config) { c.TenantID = "not a tenant" }), "Config.TenantID"},
		{"common tenant", with(func(c *Config) { c.TenantID = "common" }), "Config.TenantID"},
		{"short guid", with(func(c *Config) { c.TenantID = "ff4e2413-xxxx-xxxx-xxxx-1ea02d3d94eb" }), "Config.TenantID"},
		{"empty client", with(func(c *Config) { c.ClientID = "" }), "Config.ClientID is empty"},
		{"client not guid", with(func(c *Config) { c.ClientID = "my-app" }), "Config.ClientID"},
		{"client is domain", with(func(c *Config) { c.ClientID = "contoso.onmicrosoft.com" }), "Config.ClientID"},
		{"empty secret", with(func(c *Config) { c.ClientSecret = " " }), "Config.ClientSecret"},
		{"unknown cloud", with(func(c *Config) { c.Cloud = Cloud{Name: "mars"} }), "global, usgov, china"},
		{"http remote graph", with(func(c *Config) {
			c.Cloud = Cloud{LoginURL: Global.LoginURL, GraphURL: "http://graph.example.com"}
		}), "Config.Cloud.GraphURL"},
		{"no login", with(func(c *Config) { c.Cloud = Cloud{GraphURL: Global.GraphURL} }), "Config.Cloud.LoginURL is empty"},
		{"credentials in url", with(func(c *Config) {
			c.Cloud = Cloud{LoginURL: "https://u:hunter2@login.example.com", GraphURL: Global.GraphURL}
		}), "must not contain credentials"},
		{"query in url", with(func(c *Config) { c.Cloud = Cloud{LoginURL: Global.LoginURL, GraphURL: Global.GraphURL + "?x=1"} }), "query"},
		{"bad token kind", with(func(c *Config) { c.Token = 7 }), "Config.Token"},
		{"negative budget", with(func(c *Config) { c.Budget = -2 }), "Config.Budget"},
		{"negative retries", with(func(c *Config) { c.MaxRetries = -1 }), "Config.MaxRetries"},
		{"negative concurrency", with(func(c *Config) { c.Concurrency = -1 }), "Config.Concurrency"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.cfg)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				if cap(c.sem) != DefaultConcurrency || c.pace.budget != DefaultBudget || c.hc == nil || c.log == nil {
					t.Errorf("defaults not applied: sem %d budget %d", cap(c.sem), c.pace.budget)
				}
				return
			}
			if err == nil {
				t.Fatalf("New succeeded, want error containing %q", tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not contain %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), testSecret) || strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error repeats a secret: %q", err)
			}
		})
	}
}

func TestCloudByName(t *testing.T) {
	for _, tt := range []struct {
		name string
		want Cloud
	}{{"global", Global}, {"USGov", USGov}, {" china ", China}} {
		got, err := CloudByName(tt.name)
		if err != nil || got != tt.want {
			t.Errorf("CloudByName(%q) = %+v, %v", tt.name, got, err)
		}
	}
	_, err := CloudByName("germany")
	if err == nil || !strings.Contains(err.Error(), "global, usgov, china") {
		t.Errorf("CloudByName(germany) error = %v, want the list of clouds", err)
	}
}

func TestTokenRequests(t *testing.T) {
	tests := []struct {
		name      string
		kind      TokenEndpoint
		wantPath  string
		wantParam string // resource or scope
		wantValue func(graph string) string
		noParam   string
	}{
		{"v1 resource", TokenV1, "/login/" + testTenant + "/oauth2/token", "resource", func(g string) string { return g }, "scope"},
		{"v2 scope", TokenV2, "/login/" + testTenant + "/oauth2/v2.0/token", "scope", func(g string) string { return g + "/.default" }, "resource"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeEntra(t, nil)
			c, clk, _ := newTestClient(t, f, clientOpts{token: tt.kind})
			ctx := context.Background()
			tok, err := c.Token(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if tok2, _ := c.Token(ctx); tok2 != tok || f.tokenRequests() != 1 {
				t.Fatalf("second Token: not cached (%d requests)", f.tokenRequests())
			}
			f.mu.Lock()
			form, path := f.forms[0], f.paths[0]
			f.mu.Unlock()
			if path != tt.wantPath {
				t.Errorf("token path %q, want %q", path, tt.wantPath)
			}
			want := map[string]string{
				"grant_type":    "client_credentials",
				"client_id":     testClientID,
				"client_secret": testSecret,
				tt.wantParam:    tt.wantValue(f.srv.URL),
			}
			for k, v := range want {
				if got := form.Get(k); got != v {
					t.Errorf("form %s = %q, want %q", k, got, v)
				}
			}
			if form.Has(tt.noParam) {
				t.Errorf("form has %s: %v", tt.noParam, form)
			}
			// Refreshed before expiry: 3599 s lifetime, 5 min margin.
			clk.Advance(3599*time.Second - 5*time.Minute - time.Second)
			if _, err := c.Token(ctx); err != nil || f.tokenRequests() != 1 {
				t.Fatalf("token refreshed too early (%d requests, %v)", f.tokenRequests(), err)
			}
			clk.Advance(2 * time.Second)
			tok3, err := c.Token(ctx)
			if err != nil || f.tokenRequests() != 2 || tok3 == tok {
				t.Fatalf("token not refreshed before expiry (%d requests, %v)", f.tokenRequests(), err)
			}
			if s := c.Stats(); s.TokenRequests != 2 {
				t.Errorf("Stats.TokenRequests = %d, want 2", s.TokenRequests)
			}
		})
	}
}

func TestTokenErrors(t *testing.T) {
	aad := func(code, desc string, codes string) string {
		return `{"error":"` + code + `","error_description":"` + desc + `\r\nTrace ID: 0f4d7c1e-aaaa-bbbb-cccc-000000000000\r\nCorrelation ID: 11111111-2222-3333-4444-555555555555\r\nTimestamp: 2026-05-04 15:26:00Z","error_codes":` + codes + `,"timestamp":"2026-05-04 15:26:00Z","trace_id":"0f4d7c1e-aaaa-bbbb-cccc-000000000000","correlation_id":"11111111-2222-3333-4444-555555555555","error_uri":"https://login.microsoftonline.com/error?code=1"}`
	}
	tests := []struct {
		name        string
		status      int
		body        string
		wantCode    int
		wantMeaning string
	}{
		{"invalid secret", 401, aad("invalid_client", "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app 'e78a9c6a'.", "[7000215]"), 7000215, "not its Secret ID"},
		{"expired secret", 401, aad("invalid_client", "AADSTS7000222: The provided client secret keys for app 'e78a9c6a' are expired.", "[7000222]"), 7000222, "Key Rotation"},
		{"unknown client", 400, aad("unauthorized_client", "AADSTS700016: Application with identifier 'e78a9c6a' was not found in the directory 'Contoso'.", "[700016]"), 700016, "check Client Id"},
		{"unknown tenant", 400, aad("invalid_request", "AADSTS90002: Tenant 'ff4e2413' not found.", "[90002]"), 90002, "check Tenant"},
		{"code only in description", 400, `{"error":"invalid_request","error_description":"AADSTS90002: Tenant not found."}`, 90002, "check Tenant"},
		{"other code", 400, aad("invalid_request", "AADSTS50059: No tenant-identifying information found.", "[50059]"), 50059, "AADSTS50059: No tenant-identifying information found."},
		{"html", 400, `<html>proxy says no</html>`, 0, "proxy says no"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeEntra(t, nil)
			f.tokenSteps = []tokenStep{{status: tt.status, body: tt.body}}
			c, _, _ := newTestClient(t, f, clientOpts{})
			_, err := c.Token(context.Background())
			var te *TokenError
			if !errors.As(err, &te) {
				t.Fatalf("error %v (%T), want *TokenError", err, err)
			}
			if te.Code != tt.wantCode || te.Status != tt.status {
				t.Errorf("Code %d Status %d, want %d %d", te.Code, te.Status, tt.wantCode, tt.status)
			}
			if !strings.Contains(te.Meaning(), tt.wantMeaning) {
				t.Errorf("Meaning() = %q, want it to contain %q", te.Meaning(), tt.wantMeaning)
			}
			if strings.Contains(te.Description, "Trace ID") {
				t.Errorf("Description keeps the trace lines: %q", te.Description)
			}
			if !strings.Contains(err.Error(), tt.wantMeaning) {
				t.Errorf("Error() = %q, want the meaning", err)
			}
			if f.tokenRequests() != 1 {
				t.Errorf("%d token requests, want 1 (4xx is not retried)", f.tokenRequests())
			}
			checkNoSecrets(t, f, err)
			// A Graph call reports the same error.
			_, gerr := c.Get(context.Background(), "/v1.0/users")
			if !errors.As(gerr, &te) {
				t.Errorf("Get error %v, want *TokenError", gerr)
			}
		})
	}
}

func TestTokenEndpointRetry(t *testing.T) {
	f := newFakeEntra(t, nil)
	f.tokenSteps = []tokenStep{
		{status: 503, headers: map[string]string{"Retry-After": "2"}, body: `{"error":"temporarily_unavailable","error_description":"AADSTS50196: busy","error_codes":[50196]}`},
		{},
	}
	c, clk, _ := newTestClient(t, f, clientOpts{})
	if _, err := c.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	if f.tokenRequests() != 2 || !slices.Equal(clk.Waits(), []time.Duration{2 * time.Second}) {
		t.Errorf("%d token requests, waits %v; want 2 and [2s]", f.tokenRequests(), clk.Waits())
	}
}

func TestRoles(t *testing.T) {
	tests := []struct {
		name  string
		roles []string
	}{
		{"two", []string{"User.Read.All", "GroupMember.Read.All"}},
		{"none", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeEntra(t, nil)
			f.roles = tt.roles
			c, _, _ := newTestClient(t, f, clientOpts{})
			got, err := c.Roles(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			want := tt.roles
			if want == nil {
				want = []string{}
			}
			if got == nil || !slices.Equal(got, want) {
				t.Errorf("Roles() = %#v, want %#v", got, tt.roles)
			}
		})
	}
}

func TestDecodeClaims(t *testing.T) {
	tests := []struct {
		name    string
		tok     string
		roles   []string
		wantErr string
	}{
		{"roles", makeJWT(map[string]any{"roles": []string{"Device.Read.All"}, "exp": 1999999999}), []string{"Device.Read.All"}, ""},
		{"single role string", makeJWT(map[string]any{"roles": "Device.Read.All"}), []string{"Device.Read.All"}, ""},
		{"padded payload", "e30." + "eyJyb2xlcyI6WyJhIl19" + "==.sig", []string{"a"}, ""},
		{"no roles", makeJWT(map[string]any{"aud": "x"}), []string{}, ""},
		{"not a jwt", "opaque-token", nil, "not a JWT"},
		{"jwe", "a.b.c.d.e", nil, "encrypted"},
		{"bad base64", "a.!!!.c", nil, "base64url"},
		{"not json", "a." + "bm90IGpzb24" + ".c", nil, "JSON object"},
		{"roles not strings", makeJWT(map[string]any{"roles": []int{1}}), nil, "roles claim"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cl, err := decodeClaims(tt.tok)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), tt.tok) {
					t.Errorf("error repeats the token: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(cl.roles, tt.roles) {
				t.Errorf("roles %#v, want %#v", cl.roles, tt.roles)
			}
		})
	}
}

func TestUnauthorizedRefreshesAtMostTwice(t *testing.T) {
	tests := []struct {
		name        string
		rejectFirst int // how many tokens the API rejects
		wantErr     bool
		wantTokens  int
		wantCalls   int64
	}{
		{"stale token refreshed", 1, false, 2, 2},
		{"refused twice, then accepted", 2, false, 3, 3},
		{"still refused", 99, true, 3, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f *fakeEntra
			f = newFakeEntra(t, func(w http.ResponseWriter, r *http.Request) {
				toks := f.tokens()
				auth := r.Header.Get("Authorization")
				for i, tok := range toks {
					if auth == "Bearer "+tok && i >= tt.rejectFirst {
						writeJSON(w, 200, `{"value":[{"id":"1"}]}`)
						return
					}
				}
				writeJSON(w, 401, graphError("InvalidAuthenticationToken", "Access token has expired or is not yet valid."))
			})
			c, _, _ := newTestClient(t, f, clientOpts{})
			page, err := c.Get(context.Background(), "/v1.0/users")
			if tt.wantErr {
				var ge *Error
				if !errors.As(err, &ge) || ge.Status != 401 || ge.Code != "InvalidAuthenticationToken" {
					t.Fatalf("error %v, want *Error 401", err)
				}
				if !strings.Contains(ge.Hint(), "Client Secret") {
					t.Errorf("Hint() = %q", ge.Hint())
				}
				checkNoSecrets(t, f, err)
			} else if err != nil || len(page.Items) != 1 {
				t.Fatalf("Get: %v", err)
			}
			if n := f.tokenRequests(); n != tt.wantTokens {
				t.Errorf("%d token requests, want %d", n, tt.wantTokens)
			}
			if n := f.apiCalls.Load(); n != tt.wantCalls {
				t.Errorf("%d API calls, want %d", n, tt.wantCalls)
			}
		})
	}
}

func TestErrorHints(t *testing.T) {
	tests := []struct {
		name     string
		path     string
		status   int
		body     string
		wantCode string
		wantHint string
	}{
		{"403 request denied", "/v1.0/users?$select=id", 403, graphError("Authorization_RequestDenied", "Insufficient privileges to complete the operation."), "Authorization_RequestDenied", "User.Read.All (or Directory.Read.All): add it under API permissions (Application permissions) and click Grant admin consent"},
		{"403 devices", "/v1.0/devices", 403, graphError("Authorization_RequestDenied", "Insufficient privileges to complete the operation."), "Authorization_RequestDenied", "Device.Read.All"},
		{"404", "/v1.0/groups/0e226165-c685-41ce-8bfc-df8360ab325d/members", 404, graphError("Request_ResourceNotFound", "Resource '0e226165' does not exist."), "Request_ResourceNotFound", "deleted since it was listed"},
		{"400 query", "/v1.0/users?$filter=x", 400, graphError("Request_UnsupportedQuery", "Unsupported query."), "Request_UnsupportedQuery", "$filter"},
		{"html 400", "/v1.0/users", 400, "<html>bad</html>", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeEntra(t, func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, tt.status, tt.body)
			})
			c, _, _ := newTestClient(t, f, clientOpts{})
			_, err := c.Get(context.Background(), tt.path)
			var ge *Error
			if !errors.As(err, &ge) {
				t.Fatalf("error %v (%T), want *Error", err, err)
			}
			if ge.Status != tt.status || ge.Code != tt.wantCode || ge.Method != "GET" || !strings.HasPrefix(ge.URL, f.srv.URL+"/v1.0/") {
				t.Errorf("got %+v", ge)
			}
			if tt.wantCode != "" && ge.RequestID != "93b6f17e-c05d-4f45-ad2a-6665c708d8a0" {
				t.Errorf("RequestID %q", ge.RequestID)
			}
			if !strings.Contains(ge.Hint(), tt.wantHint) {
				t.Errorf("Hint() = %q, want %q", ge.Hint(), tt.wantHint)
			}
			if !strings.Contains(err.Error(), ge.Hint()) {
				t.Errorf("Error() %q lacks the hint", err)
			}
			if n := f.apiCalls.Load(); n != 1 {
				t.Errorf("%d API calls, want 1 (no retry)", n)
			}
			checkNoSecrets(t, f, err)
		})
	}
}

func TestThrottleRetries(t *testing.T) {
	date := func(clk *fakeClock, d time.Duration) string {
		return clk.Now().Add(d).UTC().Format(http.TimeFormat)
	}
	tests := []struct {
		name       string
		maxRetries int
		failures   int // answers before success (-1: never succeeds)
		status     int
		retryAfter func(clk *fakeClock) string // "" = none
		wantErr    bool
		wantCalls  int64
		wantWaits  []time.Duration // nil = do not check
		outer429   int64
	}{
		{"429 http date", 0, 1, 429, func(clk *fakeClock) string { return date(clk, 7*time.Second) }, false, 2, []time.Duration{7 * time.Second}, 1},
		{"429 seconds", 0, 2, 429, func(*fakeClock) string { return "3" }, false, 3, []time.Duration{3 * time.Second, 3 * time.Second}, 2},
		{"503 retry-after keeps going", 0, 10, 503, func(*fakeClock) string { return "1" }, false, 11, nil, 0},
		{"429 capped by MaxRetries", 3, -1, 429, func(*fakeClock) string { return "1" }, true, 3, nil, 3},
		{"503 without retry-after gives up after 6", 0, -1, 503, nil, true, 6, nil, 0},
		{"504 backoff then ok", 0, 2, 504, nil, false, 3, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newFakeClock()
			var n atomic.Int64
			f := newFakeEntra(t, func(w http.ResponseWriter, r *http.Request) {
				i := n.Add(1)
				if tt.failures < 0 || i <= int64(tt.failures) {
					var h []string
					if tt.retryAfter != nil {
						h = []string{"Retry-After", tt.retryAfter(clk)}
					}
					writeJSON(w, tt.status, graphError("TooManyRequests", "Too many requests."), h...)
					return
				}
				writeJSON(w, 200, `{"value":[]}`)
			})
			c, _, _ := newTestClient(t, f, clientOpts{maxRetries: tt.maxRetries, clock: clk})
			_, err := c.Get(context.Background(), "/v1.0/users")
			if tt.wantErr {
				var ge *Error
				if !errors.As(err, &ge) || ge.Status != tt.status {
					t.Fatalf("error %v, want *Error %d", err, tt.status)
				}
				if !strings.Contains(err.Error(), "attempts") {
					t.Errorf("error %q does not say how many attempts", err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if got := f.apiCalls.Load(); got != tt.wantCalls {
				t.Errorf("%d calls, want %d", got, tt.wantCalls)
			}
			waits := clk.Waits()
			if tt.wantWaits != nil && !slices.Equal(waits, tt.wantWaits) {
				t.Errorf("waits %v, want %v", waits, tt.wantWaits)
			}
			s := c.Stats()
			if s.Throttled429Outer != tt.outer429 || s.Retries != tt.wantCalls-1 {
				t.Errorf("stats %+v", s)
			}
			if s.RetryWait <= 0 {
				t.Errorf("RetryWait %v", s.RetryWait)
			}
		})
	}
}

// A Retry-After holds every request of the client, not just the one that
// got it.
func TestRetryAfterHoldsOthers(t *testing.T) {
	clk := newFakeClock()
	var first atomic.Bool
	var mu sync.Mutex
	var times []time.Time
	f := newFakeEntra(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1.0/users" && first.CompareAndSwap(false, true) {
			writeJSON(w, 429, graphError("TooManyRequests", "slow down"), "Retry-After", "30")
			return
		}
		mu.Lock()
		times = append(times, clk.Now())
		mu.Unlock()
		writeJSON(w, 200, `{"value":[]}`)
	})
	c, _, _ := newTestClient(t, f, clientOpts{clock: clk, concurrency: 1})
	start := clk.Now()
	if _, err := c.Get(context.Background(), "/v1.0/users"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(context.Background(), "/v1.0/groups"); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, tm := range times {
		if tm.Sub(start) < 30*time.Second {
			t.Errorf("a request went out %v after the 429, before its Retry-After of 30s", tm.Sub(start))
		}
	}
	if c.Stats().EffectiveBudget >= DefaultBudget {
		t.Errorf("budget not lowered after a 429: %d", c.Stats().EffectiveBudget)
	}
}

func TestNetworkErrorsRetried(t *testing.T) {
	var n atomic.Int64
	f := newFakeEntra(t, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) <= 2 {
			// Cut the connection mid-answer.
			hj, _ := w.(http.Hijacker)
			conn, _, err := hj.Hijack()
			if err == nil {
				conn.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"value\""))
				conn.Close()
			}
			return
		}
		writeJSON(w, 200, `{"value":[{"id":"a"}]}`)
	})
	c, _, _ := newTestClient(t, f, clientOpts{})
	page, err := c.Get(context.Background(), "/v1.0/users")
	if err != nil || len(page.Items) != 1 {
		t.Fatalf("Get: %v", err)
	}
	if n.Load() != 3 {
		t.Errorf("%d calls, want 3", n.Load())
	}
}

func TestContextCancelDuringWait(t *testing.T) {
	f := newFakeEntra(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 429, graphError("TooManyRequests", "x"), "Retry-After", "1")
	})
	c, _, _ := newTestClient(t, f, clientOpts{})
	ctx, cancel := context.WithCancel(context.Background())
	var calls atomic.Int64
	c.clk = &cancelAfter{fakeClock: newFakeClock(), n: &calls, after: 5, cancel: cancel}
	_, err := c.Get(ctx, "/v1.0/users")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
}

// cancelAfter cancels a context at its n-th sleep.
type cancelAfter struct {
	*fakeClock
	n      *atomic.Int64
	after  int64
	cancel context.CancelFunc
}

func (c *cancelAfter) SleepUntil(ctx context.Context, t time.Time, wake <-chan struct{}) error {
	if c.n.Add(1) >= c.after {
		c.cancel()
	}
	return c.fakeClock.SleepUntil(ctx, t, wake)
}
