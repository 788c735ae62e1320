package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"qtc/store"
)

// qtcBin is the binary built once for the end-to-end tests.
var qtcBin string

func TestMain(m *testing.M) {
	// Tests never touch the developer's OS keyring: keys are files.
	os.Setenv("QTC_KEYRING", "off")
	dir, err := os.MkdirTemp("", "qtc-e2e")
	if err != nil {
		panic(err)
	}
	qtcBin = filepath.Join(dir, "qtc")
	build := exec.Command("go", "build", "-o", qtcBin, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		panic("build qtc: " + err.Error())
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// sandbox is a fresh HOME, config and data directory for one test.
type sandbox struct {
	t     *testing.T
	dir   string
	db    string
	graph map[string]string // the Graph simulator's URLs and credentials
	paged *pagedStreams     // crash tests: streams whose cursors are checked page by page
}

func newSandbox(t *testing.T) *sandbox {
	dir := t.TempDir()
	return &sandbox{t: t, dir: dir, db: filepath.Join(dir, "data", "qtc.db")}
}

func (s *sandbox) env(extra ...string) []string {
	env := []string{
		"HOME=" + s.dir,
		"XDG_CONFIG_HOME=" + filepath.Join(s.dir, "config"), "QTC_KEYRING=off",
		"XDG_DATA_HOME=" + filepath.Join(s.dir, "data"),
		"PATH=" + os.Getenv("PATH"),
		"QTC_DB=" + s.db,
	}
	return append(env, extra...)
}

// run runs the binary and returns stdout, stderr and the exit code.
func (s *sandbox) run(env []string, args ...string) (string, string, int) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, qtcBin, args...)
	cmd.Env = env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		s.t.Fatalf("run %v: %v", args, err)
	}
	return out.String(), errb.String(), code
}

