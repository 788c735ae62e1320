package ui

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"

	"qtc/store"
	"qtc/ui/vlist"
)

// runLogScreen is a connector's Logs tab: its sync runs newest first —
// start, kind, state, duration, requests, added / changed / removed, the
// error with the seed's advice — and, on enter, one run's per-type counts,
// its retries by cause and its whole error.
type runLogScreen struct {
	env    *env
	conn   string
	list   vlist.Model
	runs   []store.Run
	seq    int
	loaded bool
	err    error
	// The detail of one run (enter), shown in place of the list.
	detail        *viewport.Model
	width, height int
}

// runLogLimit is how many runs the log reads.
const runLogLimit = 500

var runLogKeys = struct{ Open key.Binding }{
	Open: key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "run detail")),
}

func newRunLogScreen(e *env, conn string) *runLogScreen {
	cols := []vlist.Column{
		{Title: "RUN", MinWidth: 4, MaxWidth: 6, Align: vlist.AlignRight},
		{Title: "START", MinWidth: 16, MaxWidth: 16},
		{Title: "KIND", MinWidth: 5, MaxWidth: 8},
		{Title: "STATE", MinWidth: 9, MaxWidth: 19},
		{Title: "TOOK", MinWidth: 6, MaxWidth: 8, Align: vlist.AlignRight},
		{Title: "REQUESTS", MinWidth: 8, MaxWidth: 8, Align: vlist.AlignRight},
		{Title: "+ ~ -", MinWidth: 18, MaxWidth: 26},
		{Title: "ERROR", MinWidth: 10, Flex: 1},
	}
	return &runLogScreen{env: e, conn: conn, list: vlist.New(conn+"/runs", cols)}
}

type runLogMsg struct {
	seq  int
	runs []store.Run
	err  error
}

func (r *runLogScreen) Init() tea.Cmd { return r.load() }

func (r *runLogScreen) load() tea.Cmd {
	r.seq = r.env.nextSeq()
	seq, e, conn := r.seq, r.env, r.conn
	return func() tea.Msg {
		runs, err := e.store.Runs(e.ctx, conn, runLogLimit)
		return runLogMsg{seq: seq, runs: runs, err: err}
	}
}

// runRows renders runs newest first.
func runRows(runs []store.Run) []vlist.Row {
	sorted := append([]store.Run(nil), runs...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].ID > sorted[j].ID })
	rows := make([]vlist.Row, len(sorted))
	for i, run := range sorted {
		var added, changed, removed int
		for _, c := range run.Counts {
			added += c.Added
			changed += c.Changed
			removed += c.Removed
		}
		took := "running"
		if !run.End.IsZero() {
			took = run.End.Sub(run.Start).Round(10 * time.Millisecond).String()
		}
		mark := ""
		if run.Error != "" {
			mark = "!"
		}
		rows[i] = vlist.Row{ID: strconv.FormatUint(run.ID, 10), Mark: mark, Cells: []string{
			strconv.FormatUint(run.ID, 10), run.Start.Local().Format("2006-01-02 15:04"), run.Kind, run.State, took,
			commas(int(run.Requests)), fmt.Sprintf("+%s ~%s -%s", commas(added), commas(changed), commas(removed)),
			firstLine(run.Error),
		}}
	}
	return rows
}

