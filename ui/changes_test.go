package ui

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"qtc/api/sim"
	"qtc/store"
	qsync "qtc/sync"
)

// exceptionName returns the name of the simulator's exception uuid.
func (h *harness) exceptionName(uuid string) string {
	h.t.Helper()
	for _, raw := range h.sim.ExceptionRecords() {
		var e struct{ UUID, Name string }
		if err := json.Unmarshal(raw, &e); err != nil {
			h.t.Fatal(err)
		}
		if e.UUID == uuid {
			return e.Name
		}
	}
	h.t.Fatalf("no exception %s", uuid)
	return ""
}

// changes opens the changes screen and returns it.
func (h *harness) changes() *changesScreen {
	h.t.Helper()
	h.open("changes")
	cs, ok := h.app.top().(*changesScreen)
	if !ok {
		h.t.Fatalf("top screen is %T, want the changes screen:\n%s", h.app.top(), h.screen())
	}
	return cs
}

// entries returns "kind typ id" of every row of the changes screen.
func (c *changesScreen) rowKeys() []string {
	var out []string
	for _, e := range c.src.entries {
		out = append(out, e.kind+" "+e.typ+" "+e.id)
	}
	return out
}

// mutateAndSync changes the simulator's exceptions and syncs the connector.
func (h *harness) mutateAndSync(m sim.Mutation) sim.MutationResult {
	h.t.Helper()
	m.Type = "exceptions"
	res := h.sim.Mutate(m)
	if res.Error != "" {
		h.t.Fatal(res.Error)
	}
	if _, err := h.eng.Sync(context.Background(), "t", qsync.Options{}); err != nil {
		h.t.Fatal(err)
	}
	h.send(storeChangedMsg{connector: "t"})
	return res
}

func TestChangesScreenShowsTheLastRun(t *testing.T) {
	tests := []struct {
		name string
		m    sim.Mutation
	}{
		{"added, changed and removed", sim.Mutation{Add: 2, Change: 3, Remove: 1, Seed: 1}},
		{"only added", sim.Mutation{Add: 1, Seed: 2}},
		{"only removed", sim.Mutation{Remove: 2, Seed: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, 160, 40)
			// After the first sync: one initial row per type, no ids.
			c := h.changes()
			h.contains("▸ changes", "RUN", "CHANGE", "initial", "exceptions", "250 records (first full pull)", "40 records (first full pull)")
			for _, k := range c.rowKeys() {
				if !strings.HasPrefix(k, changeInitial+" ") {
					t.Fatalf("first run row %q is not an initial pull", k)
				}
			}

			res := h.mutateAndSync(tt.m)
			if h.app.top() != Screen(c) {
				t.Fatalf("the sync replaced the changes screen by %T", h.app.top())
			}
			var want []string
			for _, k := range []struct {
				kind string
				ids  []string
			}{{changeAdded, res.Added}, {changeChanged, res.Changed}, {changeRemoved, res.Removed}} {
				ids := slices.Clone(k.ids)
				slices.Sort(ids)
				for _, id := range ids {
					if k.kind == changeChanged && slices.Contains(res.Removed, id) {
						continue
					}
					want = append(want, k.kind+" exceptions "+id)
				}
			}
			// Only the last run is kept, and the other types did not change.
			got := slices.DeleteFunc(c.rowKeys(), func(k string) bool { return !strings.Contains(k, " exceptions ") })
			if !slices.Equal(got, want) || len(c.rowKeys()) != len(want) {
				t.Fatalf("rows %v, want %v", c.rowKeys(), want)
			}
			if strings.Contains(h.screen(), "initial") {
				t.Errorf("the first run's change set is still shown:\n%s", h.screen())
			}
			// Names come from the stored rows; removed records are still
			// stored (marked removed) and keep theirs.
			for _, id := range slices.Concat(res.Added, res.Removed) {
				h.contains(h.exceptionNameOrStored(id))
			}
			h.contains(fmt.Sprintf("1 of %d", len(want)), "the last run's changes")
		})
	}
}

