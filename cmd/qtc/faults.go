package main

import (
	"fmt"
	"strconv"
	"strings"

	"qtc/api/sim"
	graphsim "qtc/api/sim/graph"
)

// faultKind is one --faults kind: where it goes in each simulator (nil:
// the simulator has no such fault).
type faultKind struct {
	name   string
	graph  func(*graphsim.FaultOptions) *float64
	qualys func(*sim.FaultOptions) *float64
}

// faultKinds are the --faults kinds, in the order help lists them.
var faultKinds = []faultKind{
	{"429", func(f *graphsim.FaultOptions) *float64 { return &f.Throttle }, func(f *sim.FaultOptions) *float64 { return &f.Throttle }},
	{"503", func(f *graphsim.FaultOptions) *float64 { return &f.Unavailable }, func(f *sim.FaultOptions) *float64 { return &f.Unavailable }},
	// Qualys's 503 carries no Retry-After anyway: "503" is that one.
	{"503-no-retry-after", func(f *graphsim.FaultOptions) *float64 { return &f.UnavailableNoRetryAfter }, nil},
	{"504", func(f *graphsim.FaultOptions) *float64 { return &f.GatewayTimeout }, func(f *sim.FaultOptions) *float64 { return &f.GatewayTimeout }},
	{"reset", func(f *graphsim.FaultOptions) *float64 { return &f.ConnReset }, func(f *sim.FaultOptions) *float64 { return &f.ConnReset }},
	{"truncated", func(f *graphsim.FaultOptions) *float64 { return &f.TruncatedBody }, func(f *sim.FaultOptions) *float64 { return &f.TruncatedBody }},
	{"slow", func(f *graphsim.FaultOptions) *float64 { return &f.SlowBody }, func(f *sim.FaultOptions) *float64 { return &f.SlowBody }},
	// The XML APIs use basic authentication: the Qualys simulator expires
	// only gateway tokens.
	{"expired-token", func(f *graphsim.FaultOptions) *float64 { return &f.ExpiredToken }, func(f *sim.FaultOptions) *float64 { return &f.ExpiredToken }},
	{"410", func(f *graphsim.FaultOptions) *float64 { return &f.DeltaGone }, nil},
	{"replay", func(f *graphsim.FaultOptions) *float64 { return &f.DeltaReplay }, nil},
}

func faultKindNames() string {
	names := make([]string, len(faultKinds))
	for i, k := range faultKinds {
		names[i] = k.name
	}
	return strings.Join(names, ", ")
}

// faults are the fault rates of both simulators.
type faults struct {
	graph  graphsim.FaultOptions
	qualys sim.FaultOptions
}

// parseFaults reads --faults: "0.2" makes 20% of each simulator's requests
// fail, spread evenly over the kinds it has; "429=0.05,reset=0.01" sets
// kinds one by one, in every simulator that has them. A rate is between 0
// and 1, a kind is named once, and the rates add up to at most 1.
func parseFaults(s string) (faults, error) {
	var f faults
	s = strings.TrimSpace(s)
	if s == "" {
		return f, nil
	}
	rate := func(v string) (float64, error) {
		p, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || p < 0 || p > 1 {
			return 0, fmt.Errorf("--faults: %q is not a rate between 0 and 1", strings.TrimSpace(v))
		}
		return p, nil
	}
	if !strings.Contains(s, "=") {
		p, err := rate(s)
		if err != nil {
			return f, err
		}
		var nq int
		for _, k := range faultKinds {
			if k.qualys != nil {
				nq++
			}
		}
		for _, k := range faultKinds {
			*k.graph(&f.graph) = p / float64(len(faultKinds))
			if k.qualys != nil {
				*k.qualys(&f.qualys) = p / float64(nq)
			}
		}
		return f, nil
	}
	seen := map[string]bool{}
	total := 0.0
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(part, "=")
		k = strings.TrimSpace(k)
		var kind *faultKind
		for i := range faultKinds {
			if faultKinds[i].name == k {
				kind = &faultKinds[i]
			}
		}
		if !ok || kind == nil {
			return f, fmt.Errorf("--faults: %q is not kind=rate with a kind of %s", strings.TrimSpace(part), faultKindNames())
		}
		if seen[k] {
			return f, fmt.Errorf("--faults: kind %s is given twice; name each kind once", k)
		}
		seen[k] = true
		p, err := rate(v)
		if err != nil {
			return f, err
		}
		total += p
		*kind.graph(&f.graph) = p
		if kind.qualys != nil {
			*kind.qualys(&f.qualys) = p
		}
	}
	if total > 1+1e-9 {
		return f, fmt.Errorf("--faults: the rates add up to %g; they must add up to at most 1", total)
	}
	return f, nil
}

func faultsErr(s string) error { _, err := parseFaults(s); return err }
