package graph

import (
	"context"
	"sync"
	"time"
)

// throttleWindow is the period Graph's identity RU limits are set over.
const throttleWindow = 10 * time.Second

// clock is the time source of the client, replaceable in tests.
type clock interface {
	Now() time.Time
	// SleepUntil waits until t, until wake is closed, or until ctx ends,
	// whichever comes first. A zero t means no deadline; a nil wake never
	// fires. It returns ctx.Err() only when ctx ended.
	SleepUntil(ctx context.Context, t time.Time, wake <-chan struct{}) error
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) SleepUntil(ctx context.Context, t time.Time, wake <-chan struct{}) error {
	var timer <-chan time.Time
	if !t.IsZero() {
		d := time.Until(t)
		if d <= 0 {
			return ctx.Err()
		}
		tm := time.NewTimer(d)
		defer tm.Stop()
		timer = tm.C
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer:
		return nil
	case <-wake:
		return nil
	}
}

// pacer keeps the resource units of requests under a budget per rolling
// throttleWindow, and holds every request while the server has asked the
// client to wait (Retry-After).
//
// A request's cost counts from when it is granted until throttleWindow
// after its answer arrived. Graph counts a request when it arrives, which is
// between those two instants, so any 10 s window of the server's holds at
// most the budget: when the last request of such a window was granted,
// every earlier one in it was still counted.
//
// Grants are first come, first served (one waiter at a time holds the
// turn), so a $batch call needing 40 RU is not starved by single GETs.
//
// After a 429 the pacer lowers its budget by a quarter (at most once per
// window, not below a tenth of the configured budget) and raises it back by
// a tenth per window without a 429: the configured budget may be larger
// than the tenant's (3,500 RU under 50 users), or other clients may share it.
type pacer struct {
	clock  func() clock
	budget int // configured; <= 0: RU pacing off (Retry-After gate only)

	turn chan struct{}

	mu        sync.Mutex
	limit     int     // effective budget
	inflight  int     // estimated RU of requests not answered yet
	done      []spent // answered requests, ordered by until
	doneSum   int
	blocked   time.Time // no request starts before this
	lastCut   time.Time
	lastRaise time.Time
	changed   chan struct{} // closed and replaced when budget frees or the gate moves
	learned   map[string]int
}

type spent struct {
	until time.Time
	ru    int
}

// reservation is one granted request. settle must be called once its
// answer (or failure) is known.
type reservation struct {
	p       *pacer
	est     int
	paced   bool
	settled bool
}

const maxLearned = 4096

func newPacer(budget int, clk func() clock) *pacer {
	p := &pacer{
		clock:   clk,
		budget:  budget,
		limit:   budget,
		changed: make(chan struct{}),
		learned: make(map[string]int),
		turn:    make(chan struct{}, 1),
	}
	p.turn <- struct{}{}
	return p
}

// broadcast wakes every waiter. p.mu must be held.
func (p *pacer) broadcast() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// estimate returns the RU a request of this kind is expected to cost: what
// Graph last reported for the same kind, else the table's value.
func (p *pacer) estimate(key string, table int) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if ru, ok := p.learned[key]; ok {
		return ru
	}
	return table
}

// learn records what Graph reported a request of this kind cost.
func (p *pacer) learn(key string, ru int) {
	if key == "" || ru <= 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.learned[key]; ok || len(p.learned) < maxLearned {
		p.learned[key] = ru
	}
}

// acquire waits until a request costing cost RU may be sent and reserves
// it. It returns how long it waited.
func (p *pacer) acquire(ctx context.Context, cost int) (*reservation, time.Duration, error) {
	clk := p.clock()
	start := clk.Now()
	waited := func() time.Duration { return max(clk.Now().Sub(start), 0) }
	if cost < 1 {
		cost = 1
	}
	if p.budget > 0 {
		select {
		case <-p.turn:
		case <-ctx.Done():
			return nil, waited(), ctx.Err()
		}
		defer func() { p.turn <- struct{}{} }()
	}
	for {
		p.mu.Lock()
		now := clk.Now()
		if now.Before(p.blocked) {
			until, ch := p.blocked, p.changed
			p.mu.Unlock()
			if err := clk.SleepUntil(ctx, until, ch); err != nil {
				return nil, waited(), err
			}
			continue
		}
		if p.budget <= 0 {
			p.mu.Unlock()
			return &reservation{p: p, est: cost}, waited(), nil
		}
		p.prune(now)
		p.raise(now)
		used := p.inflight + p.doneSum
		if used+cost <= p.limit || used == 0 {
			p.inflight += cost
			p.mu.Unlock()
			return &reservation{p: p, est: cost, paced: true}, waited(), nil
		}
		// The earliest instant enough answered requests leave the window;
		// zero when requests in flight must answer first.
		// A request dearer than the budget waits for an empty window.
		need := min(used+cost-p.limit, used)
		var until time.Time
		freed := 0
		for _, s := range p.done {
			freed += s.ru
			if freed >= need {
				until = s.until
				break
			}
		}
		ch := p.changed
		p.mu.Unlock()
		if err := clk.SleepUntil(ctx, until, ch); err != nil {
			return nil, waited(), err
		}
	}
}

// prune drops answered requests that left the window. p.mu must be held.
func (p *pacer) prune(now time.Time) {
	i := 0
	for i < len(p.done) && !p.done[i].until.After(now) {
		p.doneSum -= p.done[i].ru
		i++
	}
	if i > 0 {
		p.done = p.done[i:]
		if len(p.done) == 0 {
			p.done = nil
		}
	}
}

// raise gives back a tenth of the budget per window without a 429. p.mu
// must be held.
func (p *pacer) raise(now time.Time) {
	if p.limit >= p.budget || now.Sub(p.lastCut) < throttleWindow || now.Sub(p.lastRaise) < throttleWindow {
		return
	}
	p.limit = min(p.budget, p.limit+max(p.budget/10, 1))
	p.lastRaise = now
}

// settle records the RU the request actually cost (what Graph reported, or
// the estimate) from now until throttleWindow from now.
func (r *reservation) settle(ru int) {
	if r == nil {
		return
	}
	p := r.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if r.settled {
		return
	}
	r.settled = true
	if !r.paced {
		return
	}
	if ru < 0 {
		ru = r.est
	}
	p.inflight -= r.est
	until := p.clock().Now().Add(throttleWindow)
	if n := len(p.done); n > 0 && until.Before(p.done[n-1].until) {
		until = p.done[n-1].until // keep the queue ordered
	}
	if ru > 0 {
		p.done = append(p.done, spent{until: until, ru: ru})
		p.doneSum += ru
	}
	p.broadcast()
}

// hold stops every request from starting before until (the server's
// Retry-After), and after a 429 lowers the budget.
func (p *pacer) hold(until time.Time, throttled bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if until.After(p.blocked) {
		p.blocked = until
		p.broadcast()
	}
	if !throttled || p.budget <= 0 {
		return
	}
	now := p.clock().Now()
	if !p.lastCut.IsZero() && now.Sub(p.lastCut) < throttleWindow {
		return
	}
	p.limit = max(p.limit*3/4, max(p.budget/10, 1))
	p.lastCut, p.lastRaise = now, now
}

// effective returns the current budget, 0 when pacing is off.
func (p *pacer) effective() int {
	if p.budget <= 0 {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.limit
}
