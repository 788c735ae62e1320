package graph

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type grant struct {
	at time.Time
	ru int
}

// maxWindow returns the largest RU sum over any 10 s window (t-10s, t].
func maxWindow(grants []grant) (int, time.Time) {
	sort.Slice(grants, func(i, j int) bool { return grants[i].at.Before(grants[j].at) })
	best, at := 0, time.Time{}
	lo, sum := 0, 0
	for hi := range grants {
		sum += grants[hi].ru
		for !grants[lo].at.After(grants[hi].at.Add(-throttleWindow)) {
			sum -= grants[lo].ru
			lo++
		}
		if sum > best {
			best, at = sum, grants[hi].at
		}
	}
	return best, at
}

func TestPacerKeepsBudgetOverAMinute(t *testing.T) {
	tests := []struct {
		name   string
		budget int
		costs  []int
	}{
		{"identity mix", 100, []int{2, 1, 3, 5, 2, 2, 1}},
		{"large tenant", 8000, []int{2, 1, 3, 5, 2, 2, 1, 40}},
		{"cost above budget", 4, []int{1, 9, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newFakeClock()
			p := newPacer(tt.budget, func() clock { return clk })
			start := clk.Now()
			end := start.Add(time.Minute)
			var grants []grant
			total := 0
			for i := 0; clk.Now().Before(end); i++ {
				cost := tt.costs[i%len(tt.costs)]
				res, _, err := p.acquire(context.Background(), cost)
				if err != nil {
					t.Fatal(err)
				}
				now := clk.Now()
				if !now.Before(end) {
					res.settle(cost)
					break
				}
				grants = append(grants, grant{now, cost})
				total += cost
				res.settle(cost)
			}
			limit := tt.budget
			if m := maxCost(tt.costs); m > limit {
				limit = m // a request dearer than the budget goes alone
			}
			if got, at := maxWindow(grants); got > limit {
				t.Errorf("%d RU in the 10 s before %v, budget %d", got, at.Sub(start), tt.budget)
			}
			if tt.budget >= 100 && total < tt.budget*6*9/10 {
				t.Errorf("only %d RU in a minute, budget allows %d", total, tt.budget*6)
			}
		})
	}
}

func maxCost(c []int) int {
	m := 0
	for _, v := range c {
		m = max(m, v)
	}
	return m
}

