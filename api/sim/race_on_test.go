//go:build race

package sim

// raceEnabled is true when the tests run under the race detector (which
// slows JSON work about tenfold: the seed-scale test is skipped there).
const raceEnabled = true
