package sync_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"qtc/api/sim"
	qsync "qtc/sync"
)

// BenchmarkFullSync measures end-to-end sync throughput (records/s) from the
// simulator over loopback HTTP into a fresh store: decoding, indexing and one
// durable commit per page, with the next page fetched while one is written.
func BenchmarkFullSync(b *testing.B) {
	for _, tc := range []struct {
		name    string
		latency time.Duration
	}{{"latency=0", 0}, {"latency=20ms", 20 * time.Millisecond}} {
		b.Run(tc.name, func(b *testing.B) {
			const exceptions = 20000
			s := sim.New(sim.Options{Policies: 200, Exceptions: exceptions, Latency: tc.latency, RateLimit: 1 << 30})
			srv := httptest.NewServer(s.Handler())
			defer srv.Close()
			d := sim.Defaults(sim.Options{})
			records := 0
			var elapsed time.Duration
			for i := 0; i < b.N; i++ {
				eng := newTestEngine(b)
				eng.PageSize = 200
				ctx := context.Background()
				if _, err := eng.SaveQualys(ctx, qsync.QualysConnector{Name: "b", GatewayURL: srv.URL, Username: d.Username, Password: d.Password, Resources: "none"}); err != nil {
					b.Fatal(err)
				}
				start := time.Now()
				run, err := eng.Sync(ctx, "b", qsync.Options{})
				elapsed += time.Since(start)
				if err != nil {
					b.Fatal(err)
				}
				for _, c := range run.Counts {
					records += c.Added
				}
			}
			b.ReportMetric(float64(records)/elapsed.Seconds(), "records/s")
		})
	}
}
