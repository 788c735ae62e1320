package sync_test

import (
	"context"
	"math"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"qtc/api/sim"
	qsync "qtc/sync"
)

// BenchmarkQualysSeedSync is the Qualys figure: a first sync of
// every stream (policies, exceptions, every TotalCloud resource type, host
// assets, their findings and CVEs) from the simulator at seed scale with
// 20 ms latency, next to the bound the simulator's rate headers imply:
// each server (the gateway; the API server of the XML APIs) allows
// X-Concurrency-Limit-Limit calls at once and X-RateLimit-Limit calls a
// window, so its requests take at least requests × latency ÷ that
// concurrency, plus a window's wait for every limit's worth beyond the
// first. Run it with `make bench` (about a minute).
func BenchmarkQualysSeedSync(b *testing.B) {
	if testing.Short() {
		b.Skip("seed scale")
	}
	latency := 20 * time.Millisecond
	if v := os.Getenv("QTC_BENCH_LATENCY"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			b.Fatalf("QTC_BENCH_LATENCY: %v", err)
		}
		latency = d
	}
	for i := 0; i < b.N; i++ {
		s := sim.New(sim.Options{Scale: sim.ScaleSeed, Latency: latency})
		srv := httptest.NewServer(s.Handler())
		eng := newTestEngine(b)
		d := sim.Defaults(sim.Options{})
		ctx := context.Background()
		if _, err := eng.SaveQualys(ctx, qsync.QualysConnector{Name: "b", GatewayURL: srv.URL, APIURL: srv.URL,
			Username: d.Username, Password: d.Password}); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		run, err := eng.Sync(ctx, "b", qsync.Options{})
		wall := time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		stats := s.Stats()
		gateway, xml := 0, 0
		var patterns []string
		for p, n := range stats.Requests {
			switch {
			case strings.HasPrefix(p, "/api/") || strings.HasPrefix(p, "/qps/"):
				xml += n
			default:
				gateway += n
			}
			patterns = append(patterns, p)
		}
		sort.Strings(patterns)
		const concurrency = 2 // X-Concurrency-Limit-Limit of both servers
		limit, window := d.RateLimit, d.RateWindow
		bound := time.Duration(0)
		for _, n := range []int{gateway, xml} {
			t := time.Duration(n) * latency / concurrency
			if n > limit {
				t += time.Duration(math.Ceil(float64(n-limit)/float64(limit))) * window
			}
			bound = max(bound, t)
		}
		records := 0
		for _, c := range run.Counts {
			records += c.Added
		}
		b.Logf("%d records in %.1fs: %d requests (gateway %d, API server %d), %d throttled; bound %.1fs (%.2f×)",
			records, wall.Seconds(), run.Requests, gateway, xml, stats.Throttled, bound.Seconds(), wall.Seconds()/bound.Seconds())
		for _, p := range patterns {
			b.Logf("  %6d %s", stats.Requests[p], p)
		}
		b.ReportMetric(wall.Seconds(), "s")
		b.ReportMetric(float64(records)/wall.Seconds(), "records/s")
		b.ReportMetric(wall.Seconds()/bound.Seconds(), "x-bound")
		srv.Close()
	}
}
