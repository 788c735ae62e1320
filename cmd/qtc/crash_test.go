package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"qtc/store"
	qsync "qtc/sync"
)

// TestCrashSafety kills a real `qtc sync` with SIGKILL at random points —
// while it writes a page, between pages, during a baseline's sweep — at least
// crashKills times. After each kill the store must open and pass Check, and
// a resumed sync must succeed; at the end the store must hold exactly what an
// uninterrupted sync of the same simulator into a fresh store holds.
//
// The kill delays come from a seeded math/rand: QTC_CRASH_SEED=N reproduces a
// failing run (the seed is logged).
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("kills real sync processes; skipped with -short")
	}
	const crashKills = 32
	rng := crashRNG(t)

	s := newSandbox(t)
	url := s.startSim("--exceptions", "3000")
	const name = "crash"
	if _, stderr, code := s.run(s.env("QTC_PASSWORD=demo-pass-2026"), "connector", "add", "qualys", name,
		"--gateway-url", url, "--username", "demo"); code != 0 {
		t.Fatalf("connector add: exit %d: %s", code, stderr)
	}

	removed := map[string]bool{} // exceptions removed from the simulator: kept in the store, marked removed
	// Policies and exceptions come in numbered pages of 200 (the engine's
	// page size): their cursors are checked against the records.
	s.paged = &pagedStreams{conn: name, types: []string{"policies", "exceptions"}, pageSize: 200}
	s.crashRun(t, rng, name, crashKills, 400*time.Millisecond, func() {
		if rng.Intn(3) > 0 {
			res := simMutate(t, url, fmt.Sprintf(`{"type":"exceptions","add":%d,"change":%d,"remove":%d,"seed":%d}`,
				rng.Intn(120), rng.Intn(200), rng.Intn(60), rng.Int63()))
			for _, id := range res.Removed {
				removed[id] = true
			}
		}
		if rng.Intn(3) == 0 { // no removals: a delta does not see them before the next baseline
			simMutate(t, url, fmt.Sprintf(`{"type":"ENTRA_ID_USER","add":%d,"change":%d,"seed":%d}`,
				rng.Intn(20), rng.Intn(20), rng.Int63()))
		}
	})
	t.Logf("%d cursors of a full pull checked against the records of their pages", s.paged.checked)

	// The truth: an uninterrupted sync of the same simulator into a fresh store.
	ref := newSandbox(t)
	if _, stderr, code := ref.run(ref.env("QTC_PASSWORD=demo-pass-2026"), "connector", "add", "qualys", name,
		"--gateway-url", url, "--username", "demo"); code != 0 {
		t.Fatalf("reference connector add: exit %d: %s", code, stderr)
	}
	ref.resumeSync(t, name, false)

	for _, typ := range []string{"exceptions", "policies", "azure/ENTRA_ID_USER", "aws/EC2_INSTANCE", "azure/ROLE_DEFINITIONS"} {
		got := s.exportLines(t, name, typ)
		want := ref.exportLines(t, name, typ)
		if typ != "exceptions" {
			if !equalLines(got, want) {
				t.Errorf("%s: the crashed store (%d records) differs from the truth (%d records)", typ, len(got), len(want))
			}
			continue
		}
		gotByID := byUUID(t, typ, got)
		wantByID := byUUID(t, typ, want)
		for id, line := range wantByID {
			if g, ok := gotByID[id]; !ok {
				t.Errorf("exceptions: %s missing from the crashed store", id)
			} else if g != line {
				t.Errorf("exceptions: %s differs:\n got %s\nwant %s", id, g, line)
			}
		}
		for id := range gotByID {
			if _, ok := wantByID[id]; !ok && !removed[id] {
				t.Errorf("exceptions: %s in the crashed store is neither in the simulator nor removed from it", id)
			}
		}
		if len(gotByID) != len(wantByID)+len(removed) {
			t.Errorf("exceptions: %d in the crashed store, want %d served + %d removed", len(gotByID), len(wantByID), len(removed))
		}
		t.Logf("exceptions: %d served, %d removed, all present", len(wantByID), len(removed))
	}
}

// crashRNG is a crash test's seeded source of kill points and changes:
// QTC_CRASH_SEED=N replays a run (the seed is logged).
func crashRNG(t *testing.T) *rand.Rand {
	t.Helper()
	seed := time.Now().UnixNano()
	if v := os.Getenv("QTC_CRASH_SEED"); v != "" {
		var err error
		if seed, err = strconv.ParseInt(v, 10, 64); err != nil {
			t.Fatalf("QTC_CRASH_SEED: %v", err)
		}
	}
	t.Logf("seed %d (rerun with QTC_CRASH_SEED=%d)", seed, seed)
	return rand.New(rand.NewSource(seed))
}

