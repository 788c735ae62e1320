package main

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"qtc/store"
	qsync "qtc/sync"
)

// Well-formed ids for connectors that are never synced.
const (
	testTenant = "5f1c3a2e-7b4d-4e8a-9c61-2d0f8b7a6e13"
	testClient = "0d0e0f10-2222-4b4b-8c8c-abcdefabcdef"
)

// connector reads a connector back from the sandbox's store.
func (s *sandbox) connector(name string) store.Connector {
	s.t.Helper()
	st, err := store.Open(s.db, store.Options{ReadOnly: true})
	if err != nil {
		s.t.Fatal(err)
	}
	defer st.Close()
	c, err := st.Connector(context.Background(), name)
	if err != nil {
		s.t.Fatal(err)
	}
	return c
}

// rewind moves the connectors' last change back by d, as if they had
// been configured that long ago.
func (s *sandbox) rewind(d time.Duration, names ...string) {
	s.t.Helper()
	st, err := store.Open(s.db, store.Options{})
	if err != nil {
		s.t.Fatal(err)
	}
	defer st.Close()
	for _, n := range names {
		c, err := st.Connector(context.Background(), n)
		if err != nil {
			s.t.Fatal(err)
		}
		c.UpdatedAt = c.UpdatedAt.Add(-d)
		if err := st.PutConnector(context.Background(), c); err != nil {
			s.t.Fatal(err)
		}
	}
}

func TestConnectorAddValidatesNewFlags(t *testing.T) {
	s := newSandbox(t)
	future := time.Now().Add(48 * time.Hour).UTC().Format("2006-01-02 15:04")
	past := time.Now().Add(-48 * time.Hour).UTC().Format("2006-01-02 15:04")
	entra := func(kind string, flags ...string) []string {
		return append([]string{"connector", "add", kind, "x", "--tenant-id", testTenant, "--client-id", testClient}, flags...)
	}
	qualys := func(flags ...string) []string {
		return append([]string{"connector", "add", "qualys", "x", "--platform", "US1", "--username", "u"}, flags...)
	}
	tests := []struct {
		name string
		args []string
		want string // in stderr; the exit code is 2
	}{
		{"identity description of 181", entra("entra", "--description", strings.Repeat("d", 181)), "--description is 181 characters long; at most 180"},
		{"devices description of 165", entra("entra-devices", "--description", strings.Repeat("d", 165)), "--description is 165 characters long; at most 164"},
		{"qualys description of 181", qualys("--description", strings.Repeat("d", 181)), "--description is 181 characters long; at most 180"},
		{"asset tags on an identity connector", entra("entra", "--asset-tags", "a"), "-asset-tags"},
		{"duplicate asset tags", entra("entra-devices", "--asset-tags", "a,b,a"), `tag "a" is listed twice`},
		{"unknown schedule", entra("entra", "--schedule", "hourly", "--start", future), `--schedule "hourly" is not once, recurring, daily or none`},
		{"schedule without start", entra("entra", "--schedule", "daily"), "--start is required"},
		{"start without schedule", qualys("--start", future), "--start, --end and --every need --schedule"},
		{"unknown timezone", entra("entra-devices", "--schedule", "daily", "--start", future, "--timezone", "Asia/Atlantis"), `--timezone "Asia/Atlantis"`},
		{"end before start", entra("entra", "--schedule", "recurring", "--start", future, "--end", past), "is not after --start"},
		{"every under an hour", qualys("--schedule", "recurring", "--start", future, "--every", "30m"), "--every 30m is too short"},
		{"a single occurrence in the past", entra("entra", "--schedule", "once", "--start", past), "--schedule once has no run after now"},
		{"once with an end", entra("entra", "--schedule", "once", "--start", future, "--end", future), "--end does not apply"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, code := s.run(s.env("QTC_CLIENT_SECRET=s", "QTC_PASSWORD=p"), tt.args...)
			if code != exitUsage || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want exit 2 and %q", code, stderr, tt.want)
			}
		})
	}
	if _, err := os.Stat(s.db); err == nil {
		t.Error("a refused add created the store")
	}
}

