package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"qtc/api/sim"
	graphsim "qtc/api/sim/graph"
	"qtc/store"
	qsync "qtc/sync"
	"qtc/sync/export"
	"qtc/sync/transform"
	"qtc/ui"
)

func simCommand() *command {
	var o simFlags
	return &command{
		name:    "sim",
		summary: "Serve the Qualys TotalCloud gateway simulator on loopback until interrupted.",
		flags:   o.register,
		run: func(c *cli, pos []string) error {
			if err := needArgs(pos, 0, ""); err != nil {
				return err
			}
			if err := o.validate(); err != nil {
				return err
			}
			s := sim.New(o.options(c))
			url, err := s.Start(o.addr)
			if err != nil {
				return fmt.Errorf("start simulator on %s: %w", o.addr, err)
			}
			defer s.Close()
			opt := o.options(c)
			fmt.Fprintf(c.stdout, "qtc simulator serving the Qualys gateway at %s\n", url)
			fmt.Fprintf(c.stdout, "  username: %s\n  password: %s   (demo credentials)\n", opt.Username, opt.Password)
			var counts []string
			for _, t := range sim.Types() {
				counts = append(counts, fmt.Sprintf("%s %d", t, opt.Count(t)))
			}
			fmt.Fprintf(c.stdout, "  serving: %s\n", strings.Join(counts, ", "))
			fmt.Fprintf(c.stdout, "  latency %s; throttle every %d; fail every %d; POST /_sim/mutate changes data (simulator only)\n",
				opt.Latency, opt.ThrottleEvery, opt.FailEvery)
			if o.faults != "" {
				fmt.Fprintf(c.stdout, "  faults %s in both simulators; each sync's retries are counted by cause in its run log\n", o.faults)
			}
			fmt.Fprintf(c.stdout, "try:  QTC_PASSWORD=%s qtc connector add qualys mysim --gateway-url %s --username %s && qtc sync mysim\n",
				opt.Password, url, opt.Username)
			g := graphsim.New(o.graphOptions())
			gurl, err := g.Start(o.graphAddr)
			if err != nil {
				return fmt.Errorf("start Graph simulator on %s: %w", o.graphAddr, err)
			}
			defer g.Close()
			gopt := graphsim.Defaults(o.graphOptions())
			fmt.Fprintf(c.stdout, "\nqtc simulator serving Microsoft Graph and the identity platform at %s\n", gurl)
			fmt.Fprintf(c.stdout, "  login URL: %s\n  graph URL: %s\n  tenant: %s\n  client: %s\n  secret: %s   (demo credentials)\n",
				g.LoginURL(), g.GraphURL(), gopt.TenantID, gopt.ClientID, gopt.ClientSecret)
			fmt.Fprintf(c.stdout, "try:  QTC_CLIENT_SECRET=%s qtc connector add entra mytenant --tenant-id %s --client-id %s --login-url %s --graph-url %s --scope posture && qtc sync mytenant\n",
				gopt.ClientSecret, gopt.TenantID, gopt.ClientID, g.LoginURL(), g.GraphURL())
			<-c.ctx.Done()
			return nil
		},
	}
}

// simFlags are the simulator's knobs, shared by `sim` and `demo`.
type simFlags struct {
	addr          string
	latency       time.Duration
	throttleEvery int
	failEvery     int
	policies      int
	exceptions    int
	scale         string
	graphAddr     string
	graphGroups   int
	graphBudget   int
	faults        string
}

func (o *simFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8443", "Qualys gateway listen `address` (loopback)")
	fs.StringVar(&o.graphAddr, "graph-addr", "127.0.0.1:8444", "Microsoft Graph and login listen `address` (loopback)")
	o.registerFaults(fs)
}