// crashRun kills `qtc sync NAME` kills times in all. The first sync is
// killed within first (the store is being created), then synced through;
// an uninterrupted full and delta sync give the time a sync takes. Then,
// round after round, change gives the next sync some work and one to three
// syncs in a row are killed (a crash while resuming a crashed sync), some
// of them baselines (--full), each at a random point of its whole run or a
// little past its end, before a sync runs through. After every kill and
// every resumed sync the store must pass checkStore.
func (s *sandbox) crashRun(t *testing.T, rng *rand.Rand, name string, kills int, first time.Duration, change func()) {
	t.Helper()
	if !s.killSync(t, name, false, time.Duration(rng.Int63n(int64(first)))) {
		t.Log("the first sync finished before its kill")
	}
	s.checkStore(t, "after killing the first sync")
	s.resumeSync(t, name, false)
	start := time.Now()
	s.resumeSync(t, name, true)
	full := time.Since(start)
	start = time.Now()
	s.resumeSync(t, name, false)
	delta := time.Since(start)
	t.Logf("uninterrupted: full sync %s, delta sync %s", full, delta)

	killed, interrupted := 1, 0
	for killed < kills {
		change()
		s.noteChange(t)
		for n := 1 + rng.Intn(3); n > 0 && killed < kills; n-- {
			fullSync := rng.Intn(3) == 0
			d := delta
			if fullSync {
				d = full
			}
			delay := time.Duration(rng.Int63n(int64(d)*11/10 + 1))
			if s.killSync(t, name, fullSync, delay) {
				interrupted++
			}
			s.checkStore(t, fmt.Sprintf("kill %d (full %v, after %s)", killed, fullSync, delay.Round(time.Millisecond)))
			killed++
		}
		s.resumeSync(t, name, false)
		s.checkStore(t, fmt.Sprintf("resume after kill %d", killed-1))
	}
	t.Logf("%d kills, %d of them before the sync ended", killed, interrupted)
}

// killSync starts `qtc sync NAME` and kills it with SIGKILL after delay (it
// may have finished by then).
func (s *sandbox) killSync(t *testing.T, name string, full bool, delay time.Duration) (killed bool) {
	t.Helper()
	args := []string{"sync", name}
	if full {
		args = append(args, "--full")
	}
	cmd := exec.Command(qtcBin, args...)
	cmd.Env = s.env()
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("sync %v ended before the kill: %v: %s", args, err, errb.String())
		}
		return false
	case <-time.After(delay):
	}
	cmd.Process.Signal(syscall.SIGKILL) // may race with the process's exit: harmless
	err := <-done
	if err == nil {
		return false
	}
	if ee, ok := err.(*exec.ExitError); ok {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
			return true
		}
	}
	t.Fatalf("sync %v failed: %v: %s", args, err, errb.String())
	return false
}

// resumeSync runs `qtc sync NAME` to the end and requires exit 0.
func (s *sandbox) resumeSync(t *testing.T, name string, full bool) {
	t.Helper()
	args := []string{"sync", name}
	if full {
		args = append(args, "--full")
	}
	if _, stderr, code := s.run(s.env(), args...); code != 0 {
		t.Fatalf("%v: exit %d: %s", args, code, stderr)
	}
}

