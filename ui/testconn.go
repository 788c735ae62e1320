package ui

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	qsync "qtc/sync"
)

// testConnScreen runs the five-step Test Connection (seeds 002 and 003) of
// one connector in the background and draws it live: a spinner on the
// running step, then ✓, ✗ or – with its duration, detail and, for a
// failure, the fix. esc cancels a running test and goes back; r runs it
// again once it has finished.
type testConnScreen struct {
	env   *env
	title string
	run   func(ctx context.Context, progress func([]qsync.StepResult)) ([]qsync.StepResult, error)
	// onClose, if set, is told the outcome when the screen closes.
	onClose func(passed bool, steps []qsync.StepResult) tea.Cmd

	cur   *testRun
	steps []qsync.StepResult
	done  bool
	err   error
	spin  spinner.Model
}

// newTestConnScreen tests the stored connector name (the `t` key of the
// connectors screen).
func newTestConnScreen(e *env, name string) Screen {
	return &testConnScreen{env: e, title: name, spin: newTestSpinner(),
		run: func(ctx context.Context, progress func([]qsync.StepResult)) ([]qsync.StepResult, error) {
			return e.engine.TestConnection(ctx, name, progress)
		}}
}

// newTestConnScreenFor tests a connector that is not saved yet: the set-up
// wizard and Key Rotation push it before saving. When the user leaves the
// screen, onClose (if not nil) is called in Update with whether the test
// passed (false when it was cancelled or could not run) and the steps; the
// command it returns runs after the screen has been popped, so its
// messages reach the screen below.
func newTestConnScreenFor(e *env, c qsync.UnsavedConnector, onClose func(passed bool, steps []qsync.StepResult) tea.Cmd) Screen {
	title := "new connector"
	switch v := c.(type) { // a copy: the form may change its own after pushing
	case qsync.QualysConnector:
		title = v.Name
	case *qsync.QualysConnector:
		c, title = *v, v.Name
	case qsync.EntraConnector:
		title = v.Name
	case *qsync.EntraConnector:
		c, title = *v, v.Name
	}
	return &testConnScreen{env: e, title: title, spin: newTestSpinner(), onClose: onClose,
		run: func(ctx context.Context, progress func([]qsync.StepResult)) ([]qsync.StepResult, error) {
			return e.engine.TestConnectionFor(ctx, c, progress)
		}}
}

func newTestSpinner() spinner.Model { return spinner.New(spinner.WithSpinner(spinner.MiniDot)) }

var testConnKeys = struct{ Back, Again, Continue key.Binding }{
	Back:     key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel/back")),
	Continue: key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "continue")),
	Again:    key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "test again")),
}

// testRun is one run's state, shared by the goroutine running it and the
// command waiting for its next change. Progress never blocks the runner:
// changes coalesce and the waiter reads the latest.
type testRun struct {
	id     int
	cancel context.CancelFunc
	notify chan struct{} // capacity 1: "something changed"

	mu    sync.Mutex
	steps []qsync.StepResult
	done  bool
	err   error
}

// testConnMsg is a run's latest state.
type testConnMsg struct {
	id    int
	steps []qsync.StepResult
	done  bool
	err   error
}

func (r *testRun) set(steps []qsync.StepResult, done bool, err error) {
	r.mu.Lock()
	if steps != nil {
		r.steps = steps
	}
	r.done, r.err = r.done || done, err
	r.mu.Unlock()
	select {
	case r.notify <- struct{}{}:
	default:
	}
}

// listen waits for the run's next change.
func (r *testRun) listen() tea.Cmd {
	return func() tea.Msg {
		<-r.notify
		r.mu.Lock()
		defer r.mu.Unlock()
		return testConnMsg{id: r.id, steps: r.steps, done: r.done, err: r.err}
	}
}

// start runs the test in the background.
func (s *testConnScreen) start() tea.Cmd {
	ctx, cancel := context.WithCancel(s.env.ctx)
	r := &testRun{id: s.env.nextSeq(), cancel: cancel, notify: make(chan struct{}, 1)}
	s.cur, s.done, s.err = r, false, nil
	s.steps = make([]qsync.StepResult, len(qsync.TestSteps))
	for i, n := range qsync.TestSteps {
		s.steps[i] = qsync.StepResult{Name: n, Status: qsync.StepPending}
	}
	run := s.run
	go func() {
		defer cancel()
		steps, err := run(ctx, func(st []qsync.StepResult) { r.set(st, false, nil) })
		r.set(steps, true, err)
	}()
	return tea.Batch(r.listen(), s.spin.Tick)
}

func (s *testConnScreen) Init() tea.Cmd { return s.start() }

