package qualys

import (
	"context"
	"os"
	"runtime"
	"testing"
	"time"

	"qtc/api/sim"
)

// TestSeedScalePull pages all 30,000 seed-scale hosts and their detections
// and reports time and peak heap. Opt-in (QTC_SEED_SCALE=1): generating the
// seed tenant takes seconds.
func TestSeedScalePull(t *testing.T) {
	if os.Getenv("QTC_SEED_SCALE") == "" {
		t.Skip("set QTC_SEED_SCALE=1")
	}
	s, _, c := newSimAPI(t, sim.Options{Scale: sim.ScaleSeed})
	start := time.Now()
	_ = s.HostAssets() // generate outside the timing
	t.Logf("generation %v", time.Since(start))
	var peak uint64
	sample := func() {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		peak = max(peak, m.HeapInuse)
	}
	start = time.Now()
	n, d := 0, 0
	if err := c.HostAssets(context.Background(), HostAssetQuery{PageSize: 1000, OnPage: func(HostAssetPage) error { sample(); return nil }},
		func(HostAsset) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := c.HostDetections(context.Background(), DetectionQuery{OnPage: func(ListPage) error { sample(); return nil }},
		func(h DetectionHost) error { d += len(h.Detections); return nil }); err != nil {
		t.Fatal(err)
	}
	if n != 30000 {
		t.Fatalf("%d hosts", n)
	}
	t.Logf("%d hosts, %d detections in %v, %d requests, peak heap in use %d MiB (simulator included)", n, d, time.Since(start), c.Requests(), peak>>20)
}
