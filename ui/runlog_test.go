package ui

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"qtc/api/sim"
	qsync "qtc/sync"
)

func TestRunLogListsRunsNewestFirstWithTheirErrors(t *testing.T) {
	h := newHarness(t, 140, 40)
	ctx := context.Background()
	// A second connector whose password is wrong: its run is Errored.
	srv := httptest.NewServer(h.sim.Handler())
	t.Cleanup(srv.Close)
	d := sim.Defaults(sim.Options{})
	if _, err := h.eng.SaveQualys(ctx, qsync.QualysConnector{Name: "bad", GatewayURL: srv.URL, Username: d.Username, Password: "wrong"}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.eng.Sync(ctx, "bad", qsync.Options{}); err == nil {
		t.Fatal("a sync with a wrong password succeeded")
	}
	if _, err := h.eng.Sync(ctx, "t", qsync.Options{}); err != nil { // a second run of t
		t.Fatal(err)
	}

	h.keys("C")
	h.contains("bad", "t")
	h.keys("l") // the first row: bad
	h.contains("1 runs of bad", "Errored", "!")
	h.keys("enter")
	h.contains("Run 1", "Errored", "Error (with the advice")
	h.keys("esc")
	h.contains("1 runs of bad")
	h.keys("esc", "down", "l") // t's log
	h.contains("2 runs of t", "Processed")
	lines := h.screen()
	if i, j := strings.Index(lines, " 2 20"), strings.Index(lines, " 1 20"); i < 0 || j < 0 || i > j {
		t.Errorf("runs not newest first:\n%s", lines)
	}
}

func TestDueConnectorsSyncInTheBackground(t *testing.T) {
	h := newHarness(t, 120, 30)
	ctx := context.Background()
	before, err := h.eng.Store.Runs(ctx, "t", 10)
	if err != nil {
		t.Fatal(err)
	}
	h.send(dueMsg{names: []string{"t"}})
	// The harness runs the sync to its end: its outcome is in the status.
	h.contains("sync of t: Processed")
	// Browsing was not interrupted: the records screen is still on top.
	if _, ok := h.app.top().(*recordsScreen); !ok {
		t.Errorf("top screen is %T, want the records screen", h.app.top())
	}
	after, err := h.eng.Store.Runs(ctx, "t", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before)+1 {
		t.Errorf("%d runs after a due sync, %d before", len(after), len(before))
	}
	// A due connector already syncing is not started twice.
	if cmd := h.app.startDue(nil); cmd != nil {
		if msg := cmd(); msg != nil {
			t.Errorf("startDue(nil) = %T", msg)
		}
	}
}
