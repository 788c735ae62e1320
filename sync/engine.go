// Package sync pulls every page of a connector's streams from the remote APIs
// into the store: page by page, each page and the stream's cursor committed in
// one transaction, so a sync killed at any point resumes without loss or
// duplicates. It reports progress as events that the CLI and the TUI render,
// and records each run for the connector's log.
package sync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	gosync "sync"
	"sync/atomic"
	"time"

	"qtc/api/retries"
	"qtc/store"
	"qtc/store/vault"
)

// Connector states as the seeds name them.
const (
	StateRegistered         = "Registered"
	StateScheduled          = "Scheduled"
	StateProcessing         = "Processing"
	StateProcessed          = "Processed"
	StatePartiallyProcessed = "Partially Processed"
	StateErrored            = "Errored"
)

// Event is one progress report of a running sync.
type Event struct {
	Connector string
	Stream    string // record type name, "" for run-level events
	Page      int    // pages written so far in this stream
	Records   int    // records written so far in this stream
	Total     int    // records the server announced, 0 when unknown
	Rate      float64
	Phase     string // "paging", "sweeping", "done", "failed"
	Err       error
	Counts    store.Counts
}

// Options tune one sync run.
type Options struct {
	// Full discards any interrupted pull's resume point and starts over.
	Full bool
	// Progress, if set, receives events; it must not block for long, and
	// it is called from several goroutines at once when streams are
	// pulled concurrently (Entra ID connectors).
	Progress func(Event)
	// Types limits the run to these type names; empty means all of the kind.
	Types []string
}

// Engine runs syncs against a store.
type Engine struct {
	Store      *store.Store
	Vault      *vault.Vault
	HTTPClient *http.Client
	Logger     *slog.Logger
	// Trace, if set, gets every HTTP exchange of the API clients at debug
	// level, secrets redacted (qtc --trace).
	Trace *slog.Logger
	// PageSize is the page size asked of Spring-paged endpoints.
	PageSize int
	// NoStaging writes the first full pull of an empty type page by page
	// into the type instead of staging it (see store.MergeStaged); for
	// comparisons in tests and benchmarks.
	NoStaging bool
	// GroupRecords is the most records one write takes from pages fetched
	// while the writer was busy (default 5000; 1 writes each page alone).
	GroupRecords int

	mu      gosync.Mutex
	running map[string]bool
}

// ErrAlreadyRunning is returned when a connector is already syncing.
var ErrAlreadyRunning = errors.New("a sync of this connector is already running")

