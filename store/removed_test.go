package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

var (
	t1 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	t2 = time.Date(2026, 4, 1, 10, 0, 0, 0, time.UTC)
	t3 = time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
)

// removedTimes returns id -> Removed of every record of q/host (via Each)
// and checks that Rows, RowsByID and Get agree with it.
func removedTimes(t *testing.T, s *Store) map[string]time.Time {
	t.Helper()
	ctx := context.Background()
	got := map[string]time.Time{}
	var ids []string
	err := s.Each(ctx, "q", "host", func(r Record) error {
		got[r.ID] = r.Removed
		ids = append(ids, r.ID)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := s.Rows(ctx, "q", "host", Order{Column: 1}, 0, len(ids)+10)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(ids) {
		t.Fatalf("Rows returned %d rows, Each %d records", len(rows), len(ids))
	}
	for _, r := range rows {
		if !r.Removed.Equal(got[r.ID]) {
			t.Fatalf("Rows: %s removed %v, Each says %v", r.ID, r.Removed, got[r.ID])
		}
	}
	byID, err := s.RowsByID(ctx, "q", "host", ids)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range byID {
		if !r.Removed.Equal(got[r.ID]) {
			t.Fatalf("RowsByID: %s removed %v, Each says %v", r.ID, r.Removed, got[r.ID])
		}
	}
	if len(ids) > 0 {
		r, err := s.Get(ctx, "q", "host", ids[len(ids)/2])
		if err != nil || !r.Removed.Equal(got[r.ID]) {
			t.Fatalf("Get(%s) = %v, %v; Each says %v", r.ID, r.Removed, err, got[r.ID])
		}
	}
	return got
}

// wantCounts checks Count, CountRemoved and the indexes.
func wantCounts(t *testing.T, s *Store, count, removed int) {
	t.Helper()
	ctx := context.Background()
	if n, err := s.Count(ctx, "q", "host"); err != nil || n != count {
		t.Errorf("Count = %d, %v; want %d", n, err, count)
	}
	if n, err := s.CountRemoved(ctx, "q", "host"); err != nil || n != removed {
		t.Errorf("CountRemoved = %d, %v; want %d", n, err, removed)
	}
	mustCheck(t, s)
}

// generationsStore holds q/host records 0..2999: 0..1499 at generation 1,
// 1500..2499 at 2, 2500..2999 at 3; and q/other at 1 (never touched).
func generationsStore(t *testing.T) *Store {
	s := newStore(t)
	writeRecords(t, s, "q", "host", 1, 0, 2500)
	writeRecords(t, s, "q", "host", 2, 1500, 2500)
	writeRecords(t, s, "q", "host", 3, 2500, 3000)
	writeRecords(t, s, "q", "other", 1, 0, 50)
	return s
}

// genOf is the generation generationsStore stamps record i with.
func genOf(i int) uint64 {
	switch {
	case i < 1500:
		return 1
	case i < 2500:
		return 2
	}
	return 3
}

func TestMarkRemoved(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name       string
		generation uint64
		want       int
	}{
		{"generation 1 marks nothing", 1, 0},
		{"generation 2 marks generation 1", 2, 1500},
		{"generation 3 marks generations 1 and 2", 3, 2500},
		{"generation 4 marks everything", 4, 3000},
		{"generation 0 marks nothing", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := generationsStore(t)
			final := StreamState{Generation: tt.generation, LastSuccess: t1}
			marked, err := s.MarkRemoved(ctx, "q", "host", "host", tt.generation, t1, final)
			if err != nil || marked != tt.want {
				t.Fatalf("MarkRemoved = %d, %v; want %d", marked, err, tt.want)
			}
			if st, _ := s.StreamState(ctx, "q", "host"); st != final {
				t.Errorf("state = %+v, want %+v", st, final)
			}
			wantCounts(t, s, 3000, tt.want)
			got := removedTimes(t, s)
			for i := range 3000 {
				want := time.Time{}
				if genOf(i) < tt.generation {
					want = t1
				}
				if r := got[testID(i)]; !r.Equal(want) {
					t.Fatalf("%s: Removed = %v, want %v", testID(i), r, want)
				}
			}
			if n, _ := s.CountRemoved(ctx, "q", "other"); n != 0 {
				t.Errorf("other type has %d removed", n)
			}

			// Idempotent: running it again (later) marks nothing and keeps
			// the original times.
			marked, err = s.MarkRemoved(ctx, "q", "host", "host", tt.generation, t2, final)
			if err != nil || marked != 0 {
				t.Fatalf("second MarkRemoved = %d, %v; want 0", marked, err)
			}
			if again := removedTimes(t, s); !mapsEqualTime(again, got) {
				t.Fatal("second MarkRemoved changed removal times")
			}

			// A later baseline marks only the newly missing records; the
			// others keep their time.
			marked, err = s.MarkRemoved(ctx, "q", "host", "host", 5, t3, final)
			if err != nil || marked != 3000-tt.want {
				t.Fatalf("MarkRemoved(5) = %d, %v; want %d", marked, err, 3000-tt.want)
			}
			for id, r := range removedTimes(t, s) {
				if want := got[id]; !want.IsZero() && !r.Equal(want) || want.IsZero() && !r.Equal(t3) {
					t.Fatalf("%s: Removed = %v after MarkRemoved(5)", id, r)
				}
			}
			wantCounts(t, s, 3000, 3000)
		})
	}
}

