package sync

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	gosync "sync"
	"time"

	"qtc/api/graph"
	"qtc/api/qualys"
	"qtc/store"
)

// Test Connection (seeds 002 and 003): five checks, in order, that must all
// pass before a connector is worth saving or syncing. The same runner
// serves `qtc connector test`, the TUI's live screen and the set-up wizard.

// The five steps, in order, as the seeds name them.
const (
	StepReachability  = "Network Reachability"
	StepTLS           = "TLS Handshake"
	StepAuthenticate  = "Authentication Credential Check"
	StepAuthorization = "Authorization Scope Check"
	StepDataFetch     = "Data Fetch"
)

// TestSteps lists the step names in the order they run.
var TestSteps = []string{StepReachability, StepTLS, StepAuthenticate, StepAuthorization, StepDataFetch}

// Step statuses.
const (
	StepPending = "pending"
	StepRunning = "running"
	StepPassed  = "passed"
	StepFailed  = "failed"
	StepSkipped = "skipped"
)

// SettingCABundle is the path of a PEM file of CA certificates a connector
// trusts besides the system's (a TLS-inspecting proxy's root CA). The Test
// Connection and the sync clients both honour it.
const SettingCABundle = "caBundle"

// HTTP client timeouts of the sync clients when qtc builds their client
// (the API packages' own defaults otherwise).
const (
	qualysHTTPTimeout = 60 * time.Second
	graphHTTPTimeout  = 120 * time.Second
)

// stepTimeouts bound each step on its own.
var stepTimeouts = [5]time.Duration{10 * time.Second, 10 * time.Second, 30 * time.Second, 30 * time.Second, 60 * time.Second}

// StepResult is the state of one step of a connection test.
type StepResult struct {
	Name     string
	Status   string // StepPending, StepRunning, StepPassed, StepFailed, StepSkipped
	Duration time.Duration
	// Detail says what the step found (or why it failed or was skipped).
	Detail string
	// Fix says what to do about a failure, from the seeds' troubleshooting
	// tables.
	Fix string
}

// Passed reports whether a test succeeded: it finished and no step failed.
// A step skipped as not applicable (TLS on a plain http:// endpoint) does
// not fail it; steps skipped after a failure come with that failure.
func Passed(steps []StepResult) bool {
	if len(steps) == 0 {
		return false
	}
	for _, s := range steps {
		if s.Status != StepPassed && s.Status != StepSkipped {
			return false
		}
	}
	return true
}

// UnsavedConnector is a connector that is not stored yet, or stored with
// changes not saved: a QualysConnector or an EntraConnector (values or
// pointers), as SaveQualys and SaveEntra take them. An empty password or
// client secret means the one stored for a connector of that name and kind
// (editing without rotating the secret).
type UnsavedConnector interface {
	// transient builds the connector as it would be stored, its secret
	// sealed in memory only.
	transient(ctx context.Context, e *Engine) (store.Connector, error)
}

func (q QualysConnector) transient(ctx context.Context, e *Engine) (store.Connector, error) {
	keep := q.Password == ""
	if keep {
		q.Password = "stored" // only the other fields need checking
	}
	if err := q.Resolve(); err != nil {
		return store.Connector{}, err
	}
	if err := q.Validate(); err != nil {
		return store.Connector{}, err
	}
	conn := store.Connector{Name: q.Name, Kind: KindQualys, Settings: q.settings()}
	if keep {
		return e.storedSecret(ctx, conn, SealedPassword)
	}
	return e.sealTransient(conn, SealedPassword, q.Password)
}

func (c EntraConnector) transient(ctx context.Context, e *Engine) (store.Connector, error) {
	keep := c.ClientSecret == ""
	if keep {
		c.ClientSecret = "stored" // only the other fields need checking
	}
	if err := c.Validate(); err != nil {
		return store.Connector{}, err
	}
	conn := store.Connector{Name: c.Name, Kind: c.Kind, Settings: c.settings()}
	if keep {
		return e.storedSecret(ctx, conn, SealedClientSecret)
	}
	return e.sealTransient(conn, SealedClientSecret, c.ClientSecret)
}

// sealTransient seals secret into conn in memory, so an unsaved connector
// builds its clients exactly as a stored one does. Nothing is written.
func (e *Engine) sealTransient(conn store.Connector, field, secret string) (store.Connector, error) {
	if e.Vault == nil {
		return store.Connector{}, fmt.Errorf("connector %s: no secret vault configured", conn.Name)
	}
	sealed, err := e.Vault.Seal([]byte(secret), SecretAAD(conn.Name, field))
	if err != nil {
		return store.Connector{}, fmt.Errorf("connector %s: seal secret: %w", conn.Name, err)
	}
	conn.Sealed = map[string]string{field: sealed}
	return conn, nil
}

// storedSecret gives conn the sealed secret of the stored connector of the
// same name and kind.
func (e *Engine) storedSecret(ctx context.Context, conn store.Connector, field string) (store.Connector, error) {
	what := map[string]string{SealedPassword: "password", SealedClientSecret: "client secret"}[field]
	stored, err := e.Store.Connector(ctx, conn.Name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.Connector{}, fmt.Errorf("the %s is empty: enter it (connector %s is not saved yet)", what, conn.Name)
	case err != nil:
		return store.Connector{}, err
	case stored.Kind != conn.Kind:
		return store.Connector{}, fmt.Errorf("connector %s is a %s connector: enter the %s", conn.Name, stored.Kind, what)
	}
	sealed, ok := stored.Sealed[field]
	if !ok {
		return store.Connector{}, fmt.Errorf("connector %s has no %s stored: enter it", conn.Name, what)
	}
	conn.Sealed = map[string]string{field: sealed}
	return conn, nil
}

