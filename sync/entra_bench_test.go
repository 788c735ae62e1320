package sync_test

import (
	"context"
	"net/http/httptest"
	"os"
	"runtime/pprof"
	"testing"
	"time"

	"qtc/api/graph"
	graphsim "qtc/api/sim/graph"
	qsync "qtc/sync"
)

// BenchmarkEntraSeedSync is the figure: a full identity sync with
// security posture (every relation) of the seed-scale tenant (111,207
// users; 800 groups, and a variant with 10,000) at 20 ms latency under
// Graph's 8,000 RU / 10 s budget, then a delta of about 1% churn. It reports
// wall time, requests, resource units and 429s next to the lower bound for
// the same data: max(requests × latency ÷ concurrency, (RU of the cheapest
// plan − 8,000) ÷ 800 RU/s). Run it with `make bench` (a few minutes).
func BenchmarkEntraSeedSync(b *testing.B) {
	latency := 20 * time.Millisecond
	if v := os.Getenv("QTC_BENCH_LATENCY"); v != "" { // e.g. 0 to profile the store
		d, err := time.ParseDuration(v)
		if err != nil {
			b.Fatalf("QTC_BENCH_LATENCY: %v", err)
		}
		latency = d
	}
	for _, tc := range []struct {
		name   string
		groups int
	}{{"groups=800", 0}, {"groups=10000", 10000}} {
		b.Run(tc.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				s := graphsim.New(graphsim.Options{Scale: graphsim.ScaleSeed, Groups: tc.groups, Latency: latency})
				srv := httptest.NewServer(s.Handler())
				eng := newTestEngine(b)
				d := graphsim.Defaults(graphsim.Options{})
				ctx := context.Background()
				if _, err := eng.SaveEntra(ctx, qsync.EntraConnector{Kind: qsync.KindEntra, Name: "b", TenantID: d.TenantID, ClientID: d.ClientID,
					ClientSecret: d.ClientSecret, LoginURL: srv.URL + graphsim.LoginPath, GraphURL: srv.URL + graphsim.GraphPath, Scope: "posture"}); err != nil {
					b.Fatal(err)
				}
				truth := s.Truth()
				plan := graphsim.CheapestPlan(truth)
				chain := longestChain(truth)
				start := time.Now()
				run, err := eng.Sync(ctx, "b", qsync.Options{})
				wall := time.Since(start)
				if err != nil {
					b.Fatal(err)
				}
				stats := s.Stats()
				bound := max(time.Duration(run.Requests)*latency/graph.DefaultConcurrency, time.Millisecond,
					time.Duration(float64(max(plan.RU-8000, 0))/800*float64(time.Second)))
				// What no client can beat with this plan: the longest chain of
				// pages that each need the previous page's next link, and the
				// budget for the RU this plan spends.
				floor := max(bound, time.Duration(chain)*latency,
					time.Duration(float64(max(stats.TotalRU-8000, 0))/800*float64(time.Second)))
				b.Logf("full: %.1fs wall, %d requests (%d inner in %d batches), %d RU, %d throttled; cheapest plan %d calls %d RU; bound %.1fs (%.2f×); chain of %d pages, floor of this plan %.1fs (%.2f×)",
					wall.Seconds(), run.Requests, stats.InnerRequests, stats.Batches, stats.TotalRU, stats.Throttled429, plan.Calls, plan.RU, bound.Seconds(), wall.Seconds()/bound.Seconds(),
					chain, floor.Seconds(), wall.Seconds()/floor.Seconds())
				b.ReportMetric(wall.Seconds(), "full-s")
				b.ReportMetric(float64(stats.TotalRU), "full-RU")
				b.ReportMetric(wall.Seconds()/bound.Seconds(), "full-x-bound")
				b.ReportMetric(wall.Seconds()/floor.Seconds(), "full-x-floor")

				if p := os.Getenv("QTC_BENCH_DELTA_PROFILE"); p != "" { // a CPU profile of the delta alone
					f, err := os.Create(p)
					if err != nil {
						b.Fatal(err)
					}
					if err := pprof.StartCPUProfile(f); err != nil {
						b.Fatal(err)
					}
					defer func() { pprof.StopCPUProfile(); f.Close() }()
				}
				before := s.Stats()
				s.Mutate(graphsim.Mutation{AddUsers: 500, UpdateUsers: 500, SoftDeleteUsers: 100, AddGroups: 5, UpdateGroups: 10, AddMembers: 500, RemoveMembers: 500})
				start = time.Now()
				run, err = eng.Sync(ctx, "b", qsync.Options{})
				wall = time.Since(start)
				if err != nil {
					b.Fatal(err)
				}
				after := s.Stats()
				b.Logf("delta (1%% churn): %.2fs wall, %d requests, %d RU, %d throttled", wall.Seconds(), run.Requests, after.TotalRU-before.TotalRU, after.Throttled429-before.Throttled429)
				b.ReportMetric(wall.Seconds(), "delta-s")
				srv.Close()
			}
		})
	}
}

// longestChain is the most pages any one listing of a full pull takes
// (999 a page): each page's request needs the previous page's next link,
// so those requests run one after another whatever the concurrency. The
// longest is the users listing or the biggest group's or unit's members.
func longestChain(t graphsim.Truth) int {
	pages := func(n int) int { return max(1, (n+998)/999) }
	longest := pages(len(t.Users))
	for _, m := range t.Members {
		longest = max(longest, pages(len(m)))
	}
	return longest
}
