package main

// Tests of issue 7's security claims: secrets never in plaintext in logs
// (HTTP tracing included), process arguments, exports or files; files
// 0600 and directories 0700; TLS always verified, against the system's
// roots or the connector's CA bundle.

import (
	"encoding/base64"
	"encoding/pem"
	"flag"
	"io"
	"io/fs"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"qtc/api/sim"
	graphsim "qtc/api/sim/graph"
	"qtc/sync/export"
	"qtc/sync/transform"
)

const simPassword = "demo-pass-2026" // the Qualys simulator's default

// secretSandbox is a sandbox with the simulators running and two
// connectors on them: "q" (Qualys gateway and classic API server, so both
// Bearer and Basic auth are used) and "e" (Entra ID, posture scope).
func secretSandbox(t *testing.T) (*sandbox, []string) {
	t.Helper()
	s := newSandbox(t)
	gateway := s.startSim("--exceptions", "5", "--policies", "3")
	g := s.graph
	for _, a := range []struct {
		env  string
		args []string
	}{
		{"QTC_PASSWORD=" + simPassword, []string{"connector", "add", "qualys", "q", "--gateway-url", gateway, "--api-url", gateway,
			"--username", "demo", "--resources", "none"}},
		{"QTC_CLIENT_SECRET=" + g["secret"], []string{"connector", "add", "entra", "e", "--tenant-id", g["tenant"], "--client-id", g["client"],
			"--login-url", g["login URL"], "--graph-url", g["graph URL"], "--scope", "posture"}},
	} {
		if _, stderr, code := s.run(s.env(a.env), a.args...); code != 0 {
			t.Fatalf("%v: exit %d: %s", a.args, code, stderr)
		}
	}
	// What must never be shown: the password, the client secret, the
	// Basic header value made of the password, and any JWT ("eyJ…": every
	// token either simulator issues is one).
	return s, []string{simPassword, g["secret"], base64.StdEncoding.EncodeToString([]byte("demo:" + simPassword)), "eyJ"}
}

// TestTraceRedactsSecrets runs syncs and connection tests of both
// connectors with and without --trace: traced runs log every exchange,
// token requests included, and no run shows a secret or a token.
func TestTraceRedactsSecrets(t *testing.T) {
	s, secrets := secretSandbox(t)
	for _, tc := range []struct {
		name   string
		env    []string
		args   []string
		traced bool
		want   []string // in stderr, traced runs only
	}{
		{"sync qualys", nil, []string{"--trace", "sync", "q"}, true,
			[]string{"/auth", "password=[redacted]", "headers.Authorization=[redacted]", "body=\"[redacted: the answer to a login]\"", "/api/2.0/fo/asset/host/vm/detection/"}},
		{"sync entra", nil, []string{"sync", "e", "--trace"}, true,
			[]string{"/oauth2/token", "client_secret=[redacted]", `\"access_token\":\"[redacted]\"`, "headers.Authorization=[redacted]", "/v1.0/users"}},
		{"connector test qualys", nil, []string{"connector", "test", "q", "--trace"}, true,
			[]string{"/auth", "password=[redacted]", "headers.Authorization=[redacted]"}},
		{"connector test entra by env", []string{"QTC_TRACE=1"}, []string{"connector", "test", "e"}, true,
			[]string{"/oauth2/token", "client_secret=[redacted]", `\"access_token\":\"[redacted]\"`}},
		{"sync without trace", nil, []string{"sync", "q", "-v"}, false, nil},
		// A global flag is not taken for one of the connector's own.
		{"edit with trace", nil, []string{"connector", "edit", "e", "--trace", "--description", "traced"}, false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := s.run(s.env(tc.env...), tc.args...)
			if code != 0 {
				t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
			}
			for _, w := range []string{`msg="http request"`, `msg="http response"`, `msg="http response body"`} {
				if got := strings.Contains(stderr, w); got != tc.traced {
					t.Errorf("stderr has %s: %v, want %v", w, got, tc.traced)
				}
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q", w)
				}
			}
			for _, sec := range secrets {
				if i := strings.Index(stdout+stderr, sec); i >= 0 {
					out := stdout + stderr
					t.Errorf("the output shows %q: …%s…", sec, out[max(0, i-200):min(len(out), i+100)])
				}
			}
		})
	}
}

