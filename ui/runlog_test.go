package ui

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"qtc/api/sim"
	"qtc/store"
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

// TestRunDetailShowsRetriesByCause: a run's detail (enter in :logs) lists
// what it retried, by cause, and says nothing of retries when there were
// none.
func TestRunDetailShowsRetriesByCause(t *testing.T) {
	tests := []struct {
		name    string
		retries map[string]int
		want    string // the Retries line, "" for none
	}{
		{"none", nil, ""},
		{"zero counts", map[string]int{"429": 0}, ""},
		{"by cause in order", map[string]int{"reset": 3, "429": 2, "batch-503": 1200}, "Retries  1,205: 429 ×2, batch-503 ×1,200, reset ×3\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := runDetail(store.Run{ID: 7, Kind: "full", State: qsync.StateProcessed, Requests: 40, Retries: tc.retries})
			has := strings.Contains(got, "Retries")
			switch {
			case tc.want == "" && has:
				t.Errorf("detail shows retries for a run without any:\n%s", got)
			case tc.want != "" && !strings.Contains(got, "Requests 40\n"+tc.want+"\n"):
				t.Errorf("detail lacks %q after the requests:\n%s", tc.want, got)
			}
		})
	}
}
