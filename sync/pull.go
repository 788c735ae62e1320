package sync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"qtc/api/retries"
	"qtc/store"
	"qtc/sync/catalog"
)

// Pull modes.
const (
	ModeFull  = "full"  // every record; what was not seen is marked removed
	ModeDelta = "delta" // records changed in a window; nothing is removed
)

// cursor says which page to fetch next: a Spring page number or an opaque
// marker, whichever the endpoint pages by.
type cursor struct {
	page   int
	marker string
}

// rawPage is the part of an API page the engine needs.
type rawPage struct {
	items [][]byte
	last  bool
	total int
	next  cursor
	// Graph delta pages: objects gone for good, objects soft-deleted, and
	// (on the last page) the link that asks for the next changes.
	deletes, softDeletes []string
	deltaLink            string
	// links are the relation changes the page carries (a group's
	// members@delta, the members of directory roles, app role
	// assignments), written in the page's transaction.
	links []store.LinkOp
}

// stream is one pull of one record type.
type stream struct {
	typ catalog.Type
	// fetch gets the page at c; window is the delta filter ("" for full).
	fetch func(ctx context.Context, c cursor, window string, pageSize int) (rawPage, error)
	// staleResume reports that an error answering a resumed page means the
	// saved cursor is no longer valid (e.g. an expired marker), so the
	// query must start again from its first page.
	staleResume func(error) bool
	// incremental streams can pull only what changed since the last run.
	incremental bool
	// deltaLinks: the delta "window" of an incremental stream is the delta
	// link its last full or delta round returned (Graph), not an updated
	// time range (TotalCloud).
	deltaLinks bool
	// expired reports that a delta link is no longer accepted, so the
	// stream must fall back to a full pull.
	expired func(error) bool
	// baseline is how old the last full pull may be before an incremental
	// stream does a full one again.
	baseline time.Duration
	// retention is how long removed records stay browsable.
	retention time.Duration
	// last: in a concurrent plan, the stream runs after the others (it is
	// derived from what they store).
	last bool
	// lane: in a plan with lanes, the streams of a lane are pulled by as
	// many workers as the lane allows (taking them in plan order), and the
	// lanes at the same time (see plan.lanes).
	lane string
	// afterWrites reports that the page at a cursor is read from the store
	// (the hosts' reconcile page, of a delta round): the fetcher fetches it
	// only once every page before it is written, not ahead of the writer.
	// (A staged first pull's pages are not readable until it ends.)
	afterWrites func(at cursor) bool
	// deferInverse names relations whose inverse a full pull rebuilds once
	// at its end instead of page by page (group members: a million
	// memberships would otherwise scatter a million memberOf entries over
	// the file, one page write each).
	deferInverse []string
}

// maxRestarts is how many times a full pull starts its query again when
// the source resets it midway.
const maxRestarts = 3

// deltaOverlap is subtracted from the last success to form the next delta
// window, so clock skew and late writes at the source are not missed.
const deltaOverlap = time.Hour

// choose decides the mode, window and starting cursor of a stream's pull.
func choose(s stream, st store.StreamState, full bool, now time.Time) (mode, window string, from cursor, gen uint64) {
	gen = st.Generation + 1
	switch {
	case full:
		return ModeFull, "", cursor{}, gen
	case st.Phase == store.PhasePaging:
		// Resume the interrupted pull exactly where its last page committed.
		return orFull(st.Mode), st.Window, cursor{page: st.NextPage, marker: st.Marker}, st.Generation
	case !s.incremental || st.LastFull.IsZero() || now.Sub(st.LastFull) >= s.baseline:
		return ModeFull, "", cursor{}, gen
	case s.deltaLinks:
		if st.DeltaLink == "" {
			return ModeFull, "", cursor{}, gen
		}
		return ModeDelta, st.DeltaLink, cursor{}, st.Generation
	default:
		since := st.LastSuccess.Add(-deltaOverlap).UTC().Format(time.RFC3339)
		return ModeDelta, "[" + since + "..now]", cursor{}, st.Generation
	}
}

