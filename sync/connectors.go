package sync

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"qtc/store"
)

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// ValidateName checks a connector name: 1–64 letters, digits, '.', '_' or
// '-', starting with a letter or digit.
func ValidateName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("connector name %q is invalid: use 1–64 letters, digits, '.', '_' or '-', starting with a letter or digit", name)
	}
	return nil
}

// Connector settings every kind has (seeds 002 and 003).
const (
	// SettingDescription is the connector's free-text description.
	SettingDescription = "description"
	// SettingAssetTags lists, comma-separated, the Qualys asset tags a
	// host must all have to be included (seed 002, devices connector).
	SettingAssetTags = "assetTags"
)

// DescriptionLimit is the longest description, in characters, a connector
// of the kind takes: 164 for Entra ID devices (seed 002), 180 otherwise
// (seed 003's limit, also used for Qualys accounts).
func DescriptionLimit(kind string) int {
	if kind == KindEntraDevices {
		return 164
	}
	return 180
}

// checkDescription enforces the kind's length limit and keeps the
// description on one line.
func checkDescription(kind, d string) error {
	if n, limit := utf8.RuneCountInString(d), DescriptionLimit(kind); n > limit {
		return fmt.Errorf("--description is %d characters long; at most %d are allowed", n, limit)
	}
	if strings.ContainsFunc(d, unicode.IsControl) {
		return errors.New("--description must be one line of text (no newlines, tabs or control characters)")
	}
	return nil
}

// checkAssetTags checks the asset tags of a devices connector.
func checkAssetTags(tags []string) error {
	seen := map[string]bool{}
	for _, t := range tags {
		switch {
		case strings.TrimSpace(t) == "":
			return errors.New("--asset-tags has an empty tag name")
		case t != strings.TrimSpace(t):
			return fmt.Errorf("--asset-tags: tag %q has leading or trailing spaces", t)
		case strings.Contains(t, ","):
			return fmt.Errorf("--asset-tags: tag %q contains a comma", t)
		case strings.ContainsFunc(t, unicode.IsControl):
			return fmt.Errorf("--asset-tags: tag %q contains a control character", t)
		case seen[t]:
			return fmt.Errorf("--asset-tags: tag %q is listed twice", t)
		}
		seen[t] = true
	}
	return nil
}