func (o *simFlags) registerFaults(fs *flag.FlagSet) {
	fs.DurationVar(&o.latency, "latency", 0, "added latency per response, e.g. 20ms")
	fs.IntVar(&o.throttleEvery, "throttle-every", 0, "answer every `K`th API call with 429 and X-RateLimit-ToWait-Sec (0: never)")
	fs.IntVar(&o.failEvery, "fail-every", 0, "answer every `K`th API call with 503 (0: never)")
	fs.IntVar(&o.policies, "policies", 0, "number of policies to serve (0: default)")
	fs.IntVar(&o.exceptions, "exceptions", 0, "number of exceptions to serve (0: default)")
	fs.StringVar(&o.scale, "scale", "", "data `size`: small (default) or seed (the seed's totals, e.g. 111,207 Entra ID users)")
	fs.IntVar(&o.graphGroups, "graph-groups", 0, "number of Entra ID groups (0: the scale's default, 40 small, 800 seed)")
	fs.StringVar(&o.faults, "faults", "", "faults of both simulators: a total `rate` spread over every kind (e.g. 0.2), or kind=rate,… with kinds "+faultKindNames()+" (503-no-retry-after, 410 and replay: Graph only)")
	fs.IntVar(&o.graphBudget, "graph-budget", 0, "Graph resource units per 10 s (0: Microsoft's limit for the tenant size, 8,000 above 500 users; -1: unthrottled)")
}

func (o *simFlags) options(c *cli) sim.Options {
	f, _ := parseFaults(o.faults) // checked by validate
	opt := sim.Options{
		Latency: o.latency, ThrottleEvery: o.throttleEvery, FailEvery: o.failEvery, Faults: f.qualys,
		Policies: o.policies, Exceptions: o.exceptions, Scale: o.scale, Logger: c.logger(),
	}
	return sim.Defaults(opt)
}

// graphOptions are the Graph simulator's options from the same flags.
func (o *simFlags) graphOptions() graphsim.Options {
	scale := graphsim.ScaleSmall
	if o.scale == sim.ScaleSeed {
		scale = graphsim.ScaleSeed
	}
	f, _ := parseFaults(o.faults) // checked by validate
	return graphsim.Options{Scale: scale, Latency: o.latency, Groups: o.graphGroups, Budget: o.graphBudget, Faults: f.graph}
}

func (o *simFlags) validate() error {
	switch {
	case o.latency < 0:
		return &usageError{err: fmt.Errorf("--latency %s must not be negative", o.latency)}
	case o.throttleEvery < 0:
		return &usageError{err: fmt.Errorf("--throttle-every %d must be 0 or more", o.throttleEvery)}
	case o.failEvery < 0:
		return &usageError{err: fmt.Errorf("--fail-every %d must be 0 or more", o.failEvery)}
	case o.policies < 0 || o.exceptions < 0:
		return &usageError{err: fmt.Errorf("--policies and --exceptions must be 0 or more")}
	case o.scale != "" && o.scale != sim.ScaleSmall && o.scale != sim.ScaleSeed:
		return &usageError{err: fmt.Errorf("--scale %q is not small or seed", o.scale)}
	case o.faults != "" && faultsErr(o.faults) != nil:
		return &usageError{err: faultsErr(o.faults)}
	case o.graphGroups < 0:
		return &usageError{err: fmt.Errorf("--graph-groups %d must be 0 or more", o.graphGroups)}
	case o.graphBudget < -1:
		return &usageError{err: fmt.Errorf("--graph-budget %d must be -1 (unthrottled), 0 (Microsoft's limit) or more", o.graphBudget)}
	}
	return nil
}

func demoCommand() *command {
	var o simFlags
	var noTUI bool
	return &command{
		name:    "demo",
		summary: "Start the simulator in-process, register the demo Qualys connector, sync it and open the browser.",
		flags: func(fs *flag.FlagSet) {
			o.registerFaults(fs)
			fs.BoolVar(&noTUI, "no-tui", false, "sync and exit without opening the browser")
		},
		run: func(c *cli, pos []string) error {
			if err := needArgs(pos, 0, ""); err != nil {
				return err
			}
			if err := o.validate(); err != nil {
				return err
			}
			opt := o.options(c)
			s := sim.New(opt)
			url, err := s.Start("127.0.0.1:0")
			if err != nil {
				return fmt.Errorf("start simulator: %w", err)
			}
			defer s.Close()
			eng, err := c.engine()
			if err != nil {
				return err
			}
			defer eng.Store.Close()
			if _, err := eng.SaveQualys(c.ctx, qsync.QualysConnector{
				// The simulator serves the classic XML APIs (host assets,
				// detections, knowledge base) on the gateway's base URL.
				Name: demoConnector, GatewayURL: url, APIURL: url, Username: opt.Username, Password: opt.Password,
			}); err != nil {
				return fmt.Errorf("register demo connector: %w", err)
			}
			g := graphsim.New(o.graphOptions())
			gurl, err := g.Start("127.0.0.1:0")
			if err != nil {
				return fmt.Errorf("start Graph simulator: %w", err)
			}
			defer g.Close()
			gopt := graphsim.Defaults(o.graphOptions())
			for _, ec := range []qsync.EntraConnector{
				{Kind: qsync.KindEntra, Name: demoEntra, Scope: "posture"},
				{Kind: qsync.KindEntraDevices, Name: demoDevices},
			} {
				ec.TenantID, ec.ClientID, ec.ClientSecret = gopt.TenantID, gopt.ClientID, gopt.ClientSecret
				ec.LoginURL, ec.GraphURL = g.LoginURL(), g.GraphURL()
				if _, err := eng.SaveEntra(c.ctx, ec); err != nil {
					return fmt.Errorf("register %s: %w", ec.Name, err)
				}
			}
			fmt.Fprintf(c.stderr, "simulators at %s (Qualys) and %s (Graph); store %s\n", url, gurl, eng.Store.Path())
			for _, name := range []string{demoConnector, demoEntra, demoDevices} {
				if err := c.syncWithProgress(eng, name, qsync.Options{}); err != nil {
					return err
				}
			}
			if noTUI {
				return nil
			}
			return ui.Run(c.ctx, ui.Config{Engine: eng, Connector: demoConnector, Logger: c.logger()})
		},
	}
}

