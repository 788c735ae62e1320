package main

import (
	"math"
	"strings"
	"testing"
)

func TestParseFaults(t *testing.T) {
	tests := []struct {
		in          string
		graphTotal  float64 // sum of the Graph simulator's rates
		qualysTotal float64 // sum of the Qualys simulator's rates
		throttle    float64 // Graph 429 rate
		slow        float64 // Graph slow-body rate
		qualys429   float64
		wantErr     string
	}{
		{in: ""},
		{in: "0.2", graphTotal: 0.2, qualysTotal: 0.2, throttle: 0.2 / 10, slow: 0.2 / 10, qualys429: 0.2 / 7},
		{in: "429=0.05, reset=0.01", graphTotal: 0.06, qualysTotal: 0.06, throttle: 0.05, qualys429: 0.05},
		{in: "slow=0.1,410=0.1", graphTotal: 0.2, qualysTotal: 0.1, slow: 0.1},
		{in: "503-no-retry-after=0.3", graphTotal: 0.3},
		{in: "1.5", wantErr: `--faults: "1.5" is not a rate between 0 and 1`},
		{in: "-0.1", wantErr: "between 0 and 1"},
		{in: "429=x", wantErr: `--faults: "x" is not a rate between 0 and 1`},
		{in: "boom=0.1", wantErr: `--faults: "boom=0.1" is not kind=rate with a kind of 429, 503, 503-no-retry-after, 504, reset, truncated, slow, expired-token, 410, replay`},
		{in: "429", wantErr: "between 0 and 1"},
		{in: "429=0.1,429=0.2", wantErr: "--faults: kind 429 is given twice"},
		{in: "429=0.6,503=0.6", wantErr: "--faults: the rates add up to 1.2; they must add up to at most 1"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			f, err := parseFaults(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			g, q := f.graph, f.qualys
			gt := g.Throttle + g.Unavailable + g.UnavailableNoRetryAfter + g.GatewayTimeout + g.ConnReset + g.TruncatedBody + g.SlowBody + g.ExpiredToken + g.DeltaGone + g.DeltaReplay
			qt := q.Throttle + q.Unavailable + q.GatewayTimeout + q.ConnReset + q.TruncatedBody + q.SlowBody + q.ExpiredToken
			near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
			if !near(gt, tc.graphTotal) || !near(qt, tc.qualysTotal) || !near(g.Throttle, tc.throttle) || !near(g.SlowBody, tc.slow) || !near(q.Throttle, tc.qualys429) {
				t.Errorf("graph %+v (total %v), qualys %+v (total %v)", g, gt, q, qt)
			}
		})
	}
}