func TestConnectorAddEditDelete(t *testing.T) {
	s := newSandbox(t)
	env := s.env("QTC_CLIENT_SECRET=first-client-secret-41")
	out, stderr, code := s.run(env, "connector", "add", "entra-devices", "dev", "--tenant-id", testTenant, "--client-id", testClient,
		"--description", "Contoso devices", "--asset-tags", "Cloud Agent, Windows",
		"--schedule", "daily", "--start", "2036-05-05 18:39", "--timezone", "Asia/Calcutta")
	if code != 0 {
		t.Fatalf("add: exit %d: %s", code, stderr)
	}
	if want := "The sync is scheduled for May 05, 2036 06:39 PM in Asia/Calcutta timezone"; !strings.Contains(out, want) {
		t.Errorf("add did not confirm the schedule %q:\n%s", want, out)
	}
	c := s.connector("dev")
	for k, v := range map[string]string{"description": "Contoso devices", "assetTags": "Cloud Agent,Windows", "schedule": "daily",
		"scheduleStart": "2036-05-05T18:39:00+05:30", "scheduleEnd": "2041-05-05T18:39:00+05:30", "scheduleEvery": "24h", "scheduleTZ": "Asia/Calcutta"} {
		if c.Settings[k] != v {
			t.Errorf("setting %s = %q, want %q", k, c.Settings[k], v)
		}
	}
	sealed := c.Sealed[qsync.SealedClientSecret]

	tests := []struct {
		name     string
		env      []string
		args     []string
		code     int
		out      string            // in stdout (exit 0) or stderr
		settings map[string]string // after; "" = absent
		rotated  bool
	}{
		{name: "nothing to change", args: []string{"edit", "dev"}, code: exitUsage, out: "nothing to change"},
		{name: "unknown connector", args: []string{"edit", "nope", "--description", "x"}, code: exitFailure, out: "connector nope does not exist"},
		{name: "a flag of another kind", args: []string{"edit", "dev", "--scope", "posture"}, code: exitUsage, out: "--scope does not apply to entra-devices connectors"},
		{name: "a bad value changes nothing", args: []string{"edit", "dev", "--description", strings.Repeat("x", 165)}, code: exitUsage, out: "--description is 165 characters",
			settings: map[string]string{"description": "Contoso devices"}},
		{name: "only the description", args: []string{"edit", "dev", "--description", "All devices"}, out: "connector dev updated (secret kept)",
			settings: map[string]string{"description": "All devices", "assetTags": "Cloud Agent,Windows", "tenantId": testTenant,
				"scheduleStart": "2036-05-05T18:39:00+05:30", "scheduleEnd": "2041-05-05T18:39:00+05:30"}},
		{name: "a new start moves the daily default end", args: []string{"edit", "dev", "--start", "2036-06-01 07:00"},
			out:      "The sync is scheduled for June 01, 2036 07:00 AM in Asia/Calcutta timezone",
			settings: map[string]string{"scheduleStart": "2036-06-01T07:00:00+05:30", "scheduleEnd": "2041-06-01T07:00:00+05:30", "description": "All devices"}},
		{name: "a new timezone keeps the wall time", args: []string{"edit", "dev", "--timezone", "Europe/London"},
			out:      "The sync is scheduled for June 01, 2036 07:00 AM in Europe/London timezone",
			settings: map[string]string{"scheduleStart": "2036-06-01T07:00:00+01:00", "scheduleTZ": "Europe/London"}},
		{name: "recurring", args: []string{"edit", "dev", "--schedule", "recurring", "--every", "12h"},
			out:      "The sync is scheduled for June 01, 2036 07:00 AM in Europe/London timezone",
			settings: map[string]string{"schedule": "recurring", "scheduleEvery": "12h", "scheduleEnd": ""}},
		{name: "manual", args: []string{"edit", "dev", "--manual"}, out: "Require Manual Sync is on",
			settings: map[string]string{"manual": "true", "schedule": "recurring"}},
		{name: "asset tags cleared, schedule removed", args: []string{"edit", "dev", "--asset-tags", "", "--schedule", "none", "--manual=false"},
			out: "connector dev updated", settings: map[string]string{"assetTags": "", "schedule": "", "scheduleStart": "", "scheduleTZ": "", "manual": ""}},
		{name: "rotate the secret", env: []string{"QTC_CLIENT_SECRET=second-client-secret-42"}, args: []string{"edit", "dev", "--rotate-secret"},
			out: "connector dev updated (new secret encrypted)", settings: map[string]string{"description": "All devices"}, rotated: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, stderr, code := s.run(s.env(tt.env...), append([]string{"connector"}, tt.args...)...)
			got := out
			if tt.code != 0 {
				got = stderr
			}
			if code != tt.code || !strings.Contains(got, tt.out) {
				t.Fatalf("exit %d (want %d), stdout %q, stderr %q; want %q", code, tt.code, out, stderr, tt.out)
			}
			c := s.connector("dev")
			for k, v := range tt.settings {
				if c.Settings[k] != v {
					t.Errorf("setting %s = %q, want %q (all: %v)", k, c.Settings[k], v, c.Settings)
				}
			}
			if rotated := c.Sealed[qsync.SealedClientSecret] != sealed; rotated != tt.rotated {
				t.Errorf("secret rotated: %v, want %v", rotated, tt.rotated)
			}
			sealed = c.Sealed[qsync.SealedClientSecret]
		})
	}

	// Qualys: a new platform picks its URLs again.
	if _, stderr, code := s.run(s.env("QTC_PASSWORD=qualys-password-43"), "connector", "add", "qualys", "acct", "--platform", "US1", "--username", "u"); code != 0 {
		t.Fatalf("add qualys: %s", stderr)
	}
	if _, stderr, code := s.run(s.env(), "connector", "edit", "acct", "--platform", "UK1"); code != 0 {
		t.Fatalf("edit qualys: %s", stderr)
	}
	if c := s.connector("acct"); c.Settings["gatewayURL"] != "https://gateway.qg1.apps.qualys.co.uk" || c.Settings["username"] != "u" {
		t.Errorf("qualys after edit: %v", c.Settings)
	}

	// Delete: scripts pass --yes; without a terminal, qtc refuses to guess.
	if _, stderr, code := s.run(s.env(), "connector", "delete", "nope", "--yes"); code != exitFailure || !strings.Contains(stderr, "does not exist") {
		t.Errorf("delete of a missing connector: exit %d, %s", code, stderr)
	}
	out, stderr, code = s.run(s.env(), "connector", "delete", "dev", "--yes")
	if code != 0 || !strings.Contains(out, "connector dev deleted") {
		t.Fatalf("delete: exit %d: %s%s", code, out, stderr)
	}
	out, _, _ = s.run(s.env(), "connector", "list")
	if strings.Contains(out, "dev ") || !strings.Contains(out, "acct") {
		t.Errorf("list after delete:\n%s", out)
	}
	if st, err := store.Open(s.db, store.Options{ReadOnly: true}); err == nil {
		_, err := st.Connector(context.Background(), "dev")
		st.Close()
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("deleted connector: %v", err)
		}
	}
}