// The demo's connectors: a Qualys account and the two Entra ID connectors.
const (
	demoConnector = "demo"
	demoEntra     = "demo-entra"
	demoDevices   = "demo-devices"
)

func (c *cli) runTUI(pos []string) error {
	if err := needArgs(pos, 0, ""); err != nil {
		return err
	}
	eng, err := c.engine()
	if err != nil {
		return err
	}
	defer eng.Store.Close()
	return ui.Run(c.ctx, ui.Config{Engine: eng, Logger: c.logger()})
}

func connectorCommand() *command {
	var q qsync.QualysConnector
	var qx extraFlags
	return &command{
		name:    "connector",
		summary: "Configure connectors.",
		sub: []*command{
			{
				name:    "add",
				summary: "Add (or update) a connector.",
				sub: []*command{{
					name:    "qualys",
					args:    "NAME",
					summary: "Add or update a Qualys TotalCloud connector. The password comes from $QTC_PASSWORD or a masked prompt, never a flag; it is stored encrypted.",
					flags: func(fs *flag.FlagSet) {
						registerQualysFlags(fs, &q, &qx)
					},
					run: func(c *cli, pos []string) error {
						if err := needArgs(pos, 1, "connector NAME"); err != nil {
							return err
						}
						q.Name = pos[0]
						var err error
						if q.Schedule, err = qx.parseSchedule(time.Now()); err != nil {
							return err
						}
						q.Password = "x" // validate the flags before prompting
						if err := q.Resolve(); err != nil {
							return &usageError{err: err}
						}
						if err := q.Validate(); err != nil {
							return &usageError{err: err}
						}
						pw, err := c.readSecret("QTC_PASSWORD", fmt.Sprintf("Password for %s at %s: ", q.Username, q.GatewayURL))
						if err != nil {
							return err
						}
						q.Password = pw
						eng, err := c.engine()
						if err != nil {
							return err
						}
						defer eng.Store.Close()
						saved, err := eng.SaveQualys(c.ctx, q)
						if err != nil {
							return err
						}
						fmt.Fprintf(c.stdout, "connector %s saved (password encrypted); sync it with: qtc sync %s\n", q.Name, q.Name)
						c.printSchedule(q.Schedule, qsync.Manual(saved))
						return nil
					},
				}, entraAddCommand(qsync.KindEntra), entraAddCommand(qsync.KindEntraDevices)},
			},
			connectorEditCommand(),
			connectorDeleteCommand(),
			connectorTestCommand(),
			{
				name:    "list",
				summary: "List connectors with their state, last sync and record counts.",
				run: func(c *cli, pos []string) error {
					if err := needArgs(pos, 0, ""); err != nil {
						return err
					}
					eng, err := c.engine()
					if err != nil {
						return err
					}
					defer eng.Store.Close()
					conns, err := eng.Store.Connectors(c.ctx)
					if err != nil {
						return err
					}
					if len(conns) == 0 {
						fmt.Fprintln(c.stderr, "no connectors yet: add one with `qtc connector add qualys NAME …`, or run `qtc demo`")
						return nil
					}
					tw := tabwriter.NewWriter(c.stdout, 2, 4, 2, ' ', 0)
					fmt.Fprintln(tw, "NAME\tKIND\tSTATE\tLAST SYNC\tNEXT RUN\tNEXT BASELINE\tRECORDS\tENDPOINT")
					for _, conn := range conns {
						s, err := eng.ConnectorStatus(c.ctx, conn)
						if err != nil {
							return err
						}
						last := "never"
						if s.LastRun != nil {
							last = s.LastRun.Start.Local().Format("2006-01-02 15:04")
						}
						var counts []string
						for _, t := range sortedKeys(s.Records) {
							counts = append(counts, fmt.Sprintf("%s=%d", t, s.Records[t]))
						}
						fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", conn.Name, conn.Kind, s.State, last,
							whenNext(s.NextRun, "-"), whenNext(s.NextBaseline, "next sync"), strings.Join(counts, " "), qsync.Endpoint(conn))
					}
					return tw.Flush()
				},
			},
		},
	}
}

