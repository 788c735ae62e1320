package sync

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // every IANA zone, also where the system has no zoneinfo (Windows, slim containers)

	"qtc/store"
)

// Schedule is when a connector syncs by itself (seeds 002 and 003).
//
// Runs are at wall-clock times in Timezone: a daily 02:30 schedule runs at
// 02:30 local time on both sides of a daylight-saving change, and a 12h one
// started at 08:00 runs at 08:00 and 20:00 local. Run k is Start's wall time
// plus k×Every, counted on the local calendar and clock, then resolved to an
// instant:
//
//   - a wall time that does not exist (the hour skipped when clocks go
//     forward, e.g. 02:30 on 8 March 2026 in America/New_York) runs at the
//     next valid instant: the moment the clocks jump (03:00 local, right
//     after the gap), as cron does;
//   - a wall time that occurs twice (the hour repeated when clocks go back)
//     runs once, at its first occurrence (the daylight-saving one).
//
// Two slots that resolve to the same instant (an hourly schedule across the
// skipped hour) run once.
type Schedule struct {
	Kind     string        // ScheduleNone (""), ScheduleOnce ("once": Single Occurrence), ScheduleRecurring ("recurring"), ScheduleDaily ("daily": seed 002's "Occurs: Daily")
	Start    time.Time     // first run (wall time in Timezone; stored as an instant)
	End      time.Time     // recurring/daily: last possible run (zero: none). Daily defaults to Start + 5 years (seed 002).
	Every    time.Duration // recurring: the interval (e.g. 24h, 12h; at least 1h); daily: 24h
	Timezone string        // IANA name, e.g. "Asia/Calcutta"; "" means UTC
}

// Schedule kinds.
const (
	ScheduleNone      = ""
	ScheduleOnce      = "once"
	ScheduleRecurring = "recurring"
	ScheduleDaily     = "daily"
)

// Connector settings that hold a schedule (see Schedule.Settings).
const (
	SettingSchedule      = "schedule"
	SettingScheduleStart = "scheduleStart" // RFC 3339, with the timezone's offset
	SettingScheduleEnd   = "scheduleEnd"
	SettingScheduleEvery = "scheduleEvery" // a Go duration, e.g. "24h"
	SettingScheduleTZ    = "scheduleTZ"
)

// scheduleKeys are every setting a schedule owns.
var scheduleKeys = []string{SettingSchedule, SettingScheduleStart, SettingScheduleEnd, SettingScheduleEvery, SettingScheduleTZ}

const (
	// MinScheduleEvery is the shortest interval of a recurring schedule.
	MinScheduleEvery = time.Hour
	// DailyYears is how long a daily schedule runs when no end is given
	// (seed 002: "for a 5-year duration").
	DailyYears = 5
	// wallLayout is how the CLI takes and shows a schedule's date-times.
	wallLayout = "2006-01-02 15:04"
	// describeLayout is the seed's "May 04, 2026 03:26 PM".
	describeLayout = "January 02, 2006 03:04 PM"
	day            = 24 * time.Hour
)

// Validate checks the schedule and names the first bad field by its flag.
func (s Schedule) Validate() error {
	switch s.Kind {
	case ScheduleNone:
		if !s.Start.IsZero() || !s.End.IsZero() || s.Every != 0 {
			return errors.New("--start, --end and --every need --schedule once, recurring or daily")
		}
		return nil
	case ScheduleOnce, ScheduleRecurring, ScheduleDaily:
	default:
		return fmt.Errorf("--schedule %q is not once, recurring, daily or none", s.Kind)
	}
	if _, err := s.location(); err != nil {
		return err
	}
	if s.Start.IsZero() {
		return fmt.Errorf("--start is required with --schedule %s (e.g. --start %q)", s.Kind, "2026-05-04 15:26")
	}
	switch s.Kind {
	case ScheduleOnce:
		if !s.End.IsZero() {
			return errors.New("--end does not apply to --schedule once (a single occurrence)")
		}
		if s.Every != 0 {
			return errors.New("--every does not apply to --schedule once (a single occurrence)")
		}
	case ScheduleRecurring:
		if s.Every < MinScheduleEvery {
			return fmt.Errorf("--every %s is too short: a recurring schedule runs at most every %s", formatEvery(s.Every), formatEvery(MinScheduleEvery))
		}
		if s.Every%time.Minute != 0 {
			return fmt.Errorf("--every %s is not a whole number of minutes", s.Every)
		}
	case ScheduleDaily:
		if s.Every != 0 && s.Every != day {
			return fmt.Errorf("--every %s does not apply to --schedule daily (it runs every 24h; use --schedule recurring)", formatEvery(s.Every))
		}
	}
	if !s.End.IsZero() && !s.End.After(s.Start) {
		loc, _ := s.location()
		return fmt.Errorf("--end %s is not after --start %s", s.End.In(loc).Format(wallLayout), s.Start.In(loc).Format(wallLayout))
	}
	return nil
}