func orFull(mode string) string {
	if mode == "" {
		return ModeFull
	}
	return mode
}

// fetched is one or more consecutive pages handed from the fetcher to the
// writer, decoded, to be written in one transaction.
type fetched struct {
	at    cursor // where the first of the pages was fetched
	page  rawPage
	recs  []store.Record
	pages int // API pages merged into page
	err   error
}

// defaultGroupRecords is the most records the fetcher merges into one
// write while the writer is busy with the previous one (Engine.GroupRecords). Each write is one durable
// transaction; merging pages that are already fetched cuts fsyncs and the
// B+tree pages rewritten per record without delaying any page: a page is
// written as soon as the writer is free.
const defaultGroupRecords = 5000

// merge appends the next page q (fetched after f) to f.
func (f *fetched) merge(q fetched) {
	f.page.items = append(f.page.items, q.page.items...)
	f.recs = append(f.recs, q.recs...)
	f.page.deletes = append(f.page.deletes, q.page.deletes...)
	f.page.softDeletes = append(f.page.softDeletes, q.page.softDeletes...)
	f.page.links = append(f.page.links, q.page.links...)
	f.page.last, f.page.next, f.page.deltaLink = q.page.last, q.page.next, q.page.deltaLink
	if q.page.total > 0 {
		f.page.total = q.page.total
	}
	f.pages += q.pages
}

// canTake reports whether f may absorb the page after it: not past the
// last page or an error, not over limit records, and never after a page
// that removes records (a later page may add one of them again, and a
// write applies its records before its removals).
func (f *fetched) canTake(limit int) bool {
	links := 0
	for _, l := range f.page.links {
		links += len(l.Add) + len(l.Remove)
	}
	// Links count too: a bbolt transaction that inserts a great many keys
	// into the same leaves slows down with the square of their number.
	return f.err == nil && !f.page.last && len(f.recs) < limit && links < 4*limit &&
		len(f.page.deletes) == 0 && len(f.page.softDeletes) == 0
}

// pull runs one stream to completion: its pages, then (for a full pull)
// marking what it did not see as removed. The ids it adds, changes and
// removes are noted in cc, for the run's change set.
func (e *Engine) pull(ctx context.Context, conn string, s stream, opt Options, cc *changeCollector) (store.Counts, string, error) {
	counts, mode, err := e.pullStream(ctx, conn, s, opt, cc)
	if err != nil {
		e.unstage(ctx, conn, s.typ.Name)
	}
	return counts, mode, err
}

// unstage makes the pages a failed or interrupted staged pull wrote
// browsable: it merges them into the type, and the pull, when resumed,
// writes its remaining pages straight into it. (After a crash, the pull
// resumes staged and merges at its end.)
func (e *Engine) unstage(ctx context.Context, conn, typ string) {
	ctx = context.WithoutCancel(ctx)
	st, err := e.Store.StreamState(ctx, conn, typ)
	if err != nil || !st.Staged || st.Phase != store.PhasePaging {
		return
	}
	if _, err := e.Store.MergeStaged(ctx, conn, typ); err != nil {
		e.logger().Warn("could not merge the pages of an interrupted pull; the next run will", "connector", conn, "stream", typ, "err", err)
		return
	}
	st.Staged = false
	if err := e.Store.PutStreamState(ctx, conn, typ, st); err != nil {
		e.logger().Warn("could not save the stream state", "connector", conn, "stream", typ, "err", err)
	}
}