// retriesLine is a run's retries by cause, "12: 429 ×3, reset ×9" (causes
// in order), or "" when nothing was retried.
func retriesLine(byCause map[string]int) string {
	causes := make([]string, 0, len(byCause))
	total := 0
	for c, n := range byCause {
		if n > 0 {
			causes = append(causes, c)
			total += n
		}
	}
	if total == 0 {
		return ""
	}
	sort.Strings(causes)
	parts := make([]string, len(causes))
	for i, c := range causes {
		parts[i] = c + " ×" + commas(byCause[c])
	}
	return commas(total) + ": " + strings.Join(parts, ", ")
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// runDetail is one run in full.
func runDetail(run store.Run) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Run %d · %s · %s\n", run.ID, run.Kind, run.State)
	fmt.Fprintf(&b, "Started  %s\n", run.Start.Local().Format("2006-01-02 15:04:05"))
	if !run.End.IsZero() {
		fmt.Fprintf(&b, "Ended    %s (%s)\n", run.End.Local().Format("2006-01-02 15:04:05"), run.End.Sub(run.Start).Round(time.Millisecond))
	}
	fmt.Fprintf(&b, "Requests %s\n", commas(int(run.Requests)))
	if line := retriesLine(run.Retries); line != "" {
		fmt.Fprintf(&b, "Retries  %s\n", line)
	}
	b.WriteString("\n")
	types := make([]string, 0, len(run.Counts))
	w := len("TYPE")
	for t := range run.Counts {
		types = append(types, t)
		w = max(w, len(t))
	}
	sort.Strings(types)
	fmt.Fprintf(&b, "%-*s %9s %9s %9s %9s %6s %9s\n", w, "TYPE", "ADDED", "CHANGED", "REMOVED", "UNCHANGED", "PAGES", "FALLBACKS")
	for _, t := range types {
		c := run.Counts[t]
		fmt.Fprintf(&b, "%-*s %9s %9s %9s %9s %6d %9d\n", w, t, commas(c.Added), commas(c.Changed), commas(c.Removed), commas(c.Unchanged), c.Pages, c.Fallbacks)
	}
	if run.Error != "" {
		b.WriteString("\nError (with the advice of the seeds' troubleshooting tables):\n")
		for _, part := range strings.Split(run.Error, ": ") {
			b.WriteString("  " + part + "\n")
		}
	}
	return b.String()
}

func (r *runLogScreen) Update(msg tea.Msg) (Screen, tea.Cmd) {
	switch msg := msg.(type) {
	case sizeMsg:
		r.width, r.height = msg.Width, max(msg.Height-1, 1)
		var cmd tea.Cmd
		r.list, cmd = r.list.SetSize(msg.Width, max(msg.Height-1, 2))
		if r.detail != nil {
			r.detail.SetWidth(msg.Width)
			r.detail.SetHeight(max(msg.Height-1, 1))
		}
		return r, cmd
	case runLogMsg:
		if msg.seq != r.seq {
			return r, nil
		}
		r.loaded, r.err, r.runs = true, msg.err, msg.runs
		var cmd tea.Cmd
		r.list, cmd = r.list.SetSource(vlist.SliceSource(runRows(msg.runs)))
		return r, cmd
	case storeChangedMsg:
		if msg.connector == r.conn {
			return r, r.load()
		}
		return r, nil
	case tea.KeyPressMsg:
		if r.detail != nil {
			if key.Matches(msg, keys.Back) {
				r.detail = nil
				return r, nil
			}
			var cmd tea.Cmd
			*r.detail, cmd = r.detail.Update(msg)
			return r, cmd
		}
		switch {
		case key.Matches(msg, keys.Back):
			return r, pop
		case key.Matches(msg, runLogKeys.Open):
			row, ok := r.list.Selected()
			if !ok {
				return r, nil
			}
			for _, run := range r.runs {
				if strconv.FormatUint(run.ID, 10) == row.ID {
					vp := viewport.New(viewport.WithWidth(max(r.width, 20)), viewport.WithHeight(max(r.height, 1)))
					vp.SoftWrap = true
					vp.SetContent(runDetail(run))
					r.detail = &vp
				}
			}
			return r, nil
		}
	}
	var cmd tea.Cmd
	r.list, cmd = r.list.Update(msg)
	return r, cmd
}

func (r *runLogScreen) View(width, height int) string {
	st := r.env.styles
	if r.detail != nil {
		return fit(r.detail.View()+"\n"+st.Dim.Render("esc back to the log"), width, height)
	}
	var foot string
	switch {
	case r.err != nil:
		foot = st.Error.Render("error: " + r.err.Error())
	case r.loaded && len(r.runs) == 0:
		foot = st.Dim.Render("no runs yet — ctrl+r syncs " + r.conn)
	default:
		foot = st.Dim.Render(fmt.Sprintf("%d runs of %s, newest first · ! failed · enter shows one", len(r.runs), r.conn))
	}
	return fit(strings.TrimRight(r.list.View(), "\n")+"\n"+foot, width, height)
}

func (r *runLogScreen) Crumb() string       { return "logs" }
func (r *runLogScreen) Keys() []key.Binding { return []key.Binding{runLogKeys.Open, keys.Back} }
func (r *runLogScreen) Capturing() bool     { return false }