// location is the schedule's timezone.
func (s Schedule) location() (*time.Location, error) {
	switch s.Timezone {
	case "", "UTC":
		return time.UTC, nil
	case "Local":
		return nil, errors.New(`--timezone "Local" depends on the machine; name the zone, e.g. Europe/London`)
	}
	loc, err := time.LoadLocation(s.Timezone)
	if err != nil {
		return nil, fmt.Errorf("--timezone %q is not a known IANA timezone (e.g. Asia/Calcutta, Europe/London, America/New_York, UTC)", s.Timezone)
	}
	return loc, nil
}

// zoneName is the timezone as shown to people.
func (s Schedule) zoneName() string {
	if s.Timezone == "" {
		return "UTC"
	}
	return s.Timezone
}

// every is the interval between runs of a recurring or daily schedule.
func (s Schedule) every() time.Duration {
	if s.Kind == ScheduleDaily {
		return day
	}
	return s.Every
}

// end is the last possible run: End, or for a daily schedule without one,
// Start + DailyYears on the local calendar.
func (s Schedule) end(loc *time.Location) time.Time {
	if s.End.IsZero() && s.Kind == ScheduleDaily {
		return resolveWall(wall(s.Start, loc).AddDate(DailyYears, 0, 0), loc)
	}
	return s.End
}

// Next returns the first run strictly after `after`, or false if there is
// none: a single occurrence already past, a schedule past its End, no
// schedule, or an invalid one.
func (s Schedule) Next(after time.Time) (time.Time, bool) {
	if s.Kind == ScheduleNone || s.Validate() != nil {
		return time.Time{}, false
	}
	loc, _ := s.location()
	if s.Kind == ScheduleOnce {
		if s.Start.After(after) {
			return s.Start.In(loc), true
		}
		return time.Time{}, false
	}
	every, end := s.every(), s.end(loc)
	first := wall(s.Start, loc)
	// Start a little before the slot that contains `after` on the local
	// clock (offset changes shift it by an hour or two at most), then walk.
	var k int64
	if at := wall(after, loc); at.After(first) {
		k = max(int64(at.Sub(first)/every)-2, 0)
	}
	for range 1000 {
		t := resolveWall(first.Add(time.Duration(k)*every), loc)
		if !end.IsZero() && t.After(end) {
			return time.Time{}, false
		}
		if t.After(after) {
			return t, true
		}
		k++
	}
	return time.Time{}, false
}

// Describe is the seed's confirmation message for the run at next, e.g.
// "The sync is scheduled for May 04, 2026 03:26 PM in Asia/Calcutta
// timezone". With no next run (zero) it says so.
func (s Schedule) Describe(next time.Time) string {
	if s.Kind == ScheduleNone {
		return "The sync is not scheduled: it runs only when started by hand"
	}
	if next.IsZero() {
		return fmt.Sprintf("The sync is not scheduled: the schedule has no run left in %s timezone", s.zoneName())
	}
	loc, err := s.location()
	if err != nil {
		loc = time.UTC
	}
	return fmt.Sprintf("The sync is scheduled for %s in %s timezone", next.In(loc).Format(describeLayout), s.zoneName())
}