// readSecret reads a secret from the environment variable, else from a
// masked prompt on the terminal. It never accepts a secret as a flag.
func (c *cli) readSecret(env, prompt string) (string, error) {
	if v := os.Getenv(env); v != "" {
		return v, nil
	}
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return "", fmt.Errorf("no terminal to prompt for the secret: set %s", env)
	}
	defer tty.Close()
	fmt.Fprint(tty, prompt)
	b, err := term.ReadPassword(int(tty.Fd()))
	fmt.Fprintln(tty)
	if err != nil {
		return "", fmt.Errorf("read secret: %w", err)
	}
	if len(b) == 0 {
		return "", errors.New("empty secret")
	}
	return string(b), nil
}

func syncCommand() *command {
	var full, due bool
	return &command{
		name:    "sync",
		args:    "[NAME]",
		summary: "Pull every page of the connector's data into the store (resumes an interrupted pull unless --full). Without NAME, every connector except those that require manual sync; with --due, only those whose schedule is due (for cron or a systemd timer).",
		flags: func(fs *flag.FlagSet) {
			fs.BoolVar(&full, "full", false, "start over: ignore an interrupted pull's resume point")
			fs.BoolVar(&due, "due", false, "sync only the connectors whose scheduled run is due, skipping those that require manual sync; quiet when none is")
		},
		run: func(c *cli, pos []string) error {
			if len(pos) > 1 {
				return needArgs(pos, 1, "connector NAME")
			}
			if due && len(pos) == 1 {
				return &usageError{err: errors.New("--due syncs the connectors whose schedule is due: give no NAME")}
			}
			eng, err := c.engine()
			if err != nil {
				return err
			}
			defer eng.Store.Close()
			if len(pos) == 1 {
				// Named: synced even if it requires manual sync.
				return c.syncWithProgress(eng, pos[0], qsync.Options{Full: full})
			}
			if due {
				return c.syncDue(eng, qsync.Options{Full: full})
			}
			return c.syncAll(eng, qsync.Options{Full: full})
		},
	}
}

// syncAll syncs every connector that does not require manual sync, one
// after the other, saying which it skipped.
func (c *cli) syncAll(eng *qsync.Engine, opt qsync.Options) error {
	conns, err := eng.Store.Connectors(c.ctx)
	if err != nil {
		return err
	}
	if len(conns) == 0 {
		return errors.New("no connectors to sync: add one with `qtc connector add qualys|entra|entra-devices NAME …`, or run `qtc demo`")
	}
	run, skipped := qsync.AutoSync(conns)
	for _, conn := range skipped {
		fmt.Fprintln(c.stderr, qsync.SkippedManual(conn.Name))
	}
	if len(run) == 0 {
		fmt.Fprintln(c.stderr, "nothing synced: every connector requires manual sync")
		return nil
	}
	return c.syncEach(eng, run, opt)
}

// syncDue syncs the connectors whose scheduled run is due now. It says
// nothing when none is (cron mails what a job prints), except with -v.
func (c *cli) syncDue(eng *qsync.Engine, opt qsync.Options) error {
	due, manual, err := eng.DueConnectors(c.ctx, time.Now())
	if err != nil {
		return err
	}
	if c.verbose {
		for _, conn := range manual {
			fmt.Fprintln(c.stderr, qsync.SkippedManual(conn.Name))
		}
		if len(due) == 0 {
			fmt.Fprintln(c.stderr, "nothing due")
		}
	}
	if len(due) == 0 {
		return nil
	}
	return c.syncEach(eng, due, opt)
}

