package store

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"
)

func TestChangesRoundTripAndPrune(t *testing.T) {
	ctx := context.Background()
	sets := func(i int) map[string]ChangeSet {
		return map[string]ChangeSet{
			"host":  {Added: []string{testID(i)}, Changed: []string{testID(i + 100), testID(i + 101)}, Removed: []string{testID(i + 200)}},
			"users": {Initial: true, InitialAdded: 111207},
		}
	}
	tests := []struct {
		name     string
		runs     []uint64 // runs written, in order
		empty    []uint64 // of which written with no change sets (a run that changed nothing)
		keep     int
		want     []uint64 // ChangeRuns after the prune, newest first
		wantPrun int
	}{
		{"keep last", []uint64{1, 2, 3}, nil, 1, []uint64{3}, 2},
		{"keep all", []uint64{1, 2, 3}, nil, 10, []uint64{3, 2, 1}, 0},
		{"keep exactly", []uint64{4, 5, 6}, nil, 3, []uint64{6, 5, 4}, 0},
		{"keep none", []uint64{1, 2}, nil, 0, nil, 2},
		{"negative keep is none", []uint64{1}, nil, -1, nil, 1},
		{"gaps in run ids", []uint64{2, 7, 300}, nil, 2, []uint64{300, 7}, 1},
		{"empty runs count", []uint64{1, 2, 3}, []uint64{2, 3}, 2, []uint64{3, 2}, 1},
		{"out of order writes", []uint64{9, 3, 5}, nil, 2, []uint64{9, 5}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			writeRecords(t, s, "q", "host", 1, 0, 10) // records and changes side by side
			for _, id := range tt.runs {
				in := sets(int(id))
				if slices.Contains(tt.empty, id) {
					in = map[string]ChangeSet{}
				}
				if err := s.PutChanges(ctx, "q", id, in); err != nil {
					t.Fatal(err)
				}
				got, err := s.Changes(ctx, "q", id)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, in) {
					t.Fatalf("run %d: Changes = %+v, want %+v", id, got, in)
				}
			}
			n, err := s.PruneChanges(ctx, "q", tt.keep)
			if err != nil || n != tt.wantPrun {
				t.Fatalf("PruneChanges(%d) = %d, %v; want %d", tt.keep, n, err, tt.wantPrun)
			}
			got, err := s.ChangeRuns(ctx, "q")
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("ChangeRuns = %v, %v; want %v", got, err, tt.want)
			}
			for _, id := range tt.runs {
				_, err := s.Changes(ctx, "q", id)
				if kept := slices.Contains(tt.want, id); kept != (err == nil) || !kept && !errors.Is(err, ErrNotFound) {
					t.Errorf("Changes(%d) after prune: %v (kept %v)", id, err, kept)
				}
			}
			// The change sets are neither a type nor in Check's way.
			types, err := s.Types(ctx, "q")
			if err != nil || !slices.Equal(types, []string{"host"}) {
				t.Errorf("Types = %v, %v", types, err)
			}
			mustCheck(t, s)
		})
	}
}