func mapsEqualTime(a, b map[string]time.Time) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || !w.Equal(v) {
			return false
		}
	}
	return true
}

func TestMarkRemovedInterrupted(t *testing.T) {
	ctx := context.Background()
	s := generationsStore(t)
	final := StreamState{Generation: 3, LastSuccess: t1}
	before := StreamState{Phase: PhaseMarking, Generation: 3}
	if err := s.PutStreamState(ctx, "q", "host", before); err != nil {
		t.Fatal(err)
	}

	// Interrupt after the first chunk.
	cctx := &countdownCtx{Context: ctx}
	cctx.left.Store(1)
	marked, err := s.MarkRemoved(cctx, "q", "host", "host", 3, t1, final)
	if !errors.Is(err, context.Canceled) || marked != sweepChunk {
		t.Fatalf("interrupted MarkRemoved = %d, %v; want %d, Canceled", marked, err, sweepChunk)
	}
	if st, _ := s.StreamState(ctx, "q", "host"); st != before {
		t.Fatalf("interrupted MarkRemoved wrote state %+v", st)
	}
	wantCounts(t, s, 3000, sweepChunk)

	// Running it again (at a later time) finishes the job; the records
	// marked before keep their time.
	marked, err = s.MarkRemoved(ctx, "q", "host", "host", 3, t2, final)
	if err != nil || marked != 2500-sweepChunk {
		t.Fatalf("resumed MarkRemoved = %d, %v; want %d", marked, err, 2500-sweepChunk)
	}
	if st, _ := s.StreamState(ctx, "q", "host"); st != final {
		t.Fatalf("state = %+v, want %+v", st, final)
	}
	wantCounts(t, s, 3000, 2500)
	got := removedTimes(t, s)
	for i := range 3000 {
		want := time.Time{}
		switch {
		case i < sweepChunk: // the first chunk in ID order
			want = t1
		case i < 2500:
			want = t2
		}
		if r := got[testID(i)]; !r.Equal(want) {
			t.Fatalf("%s: Removed = %v, want %v", testID(i), r, want)
		}
	}

	// A cancelled context writes nothing; bad arguments are refused.
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.MarkRemoved(cancelled, "q", "host", "host", 9, t3, StreamState{}); !errors.Is(err, context.Canceled) {
		t.Errorf("MarkRemoved(cancelled) = %v", err)
	}
	if _, err := s.MarkRemoved(ctx, "q", "host", "host", 9, time.Time{}, StreamState{}); err == nil {
		t.Error("MarkRemoved at the zero time succeeded")
	}
	wantCounts(t, s, 3000, 2500)
	// An unknown type still gets its final state.
	if n, err := s.MarkRemoved(ctx, "q", "never", "never", 5, t1, final); err != nil || n != 0 {
		t.Fatalf("MarkRemoved(never) = %d, %v", n, err)
	}
	if st, _ := s.StreamState(ctx, "q", "never"); st != final {
		t.Errorf("state of never-written type = %+v", st)
	}
}

