package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"qtc/api/qualys"
	"qtc/store"
	qsync "qtc/sync"
)

// exceptionFlags are the fields of an exception, from flags or a JSON file.
type exceptionFlags struct {
	conn, file                                   string
	name, description, reason, start, end        string
	scope, cloud, controls, connectors, accounts string
	resources                                    string
}

func (f *exceptionFlags) register(fs *flag.FlagSet, withFields bool) {
	fs.StringVar(&f.conn, "connector", "", "Qualys connector `NAME`")
	if !withFields {
		return
	}
	fs.StringVar(&f.file, "file", "", "read the exception from a JSON `file` (fields as the API takes them); flags override it")
	fs.StringVar(&f.name, "name", "", "exception `name` (required)")
	fs.StringVar(&f.description, "description", "", "free `text`")
	fs.StringVar(&f.reason, "reason", "", "`reason`: "+strings.Join(qualys.ExceptionReasons, ", "))
	fs.StringVar(&f.start, "start", "", "starting `date-time` (RFC 3339, e.g. 2026-12-01T00:00:00Z)")
	fs.StringVar(&f.end, "end", "", "ending `date-time`, after --start")
	fs.StringVar(&f.scope, "scope", "", "`scope`: "+strings.Join(qualys.ExceptionScopes, ", "))
	fs.StringVar(&f.cloud, "cloud", "", "cloud `type`: AWS, AZURE, GCP, OCI")
	fs.StringVar(&f.controls, "control-ids", "", "comma-separated control `ids`")
	fs.StringVar(&f.connectors, "connector-uuids", "", "comma-separated connector `uuids`")
	fs.StringVar(&f.accounts, "account-ids", "", "comma-separated account `ids`")
	fs.StringVar(&f.resources, "resource-ids", "", "comma-separated resource `ids`")
}

// input builds the API input: the file first, then the flags given.
func (f *exceptionFlags) input() (qualys.ExceptionInput, error) {
	var in qualys.ExceptionInput
	if f.file != "" {
		data, err := os.ReadFile(f.file)
		if err != nil {
			return in, err
		}
		if in, err = qualys.DecodeExceptionInput(data); err != nil {
			return in, &usageError{err: fmt.Errorf("--file %s: %w", f.file, err)}
		}
	}
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&in.Name, f.name)
	set(&in.Description, f.description)
	set(&in.Reason, f.reason)
	set(&in.StartingDate, f.start)
	set(&in.EndingDate, f.end)
	set(&in.Scope, f.scope)
	set(&in.CloudType, strings.ToUpper(f.cloud))
	if f.controls != "" {
		in.ControlIDs = nil
		for _, s := range splitList(f.controls) {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return in, &usageError{err: fmt.Errorf("--control-ids: %q is not a number", s)}
			}
			in.ControlIDs = append(in.ControlIDs, n)
		}
	}
	if f.connectors != "" {
		in.ConnectorUUIDs = splitList(f.connectors)
	}
	if f.accounts != "" {
		in.AccountIDs = splitList(f.accounts)
	}
	if f.resources != "" {
		in.ResourceIDs = splitList(f.resources)
	}
	return in, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func exceptionCommand() *command {
	var f exceptionFlags
	var yes bool
	needConn := func() error {
		if f.conn == "" {
			return &usageError{err: errors.New("--connector is required")}
		}
		return nil
	}
	return &command{
		name:    "exception",
		summary: "Create, update, delete or refresh TotalCloud exceptions (the store keeps the server's answer).",
		sub: []*command{
			{
				name: "create", summary: "Create an exception; prints the server's record.",
				flags: func(fs *flag.FlagSet) { f.register(fs, true) },
				run: func(c *cli, pos []string) error {
					if err := needArgs(pos, 0, ""); err != nil {
						return err
					}
					return withException(c, &f, true, func(eng *qsync.Engine, in qualys.ExceptionInput) (store.Record, error) {
						return eng.CreateException(c.ctx, f.conn, in)
					}, "created")
				},
			},
			{
				name: "update", args: "ID", summary: "Replace an exception's fields; prints the server's record.",
				flags: func(fs *flag.FlagSet) { f.register(fs, true) },
				run: func(c *cli, pos []string) error {
					if err := needArgs(pos, 1, "exception ID"); err != nil {
						return err
					}
					return withException(c, &f, true, func(eng *qsync.Engine, in qualys.ExceptionInput) (store.Record, error) {
						return eng.UpdateException(c.ctx, f.conn, pos[0], in)
					}, "updated")
				},
			},
			{
				name: "get", args: "ID", summary: "Re-read one exception from the server into the store and print it.",
				flags: func(fs *flag.FlagSet) { f.register(fs, false) },
				run: func(c *cli, pos []string) error {
					if err := needArgs(pos, 1, "exception ID"); err != nil {
						return err
					}
					return withException(c, &f, false, func(eng *qsync.Engine, _ qualys.ExceptionInput) (store.Record, error) {
						return eng.RefreshException(c.ctx, f.conn, pos[0])
					}, "")
				},
			},
			{
				name: "delete", args: "ID...", summary: "Delete exceptions (asks for confirmation on a terminal unless --yes).",
				flags: func(fs *flag.FlagSet) {
					f.register(fs, false)
					fs.BoolVar(&yes, "yes", false, "do not ask for confirmation")
				},
				run: func(c *cli, pos []string) error {
					if len(pos) == 0 {
						return &usageError{err: errors.New("missing exception ID")}
					}
					if err := needConn(); err != nil {
						return err
					}
					eng, err := c.engine()
					if err != nil {
						return err
					}
					defer eng.Store.Close()
					if !yes {
						var names []string
						for _, id := range pos {
							name := id
							if r, err := eng.Store.Get(c.ctx, f.conn, "exceptions", id); err == nil && len(r.Cells) > 0 {
								name = fmt.Sprintf("%q (%s)", r.Cells[0], id)
							}
							names = append(names, name)
						}
						ok, err := c.confirm(fmt.Sprintf("Delete %d exception(s) on the server: %s?", len(pos), strings.Join(names, ", ")))
						if err != nil {
							return err
						}
						if !ok {
							return errors.New("not deleted")
						}
					}
					deleted, err := eng.DeleteExceptions(c.ctx, f.conn, pos)
					if err != nil {
						return err
					}
					fmt.Fprintf(c.stderr, "deleted %d exception(s): %s\n", len(deleted), strings.Join(deleted, ", "))
					return nil
				},
			},
		},
	}
}

