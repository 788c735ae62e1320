package sync_test

import (
	"strings"
	"testing"
	"time"

	"qtc/store"
	qsync "qtc/sync"
)

func mustSchedule(t *testing.T, kind, start, end, every, tz string) qsync.Schedule {
	t.Helper()
	s, err := qsync.ParseSchedule(kind, start, end, every, tz)
	if err != nil {
		t.Fatalf("ParseSchedule(%q, %q, %q, %q, %q): %v", kind, start, end, every, tz, err)
	}
	return s
}

func utc(t *testing.T, v string) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339, v)
	if err != nil {
		t.Fatal(err)
	}
	return at
}

// TestScheduleNext walks each schedule from `after` and compares the runs
// (as UTC instants) with the expected ones; "-" marks the end of runs.
func TestScheduleNext(t *testing.T) {
	tests := []struct {
		name                        string
		kind, start, end, every, tz string
		after                       string
		want                        []string
	}{
		{name: "Asia/Calcutta daily, no DST: always 09:56Z",
			kind: "daily", start: "2026-05-04 15:26", tz: "Asia/Calcutta", after: "2026-05-01T00:00:00Z",
			want: []string{"2026-05-04T09:56:00Z", "2026-05-05T09:56:00Z", "2026-05-06T09:56:00Z"}},
		{name: "New York daily 02:30 across spring forward: the skipped 02:30 runs at 03:00 EDT",
			kind: "daily", start: "2026-03-06 02:30", tz: "America/New_York", after: "2026-03-01T00:00:00Z",
			want: []string{"2026-03-06T07:30:00Z", "2026-03-07T07:30:00Z", "2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"}},
		{name: "New York daily 01:30 across fall back: the repeated 01:30 runs once, at its first (EDT) occurrence",
			kind: "daily", start: "2026-10-31 01:30", tz: "America/New_York", after: "2026-10-30T00:00:00Z",
			want: []string{"2026-10-31T05:30:00Z", "2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"}},
		{name: "New York daily stays at 09:00 local: 13:00Z in summer, 14:00Z in winter",
			kind: "daily", start: "2026-01-01 09:00", tz: "America/New_York", after: "2026-07-15T12:00:00Z",
			want: []string{"2026-07-15T13:00:00Z", "2026-07-16T13:00:00Z"}},
		{name: "New York hourly across spring forward: 02:00 does not exist, 03:00 EDT runs once",
			kind: "recurring", start: "2026-03-08 00:00", every: "1h", tz: "America/New_York", after: "2026-03-08T04:00:00Z",
			want: []string{"2026-03-08T05:00:00Z", "2026-03-08T06:00:00Z", "2026-03-08T07:00:00Z", "2026-03-08T08:00:00Z"}},
		{name: "New York hourly across fall back: wall-clock slots, the repeated 01:00 runs once",
			kind: "recurring", start: "2026-11-01 00:00", every: "1h", tz: "America/New_York", after: "2026-11-01T03:00:00Z",
			want: []string{"2026-11-01T04:00:00Z", "2026-11-01T05:00:00Z", "2026-11-01T07:00:00Z", "2026-11-01T08:00:00Z"}},
		{name: "New York every 12h at 08:00 and 20:00 local across spring forward",
			kind: "recurring", start: "2026-03-07 08:00", every: "12h", tz: "America/New_York", after: "2026-03-07T00:00:00Z",
			want: []string{"2026-03-07T13:00:00Z", "2026-03-08T01:00:00Z", "2026-03-08T12:00:00Z", "2026-03-09T00:00:00Z"}},
		{name: "Europe/London daily 01:30 across BST start (01:00 GMT → 02:00 BST)",
			kind: "daily", start: "2026-03-28 01:30", tz: "Europe/London", after: "2026-03-27T00:00:00Z",
			want: []string{"2026-03-28T01:30:00Z", "2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"}},
		{name: "Europe/London daily 01:30 across BST end: first occurrence",
			kind: "daily", start: "2026-10-24 01:30", tz: "Europe/London", after: "2026-10-23T00:00:00Z",
			want: []string{"2026-10-24T00:30:00Z", "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"}},
		{name: "Australia/Lord_Howe daily 02:15 across its 30-minute DST start",
			kind: "daily", start: "2026-10-03 02:15", tz: "Australia/Lord_Howe", after: "2026-10-01T00:00:00Z",
			want: []string{"2026-10-02T15:45:00Z", "2026-10-03T15:30:00Z", "2026-10-04T15:15:00Z"}},
		{name: "Australia/Lord_Howe daily 01:45 across its 30-minute DST end: first occurrence",
			kind: "daily", start: "2026-04-04 01:45", tz: "Australia/Lord_Howe", after: "2026-04-01T00:00:00Z",
			want: []string{"2026-04-03T14:45:00Z", "2026-04-04T14:45:00Z", "2026-04-05T15:15:00Z"}},
		{name: "UTC by default",
			kind: "daily", start: "2026-05-04 15:26", after: "2026-05-04T15:26:00Z",
			want: []string{"2026-05-05T15:26:00Z"}},
		{name: "once in the future",
			kind: "once", start: "2026-05-04 15:26", tz: "Asia/Calcutta", after: "2026-05-01T00:00:00Z",
			want: []string{"2026-05-04T09:56:00Z", "-"}},
		{name: "once already past",
			kind: "once", start: "2026-05-04 15:26", tz: "Asia/Calcutta", after: "2026-05-04T09:56:00Z",
			want: []string{"-"}},
		{name: "recurring with an end: the end is the last possible run",
			kind: "recurring", start: "2026-01-01 08:00", end: "2026-01-02 08:00", every: "12h", after: "2025-12-01T00:00:00Z",
			want: []string{"2026-01-01T08:00:00Z", "2026-01-01T20:00:00Z", "2026-01-02T08:00:00Z", "-"}},
		{name: "recurring without an end, long after the start",
			kind: "recurring", start: "2026-01-01 00:00", every: "7d", tz: "Europe/London", after: "2030-06-15T12:00:00Z",
			want: []string{"2030-06-19T23:00:00Z", "2030-06-26T23:00:00Z"}}, // Thursdays, 00:00 BST
		{name: "daily default end: 5 years after the start (seed 002)",
			kind: "daily", start: "2026-05-05 18:39", tz: "Asia/Calcutta", after: "2031-05-03T13:09:00Z",
			want: []string{"2031-05-04T13:09:00Z", "2031-05-05T13:09:00Z", "-"}},
		{name: "recurring every 90m counts on the local clock",
			kind: "recurring", start: "2026-06-01 00:00", every: "90m", tz: "Asia/Calcutta", after: "2026-06-01T00:00:00Z",
			want: []string{"2026-06-01T00:30:00Z", "2026-06-01T02:00:00Z"}}, // 06:00 and 07:30 IST
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustSchedule(t, tt.kind, tt.start, tt.end, tt.every, tt.tz)
			at := utc(t, tt.after)
			var got []string
			for range tt.want {
				next, ok := s.Next(at)
				if !ok {
					got = append(got, "-")
					break
				}
				if !next.After(at) {
					t.Fatalf("Next(%s) = %s, not after it", at, next)
				}
				got = append(got, next.UTC().Format(time.RFC3339))
				at = next
			}
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("runs\n got %v\nwant %v", got, tt.want)
			}
		})
	}
}