// TestExportsHoldNoSecrets exports every synced type of both connectors in
// every format to files: each is 0600 and holds no secret.
func TestExportsHoldNoSecrets(t *testing.T) {
	s, secrets := secretSandbox(t)
	for _, name := range []string{"q", "e"} {
		if _, stderr, code := s.run(s.env(), "sync", name); code != 0 {
			t.Fatalf("sync %s: exit %d: %s", name, code, stderr)
		}
	}
	list, _, _ := s.run(s.env(), "connector", "list")
	dir := filepath.Join(s.dir, "exports")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	exported := 0
	for _, name := range []string{"q", "e"} {
		types := syncedTypes(list, name)
		if len(types) < 3 {
			t.Fatalf("connector %s lists %d synced types: %v\n%s", name, len(types), types, list)
		}
		for _, typ := range types {
			for _, format := range export.Formats {
				if _, ok := transform.For(typ); format == "qualys-asset" && !ok {
					continue
				}
				out := filepath.Join(dir, name+"-"+typ+"."+format)
				if _, stderr, code := s.run(s.env(), "export", "--connector", name, "--type", typ, "--format", format, "-o", out); code != 0 {
					t.Errorf("export %s %s %s: exit %d: %s", name, typ, format, code, stderr)
					continue
				}
				data, err := os.ReadFile(out)
				if err != nil {
					t.Fatal(err)
				}
				if len(data) == 0 {
					t.Errorf("%s is empty", out)
				}
				for _, sec := range secrets {
					if strings.Contains(string(data), sec) {
						t.Errorf("%s holds %q", out, sec)
					}
				}
				if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o600 {
					t.Errorf("%s: mode %v, want 0600 (%v)", out, fi.Mode().Perm(), err)
				}
				exported++
			}
		}
	}
	t.Logf("%d exports scanned", exported)
}

// syncedTypes reads the types with records of connector name from the
// RECORDS column of `qtc connector list`.
func syncedTypes(list, name string) []string {
	var types []string
	for _, line := range strings.Split(list, "\n") {
		if f := strings.Fields(line); len(f) == 0 || f[0] != name {
			continue
		}
		for _, m := range regexp.MustCompile(`\b([A-Za-z]+)=([1-9][0-9]*)\b`).FindAllStringSubmatch(line, -1) {
			types = append(types, m[1])
		}
	}
	return types
}

