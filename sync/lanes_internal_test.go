package sync

import (
	"context"
	"slices"
	gosync "sync"
	"testing"
	"time"
)

// TestPullLanes: a lane of 2 runs two of its streams at once, a lane of 1
// runs its streams one at a time in plan order, the lanes run side by
// side, and a stream marked last runs after all of them.
func TestPullLanes(t *testing.T) {
	p := plan{lanes: map[string]int{"gw": 2, "api": 1}}
	for _, l := range []string{"gw", "gw", "api", "gw", "api", "api", "gw", ""} {
		p.streams = append(p.streams, stream{lane: l, last: l == ""})
	}
	// The first two gateway streams and the first API stream must all be
	// running at the same moment: each waits for the other two.
	meet := make(chan struct{})
	var arrived gosync.WaitGroup
	arrived.Add(3)
	go func() { arrived.Wait(); close(meet) }()

	var mu gosync.Mutex
	running := map[string]int{}
	most := map[string]int{}
	var order []int
	var finished []int
	one := func(i int) {
		lane := p.streams[i].lane
		mu.Lock()
		running[lane]++
		most[lane] = max(most[lane], running[lane])
		order = append(order, i)
		mu.Unlock()
		if i == 0 || i == 1 || i == 2 {
			arrived.Done()
			select {
			case <-meet:
			case <-time.After(10 * time.Second):
				t.Errorf("stream %d: the lanes did not run side by side (two gateway streams and an API stream at once)", i)
			}
		}
		mu.Lock()
		running[lane]--
		finished = append(finished, i)
		mu.Unlock()
	}
	pullLanes(context.Background(), p, one)

	if len(order) != len(p.streams) {
		t.Fatalf("ran %v, want every stream once", order)
	}
	if most["gw"] != 2 || most["api"] != 1 {
		t.Errorf("most streams at once: gateway %d (want 2), API %d (want 1)", most["gw"], most["api"])
	}
	var api []int
	for _, i := range order {
		if p.streams[i].lane == "api" {
			api = append(api, i)
		}
	}
	if !slices.Equal(api, []int{2, 4, 5}) {
		t.Errorf("API streams ran in the order %v, want the plan's [2 4 5]", api)
	}
	if order[len(order)-1] != 7 || finished[len(finished)-1] != 7 || slices.Index(finished, 7) != len(finished)-1 {
		t.Errorf("the stream marked last did not run after the others: started %v, finished %v", order, finished)
	}
}