// syncEach syncs the connectors one after the other. A failed connector
// does not stop the others: with several, each failure is printed as it
// happens and the run ends Partially Processed (exit 3) if some connectors
// synced.
func (c *cli) syncEach(eng *qsync.Engine, run []store.Connector, opt qsync.Options) error {
	var failed []string
	var last error
	for _, conn := range run {
		if err := c.syncWithProgress(eng, conn.Name, opt); err != nil {
			failed, last = append(failed, conn.Name), err
			if len(run) > 1 {
				fmt.Fprintf(c.stderr, "qtc: %v\n", err)
			}
		}
		if c.ctx.Err() != nil {
			break
		}
	}
	switch {
	case len(failed) == 0:
		return nil
	case len(run) == 1 || c.ctx.Err() != nil:
		return last
	case len(failed) < len(run):
		return &partialError{err: fmt.Errorf("%d of %d connectors failed (%s); the others synced", len(failed), len(run), strings.Join(failed, ", "))}
	default:
		return fmt.Errorf("every connector failed to sync (%s)", strings.Join(failed, ", "))
	}
}

func exportCommand() *command {
	var conn, typ, format, out string
	return &command{
		name:    "export",
		summary: "Write one synced type: ndjson (raw JSON as the API returned it, one record a line, Entra ID relations appended under their Graph names), json (an array), csv (the columns) or qualys-asset (the Qualys assets the seeds' transformation maps produce).",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&conn, "connector", "", "connector `NAME`")
			fs.StringVar(&typ, "type", "", "record `TYPE`, e.g. policies, exceptions, users, devices")
			fs.StringVar(&format, "format", "ndjson", "ndjson, json, csv or qualys-asset")
			fs.StringVar(&out, "o", "", "write to `file` (0600) instead of stdout")
		},
		run: func(c *cli, pos []string) error {
			if err := needArgs(pos, 0, ""); err != nil {
				return err
			}
			if conn == "" {
				return &usageError{err: errors.New("--connector is required")}
			}
			if typ == "" {
				return &usageError{err: errors.New("--type is required (policies, exceptions)")}
			}
			if !contains(export.Formats, format) {
				return &usageError{err: fmt.Errorf("--format %q is not one of %s", format, strings.Join(export.Formats, ", "))}
			}
			if _, ok := transform.For(typ); format == "qualys-asset" && !ok {
				return &usageError{err: fmt.Errorf("--format qualys-asset: type %s has no transformation map (the seeds map %s)", typ, strings.Join(transform.Types(), ", "))}
			}
			eng, err := c.engine()
			if err != nil {
				return err
			}
			defer eng.Store.Close()
			if _, err := eng.Store.Connector(c.ctx, conn); err != nil {
				return fmt.Errorf("--connector %s: %w", conn, err)
			}
			w := c.stdout
			var file *exportFile
			if out != "" {
				if file, err = createExport(out); err != nil {
					return err
				}
				defer file.discard()
				w = file.f
			}
			n, err := export.Write(c.ctx, eng.Store, conn, typ, format, w)
			if err != nil {
				return err
			}
			if out != "" {
				if err := file.commit(); err != nil {
					return err
				}
				fmt.Fprintf(c.stderr, "%d %s records written to %s\n", n, typ, out)
			}
			return nil
		},
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// exportFile is an export being written to a temporary file beside its
// destination (created 0600), renamed over it once complete: a failed
// export leaves a file already there as it was, and the file written is
// 0600 even where one with a wider mode stood.
type exportFile struct {
	f    *os.File
	path string
	done bool
}

func createExport(path string) (*exportFile, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("-o %s: %w", path, err)
	}
	return &exportFile{f: f, path: path}, nil
}

// commit makes the export durable and puts it in place.
func (e *exportFile) commit() error {
	if err := e.f.Sync(); err != nil {
		return fmt.Errorf("-o %s: %w", e.path, err)
	}
	if err := e.f.Close(); err != nil {
		return fmt.Errorf("-o %s: %w", e.path, err)
	}
	if err := os.Rename(e.f.Name(), e.path); err != nil {
		return fmt.Errorf("-o %s: %w", e.path, err)
	}
	e.done = true
	return nil
}

// discard removes an export that was not committed.
func (e *exportFile) discard() {
	if !e.done {
		e.f.Close()
		os.Remove(e.f.Name())
	}
}