// TestConnection runs the five steps for the named stored connector,
// calling progress (if not nil) with the whole list after each change: the
// steps start pending, each turns running then passed or failed, and the
// steps after a failure are skipped. It returns the final list. The error
// is for a test that could not run (unknown connector, unreadable secret)
// or was cancelled through ctx; failed steps are in the list (see Passed).
func (e *Engine) TestConnection(ctx context.Context, name string, progress func([]StepResult)) ([]StepResult, error) {
	conn, err := e.Store.Connector(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("test %s: %w", name, err)
	}
	return e.testConnection(ctx, conn, progress)
}

// TestConnectionFor runs the five steps for a connector that is not saved
// (the set-up wizard tests before saving; Key Rotation tests the new
// secret; an edit tests its changes with the stored secret). It takes what
// SaveQualys or SaveEntra take, validates it the same way, and stores
// nothing.
func (e *Engine) TestConnectionFor(ctx context.Context, c UnsavedConnector, progress func([]StepResult)) ([]StepResult, error) {
	conn, err := c.transient(ctx, e)
	if err != nil {
		return nil, err
	}
	return e.testConnection(ctx, conn, progress)
}

func (e *Engine) testConnection(ctx context.Context, conn store.Connector, progress func([]StepResult)) ([]StepResult, error) {
	t, err := e.newTester(conn)
	if err != nil {
		return nil, fmt.Errorf("test %s: %w", conn.Name, err)
	}
	steps := []func(context.Context) outcome{t.reachability, t.handshake, t.authenticate, t.authorize, t.fetch}
	res := make([]StepResult, len(TestSteps))
	for i, n := range TestSteps {
		res[i] = StepResult{Name: n, Status: StepPending}
	}
	emit := func() {
		if progress != nil {
			progress(slices.Clone(res))
		}
	}
	emit()
	for i, run := range steps {
		if err := ctx.Err(); err != nil {
			skipFrom(res, i, "skipped: the test was cancelled")
			emit()
			return res, err
		}
		res[i].Status = StepRunning
		emit()
		start := time.Now()
		sctx, cancel := context.WithTimeout(ctx, stepTimeouts[i])
		out := run(sctx)
		timedOut := sctx.Err() == context.DeadlineExceeded
		cancel()
		res[i].Duration = time.Since(start)
		res[i].Detail, res[i].Fix = out.detail, out.fix
		switch {
		case ctx.Err() != nil:
			res[i].Status, res[i].Detail, res[i].Fix = StepFailed, "cancelled", ""
			skipFrom(res, i+1, "skipped: the test was cancelled")
			emit()
			return res, ctx.Err()
		case out.failed && timedOut:
			res[i].Status = StepFailed
			res[i].Detail = fmt.Sprintf("no answer within %s: %s", stepTimeouts[i], out.detail)
			if res[i].Fix == "" {
				res[i].Fix = t.networkFix
			}
		case out.failed:
			res[i].Status = StepFailed
		case out.skipped:
			res[i].Status = StepSkipped
		default:
			res[i].Status = StepPassed
		}
		if res[i].Status == StepFailed {
			skipFrom(res, i+1, fmt.Sprintf("skipped: step %d (%s) failed", i+1, res[i].Name))
			emit()
			return res, nil
		}
		emit()
	}
	return res, nil
}

func skipFrom(res []StepResult, i int, why string) {
	for ; i < len(res); i++ {
		res[i].Status, res[i].Detail, res[i].Fix = StepSkipped, why, ""
	}
}

// outcome is what one step found.
type outcome struct {
	detail, fix     string
	failed, skipped bool
}

func pass(format string, args ...any) outcome { return outcome{detail: fmt.Sprintf(format, args...)} }

// tester holds what the steps of one test share.
type tester struct {
	conn       store.Connector
	endpoints  []*url.URL // distinct scheme://host:port the clients talk to
	roots      *x509.CertPool
	proxy      func(*http.Request) (*url.URL, error)
	networkFix string

	qc  *qualys.Client
	api *qualys.APIClient // the classic API server (seed 004), when configured
	gc  *graph.Client

	policies *qualys.SpringPage[qualys.Policy] // from the scope check, reused by the data fetch
}

// Test-specific client limits: a test reports a rate limit or an outage
// with its advice instead of waiting it out.
const (
	testMaxAttempts = 2
	testMaxWait     = time.Nanosecond
)