// A whole client against a Graph fake that reports x-ms-resource-unit:
// what the server receives stays under the budget in every 10 s window,
// with 8 requests in flight, over a simulated minute.
func TestClientPacesUnderBudget(t *testing.T) {
	const budget = 200
	clk := newFakeClock()
	var mu sync.Mutex
	var arrivals []grant
	f := newFakeEntra(t, func(w http.ResponseWriter, r *http.Request) {
		// devices are estimated at 1 but cost 3 here: the pacer must learn it.
		ru := 3
		if r.URL.Path != "/v1.0/devices" {
			ru = 2 // groups/{id}/members with $select: 3 − 1
		}
		mu.Lock()
		arrivals = append(arrivals, grant{clk.Now(), ru})
		mu.Unlock()
		writeJSON(w, 200, `{"value":[{"id":"x"}]}`, "x-ms-resource-unit", fmt.Sprint(ru))
	})
	c, _, _ := newTestClient(t, f, clientOpts{clock: clk, budget: budget, concurrency: 8})
	if _, err := c.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	start := clk.Now()
	end := start.Add(time.Minute)
	var wg sync.WaitGroup
	var n atomic.Int64
	for g := range 8 {
		wg.Go(func() {
			for clk.Now().Before(end) {
				path := "/v1.0/devices"
				if n.Add(1)%2 == 0 {
					path = fmt.Sprintf("/v1.0/groups/2e5d5ba9-0fd6-4a6d-9b46-d4b5ae6cd3c%d/members?$select=id", g)
				}
				if _, err := c.Get(context.Background(), path); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	got, at := maxWindow(arrivals)
	if got > budget {
		t.Errorf("server saw %d RU in the 10 s before %v; budget %d", got, at.Sub(start), budget)
	}
	inMinute := 0
	for _, a := range arrivals {
		if a.at.Before(end) {
			inMinute += a.ru
		}
	}
	if inMinute < budget*6*8/10 {
		t.Errorf("only %d RU in the minute; the budget allows %d", inMinute, budget*6)
	}
	s := c.Stats()
	if s.Throttled429Outer != 0 || s.ResourceUnits == 0 || s.PacerWait <= 0 || s.EffectiveBudget != budget {
		t.Errorf("stats %+v", s)
	}
	t.Logf("%d requests, %d RU in the minute, busiest window %d RU, pacer wait %v", len(arrivals), inMinute, got, s.PacerWait)
}

func TestPacerHoldAndAdapt(t *testing.T) {
	clk := newFakeClock()
	ctx := context.Background()
	// A Retry-After holds the next request for exactly that long.
	held := newPacer(1000, func() clock { return clk })
	held.hold(clk.Now().Add(30*time.Second), false)
	r0, waited, err := held.acquire(ctx, 1)
	if err != nil || waited != 30*time.Second {
		t.Fatalf("acquire after hold waited %v, %v; want 30s", waited, err)
	}
	r0.settle(1)

	p := newPacer(1000, func() clock { return clk })
	p.hold(time.Time{}, true)
	if got := p.effective(); got != 750 {
		t.Errorf("budget after a 429 = %d, want 750", got)
	}
	// A second 429 in the same window does not cut again.
	p.hold(time.Time{}, true)
	if got := p.effective(); got != 750 {
		t.Errorf("budget after a second 429 in the window = %d, want 750", got)
	}
	// Recovers a tenth per quiet window.
	clk.Advance(throttleWindow)
	r2, _, _ := p.acquire(ctx, 1)
	r2.settle(1)
	if got := p.effective(); got != 850 {
		t.Errorf("budget after a quiet window = %d, want 850", got)
	}
	for range 5 {
		clk.Advance(throttleWindow)
		r, _, _ := p.acquire(ctx, 1)
		r.settle(1)
	}
	if got := p.effective(); got != 1000 {
		t.Errorf("budget after recovery = %d, want 1000", got)
	}
	// Never below a tenth.
	for range 20 {
		clk.Advance(throttleWindow)
		p.hold(time.Time{}, true)
	}
	if got := p.effective(); got != 100 {
		t.Errorf("budget floor = %d, want 100", got)
	}
}

// In-flight requests count until they are answered: a waiter is woken by
// the answer, not by a timer.
func TestPacerWaitsForInFlight(t *testing.T) {
	clk := newFakeClock()
	p := newPacer(10, func() clock { return clk })
	ctx := context.Background()
	r1, _, _ := p.acquire(ctx, 8)
	start := clk.Now()
	got := make(chan time.Time)
	go func() {
		r2, _, err := p.acquire(ctx, 5)
		if err != nil {
			t.Error(err)
		}
		granted := clk.Now()
		r2.settle(5)
		got <- granted
	}()
	// r2 cannot go before r1 is answered and has left the window.
	clk.Advance(2 * time.Second)
	r1.settle(8)
	if g := (<-got).Sub(start); g != 12*time.Second {
		t.Errorf("granted after %v, want 12s (2s in flight + 10s window)", g)
	}
}

func TestPacerLearnsCost(t *testing.T) {
	p := newPacer(100, func() clock { return newFakeClock() })
	key, table := requestCost("GET", "https://graph.microsoft.com/v1.0/devices")
	if got := p.estimate(key, table); got != 1 {
		t.Fatalf("estimate %d, want 1", got)
	}
	p.learn(key, 3)
	if got := p.estimate(key, table); got != 3 {
		t.Errorf("estimate after learning %d, want 3", got)
	}
}

func TestPacerOff(t *testing.T) {
	clk := newFakeClock()
	p := newPacer(-1, func() clock { return clk })
	for range 100 {
		r, w, err := p.acquire(context.Background(), 5000)
		if err != nil || w != 0 {
			t.Fatalf("pacing off waited %v, %v", w, err)
		}
		r.settle(5000)
	}
	if p.effective() != 0 {
		t.Errorf("effective %d", p.effective())
	}
}

func TestRequestCost(t *testing.T) {
	tests := []struct {
		method, url string
		want        int
		wantKey     string
	}{
		{"GET", "https://graph.microsoft.com/v1.0/users", 2, "GET users"},
		{"GET", "/v1.0/users?$select=id,displayName&$top=999", 1, "GET users|select"},
		{"GET", "/v1.0/users?$top=5", 1, "GET users|top<20"},
		{"GET", "/v1.0/applications?$expand=owners", 3, "GET applications|expand"},
		{"GET", "/v1.0/users/87d349ed-44d7-43e1-9a83-5f2406dee5bd/memberOf", 2, "GET users/{id}/memberof"},
		{"GET", "/v1.0/users/AdeleV@contoso.onmicrosoft.com/memberOf?$select=id", 1, "GET users/{id}/memberof|select"},
		{"GET", "/v1.0/me/transitiveMemberOf", 2, "GET users/{id}/transitivememberof"},
		{"GET", "/v1.0/servicePrincipals/0e226165-c685-41ce-8bfc-df8360ab325d/appRoleAssignments", 2, "GET serviceprincipals/{id}/approleassignments"},
		{"GET", "/v1.0/servicePrincipals/0e226165-c685-41ce-8bfc-df8360ab325d/appRoleAssignedTo", 1, "GET serviceprincipals/{id}/approleassignedto"},
		{"GET", "/v1.0/groups/0e226165-c685-41ce-8bfc-df8360ab325d/members", 3, "GET groups/{id}/members"},
		{"GET", "/v1.0/groups/0e226165-c685-41ce-8bfc-df8360ab325d/members/microsoft.graph.user?$select=id", 2, "GET groups/{id}/members|select"},
		{"GET", "/v1.0/groups/0e226165-c685-41ce-8bfc-df8360ab325d/transitiveMembers", 5, "GET groups/{id}/transitivemembers"},
		{"GET", "/v1.0/groups/0e226165-c685-41ce-8bfc-df8360ab325d/memberof", 1, "GET groups/{id}/memberof"},
		{"GET", "/v1.0/users/delta()?$skiptoken=abc", 1, "GET users/delta"},
		{"GET", "/v1.0/groups/microsoft.graph.delta()?$select=members", 1, "GET groups/delta|select"},
		{"GET", "/v1.0/roleManagement/directory/roleDefinitions", 1, "GET rolemanagement/directory/roledefinitions"},
		{"GET", "/v1.0/oauth2PermissionGrants", 2, "GET oauth2permissiongrants"},
		{"GET", "/v1.0/subscribedSkus", 3, "GET subscribedskus"},
		{"POST", "/v1.0/directoryObjects/getByIds", 3, "POST directoryobjects/getbyids"},
		{"GET", "/v1.0/devices", 1, "GET devices"},
		{"GET", "/v1.0/devices?$select=id", 1, "GET devices|select"},
	}
	for _, tt := range tests {
		key, cost := requestCost(tt.method, tt.url)
		if cost != tt.want || key != tt.wantKey {
			t.Errorf("requestCost(%s %s) = %q %d, want %q %d", tt.method, tt.url, key, cost, tt.wantKey, tt.want)
		}
	}
}
