package sync_test

import (
	"bufio"
	"context"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"qtc/api/sim"
	graphsim "qtc/api/sim/graph"
	"qtc/store"
	"qtc/store/vault"
	qsync "qtc/sync"
)

// newTestEngine is an engine over an empty store (closed when the test or
// benchmark ends).
func newTestEngine(t testing.TB) *qsync.Engine {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(filepath.Join(dir, "qtc.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	v, err := vault.Open(filepath.Join(dir, "key"))
	if err != nil {
		t.Fatal(err)
	}
	return &qsync.Engine{Store: st, Vault: v}
}

// serve starts h over plain HTTP, or over TLS with a certificate no system
// trusts (its PEM is returned for a --ca-bundle).
func serve(t *testing.T, h http.Handler, useTLS bool) (base, caPEM string) {
	t.Helper()
	if !useTLS {
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		return srv.URL, ""
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the unknown-CA cases' handshake errors
	srv.StartTLS()
	t.Cleanup(srv.Close)
	p := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return srv.URL, p
}

// closedPort is a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

// answer wraps h: requests whose path is path get status, headers and body.
func answer(h http.Handler, path string, status int, header map[string]string, body string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != path {
			h.ServeHTTP(w, r)
			return
		}
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	})
}

const graphDenied = `{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation.","innerError":{"request-id":"3f1c"}}}`

func qualysConn(gateway, password, bundle string) qsync.QualysConnector {
	d := sim.Defaults(sim.Options{})
	if password == "" {
		password = d.Password
	}
	return qsync.QualysConnector{Name: "q", GatewayURL: gateway, Username: d.Username, Password: password, CABundle: bundle}
}

func entraConn(kind, base, secret, scope, bundle string) qsync.EntraConnector {
	d := graphsim.Defaults(graphsim.Options{})
	if secret == "" {
		secret = d.ClientSecret
	}
	return qsync.EntraConnector{Kind: kind, Name: "e", TenantID: d.TenantID, ClientID: d.ClientID, ClientSecret: secret,
		LoginURL: base + graphsim.LoginPath, GraphURL: base + graphsim.GraphPath, Scope: scope, CABundle: bundle}
}

func qualysSim() http.Handler {
	return sim.New(sim.Options{Policies: 40, Exceptions: 30}).Handler()
}

func graphSim(opt graphsim.Options) http.Handler {
	if opt.Users == 0 {
		opt.Users, opt.Groups, opt.Devices, opt.Applications, opt.ServicePrincipals = 40, 6, 12, 5, 8
	}
	return graphsim.New(opt).Handler()
}

func TestConnectionSteps(t *testing.T) {
	noUsers := []string{"GroupMember.Read.All", "RoleManagement.Read.Directory", "AdministrativeUnit.Read.All", "Application.Read.All"}
	cases := []struct {
		name string
		// conn builds the connector to test (saved first unless unsaved).
		conn    func(t *testing.T) qsync.UnsavedConnector
		unsaved bool
		// failAt is the 1-based failing step; 0: every step passes.
		failAt int
		// want maps a 1-based step to substrings of its detail; fix to
		// substrings of the failed step's fix.
		want map[int][]string
		fix  []string
	}{
		{
			name: "qualys all pass over http",
			conn: func(t *testing.T) qsync.UnsavedConnector {
				base, _ := serve(t, qualysSim(), false)
				return qualysConn(base, "", "")
			},
			want: map[int][]string{1: {"reachable"}, 2: {"skipped: http:// endpoint (no TLS)"}, 3: {"token obtained"},
				4: {"TotalCloud", "1 of 40"}, 5: {"policies: 1 of 40", "exceptions: 1 of 30", "azure/ENTRA_ID_USER: 1 of", "aws/EC2_INSTANCE: 1 of"}},
		},
		{
			name: "qualys all pass over TLS with a CA bundle",
			conn: func(t *testing.T) qsync.UnsavedConnector {
				base, ca := serve(t, qualysSim(), true)
				return qualysConn(base, "", ca)
			},
			want: map[int][]string{2: {"TLS 1.3", "certificate O=Acme Co", "expires "}, 5: {"policies: 1 of 40"}},
		},
		{
			name:   "qualys unreachable port",
			conn:   func(t *testing.T) qsync.UnsavedConnector { return qualysConn(closedPort(t), "", "") },
			failAt: 1, want: map[int][]string{1: {"cannot connect to 127.0.0.1:", "connection refused"}},
			fix: []string{"allow outbound HTTPS to 127.0.0.1", "HTTPS_PROXY"},
		},
		{
			name: "qualys TLS with an unknown CA",
			conn: func(t *testing.T) qsync.UnsavedConnector {
				base, _ := serve(t, qualysSim(), true)
				return qualysConn(base, "", "")
			},
			failAt: 2, want: map[int][]string{2: {"certificate signed by unknown authority"}},
			fix: []string{"configure the CA bundle", "--ca-bundle FILE", "issued by O=Acme Co"},
		},
		{
			name: "qualys wrong password",
			conn: func(t *testing.T) qsync.UnsavedConnector {
				base, _ := serve(t, qualysSim(), false)
				return qualysConn(base, "not-the-password", "")
			},
			failAt: 3, want: map[int][]string{3: {"HTTP 401"}}, fix: []string{"check the username and password"},
		},
		{
			name: "qualys user without the TotalCloud permission",
			conn: func(t *testing.T) qsync.UnsavedConnector {
				base, _ := serve(t, answer(qualysSim(), "/cloudview-api/rest/v2/policies", http.StatusForbidden, nil,
					`{"errorCode":"FORBIDDEN","message":"User does not have the permission"}`), false)
				return qualysConn(base, "", "")
			},
			failAt: 4, want: map[int][]string{4: {"HTTP 403"}}, fix: []string{"TotalCloud (CloudView) API permission"},
		},
		{
			name: "qualys concurrency limit (409) on a data read",
			conn: func(t *testing.T) qsync.UnsavedConnector {
				base, _ := serve(t, answer(qualysSim(), "/cloudview-api/rest/v1/exceptions/list", http.StatusConflict,
					map[string]string{"X-RateLimit-ToWait-Sec": "30", "X-Concurrency-Limit-Limit": "2"},
					`{"errorCode":"CONCURRENCY_LIMIT_EXCEEDED","message":"Concurrency limit exceeded"}`), false)
				return qualysConn(base, "", "")
			},
			failAt: 5, want: map[int][]string{5: {"policies: 1 of 40", "exceptions: qualys: list exceptions failed: HTTP 409"}},
			fix: []string{"wait 30s", "X-RateLimit-ToWait-Sec"},
		},
		{
			name: "entra identities all pass over TLS with a CA bundle",
			conn: func(t *testing.T) qsync.UnsavedConnector {
				base, ca := serve(t, graphSim(graphsim.Options{}), true)
				return entraConn(qsync.KindEntra, base, "", "", ca)
			},
			want: map[int][]string{2: {"TLS 1.3", "O=Acme Co", "127.0.0.1"}, 3: {"access token obtained from https://127.0.0.1:", "/oauth2/token"},
				4: {"Identities Only (seed 003): users, groups, roles"},
				5: {"users: 1 of ≥2", "groups: 1 of ≥2", "roles: ", "directoryRoles: ", "administrativeUnits: 1 of", "appRoleAssignments: 1 of"}},
		},
		{
			name: "entra posture all pass, unsaved",
			conn: func(t *testing.T) qsync.UnsavedConnector {
				base, _ := serve(t, graphSim(graphsim.Options{}), false)
				return entraConn(qsync.KindEntra, base, "", "posture", "")
			},
			unsaved: true,
			want: map[int][]string{2: {"skipped: http:// endpoint (no TLS)"}, 4: {"Identities with Security Posture", "applications", "organization"},
				5: {"applications: 1 of ≥2", "servicePrincipals: 1 of ≥2", "organization: 1 of 1"}},
		},
		{
			name: "entra-devices all pass",
			conn: func(t *testing.T) qsync.UnsavedConnector {
				base, _ := serve(t, graphSim(graphsim.Options{}), false)
				return entraConn(qsync.KindEntraDevices, base, "", "", "")
			},
			want: map[int][]string{4: {"devices (seed 002): devices"}, 5: {"devices: 1 of ≥2"}},
		},
		{
			name: "entra unreachable port",
			conn: func(t *testing.T) qsync.UnsavedConnector {
				return entraConn(qsync.KindEntraDevices, closedPort(t), "", "", "")
			},
			failAt: 1, want: map[int][]string{1: {"connection refused"}},
			fix: []string{"allow outbound HTTPS to login.microsoftonline.com and graph.microsoft.com", "custom URLs: 127.0.0.1:"},
		},
		{
			name: "entra TLS with an unknown CA",
			conn: func(t *testing.T) qsync.UnsavedConnector {
				base, _ := serve(t, graphSim(graphsim.Options{}), true)
				return entraConn(qsync.KindEntra, base, "", "", "")
			},
			failAt: 2, want: map[int][]string{2: {"certificate signed by unknown authority"}}, fix: []string{"configure the CA bundle"},
		},
		{
			name: "entra wrong secret",
			conn: func(t *testing.T) qsync.UnsavedConnector {
				base, _ := serve(t, graphSim(graphsim.Options{}), false)
				return entraConn(qsync.KindEntra, base, "wrong-secret-value", "", "")
			},
			failAt: 3, want: map[int][]string{3: {"AADSTS7000215", "invalid client secret"}},
			fix: []string{"Tenant ID, Client ID and Client Secret", "generate a new one"},
		},
		{
			name: "entra expired secret",
			conn: func(t *testing.T) qsync.UnsavedConnector {
				base, _ := serve(t, graphSim(graphsim.Options{SecretExpired: true}), false)
				return entraConn(qsync.KindEntra, base, "", "", "")
			},
			failAt: 3, want: map[int][]string{3: {"AADSTS7000222"}}, fix: []string{"has expired", "Key Rotation"},
		},
		{
			name: "entra token without User.Read.All or Directory.Read.All",
			conn: func(t *testing.T) qsync.UnsavedConnector {
				base, _ := serve(t, graphSim(graphsim.Options{Roles: noUsers}), false)
				return entraConn(qsync.KindEntra, base, "", "", "")
			},
			failAt: 4, want: map[int][]string{4: {"missing application permission: User.Read.All (for users)", "GroupMember.Read.All"}},
			fix: []string{"add User.Read.All", "Grant admin consent"},
		},
		{
			name: "entra posture token without Directory.Read.All",
			conn: func(t *testing.T) qsync.UnsavedConnector {
				base, _ := serve(t, graphSim(graphsim.Options{Roles: []string{"User.Read.All", "GroupMember.Read.All", "RoleManagement.Read.Directory", "AdministrativeUnit.Read.All", "Application.Read.All"}}), false)
				return entraConn(qsync.KindEntra, base, "", "posture", "")
			},
			failAt: 4, want: map[int][]string{4: {"Directory.Read.All (for applications, servicePrincipals, organization, credentials)"}},
		},
		{
			name: "entra-devices token without Device.Read.All",
			conn: func(t *testing.T) qsync.UnsavedConnector {
				base, _ := serve(t, graphSim(graphsim.Options{Roles: []string{"User.Read.All"}}), false)
				return entraConn(qsync.KindEntraDevices, base, "", "", "")
			},
			failAt: 4, want: map[int][]string{4: {"Device.Read.All (for devices)", "roles: User.Read.All"}}, fix: []string{"add Device.Read.All"},
		},
		{
			name: "entra data endpoint answering 403",
			conn: func(t *testing.T) qsync.UnsavedConnector {
				base, _ := serve(t, answer(graphSim(graphsim.Options{}), graphsim.GraphPath+"/v1.0/groups", http.StatusForbidden, nil, graphDenied), false)
				return entraConn(qsync.KindEntra, base, "", "", "")
			},
			failAt: 5, want: map[int][]string{5: {"users: 1 of ≥2", "groups: graph: GET", "HTTP 403", "Authorization_RequestDenied"}},
			fix: []string{"grant GroupMember.Read.All or Directory.Read.All", "Grant admin consent"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEngine(t)
			ctx := context.Background()
			c := tc.conn(t)
			var seen [][]qsync.StepResult
			progress := func(s []qsync.StepResult) { seen = append(seen, s) }
			var res []qsync.StepResult
			var err error
			if tc.unsaved {
				res, err = e.TestConnectionFor(ctx, c, progress)
				if conns, _ := e.Store.Connectors(ctx); len(conns) != 0 {
					t.Fatalf("testing an unsaved connector stored %d connectors", len(conns))
				}
			} else {
				name := save(t, e, c)
				res, err = e.TestConnection(ctx, name, progress)
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(res) != 5 {
				t.Fatalf("%d steps", len(res))
			}
			for i, s := range res {
				step := i + 1
				t.Logf("%d %-31s %-7s %6s %s | fix: %s", step, s.Name, s.Status, s.Duration.Round(time.Millisecond), s.Detail, s.Fix)
				if s.Name != qsync.TestSteps[i] {
					t.Errorf("step %d is %q", step, s.Name)
				}
				want := qsync.StepPassed
				switch {
				case tc.failAt == step:
					want = qsync.StepFailed
				case tc.failAt != 0 && step > tc.failAt:
					want = qsync.StepSkipped
				case step == 2 && strings.Contains(s.Detail, "http:// endpoint (no TLS)"):
					want = qsync.StepSkipped
				}
				if s.Status != want {
					t.Errorf("step %d %s: %s (%s), want %s", step, s.Name, s.Status, s.Detail, want)
				}
				if want == qsync.StepSkipped && tc.failAt != 0 && step > tc.failAt && !strings.Contains(s.Detail, "failed") {
					t.Errorf("step %d skipped without saying why: %q", step, s.Detail)
				}
				for _, w := range tc.want[step] {
					if !strings.Contains(s.Detail, w) {
						t.Errorf("step %d detail %q lacks %q", step, s.Detail, w)
					}
				}
				if s.Status == qsync.StepFailed {
					if s.Fix == "" {
						t.Errorf("step %d failed without a fix", step)
					}
					for _, w := range tc.fix {
						if !strings.Contains(s.Fix, w) {
							t.Errorf("step %d fix %q lacks %q", step, s.Fix, w)
						}
					}
				}
				if s.Status == qsync.StepPassed && s.Duration <= 0 {
					t.Errorf("step %d passed in %v", step, s.Duration)
				}
				for _, secret := range []string{"demo-pass-2026", graphsim.DefaultClientSecret, "not-the-password", "wrong-secret-value"} {
					if strings.Contains(s.Detail+s.Fix, secret) {
						t.Errorf("step %d shows a secret: %q %q", step, s.Detail, s.Fix)
					}
				}
			}
			if got := qsync.Passed(res); got != (tc.failAt == 0) {
				t.Errorf("Passed = %v", got)
			}
			checkProgress(t, seen, res)
		})
	}
}

// save stores c and returns its name.
func save(t *testing.T, e *qsync.Engine, c qsync.UnsavedConnector) string {
	t.Helper()
	ctx := context.Background()
	switch c := c.(type) {
	case qsync.QualysConnector:
		if _, err := e.SaveQualys(ctx, c); err != nil {
			t.Fatal(err)
		}
		return c.Name
	case qsync.EntraConnector:
		if _, err := e.SaveEntra(ctx, c); err != nil {
			t.Fatal(err)
		}
		return c.Name
	}
	t.Fatalf("unknown connector %T", c)
	return ""
}

// checkProgress checks the reports: all pending first, then each step
// running before it ends, statuses only moving forward, the last report
// the result.
func checkProgress(t *testing.T, seen [][]qsync.StepResult, final []qsync.StepResult) {
	t.Helper()
	if len(seen) < 2 {
		t.Fatalf("%d progress reports", len(seen))
	}
	for _, s := range seen[0] {
		if s.Status != qsync.StepPending {
			t.Fatalf("first report: %s is %s", s.Name, s.Status)
		}
	}
	rank := map[string]int{qsync.StepPending: 0, qsync.StepRunning: 1, qsync.StepPassed: 2, qsync.StepFailed: 2, qsync.StepSkipped: 2}
	ran := map[int]bool{}
	for n := 1; n < len(seen); n++ {
		for i := range seen[n] {
			if rank[seen[n][i].Status] < rank[seen[n-1][i].Status] {
				t.Fatalf("report %d: step %d went from %s to %s", n, i+1, seen[n-1][i].Status, seen[n][i].Status)
			}
			if seen[n][i].Status == qsync.StepRunning {
				ran[i] = true
			}
		}
	}
	last := seen[len(seen)-1]
	for i := range final {
		if last[i] != final[i] {
			t.Fatalf("last report differs from the result at step %d: %+v vs %+v", i+1, last[i], final[i])
		}
		if final[i].Status == qsync.StepPassed && !ran[i] {
			t.Fatalf("step %d passed without being reported running", i+1)
		}
	}
}

func TestConnectionCancel(t *testing.T) {
	e := newTestEngine(t)
	// /auth never answers until the request is cancelled (the server
	// notices that once the body is read).
	base, _ := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}), false)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	res, err := e.TestConnectionFor(ctx, qualysConn(base, "", ""), func(s []qsync.StepResult) {
		if s[2].Status == qsync.StepRunning {
			go func() { time.Sleep(20 * time.Millisecond); cancel() }()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if res[2].Status != qsync.StepFailed || res[2].Detail != "cancelled" {
		t.Fatalf("step 3: %+v", res[2])
	}
	for _, s := range res[3:] {
		if s.Status != qsync.StepSkipped || !strings.Contains(s.Detail, "cancelled") {
			t.Fatalf("%s: %+v", s.Name, s)
		}
	}
	if qsync.Passed(res) {
		t.Fatal("a cancelled test passed")
	}
}

func TestConnectionUnknownConnector(t *testing.T) {
	e := newTestEngine(t)
	if _, err := e.TestConnection(context.Background(), "nope", nil); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("err = %v", err)
	}
}

func TestConnectionUnsavedIsValidated(t *testing.T) {
	e := newTestEngine(t)
	c := entraConn(qsync.KindEntra, "http://127.0.0.1:1", "", "", "")
	c.TenantID = "not a tenant"
	if _, err := e.TestConnectionFor(context.Background(), c, nil); err == nil || !strings.Contains(err.Error(), "--tenant-id") {
		t.Fatalf("err = %v", err)
	}
}

// connectProxy is an HTTP proxy that tunnels every CONNECT to target
// whatever host it names, as a corporate proxy would to the real host.
func connectProxy(t *testing.T, target string) (*url.URL, *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var n atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				req, err := http.ReadRequest(bufio.NewReader(c))
				if err != nil || req.Method != http.MethodConnect || !strings.HasPrefix(req.Host, "example.com:") {
					io.WriteString(c, "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
					return
				}
				n.Add(1)
				up, err := net.Dial("tcp", target)
				if err != nil {
					io.WriteString(c, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
					return
				}
				defer up.Close()
				io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n")
				go io.Copy(up, c)
				io.Copy(c, up)
			}()
		}
	}()
	return &url.URL{Scheme: "http", Host: ln.Addr().String()}, &n
}

