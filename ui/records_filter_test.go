package ui

import (
	"context"
	"errors"
	"testing"

	tea "charm.land/bubbletea/v2"
)

// commands flattens what a tea.Cmd batches, leaving out the text cursor's
// blink; the commands are not run.
func commands(cmd tea.Cmd) []tea.Cmd {
	if cmd == nil || isCursorBlink(cmd) {
		return nil
	}
	return []tea.Cmd{cmd}
}

// filterReply runs cmds (the commands one keystroke returned) and returns
// the filter query's reply among their messages.
func filterReply(t *testing.T, cmds []tea.Cmd) filterDoneMsg {
	t.Helper()
	for len(cmds) > 0 {
		c := cmds[0]
		cmds = cmds[1:]
		switch msg := c().(type) {
		case tea.BatchMsg:
			for _, sub := range msg {
				cmds = append(cmds, commands(sub)...)
			}
		case filterDoneMsg:
			return msg
		}
	}
	t.Fatal("the keystroke started no filter query")
	return filterDoneMsg{}
}

// TestStaleFilterResultIsDropped types two letters into the filter of the
// exceptions list and delivers the first letter's reply after the second
// keystroke: whether its query ran to the end before the second keystroke
// or only after it (then cancelled), the list shows the second query's
// result, never the first's.
func TestStaleFilterResultIsDropped(t *testing.T) {
	for _, tc := range []struct {
		name string
		// runFirstEarly runs the first query before the second keystroke
		// (its result is complete but stale); otherwise it runs after it
		// and finds its context cancelled.
		runFirstEarly bool
	}{
		{"finished then superseded", true},
		{"superseded while pending", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, 120, 30)
			h.open("exceptions")
			h.keys("/")
			rs := h.app.top().(*recordsScreen)
			names := h.exceptionNames()
			target := names[len(names)/2]

			// The first keystroke: a letter many names contain.
			_, cmd := rs.Update(tea.KeyPressMsg{Code: 'e', Text: "e"})
			first := commands(cmd)
			var early filterDoneMsg
			if tc.runFirstEarly {
				early = filterReply(t, first)
				if early.err != nil || len(early.ids) < 2 {
					t.Fatalf("first query: %d ids, err %v", len(early.ids), early.err)
				}
			}
			// The second: the whole of one name, as a quoted phrase.
			rs.input.SetValue(`"` + target + `"`)
			_, cmd = rs.Update(tea.KeyPressMsg{Code: tea.KeyEnd})
			second := filterReply(t, commands(cmd))

			stale := early
			if !tc.runFirstEarly {
				stale = filterReply(t, first)
				if !errors.Is(stale.err, context.Canceled) {
					t.Fatalf("superseded query ended with %v (%d ids), want context.Canceled", stale.err, len(stale.ids))
				}
			}
			if stale.seq == second.seq {
				t.Fatal("both queries carry the same sequence number")
			}

			// The stale reply before the newer one and again after it:
			// neither time does it change the list (or report an error).
			total := rs.list.Len()
			h.send(stale)
			if rs.matched != -1 || rs.list.Len() != total {
				t.Fatalf("the stale reply was applied: matched %d (want -1, no result yet), list of %d (want %d)", rs.matched, rs.list.Len(), total)
			}
			h.send(second)
			h.send(stale)
			if rs.matched != 1 || rs.list.Len() != 1 {
				t.Fatalf("after the stale reply: %d matched, list of %d; want the second query's 1", rs.matched, rs.list.Len())
			}
			if row, ok := rs.list.Selected(); !ok || row.Cells[0] != target {
				t.Fatalf("list shows %v, want %q", row.Cells, target)
			}
			if h.app.status.err {
				t.Fatalf("a dropped reply reported an error: %s", h.app.status.text)
			}
		})
	}
}