// exceptionNameOrStored is the name the store holds for an exception (the
// simulator no longer serves removed ones).
func (h *harness) exceptionNameOrStored(id string) string {
	h.t.Helper()
	rec, err := h.eng.Store.Get(context.Background(), "t", "exceptions", id)
	if err != nil {
		h.t.Fatal(err)
	}
	return rec.Cells[0]
}

func TestChangesScreenEnterOpensTheRecord(t *testing.T) {
	h := newHarness(t, 140, 40)
	res := h.mutateAndSync(sim.Mutation{Add: 1, Seed: 4})
	h.changes()
	h.keys("enter")
	if _, ok := h.app.top().(*detailScreen); !ok {
		t.Fatalf("enter opened %T, want the record:\n%s", h.app.top(), h.screen())
	}
	h.contains("Fields", "JSON", h.exceptionName(res.Added[0]))
	h.keys("esc")
	h.contains("▸ changes", "added")
}

func TestChangesScreenRecordNoLongerStored(t *testing.T) {
	h := newHarness(t, 140, 40)
	ctx := context.Background()
	runs, err := h.eng.Store.Runs(ctx, "t", 1)
	if err != nil {
		t.Fatal(err)
	}
	// A change set naming a record a later run deleted for good.
	if err := h.eng.Store.PutChanges(ctx, "t", runs[0].ID, map[string]store.ChangeSet{"exceptions": {Added: []string{"gone-for-good"}}}); err != nil {
		t.Fatal(err)
	}
	h.changes()
	h.contains("(no longer stored)", "gone-for-good")
	h.keys("enter")
	h.contains("gone-for-good is no longer stored")
	if _, ok := h.app.top().(*changesScreen); !ok {
		t.Fatalf("top screen %T, want to stay on the changes", h.app.top())
	}
}

func TestChangesScreenKeepsRunsWithRetainDelta(t *testing.T) {
	h := newHarness(t, 160, 40)
	ctx := context.Background()
	conn, err := h.eng.Store.Connector(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	conn.Settings[qsync.SettingRetainDelta] = "true"
	if err := h.eng.Store.PutConnector(ctx, conn); err != nil {
		t.Fatal(err)
	}
	first := h.mutateAndSync(sim.Mutation{Add: 1, Seed: 5})
	second := h.mutateAndSync(sim.Mutation{Add: 1, Seed: 6})
	c := h.changes()
	keys := c.rowKeys()
	// Newest run first; the initial run is still kept.
	i2 := slices.Index(keys, "added exceptions "+second.Added[0])
	i1 := slices.Index(keys, "added exceptions "+first.Added[0])
	ii := slices.Index(keys, "initial exceptions ")
	if i2 < 0 || i1 < 0 || ii < 0 || !(i2 < i1 && i1 < ii) {
		t.Fatalf("rows %v: want the second run's addition, then the first's, then the initial pull", keys)
	}
	h.contains("#3 ", "#2 ", "#1 ", "changes of the last 3 runs")
}

func TestSyncScreenOpensChanges(t *testing.T) {
	h := newHarness(t, 120, 30)
	h.keys("ctrl+r")
	h.contains("Sync of t", "Processed", "c: what changed")
	h.keys("c")
	if _, ok := h.app.top().(*changesScreen); !ok {
		t.Fatalf("c opened %T, want the changes:\n%s", h.app.top(), h.screen())
	}
	h.contains("▸ sync ▸ changes")
	h.keys("esc")
	h.contains("Sync of t")
}

func TestChangesCommandNeedsAConnectorAndIsOffered(t *testing.T) {
	if n, ok := resolve("chan", "qualys"); !ok || n != "changes" {
		t.Errorf("resolve(chan) = %q, %v", n, ok)
	}
	if !slices.Contains(completions("entra"), "changes") {
		t.Error(":changes is not offered")
	}
	h := newHarness(t, 100, 30)
	h.app.connector = ""
	h.open("changes")
	h.contains("no connector selected")
}