func (e *Engine) newTester(conn store.Connector) (*tester, error) {
	t := &tester{conn: conn}
	roots, err := caPool(conn.Settings[SettingCABundle])
	if err != nil {
		return nil, err
	}
	t.roots = roots
	t.proxy = http.ProxyFromEnvironment
	if hc := e.HTTPClient; hc != nil {
		if tr, ok := hc.Transport.(*http.Transport); ok {
			t.proxy = tr.Proxy
		}
	}
	var raw []string
	switch conn.Kind {
	case KindQualys:
		cfg, err := e.qualysConfig(conn)
		if err != nil {
			return nil, err
		}
		cfg.MaxAttempts, cfg.MaxWait = testMaxAttempts, testMaxWait
		if t.qc, err = qualys.New(cfg); err != nil {
			return nil, err
		}
		raw = []string{cfg.GatewayURL}
		hosts := hostOf(cfg.GatewayURL)
		if apiURL := strings.TrimSpace(conn.Settings[SettingAPIURL]); apiURL != "" {
			if t.api, err = qualys.NewAPIClient(qualys.APIConfig{APIServerURL: apiURL, Username: cfg.Username, Password: cfg.Password,
				HTTPClient: cfg.HTTPClient, Logger: cfg.Logger, Trace: cfg.Trace, MaxAttempts: testMaxAttempts, MaxWait: testMaxWait}); err != nil {
				return nil, err
			}
			raw = append(raw, apiURL)
			if h := hostOf(apiURL); h != hosts {
				hosts += " and " + h
			}
		}
		t.networkFix = fmt.Sprintf("check the gateway URL (or platform) and allow outbound HTTPS to %s; behind a proxy, set HTTPS_PROXY", hosts)
	case KindEntra, KindEntraDevices:
		cfg, err := e.graphConfig(conn)
		if err != nil {
			return nil, err
		}
		cfg.MaxRetries = testMaxAttempts
		if t.gc, err = graph.New(cfg); err != nil {
			return nil, err
		}
		cl := t.gc.Cloud()
		raw = []string{cl.LoginURL, cl.GraphURL}
		hosts := "login.microsoftonline.com and graph.microsoft.com"
		switch {
		case conn.Settings[SettingLoginURL] != "":
			custom := hostOfURL(cl.LoginURL)
			if g := hostOfURL(cl.GraphURL); g != custom {
				custom += " and " + g
			}
			hosts += " (here the connector's custom URLs: " + custom + ")"
		case cl.Name != graph.Global.Name:
			hosts = hostOf(cl.LoginURL) + " and " + hostOf(cl.GraphURL) + " (the " + cl.Name + " cloud)"
		}
		t.networkFix = "allow outbound HTTPS to " + hosts + " through any firewall or proxy (behind a proxy, set HTTPS_PROXY); check that the Tenant ID is right and that no Conditional Access policy blocks the app"
	default:
		return nil, fmt.Errorf("connector kind %q is not supported by this build", conn.Kind)
	}
	seen := map[string]bool{}
	for _, r := range raw {
		u, err := url.Parse(r)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("endpoint %q is not a URL with a host", r)
		}
		key := u.Scheme + "://" + hostPort(u)
		if !seen[key] {
			seen[key] = true
			t.endpoints = append(t.endpoints, u)
		}
	}
	return t, nil
}

func hostOf(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.Host != "" {
		return u.Hostname()
	}
	return raw
}

// hostOfURL is the host:port of a URL.
func hostOfURL(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.Host != "" {
		return hostPort(u)
	}
	return raw
}

// hostPort is u's host:port, with the scheme's default port.
func hostPort(u *url.URL) string {
	if p := u.Port(); p != "" {
		return net.JoinHostPort(u.Hostname(), p)
	}
	port := "443"
	switch u.Scheme {
	case "http":
		port = "80"
	case "socks5", "socks5h":
		port = "1080"
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// proxyOf is the proxy the clients use for u (HTTPS_PROXY / HTTP_PROXY /
// NO_PROXY), or nil.
func (t *tester) proxyOf(u *url.URL) (*url.URL, error) {
	if t.proxy == nil {
		return nil, nil
	}
	return t.proxy(&http.Request{Method: http.MethodGet, URL: u, Header: http.Header{}})
}

// Step 1: DNS resolves and a TCP connection opens to every endpoint (or,
// behind a proxy, the proxy is reachable and opens a tunnel to it).
func (t *tester) reachability(ctx context.Context) outcome {
	var found []string
	for _, u := range t.endpoints {
		addr := hostPort(u)
		proxy, err := t.proxyOf(u)
		if err != nil {
			return outcome{failed: true, detail: fmt.Sprintf("proxy setting for %s: %v", addr, err), fix: "correct HTTPS_PROXY / HTTP_PROXY (e.g. http://proxy.example.com:3128)"}
		}
		if proxy != nil {
			c, err := t.viaProxy(ctx, proxy, addr, u.Scheme == "https")
			if err != nil {
				return outcome{failed: true, detail: err.Error(), fix: t.proxyFix(proxy)}
			}
			c.Close()
			if u.Scheme == "https" {
				found = append(found, fmt.Sprintf("%s reachable through proxy %s (CONNECT tunnel opened)", addr, proxy.Host))
			} else {
				found = append(found, fmt.Sprintf("proxy %s reachable (it forwards http:// requests to %s)", proxy.Host, addr))
			}
			continue
		}
		host := u.Hostname()
		var ips []string
		if net.ParseIP(host) == nil {
			ips, err = net.DefaultResolver.LookupHost(ctx, host)
			if err != nil {
				return outcome{failed: true, detail: fmt.Sprintf("%s does not resolve: %v", host, err), fix: "check the URL and your DNS; " + t.networkFix}
			}
		}
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return outcome{failed: true, detail: fmt.Sprintf("cannot connect to %s: %v", addr, unwrapOp(err)), fix: t.networkFix}
		}
		remote := c.RemoteAddr().String()
		c.Close()
		switch {
		case len(ips) > 0:
			found = append(found, fmt.Sprintf("%s reachable (%s)", addr, remote))
		default:
			found = append(found, addr+" reachable")
		}
	}
	return pass("%s", strings.Join(found, "; "))
}

// unwrapOp drops the net.OpError's "dial tcp" prefix noise but keeps the
// cause ("connection refused").
func unwrapOp(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err
	}
	return err
}

