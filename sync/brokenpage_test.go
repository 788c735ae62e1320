package sync_test

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"qtc/api/graph"
	"qtc/api/sim"
	graphsim "qtc/api/sim/graph"
	"qtc/store"
	qsync "qtc/sync"
)

// atByte finds the byte offset a decode error names.
var atByte = regexp.MustCompile(`at byte (\d+)`)

// assertNamesURLAndOffset checks a run error names the page's URL and a
// byte offset inside its body.
func assertNamesURLAndOffset(t *testing.T, err error, url string) {
	t.Helper()
	if err == nil {
		t.Fatal("the sync succeeded with a page that stays broken")
	}
	msg := err.Error()
	if !strings.Contains(msg, url) {
		t.Errorf("error does not name the page's URL %s:\n%s", url, msg)
	}
	m := atByte.FindStringSubmatch(msg)
	if m == nil {
		t.Fatalf("error names no byte offset:\n%s", msg)
	}
	if n, _ := strconv.Atoi(m[1]); n <= 0 {
		t.Errorf("byte offset %d: want where the body broke, past its start", n)
	}
}

// TestGraphPageThatStaysBrokenFailsTheRun: the second page of a full
// pull's users listing always comes cut off mid-JSON (the connection closes) or
// malformed (a complete answer that is half a JSON document). After the
// client's retries the run fails naming the page's URL and the byte
// offset; the stream's cursor still points at that page; the first page
// is stored and nothing of the broken one is. Once the page mends, the
// next sync resumes there and ends with the truth.
func TestGraphPageThatStaysBrokenFailsTheRun(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out the client's backoff between attempts")
	}
	tests := []struct {
		name  string
		fault func(pin func(*http.Request) bool) graphsim.FaultOptions
		cause string
	}{
		{"cut off", func(pin func(*http.Request) bool) graphsim.FaultOptions {
			return graphsim.FaultOptions{TruncateIf: pin}
		}, "truncated"},
		{"malformed", func(pin func(*http.Request) bool) graphsim.FaultOptions {
			return graphsim.FaultOptions{MalformIf: pin}
		}, "malformed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var broken atomic.Bool
			broken.Store(true)
			pin := func(r *http.Request) bool {
				return broken.Load() && strings.HasSuffix(r.URL.Path, "/users") && strings.Contains(r.URL.RawQuery, "skiptoken")
			}
			f := newEntraFixture(t, qsync.KindEntra, graphsim.Options{Users: 2500, Groups: 3, Budget: -1, Faults: tc.fault(pin)}, "identities")
			ctx := context.Background()
			opt := qsync.Options{Types: []string{"users"}}
			run, err := f.eng.Sync(ctx, "e", opt)
			st, serr := f.eng.Store.StreamState(ctx, "e", "users")
			if serr != nil {
				t.Fatal(serr)
			}
			// A full pull's cursor is the next link, then the delta link
			// it took before listing.
			link, _, _ := strings.Cut(st.Marker, " ")
			if st.Phase != store.PhasePaging || !strings.Contains(link, "skiptoken") {
				t.Fatalf("cursor %+v: want the broken page's link", st)
			}
			assertNamesURLAndOffset(t, err, link)
			if run.State != qsync.StateErrored || run.Retries[tc.cause] != 2 {
				t.Errorf("run %s, retries %v: want Errored after 2 retries as %q", run.State, run.Retries, tc.cause)
			}
			if got := f.sim.Stats().Faults[tc.cause]; got != 3 {
				t.Errorf("the simulator broke the page %d times, want 3 attempts", got)
			}

			// What the broken page holds, read once it mends.
			broken.Store(false)
			d := graphsim.Defaults(f.sim.Options())
			conn, err := f.eng.Store.Connector(ctx, "e")
			if err != nil {
				t.Fatal(err)
			}
			c, err := graph.New(graph.Config{TenantID: d.TenantID, ClientID: d.ClientID, ClientSecret: d.ClientSecret,
				Cloud: graph.Cloud{LoginURL: conn.Settings[qsync.SettingLoginURL], GraphURL: conn.Settings[qsync.SettingGraphURL]}})
			if err != nil {
				t.Fatal(err)
			}
			page, err := c.Get(ctx, link)
			if err != nil {
				t.Fatal(err)
			}
			stored := f.present("users")
			if len(stored) == 0 || len(stored)+len(page.Items) > len(f.sim.Truth().Users) {
				t.Fatalf("%d users stored, %d on the broken page, %d in all: want exactly the pages before it", len(stored), len(page.Items), len(f.sim.Truth().Users))
			}
			for _, it := range page.Items {
				var o struct {
					ID string `json:"id"`
				}
				if err := json.Unmarshal(it, &o); err != nil {
					t.Fatal(err)
				}
				if stored[o.ID] {
					t.Errorf("user %s of the broken page is in the store", o.ID)
				}
			}

			if _, err := f.eng.Sync(ctx, "e", opt); err != nil {
				t.Fatalf("sync after the page mended: %v", err)
			}
			f.assertSame("users", f.sim.Truth().Users)
		})
	}
}

// TestQualysPageThatStaysBrokenFailsTheRun: the same for a TotalCloud
// page: the exceptions list's second page always comes cut off or
// malformed.
func TestQualysPageThatStaysBrokenFailsTheRun(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out the client's backoff between attempts")
	}
	tests := []struct {
		name  string
		fault func(pin func(*http.Request) bool) sim.FaultOptions
		cause string
	}{
		{"cut off", func(pin func(*http.Request) bool) sim.FaultOptions { return sim.FaultOptions{TruncateIf: pin} }, "truncated"},
		{"malformed", func(pin func(*http.Request) bool) sim.FaultOptions { return sim.FaultOptions{MalformIf: pin} }, "malformed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var broken atomic.Bool
			broken.Store(true)
			pin := func(r *http.Request) bool {
				return broken.Load() && strings.HasSuffix(r.URL.Path, "/exceptions/list") && r.URL.Query().Get("pageNo") == "1"
			}
			f := newFixture(t, sim.Options{Policies: 5, Exceptions: 120, Faults: tc.fault(pin)})
			ctx := context.Background()
			opt := qsync.Options{Types: []string{"exceptions"}}
			run, err := f.engine.Sync(ctx, "t", opt)
			assertNamesURLAndOffset(t, err, f.url+"/cloudview-api/rest/v1/exceptions/list?pageNo=1&pageSize=50")
			if run.State != qsync.StateErrored || run.Retries[tc.cause] != 4 {
				t.Errorf("run %s, retries %v: want Errored after 4 retries as %q", run.State, run.Retries, tc.cause)
			}
			if got := f.sim.Stats().Faults[tc.cause]; got != 5 {
				t.Errorf("the simulator broke the page %d times, want 5 attempts", got)
			}
			st, err := f.engine.Store.StreamState(ctx, "t", "exceptions")
			if err != nil {
				t.Fatal(err)
			}
			if st.Phase != store.PhasePaging || st.NextPage != 1 {
				t.Fatalf("cursor %+v: want page 1 next", st)
			}
			// Exactly the first page is stored.
			served := f.sim.ExceptionRecords()
			var first [][]byte
			for _, r := range served[:50] {
				first = append(first, r)
			}
			f.assertTruth("exceptions", first)

			broken.Store(false)
			if _, err := f.engine.Sync(ctx, "t", opt); err != nil {
				t.Fatalf("sync after the page mended: %v", err)
			}
			var all [][]byte
			for _, r := range served {
				all = append(all, r)
			}
			f.assertTruth("exceptions", all)
		})
	}
}
