package store

import (
	"testing"
	"time"
)

// timeSamples are timestamps in and around the accepted formats.
var timeSamples = []string{
	"2020-07-09T11:33:36+0000", "2020-07-09T11:33:36-0530", "2020-07-09T11:33:36+05:30",
	"2026-05-17T18:30:00.000Z", "2026-05-17T18:30:00.1Z", "2026-05-17T18:30:00.123456789Z",
	"2026-05-17T18:30:00.1234567891Z", "2026-05-17T18:30:00.5-0100", "2026-05-17T18:30:00Z",
	"2024-02-29T00:00:00Z", "2023-02-29T00:00:00Z", "2023-04-31T00:00:00Z", "2023-13-01T00:00:00Z",
	"2023-01-01T24:00:00Z", "2023-01-01T23:60:00Z", "2023-01-01T23:59:60Z", "2023-01-01T23:59:59+24:00",
	"2023-01-01T23:59:59+23:59", "2023-01-01T23:59:59-23:59", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z",
	"1677-09-21T00:12:43Z", "2262-04-11T23:47:17Z", "1969-12-31T23:59:59.999999999Z", "1900-03-01T00:00:00Z",
	"2000-02-29T12:00:00+0100", "2100-02-29T12:00:00Z", "2023-01-01T00:00:00", "2023-01-01",
	"2023-01-01 10:00:00", "2023-01-01T00:00:00z", "2023-01-01t00:00:00Z", "2023-01-01T00:00:00+01",
	"2023-01-01T00:00:00.Z", "x023-01-01T00:00:00Z", "2023-01-01T00:00:00ZZ", "", "garbage",
}

func TestParseTimeFastAgrees(t *testing.T) {
	for _, s := range timeSamples {
		t.Run(s, func(t *testing.T) { checkParseTime(t, s) })
	}
}

func checkParseTime(t *testing.T, s string) {
	slow, slowOK := parseTimeSlow(s)
	fast, fastOK := parseTimeFast(s)
	if fastOK && (!slowOK || fast != slow) {
		t.Fatalf("parseTimeFast(%q) = %d, time.Parse gives %d, %v", s, fast, slow, slowOK)
	}
	got, ok := parseTimeNanos(s)
	if ok != slowOK || got != slow {
		t.Fatalf("parseTimeNanos(%q) = %d, %v; want %d, %v", s, got, ok, slow, slowOK)
	}
}

func FuzzParseTime(f *testing.F) {
	for _, s := range timeSamples {
		f.Add(s)
	}
	f.Fuzz(checkParseTime)
}

func TestParseTimeFastDays(t *testing.T) {
	// Every day of a few centuries, at a few offsets, against time.Date.
	for d := time.Date(1800, 1, 1, 0, 0, 0, 0, time.UTC); d.Year() < 2300; d = d.AddDate(0, 0, 1) {
		s := d.Add(13*time.Hour + 7*time.Second).Format("2006-01-02T15:04:05-0700")
		got, ok := parseTimeFast(s)
		want := clampNanos(d.Unix()+13*3600+7, 0)
		if !ok || got != want {
			t.Fatalf("parseTimeFast(%q) = %d, %v; want %d", s, got, ok, want)
		}
	}
}

func BenchmarkSortKeyTime(b *testing.B) {
	for _, s := range []string{"2020-07-09T11:33:36+0000", "2026-05-17T18:30:00.000Z"} {
		b.Run(s, func(b *testing.B) {
			for b.Loop() {
				SortKey(Time, s)
			}
		})
	}
	b.Run("slow", func(b *testing.B) {
		for b.Loop() {
			parseTimeSlow("2020-07-09T11:33:36+0000")
		}
	})
}
