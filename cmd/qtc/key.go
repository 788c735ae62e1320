package main

import (
	"errors"
	"flag"
	"fmt"
)

// keyCommand shows where the key that seals secrets lives and exports it,
// so a store can move to another machine.
func keyCommand() *command {
	var file string
	return &command{
		name:    "key",
		summary: "Where the key that seals connector secrets lives (OS keyring or key file), and exporting it.",
		sub: []*command{
			{
				name:    "where",
				summary: "Print where the key lives: the OS keyring or the key file's path.",
				run: func(c *cli, _ []string) error {
					v, err := c.openVault()
					if err != nil {
						return err
					}
					fmt.Fprintln(c.stdout, v.Source)
					return nil
				},
			},
			{
				name:    "export",
				summary: "Write the key to a new file (mode 0600): copy it and the store to another machine, and put it at that machine's key path (see the README).",
				flags: func(fs *flag.FlagSet) {
					fs.StringVar(&file, "file", "", "the new key `file` (must not exist)")
				},
				run: func(c *cli, _ []string) error {
					if file == "" {
						return &usageError{err: errors.New("--file is required")}
					}
					v, err := c.openVault()
					if err != nil {
						return err
					}
					if err := v.ExportKey(file); err != nil {
						return err
					}
					fmt.Fprintf(c.stdout, "key (from %s) written to %s\n", v.Source, file)
					return nil
				},
			},
		},
	}
}