// String summarises the schedule in the seeds' words, e.g. "daily from May
// 5, 2026 at 06:39 PM till May 5, 2031 at 06:39 PM in Asia/Calcutta
// timezone" (seed 002), or "none".
func (s Schedule) String() string {
	loc, err := s.location()
	if err != nil || s.Kind == ScheduleNone {
		if s.Kind == ScheduleNone {
			return "none"
		}
		return "invalid schedule " + strconv.Quote(s.Kind)
	}
	at := func(t time.Time) string { return t.In(loc).Format("January 2, 2006 at 03:04 PM") }
	var b strings.Builder
	switch s.Kind {
	case ScheduleOnce:
		b.WriteString("once on " + at(s.Start))
	case ScheduleDaily:
		b.WriteString("daily from " + at(s.Start))
	default:
		b.WriteString("every " + formatEvery(s.Every) + " from " + at(s.Start))
	}
	if end := s.end(loc); !end.IsZero() {
		b.WriteString(" till " + at(end))
	}
	b.WriteString(" in " + s.zoneName() + " timezone")
	return b.String()
}

// ParseSchedule builds a schedule from the CLI's flag strings: kind is
// once, recurring, daily, or none/"" (then the others must be empty);
// start and end are "2006-01-02 15:04" (or with seconds, or a "T") wall
// times in tz, or RFC 3339 instants; every is a duration such as 24h, 90m
// or 7d (recurring, default 24h; daily: 24h). A daily schedule without an
// end ends DailyYears after its start. The result is validated.
func ParseSchedule(kind, start, end, every, tz string) (Schedule, error) {
	kind = strings.ToLower(strings.TrimSpace(kind))
	if kind == "none" {
		kind = ScheduleNone
	}
	start, end, every, tz = strings.TrimSpace(start), strings.TrimSpace(end), strings.TrimSpace(every), strings.TrimSpace(tz)
	switch kind {
	case ScheduleNone:
		if start != "" || end != "" || every != "" {
			return Schedule{}, errors.New("--start, --end and --every need --schedule once, recurring or daily")
		}
		return Schedule{}, nil
	case ScheduleOnce, ScheduleRecurring, ScheduleDaily:
	default:
		return Schedule{}, fmt.Errorf("--schedule %q is not once, recurring, daily or none", kind)
	}
	s := Schedule{Kind: kind, Timezone: tz}
	loc, err := s.location()
	if err != nil {
		return Schedule{}, err
	}
	if start == "" {
		return Schedule{}, fmt.Errorf("--start is required with --schedule %s (e.g. --start %q)", kind, "2026-05-04 15:26")
	}
	if s.Start, err = parseWallTime(start, loc); err != nil {
		return Schedule{}, fmt.Errorf("--start %q: %w", start, err)
	}
	if end != "" {
		if s.End, err = parseWallTime(end, loc); err != nil {
			return Schedule{}, fmt.Errorf("--end %q: %w", end, err)
		}
	}
	if every != "" {
		if s.Every, err = parseEvery(every); err != nil {
			return Schedule{}, fmt.Errorf("--every %q: %w", every, err)
		}
	}
	switch kind {
	case ScheduleRecurring:
		if every == "" {
			s.Every = day
		}
	case ScheduleDaily:
		if s.Every == 0 {
			s.Every = day
		}
		if s.End.IsZero() {
			s.End = s.end(loc)
		}
	}
	if err := s.Validate(); err != nil {
		return Schedule{}, err
	}
	return s, nil
}

// Settings are the connector settings that store the schedule (none for
// ScheduleNone). A daily schedule's default end is written out.
func (s Schedule) Settings() map[string]string {
	m := map[string]string{}
	if s.Kind == ScheduleNone {
		return m
	}
	loc, err := s.location()
	if err != nil {
		loc = time.UTC
	}
	m[SettingSchedule] = s.Kind
	m[SettingScheduleStart] = s.Start.In(loc).Format(time.RFC3339)
	if end := s.end(loc); !end.IsZero() {
		m[SettingScheduleEnd] = end.In(loc).Format(time.RFC3339)
	}
	if s.Kind != ScheduleOnce {
		m[SettingScheduleEvery] = formatEvery(s.every())
	}
	if s.Timezone != "" {
		m[SettingScheduleTZ] = s.Timezone
	}
	return m
}

