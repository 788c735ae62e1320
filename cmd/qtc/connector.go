package main

import (
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"qtc/store"
	qsync "qtc/sync"
)

// extraFlags are the flags of `connector add KIND` and `connector edit`
// that are not one struct field each: the schedule and the asset tags.
type extraFlags struct {
	schedule, start, end, every, timezone string
	assetTags                             string
}

// scheduleFlags are the flag names of a schedule.
var scheduleFlags = []string{"schedule", "start", "end", "every", "timezone"}

// registerQualysFlags declares the flags of a Qualys connector.
func registerQualysFlags(fs *flag.FlagSet, q *qsync.QualysConnector, x *extraFlags) {
	fs.StringVar(&q.Platform, "platform", "", "Qualys platform `ID`: US1–US4, EU1–EU3, IN1, CA1, AE1, UK1, AU1, KSA1")
	fs.StringVar(&q.APIURL, "api-url", "", "the account's API server `URL` (e.g. qualysapi.qg1.apps.qualys.co.uk); the platform is derived from it")
	fs.StringVar(&q.GatewayURL, "gateway-url", "", "Qualys gateway `URL` (overrides the platform's), e.g. https://gateway.qg1.apps.qualys.com")
	fs.StringVar(&q.Username, "username", "", "Qualys API `user` name")
	fs.StringVar(&q.Resources, "resources", "", "resource `types` to sync, comma-separated {cloud}/{TYPE} (default: the eight Azure CIEM types and aws/EC2_INSTANCE; \"none\" for none)")
	fs.StringVar(&q.Baseline, "baseline", "", "full-pull `cadence` of resource types: weekly (default), fortnightly, triweekly, monthly")
	fs.StringVar(&q.Retention, "retention", "", "keep records gone from the source, marked removed, for this `long` (default 30d)")
	registerCABundleFlag(fs, &q.CABundle)
	registerCommonFlags(fs, qsync.KindQualys, &q.Description, x)
}

// registerEntraFlags declares the flags of an Entra ID connector of kind.
func registerEntraFlags(fs *flag.FlagSet, kind string, c *qsync.EntraConnector, x *extraFlags) {
	fs.StringVar(&c.TenantID, "tenant-id", "", "Directory (tenant) `ID` (a GUID, or a verified domain)")
	fs.StringVar(&c.ClientID, "client-id", "", "Application (client) `ID` of the app registration")
	fs.StringVar(&c.Cloud, "cloud", "", "`cloud`: global (default), usgov, china")
	fs.StringVar(&c.LoginURL, "login-url", "", "custom login `URL` (with --graph-url), e.g. a simulator's")
	fs.StringVar(&c.GraphURL, "graph-url", "", "custom Microsoft Graph `URL` (with --login-url)")
	fs.StringVar(&c.Token, "token", "", "token endpoint `version`: v1 (…/oauth2/token, default) or v2 (…/oauth2/v2.0/token)")
	fs.StringVar(&c.Baseline, "baseline", "", "full-pull `cadence`: weekly (default), fortnightly, triweekly, monthly")
	fs.BoolVar(&c.RetainDelta, "retain-delta", false, fmt.Sprintf("keep what the last %d runs added, changed and removed for :changes (default: the last run only)", qsync.RetainedChangeSets))
	fs.BoolVar(&c.Manual, "manual", false, "require manual sync: qtc sync without a NAME, and qtc sync --due, skip this connector; qtc sync NAME syncs it")
	if kind == qsync.KindEntra {
		fs.StringVar(&c.Scope, "scope", "", "asset `types`: identities (default: users, groups, roles) or posture (also applications, service principals, tenant)")
	}
	registerCABundleFlag(fs, &c.CABundle)
	if kind == qsync.KindEntraDevices {
		fs.StringVar(&x.assetTags, "asset-tags", "", "Qualys asset `tags`, comma-separated: include only hosts that have all of them (seed 002; default: every host)")
	}
	registerCommonFlags(fs, kind, &c.Description, x)
}