func (s *testConnScreen) Update(msg tea.Msg) (Screen, tea.Cmd) {
	switch msg := msg.(type) {
	case testConnMsg:
		if s.cur == nil || msg.id != s.cur.id {
			return s, nil // a run this screen no longer shows
		}
		if msg.steps != nil {
			s.steps = msg.steps
		}
		if msg.done {
			s.done, s.err = true, msg.err
			return s, nil
		}
		return s, s.cur.listen()
	case spinner.TickMsg:
		if s.done {
			return s, nil // the spinner stops with the test
		}
		var cmd tea.Cmd
		s.spin, cmd = s.spin.Update(msg)
		return s, cmd
	case tea.KeyPressMsg:
		switch {
		case key.Matches(msg, testConnKeys.Back):
			if !s.done && s.cur != nil {
				s.cur.cancel()
			}
			return s, s.close()
		case key.Matches(msg, testConnKeys.Again) && s.done:
			return s, s.start()
		case key.Matches(msg, testConnKeys.Continue) && s.done && s.onClose != nil:
			// The wizard's test: enter goes on (saves if it passed).
			return s, s.close()
		}
	}
	return s, nil
}

// close pops the screen and tells onClose how the test went.
func (s *testConnScreen) close() tea.Cmd {
	if s.onClose == nil {
		return pop
	}
	passed := s.done && s.err == nil && qsync.Passed(s.steps)
	if cmd := s.onClose(passed, append([]qsync.StepResult(nil), s.steps...)); cmd != nil {
		return tea.Sequence(pop, cmd)
	}
	return pop
}

// Passed reports whether the last run finished with every step passing.
func (s *testConnScreen) Passed() bool { return s.done && s.err == nil && qsync.Passed(s.steps) }

func (s *testConnScreen) View(width, height int) string {
	st := s.env.styles
	var b strings.Builder
	b.WriteString(st.Title.Render("Test Connection · "+s.title) + "\n\n")
	const nameW = 31
	for i, step := range s.steps {
		var mark, dur string
		switch step.Status {
		case qsync.StepRunning:
			mark = s.spin.View()
		case qsync.StepPassed:
			mark, dur = st.Good.Render("✓"), testDuration(step.Duration)
		case qsync.StepFailed:
			mark, dur = st.Bad.Render("✗"), testDuration(step.Duration)
		case qsync.StepSkipped:
			mark = st.Dim.Render("–")
		default:
			mark = st.Dim.Render("·")
		}
		head := fmt.Sprintf(" %s %d %-*s %6s  ", mark, i+1, nameW, step.Name, dur)
		detail := step.Detail
		switch step.Status {
		case qsync.StepRunning:
			detail = "running…"
		case qsync.StepPending:
			detail = "pending"
		}
		indent := ansi.StringWidth(head)
		if width-indent < 40 {
			indent = 6
		}
		writeWrapped(&b, head, detail, indent, width, func(t string) string {
			if step.Status == qsync.StepPending || step.Status == qsync.StepSkipped {
				return st.Dim.Render(t)
			}
			return t
		})
		if step.Status == qsync.StepFailed && step.Fix != "" {
			writeWrapped(&b, strings.Repeat(" ", indent), "fix: "+step.Fix, indent, width, func(t string) string { return st.Prompt.Render(t) })
		}
	}
	b.WriteString("\n")
	switch {
	case !s.done:
		b.WriteString(st.Dim.Render("testing… esc cancels"))
	case s.err != nil:
		b.WriteString(st.Error.Render("test stopped: "+s.err.Error()) + "\n" + st.Dim.Render("r tests again · esc goes back"))
	case qsync.Passed(s.steps):
		hint := "r tests again · esc goes back"
		if s.onClose != nil {
			hint = "enter saves the connector · r tests again · esc goes back"
		}
		b.WriteString(st.Good.Render("✓ all checks passed") + "\n" + st.Dim.Render(hint))
	default:
		b.WriteString(st.Bad.Render("✗ a check failed — see its fix above") + "\n" + st.Dim.Render("r tests again · esc goes back"))
	}
	return fit(b.String(), width, height)
}

// writeWrapped writes head followed by text wrapped to width, continuation
// lines indented by indent cells.
func writeWrapped(b *strings.Builder, head, text string, indent, width int, style func(string) string) {
	room := max(width-indent, 10)
	lines := strings.Split(ansi.Wrap(text, room, " "), "\n")
	if ansi.StringWidth(head) > indent {
		b.WriteString(head + "\n")
		head = ""
	}
	for i, l := range lines {
		if i == 0 && head != "" {
			b.WriteString(head + strings.Repeat(" ", max(indent-ansi.StringWidth(head), 0)) + style(l) + "\n")
			continue
		}
		b.WriteString(strings.Repeat(" ", indent) + style(l) + "\n")
	}
}

func testDuration(d time.Duration) string {
	if d >= 10*time.Second {
		return d.Round(100 * time.Millisecond).String()
	}
	return fmt.Sprintf("%dms", d.Milliseconds())
}

func (s *testConnScreen) Crumb() string { return "test " + s.title }
func (s *testConnScreen) Keys() []key.Binding {
	if s.done && s.onClose != nil {
		return []key.Binding{testConnKeys.Continue, testConnKeys.Again, keys.Back}
	}
	if s.done {
		return []key.Binding{testConnKeys.Again, keys.Back}
	}
	return []key.Binding{testConnKeys.Back}
}
func (s *testConnScreen) Capturing() bool { return false }
