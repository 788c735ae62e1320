package sync

import (
	"fmt"
	"sort"

	"qtc/store"
)

// Connector settings every kind honours (seed 003: "Retain previously
// ingested delta" and "Require Manual Sync").
const (
	// SettingRetainDelta = "true" keeps the change sets of the last
	// RetainedChangeSets runs instead of the last run's only.
	SettingRetainDelta = "retainDelta"
	// SettingManual = "true": the connector is never synced automatically
	// (a sync of every connector skips it); it syncs only when named.
	SettingManual = "manual"
)

// RetainedChangeSets is how many runs' change sets a connector with
// retainDelta keeps; without it only the last run's are kept.
const RetainedChangeSets = 10

// Manual reports whether the connector requires a manual sync.
func Manual(c store.Connector) bool { return c.Settings[SettingManual] == "true" }

// RetainsDelta reports whether the connector keeps the change sets of its
// last RetainedChangeSets runs.
func RetainsDelta(c store.Connector) bool { return c.Settings[SettingRetainDelta] == "true" }

// AutoSync splits connectors into those a sync of every connector runs and
// those it skips because they require a manual sync, keeping their order.
func AutoSync(conns []store.Connector) (run, skipped []store.Connector) {
	for _, c := range conns {
		if Manual(c) {
			skipped = append(skipped, c)
		} else {
			run = append(run, c)
		}
	}
	return run, skipped
}

// SkippedManual is the message that says a connector was not synced
// because it requires a manual sync.
func SkippedManual(name string) string {
	return fmt.Sprintf("skipped %s: manual sync required; run `qtc sync %s`", name, name)
}

// changeKind is one change of one record seen by a pull.
type changeKind int

const (
	changeAdded changeKind = iota
	changeChanged
	changeRemoved
)

// changeEntry is the net change of one record over a run.
type changeEntry struct {
	before  bool // the record was in the store when the run began
	present bool // and is present now
}

// changeCollector gathers what one stream's pull changed, for the run's
// change set. It keeps the net change per record: a record added and then
// changed by the same run was added; one changed and then removed was
// removed; one added and removed again is not reported.
//
// The zero value is ready once start has said whether the pull is initial.
type changeCollector struct {
	started bool
	// initial: the pull is the type's first full pull (the type has never
	// completed one, and holds no records or only those of this very pull
	// interrupted earlier), so every record it writes is new and only
	// their number is kept (see store.ChangeSet.Initial).
	initial bool
	added   int
	ids     map[string]*changeEntry
}

// start fixes whether the pull is initial; later calls (a delta pull
// falling back to a full one) keep the first answer.
func (c *changeCollector) start(initial bool) {
	if c.started {
		return
	}
	c.started, c.initial = true, initial
	c.ids = map[string]*changeEntry{}
}

// page notes what a page write changed.
func (c *changeCollector) page(pc store.PageChanges) {
	if c.initial {
		c.added += len(pc.Added)
		return
	}
	c.note(changeAdded, pc.Added)
	c.note(changeChanged, pc.Changed)
	c.note(changeRemoved, pc.Deleted)
	c.note(changeRemoved, pc.SoftDeleted)
}

// removed notes records marked removed after a full pull.
func (c *changeCollector) removed(ids []string) {
	if !c.initial {
		c.note(changeRemoved, ids)
	}
}

func (c *changeCollector) note(kind changeKind, ids []string) {
	if c.ids == nil {
		c.ids = map[string]*changeEntry{}
	}
	for _, id := range ids {
		e := c.ids[id]
		if e == nil {
			// The first change says whether the record was there before:
			// only an added one was not.
			e = &changeEntry{before: kind != changeAdded}
			c.ids[id] = e
		}
		e.present = kind != changeRemoved
	}
}

// set is the collected change set, ids sorted.
func (c *changeCollector) set() store.ChangeSet {
	if c.initial {
		return store.ChangeSet{Initial: true, InitialAdded: c.added}
	}
	var cs store.ChangeSet
	for id, e := range c.ids {
		switch {
		case !e.before && e.present:
			cs.Added = append(cs.Added, id)
		case e.before && e.present:
			cs.Changed = append(cs.Changed, id)
		case e.before && !e.present:
			cs.Removed = append(cs.Removed, id)
		}
	}
	sort.Strings(cs.Added)
	sort.Strings(cs.Changed)
	sort.Strings(cs.Removed)
	return cs
}
