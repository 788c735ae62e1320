package ui

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"

	"qtc/store"
	qsync "qtc/sync"
	"qtc/sync/catalog"
)

// Config is what the TUI needs from its caller.
type Config struct {
	Engine *qsync.Engine
	// Connector is the connector to open on; "" picks the first one.
	Connector string
	Logger    *slog.Logger
}

// Run opens the TUI and blocks until the user quits or ctx ends.
func Run(ctx context.Context, cfg Config) error {
	m := newApp(ctx, cfg)
	opts := []tea.ProgramOption{tea.WithContext(ctx)}
	if profile, ok := forcedProfile(os.Getenv); ok {
		opts = append(opts, tea.WithColorProfile(profile))
	}
	p := tea.NewProgram(m, opts...)
	_, err := p.Run()
	if err != nil && ctx.Err() != nil {
		return nil
	}
	return err
}

// forcedProfile honours NO_COLOR (https://no-color.org) explicitly: no
// colour, but bold and reverse stay so the selection and headers remain
// visible. Otherwise the terminal's own profile is detected.
func forcedProfile(getenv func(string) string) (colorprofile.Profile, bool) {
	if getenv("NO_COLOR") != "" {
		return colorprofile.ASCII, true
	}
	return 0, false
}

// env is the context every screen shares.
type env struct {
	ctx    context.Context
	engine *qsync.Engine
	store  *store.Store
	styles Styles
	log    *slog.Logger
	// syncs holds the progress of syncs started from the TUI, by connector.
	syncs map[string]*syncProgress
	// seq numbers requests so replies to superseded ones are dropped.
	seq int
}

func (e *env) nextSeq() int { e.seq++; return e.seq }

type mode int

const (
	modeNormal mode = iota
	modeCommand
	modeHelp
)

// app is the root model: header, screen stack, status bar, command line.
type app struct {
	env       *env
	width     int
	height    int
	stack     []Screen
	mode      mode
	cmdline   cmdline
	connector string
	connState *qsync.Status
	stateSeq  int
	status    statusMsg
	statusAt  time.Time
	quitting  bool
	// homePending opens the connector's first screen once its state (and
	// so its kind) has loaded.
	homePending bool
}

func newApp(ctx context.Context, cfg Config) *app {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	e := &env{
		ctx: ctx, engine: cfg.Engine, store: cfg.Engine.Store, styles: DefaultStyles(),
		log: log, syncs: map[string]*syncProgress{},
	}
	a := &app{env: e, width: 80, height: 24, connector: cfg.Connector}
	a.cmdline = newCmdline(e)
	return a
}

// connectorsLoadedMsg answers the start-up lookup of the first connector.
type connectorsLoadedMsg struct {
	names []string
	err   error
}

// connStatusMsg carries the current connector's state for the header.
type connStatusMsg struct {
	seq    int
	status qsync.Status
	err    error
}

func (a *app) Init() tea.Cmd {
	st := a.env.store
	ctx := a.env.ctx
	return tea.Batch(func() tea.Msg {
		conns, err := st.Connectors(ctx)
		names := make([]string, len(conns))
		for i, c := range conns {
			names[i] = c.Name
		}
		return connectorsLoadedMsg{names: names, err: err}
	}, dueTick())
}

// openHome opens the first screen of the current connector.
func (a *app) openHome() tea.Cmd {
	types := a.connectorTypes()
	if a.connector == "" || len(types) == 0 {
		s := newConnectorsScreen(a.env)
		return tea.Batch(a.replace(s), a.sizeCmd(s))
	}
	s := newRecordsScreen(a.env, a.connector, types[0])
	return tea.Batch(a.replace(s), a.sizeCmd(s))
}

// kind is the current connector's kind ("" until its state has loaded).
func (a *app) kind() string {
	if a.connState != nil {
		return a.connState.Connector.Kind
	}
	return ""
}

// connectorTypes lists the record types of the current connector's kind.
func (a *app) connectorTypes() []catalog.Type {
	if a.connState != nil {
		return catalog.ForKind(a.connState.Connector.Kind)
	}
	return catalog.ForKind(qsync.KindQualys)
}

func (a *app) loadConnState() tea.Cmd {
	if a.connector == "" {
		return nil
	}
	a.stateSeq = a.env.nextSeq()
	seq, name, e := a.stateSeq, a.connector, a.env
	return func() tea.Msg {
		c, err := e.store.Connector(e.ctx, name)
		if err != nil {
			return connStatusMsg{seq: seq, err: err}
		}
		s, err := e.engine.ConnectorStatus(e.ctx, c)
		return connStatusMsg{seq: seq, status: s, err: err}
	}
}

func (a *app) replace(s Screen) tea.Cmd {
	a.stack = []Screen{s}
	return s.Init()
}

func (a *app) top() Screen {
	if len(a.stack) == 0 {
		return nil
	}
	return a.stack[len(a.stack)-1]
}

// bodySize is the area screens draw in: all but the header and status bar.
func (a *app) bodySize() (int, int) {
	return a.width, max(a.height-2, 1)
}