func TestSyncDue(t *testing.T) {
	s := newSandbox(t)
	s.startSim()
	g := s.graph
	dayAgo := time.Now().Add(-26 * time.Hour).UTC().Format("2006-01-02 15:04")
	tomorrow := time.Now().Add(26 * time.Hour).UTC().Format("2006-01-02 15:04")
	add := func(name string, flags ...string) {
		t.Helper()
		args := append([]string{"connector", "add", "entra-devices", name, "--tenant-id", g["tenant"], "--client-id", g["client"],
			"--login-url", g["login URL"], "--graph-url", g["graph URL"]}, flags...)
		if _, stderr, code := s.run(s.env("QTC_CLIENT_SECRET="+g["secret"]), args...); code != 0 {
			t.Fatalf("add %s: exit %d: %s", name, code, stderr)
		}
	}
	add("due", "--schedule", "recurring", "--every", "1h", "--start", dayAgo)
	add("later", "--schedule", "once", "--start", tomorrow)
	add("hands", "--schedule", "recurring", "--every", "1h", "--start", dayAgo, "--manual")
	add("plain")
	// Set up three hours ago: the hourly ones have owed a run since.
	s.rewind(3*time.Hour, "due", "later", "hands", "plain")

	out, _, _ := s.run(s.env(), "connector", "list")
	for _, want := range []string{"NEXT RUN", "NEXT BASELINE"} {
		if !strings.Contains(out, want) {
			t.Errorf("list has no %s column:\n%s", want, out)
		}
	}
	tests := []struct {
		name       string
		args       []string
		code       int
		wantStderr []string
		notStderr  []string
		runs       map[string]int
	}{
		{"due runs only what is due", []string{"sync", "--due"}, 0, []string{"due: Processed"}, []string{"later", "hands", "plain"},
			map[string]int{"due": 1, "later": 0, "hands": 0, "plain": 0}},
		{"then nothing is due, quietly", []string{"sync", "--due"}, 0, nil, []string{"Processed", "skipped"},
			map[string]int{"due": 1, "later": 0, "hands": 0, "plain": 0}},
		{"-v says why", []string{"sync", "--due", "-v"}, 0, []string{"nothing due", "skipped hands: manual sync required"}, []string{"Processed"},
			map[string]int{"due": 1}},
		{"not with a name", []string{"sync", "--due", "due"}, exitUsage, []string{"--due syncs the connectors whose schedule is due: give no NAME"}, nil,
			map[string]int{"due": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, code := s.run(s.env(), tt.args...)
			if code != tt.code {
				t.Fatalf("%v: exit %d, want %d: %s", tt.args, code, tt.code, stderr)
			}
			for _, w := range tt.wantStderr {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			for _, w := range tt.notStderr {
				if strings.Contains(stderr, w) {
					t.Errorf("stderr has %q:\n%s", w, stderr)
				}
			}
			st, err := store.Open(s.db, store.Options{ReadOnly: true})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			for name, want := range tt.runs {
				if runs, err := st.Runs(context.Background(), name, 0); err != nil || len(runs) != want {
					t.Errorf("%s: %d runs, %v; want %d", name, len(runs), err, want)
				}
			}
		})
	}
	out, _, _ = s.run(s.env(), "connector", "list")
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 3 {
			continue
		}
		want := map[string]string{"due": "Processed", "later": "Scheduled", "hands": "Registered", "plain": "Registered"}[f[0]]
		if want != "" && f[2] != want {
			t.Errorf("%s: state %s, want %s", f[0], f[2], want)
		}
	}
}