// registerCommonFlags declares the description and schedule flags every
// kind has.
func registerCommonFlags(fs *flag.FlagSet, kind string, description *string, x *extraFlags) {
	fs.StringVar(description, "description", "", fmt.Sprintf("free-text `description`, at most %d characters", qsync.DescriptionLimit(kind)))
	fs.StringVar(&x.schedule, "schedule", "", "sync by itself: once (Single Occurrence), recurring, daily, or none (default: only when run)")
	fs.StringVar(&x.start, "start", "", "first scheduled `time`, \"2026-05-04 15:26\" in --timezone (or RFC 3339)")
	fs.StringVar(&x.end, "end", "", "last possible scheduled `time` (recurring, daily; daily default: 5 years after --start)")
	fs.StringVar(&x.every, "every", "", "recurring `interval`, at least 1h: 24h (default), 12h, 7d …")
	fs.StringVar(&x.timezone, "timezone", "", "IANA `zone` of --start and --end, e.g. Asia/Calcutta (default UTC)")
}

// parseSchedule reads the schedule flags; a schedule must have a run
// still to come.
func (x *extraFlags) parseSchedule(now time.Time) (qsync.Schedule, error) {
	s, err := qsync.ParseSchedule(x.schedule, x.start, x.end, x.every, x.timezone)
	if err != nil {
		return s, &usageError{err: err}
	}
	if _, ok := s.Next(now); s.Kind != qsync.ScheduleNone && !ok {
		return s, &usageError{err: fmt.Errorf("--schedule %s has no run after now (%s): move --start or --end later", s.Kind, s.FormatWallTime(now))}
	}
	return s, nil
}

// loadSchedule puts a stored schedule into the flags, for edit to change
// some of them. A daily schedule's default end is left out so that it
// follows a new start.
func (x *extraFlags) loadSchedule(s qsync.Schedule) {
	*x = extraFlags{assetTags: x.assetTags, schedule: s.Kind, timezone: s.Timezone}
	if s.Kind == qsync.ScheduleNone {
		return
	}
	x.start = s.FormatWallTime(s.Start)
	if !s.End.IsZero() {
		x.end = s.FormatWallTime(s.End)
		if s.Kind == qsync.ScheduleDaily {
			if d, err := qsync.ParseSchedule(s.Kind, x.start, "", "", s.Timezone); err == nil && d.End.Equal(s.End) {
				x.end = ""
			}
		}
	}
	if s.Kind == qsync.ScheduleRecurring {
		x.every = s.Every.String()
	}
}

// printSchedule prints the seed's confirmation of the next scheduled run.
func (c *cli) printSchedule(s qsync.Schedule, manual bool) {
	if s.Kind == qsync.ScheduleNone {
		return
	}
	next, _ := s.Next(time.Now())
	fmt.Fprintln(c.stdout, s.Describe(next))
	if manual {
		fmt.Fprintln(c.stdout, "Require Manual Sync is on: the schedule is kept but does not run; sync with qtc sync NAME")
	}
}

