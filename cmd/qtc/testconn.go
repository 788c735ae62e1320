package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"time"

	qsync "qtc/sync"
)

// connectorTestCommand is `connector test NAME [--json]`: the five-step
// Test Connection of seeds 002 and 003, one line per step as it ends.
func connectorTestCommand() *command {
	var asJSON bool
	return &command{
		name: "test",
		args: "NAME",
		summary: "Test a connector's connection in five steps (Network Reachability, TLS Handshake, Authentication Credential Check, " +
			"Authorization Scope Check, Data Fetch); a failed step shows its fix and the later ones are skipped. " +
			"Exit 0 only if every step passes (TLS on a plain http:// endpoint shows as skipped, not failed), 1 otherwise.",
		flags: func(fs *flag.FlagSet) {
			fs.BoolVar(&asJSON, "json", false, "print the results as one JSON object (for scripts)")
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
			printed := 0
			progress := func(steps []qsync.StepResult) {
				if asJSON {
					return
				}
				for printed < len(steps) && finished(steps[printed].Status) {
					printStep(c.stdout, printed, steps[printed])
					printed++
				}
			}
			res, err := eng.TestConnection(c.ctx, name, progress)
			if res == nil && err != nil {
				return err
			}
			if asJSON {
				if jerr := writeTestJSON(c.stdout, name, res); jerr != nil {
					return jerr
				}
			} else {
				for ; printed < len(res); printed++ {
					printStep(c.stdout, printed, res[printed])
				}
			}
			if err != nil {
				return fmt.Errorf("connection test of %s: %w", name, err)
			}
			if !qsync.Passed(res) {
				for i, s := range res {
					if s.Status == qsync.StepFailed {
						return fmt.Errorf("connection test of %s failed at step %d (%s)", name, i+1, s.Name)
					}
				}
				return fmt.Errorf("connection test of %s did not pass", name)
			}
			return nil
		},
	}
}

func finished(status string) bool {
	return status == qsync.StepPassed || status == qsync.StepFailed || status == qsync.StepSkipped
}

// printStep writes one step as a line ("✓ 1 Network Reachability  12ms
// 127.0.0.1:8443 reachable"); a failed step adds its fix on the next line.
func printStep(w io.Writer, i int, s qsync.StepResult) {
	switch s.Status {
	case qsync.StepPassed:
		fmt.Fprintf(w, "✓ %d %-31s  %5s  %s\n", i+1, s.Name, shortDuration(s.Duration), s.Detail)
	case qsync.StepFailed:
		fmt.Fprintf(w, "✗ %d %-31s  %5s  %s\n", i+1, s.Name, shortDuration(s.Duration), s.Detail)
		if s.Fix != "" {
			fmt.Fprintf(w, "    fix: %s\n", s.Fix)
		}
	default:
		detail := s.Detail
		if detail == "" {
			detail = s.Status
		}
		fmt.Fprintf(w, "- %d %-31s  %5s  %s\n", i+1, s.Name, "", detail)
	}
}

// shortDuration is a step's duration in milliseconds (seconds past 10 s).
func shortDuration(d time.Duration) string {
	if d >= 10*time.Second {
		return d.Round(100 * time.Millisecond).String()
	}
	return fmt.Sprintf("%dms", d.Milliseconds())
}

// testReport is the --json output.
type testReport struct {
	Connector string     `json:"connector"`
	Passed    bool       `json:"passed"`
	Steps     []testStep `json:"steps"`
}

type testStep struct {
	Step       int    `json:"step"`
	Name       string `json:"name"`
	Status     string `json:"status"` // passed, failed, skipped (pending if cancelled first)
	DurationMS int64  `json:"durationMs"`
	Detail     string `json:"detail,omitempty"`
	Fix        string `json:"fix,omitempty"`
}

func writeTestJSON(w io.Writer, name string, res []qsync.StepResult) error {
	r := testReport{Connector: name, Passed: qsync.Passed(res), Steps: []testStep{}}
	for i, s := range res {
		r.Steps = append(r.Steps, testStep{Step: i + 1, Name: s.Name, Status: s.Status, DurationMS: s.Duration.Milliseconds(), Detail: s.Detail, Fix: s.Fix})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}

// caBundleFlag is --ca-bundle: it keeps the absolute path, so the stored
// setting works from any directory. The file is checked with the rest of
// the connector (qsync.CheckCABundle names the flag).
type caBundleFlag struct{ path *string }

func registerCABundleFlag(fs *flag.FlagSet, path *string) {
	fs.Var(caBundleFlag{path}, "ca-bundle", "PEM `file` of CA certificates to trust besides the system's (a TLS-inspecting proxy's root CA); used by sync and connector test")
}

func (f caBundleFlag) String() string {
	if f.path == nil {
		return ""
	}
	return *f.path
}

func (f caBundleFlag) Set(v string) error {
	if v == "" {
		*f.path = ""
		return nil
	}
	abs, err := filepath.Abs(v)
	if err != nil {
		return fmt.Errorf("--ca-bundle %s: %v", v, err)
	}
	*f.path = abs
	return nil
}
