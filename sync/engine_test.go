package sync_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"qtc/api/sim"
	"qtc/store"
	"qtc/store/vault"
	qsync "qtc/sync"
)

// fixture is a store, a vault and a simulator with a connector pointing at it.
type fixture struct {
	t      *testing.T
	dir    string
	sim    *sim.Server
	url    string
	engine *qsync.Engine
}

func newFixture(t *testing.T, opt sim.Options) *fixture {
	t.Helper()
	f := &fixture{t: t, dir: t.TempDir()}
	f.sim = sim.New(opt)
	srv := httptest.NewServer(f.sim.Handler())
	t.Cleanup(srv.Close)
	f.url = srv.URL
	f.open()
	if _, err := f.engine.SaveQualys(context.Background(), qsync.QualysConnector{
		Name: "t", GatewayURL: f.url, Username: sim.Defaults(opt).Username, Password: sim.Defaults(opt).Password,
		Resources: "none", // resource streams have their own tests
	}); err != nil {
		t.Fatal(err)
	}
	return f
}

// open (re)opens the store, as a new process would.
func (f *fixture) open() {
	f.t.Helper()
	st, err := store.Open(filepath.Join(f.dir, "qtc.db"), store.Options{})
	if err != nil {
		f.t.Fatal(err)
	}
	v, err := vault.Open(filepath.Join(f.dir, "key"))
	if err != nil {
		f.t.Fatal(err)
	}
	f.engine = &qsync.Engine{Store: st, Vault: v, PageSize: 50}
	f.t.Cleanup(func() { st.Close() })
}

func (f *fixture) close() {
	if err := f.engine.Store.Close(); err != nil {
		f.t.Fatal(err)
	}
}

// assertTruth checks the store holds exactly the simulator's records, byte
// for byte, and that its indexes are consistent.
func (f *fixture) assertTruth(typ string, truth [][]byte) {
	f.t.Helper()
	ctx := context.Background()
	seen := map[string]bool{}
	present := 0
	err := f.engine.Store.Each(ctx, "t", typ, func(r store.Record) error {
		if seen[r.ID] {
			return errors.New("duplicate " + r.ID)
		}
		seen[r.ID] = true
		if r.Removed.IsZero() {
			present++
		}
		return nil
	})
	if err != nil {
		f.t.Fatal(err)
	}
	if present != len(truth) {
		f.t.Fatalf("%s: store has %d present records, simulator %d", typ, present, len(truth))
	}
	if err != nil {
		f.t.Fatal(err)
	}
	for _, raw := range truth {
		id := uuidOf(f.t, raw)
		rec, err := f.engine.Store.Get(ctx, "t", typ, id)
		if err != nil {
			f.t.Fatalf("%s %s: %v", typ, id, err)
		}
		if !rec.Removed.IsZero() {
			f.t.Fatalf("%s %s is at the source but marked removed", typ, id)
		}
		if !bytes.Equal(rec.Raw, raw) {
			f.t.Fatalf("%s %s: stored bytes differ from served bytes", typ, id)
		}
	}
	if err := f.engine.Store.Check(ctx); err != nil {
		f.t.Fatal(err)
	}
}

func uuidOf(t *testing.T, raw []byte) string {
	t.Helper()
	i := bytes.Index(raw, []byte(`"uuid":"`))
	if i < 0 {
		i = bytes.Index(raw, []byte(`"uuid": "`))
		if i < 0 {
			t.Fatalf("no uuid in %s", raw)
		}
		i++
	}
	rest := raw[i+8:]
	return string(rest[:bytes.IndexByte(rest, '"')])
}