// TestNoSecretInPlaintext adds connectors with known secrets, syncs,
// rotates one, and scans every file qtc wrote (store, key, config) and
// everything it printed for the secrets.
func TestNoSecretInPlaintext(t *testing.T) {
	s := newSandbox(t)
	url := s.startSim("--exceptions", "5", "--policies", "2")
	g := s.graph
	rotated := "rotated-Entra-secret-7f3a9c"
	secrets := []string{"demo-pass-2026", g["secret"], rotated}
	var printed strings.Builder
	run := func(env []string, args ...string) {
		t.Helper()
		out, stderr, code := s.run(env, args...)
		printed.WriteString(out + stderr)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
	}
	run(s.env("QTC_PASSWORD=demo-pass-2026"), "connector", "add", "qualys", "q", "--gateway-url", url, "--username", "demo", "--resources", "none")
	run(s.env("QTC_CLIENT_SECRET="+g["secret"]), "connector", "add", "entra", "e", "--tenant-id", g["tenant"], "--client-id", g["client"],
		"--login-url", g["login URL"], "--graph-url", g["graph URL"])
	run(s.env(), "sync")
	run(s.env("QTC_CLIENT_SECRET="+rotated), "connector", "edit", "e", "--rotate-secret", "--description", "rotated")
	run(s.env(), "connector", "list")
	run(s.env(), "sync", "q", "-v")
	for _, sec := range secrets {
		if strings.Contains(printed.String(), sec) {
			t.Errorf("qtc printed the secret %q", sec)
		}
	}
	files := 0
	err := filepath.WalkDir(s.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		files++
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, sec := range secrets {
			if bytes.Contains(data, []byte(sec)) {
				t.Errorf("%s contains the secret %q in plaintext", p, sec)
			}
		}
		if fi, _ := d.Info(); fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s has mode %v: others may read it", p, fi.Mode().Perm())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 2 {
		t.Fatalf("scanned %d files; want the store and the key at least", files)
	}
}

func TestConnectorEditDeleteHelp(t *testing.T) {
	s := newSandbox(t)
	for _, tt := range []struct {
		args []string
		want []string
	}{
		{[]string{"connector", "edit", "--help"}, []string{"usage: qtc connector edit NAME", "-rotate-secret", "-scope", "-asset-tags", "-username", "-schedule", "-timezone"}},
		{[]string{"connector", "delete", "--help"}, []string{"usage: qtc connector delete NAME", "-yes"}},
		{[]string{"connector", "add", "entra-devices", "--help"}, []string{"-asset-tags", "-description", "at most 164 characters", "-every"}},
		{[]string{"sync", "--help"}, []string{"-due"}},
	} {
		out, stderr, code := s.run(s.env(), tt.args...)
		for _, w := range tt.want {
			if code != 0 || !strings.Contains(out, w) {
				t.Errorf("%v: exit %d, stdout lacks %q: %s%s", tt.args, code, w, out, stderr)
			}
		}
	}
}
