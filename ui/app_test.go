package ui

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"runtime"
	"sort"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"

	"qtc/api/sim"
	"qtc/store"
	"qtc/store/vault"
	qsync "qtc/sync"
)

// harness drives the app's Update directly, running every returned command
// synchronously and feeding its messages back, the way the runtime would.
type harness struct {
	t   testing.TB
	app *app
	sim *sim.Server
	eng *qsync.Engine
}

func newHarness(t *testing.T, w, h int) *harness {
	t.Helper()
	dueCheckEvery = 0
	dir := t.TempDir()
	s := sim.New(sim.Options{Policies: 40, Exceptions: 250})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	st, err := store.Open(filepath.Join(dir, "qtc.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	v, err := vault.Open(filepath.Join(dir, "key"))
	if err != nil {
		t.Fatal(err)
	}
	eng := &qsync.Engine{Store: st, Vault: v}
	d := sim.Defaults(sim.Options{})
	ctx := context.Background()
	if _, err := eng.SaveQualys(ctx, qsync.QualysConnector{Name: "t", GatewayURL: srv.URL, Username: d.Username, Password: d.Password}); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Sync(ctx, "t", qsync.Options{}); err != nil {
		t.Fatal(err)
	}
	hn := &harness{t: t, app: newApp(ctx, Config{Engine: eng}), sim: s, eng: eng}
	hn.send(tea.WindowSizeMsg{Width: w, Height: h})
	hn.run(hn.app.Init())
	return hn
}

func (h *harness) send(msg tea.Msg) {
	_, cmd := h.app.Update(msg)
	h.run(cmd)
}

func (h *harness) run(cmd tea.Cmd) {
	queue := []tea.Cmd{cmd}
	for n := 0; len(queue) > 0; n++ {
		if n > 10000 {
			h.t.Fatal("command loop did not settle")
		}
		c := queue[0]
		queue = queue[1:]
		if c == nil || isCursorBlink(c) {
			continue
		}
		m := c()
		if n > 9990 {
			h.t.Logf("msg %T %+v", m, m)
		}
		if v := reflect.ValueOf(m); m != nil && v.Kind() == reflect.Slice && v.Type().ConvertibleTo(cmdSlice) {
			// tea.Sequence: its commands in order, before anything queued.
			seq := v.Convert(cmdSlice).Interface().([]tea.Cmd)
			queue = append(append([]tea.Cmd(nil), seq...), queue...)
			continue
		}
		switch msg := m.(type) {
		case nil:
		case tea.BatchMsg:
			queue = append(queue, msg...)
		case tea.QuitMsg:
			return
		default:
			_, next := h.app.Update(msg)
			queue = append(queue, next)
		}
	}
}

// isCursorBlink spots the text cursor's blink timer (huh's inputs blink and
// offer no switch). It only schedules a redraw, so the harness skips it
// rather than waiting half a second per keystroke.
func isCursorBlink(c tea.Cmd) bool {
	name := runtime.FuncForPC(reflect.ValueOf(c).Pointer()).Name()
	return strings.Contains(name, "bubbles/v2/cursor.")
}

func (h *harness) keys(ks ...string) {
	for _, k := range ks {
		h.send(keyPress(k))
	}
}

func (h *harness) typeText(s string) {
	for _, r := range s {
		h.send(tea.KeyPressMsg{Code: r, Text: string(r)})
	}
}

func keyPress(k string) tea.KeyPressMsg {
	switch k {
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "tab":
		return tea.KeyPressMsg{Code: tea.KeyTab}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	case "end":
		return tea.KeyPressMsg{Code: tea.KeyEnd}
	case "backspace":
		return tea.KeyPressMsg{Code: tea.KeyBackspace}
	case "left":
		return tea.KeyPressMsg{Code: tea.KeyLeft}
	case "right":
		return tea.KeyPressMsg{Code: tea.KeyRight}
	case "ctrl+r":
		return tea.KeyPressMsg{Code: 'r', Mod: tea.ModCtrl}
	}
	r := []rune(k)[0]
	return tea.KeyPressMsg{Code: r, Text: k}
}

func (h *harness) screen() string {
	return ansi.Strip(h.app.View().Content)
}

func (h *harness) contains(want ...string) {
	h.t.Helper()
	s := h.screen()
	for _, w := range want {
		if !strings.Contains(s, w) {
			h.t.Fatalf("screen does not show %q:\n%s", w, s)
		}
	}
}

// exceptionNames returns the simulator's exception names, sorted as the
// list sorts them (case-insensitively).
func (h *harness) exceptionNames() []string {
	var names []string
	for _, raw := range h.sim.ExceptionRecords() {
		var e struct{ Name string }
		if err := json.Unmarshal(raw, &e); err != nil {
			h.t.Fatal(err)
		}
		names = append(names, e.Name)
	}
	sort.Slice(names, func(i, j int) bool { return strings.ToLower(names[i]) < strings.ToLower(names[j]) })
	return names
}

func TestOpensOnFirstTypeOfConnector(t *testing.T) {
	h := newHarness(t, 160, 30)
	h.contains("qtc ▸ t ▸ policies", "40 records", "Processed", "TITLE", "CONTROLS")
	h.open("exceptions")
	h.contains("qtc ▸ t ▸ exceptions", "250 records", "NAME", "STATE")
	h.contains(h.exceptionNames()[0])
}

// open switches to a type's screen through the command line.
func (h *harness) open(typ string) {
	h.keys(":")
	h.typeText(typ)
	h.keys("enter")
}

func TestEveryFrameFitsTheTerminal(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {120, 40}, {60, 15}} {
		h := newHarness(t, size[0], size[1])
		for _, step := range [][]string{nil, {"?"}, {"esc", ":"}, {"esc", "enter"}, {"tab"}} {
			h.keys(step...)
			lines := strings.Split(h.screen(), "\n")
			if len(lines) != size[1] {
				t.Fatalf("%v after %v: %d lines, want %d", size, step, len(lines), size[1])
			}
			for i, l := range lines {
				if w := ansi.StringWidth(l); w > size[0] {
					t.Fatalf("%v after %v: line %d is %d wide: %q", size, step, i, w, l)
				}
			}
		}
	}
}

func TestCommandLineSwitchesScreens(t *testing.T) {
	h := newHarness(t, 100, 30)
	h.keys(":")
	h.typeText("pol")
	h.keys("enter")
	h.contains("▸ policies", "40 records", "TITLE", "CONTROLS")
	h.keys(":")
	h.typeText("connectors")
	h.keys("enter")
	h.contains("▸ connectors", "KIND", "qualys")
	h.keys(":")
	h.typeText("nonsense")
	h.keys("enter")
	h.contains("unknown command :nonsense")
}

func TestFilterNarrowsAndEscClears(t *testing.T) {
	h := newHarness(t, 120, 30)
	h.open("exceptions")
	names := h.exceptionNames()
	target := names[len(names)/2]
	h.keys("/")
	if !h.app.top().Capturing() {
		t.Fatal("filter does not capture keys")
	}
	h.typeText(`"` + target + `"`)
	// 'q' typed into the filter must not quit: the app still renders.
	h.contains(target, "1 of 250 records")
	h.keys("enter")
	h.contains(`filter: "` + target + `"`)
	h.keys("esc")
	h.contains("250 records")
	if strings.Contains(h.screen(), "of 250 records") {
		t.Fatal("esc did not clear the filter")
	}
	h.keys("/")
	h.typeText(`!"` + target + `"`)
	h.keys("enter")
	h.contains("249 of 250 records")
}

func TestFilterLanguageByColumnAndErrors(t *testing.T) {
	h := newHarness(t, 120, 30)
	h.open("exceptions")
	want := 0
	for _, raw := range h.sim.ExceptionRecords() {
		var e struct{ State string }
		if err := json.Unmarshal(raw, &e); err != nil {
			t.Fatal(err)
		}
		if e.State == "EXPIRED" {
			want++
		}
	}
	h.keys("/")
	h.typeText("state=expired")
	h.keys("enter")
	h.contains(fmt.Sprintf("%d of 250 records", want))
	h.keys("/")
	h.typeText(" bogus:x")
	h.contains(`"bogus:x": no column`)
}

func TestDetailShowsFieldsAndRawJSON(t *testing.T) {
	h := newHarness(t, 120, 40)
	h.open("exceptions")
	first := h.exceptionNames()[0]
	h.keys("enter")
	h.contains("Fields", "JSON", "uuid", "startingDate", first)
	h.keys("tab")
	h.contains(`"uuid": "`, `"name": "`+first)
	h.keys("esc")
	h.contains("250 records", "NAME")
}

func TestSortByColumnShowsDirection(t *testing.T) {
	h := newHarness(t, 120, 30)
	h.open("exceptions")
	h.keys("2")
	h.contains("sorted by STATE ▲", "STATE ▲")
	h.keys("2")
	h.contains("sorted by STATE ▼")
}

func TestHelpListsBindings(t *testing.T) {
	h := newHarness(t, 100, 40)
	h.keys("?")
	h.contains("filter", "sort by column", "command", ":exceptions", ":policies", ":connectors")
	h.keys("esc")
	h.contains("TITLE")
}

func TestSyncFromTUIShowsProgressAndOutcome(t *testing.T) {
	h := newHarness(t, 120, 30)
	h.open("exceptions")
	h.keys("ctrl+r")
	h.contains("Sync of t", "exceptions", "policies", "Processed")
	h.keys("esc")
	h.contains("250 records")
}

func TestNoColorForcesASCIIProfile(t *testing.T) {
	for _, tt := range []struct {
		env  map[string]string
		want bool
	}{{map[string]string{"NO_COLOR": "1"}, true}, {map[string]string{}, false}} {
		p, ok := forcedProfile(func(k string) string { return tt.env[k] })
		if ok != tt.want || (ok && p != colorprofile.ASCII) {
			t.Errorf("env %v: profile %v, forced %v", tt.env, p, ok)
		}
	}
}

func TestCIEMScreenShowsResolvedRolesAndFilters(t *testing.T) {
	h := newHarness(t, 160, 30)
	h.open("azure/role_assignment")
	total := len(h.sim.Records(sim.TypeRoleAssignment))
	h.contains("▸ azure/ROLE_ASSIGNMENT", fmt.Sprintf("%d records", total), "ROLE", "PRINCIPAL TYPE", "SCOPE")
	// The first row's ROLE cell is a role definition's name, not an id.
	names := map[string]bool{}
	for _, raw := range h.sim.Records(sim.TypeRoleDefinitions) {
		var d struct{ RoleName string }
		json.Unmarshal(raw, &d)
		names[d.RoleName] = true
	}
	rs := h.app.top().(*recordsScreen)
	row, ok := rs.list.Selected()
	if !ok || !names[row.Cells[0]] {
		t.Fatalf("first row role %q is not a synced role name", row.Cells)
	}
	users := 0
	for _, raw := range h.sim.Records(sim.TypeRoleAssignment) {
		var a struct{ PrincipalType string }
		json.Unmarshal(raw, &a)
		if a.PrincipalType == "User" {
			users++
		}
	}
	h.keys("/")
	h.typeText("principaltype=user")
	h.keys("enter")
	h.contains(fmt.Sprintf("%d of %d records", users, total))
}

func TestExceptionFormCreatesOnTheServer(t *testing.T) {
	h := newHarness(t, 120, 40)
	h.open("exceptions")
	h.keys("n")
	h.contains("New exception", "Name", "Reason")
	h.typeText("Form-made exception")
	for i := 0; i < 7; i++ { // name → … → ends → review
		h.keys("enter")
	}
	h.contains("Review", "Form-made exception")
	h.keys("y")
	h.contains("251 records")
	var found bool
	for _, raw := range h.sim.ExceptionRecords() {
		if strings.Contains(string(raw), `"name":"Form-made exception"`) {
			found = true
		}
	}
	if !found {
		t.Fatal("the form did not create the exception on the server")
	}
}

func TestCommandLineOffersTheConnectorsTypes(t *testing.T) {
	got := strings.Join(completions("qualys"), " ")
	if !strings.Contains(got, "exceptions") || strings.Contains(got, "devices") || !strings.Contains(got, "connectors") {
		t.Errorf("qualys completions: %s", got)
	}
	if n, ok := resolve("users", "qualys"); ok {
		t.Errorf("users resolved to %s on a Qualys connector", n)
	}
	if n, ok := resolve("aws/S3_BUCKET", "qualys"); !ok || n != "aws/S3_BUCKET" {
		t.Errorf("generic resource type: %s %v", n, ok)
	}
	if _, ok := resolve("aws/S3_BUCKET", "entra"); ok {
		t.Error("a TotalCloud type resolved on an Entra connector")
	}
}