func TestRemovedMatchRows(t *testing.T) {
	ctx := context.Background()
	s := generationsStore(t)
	if _, err := s.MarkRemoved(ctx, "q", "host", "", 2, t1, StreamState{}); err != nil {
		t.Fatal(err)
	}
	m := model{}
	for i := range 3000 {
		m[testID(i)] = testCells(i, 0)
	}
	// Match sees removed records like the others.
	checkWindows(t, s, m, "after MarkRemoved")
	for _, tc := range []struct {
		name    string
		removed bool
		want    int
	}{{"present", false, 1500}, {"removed", true, 1500}} {
		ids, err := s.MatchRows(ctx, "q", "host", Order{Column: 0}, func(_ []string, removed bool) bool { return removed == tc.removed })
		if err != nil {
			t.Fatal(err)
		}
		if len(ids) != tc.want {
			t.Errorf("MatchRows(%s) = %d ids, want %d", tc.name, len(ids), tc.want)
		}
		for _, id := range ids {
			if tc.removed != (id < testID(1500)) {
				t.Fatalf("MatchRows(%s) returned %s", tc.name, id)
			}
		}
	}
}

func TestRestoreOnRewrite(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	writeRecords(t, s, "q", "host", 1, 0, 10)
	if n, err := s.MarkRemoved(ctx, "q", "host", "", 2, t1, StreamState{}); err != nil || n != 10 {
		t.Fatalf("MarkRemoved = %d, %v", n, err)
	}
	page := func(gen uint64, recs ...Record) PageWrite {
		return PageWrite{Connector: "q", Type: "host", Layout: testLayout, Generation: gen, Records: recs}
	}
	rec := func(i, v int) Record { return testRecord(i, v) }
	rawChanged := func(i int) Record {
		r := testRecord(i, 0)
		r.Raw = json.RawMessage(`{"changed":true}`)
		return r
	}
	tests := []struct {
		name           string
		w              PageWrite
		want           WriteStats
		count, removed int
	}{
		{"same bytes", page(2, rec(0, 0), rec(1, 0), rec(2, 0)), WriteStats{Changed: 3, Restored: 3}, 10, 7},
		{"same bytes again", page(2, rec(0, 0), rec(1, 0)), WriteStats{Unchanged: 2}, 10, 7},
		{"cells changed", page(2, rec(3, 1), rec(4, 1)), WriteStats{Changed: 2, Restored: 2}, 10, 5},
		{"raw changed", page(2, rawChanged(5)), WriteStats{Changed: 1, Restored: 1}, 10, 4},
		{"new and removed", page(2, rec(20, 0), rec(6, 0), rec(6, 0)), WriteStats{Added: 1, Changed: 1, Unchanged: 1, Restored: 1}, 11, 3},
		{"Removed of the input ignored", page(2, Record{ID: testID(21), Raw: rec(21, 0).Raw, Cells: testCells(21, 0), Removed: t1}), WriteStats{Added: 1}, 12, 3},
	}
	for _, tt := range tests {
		got, err := s.WritePage(ctx, tt.w)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got != tt.want {
			t.Errorf("%s: stats %+v, want %+v", tt.name, got, tt.want)
		}
		wantCounts(t, s, tt.count, tt.removed)
	}
	times := removedTimes(t, s)
	for i := range 10 {
		want := time.Time{}
		if i >= 7 {
			want = t1
		}
		if r := times[testID(i)]; !r.Equal(want) {
			t.Errorf("%s: Removed = %v, want %v", testID(i), r, want)
		}
	}
	if r, _ := s.Get(ctx, "q", "host", testID(3)); !slices.Equal(r.Cells, testCells(3, 1)) {
		t.Errorf("restored record has cells %q", r.Cells)
	}
	// The restored records carry the new generation: a sweep of it keeps them.
	if n, err := s.Sweep(ctx, "q", "host", "", 2, StreamState{}); err != nil || n != 3 {
		t.Errorf("Sweep(2) = %d, %v; want the 3 still removed", n, err)
	}
	wantCounts(t, s, 9, 0)
	if r, err := s.Get(ctx, "q", "host", testID(21)); err != nil || !r.Removed.IsZero() {
		t.Errorf("Get(%s) = %+v, %v", testID(21), r, err)
	}
}