func (t *tester) proxyFix(proxy *url.URL) string {
	return fmt.Sprintf("check the proxy %s (HTTPS_PROXY): that it is reachable, accepts CONNECT to the endpoint and, if it needs credentials, that they are in the proxy URL; or set NO_PROXY for hosts reached directly", proxy.Host)
}

// viaProxy connects to the proxy and, for an https endpoint, opens a
// CONNECT tunnel to addr through it.
func (t *tester) viaProxy(ctx context.Context, proxy *url.URL, addr string, tunnel bool) (net.Conn, error) {
	paddr := hostPort(proxy)
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", paddr)
	if err != nil {
		return nil, fmt.Errorf("cannot connect to the proxy %s: %v", paddr, unwrapOp(err))
	}
	if !tunnel || (proxy.Scheme != "http" && proxy.Scheme != "https") {
		return c, nil
	}
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Now()) })
	defer stop()
	if proxy.Scheme == "https" {
		tc := tls.Client(c, &tls.Config{ServerName: proxy.Hostname(), RootCAs: t.roots, MinVersion: tls.VersionTLS12})
		if err := tc.HandshakeContext(ctx); err != nil {
			c.Close()
			return nil, fmt.Errorf("TLS to the proxy %s: %v", paddr, err)
		}
		c = tc
	}
	req := &http.Request{Method: http.MethodConnect, URL: &url.URL{Opaque: addr}, Host: addr, Header: http.Header{}}
	if u := proxy.User; u != nil {
		pw, _ := u.Password()
		req.Header.Set("Proxy-Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(u.Username()+":"+pw)))
	}
	if err := req.Write(c); err != nil {
		c.Close()
		return nil, fmt.Errorf("CONNECT %s through the proxy %s: %v", addr, paddr, err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		c.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("CONNECT %s through the proxy %s: %v", addr, paddr, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		c.Close()
		return nil, fmt.Errorf("the proxy %s answered %s to CONNECT %s", paddr, resp.Status, addr)
	}
	if br.Buffered() > 0 {
		c.Close()
		return nil, fmt.Errorf("the proxy %s sent data before the tunnel to %s was used", paddr, addr)
	}
	return c, nil
}

// Step 2: a verified TLS handshake with every https endpoint (through the
// proxy's tunnel when there is one), with the roots the clients use.
func (t *tester) handshake(ctx context.Context) outcome {
	var found, plain []string
	for _, u := range t.endpoints {
		addr := hostPort(u)
		if u.Scheme != "https" {
			plain = append(plain, addr)
			continue
		}
		proxy, err := t.proxyOf(u)
		if err != nil {
			return outcome{failed: true, detail: err.Error(), fix: "correct HTTPS_PROXY"}
		}
		var raw net.Conn
		via := ""
		switch {
		case proxy != nil && (proxy.Scheme == "http" || proxy.Scheme == "https"):
			raw, err = t.viaProxy(ctx, proxy, addr, true)
			if err != nil {
				return outcome{failed: true, detail: err.Error(), fix: t.proxyFix(proxy)}
			}
			via = " through proxy " + proxy.Host
		case proxy != nil:
			found = append(found, fmt.Sprintf("%s: not checked here (%s proxy); the requests of steps 3–5 verify it", addr, proxy.Scheme))
			continue
		default:
			var d net.Dialer
			raw, err = d.DialContext(ctx, "tcp", addr)
			if err != nil {
				return outcome{failed: true, detail: fmt.Sprintf("cannot connect to %s: %v", addr, unwrapOp(err)), fix: t.networkFix}
			}
		}
		tc := tls.Client(raw, &tls.Config{ServerName: u.Hostname(), RootCAs: t.roots, MinVersion: tls.VersionTLS12})
		err = tc.HandshakeContext(ctx)
		if err != nil {
			raw.Close()
			return outcome{failed: true, detail: fmt.Sprintf("%s%s: %v", addr, via, err), fix: t.tlsFix(err)}
		}
		st := tc.ConnectionState()
		tc.Close()
		leaf := st.PeerCertificates[0]
		found = append(found, fmt.Sprintf("%s%s: %s, certificate %s, expires %s", addr, via,
			tls.VersionName(st.Version), certName(leaf), leaf.NotAfter.UTC().Format("2006-01-02")))
	}
	if len(found) == 0 {
		return outcome{skipped: true, detail: "skipped: http:// endpoint (no TLS)"}
	}
	if len(plain) > 0 {
		found = append(found, strings.Join(plain, ", ")+": http:// endpoint (no TLS)")
	}
	return pass("%s", strings.Join(found, "; "))
}

// certName is a certificate's subject, and its names when the subject has
// no common name.
func certName(c *x509.Certificate) string {
	s := c.Subject.String()
	if c.Subject.CommonName == "" {
		names := append([]string(nil), c.DNSNames...)
		for _, ip := range c.IPAddresses {
			names = append(names, ip.String())
		}
		if len(names) > 0 {
			s += " (" + strings.Join(names, ", ") + ")"
		}
	}
	return s
}

func (t *tester) tlsFix(err error) string {
	var unknown x509.UnknownAuthorityError
	var host x509.HostnameError
	var invalid x509.CertificateInvalidError
	var verify *tls.CertificateVerificationError
	bundle := t.conn.Settings[SettingCABundle]
	switch {
	case errors.As(err, &unknown):
		issuer := ""
		if unknown.Cert != nil {
			issuer = " (it was issued by " + unknown.Cert.Issuer.String() + ")"
		}
		if bundle != "" {
			return "the server's certificate is not signed by a CA this machine or the configured CA bundle " + bundle + " trusts" + issuer +
				": add the issuing root CA (PEM) to that file, or configure the CA bundle that holds it with --ca-bundle FILE"
		}
		return "the server's certificate is not signed by a CA this machine trusts" + issuer +
			": if a proxy or firewall inspects TLS, configure the CA bundle: add the connector again with --ca-bundle FILE (its root CA in PEM)"
	case errors.As(err, &host):
		return "the certificate is not valid for this host name: check the URL (use the host name the certificate names)"
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		return "the server's certificate has expired or is not yet valid: check this machine's clock; otherwise the server (or an inspecting proxy) must renew it"
	case errors.As(err, &verify):
		return "the certificate does not verify: if a proxy inspects TLS, configure the CA bundle (--ca-bundle FILE)"
	}
	return "the TLS handshake failed: check that the URL is an HTTPS endpoint and that no proxy or firewall interferes; " + t.networkFix
}

// Step 3: a token is obtained (Qualys: POST /auth; Entra: the
// client-credentials grant).
func (t *tester) authenticate(ctx context.Context) outcome {
	if t.qc != nil {
		if err := t.qc.Authenticate(ctx); err != nil {
			return t.qualysFailure(err)
		}
		o := pass("POST %s/auth: token obtained for user %s", strings.TrimRight(t.conn.Settings[SettingGatewayURL], "/"), t.conn.Settings[SettingUsername])
		if t.api != nil {
			// Seed 004: basic authentication to the API server, checked
			// with the smallest host asset search.
			if _, err := t.hostProbe(ctx); err != nil {
				return t.apiServerFailure(err)
			}
			o.detail += "; basic authentication accepted by the API server"
		}
		return o
	}
	if _, err := t.gc.Token(ctx); err != nil {
		return t.graphFailure(err, "")
	}
	return pass("access token obtained from %s", t.gc.TokenURL())
}

// Step 4: the credentials may read what the connector syncs. Entra: the
// token's roles claim against the permissions the seeds name per entity;
// Qualys: a call that needs the TotalCloud permission.
func (t *tester) authorize(ctx context.Context) outcome {
	if t.qc != nil {
		p, err := t.qc.Policies(ctx, 0, 1)
		if err != nil {
			return t.qualysFailure(err)
		}
		t.policies = p
		return pass("TotalCloud API access: the policy list answered (%s)", springCount(p.TotalElements, len(p.Items), p.Last || p.Empty))
	}
	roles, err := t.gc.Roles(ctx)
	if err != nil {
		return t.graphFailure(err, "")
	}
	return checkRoles(t.conn, roles)
}

// Permission names Microsoft documents as covering another (the higher
// privileged ones that include it). A requirement is met by any.
var permAlternatives = map[string][]string{
	"User.Read.All":                 {"User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"},
	"GroupMember.Read.All":          {"GroupMember.ReadWrite.All", "Group.Read.All", "Group.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"},
	"Directory.Read.All":            {"Directory.ReadWrite.All"},
	"RoleManagement.Read.Directory": {"RoleManagement.Read.All", "RoleManagement.ReadWrite.Directory", "Directory.Read.All", "Directory.ReadWrite.All"},
	"AdministrativeUnit.Read.All":   {"AdministrativeUnit.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"},
	"Application.Read.All":          {"Application.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"},
	"Device.Read.All":               {"Device.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"},
	"Policy.Read.All":               {"Policy.ReadWrite.ConditionalAccess"},
	"RoleEligibilitySchedule.Read.Directory": {"RoleEligibilitySchedule.ReadWrite.Directory", "RoleManagement.Read.Directory",
		"RoleManagement.Read.All", "RoleManagement.ReadWrite.Directory"},
}

// seedOnly are permissions seed 003 lists that nothing qtc reads needs:
// reported when missing, but they do not fail the check. (User.Read, also
// listed, is a delegated permission an app-only token never carries.)
var seedOnly = []struct{ perm, entity string }{
	{"RoleEligibilitySchedule.Read.Directory", "Roles"},
	{"Policy.Read.All", "Tenant"},
}

// satisfied reports whether a requirement such as "GroupMember.Read.All or
// Directory.Read.All" is met by the granted roles.
func satisfied(req string, granted map[string]bool) bool {
	for _, p := range strings.Split(req, " or ") {
		p = strings.TrimSpace(p)
		if granted[strings.ToLower(p)] {
			return true
		}
		for _, alt := range permAlternatives[p] {
			if granted[strings.ToLower(alt)] {
				return true
			}
		}
	}
	return false
}

// entraScope lists the streams an Entra ID connector pulls.
func entraScope(conn store.Connector) []entraStream {
	if conn.Kind == KindEntraDevices {
		return deviceStreams
	}
	specs := slices.Clone(identityStreams)
	if conn.Settings[SettingScope] == "posture" {
		specs = append(specs, postureStreams...)
	}
	return specs
}

func scopeName(conn store.Connector) string {
	switch {
	case conn.Kind == KindEntraDevices:
		return "devices (seed 002)"
	case conn.Settings[SettingScope] == "posture":
		return "Identities with Security Posture (seed 003)"
	}
	return "Identities Only (seed 003)"
}

// checkRoles compares the token's roles with what each stream in scope
// needs and names each missing permission with the entities needing it.
func checkRoles(conn store.Connector, roles []string) outcome {
	granted := map[string]bool{}
	for _, r := range roles {
		granted[strings.ToLower(r)] = true
	}
	var order []string
	needs := map[string][]string{}
	var types []string
	for _, sp := range entraScope(conn) {
		types = append(types, sp.typ)
		if satisfied(sp.perm, granted) {
			continue
		}
		if _, ok := needs[sp.perm]; !ok {
			order = append(order, sp.perm)
		}
		needs[sp.perm] = append(needs[sp.perm], sp.typ)
	}
	shown := "none"
	if len(roles) > 0 {
		shown = strings.Join(roles, ", ")
	}
	if len(order) > 0 {
		var missing []string
		for _, p := range order {
			missing = append(missing, fmt.Sprintf("%s (for %s)", p, strings.Join(needs[p], ", ")))
		}
		perms := strings.Join(order, "; ")
		return outcome{failed: true,
			detail: fmt.Sprintf("missing application permission: %s — the token's roles: %s", strings.Join(missing, "; "), shown),
			fix:    fmt.Sprintf("in the Azure app registration, API permissions → Add a permission → Microsoft Graph → Application permissions: add %s, then click Grant admin consent (a green check must show); test again", perms)}
	}
	d := fmt.Sprintf("the token's roles cover %s: %s", scopeName(conn), strings.Join(types, ", "))
	if conn.Kind == KindEntra {
		var notes []string
		for _, s := range seedOnly {
			if !satisfied(s.perm, granted) {
				notes = append(notes, fmt.Sprintf("%s (seed 003 lists it for %s) is not granted; nothing qtc reads needs it", s.perm, s.entity))
			}
		}
		if len(notes) > 0 {
			d += "; note: " + strings.Join(notes, "; ")
		}
	}
	return pass("%s", d)
}

// probeURLs are the one-record reads of the data fetch, per stream. Graph
// documents $top on these collections; directoryRoles, roleDefinitions and
// organization are small and unpaged, so they are read with $select only.
var probeURLs = map[string]string{
	"users":               "/v1.0/users?$top=1&$select=id",
	"groups":              "/v1.0/groups?$top=1&$select=id",
	"roles":               "/v1.0/roleManagement/directory/roleDefinitions?$select=id",
	"directoryRoles":      "/v1.0/directoryRoles?$select=id",
	"administrativeUnits": "/v1.0/directory/administrativeUnits?$top=1&$select=id",
	"appRoleAssignments":  "", // the first service principal's appRoleAssignedTo, see fetchGraph
	"applications":        "/v1.0/applications?$top=1&$select=id",
	"servicePrincipals":   "/v1.0/servicePrincipals?$top=1&$select=id",
	"organization":        "/v1.0/organization?$select=id",
	"devices":             "/v1.0/devices?$top=1&$select=id",
}

// Step 5: one small read per entity type in scope.
func (t *tester) fetch(ctx context.Context) outcome {
	if t.qc != nil {
		return t.fetchQualys(ctx)
	}
	return t.fetchGraph(ctx)
}

type probe struct {
	name, got string
	err       error
	perm      string
}

func (t *tester) fetchGraph(ctx context.Context) outcome {
	var specs []entraStream
	for _, sp := range entraScope(t.conn) {
		if sp.first != "" { // derived streams (credentials) read nothing
			specs = append(specs, sp)
		}
	}
	probes := make([]probe, len(specs))
	var wg gosync.WaitGroup
	for i, sp := range specs {
		wg.Go(func() {
			got, err := t.graphProbe(ctx, sp)
			probes[i] = probe{name: sp.typ, got: got, err: err, perm: sp.perm}
		})
	}
	wg.Wait()
	return t.summarise(probes, func(p probe) outcome { return t.graphFailure(p.err, p.perm) })
}

func (t *tester) graphProbe(ctx context.Context, sp entraStream) (string, error) {
	u, known := probeURLs[sp.typ]
	if !known {
		u = sp.first
	}
	if sp.typ == "appRoleAssignments" {
		p, err := t.gc.Get(ctx, "/v1.0/servicePrincipals?$top=1&$select=id")
		if err != nil {
			return "", err
		}
		id, err := firstID(ctx, t.gc, p)
		if err != nil || id == "" {
			return "0 (no service principals to read assignments of)", err
		}
		u = "/v1.0/servicePrincipals/" + url.PathEscape(id) + "/appRoleAssignedTo?$top=1"
	}
	p, err := t.gc.Get(ctx, u)
	if err != nil {
		return "", err
	}
	// A page may be empty and still have a next link: follow a few.
	for i := 0; i < 3 && len(p.Items) == 0 && p.NextLink != ""; i++ {
		if p, err = t.gc.Get(ctx, p.NextLink); err != nil {
			return "", err
		}
	}
	switch n := len(p.Items); {
	case p.NextLink != "":
		return fmt.Sprintf("%d of ≥%d", n, n+1), nil
	case n == 0:
		return "0 (none in the tenant)", nil
	default:
		return fmt.Sprintf("%d of %d", n, n), nil
	}
}

// firstID is the id of the first item of a page, following empty pages.
func firstID(ctx context.Context, c *graph.Client, p *graph.Page) (string, error) {
	for i := 0; ; i++ {
		for _, it := range p.Items {
			var o struct {
				ID string `json:"id"`
			}
			if err := json.Unmarshal(it, &o); err == nil && o.ID != "" {
				return o.ID, nil
			}
		}
		if p.NextLink == "" || i >= 3 {
			return "", nil
		}
		var err error
		if p, err = c.Get(ctx, p.NextLink); err != nil {
			return "", err
		}
	}
}

func (t *tester) fetchQualys(ctx context.Context) outcome {
	var probes []probe
	if p := t.policies; p != nil {
		probes = append(probes, probe{name: "policies", got: springCount(p.TotalElements, len(p.Items), p.Last || p.Empty)})
	} else {
		p, err := t.qc.Policies(ctx, 0, 1)
		pr := probe{name: "policies", err: err}
		if err == nil {
			pr.got = springCount(p.TotalElements, len(p.Items), p.Last || p.Empty)
		}
		probes = append(probes, pr)
	}
	// One call at a time: Qualys accounts allow two concurrent calls.
	ex, err := t.qc.Exceptions(ctx, 0, 1)
	pr := probe{name: "exceptions", err: err}
	if err == nil {
		pr.got = springCount(ex.TotalElements, len(ex.Items), ex.Last || ex.Empty)
	}
	probes = append(probes, pr)
	types, err := ResourceScope(t.conn)
	if err != nil {
		return outcome{failed: true, detail: err.Error(), fix: "correct the connector's resource types (--resources)"}
	}
	for _, rt := range types {
		if ctx.Err() != nil {
			break
		}
		p, err := t.qc.Resources(ctx, rt.Cloud, rt.Resource, qualys.ResourceQuery{PageSize: 1})
		pr := probe{name: rt.Name, err: err}
		if err == nil {
			pr.got = springCount(p.Total, len(p.Items), p.Last)
		}
		probes = append(probes, pr)
	}
	if t.api != nil && ctx.Err() == nil {
		got, err := t.hostProbe(ctx)
		probes = append(probes, probe{name: "hosts", got: got, err: err, perm: "api"})
	}
	return t.summarise(probes, func(p probe) outcome {
		if p.perm == "api" {
			return t.apiServerFailure(p.err)
		}
		return t.qualysFailure(p.err)
	})
}

// hostProbe reads one host asset from the API server and says what came
// back.
func (t *tester) hostProbe(ctx context.Context) (string, error) {
	var page qualys.HostAssetPage
	n := 0
	err := t.api.HostAssets(ctx, qualys.HostAssetQuery{PageSize: 1, OnPage: func(p qualys.HostAssetPage) error {
		page = p
		return errPageDone
	}}, func(qualys.HostAsset) error { n++; return nil })
	if err != nil && !errors.Is(err, errPageDone) {
		return "", err
	}
	if page.HasMoreRecords {
		return fmt.Sprintf("%d of ≥%d", n, n+1), nil
	}
	return fmt.Sprintf("%d of %d", n, n), nil
}

// apiServerFailure is qualysFailure for the API server (seed 004's table).
func (t *tester) apiServerFailure(err error) outcome {
	o := t.qualysFailure(err)
	var ae *qualys.APIError
	if errors.As(err, &ae) {
		switch ae.StatusCode {
		case http.StatusUnauthorized:
			o.fix = "seed 004: check the username and password, and that the user has the Read Asset permission and API access (a Qualys administrator grants both)"
		case http.StatusConflict:
			o.fix = "seed 004: the API server's rate or concurrency limit was reached — wait the seconds in X-RateLimit-ToWait-Sec and test again; for the knowledge base a 409 can also mean a missing permission"
		}
	}
	return o
}

// springCount says what one page of at most one record showed.
func springCount(total, n int, last bool) string {
	switch {
	case total > 0:
		return fmt.Sprintf("%d of %s", n, commas(total))
	case n == 0:
		return "0 (none)"
	case !last:
		return fmt.Sprintf("%d of ≥%d", n, n+1)
	}
	return fmt.Sprintf("%d of %d", n, n)
}

func commas(n int) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// summarise joins the probes' results; the step fails on the first failed
// probe, with its advice, and still lists what the others read.
func (t *tester) summarise(probes []probe, advise func(probe) outcome) outcome {
	var parts []string
	var first *outcome
	for _, p := range probes {
		if p.err != nil {
			o := advise(p)
			parts = append(parts, p.name+": "+o.detail)
			if first == nil {
				first = &o
			}
			continue
		}
		parts = append(parts, p.name+": "+p.got)
	}
	detail := strings.Join(parts, "; ")
	if first != nil {
		return outcome{failed: true, detail: detail, fix: first.fix}
	}
	return pass("%s", detail)
}

// qualysFailure turns a Qualys client error into a failed step with the
// advice for it.
func (t *tester) qualysFailure(err error) outcome {
	o := outcome{failed: true, detail: err.Error()}
	var ae *qualys.APIError
	switch {
	case errors.As(err, &ae):
		switch ae.StatusCode {
		case http.StatusUnauthorized:
			o.fix = "check the username and password (and the platform: an account exists on one platform only), and that the user has API access"
		case http.StatusForbidden:
			o.fix = "the user lacks the TotalCloud (CloudView) API permission: ask a Qualys administrator to grant it to this user"
		case http.StatusConflict, http.StatusTooManyRequests:
			o.fix = "the Qualys API concurrency or rate limit was reached (409/429): wait the seconds the gateway gave in X-RateLimit-ToWait-Sec, then test again; other scripts using this account share its limits (typically 300 calls an hour, 2 at once). A 409 that persists can also mean the user lacks the module's API access"
			if h := ae.Hint(); h != "" {
				o.fix = h + "; other scripts using this account share its limits (typically 300 calls an hour, 2 at once). A 409 that persists can also mean the user lacks the module's API access"
			}
		default:
			o.fix = ae.Hint()
		}
	case isTLSError(err):
		o.fix = t.tlsFix(err)
	case isNetworkError(err):
		o.fix = t.networkFix
	}
	if o.fix == "" {
		o.fix = "check the gateway URL (or platform); " + t.networkFix
	}
	return o
}

// graphFailure turns a Graph client error into a failed step with the
// seeds' advice; perm is the permission the read needed, if known.
func (t *tester) graphFailure(err error, perm string) outcome {
	o := outcome{failed: true, detail: err.Error()}
	var te *graph.TokenError
	var ge *graph.Error
	switch {
	case errors.As(err, &te):
		switch te.Code {
		case 7000222:
			o.fix = "the Client Secret has expired: generate a new one in Azure AD under Certificates & secrets, update the connector's Client Secret (Key Rotation) and test again"
		case 700016:
			o.fix = "check the Client ID: it must be the Application (client) ID of an app registered in this tenant"
		case 90002, 900023:
			o.fix = "check the Tenant ID: the Directory (tenant) ID from the app registration's Overview page, or a verified domain"
		case 53003:
			o.fix = "a Conditional Access policy blocks the app: exclude its service principal from the policy"
		default:
			if te.Status == http.StatusTooManyRequests || te.Status >= 500 {
				o.fix = "Entra ID is throttling or unavailable: test again later"
			} else {
				o.fix = "verify that the Tenant ID, Client ID and Client Secret match the registered Azure AD application exactly; make sure the Client Secret has not expired: generate a new one if needed and update the connector"
			}
		}
	case errors.As(err, &ge):
		switch {
		case ge.Status == http.StatusUnauthorized:
			o.fix = "the access token was refused: verify the Tenant ID, Client ID and Client Secret, and regenerate the Client Secret if it expired"
		case ge.Status == http.StatusForbidden:
			if perm == "" {
				perm = "the Microsoft Graph application permission this read needs"
			}
			o.fix = "grant " + perm + " as an Application permission of Microsoft Graph in the Azure app registration and click Grant admin consent; if it is granted, check that no Conditional Access policy blocks the app"
		default:
			o.fix = ge.Hint()
		}
	case isTLSError(err):
		o.fix = t.tlsFix(err)
	case isNetworkError(err):
		o.fix = t.networkFix
	}
	if o.fix == "" {
		o.fix = t.networkFix
	}
	return o
}

func isTLSError(err error) bool {
	var unknown x509.UnknownAuthorityError
	var host x509.HostnameError
	var invalid x509.CertificateInvalidError
	var verify *tls.CertificateVerificationError
	return errors.As(err, &unknown) || errors.As(err, &host) || errors.As(err, &invalid) || errors.As(err, &verify)
}

func isNetworkError(err error) bool {
	var ne net.Error
	var ue *url.Error
	return errors.As(err, &ne) || errors.As(err, &ue)
}

// CheckCABundle checks a --ca-bundle setting: "" (none), or a readable
// file holding at least one PEM certificate. The error names the flag.
func CheckCABundle(path string) error {
	if path == "" {
		return nil
	}
	_, err := readCABundle(path)
	return err
}

// readCABundle reads the certificates of a PEM bundle.
func readCABundle(path string) ([]*x509.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("--ca-bundle %s: no such file", path)
		}
		return nil, fmt.Errorf("--ca-bundle %s: %v", path, err)
	}
	var certs []*x509.Certificate
	for rest := b; ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("--ca-bundle %s: a CERTIFICATE block does not parse: %v", path, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("--ca-bundle %s holds no PEM certificate (-----BEGIN CERTIFICATE-----)", path)
	}
	return certs, nil
}