// ParseAssetTags splits the CLI's comma-separated --asset-tags ("a, b").
func ParseAssetTags(s string) []string {
	var out []string
	for _, t := range strings.Split(s, ",") {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// AssetTags are the asset tags a connector includes hosts by.
func AssetTags(c store.Connector) []string { return ParseAssetTags(c.Settings[SettingAssetTags]) }

func boolSetting(on bool) string {
	if on {
		return "true"
	}
	return ""
}

// withSchedule adds the schedule's settings to m, with empty values for
// the schedule settings it does not use (so they are owned, and cleared).
func withSchedule(m map[string]string, s Schedule) map[string]string {
	for _, k := range scheduleKeys {
		m[k] = ""
	}
	for k, v := range s.Settings() {
		m[k] = v
	}
	return m
}

// SaveQualys validates and stores a Qualys connector, sealing its password.
// An existing connector of the same name is updated in place (its synced data
// is kept).
func (e *Engine) SaveQualys(ctx context.Context, q QualysConnector) (store.Connector, error) {
	if err := q.Resolve(); err != nil {
		return store.Connector{}, err
	}
	if err := q.Validate(); err != nil {
		return store.Connector{}, err
	}
	return e.saveConnector(ctx, q.Name, KindQualys, q.settings(), SealedPassword, q.Password, false)
}

// UpdateQualys changes an existing Qualys connector: an empty Password
// keeps the sealed one.
func (e *Engine) UpdateQualys(ctx context.Context, q QualysConnector) (store.Connector, error) {
	if err := q.Resolve(); err != nil {
		return store.Connector{}, err
	}
	v := q
	if v.Password == "" {
		v.Password = "unchanged" // kept: only the other fields need checking
	}
	if err := v.Validate(); err != nil {
		return store.Connector{}, err
	}
	return e.saveConnector(ctx, q.Name, KindQualys, q.settings(), SealedPassword, q.Password, true)
}

// saveConnector stores a connector's configuration. owned are the
// settings of its kind: they replace the stored ones (empty values remove
// them), while settings it does not own are kept. secret is sealed under
// field; an empty secret keeps the sealed one (update only). With
// mustExist the connector must already exist. The connector's kind cannot
// change.
func (e *Engine) saveConnector(ctx context.Context, name, kind string, owned map[string]string, field, secret string, mustExist bool) (store.Connector, error) {
	now := time.Now().UTC()
	c, err := e.Store.Connector(ctx, name)
	switch {
	case errors.Is(err, store.ErrNotFound) && !mustExist:
		c = store.Connector{Name: name, Kind: kind, CreatedAt: now}
	case err != nil:
		return store.Connector{}, err
	case c.Kind != kind:
		return store.Connector{}, fmt.Errorf("connector %s already exists as a %s connector", name, c.Kind)
	}
	settings := map[string]string{}
	for k, v := range c.Settings {
		if _, mine := owned[k]; !mine {
			settings[k] = v
		}
	}
	for k, v := range owned {
		if v != "" {
			settings[k] = v
		}
	}
	sealed := map[string]string{}
	for k, v := range c.Sealed {
		sealed[k] = v
	}
	if secret != "" {
		if e.Vault == nil {
			return store.Connector{}, fmt.Errorf("connector %s: no secret vault configured", name)
		}
		v, err := e.Vault.Seal([]byte(secret), SecretAAD(name, field))
		if err != nil {
			return store.Connector{}, fmt.Errorf("connector %s: seal %s: %w", name, field, err)
		}
		sealed[field] = v
	} else if sealed[field] == "" {
		return store.Connector{}, fmt.Errorf("connector %s has no %s set: supply one", name, field)
	}
	c.Settings, c.Sealed, c.UpdatedAt = settings, sealed, now
	if err := e.Store.PutConnector(ctx, c); err != nil {
		return store.Connector{}, err
	}
	return c, nil
}

// DeleteConnector deletes a connector with everything kept under it: its
// configuration and sealed secrets, records, links, stream states, runs
// and change sets. A connector that is syncing is not deleted.
func (e *Engine) DeleteConnector(ctx context.Context, name string) error {
	if !e.begin(name) {
		return fmt.Errorf("delete %s: %w; wait for it to finish or cancel it", name, ErrAlreadyRunning)
	}
	defer e.end(name)
	return e.Store.DeleteConnector(ctx, name)
}

// Status summarises a connector for lists: its state, last and next runs,
// next baseline and record counts.
type Status struct {
	Connector store.Connector
	State     string
	LastRun   *store.Run
	Records   map[string]int
	// NextRun is when the connector's schedule runs it next (see
	// NextRun); zero when it will not: no schedule, none left, or
	// Require Manual Sync. It may be past: the run is due.
	NextRun time.Time
	// NextBaseline is when a sync pulls in full again: the oldest full
	// pull of its incremental streams plus the baseline cadence (see
	// SettingBaseline). Zero when no full pull has completed yet (the
	// next sync is one) or when every sync is a full one.
	NextBaseline time.Time
}

// ConnectorState is the seeds' connector state machine, in one place:
//
//	running                          → Processing
//	never run, with a next run       → Scheduled
//	never run, no next run           → Registered
//	last run finished                → its outcome: Processed, Partially Processed or Errored
//	last run unfinished, not running → Errored (the process died mid-sync)
//
// A run's outcome stays the state until the next run starts (the next run
// time is shown beside it), so an error is never hidden by the schedule.
func ConnectorState(running bool, last *store.Run, scheduled bool) string {
	switch {
	case running:
		return StateProcessing
	case last == nil && scheduled:
		return StateScheduled
	case last == nil:
		return StateRegistered
	case last.State == StateProcessed, last.State == StatePartiallyProcessed, last.State == StateErrored:
		return last.State
	default: // Processing but not running, or unknown
		return StateErrored
	}
}

// NextRun is when the connector's schedule runs it next. It counts from
// the later of its last run's start and its last configuration change, so
// a schedule set today owes no runs for the days before. It is false when
// the connector has no schedule, none is left, or it requires a manual
// sync (seed 003: then it "does not run on the configured schedule").
func NextRun(c store.Connector, last *store.Run) (time.Time, bool) {
	if Manual(c) {
		return time.Time{}, false
	}
	return scheduledRun(c, last)
}

// scheduledRun is NextRun without the manual check.
func scheduledRun(c store.Connector, last *store.Run) (time.Time, bool) {
	s, err := ScheduleOf(c)
	if err != nil || s.Kind == ScheduleNone {
		return time.Time{}, false
	}
	from := c.UpdatedAt
	if last != nil && last.Start.After(from) {
		from = last.Start
	}
	return s.Next(from)
}

// Due reports whether a scheduled run of the connector is due at now.
func Due(c store.Connector, last *store.Run, now time.Time) bool {
	next, ok := NextRun(c, last)
	return ok && !next.After(now)
}

// DueConnectors lists the connectors whose scheduled run is due at now
// (`qtc sync --due`, and the TUI's automatic syncs), in name order, and
// those that would be but require a manual sync. Connectors syncing now
// are left out.
func (e *Engine) DueConnectors(ctx context.Context, now time.Time) (due, manual []store.Connector, err error) {
	conns, err := e.Store.Connectors(ctx)
	if err != nil {
		return nil, nil, err
	}
	for _, c := range conns {
		if e.Running(c.Name) {
			continue
		}
		runs, err := e.Store.Runs(ctx, c.Name, 1)
		if err != nil {
			return nil, nil, err
		}
		var last *store.Run
		if len(runs) > 0 {
			last = &runs[0]
		}
		if next, ok := scheduledRun(c, last); !ok || next.After(now) {
			continue
		}
		if Manual(c) {
			manual = append(manual, c)
		} else {
			due = append(due, c)
		}
	}
	return due, manual, nil
}

// ConnectorStatus reads a connector's state from its newest run and its
// schedule.
func (e *Engine) ConnectorStatus(ctx context.Context, c store.Connector) (Status, error) {
	s := Status{Connector: c, State: StateRegistered, Records: map[string]int{}}
	runs, err := e.Store.Runs(ctx, c.Name, 1)
	if err != nil {
		return s, err
	}
	if len(runs) > 0 {
		s.LastRun = &runs[0]
	}
	if _, err := ScheduleOf(c); err != nil {
		e.logger().Warn("schedule ignored", "connector", c.Name, "err", err)
	}
	next, scheduled := NextRun(c, s.LastRun)
	if scheduled {
		s.NextRun = next
	}
	s.State = ConnectorState(e.Running(c.Name), s.LastRun, scheduled)
	if s.NextBaseline, err = e.nextBaseline(ctx, c); err != nil {
		return s, err
	}
	types, err := e.Store.Types(ctx, c.Name)
	if err != nil {
		return s, err
	}
	for _, t := range types {
		n, err := e.Store.Count(ctx, c.Name, t)
		if err != nil {
			return s, err
		}
		s.Records[t] = n
	}
	return s, nil
}

// nextBaseline is when a sync of the connector next pulls its incremental
// streams in full (see Status.NextBaseline).
func (e *Engine) nextBaseline(ctx context.Context, c store.Connector) (time.Time, error) {
	cadence := Baselines[defaultBaseline]
	if b, ok := Baselines[c.Settings[SettingBaseline]]; ok {
		cadence = b
	}
	var next time.Time
	for _, t := range incrementalTypes(c) {
		st, err := e.Store.StreamState(ctx, c.Name, t)
		if err != nil {
			return time.Time{}, err
		}
		if st.LastFull.IsZero() {
			continue
		}
		if n := st.LastFull.Add(cadence); next.IsZero() || n.Before(next) {
			next = n
		}
	}
	return next, nil
}

// incrementalTypes are the types of the connector pulled by delta between
// baselines.
func incrementalTypes(c store.Connector) []string {
	var out []string
	switch c.Kind {
	case KindQualys:
		types, _ := ResourceScope(c)
		for _, t := range types {
			out = append(out, t.Name)
		}
	case KindEntra, KindEntraDevices:
		specs := identityStreams
		if c.Kind == KindEntraDevices {
			specs = deviceStreams
		}
		for _, sp := range specs {
			if sp.delta {
				out = append(out, sp.typ)
			}
		}
	}
	return out
}

// Endpoint is where a connector's data comes from, for lists.
func Endpoint(c store.Connector) string {
	if u := c.Settings[SettingGatewayURL]; u != "" {
		return u
	}
	if u := c.Settings[SettingGraphURL]; u != "" {
		return u + " (tenant " + c.Settings[SettingTenantID] + ")"
	}
	if t := c.Settings[SettingTenantID]; t != "" {
		return "tenant " + t
	}
	return ""
}