func (a *app) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		a.width, a.height = msg.Width, msg.Height
		w, h := a.bodySize()
		return a, a.forwardAll(sizeMsg{Width: w, Height: h})
	case connectorsLoadedMsg:
		if msg.err != nil {
			a.setStatus(statusMsg{text: msg.err.Error(), err: true})
		}
		if a.connector == "" && len(msg.names) > 0 {
			a.connector = msg.names[0]
		}
		if a.connector == "" {
			return a, a.openHome()
		}
		a.homePending = true
		return a, a.loadConnState()
	case connStatusMsg:
		if msg.seq != a.stateSeq {
			return a, nil
		}
		if msg.err != nil {
			a.setStatus(statusMsg{text: msg.err.Error(), err: true})
		} else {
			s := msg.status
			a.connState = &s
		}
		if a.homePending {
			a.homePending = false
			return a, a.openHome()
		}
		return a, nil
	case selectConnectorMsg:
		a.connector = msg.name
		a.connState = nil
		a.homePending = true
		return a, a.loadConnState()
	case pushMsg:
		a.stack = append(a.stack, msg.screen)
		return a, tea.Batch(msg.screen.Init(), a.sizeCmd(msg.screen))
	case replaceMsg:
		return a, tea.Batch(a.replace(msg.screen), a.sizeCmd(msg.screen))
	case popMsg:
		if len(a.stack) > 1 {
			a.stack = a.stack[:len(a.stack)-1]
		}
		return a, nil
	case statusMsg:
		a.setStatus(msg)
		return a, nil
	case deletedMsg:
		a.setStatus(statusMsg{text: fmt.Sprintf("deleted %q (%d record)", msg.name, len(msg.ids))})
		return a, a.forwardAll(storeChangedMsg{connector: msg.connector})
	case storeChangedMsg:
		return a, tea.Batch(a.forwardAll(msg), a.loadConnState())
	case syncEventMsg, syncDoneMsg:
		cmd := a.handleSync(msg)
		return a, cmd
	case syncCurrentMsg:
		if a.connector == "" {
			return a, status("no connector selected: open :connectors")
		}
		return a, a.startSync(a.connector)
	case dueTickMsg:
		return a, tea.Batch(a.checkDue(), dueTick())
	case dueMsg:
		if msg.err != nil {
			return a, statusErr(msg.err)
		}
		return a, a.startDue(msg.names)
	case openLogsMsg:
		if a.connector == "" {
			return a, status("no connector selected: open :connectors")
		}
		s := newRunLogScreen(a.env, a.connector)
		return a, tea.Batch(a.replace(s), a.sizeCmd(s))
	case openChangesMsg:
		if a.connector == "" {
			return a, status("no connector selected: open :connectors")
		}
		s := newChangesScreen(a.env, a.connector)
		return a, tea.Batch(a.replace(s), a.sizeCmd(s))
	case helpMsg:
		a.mode = modeHelp
		return a, nil
	case openTypeMsg:
		if a.connector == "" {
			return a, status("no connector selected: open :connectors")
		}
		s := newRecordsScreen(a.env, a.connector, msg.typ)
		return a, tea.Batch(a.replace(s), a.sizeCmd(s))
	case tea.KeyPressMsg:
		return a.handleKey(msg)
	}
	return a, a.forwardTop(msg)
}

func (a *app) sizeCmd(s Screen) tea.Cmd {
	w, h := a.bodySize()
	return func() tea.Msg { return sizeMsg{Width: w, Height: h} }
}

func (a *app) setStatus(s statusMsg) {
	a.status = s
	a.statusAt = time.Now()
}

func (a *app) handleKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	switch a.mode {
	case modeHelp:
		if key.Matches(msg, keys.Back, keys.Help, keys.Quit) {
			a.mode = modeNormal
		}
		return a, nil
	case modeCommand:
		done, cmd := a.cmdline.update(msg)
		if done {
			a.mode = modeNormal
		}
		return a, cmd
	}
	top := a.top()
	if top != nil && top.Capturing() {
		if msg.String() == "ctrl+c" {
			a.quitting = true
			return a, tea.Quit
		}
		return a, a.forwardTop(msg)
	}
	switch {
	case key.Matches(msg, keys.Quit):
		a.quitting = true
		return a, tea.Quit
	case key.Matches(msg, keys.Command):
		a.mode = modeCommand
		return a, a.cmdline.open(a.kind())
	case key.Matches(msg, keys.Help):
		a.mode = modeHelp
		return a, nil
	case key.Matches(msg, keys.Sync):
		if a.connector == "" {
			return a, status("no connector selected")
		}
		return a, a.startSync(a.connector)
	case key.Matches(msg, keys.Connectors):
		return a, func() tea.Msg { return replaceMsg{newConnectorsScreen(a.env)} }
	}
	// Screens see esc first (to clear a filter); a screen that does not
	// consume it returns popMsg.
	return a, a.forwardTop(msg)
}

func (a *app) forwardTop(msg tea.Msg) tea.Cmd {
	top := a.top()
	if top == nil {
		return nil
	}
	s, cmd := top.Update(msg)
	a.stack[len(a.stack)-1] = s
	return cmd
}