// TestConnectionThroughProxy: with a proxy, step 1 reaches the proxy and
// opens a tunnel, step 2 shakes hands through it, and the clients of steps
// 3–5 use it too. The endpoint's host (example.com, the name the test
// certificate carries) is never resolved here: the proxy connects.
func TestConnectionThroughProxy(t *testing.T) {
	base, ca := serve(t, graphSim(graphsim.Options{}), true)
	target := strings.TrimPrefix(base, "https://")
	proxy, tunnels := connectProxy(t, target)
	e := newTestEngine(t)
	e.HTTPClient = &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(proxy)}}
	_, port, _ := net.SplitHostPort(target)
	c := entraConn(qsync.KindEntraDevices, "https://example.com:"+port, "", "", ca)
	res, err := e.TestConnectionFor(context.Background(), c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !qsync.Passed(res) {
		t.Fatalf("through the proxy: %+v", res)
	}
	if !strings.Contains(res[0].Detail, "example.com:"+port+" reachable through proxy "+proxy.Host) {
		t.Errorf("step 1: %q", res[0].Detail)
	}
	if !strings.Contains(res[1].Detail, "through proxy "+proxy.Host) || !strings.Contains(res[1].Detail, "TLS 1.3") {
		t.Errorf("step 2: %q", res[1].Detail)
	}
	if n := tunnels.Load(); n < 3 {
		t.Errorf("%d tunnels: the API requests did not use the proxy", n)
	}
}