// caPool is the system's roots plus the bundle's certificates, or nil (the
// system's roots) without a bundle.
func caPool(bundle string) (*x509.CertPool, error) {
	if bundle == "" {
		return nil, nil
	}
	certs, err := readCABundle(bundle)
	if err != nil {
		return nil, err
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	for _, c := range certs {
		pool.AddCert(c)
	}
	return pool, nil
}

// httpClientFor is the HTTP client of a connector's API client: the
// engine's (nil: the API package's default) unless the connector has a CA
// bundle, then a client whose transport trusts the system's roots and the
// bundle's and uses the proxy from the environment (HTTPS_PROXY).
// Verification is never turned off.
func (e *Engine) httpClientFor(conn store.Connector, timeout time.Duration) (*http.Client, error) {
	bundle := conn.Settings[SettingCABundle]
	if bundle == "" {
		return e.HTTPClient, nil
	}
	pool, err := caPool(bundle)
	if err != nil {
		return nil, fmt.Errorf("connector %s: %w", conn.Name, err)
	}
	var tr *http.Transport
	hc := &http.Client{Timeout: timeout}
	if e.HTTPClient != nil {
		*hc = *e.HTTPClient
		if t, ok := e.HTTPClient.Transport.(*http.Transport); ok {
			tr = t.Clone()
		}
	}
	if tr == nil {
		tr = http.DefaultTransport.(*http.Transport).Clone()
		tr.Proxy = http.ProxyFromEnvironment
	}
	if tr.TLSClientConfig == nil {
		tr.TLSClientConfig = &tls.Config{}
	}
	tr.TLSClientConfig.RootCAs = pool
	tr.TLSClientConfig.InsecureSkipVerify = false
	if tr.TLSClientConfig.MinVersion < tls.VersionTLS12 {
		tr.TLSClientConfig.MinVersion = tls.VersionTLS12
	}
	hc.Transport = tr
	return hc, nil
}
