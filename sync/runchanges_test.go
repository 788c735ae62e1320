package sync_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"testing"

	"qtc/api/sim"
	graphsim "qtc/api/sim/graph"
	"qtc/store"
	qsync "qtc/sync"
)

// lastChanges returns the change sets of the connector's newest run.
func lastChanges(t *testing.T, st *store.Store, conn string, run store.Run) map[string]store.ChangeSet {
	t.Helper()
	sets, err := st.Changes(context.Background(), conn, run.ID)
	if err != nil {
		t.Fatalf("changes of run %d: %v", run.ID, err)
	}
	return sets
}

// sortedSet returns the ids of the union of lists, sorted, minus those in
// any of not.
func sortedSet(lists [][]string, not ...[]string) []string {
	drop := map[string]bool{}
	for _, l := range not {
		for _, id := range l {
			drop[id] = true
		}
	}
	seen := map[string]bool{}
	var out []string
	for _, l := range lists {
		for _, id := range l {
			if !drop[id] && !seen[id] {
				seen[id] = true
				out = append(out, id)
			}
		}
	}
	sort.Strings(out)
	return out
}

// snapshot is id -> (raw JSON, marked removed) of every stored record of a
// type.
type snapshot map[string]struct {
	raw     string
	removed bool
}

func (f *entraFixture) snapshot(typ string) snapshot {
	f.t.Helper()
	s := snapshot{}
	err := f.eng.Store.Each(context.Background(), "e", typ, func(r store.Record) error {
		s[r.ID] = struct {
			raw     string
			removed bool
		}{string(r.Raw), !r.Removed.IsZero()}
		return nil
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return s
}

// snapshotDiff is the change set that turns before into after, worked out from the
// stored records alone: new ones were added; present ones that are gone or
// newly marked removed were removed, and so are marked ones deleted for good;
// the others whose bytes changed, or that are present again, were changed.
func snapshotDiff(before, after snapshot) store.ChangeSet {
	var cs store.ChangeSet
	for id, a := range after {
		b, ok := before[id]
		switch {
		case !ok:
			cs.Added = append(cs.Added, id)
		case a.removed && !b.removed:
			cs.Removed = append(cs.Removed, id)
		case !a.removed && (b.removed || a.raw != b.raw):
			cs.Changed = append(cs.Changed, id)
		}
	}
	for id := range before {
		if _, ok := after[id]; !ok {
			cs.Removed = append(cs.Removed, id)
		}
	}
	sort.Strings(cs.Added)
	sort.Strings(cs.Changed)
	sort.Strings(cs.Removed)
	return cs
}

func TestEntraDeltaRunKeepsItsChangeSet(t *testing.T) {
	tests := []struct {
		name string
		m    graphsim.Mutation
		// exact: the mutation restores nobody, so its result, netted,
		// is the change set too.
		exact bool
	}{
		{"add, update and soft-delete users", graphsim.Mutation{AddUsers: 4, UpdateUsers: 6, SoftDeleteUsers: 3}, true},
		{"only updates", graphsim.Mutation{UpdateUsers: 5}, true},
		{"restore and hard delete", graphsim.Mutation{SoftDeleteUsers: 2, RestoreUsers: 1, HardDeleteUsers: 1}, false},
		{"nothing", graphsim.Mutation{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newEntraFixture(t, qsync.KindEntra, graphsim.Options{Users: 200, Groups: 10}, "")
			ctx := context.Background()
			run, err := f.eng.Sync(ctx, "e", qsync.Options{})
			if err != nil {
				t.Fatal(err)
			}
			// The first full pull keeps a count, not 200 ids.
			first := lastChanges(t, f.eng.Store, "e", run)["users"]
			if !first.Initial || first.InitialAdded != len(f.sim.Truth().Users) || len(first.Added) != 0 {
				t.Errorf("first run's users change set %+v, want initial with %d added", first, len(f.sim.Truth().Users))
			}

			before := f.snapshot("users")
			res := f.sim.Mutate(tt.m)
			run, err = f.eng.Sync(ctx, "e", qsync.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if run.Kind != qsync.ModeDelta {
				t.Fatalf("second run %s, want delta", run.Kind)
			}
			got := lastChanges(t, f.eng.Store, "e", run)["users"]
			if got.Initial {
				t.Error("a delta run's change set is marked initial")
			}
			wants := []store.ChangeSet{snapshotDiff(before, f.snapshot("users"))}
			if tt.exact {
				// Net of each user: one added and then updated was added;
				// one updated and then deleted was removed; one added and
				// deleted never reached the store.
				u := res.Users
				gone := sortedSet([][]string{u.SoftDeleted, u.Deleted})
				wants = append(wants, store.ChangeSet{
					Added:   sortedSet([][]string{u.Added}, gone),
					Changed: sortedSet([][]string{u.Updated}, u.Added, gone),
					Removed: sortedSet([][]string{gone}, u.Added),
				})
			}
			for i, want := range wants {
				for _, c := range []struct {
					kind      string
					got, want []string
				}{{"added", got.Added, want.Added}, {"changed", got.Changed, want.Changed}, {"removed", got.Removed, want.Removed}} {
					if !slices.Equal(c.got, c.want) {
						t.Errorf("%s (oracle %d): %v, want %v", c.kind, i, c.got, c.want)
					}
				}
			}
			if c := run.Counts["users"]; c.Added != len(got.Added) {
				t.Errorf("run counts %+v, change set %d added", c, len(got.Added))
			}
		})
	}
}

func TestChangeSetRetention(t *testing.T) {
	for _, tt := range []struct {
		retain bool
		want   int
	}{{false, 1}, {true, 3}} {
		t.Run(fmt.Sprintf("retainDelta=%v", tt.retain), func(t *testing.T) {
			f := newEntraFixture(t, qsync.KindEntraDevices, graphsim.Options{Devices: 40}, "")
			ctx := context.Background()
			// Re-save the connector with the setting, as `connector add
			// --retain-delta` does.
			conn, err := f.eng.Store.Connector(ctx, "e")
			if err != nil {
				t.Fatal(err)
			}
			d := graphsim.Defaults(graphsim.Options{})
			if _, err := f.eng.SaveEntra(ctx, qsync.EntraConnector{Kind: conn.Kind, Name: "e",
				TenantID: conn.Settings[qsync.SettingTenantID], ClientID: conn.Settings[qsync.SettingClientID], ClientSecret: d.ClientSecret,
				LoginURL: conn.Settings[qsync.SettingLoginURL], GraphURL: conn.Settings[qsync.SettingGraphURL], RetainDelta: tt.retain}); err != nil {
				t.Fatal(err)
			}
			var runs []uint64
			for i := 0; i < 3; i++ {
				if i > 0 {
					f.sim.Mutate(graphsim.Mutation{AddDevices: 1, UpdateDevices: 2})
				}
				run, err := f.eng.Sync(ctx, "e", qsync.Options{})
				if err != nil {
					t.Fatal(err)
				}
				runs = append(runs, run.ID)
			}
			got, err := f.eng.Store.ChangeRuns(ctx, "e")
			if err != nil {
				t.Fatal(err)
			}
			slices.Reverse(runs)
			if want := runs[:tt.want]; !slices.Equal(got, want) {
				t.Fatalf("retainDelta=%v: change sets of runs %v, want %v", tt.retain, got, want)
			}
			// The newest run's change set is the last mutation's.
			if cs := lastChanges(t, f.eng.Store, "e", store.Run{ID: runs[0]})["devices"]; len(cs.Added) != 1 || len(cs.Changed) == 0 {
				t.Errorf("last run's devices change set %+v", cs)
			}
			for _, id := range runs[tt.want:] {
				if _, err := f.eng.Store.Changes(ctx, "e", id); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("run %d's change set not pruned: %v", id, err)
				}
			}
		})
	}
}

func TestSaveEntraStoresRetainDeltaAndManual(t *testing.T) {
	f := newEntraFixture(t, qsync.KindEntra, graphsim.Options{Users: 5, Groups: 1}, "")
	ctx := context.Background()
	conn, err := f.eng.Store.Connector(ctx, "e")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		retain, manual bool
	}{{false, false}, {true, false}, {false, true}, {true, true}} {
		d := graphsim.Defaults(graphsim.Options{})
		saved, err := f.eng.SaveEntra(ctx, qsync.EntraConnector{Kind: qsync.KindEntra, Name: "e",
			TenantID: conn.Settings[qsync.SettingTenantID], ClientID: conn.Settings[qsync.SettingClientID], ClientSecret: d.ClientSecret,
			LoginURL: conn.Settings[qsync.SettingLoginURL], GraphURL: conn.Settings[qsync.SettingGraphURL],
			RetainDelta: tt.retain, Manual: tt.manual})
		if err != nil {
			t.Fatal(err)
		}
		if qsync.RetainsDelta(saved) != tt.retain || qsync.Manual(saved) != tt.manual {
			t.Errorf("%+v: settings %v", tt, saved.Settings)
		}
		if tt.manual && saved.Settings[qsync.SettingManual] != "true" || tt.retain && saved.Settings[qsync.SettingRetainDelta] != "true" {
			t.Errorf("%+v: settings %v", tt, saved.Settings)
		}
		run, skipped := qsync.AutoSync([]store.Connector{saved, {Name: "other"}})
		if len(skipped) != map[bool]int{false: 0, true: 1}[tt.manual] || len(run)+len(skipped) != 2 {
			t.Errorf("%+v: AutoSync ran %d, skipped %d", tt, len(run), len(skipped))
		}
	}
	// A manual connector still syncs when named.
	if run, err := f.eng.Sync(ctx, "e", qsync.Options{}); err != nil || run.State != qsync.StateProcessed {
		t.Fatalf("named sync of a manual connector: %s, %v", run.State, err)
	}
}

func TestFullPullChangeSetsIncludeMarkedRemoved(t *testing.T) {
	f := newFixture(t, sim.Options{Policies: 5, Exceptions: 120})
	ctx := context.Background()
	if _, err := f.engine.Sync(ctx, "t", qsync.Options{}); err != nil {
		t.Fatal(err)
	}
	res := f.sim.Mutate(sim.Mutation{Type: "exceptions", Add: 3, Change: 4, Remove: 5, Seed: 7})
	if res.Error != "" {
		t.Fatal(res.Error)
	}
	run, err := f.engine.Sync(ctx, "t", qsync.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := lastChanges(t, f.engine.Store, "t", run)
	want := store.ChangeSet{
		Added:   sortedSet([][]string{res.Added}),
		Changed: sortedSet([][]string{res.Changed}, res.Removed),
		Removed: sortedSet([][]string{res.Removed}),
	}
	cs := got["exceptions"]
	if !slices.Equal(cs.Added, want.Added) || !slices.Equal(cs.Changed, want.Changed) || !slices.Equal(cs.Removed, want.Removed) {
		t.Errorf("exceptions change set %+v, want %+v", cs, want)
	}
	if p, ok := got["policies"]; !ok || p.Len() != 0 {
		t.Errorf("unchanged policies: change set %+v (present %v), want an empty one", p, ok)
	}
}

func TestInterruptedFirstPullStaysInitial(t *testing.T) {
	f := newFixture(t, sim.Options{Policies: 10, Exceptions: 300}) // 6 pages of 50
	ctx, cancel := context.WithCancel(context.Background())
	pages := 0
	_, err := f.engine.Sync(ctx, "t", qsync.Options{Types: []string{"exceptions"}, Progress: func(ev qsync.Event) {
		if ev.Phase == "paging" {
			if pages++; pages == 2 {
				cancel()
			}
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted sync: %v", err)
	}
	run, err := f.engine.Sync(context.Background(), "t", qsync.Options{Types: []string{"exceptions"}})
	if err != nil {
		t.Fatal(err)
	}
	cs := lastChanges(t, f.engine.Store, "t", run)["exceptions"]
	if !cs.Initial || cs.InitialAdded != 200 || len(cs.Added) != 0 {
		t.Errorf("resumed first pull: change set %+v, want initial with the 200 records it added", cs)
	}
}