// forwardAll sends msg to every screen in the stack (resizes, store changes).
func (a *app) forwardAll(msg tea.Msg) tea.Cmd {
	var cmds []tea.Cmd
	for i, s := range a.stack {
		s2, cmd := s.Update(msg)
		a.stack[i] = s2
		cmds = append(cmds, cmd)
	}
	return tea.Batch(cmds...)
}

func (a *app) View() tea.View {
	var v tea.View
	v.AltScreen = true
	if a.quitting {
		return v
	}
	w, h := a.bodySize()
	var body string
	switch {
	case a.mode == modeHelp:
		body = a.helpView(w, h)
	case a.top() != nil:
		body = a.top().View(w, h)
	default:
		body = fit(a.env.styles.Dim.Render("loading…"), w, h)
	}
	v.SetContent(a.headerView() + "\n" + body + "\n" + a.statusView())
	v.WindowTitle = "qtc"
	return v
}

func (a *app) headerView() string {
	s := a.env.styles
	crumbs := []string{s.Crumb.Render("qtc")}
	if a.connector != "" {
		crumbs = append(crumbs, a.connector)
	}
	for _, sc := range a.stack {
		if c := sc.Crumb(); c != "" {
			crumbs = append(crumbs, c)
		}
	}
	left := strings.Join(crumbs, s.HeaderDim.Render(" ▸ "))
	var right []string
	if inf, ok := a.top().(informer); ok {
		i := inf.Info()
		if i.Type != "" {
			if i.Filtered >= 0 {
				right = append(right, fmt.Sprintf("%s of %s records", commas(i.Filtered), commas(i.Count)))
			} else {
				right = append(right, fmt.Sprintf("%s records", commas(i.Count)))
			}
		}
	}
	if p := a.env.syncs[a.connector]; p != nil && !p.done {
		right = append(right, "syncing…")
	} else if cs := a.connState; cs != nil {
		if cs.LastRun != nil {
			right = append(right, "synced "+ago(cs.LastRun.Start)+" "+stateBadge(s, cs.State))
		} else {
			right = append(right, stateBadge(s, cs.State))
		}
	}
	r := s.HeaderDim.Render(strings.Join(right, " · "))
	gap := a.width - lipgloss.Width(left) - lipgloss.Width(r)
	if gap < 1 {
		return ansi.Truncate(left+" "+r, a.width, "…")
	}
	return left + strings.Repeat(" ", gap) + r
}

func (a *app) statusView() string {
	s := a.env.styles
	if a.mode == modeCommand {
		return ansi.Truncate(a.cmdline.view(a.width), a.width, "…")
	}
	if a.status.text != "" && time.Since(a.statusAt) < 8*time.Second {
		if a.status.err {
			return ansi.Truncate(s.Error.Render("error: "+a.status.text), a.width, "…")
		}
		return ansi.Truncate(a.status.text, a.width, "…")
	}
	right := s.StatusKey.Render("?") + " " + s.Status.Render("help") + "  " +
		s.StatusKey.Render("q") + " " + s.Status.Render("quit")
	capturing := a.top() != nil && a.top().Capturing()
	if capturing {
		// Typing: the global hotkeys are text now.
		right = s.StatusKey.Render("ctrl+c") + " " + s.Status.Render("quit")
	}
	room := a.width - lipgloss.Width(right) - 2
	var parts []string
	used := 0
	if top := a.top(); top != nil {
		bindings := top.Keys()
		if !capturing {
			bindings = append(bindings, keys.Command)
		}
		for _, b := range bindings {
			h := b.Help()
			p := s.StatusKey.Render(h.Key) + " " + s.Status.Render(h.Desc)
			w := lipgloss.Width(p) + 2
			if used+w > room {
				break
			}
			parts = append(parts, p)
			used += w
		}
	}
	left := strings.Join(parts, "  ")
	return left + strings.Repeat(" ", max(a.width-lipgloss.Width(left)-lipgloss.Width(right), 1)) + right
}

// fit pads or cuts s to exactly w × h cells.
func fit(s string, w, h int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > h {
		lines = lines[:h]
	}
	for i, l := range lines {
		lw := ansi.StringWidth(l)
		if lw > w {
			l = ansi.Truncate(l, w, "…")
			lw = ansi.StringWidth(l)
		}
		lines[i] = l + strings.Repeat(" ", max(w-lw, 0))
	}
	for len(lines) < h {
		lines = append(lines, strings.Repeat(" ", w))
	}
	return strings.Join(lines, "\n")
}

func commas(n int) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return s
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func ago(t time.Time) string {
	d := time.Since(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	default:
		return fmt.Sprintf("%dd ago", int(d.Hours()/24))
	}
}

func stateBadge(s Styles, state string) string {
	switch state {
	case qsync.StateProcessed:
		return s.Good.Render("✓ " + state)
	case qsync.StateErrored, qsync.StatePartiallyProcessed:
		return s.Bad.Render("✗ " + state)
	default:
		return state
	}
}
