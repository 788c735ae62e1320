//go:build !linux

package ui

import "testing"

// peakRSS needs Linux's ru_maxrss of a child process.
func peakRSS(b *testing.B, _, _ string) { b.Skip("peak RSS is measured on Linux only") }