// checkStore requires the store to open (in-process, read-only, and
// through the CLI) and to pass Check.
func (s *sandbox) checkStore(t *testing.T, what string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := store.Open(s.db, store.Options{ReadOnly: true, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("%s: the store does not open: %v", what, err)
	}
	err = st.Check(ctx)
	if err == nil {
		err = checkCursors(ctx, st)
	}
	if err == nil && s.paged != nil {
		err = s.paged.check(ctx, st)
	}
	st.Close()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if out, stderr, code := s.run(s.env(), "connector", "list"); code != 0 {
		t.Fatalf("%s: connector list: exit %d: %s%s", what, code, out, stderr)
	}
}

// checkCursors checks each stream's cursor against what the store holds: a
// staged pull's pages (the stage) exist only while its stream is in a
// staged pull that has not finished, and a finished stream leaves no stage
// or merge behind.
func checkCursors(ctx context.Context, st *store.Store) error {
	conns, err := st.Connectors(ctx)
	if err != nil {
		return err
	}
	for _, c := range conns {
		types, err := st.Types(ctx, c.Name)
		if err != nil {
			return err
		}
		for _, typ := range types {
			ss, err := st.StreamState(ctx, c.Name, typ)
			if err != nil {
				return err
			}
			staged, err := st.HasStaged(ctx, c.Name, typ)
			if err != nil {
				return err
			}
			if staged && (!ss.Staged || ss.Phase == store.PhaseIdle) {
				return fmt.Errorf("%s/%s: staged pages or an unfinished merge, but the stream's cursor is %+v", c.Name, typ, ss)
			}
		}
	}
	return nil
}

func (s *sandbox) exportLines(t *testing.T, name, typ string) []string {
	t.Helper()
	out, stderr, code := s.run(s.env(), "export", "--connector", name, "--type", typ)
	if code != 0 {
		t.Fatalf("export %s: exit %d: %s", typ, code, stderr)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) == 1 && lines[0] == "" {
		return nil
	}
	seen := map[string]bool{}
	for _, l := range lines {
		if seen[l] {
			t.Errorf("export %s: duplicate record %.120s", typ, l)
		}
		seen[l] = true
	}
	return lines
}

func byUUID(t *testing.T, typ string, lines []string) map[string]string {
	t.Helper()
	m := make(map[string]string, len(lines))
	for _, l := range lines {
		var v struct {
			UUID string `json:"uuid"`
		}
		if err := json.Unmarshal([]byte(l), &v); err != nil || v.UUID == "" {
			t.Fatalf("export %s: bad line %.120s: %v", typ, l, err)
		}
		if _, dup := m[v.UUID]; dup {
			t.Errorf("export %s: duplicate id %s", typ, v.UUID)
		}
		m[v.UUID] = l
	}
	return m
}

func equalLines(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	a, b = append([]string(nil), a...), append([]string(nil), b...)
	sort.Strings(a)
	sort.Strings(b)
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

type simMutationResult struct {
	Added, Changed, Removed []string
}

func simMutate(t *testing.T, url, body string) simMutationResult {
	t.Helper()
	resp, err := http.Post(url+"/_sim/mutate", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var res simMutationResult
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("mutate %s: %s", body, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
		t.Fatalf("mutate %s: %v", body, err)
	}
	return res
}

// pagedStreams are streams of numbered pages of a fixed size (Spring
// pages: policies, exceptions) whose cursors checkStore holds against the
// records committed: a full pull (not staged) whose cursor says k pages are
// done must have written exactly the records of k pages — k × pageSize, or
// all of them (Total) on the last — stamped with its generation. That
// holds when the simulator did not change during the pull; a pull begun
// before the last change (changedAt: the stream's generation then) may have
// seen records move between pages, so only "at most k pages" holds.
type pagedStreams struct {
	conn      string
	types     []string
	pageSize  int
	changedAt map[string]uint64
	checked   int // cursors checked exactly (reported at the end)
}

// noteChange records each paged stream's generation when the simulator
// changes.
func (s *sandbox) noteChange(t *testing.T) {
	t.Helper()
	if s.paged == nil {
		return
	}
	st, err := store.Open(s.db, store.Options{ReadOnly: true, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s.paged.changedAt = map[string]uint64{}
	for _, typ := range s.paged.types {
		ss, err := st.StreamState(context.Background(), s.paged.conn, typ)
		if err != nil {
			t.Fatal(err)
		}
		s.paged.changedAt[typ] = ss.Generation
	}
}

func (p *pagedStreams) check(ctx context.Context, st *store.Store) error {
	for _, typ := range p.types {
		ss, err := st.StreamState(ctx, p.conn, typ)
		if err != nil {
			return err
		}
		if ss.Phase != store.PhasePaging || ss.Mode != qsync.ModeFull || ss.Staged || ss.NextPage == 0 {
			continue
		}
		n, err := st.CountGeneration(ctx, p.conn, typ, ss.Generation)
		if err != nil {
			return err
		}
		want := ss.NextPage * p.pageSize
		if ss.Total > 0 {
			want = min(want, ss.Total)
		}
		if n > want {
			return fmt.Errorf("%s: the cursor says %d pages of %d are written (of %d records), but %d records carry the pull's generation %d",
				typ, ss.NextPage, p.pageSize, ss.Total, n, ss.Generation)
		}
		if ss.Generation > p.changedAt[typ] {
			if n != want {
				return fmt.Errorf("%s: the cursor says %d pages of %d are written (of %d records), but %d records carry the pull's generation %d, want %d",
					typ, ss.NextPage, p.pageSize, ss.Total, n, ss.Generation, want)
			}
			p.checked++
		}
	}
	return nil
}
