package main

import (
	"math"
	"strings"
	"testing"
)

func TestParseFaults(t *testing.T) {
	tests := []struct {
		in      string
		total   float64
		throttl float64
		reset   float64
		wantErr string
	}{
		{in: "", total: 0},
		{in: "0.2", total: 0.2, throttl: 0.2 / 9, reset: 0.2 / 9},
		{in: "429=0.05, reset=0.01", total: 0.06, throttl: 0.05, reset: 0.01},
		{in: "1.5", wantErr: "between 0 and 1"},
		{in: "429=x", wantErr: "between 0 and 1"},
		{in: "boom=0.1", wantErr: "kind=rate"},
		{in: "429", wantErr: "between 0 and 1"},
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
			total := f.Throttle + f.Unavailable + f.UnavailableNoRetryAfter + f.GatewayTimeout + f.ConnReset + f.TruncatedBody + f.ExpiredToken + f.DeltaGone + f.DeltaReplay
			if math.Abs(total-tc.total) > 1e-9 || math.Abs(f.Throttle-tc.throttl) > 1e-9 || math.Abs(f.ConnReset-tc.reset) > 1e-9 {
				t.Errorf("%+v (total %v)", f, total)
			}
		})
	}
}