func TestPurge(t *testing.T) {
	ctx := context.Background()
	// 0..9 removed at t1, 10..19 removed at t2, 20..29 present.
	build := func(t *testing.T) *Store {
		s := newStore(t)
		writeRecords(t, s, "q", "host", 1, 0, 30)
		writeRecords(t, s, "q", "host", 2, 10, 30)
		if n, err := s.MarkRemoved(ctx, "q", "host", "", 2, t1, StreamState{}); err != nil || n != 10 {
			t.Fatalf("MarkRemoved(2) = %d, %v", n, err)
		}
		writeRecords(t, s, "q", "host", 3, 20, 30)
		if n, err := s.MarkRemoved(ctx, "q", "host", "", 3, t2, StreamState{}); err != nil || n != 10 {
			t.Fatalf("MarkRemoved(3) = %d, %v", n, err)
		}
		return s
	}
	tests := []struct {
		name        string
		cutoff      time.Time
		want        int
		left, lefto int // records left, of them removed
	}{
		{"zero cutoff purges nothing", time.Time{}, 0, 30, 20},
		{"long ago", t1.AddDate(-10, 0, 0), 0, 30, 20},
		{"exactly t1 is not before it", t1, 0, 30, 20},
		{"just after t1", t1.Add(time.Nanosecond), 10, 20, 10},
		{"between", t1.Add(24 * time.Hour), 10, 20, 10},
		{"exactly t2", t2, 10, 20, 10},
		{"after t2", t2.Add(time.Second), 20, 10, 0},
		{"far future never purges present records", time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC), 20, 10, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := build(t)
			n, err := s.Purge(ctx, "q", "host", tt.cutoff)
			if err != nil || n != tt.want {
				t.Fatalf("Purge = %d, %v; want %d", n, err, tt.want)
			}
			wantCounts(t, s, tt.left, tt.lefto)
			for id, r := range removedTimes(t, s) {
				if !r.IsZero() && r.Before(tt.cutoff) {
					t.Errorf("%s removed at %v survived the purge", id, r)
				}
			}
			for i := 20; i < 30; i++ {
				if _, err := s.Get(ctx, "q", "host", testID(i)); err != nil {
					t.Errorf("present record %s: %v", testID(i), err)
				}
			}
			// Again: nothing more.
			if n, err := s.Purge(ctx, "q", "host", tt.cutoff); err != nil || n != 0 {
				t.Errorf("second Purge = %d, %v", n, err)
			}
		})
	}

	t.Run("chunked and interrupted", func(t *testing.T) {
		s := newStore(t)
		writeRecords(t, s, "q", "host", 1, 0, 2600)
		writeRecords(t, s, "q", "host", 2, 2500, 2600)
		if n, err := s.MarkRemoved(ctx, "q", "host", "", 2, t1, StreamState{}); err != nil || n != 2500 {
			t.Fatalf("MarkRemoved = %d, %v", n, err)
		}
		cctx := &countdownCtx{Context: ctx}
		cctx.left.Store(1)
		n, err := s.Purge(cctx, "q", "host", t2)
		if !errors.Is(err, context.Canceled) || n != sweepChunk {
			t.Fatalf("interrupted Purge = %d, %v", n, err)
		}
		wantCounts(t, s, 2600-sweepChunk, 2500-sweepChunk)
		if n, err = s.Purge(ctx, "q", "host", t2); err != nil || n != 2500-sweepChunk {
			t.Fatalf("resumed Purge = %d, %v", n, err)
		}
		wantCounts(t, s, 100, 0)
		if n, err := s.Purge(ctx, "q", "nope", t2); err != nil || n != 0 {
			t.Errorf("Purge(unknown type) = %d, %v", n, err)
		}
	})
}