func TestFullSyncMatchesSimulator(t *testing.T) {
	f := newFixture(t, sim.Options{Policies: 73, Exceptions: 260})
	run, err := f.engine.Sync(context.Background(), "t", qsync.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if run.State != qsync.StateProcessed {
		t.Fatalf("state = %s, want Processed", run.State)
	}
	if got := run.Counts["exceptions"].Added; got != 260 {
		t.Errorf("exceptions added = %d, want 260", got)
	}
	f.assertTruth("policies", toBytes(f.sim.PolicyRecords()))
	f.assertTruth("exceptions", toBytes(f.sim.ExceptionRecords()))

	// A second run changes nothing and removes nothing.
	run, err = f.engine.Sync(context.Background(), "t", qsync.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := run.Counts["exceptions"]
	if c.Added != 0 || c.Changed != 0 || c.Removed != 0 || c.Unchanged != 260 {
		t.Errorf("second run counts = %+v, want 260 unchanged only", c)
	}
	runs, err := f.engine.Store.Runs(context.Background(), "t", 10)
	if err != nil || len(runs) != 2 || runs[0].ID <= runs[1].ID {
		t.Fatalf("runs = %+v, %v: want 2, newest first", runs, err)
	}
}

func TestInterruptedSyncResumesWithoutLossOrDuplicates(t *testing.T) {
	for _, stopAfter := range []int{1, 3, 5} {
		t.Run("", func(t *testing.T) {
			f := newFixture(t, sim.Options{Policies: 10, Exceptions: 300}) // exceptions: 6 pages of 50
			f.engine.GroupRecords = 1                                      // a write per page
			ctx, cancel := context.WithCancel(context.Background())
			written := 0 // pages committed when the sync was interrupted
			_, err := f.engine.Sync(ctx, "t", qsync.Options{Types: []string{"exceptions"}, Progress: func(ev qsync.Event) {
				if ev.Phase == "paging" && written == 0 && ev.Page >= stopAfter {
					written = ev.Page
					cancel()
				}
			}})
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("interrupted sync err = %v, want context.Canceled", err)
			}
			st, err := f.engine.Store.StreamState(context.Background(), "t", "exceptions")
			if err != nil {
				t.Fatal(err)
			}
			if st.Phase != store.PhasePaging || st.NextPage != written {
				t.Fatalf("after %d pages state = %+v, want paging at page %d", written, st, written)
			}
			f.close()

			f.open() // a new process
			run, err := f.engine.Sync(context.Background(), "t", qsync.Options{Types: []string{"exceptions"}})
			if err != nil {
				t.Fatal(err)
			}
			if got := run.Counts["exceptions"].Pages; got != 6-stopAfter {
				t.Errorf("resumed run fetched %d pages, want %d", got, 6-stopAfter)
			}
			f.assertTruth("exceptions", toBytes(f.sim.ExceptionRecords()))
		})
	}
}

func TestFullSyncRemovesRecordsGoneFromSource(t *testing.T) {
	f := newFixture(t, sim.Options{Policies: 5, Exceptions: 120})
	if _, err := f.engine.Sync(context.Background(), "t", qsync.Options{}); err != nil {
		t.Fatal(err)
	}
	// The same account later serves fewer exceptions.
	smaller := sim.New(sim.Options{Policies: 5, Exceptions: 100})
	srv := httptest.NewServer(smaller.Handler())
	defer srv.Close()
	pw := sim.Defaults(sim.Options{}).Password
	if _, err := f.engine.SaveQualys(context.Background(), qsync.QualysConnector{Name: "t", GatewayURL: srv.URL, Username: "demo", Password: pw, Resources: "none"}); err != nil {
		t.Fatal(err)
	}
	run, err := f.engine.Sync(context.Background(), "t", qsync.Options{})
	if err != nil {
		t.Fatal(err)
	}
	truth := toBytes(smaller.ExceptionRecords())
	removed := 120 - countCommonIDs(t, toBytes(f.sim.ExceptionRecords()), truth)
	if got := run.Counts["exceptions"].Removed; got != removed {
		t.Errorf("removed = %d, want %d", got, removed)
	}
	f.assertTruth("exceptions", truth)
	// Records gone from the source stay browsable, marked removed.
	if n, err := f.engine.Store.CountRemoved(context.Background(), "t", "exceptions"); err != nil || n != removed {
		t.Errorf("CountRemoved = %d, %v; want %d", n, err, removed)
	}
}

// countCommonIDs counts the records of a whose uuid is also in b.
func countCommonIDs(t *testing.T, a, b [][]byte) int {
	set := map[string]bool{}
	for _, r := range b {
		set[uuidOf(t, r)] = true
	}
	n := 0
	for _, r := range a {
		if set[uuidOf(t, r)] {
			n++
		}
	}
	return n
}

func TestOneStreamFailingIsPartiallyProcessed(t *testing.T) {
	s := sim.New(sim.Options{Policies: 5, Exceptions: 20})
	h := s.Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/policies") {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			w.Write([]byte(`{"errorCode":"403","message":"User does not have TotalCloud permission","timestamp":1}`))
			return
		}
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()
	f := &fixture{t: t, dir: t.TempDir(), sim: s, url: srv.URL}
	f.open()
	d := sim.Defaults(sim.Options{})
	if _, err := f.engine.SaveQualys(context.Background(), qsync.QualysConnector{Name: "t", GatewayURL: srv.URL, Username: d.Username, Password: d.Password, Resources: "none"}); err != nil {
		t.Fatal(err)
	}
	run, err := f.engine.Sync(context.Background(), "t", qsync.Options{})
	if err == nil || run.State != qsync.StatePartiallyProcessed {
		t.Fatalf("state = %s, err = %v; want Partially Processed with an error", run.State, err)
	}
	if !strings.Contains(err.Error(), "TotalCloud permission") {
		t.Errorf("error %q does not carry the server's message", err)
	}
	f.assertTruth("exceptions", toBytes(s.ExceptionRecords()))
}