// TestFileAndDirectoryModes: every file qtc writes under the data and
// config directories (store, key) is 0600 and every directory it creates
// there is 0700, with the store at its default XDG place.
func TestFileAndDirectoryModes(t *testing.T) {
	s := newSandbox(t)
	gateway := s.startSim("--exceptions", "2", "--policies", "2")
	env := []string{"HOME=" + s.dir, "XDG_CONFIG_HOME=" + filepath.Join(s.dir, "config"), "XDG_DATA_HOME=" + filepath.Join(s.dir, "data"),
		"QTC_KEYRING=off", "PATH=" + os.Getenv("PATH")} // no QTC_DB: the default path
	if _, stderr, code := s.run(append(env, "QTC_PASSWORD="+simPassword), "connector", "add", "qualys", "q", "--gateway-url", gateway,
		"--username", "demo", "--resources", "none"); code != 0 {
		t.Fatalf("connector add: exit %d: %s", code, stderr)
	}
	if _, stderr, code := s.run(env, "sync", "q"); code != 0 {
		t.Fatalf("sync: exit %d: %s", code, stderr)
	}
	var files, dirs int
	for _, root := range []string{filepath.Join(s.dir, "data", "qtc"), filepath.Join(s.dir, "config", "qtc")} {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			want := fs.FileMode(0o600)
			if d.IsDir() {
				want = 0o700
				dirs++
			} else {
				files++
			}
			if got := fi.Mode().Perm(); got != want {
				t.Errorf("%s: mode %v, want %v", p, got, want)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if files < 2 || dirs < 2 {
		t.Fatalf("checked %d files and %d directories; want the store, the key and their directories at least", files, dirs)
	}

	// An export over a world-readable file replaces it with a 0600 one
	// (written beside it and renamed over it); one refused leaves the file
	// as it was, and no temporary file.
	out := filepath.Join(s.dir, "policies.json")
	if err := os.WriteFile(out, []byte("an earlier export\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := s.run(env, "export", "--connector", "q", "--type", "policies", "-o", out); code != 0 {
		t.Fatalf("export: exit %d: %s", code, stderr)
	}
	if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o600 || fi.Size() < 100 {
		t.Errorf("export over a 0644 file: %v, %v; want a 0600 file with the records", fi.Mode().Perm(), err)
	}
	if err := os.WriteFile(out, []byte("an earlier export\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, code := s.run(env, "export", "--connector", "q", "--type", "policies", "--format", "qualys-asset", "-o", out); code == 0 {
		t.Fatal("an export of policies as Qualys assets (no transformation map) succeeded")
	}
	if data, _ := os.ReadFile(out); string(data) != "an earlier export\n" {
		t.Errorf("a failed export changed the file: %q", data)
	}
	if left, _ := filepath.Glob(filepath.Join(s.dir, ".policies.json.tmp-*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// TestTLSAlwaysVerified: a connector on a server whose certificate no
// system trusts fails to sync with a certificate error, and syncs with
// --ca-bundle holding that certificate — traced, so the tracing transport
// also keeps the connector's TLS settings.
func TestTLSAlwaysVerified(t *testing.T) {
	s := newSandbox(t)
	gateway, qualysCA := qualysTLSServer(t)
	graphURL, graphCA := graphServer(t, graphsim.Options{}, true)
	d := graphsim.Defaults(graphsim.Options{})
	for _, tc := range []struct {
		name, kind, bundle string
		code               int
		want               string
	}{
		{"qualys without bundle", "qualys", "", exitFailure, "certificate signed by unknown authority"},
		{"qualys with bundle", "qualys", qualysCA, 0, "Processed"},
		{"entra without bundle", "entra", "", exitFailure, "certificate signed by unknown authority"},
		{"entra with bundle", "entra", graphCA, 0, "Processed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := strings.ReplaceAll(tc.name, " ", "-")
			var env string
			var args []string
			if tc.kind == "qualys" {
				env = "QTC_PASSWORD=" + simPassword
				args = []string{"connector", "add", "qualys", name, "--gateway-url", gateway, "--username", "demo", "--resources", "none"}
			} else {
				env = "QTC_CLIENT_SECRET=" + d.ClientSecret
				args = []string{"connector", "add", "entra", name, "--tenant-id", d.TenantID, "--client-id", d.ClientID,
					"--login-url", graphURL + graphsim.LoginPath, "--graph-url", graphURL + graphsim.GraphPath}
			}
			if tc.bundle != "" {
				args = append(args, "--ca-bundle", tc.bundle)
			}
			if _, stderr, code := s.run(s.env(env), args...); code != 0 {
				t.Fatalf("add: exit %d: %s", code, stderr)
			}
			_, stderr, code := s.run(s.env(), "--trace", "sync", name)
			if code != tc.code || !strings.Contains(stderr, tc.want) {
				t.Fatalf("sync: exit %d, want %d with %q:\n%s", code, tc.code, tc.want, stderr)
			}
			if !strings.Contains(stderr, `msg="http request"`) {
				t.Errorf("the sync was not traced:\n%s", stderr)
			}
		})
	}
}

// qualysTLSServer serves the Qualys simulator over TLS with a certificate
// no system trusts; it returns its URL and the certificate's PEM file.
func qualysTLSServer(t *testing.T) (string, string) {
	t.Helper()
	srv := httptest.NewUnstartedServer(sim.New(sim.Options{Policies: 2, Exceptions: 2}).Handler())
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	ca := filepath.Join(t.TempDir(), "qualys-ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return srv.URL, ca
}

// TestNoInsecureTLSInSource: no non-test Go file of the module turns TLS
// verification off.
func TestNoInsecureTLSInSource(t *testing.T) {
	root := filepath.Join("..", "..")
	set := regexp.MustCompile(`InsecureSkipVerify\s*(?::|=)\s*([^,;}\s]+)`)
	scanned := 0
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".") && p != root) {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		scanned++
		for _, m := range set.FindAllStringSubmatch(string(data), -1) {
			if m[1] != "false" {
				t.Errorf("%s sets %s", p, m[0])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if scanned < 50 {
		t.Fatalf("scanned %d Go files; is the module root %s?", scanned, root)
	}
}

// TestNoFlagTakesASecret walks every command's flags: none may take a
// secret (secrets come from the environment or a masked prompt, never
// from process arguments, which other users can read). The allowed names
// are checked for what makes them safe.
func TestNoFlagTakesASecret(t *testing.T) {
	secretish := regexp.MustCompile(`(?i)secret|passw|token|credential|apikey|api-key`)
	allowed := map[string]func(f *flag.Flag) bool{
		// A switch: the new secret comes from the environment or a prompt.
		"rotate-secret": isBoolFlag,
		// The token endpoint version, v1 or v2 (see TestTokenFlagIsAVersion).
		"token": func(f *flag.Flag) bool { return !isBoolFlag(f) && f.DefValue == "" },
	}
	seen := map[string]bool{}
	var walk func(cmd *command, path string)
	walk = func(cmd *command, path string) {
		fs := newFlagSet(path)
		(&cli{}).globalFlags(fs)
		if cmd.flags != nil {
			cmd.flags(fs)
		}
		fs.VisitAll(func(f *flag.Flag) {
			seen[f.Name] = true
			if !secretish.MatchString(f.Name) {
				return
			}
			if ok, listed := allowed[f.Name]; !listed || !ok(f) {
				t.Errorf("qtc%s --%s: a flag that may take a secret; read it from the environment or a masked prompt (readSecret)", path, f.Name)
			}
		})
		for _, sub := range cmd.sub {
			walk(sub, path+" "+sub.name)
		}
	}
	walk((&cli{}).root(), "")
	for _, want := range []string{"username", "tenant-id", "client-id", "rotate-secret", "token", "trace", "ca-bundle"} {
		if !seen[want] {
			t.Errorf("the walk did not reach --%s; does it visit every command?", want)
		}
	}
}

func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// TestTokenFlagIsAVersion: --token only takes v1 or v2, so a secret given
// to it by mistake is refused and never stored. A secret pasted into
// --token, --tenant-id or --client-id is not echoed in the error either.
func TestTokenFlagIsAVersion(t *testing.T) {
	d := graphsim.Defaults(graphsim.Options{})
	const pasted = "pasted-Secret~Value-93kq"
	for _, tc := range []struct {
		flag string
		args []string
	}{
		{"--token", []string{"--tenant-id", d.TenantID, "--client-id", d.ClientID, "--token", pasted}},
		{"--tenant-id", []string{"--tenant-id", pasted, "--client-id", d.ClientID}},
		{"--client-id", []string{"--tenant-id", d.TenantID, "--client-id", pasted}},
	} {
		t.Run(tc.flag, func(t *testing.T) {
			s := newSandbox(t)
			out, stderr, code := s.run(s.env("QTC_CLIENT_SECRET="+d.ClientSecret), append([]string{"connector", "add", "entra", "e"}, tc.args...)...)
			if code != exitUsage || !strings.Contains(stderr, tc.flag) {
				t.Fatalf("%s with a secret: exit %d, want %d naming %s: %s", tc.flag, code, exitUsage, tc.flag, stderr)
			}
			if strings.Contains(out+stderr, pasted) {
				t.Errorf("the refused value was echoed:\n%s%s", out, stderr)
			}
			out, _, _ = s.run(s.env(), "connector", "list")
			for _, line := range strings.Split(out, "\n") {
				if f := strings.Fields(line); len(f) > 0 && f[0] == "e" {
					t.Errorf("the connector was saved:\n%s", out)
				}
			}
		})
	}
}