func connectorEditCommand() *command {
	var union *flag.FlagSet
	var rotate bool
	return &command{
		name: "edit",
		args: "NAME",
		summary: "Change a connector: only the flags given change (the same flags as connector add). The secret is kept unless --rotate-secret: " +
			"then the new one comes from $QTC_PASSWORD / $QTC_CLIENT_SECRET or a masked prompt.",
		flags: func(fs *flag.FlagSet) {
			union = fs
			fs.BoolVar(&rotate, "rotate-secret", false, "replace the stored password or client secret (Key Rotation)")
			var q qsync.QualysConnector
			var e, d qsync.EntraConnector
			var x extraFlags
			for _, reg := range []func(*flag.FlagSet){
				func(t *flag.FlagSet) { registerQualysFlags(t, &q, &x) },
				func(t *flag.FlagSet) { registerEntraFlags(t, qsync.KindEntra, &e, &x) },
				func(t *flag.FlagSet) { registerEntraFlags(t, qsync.KindEntraDevices, &d, &x) },
			} {
				t := newFlagSet("")
				reg(t)
				t.VisitAll(func(f *flag.Flag) {
					if fs.Lookup(f.Name) == nil {
						fs.Var(f.Value, f.Name, f.Usage)
					}
				})
			}
			fs.Lookup("description").Usage = fmt.Sprintf("free-text `description`, at most %d characters (entra-devices: %d)",
				qsync.DescriptionLimit(qsync.KindEntra), qsync.DescriptionLimit(qsync.KindEntraDevices))
		},
		run: func(c *cli, pos []string) error {
			if err := needArgs(pos, 1, "connector NAME"); err != nil {
				return err
			}
			given := map[string]string{}
			global := newFlagSet("")
			(&cli{}).globalFlags(global)
			union.Visit(func(f *flag.Flag) {
				if global.Lookup(f.Name) == nil && f.Name != "rotate-secret" {
					given[f.Name] = f.Value.String()
				}
			})
			if len(given) == 0 && !rotate {
				return &usageError{err: errors.New("nothing to change: give the flags to change (qtc connector edit --help), or --rotate-secret")}
			}
			return c.editConnector(pos[0], given, rotate)
		},
	}
}

// editConnector applies the given flags (name → value) to the stored
// connector and saves it, keeping its secret unless rotate.
func (c *cli) editConnector(name string, given map[string]string, rotate bool) error {
	eng, err := c.engine()
	if err != nil {
		return err
	}
	defer eng.Store.Close()
	conn, err := eng.Store.Connector(c.ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("connector %s does not exist (see qtc connector list)", name)
	}
	if err != nil {
		return err
	}
	has := func(n string) bool { _, ok := given[n]; return ok }
	scheduleGiven := false
	for _, n := range scheduleFlags {
		scheduleGiven = scheduleGiven || has(n)
	}
	// The kind's own flags, bound to the stored values; the given flags are
	// replayed onto them, so only those change.
	fs := newFlagSet(conn.Kind)
	var x extraFlags
	replay := func() error {
		for n, v := range given {
			if fs.Lookup(n) == nil {
				return &usageError{err: fmt.Errorf("--%s does not apply to %s connectors", n, conn.Kind)}
			}
			if err := fs.Set(n, v); err != nil {
				return &usageError{err: fmt.Errorf("--%s: %w", n, err)}
			}
		}
		if has("schedule") {
			// A new kind of schedule starts from its own defaults; none
			// drops the times.
			if k := strings.ToLower(x.schedule); (k == "none" || k == "") && !has("start") {
				x.start = ""
			}
			if !has("end") {
				x.end = ""
			}
			if !has("every") {
				x.every = ""
			}
		}
		return nil
	}
	var sched qsync.Schedule
	var manual bool
	var saved store.Connector
	switch conn.Kind {
	case qsync.KindQualys:
		var q qsync.QualysConnector
		registerQualysFlags(fs, &q, &x)
		if q, err = qsync.QualysConnectorOf(conn); err != nil && !scheduleGiven { // a damaged stored schedule can be replaced
			return err
		}
		x.loadSchedule(q.Schedule)
		if err := replay(); err != nil {
			return err
		}
		// A new platform or API server picks its URLs again, unless given.
		if (has("platform") || has("api-url")) && !has("gateway-url") {
			q.GatewayURL = ""
		}
		if has("platform") && !has("api-url") {
			q.APIURL = ""
		}
		if scheduleGiven {
			if q.Schedule, err = x.parseSchedule(time.Now()); err != nil {
				return err
			}
		}
		if err := q.Resolve(); err != nil {
			return &usageError{err: err}
		}
		check := q
		check.Password = "x" // the password is checked apart
		if err := check.Validate(); err != nil {
			return &usageError{err: err}
		}
		if rotate {
			if q.Password, err = c.readSecret("QTC_PASSWORD", fmt.Sprintf("New password for %s at %s: ", q.Username, q.GatewayURL)); err != nil {
				return err
			}
		}
		if saved, err = eng.UpdateQualys(c.ctx, q); err != nil {
			return err
		}
		sched, manual = q.Schedule, qsync.Manual(saved)
	case qsync.KindEntra, qsync.KindEntraDevices:
		var e qsync.EntraConnector
		registerEntraFlags(fs, conn.Kind, &e, &x)
		if e, err = qsync.EntraConnectorOf(conn); err != nil && !scheduleGiven { // a damaged stored schedule can be replaced
			return err
		}
		x.loadSchedule(e.Schedule)
		x.assetTags = strings.Join(e.AssetTags, ",")
		if err := replay(); err != nil {
			return err
		}
		if scheduleGiven {
			if e.Schedule, err = x.parseSchedule(time.Now()); err != nil {
				return err
			}
		}
		if has("asset-tags") {
			e.AssetTags = qsync.ParseAssetTags(x.assetTags)
		}
		check := e
		check.ClientSecret = "x" // the secret is checked apart
		if err := check.Validate(); err != nil {
			return &usageError{err: err}
		}
		if rotate {
			if e.ClientSecret, err = c.readSecret("QTC_CLIENT_SECRET", fmt.Sprintf("New client secret of app %s: ", e.ClientID)); err != nil {
				return err
			}
		}
		if saved, err = eng.UpdateEntra(c.ctx, e); err != nil {
			return err
		}
		sched, manual = e.Schedule, e.Manual
	default:
		return fmt.Errorf("connector %s is a %s connector, which this build cannot edit", name, conn.Kind)
	}
	what := "secret kept"
	if rotate {
		what = "new secret encrypted"
	}
	fmt.Fprintf(c.stdout, "connector %s updated (%s)\n", saved.Name, what)
	if scheduleGiven || has("manual") {
		c.printSchedule(sched, manual)
	}
	return nil
}