func TestWrongPasswordIsErrored(t *testing.T) {
	f := newFixture(t, sim.Options{Policies: 2, Exceptions: 2})
	if _, err := f.engine.SaveQualys(context.Background(), qsync.QualysConnector{Name: "t", GatewayURL: f.url, Username: "demo", Password: "wrong", Resources: "none"}); err != nil {
		t.Fatal(err)
	}
	run, err := f.engine.Sync(context.Background(), "t", qsync.Options{})
	if err == nil || run.State != qsync.StateErrored {
		t.Fatalf("state = %s, err = %v; want Errored", run.State, err)
	}
	if strings.Contains(err.Error(), "wrong") {
		t.Errorf("error leaks the password: %v", err)
	}
	if runs, _ := f.engine.Store.Runs(context.Background(), "t", 1); len(runs) != 1 || runs[0].State != qsync.StateErrored || runs[0].Error == "" {
		t.Errorf("run log = %+v, want one Errored run with its error", runs)
	}
}

func TestSyncSurvivesThrottlingAndFaults(t *testing.T) {
	f := newFixture(t, sim.Options{Policies: 30, Exceptions: 200, FailEvery: 3})
	if _, err := f.engine.Sync(context.Background(), "t", qsync.Options{}); err != nil {
		t.Fatal(err)
	}
	f.assertTruth("exceptions", toBytes(f.sim.ExceptionRecords()))
	f.assertTruth("policies", toBytes(f.sim.PolicyRecords()))
}