// ScheduleOf reads a connector's schedule from its settings (the zero
// Schedule if it has none).
func ScheduleOf(c store.Connector) (Schedule, error) {
	kind := c.Settings[SettingSchedule]
	if kind == ScheduleNone {
		return Schedule{}, nil
	}
	s := Schedule{Kind: kind, Timezone: c.Settings[SettingScheduleTZ]}
	var err error
	if v := c.Settings[SettingScheduleStart]; v != "" {
		if s.Start, err = time.Parse(time.RFC3339, v); err != nil {
			return Schedule{}, fmt.Errorf("connector %s: schedule start %q: %w", c.Name, v, err)
		}
	}
	if v := c.Settings[SettingScheduleEnd]; v != "" {
		if s.End, err = time.Parse(time.RFC3339, v); err != nil {
			return Schedule{}, fmt.Errorf("connector %s: schedule end %q: %w", c.Name, v, err)
		}
	}
	if v := c.Settings[SettingScheduleEvery]; v != "" {
		if s.Every, err = parseEvery(v); err != nil {
			return Schedule{}, fmt.Errorf("connector %s: schedule interval %q: %w", c.Name, v, err)
		}
	}
	if err := s.Validate(); err != nil {
		return Schedule{}, fmt.Errorf("connector %s: stored schedule: %w", c.Name, err)
	}
	return s, nil
}

// FormatWallTime shows t as the CLI takes it ("2006-01-02 15:04", with
// seconds if any) in the schedule's timezone.
func (s Schedule) FormatWallTime(t time.Time) string {
	loc, err := s.location()
	if err != nil {
		loc = time.UTC
	}
	t = t.In(loc)
	if t.Second() != 0 {
		return t.Format(wallLayout + ":05")
	}
	return t.Format(wallLayout)
}

// parseWallTime reads an RFC 3339 instant, or a wall time in loc.
func parseWallTime(v string, loc *time.Location) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	for _, layout := range []string{wallLayout, "2006-01-02T15:04", wallLayout + ":05", "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, v); err == nil {
			return resolveWall(t, loc), nil
		}
	}
	return time.Time{}, fmt.Errorf("use %q (in the timezone) or RFC 3339", wallLayout)
}

// parseEvery reads an interval: a Go duration (24h, 90m) or whole days (7d).
func parseEvery(v string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(v, "d"); ok {
		d, err := strconv.Atoi(n)
		if err != nil || d <= 0 {
			return 0, errors.New("use days like 7d, or a duration like 12h")
		}
		return time.Duration(d) * day, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, errors.New("use a duration like 24h, 12h or 90m, or days like 7d")
	}
	return d, nil
}

// formatEvery writes a duration without zero minutes and seconds: "24h",
// "1h30m".
func formatEvery(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// wall is t's wall-clock reading in loc, as a UTC time, so that wall
// times can be added to and compared on one uniform line.
func wall(t time.Time, loc *time.Location) time.Time {
	t = t.In(loc)
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
}

// resolveWall is the instant at which loc's clocks show the wall time w
// (given as a UTC time): its first occurrence when the clocks go back over
// it, and the moment they jump (the first valid instant after it) when the
// clocks go forward over it.
func resolveWall(w time.Time, loc *time.Location) time.Time {
	// The instant lies within ±14h of w; the offsets in force at either
	// end of that window (and at w) are the only candidates.
	probes := [...]time.Time{w.Add(-15 * time.Hour), w, w.Add(15 * time.Hour)}
	var best time.Time
	for _, p := range probes {
		_, off := p.In(loc).Zone()
		t := w.Add(-time.Duration(off) * time.Second)
		if _, o := t.In(loc).Zone(); o == off && (best.IsZero() || t.Before(best)) {
			best = t
		}
	}
	if !best.IsZero() {
		return best.In(loc)
	}
	// Skipped: read w with the offset before the jump; that instant is
	// already past the jump, in the period the jump starts.
	_, before := probes[0].In(loc).Zone()
	t := w.Add(-time.Duration(before) * time.Second).In(loc)
	if start, _ := t.ZoneBounds(); !start.IsZero() && !start.After(t) {
		return start.In(loc)
	}
	return t
}