// pullStream is pull without the clean-up of a failed staged pull.
func (e *Engine) pullStream(ctx context.Context, conn string, s stream, opt Options, cc *changeCollector) (store.Counts, string, error) {
	var counts store.Counts
	typ := s.typ
	name := typ.Name
	emit := func(ev Event) {
		if opt.Progress != nil {
			ev.Connector, ev.Stream = conn, name
			opt.Progress(ev)
		}
	}
	st, err := e.Store.StreamState(ctx, conn, name)
	if err != nil {
		return counts, "", err
	}
	n, err := e.Store.Count(ctx, conn, name)
	if err != nil {
		return counts, "", err
	}
	// The type's first full pull, fresh or resumed, adds everything.
	cc.start(st.LastFull.IsZero() && (n == 0 || st.Phase != store.PhaseIdle))
	now := time.Now().UTC()
	if (st.Phase == store.PhaseSweeping || st.Phase == store.PhaseMarking) && !opt.Full {
		return e.finish(ctx, conn, s, st, counts, emit, cc)
	}
	mode, window, from, gen := choose(s, st, opt.Full, now)
	if from.page > 0 || from.marker != "" {
		e.logger().Info("resuming interrupted pull", "connector", conn, "stream", name, "page", from.page)
	}
	resolve, err := e.resolver(ctx, conn, typ)
	if err != nil {
		return counts, mode, err
	}
	// The first full pull of an empty type stages its pages and merges
	// them at its end (store.MergeStaged); a resumed pull keeps doing what
	// it did.
	staged := st.Phase == store.PhasePaging && st.Staged && !opt.Full ||
		mode == ModeFull && n == 0 && !e.NoStaging

	// Fetch and decode the next pages while the current ones are written;
	// pages fetched while the writer is busy are merged into one write.
	pages := make(chan fetched, 1)
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// sent counts the writes handed to the writer, written those it has
	// committed (wrote signals each one): see stream.afterWrites.
	var sent, written atomic.Int64
	wrote := make(chan struct{}, 1)
	go func() {
		defer close(pages)
		restarts := 0
		var pending *fetched
		// send hands pending over; with wait false it gives up if the
		// writer is busy (so the next page can join pending).
		send := func(wait bool) bool {
			if pending == nil {
				return true
			}
			if !wait {
				select {
				case pages <- *pending:
					pending = nil
					sent.Add(1)
				default:
				}
				return true
			}
			select {
			case pages <- *pending:
				pending = nil
				sent.Add(1)
				return true
			case <-fctx.Done():
				return false
			}
		}
		for at := from; ; {
			if s.afterWrites != nil && s.afterWrites(at) {
				if !send(true) {
					return
				}
				for written.Load() < sent.Load() {
					select {
					case <-wrote:
					case <-fctx.Done():
						return
					}
				}
			}
			p, err := s.fetch(fctx, at, window, e.pageSize())
			if err != nil && at == from && from != (cursor{}) && s.staleResume != nil && s.staleResume(err) {
				e.logger().Warn("saved cursor no longer valid; restarting the query", "connector", conn, "stream", name, "err", err)
				noteResync(fctx, err)
				at = cursor{}
				from = cursor{}
				p, err = s.fetch(fctx, at, window, e.pageSize())
			}
			for err != nil && mode == ModeFull && at != (cursor{}) && s.expired != nil && s.expired(err) && restarts < maxRestarts {
				// The source dropped the query's state mid-pull (Graph's
				// 410 resyncRequired on a next link): list again from the
				// first page; what was written stays, rewritten unchanged.
				restarts++
				e.logger().Warn("the source reset the query mid-pull; listing again from the first page", "connector", conn, "stream", name, "err", err)
				noteResync(fctx, err)
				at = cursor{}
				p, err = s.fetch(fctx, at, window, e.pageSize())
			}
			f := fetched{at: at, page: p, pages: 1, err: err}
			if err == nil {
				if f.recs, err = pageRecords(typ, p.items, resolve); err != nil {
					f.err = err
				}
			}
			switch {
			case pending != nil && f.err == nil && pending.canTake(e.groupRecords()):
				pending.merge(f)
			default:
				if !send(true) {
					return
				}
				pending = &f
			}
			if f.err != nil || p.last {
				send(true)
				return
			}
			if !send(false) {
				return
			}
			at = p.next
		}
	}()

	start := time.Now()
	total := st.Total
	if mode == ModeDelta {
		total = 0
	}
	layout := typ.Layout()
	for f := range pages {
		records := counts.Added + counts.Changed + counts.Unchanged
		if f.err != nil {
			if mode == ModeDelta && s.expired != nil && s.expired(f.err) && !opt.Full {
				// The source no longer accepts the delta link (7 days old,
				// or reset): pull everything again and sweep what is gone.
				e.logger().Warn("delta link expired; falling back to a full pull", "connector", conn, "stream", name, "err", f.err)
				noteResync(ctx, f.err)
				cancel()
				full := opt
				full.Full = true
				c, _, err := e.pull(ctx, conn, s, full, cc)
				c.Fallbacks++
				return c, ModeFull, err
			}
			emit(Event{Phase: "failed", Err: f.err, Total: total, Page: counts.Pages, Records: records, Counts: counts})
			return counts, mode, fmt.Errorf("%s page %d: %w", name, f.at.page, f.err)
		}
		recs := f.recs
		if f.page.total > 0 {
			total = f.page.total
		}
		next := store.StreamState{
			Phase: store.PhasePaging, Generation: gen, Mode: mode, Window: window,
			NextPage: f.page.next.page, Marker: f.page.next.marker, Total: total,
			LastSuccess: st.LastSuccess, LastFull: st.LastFull, Staged: staged,
		}
		if f.page.last {
			next.Phase = store.PhaseMarking
			next.NextPage, next.Marker = 0, ""
		}
		if f.page.last {
			next.DeltaLink = f.page.deltaLink
		} else if mode == ModeDelta {
			next.DeltaLink = st.DeltaLink // kept until the round's new link arrives
		}
		if mode == ModeDelta {
			// A delta round's links are changes: nothing to reset.
			for i := range f.page.links {
				f.page.links[i].Reset = false
			}
		}
		if mode == ModeFull && len(s.deferInverse) > 0 {
			for i := range f.page.links {
				if slices.Contains(s.deferInverse, f.page.links[i].Rel) {
					f.page.links[i].DeferInverse = true
				}
			}
		}
		ws, pc, err := e.Store.WritePageChanges(ctx, store.PageWrite{
			Connector: conn, Type: name, Layout: layout, Stream: name,
			Generation: gen, Records: recs, State: next,
			Delete: f.page.deletes, SoftDelete: f.page.softDeletes, RemovedAt: time.Now().UTC(),
			Links: f.page.links, Stage: staged,
		})
		if err != nil {
			return counts, mode, fmt.Errorf("%s page %d: store: %w", name, f.at.page, err)
		}
		written.Add(1)
		select {
		case wrote <- struct{}{}:
		default:
		}
		cc.page(pc)
		counts.Pages += f.pages
		counts.Added += ws.Added
		counts.Changed += ws.Changed
		counts.Unchanged += ws.Unchanged
		counts.Restored += ws.Restored
		counts.Removed += ws.Deleted + ws.SoftDeleted
		done := counts.Added + counts.Changed + counts.Unchanged
		emit(Event{Phase: "paging", Page: counts.Pages, Records: done, Total: total, Rate: float64(done) / time.Since(start).Seconds(), Counts: counts})
		if f.page.last {
			return e.finish(ctx, conn, s, next, counts, emit, cc)
		}
	}
	if err := ctx.Err(); err != nil {
		return counts, mode, err
	}
	return counts, mode, fmt.Errorf("%s: page stream ended before the last page", name)
}