func TestConnectorValidation(t *testing.T) {
	ok := qsync.QualysConnector{Name: "prod-eu", GatewayURL: "https://gateway.qg1.apps.qualys.eu", Username: "u", Password: "p"}
	tests := []struct {
		name   string
		mutate func(*qsync.QualysConnector)
		want   string // substring of the error naming the field; "" = valid
	}{
		{"valid", func(*qsync.QualysConnector) {}, ""},
		{"empty name", func(q *qsync.QualysConnector) { q.Name = "" }, "connector name"},
		{"name with space", func(q *qsync.QualysConnector) { q.Name = "a b" }, "connector name"},
		{"name too long", func(q *qsync.QualysConnector) { q.Name = strings.Repeat("a", 65) }, "connector name"},
		{"no gateway", func(q *qsync.QualysConnector) { q.GatewayURL = "" }, "--gateway-url"},
		{"gateway not a URL", func(q *qsync.QualysConnector) { q.GatewayURL = "gateway.qg1" }, "--gateway-url"},
		{"gateway ftp", func(q *qsync.QualysConnector) { q.GatewayURL = "ftp://x" }, "--gateway-url"},
		{"no username", func(q *qsync.QualysConnector) { q.Username = "" }, "--username"},
		{"no password", func(q *qsync.QualysConnector) { q.Password = "" }, "password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := ok
			tt.mutate(&q)
			err := q.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("unexpected error %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("error = %v, want one naming %q", err, tt.want)
			}
		})
	}
}

func TestPasswordSealedAtRest(t *testing.T) {
	f := newFixture(t, sim.Options{Policies: 1, Exceptions: 1})
	f.close()
	data, err := readFile(filepath.Join(f.dir, "qtc.db"))
	if err != nil {
		t.Fatal(err)
	}
	if pw := sim.Defaults(sim.Options{}).Password; bytes.Contains(data, []byte(pw)) {
		t.Fatal("the store file contains the password in plaintext")
	}
}

// truncatingHandler serves the simulator, except that exception page 2 comes
// back cut off mid-JSON (a complete HTTP response with a truncated body) while
// broken is set.
type truncatingHandler struct {
	h      http.Handler
	broken atomic.Bool
}

func (t *truncatingHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if t.broken.Load() && strings.HasSuffix(r.URL.Path, "/exceptions/list") && r.URL.Query().Get("pageNo") == "2" {
		rec := httptest.NewRecorder()
		t.h.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		w.Header().Set("Content-Type", "application/json")
		w.Write(body[:len(body)/2])
		return
	}
	t.h.ServeHTTP(w, r)
}

func TestMalformedPageFailsLoudlyAndCommitsNothingOfIt(t *testing.T) {
	s := sim.New(sim.Options{Policies: 5, Exceptions: 230})
	th := &truncatingHandler{h: s.Handler()}
	th.broken.Store(true)
	srv := httptest.NewServer(th)
	defer srv.Close()
	f := &fixture{t: t, dir: t.TempDir(), sim: s, url: srv.URL}
	f.open()
	d := sim.Defaults(sim.Options{})
	ctx := context.Background()
	if _, err := f.engine.SaveQualys(ctx, qsync.QualysConnector{Name: "t", GatewayURL: srv.URL, Username: d.Username, Password: d.Password, Resources: "none"}); err != nil {
		t.Fatal(err)
	}
	run, err := f.engine.Sync(ctx, "t", qsync.Options{})
	if err == nil || run.State != qsync.StatePartiallyProcessed {
		t.Fatalf("state %s, err %v; want Partially Processed", run.State, err)
	}
	for _, want := range []string{"exceptions page 2", "pageNo=2", "at byte"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	// Pages 0 and 1 (50 records each) are committed, page 2 is not.
	if n, _ := f.engine.Store.Count(ctx, "t", "exceptions"); n != 100 {
		t.Errorf("store holds %d exceptions, want the 100 of the two good pages", n)
	}
	if st, _ := f.engine.Store.StreamState(ctx, "t", "exceptions"); st.Phase != store.PhasePaging || st.NextPage != 2 {
		t.Errorf("stream state %+v, want paging at page 2", st)
	}
	th.broken.Store(false)
	if _, err := f.engine.Sync(ctx, "t", qsync.Options{}); err != nil {
		t.Fatal(err)
	}
	f.assertTruth("exceptions", toBytes(s.ExceptionRecords()))
}