func TestChangesReplaceValidateAndDelete(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	if _, err := s.Changes(ctx, "q", 1); !errors.Is(err, ErrNotFound) {
		t.Errorf("Changes of an unknown connector: %v", err)
	}
	if runs, err := s.ChangeRuns(ctx, "q"); err != nil || runs != nil {
		t.Errorf("ChangeRuns of an unknown connector: %v, %v", runs, err)
	}
	if n, err := s.PruneChanges(ctx, "q", 1); err != nil || n != 0 {
		t.Errorf("PruneChanges of an unknown connector: %d, %v", n, err)
	}
	for _, bad := range []struct {
		conn string
		run  uint64
		sets map[string]ChangeSet
	}{{"", 1, nil}, {"q", 0, nil}, {"q", 1, map[string]ChangeSet{"": {}}}} {
		if err := s.PutChanges(ctx, bad.conn, bad.run, bad.sets); err == nil {
			t.Errorf("PutChanges(%q, %d, %v) accepted", bad.conn, bad.run, bad.sets)
		}
	}
	// A second write of a run replaces its change sets.
	if err := s.PutChanges(ctx, "q", 1, map[string]ChangeSet{"a": {Added: []string{"x"}}, "b": {Removed: []string{"y"}}}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutChanges(ctx, "q", 1, map[string]ChangeSet{"a": {Changed: []string{"z"}}}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Changes(ctx, "q", 1)
	if want := map[string]ChangeSet{"a": {Changed: []string{"z"}}}; err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("Changes after replace = %+v, %v; want %+v", got, err, want)
	}
	if cs := got["a"]; cs.Len() != 1 || (ChangeSet{Initial: true, InitialAdded: 5, Added: []string{"a"}}).Len() != 6 {
		t.Errorf("Len: %d", cs.Len())
	}
	// Deleting the connector deletes its change sets.
	if err := s.DeleteConnector(ctx, "q"); err != nil {
		t.Fatal(err)
	}
	if runs, err := s.ChangeRuns(ctx, "q"); err != nil || len(runs) != 0 {
		t.Errorf("ChangeRuns after DeleteConnector: %v, %v", runs, err)
	}
}

func TestWritePageChangesReportsIDs(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	writeRecords(t, s, "q", "host", 1, 0, 10)
	page := func(recs []Record, del, soft []string) PageWrite {
		return PageWrite{Connector: "q", Type: "host", Layout: testLayout, Generation: 2,
			Records: recs, Delete: del, SoftDelete: soft, RemovedAt: t1}
	}
	tests := []struct {
		name string
		w    PageWrite
		want PageChanges
	}{
		{"added, changed and unchanged", page([]Record{testRecord(20, 0), testRecord(1, 1), testRecord(2, 0)}, nil, nil),
			PageChanges{Added: []string{testID(20)}, Changed: []string{testID(1)}}},
		{"deleted and soft-deleted, unknown ids skipped", page(nil, []string{testID(3), "nope"}, []string{testID(4), "nope2"}),
			PageChanges{Deleted: []string{testID(3)}, SoftDeleted: []string{testID(4)}}},
		{"soft-deleted again is not new", page(nil, nil, []string{testID(4)}), PageChanges{}},
		{"restored counts as changed", page([]Record{testRecord(4, 0)}, nil, nil), PageChanges{Changed: []string{testID(4)}}},
		{"nothing changed", page([]Record{testRecord(5, 0)}, nil, nil), PageChanges{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, got, err := s.WritePageChanges(ctx, tt.w)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("PageChanges = %+v, want %+v", got, tt.want)
			}
		})
	}
	mustCheck(t, s)
}

func TestMarkRemovedFuncReportsMarkedIDs(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name   string
		n      int // records at generation 1
		seen   int // of which written again at generation 2
		chunks int // callbacks expected
	}{
		{"none gone", 50, 50, 0},
		{"some gone", 50, 40, 1},
		{"several chunks", 2500, 100, 3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			writeRecords(t, s, "q", "host", 1, 0, tt.n)
			writeRecords(t, s, "q", "host", 2, 0, tt.seen)
			var got []string
			calls := 0
			n, err := s.MarkRemovedFunc(ctx, "q", "host", "host", 2, t1, StreamState{Generation: 2}, func(ids []string) {
				calls++
				got = append(got, ids...)
			})
			if err != nil || n != tt.n-tt.seen {
				t.Fatalf("MarkRemovedFunc = %d, %v; want %d", n, err, tt.n-tt.seen)
			}
			var want []string
			for i := tt.seen; i < tt.n; i++ {
				want = append(want, testID(i))
			}
			if !slices.Equal(got, want) || calls != tt.chunks {
				t.Errorf("reported %d ids in %d calls, want %d in %d", len(got), calls, len(want), tt.chunks)
			}
			// Marked once: a second run reports nothing.
			again := 0
			if _, err := s.MarkRemovedFunc(ctx, "q", "host", "host", 2, t2, StreamState{Generation: 2}, func(ids []string) { again += len(ids) }); err != nil || again != 0 {
				t.Errorf("second MarkRemovedFunc reported %d, %v", again, err)
			}
			mustCheck(t, s)
		})
	}
}
