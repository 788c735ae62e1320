package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// command is one node of the command tree.
type command struct {
	name    string
	args    string // positional arguments, for usage
	summary string
	// flags declares the command's flags on fs; global flags are added for
	// every command.
	flags func(fs *flag.FlagSet)
	run   func(c *cli, pos []string) error
	sub   []*command
}

func (cmd *command) usage(path string) string {
	u := "qtc " + strings.TrimSpace(path)
	if len(cmd.sub) > 0 {
		return u + " <command>"
	}
	if cmd.args != "" {
		u += " " + cmd.args
	}
	return u + " [flags]"
}

// parseInterspersed parses flags anywhere among the positional arguments, so
// `qtc connector add qualys NAME --username U` works like `--username U NAME`.
// A lone "--" ends flag parsing.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if len(args) > 0 && len(rest) < len(args) && args[len(args)-len(rest)-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// newFlagSet makes a flag set that returns errors instead of printing and
// exiting: run() reports them once, and --help prints qtc's own help.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

func printHelp(w io.Writer, cmd *command, path string, fs *flag.FlagSet) {
	fmt.Fprintf(w, "%s\n\nusage: %s\n", cmd.summary, cmd.usage(path))
	if len(cmd.sub) > 0 {
		fmt.Fprintln(w, "\ncommands:")
		for _, s := range cmd.sub {
			fmt.Fprintf(w, "  %-22s %s\n", strings.TrimSpace(s.name+" "+s.args), s.summary)
		}
	}
	if fs != nil {
		fmt.Fprintln(w, "\nflags:")
		fs.SetOutput(w)
		fs.PrintDefaults()
	}
}

func isHelp(err error) bool { return errors.Is(err, flag.ErrHelp) }