// TestScheduleWallTimeStable: a daily schedule runs at its wall time every
// day of a year, in zones with and without DST, except on the day its wall
// time does not exist.
func TestScheduleWallTimeStable(t *testing.T) {
	// Days 02:30 does not exist: New York skips 02:00–03:00 on 8 March;
	// London skips 01:00–02:00 and Lord Howe 02:00–02:30, so 02:30 exists.
	wantSkipped := map[string]int{"America/New_York": 1, "Europe/London": 0, "Asia/Calcutta": 0, "Australia/Lord_Howe": 0, "America/Sao_Paulo": 0}
	for tz, want := range wantSkipped {
		s := mustSchedule(t, "daily", "2026-01-01 02:30", "", "", tz)
		loc, _ := time.LoadLocation(tz)
		at, skipped := s.Start.Add(-time.Second), 0
		for i := range 365 {
			next, ok := s.Next(at)
			if !ok {
				t.Fatalf("%s: run %d missing", tz, i)
			}
			local := next.In(loc)
			if local.Format("15:04") != "02:30" {
				// Only where 02:30 is skipped: then at the jump, 03:00.
				skipped++
				if local.Format("15:04") != "03:00" {
					t.Errorf("%s: run %d at %s", tz, i, local)
				}
			}
			if want := s.Start.In(loc).AddDate(0, 0, i); local.YearDay() != want.YearDay() {
				t.Fatalf("%s: run %d on day %d, want %d (%s)", tz, i, local.YearDay(), want.YearDay(), local)
			}
			at = next
		}
		if skipped != want {
			t.Errorf("%s: %d runs off 02:30, want %d", tz, skipped, want)
		}
	}
}