// noteResync counts, in the run's retries, a query listed again because the
// source refused its link (Graph's 410 or resyncRequired); a link saved
// from another endpoint is not the source's doing and is not counted.
func noteResync(ctx context.Context, err error) {
	if !errors.Is(err, errStaleLink) {
		retries.Note(ctx, retries.Resync)
	}
}

// pageRecords turns a page's items into records with their cells.
func pageRecords(typ catalog.Type, items [][]byte, resolve catalog.Resolver) ([]store.Record, error) {
	recs := make([]store.Record, 0, len(items))
	for _, raw := range items {
		r, err := typ.Record(raw, resolve)
		if err != nil {
			return nil, err
		}
		recs = append(recs, r)
	}
	return recs, nil
}

// finish completes a pull whose pages are all written: a full pull removes
// what it did not see; a delta pull removes nothing.
func (e *Engine) finish(ctx context.Context, conn string, s stream, st store.StreamState, counts store.Counts, emit func(Event), cc *changeCollector) (store.Counts, string, error) {
	mode := orFull(st.Mode)
	records := counts.Added + counts.Changed + counts.Unchanged
	now := time.Now().UTC()
	final := store.StreamState{Phase: store.PhaseIdle, Generation: st.Generation, Mode: mode, Total: st.Total, LastSuccess: now, LastFull: st.LastFull, DeltaLink: st.DeltaLink}
	if mode == ModeDelta {
		if err := e.Store.PutStreamState(ctx, conn, s.typ.Name, final); err != nil {
			return counts, mode, fmt.Errorf("%s: %w", s.typ.Name, err)
		}
		emit(Event{Phase: "done", Records: records, Page: counts.Pages, Counts: counts})
		return counts, mode, nil
	}
	emit(Event{Phase: "sweeping", Total: st.Total, Records: records, Page: counts.Pages, Counts: counts})
	if st.Staged {
		if _, err := e.Store.MergeStaged(ctx, conn, s.typ.Name); err != nil {
			return counts, mode, fmt.Errorf("%s: %w", s.typ.Name, err)
		}
	}
	for _, rel := range s.deferInverse {
		if err := e.Store.RebuildInverse(ctx, conn, rel); err != nil {
			return counts, mode, fmt.Errorf("%s: %w", s.typ.Name, err)
		}
	}
	final.LastFull = now
	// What the full pull did not see is gone from the source: mark it
	// removed (still browsable), then purge what has been removed for
	// longer than the retention.
	marked, err := e.Store.MarkRemovedFunc(ctx, conn, s.typ.Name, s.typ.Name, st.Generation, now, final, cc.removed)
	counts.Removed += marked
	if err != nil {
		return counts, mode, fmt.Errorf("%s: mark removed: %w", s.typ.Name, err)
	}
	retention := s.retention
	if retention == 0 {
		retention = defaultRetention
	}
	purged, err := e.Store.Purge(ctx, conn, s.typ.Name, now.Add(-retention))
	counts.Purged += purged
	if err != nil {
		return counts, mode, fmt.Errorf("%s: purge: %w", s.typ.Name, err)
	}
	emit(Event{Phase: "done", Total: st.Total, Records: records, Page: counts.Pages, Counts: counts})
	return counts, mode, nil
}

// resolver builds the value maps a type's cells need from the store.
func (e *Engine) resolver(ctx context.Context, conn string, typ catalog.Type) (catalog.Resolver, error) {
	if len(typ.ValueMaps) == 0 {
		return nil, nil
	}
	maps := map[string]map[string]string{}
	for _, vm := range typ.ValueMaps {
		m := map[string]string{}
		err := e.Store.Each(ctx, conn, vm.Type, func(r store.Record) error {
			var fields map[string]json.RawMessage
			if json.Unmarshal(r.Raw, &fields) != nil {
				return nil
			}
			var k, v string
			if json.Unmarshal(fields[vm.Key], &k) == nil && json.Unmarshal(fields[vm.Value], &v) == nil && k != "" {
				m[k] = v
			}
			return nil
		})
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("%s: build %s map: %w", typ.Name, vm.Name, err)
		}
		maps[vm.Name] = m
	}
	return func(name, key string) (string, bool) {
		v, ok := maps[name][key]
		return v, ok
	}, nil
}