func TestDeleteRecords(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	writeRecords(t, s, "q", "host", 1, 0, 600)
	writeRecords(t, s, "q", "host", 2, 100, 600)
	writeRecords(t, s, "q", "other", 1, 0, 10)
	if n, err := s.MarkRemoved(ctx, "q", "host", "", 2, t1, StreamState{}); err != nil || n != 100 {
		t.Fatalf("MarkRemoved = %d, %v", n, err)
	}
	// Warm the window anchors so a stale one would show.
	if _, err := s.Rows(ctx, "q", "host", Order{}, 500, 50); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name             string
		ids              []string
		want             int
		count, nRemoved  int
		gone, stillThere []string
	}{
		{"none", nil, 0, 600, 100, nil, []string{testID(0)}},
		{"missing only", []string{"nope", ""}, 0, 600, 100, nil, nil},
		{"present and removed, duplicates and missing",
			[]string{testID(5), testID(200), "nope", testID(200), testID(599)}, 3, 597, 99,
			[]string{testID(5), testID(200), testID(599)}, []string{testID(6), testID(201)}},
		{"again", []string{testID(5)}, 0, 597, 99, nil, nil},
	}
	for _, tt := range tests {
		n, err := s.DeleteRecords(ctx, "q", "host", tt.ids)
		if err != nil || n != tt.want {
			t.Fatalf("%s: DeleteRecords = %d, %v; want %d", tt.name, n, err, tt.want)
		}
		wantCounts(t, s, tt.count, tt.nRemoved)
		for _, id := range tt.gone {
			if _, err := s.Get(ctx, "q", "host", id); !errors.Is(err, ErrNotFound) {
				t.Errorf("%s: Get(%s) = %v, want ErrNotFound", tt.name, id, err)
			}
		}
		for _, id := range tt.stillThere {
			if _, err := s.Get(ctx, "q", "host", id); err != nil {
				t.Errorf("%s: Get(%s) = %v", tt.name, id, err)
			}
		}
	}
	rows, err := s.Rows(ctx, "q", "host", Order{}, 0, 1000)
	if err != nil || len(rows) != 597 {
		t.Fatalf("Rows = %d, %v", len(rows), err)
	}
	for _, r := range rows {
		if r.ID == testID(200) {
			t.Fatal("deleted record still in the index")
		}
	}
	if n, _ := s.Count(ctx, "q", "other"); n != 10 {
		t.Errorf("other type: Count = %d", n)
	}
	if n, err := s.DeleteRecords(ctx, "q", "nope", []string{testID(1)}); err != nil || n != 0 {
		t.Errorf("DeleteRecords(unknown type) = %d, %v", n, err)
	}
	// Cancelled: nothing deleted (one transaction).
	cctx := &countdownCtx{Context: ctx}
	cctx.left.Store(1)
	var many []string
	for i := range 600 {
		many = append(many, testID(i))
	}
	if n, err := s.DeleteRecords(cctx, "q", "host", many); !errors.Is(err, context.Canceled) || n != 0 {
		t.Fatalf("cancelled DeleteRecords = %d, %v", n, err)
	}
	wantCounts(t, s, 597, 99)
}