// withException runs one exception call: it checks --connector, builds the
// input (when the call takes one), opens the engine, and prints the server's
// record on stdout (and what happened on stderr when verb is set).
func withException(c *cli, f *exceptionFlags, needsInput bool, call func(*qsync.Engine, qualys.ExceptionInput) (store.Record, error), verb string) error {
	if f.conn == "" {
		return &usageError{err: errors.New("--connector is required")}
	}
	var in qualys.ExceptionInput
	if needsInput {
		var err error
		if in, err = f.input(); err != nil {
			return err
		}
	}
	eng, err := c.engine()
	if err != nil {
		return err
	}
	defer eng.Store.Close()
	rec, err := call(eng, in)
	if err != nil {
		return err
	}
	if verb != "" {
		fmt.Fprintf(c.stderr, "%s exception %s\n", verb, rec.ID)
	}
	fmt.Fprintf(c.stdout, "%s\n", rec.Raw)
	return nil
}

// confirm asks a yes/no question on the terminal; without one it refuses
// and says how to confirm non-interactively.
func (c *cli) confirm(question string) (bool, error) {
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return false, &usageError{err: errors.New("no terminal to confirm on: pass --yes")}
	}
	defer tty.Close()
	fmt.Fprintf(tty, "%s [y/N] ", question)
	var answer string
	fmt.Fscanln(tty, &answer)
	return strings.EqualFold(answer, "y") || strings.EqualFold(answer, "yes"), nil
}

func azureOrgCommand() *command {
	var conn, file string
	return &command{
		name:    "azure-org",
		summary: "Azure tenant (org) connectors through the Qualys connectors API (seed 001).",
		sub: []*command{{
			name:    "create",
			summary: "Create an Azure tenant connector from a JSON body (seed 001 fields). secretValue comes from the file or $QTC_AZURE_SECRET or a masked prompt; it is never printed.",
			flags: func(fs *flag.FlagSet) {
				fs.StringVar(&conn, "connector", "", "Qualys connector `NAME` whose account creates it")
				fs.StringVar(&file, "file", "", "request body `file` (JSON)")
			},
			run: func(c *cli, pos []string) error {
				if err := needArgs(pos, 0, ""); err != nil {
					return err
				}
				if conn == "" || file == "" {
					return &usageError{err: errors.New("--connector and --file are required")}
				}
				data, err := os.ReadFile(file)
				if err != nil {
					return err
				}
				in, err := qualys.DecodeAzureOrgConnectorInput(data)
				if err != nil {
					return &usageError{err: fmt.Errorf("--file %s: %w", file, err)}
				}
				if in.SecretValue == "" {
					if in.SecretValue, err = c.readSecret("QTC_AZURE_SECRET", "Azure application secret value: "); err != nil {
						return err
					}
				}
				if err := in.Validate(); err != nil {
					return &usageError{err: err}
				}
				eng, err := c.engine()
				if err != nil {
					return err
				}
				defer eng.Store.Close()
				rec, err := eng.CreateAzureOrg(c.ctx, conn, in)
				if err != nil {
					return err
				}
				var out qualys.AzureOrgConnector
				_ = json.Unmarshal(rec.Raw, &out)
				fmt.Fprintf(c.stderr, "created Azure tenant connector %q: state %s, uuid %s, next sync %s\n", out.Name, out.State, out.UUID, out.NextSync)
				if out.LastError != nil {
					fmt.Fprintf(c.stderr, "last error: %s\n", *out.LastError)
				}
				fmt.Fprintf(c.stdout, "%s\n", rec.Raw)
				return nil
			},
		}},
	}
}
