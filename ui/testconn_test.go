package ui

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"qtc/api/sim"
	qsync "qtc/sync"
)

// asyncDriver runs the app as the runtime does: every command in its own
// goroutine, their messages fed back to Update one at a time, so a
// screen fed by a background goroutine can be watched mid-run.
type asyncDriver struct {
	t    *testing.T
	app  *app
	msgs chan tea.Msg
}

func newAsyncDriver(t *testing.T, a *app) *asyncDriver {
	return &asyncDriver{t: t, app: a, msgs: make(chan tea.Msg, 1024)}
}

var cmdSlice = reflect.TypeOf([]tea.Cmd(nil))

func (d *asyncDriver) exec(cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	go func() {
		d.msgs <- cmd()
	}()
}

// dispatch handles one message: batches run concurrently, sequences (an
// unexported slice of commands) in order, anything else goes to Update.
func (d *asyncDriver) dispatch(m tea.Msg) {
	switch msg := m.(type) {
	case nil, tea.QuitMsg:
		return
	case tea.BatchMsg:
		for _, c := range msg {
			d.exec(c)
		}
		return
	}
	if v := reflect.ValueOf(m); v.Kind() == reflect.Slice && v.Type().ConvertibleTo(cmdSlice) {
		cmds := v.Convert(cmdSlice).Interface().([]tea.Cmd)
		go func() {
			for _, c := range cmds {
				if c != nil {
					d.msgs <- c()
				}
			}
		}()
		return
	}
	_, cmd := d.app.Update(m)
	d.exec(cmd)
}

func (d *asyncDriver) send(m tea.Msg) { d.dispatch(m) }

func (d *asyncDriver) screen() string { return ansi.Strip(d.app.View().Content) }

// waitFor processes messages until the screen shows every want, or fails
// after a deadline.
func (d *asyncDriver) waitFor(want ...string) string {
	d.t.Helper()
	return d.waitUntil(fmt.Sprintf("shows %q", want), func(s string) bool {
		for _, w := range want {
			if !strings.Contains(s, w) {
				return false
			}
		}
		return true
	})
}

// waitUntil processes messages until ok(screen), or fails after a deadline.
func (d *asyncDriver) waitUntil(what string, ok func(screen string) bool) string {
	d.t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		s := d.screen()
		if ok(s) {
			return s
		}
		select {
		case m := <-d.msgs:
			d.dispatch(m)
		case <-deadline:
			d.t.Fatalf("the screen never %s:\n%s", what, s)
		}
	}
}

// gatedQualys serves the Qualys simulator with POST /auth held until
// release is closed (or the client gives up, reported on cancelled).
func gatedQualys(t *testing.T) (url string, release, cancelled, arrived chan struct{}) {
	t.Helper()
	release, cancelled, arrived = make(chan struct{}), make(chan struct{}, 4), make(chan struct{}, 4)
	h := sim.New(sim.Options{Policies: 7, Exceptions: 9, Counts: map[string]int{}}).Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/auth" {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(strings.NewReader(string(body)))
			select {
			case arrived <- struct{}{}:
			default: // nobody is counting
			}
			select {
			case <-release:
			case <-r.Context().Done():
				cancelled <- struct{}{}
				return
			}
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, release, cancelled, arrived
}

// stepRunning reports whether the screen shows the named step running.
func stepRunning(screen, name string) bool {
	for _, l := range strings.Split(screen, "\n") {
		if strings.Contains(l, name) && strings.Contains(l, "running…") {
			return true
		}
	}
	return false
}

// runningLine returns the screen line of step n and checks it shows a
// spinner frame and "running…".
func runningLine(t *testing.T, screen string, name string) {
	t.Helper()
	for _, l := range strings.Split(screen, "\n") {
		if !strings.Contains(l, name) {
			continue
		}
		if !strings.Contains(l, "running…") {
			t.Fatalf("%s is not running: %q", name, l)
		}
		for _, f := range spinner.MiniDot.Frames {
			if strings.Contains(l, f) {
				return
			}
		}
		t.Fatalf("%s shows no spinner: %q", name, l)
	}
	t.Fatalf("no line for %s:\n%s", name, screen)
}