// startSim starts `qtc sim` on a free port and returns its base URL.
func (s *sandbox) startSim(args ...string) string {
	s.t.Helper()
	cmd := exec.Command(qtcBin, append([]string{"sim", "--addr", "127.0.0.1:0", "--graph-addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = s.env()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		s.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	sc := bufio.NewScanner(stdout)
	re := regexp.MustCompile(`Qualys gateway at (http://127\.0\.0\.1:\d+)`)
	lineRE := regexp.MustCompile(`^\s+(login URL|graph URL|tenant|client|secret): (\S+)`)
	var url string
	s.graph = map[string]string{}
	for sc.Scan() {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			url = m[1]
		}
		if m := lineRE.FindStringSubmatch(sc.Text()); m != nil {
			s.graph[m[1]] = m[2]
		}
		if url != "" && s.graph["secret"] != "" {
			go func() {
				for sc.Scan() {
				}
			}()
			return url
		}
	}
	s.t.Fatal("qtc sim did not print its URLs")
	return ""
}

func TestEndToEndSyncAndExport(t *testing.T) {
	s := newSandbox(t)
	url := s.startSim("--exceptions", "420", "--policies", "33", "--throttle-every", "7")

	_, stderr, code := s.run(s.env("QTC_PASSWORD=demo-pass-2026"), "connector", "add", "qualys", "e2e", "--gateway-url", url, "--username", "demo")
	if code != 0 {
		t.Fatalf("connector add: exit %d: %s", code, stderr)
	}
	_, stderr, code = s.run(s.env(), "sync", "e2e")
	if code != 0 {
		t.Fatalf("sync: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "Processed") {
		t.Errorf("sync output does not report the state:\n%s", stderr)
	}

	for _, tc := range []struct {
		typ  string
		want int
	}{{"exceptions", 420}, {"policies", 33}} {
		out, stderr, code := s.run(s.env(), "export", "--connector", "e2e", "--type", tc.typ)
		if code != 0 {
			t.Fatalf("export %s: exit %d: %s", tc.typ, code, stderr)
		}
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if len(lines) != tc.want {
			t.Fatalf("export %s: %d lines, want %d", tc.typ, len(lines), tc.want)
		}
		ids := map[string]bool{}
		for _, l := range lines {
			var v struct {
				UUID string `json:"uuid"`
			}
			if err := json.Unmarshal([]byte(l), &v); err != nil || v.UUID == "" {
				t.Fatalf("export %s: bad line %q: %v", tc.typ, l, err)
			}
			ids[v.UUID] = true
		}
		if len(ids) != tc.want {
			t.Fatalf("export %s: %d distinct ids, want %d", tc.typ, len(ids), tc.want)
		}
	}

	out, _, code := s.run(s.env(), "export", "--connector", "e2e", "--type", "exceptions", "--format", "csv")
	if code != 0 || !strings.HasPrefix(out, "id,NAME,STATE,REASON,SCOPE,START,END\n") {
		t.Fatalf("csv export: exit %d, head %q", code, firstLine(out))
	}
	out, _, code = s.run(s.env(), "connector", "list")
	if code != 0 || !strings.Contains(out, "e2e") || !strings.Contains(out, "exceptions=420") {
		t.Fatalf("connector list: exit %d:\n%s", code, out)
	}

	// The password never reaches disk in plaintext.
	for _, p := range []string{s.db, filepath.Join(s.dir, "config", "qtc", "key")} {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(data, []byte("demo-pass-2026")) {
			t.Fatalf("%s contains the password in plaintext", p)
		}
		if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", p, fi.Mode().Perm())
		}
	}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func TestBadInput(t *testing.T) {
	s := newSandbox(t)
	notStore := filepath.Join(s.dir, "notes.txt")
	if err := os.WriteFile(notStore, []byte("these are my notes, not a database\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		env      []string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"unknown command", nil, []string{"frobnicate"}, exitUsage, `unknown command "frobnicate"`},
		{"sync without name or connectors", nil, []string{"sync"}, exitFailure, "no connectors to sync"},
		{"sync two names", nil, []string{"sync", "a", "b"}, exitUsage, `unexpected argument "b"`},
		{"sync unknown connector", nil, []string{"sync", "nope"}, exitFailure, "nope"},
		{"export without connector", nil, []string{"export", "--type", "policies"}, exitUsage, "--connector is required"},
		{"export bad format", nil, []string{"export", "--connector", "x", "--type", "policies", "--format", "xml"}, exitUsage, `--format "xml"`},
		{"export qualys-asset of a type without a map", nil, []string{"export", "--connector", "x", "--type", "policies", "--format", "qualys-asset"}, exitUsage, "no transformation map"},
		{"export unknown type", nil, []string{"export", "--connector", "x", "--type", "bogus"}, exitFailure, "x"},
		{"add without gateway", []string{"QTC_PASSWORD=p"}, []string{"connector", "add", "qualys", "c1", "--username", "u"}, exitUsage, "--gateway-url is required"},
		{"add bad gateway", []string{"QTC_PASSWORD=p"}, []string{"connector", "add", "qualys", "c1", "--username", "u", "--gateway-url", "nope"}, exitUsage, "--gateway-url"},
		{"add bad name", []string{"QTC_PASSWORD=p"}, []string{"connector", "add", "qualys", "a/b", "--username", "u", "--gateway-url", "https://g.example"}, exitUsage, "connector name"},
		{"unknown flag", nil, []string{"sync", "--bogus", "x"}, exitUsage, "bogus"},
		{"not a store", []string{"QTC_DB=" + notStore}, []string{"connector", "list"}, exitFailure, "not a qtc store"},
		{"sim negative latency", nil, []string{"demo", "--latency", "-1s", "--no-tui"}, exitUsage, "--latency"},
		{"sim negative group count", nil, []string{"sim", "--graph-groups", "-1"}, exitUsage, "--graph-groups"},
		{"sim budget below -1", nil, []string{"sim", "--graph-budget", "-5"}, exitUsage, "--graph-budget"},
		{"sim fault rate above 1", nil, []string{"sim", "--faults", "1.5"}, exitUsage, "--faults"},
		{"sim unknown fault kind", nil, []string{"sim", "--faults", "boom=0.1"}, exitUsage, `--faults: "boom=0.1" is not kind=rate with a kind of 429`},
		{"sim fault kind twice", nil, []string{"sim", "--faults", "slow=0.1,slow=0.2"}, exitUsage, "--faults: kind slow is given twice"},
		{"demo fault rates above 1 in all", nil, []string{"demo", "--faults", "429=0.7,reset=0.7", "--no-tui"}, exitUsage, "--faults: the rates add up to 1.4; they must add up to at most 1"},
		{"store without a command", nil, []string{"store"}, exitUsage, "qtc store needs a command"},
		{"store compact unknown flag", nil, []string{"store", "compact", "--yes"}, exitUsage, "-yes"},
		{"store compact --db without a path", nil, []string{"store", "compact", "--db"}, exitUsage, "-db"},
		{"store compact extra argument", nil, []string{"store", "compact", "now"}, exitUsage, `unexpected argument "now"`},
		{"store compact of a missing store", []string{"QTC_DB=" + filepath.Join(s.dir, "none", "qtc.db")}, []string{"store", "compact"}, exitFailure, "no such file"},
		{"store compact of a file that is not a store", []string{"QTC_DB=" + notStore}, []string{"store", "compact"}, exitFailure, "not a qtc store"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, code := s.run(s.env(tt.env...), tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d; stderr: %s", code, tt.wantCode, stderr)
			}
			if !strings.Contains(stderr, tt.wantErr) {
				t.Errorf("stderr %q does not mention %q", stderr, tt.wantErr)
			}
		})
	}
	data, _ := os.ReadFile(notStore)
	if string(data) != "these are my notes, not a database\n" {
		t.Fatal("a file that is not a store was modified")
	}
}

func TestLockedStoreFailsFast(t *testing.T) {
	s := newSandbox(t)
	st, err := store.Open(s.db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	start := time.Now()
	_, stderr, code := s.run(s.env(), "connector", "list")
	if code != exitFailure || !strings.Contains(stderr, "in use") {
		t.Fatalf("exit %d, stderr %q; want a clear 'in use' error", code, stderr)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("locked store took %s to report", d)
	}
}

func TestHelpOnEveryCommand(t *testing.T) {
	s := newSandbox(t)
	for _, args := range [][]string{
		{"--help"}, {"help"}, {"demo", "--help"}, {"sim", "--help"}, {"connector", "--help"},
		{"connector", "add", "--help"}, {"connector", "add", "qualys", "--help"}, {"connector", "list", "--help"},
		{"sync", "--help"}, {"export", "--help"}, {"help", "sync"},
	} {
		out, stderr, code := s.run(s.env(), args...)
		if code != 0 || !strings.Contains(out, "usage: qtc") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out, stderr)
		}
	}
}

func TestDemoNoTUI(t *testing.T) {
	s := newSandbox(t)
	for i := 0; i < 2; i++ { // re-running reuses the store
		_, stderr, code := s.run(s.env(), "demo", "--no-tui")
		if code != 0 || !strings.Contains(stderr, "Processed") {
			t.Fatalf("demo run %d: exit %d: %s", i, code, stderr)
		}
	}
	out, _, _ := s.run(s.env(), "connector", "list")
	if !strings.Contains(out, "demo") {
		t.Fatalf("demo connector not listed:\n%s", out)
	}
}

func TestEndToEndExceptionCRUDAndAzureOrg(t *testing.T) {
	s := newSandbox(t)
	url := s.startSim("--exceptions", "20", "--policies", "3")
	env := s.env("QTC_PASSWORD=demo-pass-2026")
	if _, stderr, code := s.run(env, "connector", "add", "qualys", "crud", "--gateway-url", url, "--username", "demo", "--resources", "none"); code != 0 {
		t.Fatalf("connector add: %s", stderr)
	}
	start := time.Now().UTC().Format(time.RFC3339)
	end := time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)
	out, stderr, code := s.run(s.env(), "exception", "create", "--connector", "crud", "--name", "E2E exception",
		"--reason", "Risk Accepted", "--scope", "ACCOUNT", "--start", start, "--end", end)
	if code != 0 {
		t.Fatalf("exception create: exit %d: %s", code, stderr)
	}
	var created struct{ UUID, Name, State string }
	if err := json.Unmarshal([]byte(out), &created); err != nil || created.UUID == "" || created.State == "" {
		t.Fatalf("create printed %q: %v", out, err)
	}
	// Bad input: a clear error naming the field, nothing sent.
	_, stderr, code = s.run(s.env(), "exception", "create", "--connector", "crud", "--name", "x", "--reason", "Risk Accepted",
		"--scope", "NOWHERE", "--start", start, "--end", end)
	if code == 0 || !strings.Contains(stderr, "scope") {
		t.Errorf("bad scope: exit %d, %s", code, stderr)
	}
	// The store holds the server's version: export shows it.
	out, _, _ = s.run(s.env(), "export", "--connector", "crud", "--type", "exceptions")
	if !strings.Contains(out, created.UUID) {
		t.Error("created exception not in the store")
	}
	_, stderr, code = s.run(s.env(), "exception", "delete", "--connector", "crud", created.UUID)
	if code == 0 || !strings.Contains(stderr, "--yes") {
		t.Errorf("delete without a terminal or --yes: exit %d, %s", code, stderr)
	}
	if _, stderr, code = s.run(s.env(), "exception", "delete", "--connector", "crud", "--yes", created.UUID); code != 0 {
		t.Fatalf("delete: %s", stderr)
	}
	out, _, _ = s.run(s.env(), "export", "--connector", "crud", "--type", "exceptions")
	if strings.Contains(out, created.UUID) {
		t.Error("deleted exception still in the store")
	}

	body := filepath.Join(s.dir, "org.json")
	os.WriteFile(body, []byte(`{"name":"Contoso","description":"","connectorAppInfos":[{"name":"AI","tagId":null}],
		"isRemediationEnabled":false,"tenantName":"Contoso","tenantId":"8f2a1c3e-1111-4a4a-9b9b-0123456789ab",
		"applicationId":"0d0e0f10-2222-4b4b-8c8c-abcdefabcdef","orgRunFrequency":{"hours":1,"minutes":0},
		"connectorPrefixName":"contoso","connectorRunFrequency":{"hours":1,"minutes":0},"excludedMem":[],"includedMem":[],
		"isCreateConnectorForNewSubscriptionsAutomatically":true,"isDisableConnectorsForDeletedManagementGroups":true,
		"autoActivateCV":false,"autoActivateCertView":false,"autoActivatePC":false,"autoActivateSCA":false,"autoActivateVM":false,"defaultTagIds":[]}`), 0o600)
	out, stderr, code = s.run(s.env("QTC_AZURE_SECRET=very-secret-value-1"), "azure-org", "create", "--connector", "crud", "--file", body)
	if code != 0 || !strings.Contains(stderr, "state PENDING") {
		t.Fatalf("azure-org create: exit %d: %s", code, stderr)
	}
	if strings.Contains(out+stderr, "very-secret-value-1") {
		t.Error("the secret was printed")
	}
	data, _ := os.ReadFile(s.db)
	if bytes.Contains(data, []byte("very-secret-value-1")) {
		t.Error("the Azure secret is in the store")
	}
}

func TestEndToEndEntraConnectors(t *testing.T) {
	s := newSandbox(t)
	s.startSim()
	g := s.graph
	for _, kind := range []string{"entra", "entra-devices"} {
		args := []string{"connector", "add", kind, "tenant-" + kind, "--tenant-id", g["tenant"], "--client-id", g["client"],
			"--login-url", g["login URL"], "--graph-url", g["graph URL"]}
		if kind == "entra" {
			args = append(args, "--scope", "posture")
		}
		if _, stderr, code := s.run(s.env("QTC_CLIENT_SECRET="+g["secret"]), args...); code != 0 {
			t.Fatalf("add %s: %s", kind, stderr)
		}
		if _, stderr, code := s.run(s.env(), "sync", "tenant-"+kind); code != 0 || !strings.Contains(stderr, "Processed") {
			t.Fatalf("sync %s: exit %d: %s", kind, code, stderr)
		}
	}
	for _, typ := range []string{"users", "groups", "roles", "applications", "servicePrincipals", "organization"} {
		out, stderr, code := s.run(s.env(), "export", "--connector", "tenant-entra", "--type", typ)
		if code != 0 || strings.Count(out, "\n") == 0 || !strings.Contains(out, `"id"`) {
			t.Errorf("export %s: exit %d, %d lines: %s", typ, code, strings.Count(out, "\n"), stderr)
		}
	}
	if out, _, _ := s.run(s.env(), "export", "--connector", "tenant-entra-devices", "--type", "devices"); !strings.Contains(out, `"deviceId"`) {
		t.Error("devices not exported")
	}
	// A wrong secret is one clear error with the AADSTS meaning.
	s.run(s.env("QTC_CLIENT_SECRET=wrong"), "connector", "add", "entra", "bad", "--tenant-id", g["tenant"], "--client-id", g["client"],
		"--login-url", g["login URL"], "--graph-url", g["graph URL"])
	_, stderr, code := s.run(s.env(), "sync", "bad")
	if code != exitFailure || !strings.Contains(stderr, "7000215") {
		t.Errorf("wrong secret: exit %d: %s", code, stderr)
	}
	data, _ := os.ReadFile(s.db)
	if bytes.Contains(data, []byte(g["secret"])) {
		t.Error("the client secret is in the store in plaintext")
	}
}

func TestKeyWhereAndExport(t *testing.T) {
	s := newSandbox(t)
	out, errOut, code := s.run(s.env(), "key", "where")
	if code != 0 || !strings.Contains(out, "key file "+filepath.Join(s.dir, "config", "qtc", "key")) {
		t.Fatalf("key where: %d %q %q", code, out, errOut)
	}
	exported := filepath.Join(s.dir, "exported.key")
	if out, errOut, code := s.run(s.env(), "key", "export", "--file", exported); code != 0 || !strings.Contains(out, "written to "+exported) {
		t.Fatalf("key export: %d %q %q", code, out, errOut)
	}
	a, _ := os.ReadFile(exported)
	b, _ := os.ReadFile(filepath.Join(s.dir, "config", "qtc", "key"))
	if len(a) != 32 || string(a) != string(b) {
		t.Errorf("exported key (%d bytes) differs from the key file", len(a))
	}
	if _, _, code := s.run(s.env(), "key", "export", "--file", exported); code == 0 {
		t.Error("export overwrote an existing file")
	}
	if _, errOut, code := s.run(s.env(), "key", "export"); code != 2 || !strings.Contains(errOut, "--file") {
		t.Errorf("export without --file: %d %q", code, errOut)
	}
}