func connectorDeleteCommand() *command {
	var yes bool
	return &command{
		name:    "delete",
		args:    "NAME",
		summary: "Delete a connector with its synced records, runs, change sets and stored secret (asks on a terminal unless --yes).",
		flags: func(fs *flag.FlagSet) {
			fs.BoolVar(&yes, "yes", false, "do not ask for confirmation (scripts)")
		},
		run: func(c *cli, pos []string) error {
			if err := needArgs(pos, 1, "connector NAME"); err != nil {
				return err
			}
			name := pos[0]
			eng, err := c.engine()
			if err != nil {
				return err
			}
			defer eng.Store.Close()
			conn, err := eng.Store.Connector(c.ctx, name)
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("connector %s does not exist (see qtc connector list)", name)
			}
			if err != nil {
				return err
			}
			if !yes {
				st, err := eng.ConnectorStatus(c.ctx, conn)
				if err != nil {
					return err
				}
				records := 0
				for _, n := range st.Records {
					records += n
				}
				runs, err := eng.Store.Runs(c.ctx, name, 0)
				if err != nil {
					return err
				}
				ok, err := c.confirm(fmt.Sprintf("Delete %s connector %s with its %d records, %d runs and its stored secret?", conn.Kind, name, records, len(runs)))
				if err != nil {
					return err
				}
				if !ok {
					return errors.New("not deleted")
				}
			}
			if err := eng.DeleteConnector(c.ctx, name); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "connector %s deleted with its records, runs, change sets and secret\n", name)
			return nil
		},
	}
}

// whenNext shows a coming time in lists: local "2006-01-02 15:04", "due"
// once it has passed, none when zero.
func whenNext(t time.Time, none string) string {
	switch {
	case t.IsZero():
		return none
	case !t.After(time.Now()):
		return "due"
	}
	return t.Local().Format("2006-01-02 15:04")
}