func TestTestConnectionScreenIsLive(t *testing.T) {
	h := newHarness(t, 120, 30)
	url, release, _, _ := gatedQualys(t)
	d := sim.Defaults(sim.Options{})
	if _, err := h.eng.SaveQualys(context.Background(), qsync.QualysConnector{Name: "gated", GatewayURL: url, Username: d.Username, Password: d.Password, Resources: "none"}); err != nil {
		t.Fatal(err)
	}
	dr := newAsyncDriver(t, h.app)
	dr.send(keyPress("C"))
	dr.waitFor("connectors", "gated", "t test connection")
	dr.send(keyPress("t")) // the first row: gated
	s := dr.waitUntil("shows step 3 running", func(s string) bool { return stepRunning(s, "Authentication Credential Check") })
	runningLine(t, s, "Authentication Credential Check")
	for _, w := range []string{"127.0.0.1:", " reachable", "– 2 TLS Handshake", "skipped: http:// endpoint (no TLS)", "· 4 Authorization Scope Check", "pending", "testing… esc cancels"} {
		if !strings.Contains(s, w) {
			t.Fatalf("mid-run screen lacks %q:\n%s", w, s)
		}
	}
	close(release)
	s = dr.waitFor("✓ all checks passed")
	for _, w := range []string{"✓ 3 Authentication Credential Check", "token obtained for user demo", "✓ 4 Authorization Scope Check",
		"✓ 5 Data Fetch", "policies: 1 of 7", "exceptions: 1 of 9", "ms", "r tests again"} {
		if !strings.Contains(s, w) {
			t.Fatalf("final screen lacks %q:\n%s", w, s)
		}
	}
	if strings.Contains(s, "running…") {
		t.Fatalf("a step still runs:\n%s", s)
	}
	// r runs it again, esc goes back to the connectors.
	dr.send(keyPress("r"))
	dr.waitFor("✓ all checks passed")
	dr.send(keyPress("esc"))
	dr.waitUntil("went back to the connectors", func(s string) bool {
		return !strings.Contains(s, "Test Connection") && strings.Contains(s, "t test ·")
	})
}

func TestTestConnectionScreenEscCancels(t *testing.T) {
	h := newHarness(t, 100, 30)
	url, _, cancelled, arrived := gatedQualys(t)
	d := sim.Defaults(sim.Options{})
	if _, err := h.eng.SaveQualys(context.Background(), qsync.QualysConnector{Name: "gated", GatewayURL: url, Username: d.Username, Password: d.Password}); err != nil {
		t.Fatal(err)
	}
	dr := newAsyncDriver(t, h.app)
	scr := newTestConnScreen(h.app.env, "gated")
	dr.send(pushMsg{scr})
	// Steps 1 and 2 pass quickly; /auth is held, so step 3 stays running.
	screen := dr.waitUntil("shows step 3 running", func(s string) bool { return stepRunning(s, "Authentication Credential Check") })
	runningLine(t, screen, "Authentication Credential Check")
	// esc must cancel a request the server holds, not one still on its way.
	select {
	case <-arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("POST /auth never reached the server")
	}
	depth := len(h.app.stack)
	dr.send(keyPress("esc"))
	dr.waitUntil("left the test screen", func(s string) bool { return !strings.Contains(s, "Test Connection") })
	if len(h.app.stack) != depth-1 {
		t.Fatalf("stack depth %d after esc, want %d", len(h.app.stack), depth-1)
	}
	select {
	case <-cancelled:
	case <-time.After(10 * time.Second):
		t.Fatal("esc did not cancel the running request")
	}
	if scr.(*testConnScreen).Passed() {
		t.Fatal("a cancelled test passed")
	}
}

// TestTestConnectionScreenForUnsaved: the wizard's entry point tests what
// is typed, reports a failure with its fix, and tells onClose the outcome.
func TestTestConnectionScreenForUnsaved(t *testing.T) {
	h := newHarness(t, 100, 40)
	srv := httptest.NewServer(h.sim.Handler())
	t.Cleanup(srv.Close)
	d := sim.Defaults(sim.Options{})
	for _, tc := range []struct {
		name, password string
		passed         bool
		want           []string
	}{
		{"good", d.Password, true, []string{"✓ all checks passed", "✓ 5 Data Fetch"}},
		{"bad", "wrong-password", false, []string{"✗ a check failed", "✗ 3 Authentication Credential Check", "HTTP 401",
			"fix: check the username and password", "– 4 Authorization Scope Check", "skipped: step 3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dr := newAsyncDriver(t, h.app)
			var gotPassed *bool
			var gotSteps []qsync.StepResult
			c := qsync.QualysConnector{Name: "new-" + tc.name, GatewayURL: srv.URL, Username: d.Username, Password: tc.password, Resources: "none"}
			dr.send(pushMsg{newTestConnScreenFor(h.app.env, c, func(passed bool, steps []qsync.StepResult) tea.Cmd {
				gotPassed, gotSteps = &passed, steps
				return status("closed " + c.Name)
			})})
			s := dr.waitFor(append([]string{"Test Connection · new-" + tc.name}, tc.want...)...)
			for i, l := range strings.Split(s, "\n") {
				if w := ansi.StringWidth(l); w > 100 {
					t.Fatalf("line %d is %d wide", i, w)
				}
			}
			dr.send(keyPress("esc"))
			dr.waitFor("closed new-" + tc.name)
			if gotPassed == nil || *gotPassed != tc.passed || len(gotSteps) != 5 {
				t.Fatalf("onClose: passed %v, %d steps", gotPassed, len(gotSteps))
			}
			if _, err := h.eng.Store.Connector(context.Background(), c.Name); err == nil {
				t.Fatal("testing an unsaved connector stored it")
			}
		})
	}
}