// TestCABundleHonouredBySync: the connector's CA bundle is what lets the
// sync itself reach a server whose certificate no system trusts.
func TestCABundleHonouredBySync(t *testing.T) {
	base, ca := serve(t, graphSim(graphsim.Options{}), true)
	ctx := context.Background()
	for _, bundle := range []string{"", ca} {
		e := newTestEngine(t)
		if _, err := e.SaveEntra(ctx, entraConn(qsync.KindEntraDevices, base, "", "", bundle)); err != nil {
			t.Fatal(err)
		}
		_, err := e.Sync(ctx, "e", qsync.Options{})
		switch {
		case bundle == "" && (err == nil || !strings.Contains(err.Error(), "unknown authority")):
			t.Fatalf("without the bundle: err = %v", err)
		case bundle != "" && err != nil:
			t.Fatalf("with the bundle: %v", err)
		}
	}
}

func TestCheckCABundle(t *testing.T) {
	dir := t.TempDir()
	_, ca := serve(t, http.NotFoundHandler(), true)
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		name, path, want string
	}{
		{"none", "", ""},
		{"a certificate", ca, ""},
		{"missing file", filepath.Join(dir, "nope.pem"), "--ca-bundle " + filepath.Join(dir, "nope.pem") + ": no such file"},
		{"not PEM", write("junk.pem", "hello"), "holds no PEM certificate"},
		{"a key, no certificate", write("key.pem", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), "holds no PEM certificate"},
		{"a broken certificate", write("bad.pem", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), "does not parse"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := qsync.CheckCABundle(tc.path)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "--ca-bundle") {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
	// Validate names the flag for both connector kinds.
	bad := filepath.Join(dir, "nope.pem")
	q := qualysConn("https://gateway.qg1.apps.qualys.com", "", bad)
	if err := q.Validate(); err == nil || !strings.Contains(err.Error(), "--ca-bundle") {
		t.Fatalf("qualys: %v", err)
	}
	en := entraConn(qsync.KindEntra, "https://login.example.com", "", "", bad)
	if err := en.Validate(); err == nil || !strings.Contains(err.Error(), "--ca-bundle") {
		t.Fatalf("entra: %v", err)
	}
}

// TestConnectionForKeepsStoredSecret: an edit tests its changes with the
// stored secret when none is typed; a new connector must have one.
func TestConnectionForKeepsStoredSecret(t *testing.T) {
	base, _ := serve(t, graphSim(graphsim.Options{}), false)
	e := newTestEngine(t)
	ctx := context.Background()
	if _, err := e.SaveEntra(ctx, entraConn(qsync.KindEntra, base, "", "", "")); err != nil {
		t.Fatal(err)
	}
	edited := entraConn(qsync.KindEntra, base, "", "posture", "")
	edited.ClientSecret = ""
	res, err := e.TestConnectionFor(ctx, edited, nil)
	if err != nil || !qsync.Passed(res) || !strings.Contains(res[4].Detail, "organization: 1 of 1") {
		t.Fatalf("edited with the stored secret: %v %+v", err, res)
	}
	edited.Name = "brand-new"
	if _, err := e.TestConnectionFor(ctx, edited, nil); err == nil || !strings.Contains(err.Error(), "client secret is empty") {
		t.Fatalf("new connector without a secret: %v", err)
	}
	q := qualysConn(base, "", "")
	q.Name, q.Password = "e", ""
	if _, err := e.TestConnectionFor(ctx, q, nil); err == nil || !strings.Contains(err.Error(), "enter the password") {
		t.Fatalf("qualys over an entra connector's name: %v", err)
	}
}

// TestConnectionChecksTheAPIServer: with an API URL (seed 004), the
// credentials are checked against the API server too, the data fetch reads
// one host asset, and a 401 there gets seed 004's advice.
func TestConnectionChecksTheAPIServer(t *testing.T) {
	s := sim.New(sim.Options{Policies: 3, Exceptions: 3, Hosts: 5})
	good, _ := serve(t, s.Handler(), false)
	refusing, _ := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/qps/") {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		s.Handler().ServeHTTP(w, r)
	}), false)
	d := sim.Defaults(sim.Options{})
	for _, tc := range []struct {
		name, apiURL string
		wantPass     bool
		want         []string
	}{
		{"API server answers", good, true, []string{"basic authentication accepted by the API server", "hosts: 1 of"}},
		{"API server refuses", refusing, false, []string{"Read Asset permission"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eng := newTestEngine(t)
			steps, err := eng.TestConnectionFor(context.Background(), qsync.QualysConnector{Name: "q", GatewayURL: good, APIURL: tc.apiURL,
				Username: d.Username, Password: d.Password, Resources: "none"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if qsync.Passed(steps) != tc.wantPass {
				t.Fatalf("passed = %v: %+v", !tc.wantPass, steps)
			}
			var all strings.Builder
			for _, st := range steps {
				all.WriteString(st.Detail + " " + st.Fix + "\n")
			}
			for _, w := range tc.want {
				if !strings.Contains(all.String(), w) {
					t.Errorf("steps lack %q:\n%s", w, all.String())
				}
			}
		})
	}
}