func TestPutRecord(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	// Generation 1: 0..99; generation 2 (a running full pull) so far: 50..99.
	writeRecords(t, s, "q", "host", 1, 0, 100)
	writeRecords(t, s, "q", "host", 2, 50, 100)
	if n, err := s.MarkRemoved(ctx, "q", "host", "", 2, t1, StreamState{}); err != nil || n != 50 {
		t.Fatal(n, err)
	}
	writeRecords(t, s, "q", "host", 3, 50, 90) // generation 3 is running: 90..99 not seen yet

	created := testRecord(1000, 0)
	updated := testRecord(95, 1)              // present at generation 2
	restored := testRecord(10, 0)             // marked removed (generation 1)
	current := testRecord(60, 1)              // present at generation 3
	restored.Raw = json.RawMessage(`{"x":1}`) // its new version
	tests := []struct {
		name string
		r    Record
		want WriteStats
		gen  uint64 // generation it must have afterwards
	}{
		{"new record gets the highest generation", created, WriteStats{Added: 1}, 3},
		{"present record keeps its generation", updated, WriteStats{Changed: 1}, 2},
		{"current record keeps its generation", current, WriteStats{Changed: 1}, 3},
		{"removed record is restored at the highest generation", restored, WriteStats{Changed: 1, Restored: 1}, 3},
		{"same again", restored, WriteStats{Unchanged: 1}, 3},
	}
	for _, tt := range tests {
		got, err := s.PutRecord(ctx, "q", "host", testLayout, tt.r)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got != tt.want {
			t.Errorf("%s: stats %+v, want %+v", tt.name, got, tt.want)
		}
		r, err := s.Get(ctx, "q", "host", tt.r.ID)
		if err != nil || !bytes.Equal(r.Raw, tt.r.Raw) || !slices.Equal(r.Cells, tt.r.Cells) || !r.Removed.IsZero() {
			t.Errorf("%s: Get = %+v, %v", tt.name, r, err)
		}
		if g := rowGen(t, s, tt.r.ID); g != tt.gen {
			t.Errorf("%s: generation %d, want %d", tt.name, g, tt.gen)
		}
		mustCheck(t, s)
	}
	wantCounts(t, s, 101, 49)

	// The pull of generation 3 ends: the records it did not see (0..49
	// except 10, already removed; 90..99 except 95, kept at 2 as the brief
	// wants) are marked; the new and restored ones are kept.
	marked, err := s.MarkRemoved(ctx, "q", "host", "host", 3, t2, StreamState{Generation: 3})
	if err != nil || marked != 10 {
		t.Fatalf("MarkRemoved(3) = %d, %v; want 10 (90..99)", marked, err)
	}
	times := removedTimes(t, s)
	for _, id := range []string{created.ID, restored.ID, current.ID} {
		if !times[id].IsZero() {
			t.Errorf("%s was marked removed", id)
		}
	}
	if !times[updated.ID].Equal(t2) {
		t.Errorf("%s (kept at generation 2) not marked: %v", updated.ID, times[updated.ID])
	}
	// And a sweep of the same generation keeps them too.
	if _, err := s.Sweep(ctx, "q", "host", "", 3, StreamState{}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{created.ID, restored.ID, current.ID} {
		if _, err := s.Get(ctx, "q", "host", id); err != nil {
			t.Errorf("Sweep(3) removed %s: %v", id, err)
		}
	}
	wantCounts(t, s, 42, 0) // 50..89, 1000, 10

	// A new type is created with the layout; errors.
	if st, err := s.PutRecord(ctx, "q", "fresh", testLayout, created); err != nil || st != (WriteStats{Added: 1}) {
		t.Fatalf("PutRecord(new type) = %+v, %v", st, err)
	}
	if _, err := s.PutRecord(ctx, "q", "host", Layout{Columns: []ColumnKind{Text}}, Record{ID: "x", Cells: []string{"a"}}); !errors.Is(err, ErrLayoutChanged) {
		t.Errorf("PutRecord(other layout) = %v", err)
	}
	for _, r := range []Record{{Cells: testCells(1, 0)}, {ID: "short", Cells: []string{"a"}}} {
		if _, err := s.PutRecord(ctx, "q", "host", testLayout, r); err == nil {
			t.Errorf("PutRecord(%+v) succeeded", r)
		}
	}
	if _, err := s.PutRecord(ctx, "", "host", testLayout, created); err == nil {
		t.Error("PutRecord without connector succeeded")
	}
	mustCheck(t, s)
}

// rowGen reads the stored generation of a q/host record.
func rowGen(t *testing.T, s *Store, id string) uint64 {
	t.Helper()
	var g uint64
	err := s.db.View(func(tx *bolt.Tx) error {
		v := typeBucket(tx, "q", "host").Bucket(bucketRow).Get([]byte(id))
		var err error
		g, err = rowGeneration(v)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// TestRemovedCountersRandom runs random operations against a model and
// checks Count, CountRemoved, the removed marks and Check after each.
func TestRemovedCountersRandom(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	type state struct {
		gen     uint64
		removed time.Time
	}
	m := map[string]*state{}
	rng := rand.New(rand.NewPCG(7, 11))
	gen := uint64(1)
	maxGen := uint64(0)
	now := t1
	const ids = 1500
	for step := range 60 {
		now = now.Add(time.Hour)
		op := rng.IntN(7)
		switch op {
		case 0, 1: // a page of random records at the current generation
			var recs []Record
			for range 1 + rng.IntN(900) {
				i := rng.IntN(ids)
				recs = append(recs, testRecord(i, rng.IntN(2)))
			}
			if _, err := s.WritePage(ctx, PageWrite{Connector: "q", Type: "host", Layout: testLayout, Generation: gen, Records: recs}); err != nil {
				t.Fatal(err)
			}
			for _, r := range recs {
				m[r.ID] = &state{gen: gen}
			}
			maxGen = max(maxGen, gen)
		case 2: // end of a baseline
			if _, err := s.MarkRemoved(ctx, "q", "host", "", gen, now, StreamState{}); err != nil {
				t.Fatal(err)
			}
			for _, st := range m {
				if st.gen < gen && st.removed.IsZero() {
					st.removed = now
				}
			}
			gen++
		case 3: // purge
			cutoff := now.Add(-time.Duration(rng.IntN(20)) * time.Hour)
			if _, err := s.Purge(ctx, "q", "host", cutoff); err != nil {
				t.Fatal(err)
			}
			for id, st := range m {
				if !st.removed.IsZero() && st.removed.Before(cutoff) {
					delete(m, id)
				}
			}
		case 4: // delete some
			var del []string
			for range rng.IntN(50) {
				del = append(del, testID(rng.IntN(ids)))
			}
			if _, err := s.DeleteRecords(ctx, "q", "host", del); err != nil {
				t.Fatal(err)
			}
			for _, id := range del {
				delete(m, id)
			}
		case 5: // upsert one
			r := testRecord(rng.IntN(ids), rng.IntN(2))
			if _, err := s.PutRecord(ctx, "q", "host", testLayout, r); err != nil {
				t.Fatal(err)
			}
			switch st := m[r.ID]; {
			case st == nil:
				m[r.ID] = &state{gen: maxGen}
			case !st.removed.IsZero():
				m[r.ID] = &state{gen: max(maxGen, st.gen)}
			}
		case 6: // end of a full pull
			if _, err := s.Sweep(ctx, "q", "host", "", gen, StreamState{}); err != nil {
				t.Fatal(err)
			}
			for id, st := range m {
				if st.gen < gen {
					delete(m, id)
				}
			}
			gen++
		}
		nRemoved := 0
		for _, st := range m {
			if !st.removed.IsZero() {
				nRemoved++
			}
		}
		label := fmt.Sprintf("step %d (op %d)", step, op)
		if n, _ := s.Count(ctx, "q", "host"); n != len(m) {
			t.Fatalf("%s: Count = %d, want %d", label, n, len(m))
		}
		if n, _ := s.CountRemoved(ctx, "q", "host"); n != nRemoved {
			t.Fatalf("%s: CountRemoved = %d, want %d", label, n, nRemoved)
		}
		if len(m) > 0 {
			for id, r := range removedTimes(t, s) {
				if st := m[id]; st == nil || !st.removed.Equal(r) {
					t.Fatalf("%s: %s removed %v, model %+v", label, id, r, st)
				}
			}
		}
		if err := s.Check(ctx); err != nil {
			t.Fatalf("%s: %v", label, err)
		}
	}
}

func TestCheckFindsRemovedDamage(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		damage func(tb *bolt.Bucket) error
		want   string
	}{
		{"removed count too high", func(tb *bolt.Bucket) error {
			return tb.Bucket(bucketMeta).Put(keyRemoved, u64(6))
		}, "removed count"},
		{"removed count missing", func(tb *bolt.Bucket) error {
			return tb.Bucket(bucketMeta).Delete(keyRemoved)
		}, "removed count"},
		{"mark set behind the counter's back", func(tb *bolt.Bucket) error {
			rb := tb.Bucket(bucketRow)
			return rb.Put([]byte(testID(15)), withRemoved(rb.Get([]byte(testID(15))), 1))
		}, "removed count"},
		{"generation above maxgen", func(tb *bolt.Bucket) error {
			return tb.Bucket(bucketMeta).Put(keyMaxGen, u64(1))
		}, "generation"},
		{"unfinished migration", func(tb *bolt.Bucket) error {
			return tb.Bucket(bucketMeta).Put(keyMig2, []byte(">x"))
		}, "migration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			writeRecords(t, s, "q", "host", 1, 0, 20)
			writeRecords(t, s, "q", "host", 2, 5, 20)
			if _, err := s.MarkRemoved(ctx, "q", "host", "", 2, t1, StreamState{}); err != nil {
				t.Fatal(err)
			}
			mustCheck(t, s)
			if err := s.db.Update(func(tx *bolt.Tx) error { return tt.damage(typeBucket(tx, "q", "host")) }); err != nil {
				t.Fatal(err)
			}
			err := s.Check(ctx)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Check = %v, want an error mentioning %q", err, tt.want)
			}
		})
	}
}

// TestWritePageDeletesAndSoftDeletes covers a delta page that carries
// upserts and removals: all in one transaction, counters and indexes kept.
func TestWritePageDeletesAndSoftDeletes(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	writeRecords(t, s, "c", "host", 1, 0, 10)
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	st, err := s.WritePage(ctx, PageWrite{
		Connector: "c", Type: "host", Layout: testLayout, Stream: "host", Generation: 1,
		Records:    []Record{testRecord(20, 0)},
		Delete:     []string{testID(1), testID(2), "unknown"},
		SoftDelete: []string{testID(3), testID(3), "unknown"},
		RemovedAt:  at,
		State:      StreamState{DeltaLink: "next"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if st.Added != 1 || st.Deleted != 2 || st.SoftDeleted != 1 {
		t.Fatalf("stats %+v, want +1, 2 deleted, 1 soft-deleted", st)
	}
	if n, _ := s.Count(ctx, "c", "host"); n != 9 {
		t.Errorf("count %d, want 9", n)
	}
	if n, _ := s.CountRemoved(ctx, "c", "host"); n != 1 {
		t.Errorf("removed %d, want 1", n)
	}
	if r, err := s.Get(ctx, "c", "host", testID(3)); err != nil || !r.Removed.Equal(at) {
		t.Errorf("soft-deleted record: %v, removed %v", err, r.Removed)
	}
	if _, err := s.Get(ctx, "c", "host", testID(1)); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleted record: %v", err)
	}
	if got, _ := s.StreamState(ctx, "c", "host"); got.DeltaLink != "next" {
		t.Errorf("state %+v", got)
	}
	if err := s.Check(ctx); err != nil {
		t.Fatal(err)
	}
	// Written again, a soft-deleted record is restored.
	st, err = s.WritePage(ctx, PageWrite{Connector: "c", Type: "host", Layout: testLayout, Generation: 1, Records: []Record{testRecord(3, 0)}})
	if err != nil || st.Restored != 1 {
		t.Fatalf("restore: %+v %v", st, err)
	}
	if err := s.Check(ctx); err != nil {
		t.Fatal(err)
	}
}