func (e *Engine) logger() *slog.Logger {
	if e.Logger != nil {
		return e.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (e *Engine) groupRecords() int {
	if e.GroupRecords > 0 {
		return e.GroupRecords
	}
	return defaultGroupRecords
}

func (e *Engine) pageSize() int {
	if e.PageSize > 0 {
		return e.PageSize
	}
	return 200
}

// Sync runs every stream of the named connector and records the run.
func (e *Engine) Sync(ctx context.Context, name string, opt Options) (store.Run, error) {
	if !e.begin(name) {
		return store.Run{}, fmt.Errorf("sync %s: %w", name, ErrAlreadyRunning)
	}
	defer e.end(name)

	conn, err := e.Store.Connector(ctx, name)
	if err != nil {
		return store.Run{}, fmt.Errorf("sync %s: %w", name, err)
	}
	run, err := e.Store.BeginRun(ctx, store.Run{
		Connector: name, Kind: ModeFull, Start: time.Now().UTC(),
		State: StateProcessing, Counts: map[string]store.Counts{},
	})
	if err != nil {
		return store.Run{}, fmt.Errorf("sync %s: record run: %w", name, err)
	}
	// Every request of the run counts its retries here, whichever client
	// sends it; the engine adds the queries it lists again (410).
	var retried retries.Counter
	ctx = retries.WithCounter(ctx, &retried)
	plan, err := e.plan(conn, opt)
	if err == nil {
		err = plan.prepare(ctx)
		if err != nil {
			err = fmt.Errorf("sync %s: %w", name, plan.explain(err))
			run.State = StateErrored
		}
	} else {
		err = fmt.Errorf("sync %s: %w", name, err)
		run.State = StateErrored
	}
	var changes map[string]store.ChangeSet // nil: no stream ran
	if err == nil {
		var failed []string
		var firstErr error
		changes = map[string]store.ChangeSet{}
		results := e.pullAll(ctx, conn.Name, plan, opt)
		for i, s := range plan.streams {
			r := results[i]
			if !r.ran {
				continue
			}
			if r.cc.started {
				changes[s.typ.Name] = r.cc.set()
			}
			run.Counts[s.typ.Name] = r.counts
			if r.mode == ModeDelta && run.Kind == ModeFull {
				run.Kind = ModeDelta
			}
			if serr := r.err; serr != nil {
				serr = plan.explain(serr)
				failed = append(failed, s.typ.Name)
				if firstErr == nil {
					firstErr = serr
				}
				e.logger().Warn("stream failed", "connector", name, "stream", s.typ.Name, "err", serr)
			}
		}
		switch {
		case firstErr == nil:
			run.State = StateProcessed
		case len(failed) < len(plan.streams) && ctx.Err() == nil:
			run.State = StatePartiallyProcessed
			err = fmt.Errorf("sync %s: %d of %d streams failed (%s): %w", name, len(failed), len(plan.streams), strings.Join(failed, ", "), firstErr)
		default:
			run.State = StateErrored
			err = fmt.Errorf("sync %s: %w", name, firstErr)
		}
	}
	if plan.requests != nil {
		run.Requests = plan.requests()
	}
	if plan.throttled != nil {
		run.Throttled = plan.throttled()
	}
	run.Retries = retried.Counts()
	if err != nil {
		run.Error = err.Error()
	}
	// Keep what the run changed, also when it was cancelled or a stream
	// failed: the pages it committed are in the store.
	if changes != nil {
		if cerr := e.keepChanges(context.WithoutCancel(ctx), conn, run.ID, changes); cerr != nil {
			e.logger().Warn("change sets not kept", "connector", name, "run", run.ID, "err", cerr)
			if err == nil {
				err = fmt.Errorf("sync %s: %w", name, cerr)
				run.Error = err.Error()
			}
		}
	}
	run.End = time.Now().UTC()
	// Record the outcome even when ctx was cancelled: the run log must say so.
	if ferr := e.Store.FinishRun(context.WithoutCancel(ctx), run); ferr != nil && err == nil {
		err = fmt.Errorf("sync %s: record run: %w", name, ferr)
	}
	return run, err
}

// keepChanges stores the change sets of a run, then prunes those of older
// runs: only the last run's are kept unless the connector retains delta.
func (e *Engine) keepChanges(ctx context.Context, conn store.Connector, runID uint64, changes map[string]store.ChangeSet) error {
	if err := e.Store.PutChanges(ctx, conn.Name, runID, changes); err != nil {
		return fmt.Errorf("record changes: %w", err)
	}
	keep := 1
	if RetainsDelta(conn) {
		keep = RetainedChangeSets
	}
	if _, err := e.Store.PruneChanges(ctx, conn.Name, keep); err != nil {
		return fmt.Errorf("prune changes: %w", err)
	}
	return nil
}

// Running reports whether the connector is syncing now.
func (e *Engine) Running(name string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.running[name]
}

func (e *Engine) begin(name string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.running == nil {
		e.running = map[string]bool{}
	}
	if e.running[name] {
		return false
	}
	e.running[name] = true
	return true
}

func (e *Engine) end(name string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.running, name)
}

// plan is what a run of one connector needs: its streams, a first step
// that proves the credentials once (so a bad password is one error, not one
// per stream), a request counter, and the kind's advice for errors.
type plan struct {
	streams []stream
	// concurrent: the streams are independent and pulled at the same
	// time (their requests overlap; the store serialises the writes),
	// except those marked last, which run after the others.
	concurrent bool
	// lanes, if set, says how many streams of each lane (stream.lane) run
	// at once; the lanes run side by side. A lane of 1 runs its streams one
	// after the other, in plan order (later ones may read what earlier
	// ones stored).
	lanes    map[string]int
	prepare  func(ctx context.Context) error
	requests func() int64
	// throttled counts the limit answers waited out (nil: not counted).
	throttled func() int64
	explain   func(error) error
}

// pullResult is the outcome of one stream's pull.
type pullResult struct {
	ran    bool
	counts store.Counts
	mode   string
	err    error
	cc     changeCollector
}

// pullAll pulls the plan's streams, one after the other or (a concurrent
// plan) together, and returns their results in plan order. Once ctx ends
// no further stream starts.
func (e *Engine) pullAll(ctx context.Context, conn string, p plan, opt Options) []pullResult {
	out := make([]pullResult, len(p.streams))
	one := func(i int) {
		r := &out[i]
		r.ran = true
		r.counts, r.mode, r.err = e.pull(ctx, conn, p.streams[i], opt, &r.cc)
	}
	if p.lanes != nil {
		pullLanes(ctx, p, one)
		return out
	}
	if !p.concurrent {
		for i := range p.streams {
			if ctx.Err() != nil {
				break
			}
			one(i)
		}
		return out
	}
	var wg gosync.WaitGroup
	for i, s := range p.streams {
		if !s.last {
			wg.Go(func() { one(i) })
		}
	}
	wg.Wait()
	for i, s := range p.streams {
		if s.last && ctx.Err() == nil {
			one(i)
		}
	}
	return out
}

// pullLanes runs one for every stream of a plan with lanes (see
// plan.lanes), then the streams marked last. Once ctx ends no further
// stream starts.
func pullLanes(ctx context.Context, p plan, one func(i int)) {
	byLane := map[string][]int{}
	var lanes []string
	for i, s := range p.streams {
		if s.last {
			continue
		}
		if _, ok := byLane[s.lane]; !ok {
			lanes = append(lanes, s.lane)
		}
		byLane[s.lane] = append(byLane[s.lane], i)
	}
	var wg gosync.WaitGroup
	for _, lane := range lanes {
		streams := byLane[lane]
		var next atomic.Int64
		for range max(1, p.lanes[lane]) {
			wg.Go(func() {
				for {
					k := int(next.Add(1)) - 1
					if k >= len(streams) || ctx.Err() != nil {
						return
					}
					one(streams[k])
				}
			})
		}
	}
	wg.Wait()
	for i, s := range p.streams {
		if s.last && ctx.Err() == nil {
			one(i)
		}
	}
}

// plan builds the run plan of a connector.
func (e *Engine) plan(conn store.Connector, opt Options) (plan, error) {
	switch conn.Kind {
	case KindQualys:
		return e.qualysPlan(conn, opt)
	case KindEntra, KindEntraDevices:
		return e.entraPlan(conn, opt)
	default:
		return plan{}, fmt.Errorf("connector kind %q is not supported by this build", conn.Kind)
	}
}

func wanted(opt Options, name string) bool {
	if len(opt.Types) == 0 {
		return true
	}
	for _, t := range opt.Types {
		if t == name {
			return true
		}
	}
	return false
}