func TestScheduleValidate(t *testing.T) {
	start := time.Date(2026, 5, 4, 9, 56, 0, 0, time.UTC)
	tests := []struct {
		name string
		s    qsync.Schedule
		want string // "" = valid; else a part of the error
	}{
		{"none", qsync.Schedule{}, ""},
		{"once", qsync.Schedule{Kind: qsync.ScheduleOnce, Start: start, Timezone: "Asia/Calcutta"}, ""},
		{"recurring", qsync.Schedule{Kind: qsync.ScheduleRecurring, Start: start, Every: 12 * time.Hour}, ""},
		{"recurring with end", qsync.Schedule{Kind: qsync.ScheduleRecurring, Start: start, End: start.Add(48 * time.Hour), Every: time.Hour}, ""},
		{"daily", qsync.Schedule{Kind: qsync.ScheduleDaily, Start: start, Every: 24 * time.Hour}, ""},
		{"daily without every", qsync.Schedule{Kind: qsync.ScheduleDaily, Start: start}, ""},
		{"unknown kind", qsync.Schedule{Kind: "weekly", Start: start}, "--schedule \"weekly\""},
		{"none with a start", qsync.Schedule{Start: start}, "--start, --end and --every need --schedule"},
		{"unknown timezone", qsync.Schedule{Kind: qsync.ScheduleOnce, Start: start, Timezone: "Mars/Olympus"}, "--timezone \"Mars/Olympus\""},
		{"Local timezone", qsync.Schedule{Kind: qsync.ScheduleOnce, Start: start, Timezone: "Local"}, "--timezone \"Local\""},
		{"path as timezone", qsync.Schedule{Kind: qsync.ScheduleOnce, Start: start, Timezone: "../../etc/passwd"}, "--timezone"},
		{"no start", qsync.Schedule{Kind: qsync.ScheduleDaily}, "--start is required"},
		{"once with end", qsync.Schedule{Kind: qsync.ScheduleOnce, Start: start, End: start.Add(time.Hour)}, "--end does not apply"},
		{"once with every", qsync.Schedule{Kind: qsync.ScheduleOnce, Start: start, Every: time.Hour}, "--every does not apply"},
		{"recurring every 30m", qsync.Schedule{Kind: qsync.ScheduleRecurring, Start: start, Every: 30 * time.Minute}, "--every 30m is too short"},
		{"recurring without every", qsync.Schedule{Kind: qsync.ScheduleRecurring, Start: start}, "--every 0s is too short"},
		{"recurring every 90m30s", qsync.Schedule{Kind: qsync.ScheduleRecurring, Start: start, Every: 90*time.Minute + 30*time.Second}, "whole number of minutes"},
		{"daily every 12h", qsync.Schedule{Kind: qsync.ScheduleDaily, Start: start, Every: 12 * time.Hour}, "--every 12h does not apply to --schedule daily"},
		{"end before start", qsync.Schedule{Kind: qsync.ScheduleRecurring, Start: start, End: start.Add(-time.Hour), Every: time.Hour}, "--end 2026-05-04 08:56 is not after --start 2026-05-04 09:56"},
		{"end equals start", qsync.Schedule{Kind: qsync.ScheduleDaily, Start: start, End: start}, "is not after --start"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.s.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Validate() = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestParseSchedule(t *testing.T) {
	tests := []struct {
		name                        string
		kind, start, end, every, tz string
		want                        qsync.Schedule // compared when err is ""
		err                         string
	}{
		{name: "none", kind: "none", want: qsync.Schedule{}},
		{name: "empty is none", want: qsync.Schedule{}},
		{name: "none keeps no timezone", kind: "none", tz: "Asia/Calcutta", want: qsync.Schedule{}},
		{name: "once in the timezone", kind: "once", start: "2026-05-04 15:26", tz: "Asia/Calcutta",
			want: qsync.Schedule{Kind: "once", Start: time.Date(2026, 5, 4, 9, 56, 0, 0, time.UTC), Timezone: "Asia/Calcutta"}},
		{name: "T and seconds", kind: "ONCE", start: "2026-05-04T15:26:30", tz: "Asia/Calcutta",
			want: qsync.Schedule{Kind: "once", Start: time.Date(2026, 5, 4, 9, 56, 30, 0, time.UTC), Timezone: "Asia/Calcutta"}},
		{name: "RFC 3339 is an instant", kind: "once", start: "2026-05-04T15:26:00+05:30", tz: "Europe/London",
			want: qsync.Schedule{Kind: "once", Start: time.Date(2026, 5, 4, 9, 56, 0, 0, time.UTC), Timezone: "Europe/London"}},
		{name: "recurring defaults to 24h", kind: "recurring", start: "2026-05-04 15:26",
			want: qsync.Schedule{Kind: "recurring", Start: time.Date(2026, 5, 4, 15, 26, 0, 0, time.UTC), Every: 24 * time.Hour}},
		{name: "recurring in days", kind: "recurring", start: "2026-05-04 15:26", end: "2026-06-04 15:26", every: "7d",
			want: qsync.Schedule{Kind: "recurring", Start: time.Date(2026, 5, 4, 15, 26, 0, 0, time.UTC), End: time.Date(2026, 6, 4, 15, 26, 0, 0, time.UTC), Every: 7 * 24 * time.Hour}},
		{name: "daily ends after 5 years", kind: "daily", start: "2026-05-05 18:39", tz: "Asia/Calcutta",
			want: qsync.Schedule{Kind: "daily", Start: time.Date(2026, 5, 5, 13, 9, 0, 0, time.UTC), End: time.Date(2031, 5, 5, 13, 9, 0, 0, time.UTC), Every: 24 * time.Hour, Timezone: "Asia/Calcutta"}},
		{name: "a start in the skipped hour is the moment clocks jump", kind: "once", start: "2026-03-08 02:30", tz: "America/New_York",
			want: qsync.Schedule{Kind: "once", Start: time.Date(2026, 3, 8, 7, 0, 0, 0, time.UTC), Timezone: "America/New_York"}},
		{name: "unknown kind", kind: "hourly", start: "2026-05-04 15:26", err: `--schedule "hourly" is not once, recurring, daily or none`},
		{name: "none with start", kind: "none", start: "2026-05-04 15:26", err: "--start, --end and --every need --schedule"},
		{name: "missing start", kind: "daily", err: "--start is required"},
		{name: "bad start", kind: "once", start: "04/05/2026", err: `--start "04/05/2026": use "2006-01-02 15:04"`},
		{name: "bad end", kind: "recurring", start: "2026-05-04 15:26", end: "tomorrow", err: `--end "tomorrow"`},
		{name: "bad every", kind: "recurring", start: "2026-05-04 15:26", every: "often", err: `--every "often"`},
		{name: "negative every", kind: "recurring", start: "2026-05-04 15:26", every: "-1h", err: `--every "-1h"`},
		{name: "every too short", kind: "recurring", start: "2026-05-04 15:26", every: "59m", err: "--every 59m is too short"},
		{name: "bad timezone", kind: "daily", start: "2026-05-04 15:26", tz: "Asia/Atlantis", err: `--timezone "Asia/Atlantis"`},
		{name: "end before start", kind: "daily", start: "2026-05-04 15:26", end: "2026-05-01 15:26", err: "--end 2026-05-01 15:26 is not after --start 2026-05-04 15:26"},
		{name: "once with end", kind: "once", start: "2026-05-04 15:26", end: "2026-05-05 15:26", err: "--end does not apply"},
		{name: "daily every 12h", kind: "daily", start: "2026-05-04 15:26", every: "12h", err: "--every 12h does not apply to --schedule daily"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := qsync.ParseSchedule(tt.kind, tt.start, tt.end, tt.every, tt.tz)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Kind != tt.want.Kind || !got.Start.Equal(tt.want.Start) || !got.End.Equal(tt.want.End) ||
				got.Every != tt.want.Every || got.Timezone != tt.want.Timezone {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestScheduleSettingsRoundTrip(t *testing.T) {
	for _, s := range []qsync.Schedule{
		{},
		mustSchedule(t, "once", "2026-05-04 15:26", "", "", "Asia/Calcutta"),
		mustSchedule(t, "recurring", "2026-05-04 15:26", "", "12h", "Europe/London"),
		mustSchedule(t, "recurring", "2026-05-04 15:26", "2026-08-01 00:00", "90m", ""),
		mustSchedule(t, "daily", "2026-05-05 18:39", "", "", "Asia/Calcutta"),
	} {
		set := s.Settings()
		got, err := qsync.ScheduleOf(store.Connector{Name: "c", Settings: set})
		if err != nil {
			t.Fatalf("%+v: %v", set, err)
		}
		if got.Kind != s.Kind || !got.Start.Equal(s.Start) || !got.End.Equal(s.End) || got.Every != s.Every || got.Timezone != s.Timezone {
			t.Errorf("round trip of %+v through %v = %+v", s, set, got)
		}
	}
	daily := mustSchedule(t, "daily", "2026-05-05 18:39", "", "", "Asia/Calcutta").Settings()
	want := map[string]string{"schedule": "daily", "scheduleStart": "2026-05-05T18:39:00+05:30", "scheduleEnd": "2031-05-05T18:39:00+05:30",
		"scheduleEvery": "24h", "scheduleTZ": "Asia/Calcutta"}
	for k, v := range want {
		if daily[k] != v {
			t.Errorf("Settings()[%s] = %q, want %q", k, daily[k], v)
		}
	}
	if len(daily) != len(want) {
		t.Errorf("Settings() = %v, want %v", daily, want)
	}
	// A damaged stored schedule is an error naming the connector.
	for _, set := range []map[string]string{
		{"schedule": "daily", "scheduleStart": "yesterday"},
		{"schedule": "fortnightly", "scheduleStart": "2026-05-05T18:39:00Z"},
		{"schedule": "recurring", "scheduleStart": "2026-05-05T18:39:00Z", "scheduleEvery": "1m"},
	} {
		if _, err := qsync.ScheduleOf(store.Connector{Name: "bad", Settings: set}); err == nil || !strings.Contains(err.Error(), "connector bad") {
			t.Errorf("ScheduleOf(%v) = %v, want an error naming the connector", set, err)
		}
	}
}

func TestScheduleDescribe(t *testing.T) {
	s := mustSchedule(t, "once", "2026-05-04 15:26", "", "", "Asia/Calcutta")
	next, ok := s.Next(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	if !ok {
		t.Fatal("no next run")
	}
	// Seed 003's example, word for word.
	if got, want := s.Describe(next), "The sync is scheduled for May 04, 2026 03:26 PM in Asia/Calcutta timezone"; got != want {
		t.Errorf("Describe = %q\n want %q", got, want)
	}
	// Seed 002's daily schedule.
	d := mustSchedule(t, "daily", "2026-05-05 18:39", "", "", "Asia/Calcutta")
	if got, want := d.String(), "daily from May 5, 2026 at 06:39 PM till May 5, 2031 at 06:39 PM in Asia/Calcutta timezone"; got != want {
		t.Errorf("String = %q\n want %q", got, want)
	}
	u := mustSchedule(t, "recurring", "2026-05-04 08:00", "", "12h", "")
	if got, want := u.Describe(u.Start), "The sync is scheduled for May 04, 2026 08:00 AM in UTC timezone"; got != want {
		t.Errorf("Describe = %q, want %q", got, want)
	}
	if got := s.Describe(time.Time{}); !strings.Contains(got, "not scheduled") {
		t.Errorf("Describe(zero) = %q", got)
	}
	if got := (qsync.Schedule{}).Describe(time.Time{}); !strings.Contains(got, "not scheduled") {
		t.Errorf("Describe of no schedule = %q", got)
	}
}
