package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"qtc/store"
	"qtc/store/vault"
	qsync "qtc/sync"
)

// cli holds what every command shares: streams, global flags and, once
// opened, the store and the sync engine.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	ctx            context.Context

	dbPath  string
	keyPath string
	verbose bool
	trace   bool // log every HTTP exchange, secrets redacted (implies verbose)
}

func (c *cli) root() *command {
	return &command{
		name:    "",
		summary: "qtc — a terminal workbench for Qualys TotalCloud and Microsoft Entra ID data.\nWith no command it opens the browser (TUI) on the local store, offline.",
		run:     (*cli).runTUI,
		sub: []*command{
			demoCommand(),
			simCommand(),
			connectorCommand(),
			syncCommand(),
			exportCommand(),
			exceptionCommand(),
			azureOrgCommand(),
			keyCommand(),
			storeCommand(),
		},
	}
}

// dispatch walks the command tree along args and runs the command found.
func (c *cli) dispatch(ctx context.Context, args []string) error {
	c.ctx = ctx
	cmd := c.root()
	path := ""
	var global []string // global flags before the command: qtc --trace sync
	for len(args) > 0 && len(cmd.sub) > 0 {
		a := args[0]
		if a == "help" {
			// `qtc help [cmd ...]` is `qtc [cmd ...] --help`.
			args = append(args[1:], "--help")
			continue
		}
		if strings.HasPrefix(a, "-") {
			n := globalFlagArgs(args)
			if n == 0 {
				break
			}
			global, args = append(global, args[:n]...), args[n:]
			continue
		}
		var next *command
		for _, s := range cmd.sub {
			if s.name == a {
				next = s
			}
		}
		if next == nil {
			if cmd.run == nil || cmd.name != "" {
				return &usageError{err: fmt.Errorf("unknown command %q", strings.TrimSpace(path+" "+a)), usage: cmd.usage(path)}
			}
			return &usageError{err: fmt.Errorf("unknown command %q (run qtc help)", a), usage: cmd.usage(path)}
		}
		cmd, path, args = next, path+" "+a, args[1:]
	}

	fs := newFlagSet("qtc" + path)
	c.globalFlags(fs)
	if cmd.flags != nil {
		cmd.flags(fs)
	}
	fs.Usage = func() {}
	pos, err := parseInterspersed(fs, append(global, args...))
	if isHelp(err) {
		printHelp(c.stdout, cmd, path, fs)
		return errHelpShown
	}
	if err != nil {
		return &usageError{err: err, usage: cmd.usage(path)}
	}
	c.verbose = c.verbose || c.trace // --trace implies -v
	if cmd.run == nil {
		if len(pos) > 0 {
			return &usageError{err: fmt.Errorf("unknown command %q", strings.TrimSpace(path+" "+pos[0])), usage: cmd.usage(path)}
		}
		printHelp(c.stderr, cmd, path, nil)
		return &usageError{err: fmt.Errorf("%s needs a command", strings.TrimSpace("qtc"+path))}
	}
	if err := cmd.run(c, pos); err != nil {
		var ue *usageError
		if errors.As(err, &ue) && ue.usage == "" {
			ue.usage = cmd.usage(path)
		}
		return err
	}
	return nil
}

func (c *cli) globalFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.dbPath, "db", os.Getenv("QTC_DB"), "store `path` (env QTC_DB; default $XDG_DATA_HOME/qtc/qtc.db)")
	fs.BoolVar(&c.verbose, "v", false, "verbose: debug logs on stderr")
	trace, _ := strconv.ParseBool(os.Getenv("QTC_TRACE"))
	fs.BoolVar(&c.trace, "trace", trace, "trace every HTTP exchange in the debug logs, credentials and tokens redacted; implies -v (env QTC_TRACE=1)")
}

// globalFlagArgs is how many of args a global flag at args[0] takes (1 or
// 2: --db PATH), 0 when args[0] is not a global flag.
func globalFlagArgs(args []string) int {
	name, _, hasValue := strings.Cut(strings.TrimLeft(args[0], "-"), "=")
	fs := newFlagSet("qtc")
	(&cli{}).globalFlags(fs)
	f := fs.Lookup(name)
	if f == nil || name == "" {
		return 0
	}
	if b, ok := f.Value.(interface{ IsBoolFlag() bool }); hasValue || (ok && b.IsBoolFlag()) || len(args) < 2 {
		return 1
	}
	return 2
}

func (c *cli) logger() *slog.Logger {
	level := slog.LevelError
	if c.verbose {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: level}))
}

// openStore opens the store at --db / QTC_DB / the default path.
func (c *cli) openStore() (*store.Store, error) {
	path := c.dbPath
	if path == "" {
		p, err := store.DefaultPath()
		if err != nil {
			return nil, err
		}
		path = p
	}
	return store.Open(path, store.Options{})
}

// openVault opens (creating if needed) the key that seals secrets.
func (c *cli) openVault() (*vault.Vault, error) {
	path := c.keyPath
	if path == "" {
		p, err := vault.DefaultKeyPath()
		if err != nil {
			return nil, err
		}
		path = p
		// The default key may live in the OS keyring (see vault.OpenAuto);
		// an explicit --key is always a file.
		return vault.OpenAuto(path)
	}
	return vault.Open(path)
}

// engine opens the store and vault and returns a sync engine over them; the
// caller closes the store.
func (c *cli) engine() (*qsync.Engine, error) {
	st, err := c.openStore()
	if err != nil {
		return nil, err
	}
	v, err := c.openVault()
	if err != nil {
		st.Close()
		return nil, err
	}
	eng := &qsync.Engine{Store: st, Vault: v, Logger: c.logger()}
	if c.trace {
		eng.Trace = eng.Logger
	}
	return eng, nil
}

func needArgs(pos []string, n int, what string) error {
	if len(pos) < n {
		return &usageError{err: fmt.Errorf("missing %s", what)}
	}
	if len(pos) > n {
		return &usageError{err: fmt.Errorf("unexpected argument %q", pos[n])}
	}
	return nil
}
