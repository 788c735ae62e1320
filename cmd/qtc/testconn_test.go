package main

import (
	"bufio"
	"encoding/json"
	"encoding/pem"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	graphsim "qtc/api/sim/graph"
)

// graphServer serves a Graph simulator (plain HTTP, or TLS with a
// certificate no system trusts) and returns its URL and the certificate's
// PEM file.
func graphServer(t *testing.T, opt graphsim.Options, useTLS bool) (string, string) {
	t.Helper()
	opt.Users, opt.Groups, opt.Devices, opt.Applications, opt.ServicePrincipals = 30, 5, 10, 4, 6
	h := graphsim.New(opt).Handler()
	if !useTLS {
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		return srv.URL, ""
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return srv.URL, ca
}

// addEntra registers an Entra ID connector on a Graph simulator at base.
func (s *sandbox) addEntra(kind, name, base, secret string, extra ...string) (string, int) {
	s.t.Helper()
	d := graphsim.Defaults(graphsim.Options{})
	if secret == "" {
		secret = d.ClientSecret
	}
	args := append([]string{"connector", "add", kind, name, "--tenant-id", d.TenantID, "--client-id", d.ClientID,
		"--login-url", base + graphsim.LoginPath, "--graph-url", base + graphsim.GraphPath}, extra...)
	_, stderr, code := s.run(s.env("QTC_CLIENT_SECRET="+secret), args...)
	return stderr, code
}

func TestConnectorTestCommand(t *testing.T) {
	s := newSandbox(t)
	gateway := s.startSim("--exceptions", "12", "--policies", "7")
	if _, stderr, code := s.run(s.env("QTC_PASSWORD=demo-pass-2026"), "connector", "add", "qualys", "q", "--gateway-url", gateway, "--username", "demo"); code != 0 {
		t.Fatalf("add qualys: exit %d: %s", code, stderr)
	}
	if _, stderr, code := s.run(s.env("QTC_PASSWORD=wrong-password-1"), "connector", "add", "qualys", "q-bad", "--gateway-url", gateway, "--username", "demo"); code != 0 {
		t.Fatalf("add qualys: exit %d: %s", code, stderr)
	}
	plain, _ := graphServer(t, graphsim.Options{}, false)
	tlsURL, ca := graphServer(t, graphsim.Options{}, true)
	noUsers, _ := graphServer(t, graphsim.Options{Roles: []string{"GroupMember.Read.All", "RoleManagement.Read.Directory", "AdministrativeUnit.Read.All", "Application.Read.All"}}, false)
	for _, a := range []struct {
		kind, name, base, secret string
		extra                    []string
	}{
		{"entra", "ident", plain, "", []string{"--scope", "posture"}},
		{"entra-devices", "dev", plain, "", nil},
		{"entra", "wrong-secret", plain, "not-the-secret-42", nil},
		{"entra", "no-users", noUsers, "", nil},
		{"entra-devices", "tls-unknown", tlsURL, "", nil},
		{"entra-devices", "tls-bundle", tlsURL, "", []string{"--ca-bundle", ca}},
	} {
		if stderr, code := s.addEntra(a.kind, a.name, a.base, a.secret, a.extra...); code != 0 {
			t.Fatalf("add %s: exit %d: %s", a.name, code, stderr)
		}
	}

	for _, tc := range []struct {
		name     string
		args     []string
		code     int
		out, err []string
	}{
		{"qualys all pass", []string{"q"}, 0, []string{
			"✓ 1 Network Reachability", strings.TrimPrefix(gateway, "http://") + " reachable",
			"- 2 TLS Handshake", "skipped: http:// endpoint (no TLS)",
			"✓ 3 Authentication Credential Check", "✓ 4 Authorization Scope Check", "✓ 5 Data Fetch", "policies: 1 of 7", "exceptions: 1 of 12"}, nil},
		{"qualys wrong password", []string{"q-bad"}, 1, []string{"✗ 3 Authentication Credential Check", "HTTP 401", "    fix: check the username and password",
			"- 4 Authorization Scope Check", "skipped: step 3 (Authentication Credential Check) failed", "- 5 Data Fetch"},
			[]string{"connection test of q-bad failed at step 3 (Authentication Credential Check)"}},
		{"entra posture all pass", []string{"ident"}, 0, []string{"✓ 4 Authorization Scope Check", "Identities with Security Posture", "✓ 5 Data Fetch", "users: 1 of ≥2", "organization: 1 of 1"}, nil},
		{"entra-devices all pass", []string{"dev"}, 0, []string{"✓ 5 Data Fetch", "devices: 1 of ≥2"}, nil},
		{"wrong secret", []string{"wrong-secret"}, 1, []string{"✗ 3 Authentication Credential Check", "AADSTS7000215", "invalid client secret",
			"    fix: verify that the Tenant ID, Client ID and Client Secret match"}, []string{"failed at step 3"}},
		{"missing role", []string{"no-users"}, 1, []string{"✗ 4 Authorization Scope Check", "missing application permission: User.Read.All (for users)",
			"    fix: in the Azure app registration", "Grant admin consent", "- 5 Data Fetch"}, []string{"failed at step 4"}},
		{"TLS with an unknown CA", []string{"tls-unknown"}, 1, []string{"✓ 1 Network Reachability", "✗ 2 TLS Handshake", "certificate signed by unknown authority",
			"    fix: ", "configure the CA bundle", "- 3 Authentication Credential Check"}, []string{"failed at step 2"}},
		{"TLS with the CA bundle", []string{"tls-bundle"}, 0, []string{"✓ 2 TLS Handshake", "TLS 1.3", "O=Acme Co", "✓ 5 Data Fetch"}, nil},
		{"unknown connector", []string{"nope"}, 1, nil, []string{"nope"}},
		{"no name", nil, 2, nil, []string{"missing connector NAME"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, stderr, code := s.run(s.env(), append([]string{"connector", "test"}, tc.args...)...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, out, stderr)
			}
			for _, w := range tc.out {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tc.err {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			if tc.out != nil {
				if n := strings.Count(out, "\n") - strings.Count(out, "\n    fix: "); n != 5 {
					t.Errorf("%d step lines, want 5:\n%s", n, out)
				}
			}
		})
	}

	t.Run("json", func(t *testing.T) {
		for _, tc := range []struct {
			name   string
			code   int
			passed bool
			status []string
		}{
			{"q", 0, true, []string{"passed", "skipped", "passed", "passed", "passed"}},
			{"wrong-secret", 1, false, []string{"passed", "skipped", "failed", "skipped", "skipped"}},
		} {
			out, stderr, code := s.run(s.env(), "connector", "test", tc.name, "--json")
			if code != tc.code {
				t.Fatalf("%s: exit %d: %s", tc.name, code, stderr)
			}
			var r struct {
				Connector string
				Passed    bool
				Steps     []struct {
					Step       int
					Name       string
					Status     string
					DurationMS *int64 `json:"durationMs"`
					Detail     string
					Fix        string
				}
			}
			if err := json.Unmarshal([]byte(out), &r); err != nil {
				t.Fatalf("%s: not JSON: %v\n%s", tc.name, err, out)
			}
			if r.Connector != tc.name || r.Passed != tc.passed || len(r.Steps) != 5 {
				t.Fatalf("%s: %+v", tc.name, r)
			}
			for i, st := range r.Steps {
				if st.Step != i+1 || st.Status != tc.status[i] || st.Name == "" || st.DurationMS == nil || st.Detail == "" {
					t.Errorf("%s: step %d: %+v", tc.name, i+1, st)
				}
				if (st.Status == "failed") != (st.Fix != "") {
					t.Errorf("%s: step %d: status %s with fix %q", tc.name, i+1, st.Status, st.Fix)
				}
			}
		}
	})
}

func TestCABundleFlag(t *testing.T) {
	s := newSandbox(t)
	junk := filepath.Join(s.dir, "junk.pem")
	if err := os.WriteFile(junk, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, ca := graphServer(t, graphsim.Options{}, true)
	for _, tc := range []struct {
		kind, bundle string
		code         int
		want         string
	}{
		{"entra", filepath.Join(s.dir, "missing.pem"), 2, "--ca-bundle " + filepath.Join(s.dir, "missing.pem") + ": no such file"},
		{"entra-devices", junk, 2, "--ca-bundle " + junk + " holds no PEM certificate"},
		{"qualys", junk, 2, "--ca-bundle " + junk + " holds no PEM certificate"},
		{"entra", ca, 0, ""},
		{"qualys", ca, 0, ""},
	} {
		var stderr string
		var code int
		if tc.kind == "qualys" {
			_, stderr, code = s.run(s.env("QTC_PASSWORD=pw"), "connector", "add", "qualys", "q", "--gateway-url", "https://gateway.example.com", "--username", "u", "--ca-bundle", tc.bundle)
		} else {
			stderr, code = s.addEntra(tc.kind, "e", "https://login.example.com", "", "--ca-bundle", tc.bundle)
		}
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("%s --ca-bundle %s: exit %d, stderr %q; want exit %d with %q", tc.kind, tc.bundle, code, stderr, tc.code, tc.want)
		}
	}
}

// TestConnectorTestThroughProxy: HTTPS_PROXY is honoured by every step. The
// endpoint is https://example.com:PORT (the name the test certificate
// carries); only the proxy knows it is the local simulator, so a direct
// connection could not pass.
func TestConnectorTestThroughProxy(t *testing.T) {
	s := newSandbox(t)
	base, ca := graphServer(t, graphsim.Options{}, true)
	target := strings.TrimPrefix(base, "https://")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
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
	_, port, _ := net.SplitHostPort(target)
	if stderr, code := s.addEntra("entra-devices", "p", "https://example.com:"+port, "", "--ca-bundle", ca); code != 0 {
		t.Fatalf("add: exit %d: %s", code, stderr)
	}
	proxy := "http://" + ln.Addr().String()
	out, stderr, code := s.run(s.env("HTTPS_PROXY="+proxy), "connector", "test", "p")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, stderr)
	}
	for _, w := range []string{"example.com:" + port + " reachable through proxy " + ln.Addr().String(), "through proxy " + ln.Addr().String() + ": TLS 1.3", "devices: 1 of ≥2"} {
		if !strings.Contains(out, w) {
			t.Errorf("stdout lacks %q:\n%s", w, out)
		}
	}
	// And the sync itself goes through the proxy with the CA bundle.
	if out, stderr, code := s.run(s.env("HTTPS_PROXY="+proxy), "sync", "p"); code != 0 {
		t.Fatalf("sync through the proxy: exit %d\n%s\n%s", code, out, stderr)
	}
}
