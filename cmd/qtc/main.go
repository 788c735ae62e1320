// Command qtc is a terminal workbench for Qualys TotalCloud and Microsoft
// Entra ID data: it configures connectors, syncs their data into one local
// bbolt store, and browses it offline.
//
// Run `qtc help` for the command surface; `qtc demo` starts everything
// against the embedded simulator.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Exit codes, documented in the README.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
	exitPartial = 3
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes one command line and returns the process exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	app := &cli{stdin: stdin, stdout: stdout, stderr: stderr}
	err := app.dispatch(ctx, args)
	if err == nil {
		return exitOK
	}
	var ue *usageError
	var pe *partialError
	switch {
	case errors.Is(err, errHelpShown):
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "qtc: %v\n", ue.err)
		if ue.usage != "" {
			fmt.Fprintf(stderr, "usage: %s\n", ue.usage)
		}
		return exitUsage
	case errors.As(err, &pe):
		fmt.Fprintf(stderr, "qtc: %v\n", pe.err)
		return exitPartial
	default:
		fmt.Fprintf(stderr, "qtc: %v\n", err)
		return exitFailure
	}
}

// usageError is a bad command line; the process exits 2.
type usageError struct {
	err   error
	usage string
}

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// partialError is a sync that ended Partially Processed; exit 3.
type partialError struct{ err error }

func (e *partialError) Error() string { return e.err.Error() }
func (e *partialError) Unwrap() error { return e.err }

var errHelpShown = errors.New("help shown")
