package ui

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/huh/v2"

	"qtc/api/qualys"
	"qtc/store"
	qsync "qtc/sync"
)

// connectorForm is the guided set-up of a connector, one flow per kind, as
// the seeds lay it out: Entra ID identity (seed 003: Profile & Connectivity
// → Scope & Schedule with Advanced Settings → Review & Confirm), Entra ID
// devices (seed 002: Profile & Connection → Scope & Schedule) and a
// Qualys account. Every field is validated as it is typed; the review
// states the resolved next run; Create runs the five-step Test Connection
// and saves only when it passes.
type connectorForm struct {
	env  *env
	kind string
	edit bool // editing an existing connector (its name is fixed)
	// taken names, for the uniqueness check (creating only).
	taken map[string]bool

	// Fields bound to the form.
	name, description, tenant, clientID, secret string
	cloud, scope, baseline                      string
	retainDelta, manual                         bool
	assetTags                                   string
	platform, gatewayURL, username, password    string
	loginURL, graphURL                          string // custom endpoints (a simulator, a proxy)
	apiURL                                      string // Qualys API server, for a platform not listed
	schedKind, schedStart, schedEnd, schedEvery string
	timezone                                    string
	secretSet                                   bool // editing: a secret is stored (empty field keeps it)

	pickKind string // creating without a kind: the first step chooses it
	// The stored configuration being edited (fields the form does not
	// show, such as custom endpoints, are kept).
	baseEntra  qsync.EntraConnector
	baseQualys qsync.QualysConnector
	form       *huh.Form
	confirmed  bool
	err        error
	width      int
	height     int
}

// Field limits of the seeds.
const (
	identityDescriptionMax = 180 // seed 003
	devicesDescriptionMax  = 164 // seed 002
	scheduleLayout         = "2006-01-02 15:04"
)

func newConnectorForm(e *env, kind string, taken map[string]bool) *connectorForm {
	now := time.Now()
	f := &connectorForm{env: e, kind: kind, taken: taken, width: 80,
		cloud: "global", scope: "identities", baseline: "weekly", platform: "US1",
		schedKind: qsync.ScheduleNone, schedEvery: "24h", timezone: localZone(),
		schedStart: now.Add(time.Hour).Truncate(time.Hour).Format(scheduleLayout)}
	f.setKind(kind)
	f.form = f.build()
	return f
}

// setKind picks the flow (and its defaults).
func (f *connectorForm) setKind(kind string) {
	f.kind = kind
	if kind == qsync.KindEntraDevices {
		// Seed 002: Occurs Daily from a start date-time, for 5 years.
		f.schedKind = qsync.ScheduleDaily
	}
}

// localZone is the machine's IANA zone name when it has one, else UTC.
func localZone() string {
	if n := time.Local.String(); n != "" && n != "Local" {
		if _, err := time.LoadLocation(n); err == nil {
			return n
		}
	}
	return "UTC"
}

// Validators (shared with the tests).

func (f *connectorForm) validateName(s string) error {
	if err := qsync.ValidateName(strings.TrimSpace(s)); err != nil {
		return errors.New("use 1–64 letters, digits, '.', '_' or '-', starting with a letter or digit")
	}
	if !f.edit && f.taken[strings.TrimSpace(s)] {
		return fmt.Errorf("a connector named %s already exists", strings.TrimSpace(s))
	}
	return nil
}

func (f *connectorForm) descriptionMax() int {
	if f.kind == qsync.KindEntraDevices {
		return devicesDescriptionMax
	}
	return identityDescriptionMax
}

func (f *connectorForm) validateDescription(s string) error {
	if n := len([]rune(s)); n > f.descriptionMax() {
		return fmt.Errorf("%d characters; at most %d", n, f.descriptionMax())
	}
	return nil
}

func validateTenant(s string) error {
	if !qsync.ValidTenantID(strings.TrimSpace(s)) {
		return errors.New("a GUID (Directory (tenant) ID) or a verified domain")
	}
	return nil
}

func validateClientID(s string) error {
	if !qsync.ValidClientID(strings.TrimSpace(s)) {
		return errors.New("a GUID (Application (client) ID)")
	}
	return nil
}

func (f *connectorForm) validateSecret(s string) error {
	if s == "" && !f.secretSet {
		return errors.New("required")
	}
	return nil
}

func validateTimezone(s string) error {
	if _, err := time.LoadLocation(strings.TrimSpace(s)); err != nil || strings.TrimSpace(s) == "" {
		return errors.New("not a timezone: use an IANA name like Europe/Paris or Asia/Calcutta")
	}
	return nil
}

func (f *connectorForm) validateStart(s string) error {
	if f.schedKind == qsync.ScheduleNone {
		return nil
	}
	if _, err := f.parseWall(s); err != nil {
		return fmt.Errorf("use %s", strings.ReplaceAll(scheduleLayout, "2006-01-02 15:04", "YYYY-MM-DD HH:MM"))
	}
	return nil
}

func (f *connectorForm) validateEnd(s string) error {
	if f.schedKind == qsync.ScheduleNone || f.schedKind == qsync.ScheduleOnce || strings.TrimSpace(s) == "" {
		return nil
	}
	end, err := f.parseWall(s)
	if err != nil {
		return errors.New("use YYYY-MM-DD HH:MM, or leave empty")
	}
	if start, err := f.parseWall(f.schedStart); err == nil && !end.After(start) {
		return errors.New("must be after the start")
	}
	return nil
}

func validateEvery(s string) error {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil || d < time.Hour {
		return errors.New("a duration of at least 1h, e.g. 24h or 12h")
	}
	return nil
}

// parseWall reads a wall time in the form's timezone.
func (f *connectorForm) parseWall(s string) (time.Time, error) {
	loc, err := time.LoadLocation(strings.TrimSpace(f.timezone))
	if err != nil {
		loc = time.UTC
	}
	return time.ParseInLocation(scheduleLayout, strings.TrimSpace(s), loc)
}

// schedule is the form's schedule.
func (f *connectorForm) schedule() (qsync.Schedule, error) {
	if f.schedKind == qsync.ScheduleNone {
		return qsync.Schedule{}, nil
	}
	every := f.schedEvery
	if f.schedKind != qsync.ScheduleRecurring {
		every = ""
	}
	end := f.schedEnd
	if f.schedKind == qsync.ScheduleOnce {
		end = ""
	}
	return qsync.ParseSchedule(f.schedKind, f.schedStart, end, every, f.timezone)
}

func (f *connectorForm) build() *huh.Form {
	f.confirmed = false
	if f.kind == "" {
		f.pickKind = qsync.KindEntra
		form := huh.NewForm(huh.NewGroup(
			huh.NewSelect[string]().Title("Connector kind").Options(
				huh.NewOption("Entra ID — identities (users, groups, roles; seed 003)", qsync.KindEntra),
				huh.NewOption("Entra ID — devices (host assets; seed 002)", qsync.KindEntraDevices),
				huh.NewOption("Qualys TotalCloud account", qsync.KindQualys)).Value(&f.pickKind),
		)).WithShowHelp(true).WithWidth(min(f.width, 100))
		form.SubmitCmd = func() tea.Msg { return formSubmitMsg{} }
		form.CancelCmd = func() tea.Msg { return formCancelMsg{} }
		return form
	}
	var groups []*huh.Group
	nameField := huh.NewInput().Title("Name").Description("unique; letters, digits, . _ -").Value(&f.name).CharLimit(64).Validate(f.validateName)
	secretDesc := "masked; stored encrypted"
	if f.secretSet {
		secretDesc = "a secret is set — leave empty to keep it, or type a new one (Key Rotation)"
	}
	switch f.kind {
	case qsync.KindQualys:
		platforms := []huh.Option[string]{}
		for _, p := range qualys.Platforms {
			platforms = append(platforms, huh.NewOption(p.ID+"  "+strings.TrimPrefix(p.Gateway, "https://"), p.ID))
		}
		platforms = append(platforms, huh.NewOption("other: give the gateway URL", ""))
		groups = append(groups,
			huh.NewGroup(
				nameField,
				huh.NewSelect[string]().Title("Platform").Options(platforms...).Value(&f.platform).Height(8),
				huh.NewInput().Title("Gateway URL").Description("only for a platform not listed, e.g. https://gateway.qg1.apps.qualys.com").Value(&f.gatewayURL).
					Validate(func(s string) error {
						if f.platform == "" && !strings.HasPrefix(strings.TrimSpace(s), "http") {
							return errors.New("an https:// URL")
						}
						return nil
					}),
				huh.NewInput().Title("API server URL").Description("only for a platform not listed: host assets and CVEs (seed 004), e.g. https://qualysapi.qualys.com").Value(&f.apiURL).
					Validate(func(s string) error {
						if s = strings.TrimSpace(s); s != "" && !strings.HasPrefix(s, "http") {
							return errors.New("an https:// URL, or empty")
						}
						return nil
					}),
				huh.NewInput().Title("Username").Value(&f.username).Validate(func(s string) error {
					if strings.TrimSpace(s) == "" {
						return errors.New("required")
					}
					return nil
				}),
				huh.NewInput().Title("Password").Description(secretDesc).EchoMode(huh.EchoModePassword).Value(&f.password).Validate(f.validateSecret),
			).Title("Qualys account"),
			f.scheduleGroup("Schedule"),
		)
	case qsync.KindEntraDevices:
		groups = append(groups,
			huh.NewGroup(
				nameField,
				huh.NewText().Title("Description").Description(fmt.Sprintf("at most %d characters", devicesDescriptionMax)).Value(&f.description).CharLimit(devicesDescriptionMax).Lines(2).Validate(f.validateDescription),
				huh.NewInput().Title("Qualys asset tags to include").Description("optional, comma-separated").Value(&f.assetTags),
				huh.NewInput().Title("Tenant ID").Value(&f.tenant).Validate(validateTenant),
				huh.NewInput().Title("Client ID").Value(&f.clientID).Validate(validateClientID),
				huh.NewInput().Title("Client Secret").Description(secretDesc).EchoMode(huh.EchoModePassword).Value(&f.secret).Validate(f.validateSecret),
				f.loginURLField(), f.graphURLField(),
			).Title("Profile & Connection"),
			huh.NewGroup(
				huh.NewNote().Title("Assets").Description("Host Assets (Entra ID devices, Device.Read.All)"),
				huh.NewSelect[string]().Inline(true).Title("Occurs").Options(huh.NewOption("Daily", qsync.ScheduleDaily), huh.NewOption("Not scheduled", qsync.ScheduleNone)).Value(&f.schedKind),
				huh.NewInput().Title("Start").Description("YYYY-MM-DD HH:MM in the timezone below; runs daily for 5 years").Value(&f.schedStart).Validate(f.validateStart),
				huh.NewInput().Title("Timezone").Description("IANA name, e.g. Europe/Paris").Value(&f.timezone).Validate(validateTimezone),
			).Title("Scope & Schedule"),
		)
	default: // identity
		groups = append(groups,
			huh.NewGroup(
				nameField,
				huh.NewText().Title("Description").Description(fmt.Sprintf("at most %d characters", identityDescriptionMax)).Value(&f.description).CharLimit(identityDescriptionMax).Lines(2).Validate(f.validateDescription),
				huh.NewInput().Title("Tenant").Description("Directory (tenant) ID or a verified domain").Value(&f.tenant).Validate(validateTenant),
				huh.NewInput().Title("Client Id").Description("Application (client) ID").Value(&f.clientID).Validate(validateClientID),
				huh.NewInput().Title("Client Secret").Description(secretDesc).EchoMode(huh.EchoModePassword).Value(&f.secret).Validate(f.validateSecret),
				huh.NewSelect[string]().Inline(true).Title("Cloud").Options(options([]string{"global", "usgov", "china"})...).Value(&f.cloud),
				f.loginURLField(), f.graphURLField(),
			).Title("Profile & Connectivity"),
			f.scheduleGroup("Scope & Schedule"),
			huh.NewGroup(
				huh.NewSelect[string]().Inline(true).Title("Baseline Schedule").Options(options([]string{"weekly", "fortnightly", "triweekly", "monthly"})...).Value(&f.baseline),
				huh.NewConfirm().Title("Retain Previously Ingested Delta").Value(&f.retainDelta),
				huh.NewSelect[string]().Inline(true).Title("Asset Types").Options(huh.NewOption("Identities Only", "identities"), huh.NewOption("Identities with Security Posture", "posture")).Value(&f.scope),
				huh.NewConfirm().Title("Require Manual Sync").Value(&f.manual),
			).Title("Advanced Settings"),
		)
	}
	verb := "Create"
	if f.edit {
		verb = "Save"
	}
	groups = append(groups, huh.NewGroup(
		huh.NewNote().Title("Review & Confirm").DescriptionFunc(f.summary, f),
		huh.NewConfirm().Title(verb+" after Test Connection passes?").Affirmative(verb).Negative("Back").Value(&f.confirmed),
	))
	form := huh.NewForm(groups...).WithShowHelp(true).WithWidth(min(f.width, 100))
	if f.height > 0 {
		form = form.WithHeight(f.height)
	}
	form.SubmitCmd = func() tea.Msg { return formSubmitMsg{} }
	form.CancelCmd = func() tea.Msg { return formCancelMsg{} }
	return form
}

// Custom endpoints (optional): a simulator (qtc sim) or a proxy in front of
// the cloud's login and Graph hosts. Both or neither.
func (f *connectorForm) loginURLField() huh.Field {
	return huh.NewInput().Title("Login URL (optional)").Description("custom token authority, e.g. qtc sim's; empty: the cloud's").Value(&f.loginURL).Validate(f.validateEndpoint())
}

func (f *connectorForm) graphURLField() huh.Field {
	return huh.NewInput().Title("Graph URL (optional)").Description("custom Microsoft Graph URL; empty: the cloud's").Value(&f.graphURL).Validate(f.validateEndpoint())
}

// validateEndpoint checks one custom URL; that both are given is checked
// on submit (the connector's own validation).
func (f *connectorForm) validateEndpoint() func(string) error {
	return func(s string) error {
		s = strings.TrimSpace(s)
		if s != "" && !strings.HasPrefix(s, "https://") && !strings.HasPrefix(s, "http://") {
			return errors.New("an http(s):// URL")
		}
		return nil
	}
}

// scheduleGroup is the schedule step of the identity and Qualys flows.
func (f *connectorForm) scheduleGroup(title string) *huh.Group {
	return huh.NewGroup(
		huh.NewSelect[string]().Inline(true).Title("Schedule").Options(
			huh.NewOption("None", qsync.ScheduleNone), huh.NewOption("Single Occurrence", qsync.ScheduleOnce),
			huh.NewOption("Recurring", qsync.ScheduleRecurring)).Value(&f.schedKind),
		huh.NewInput().Title("Start").Description("YYYY-MM-DD HH:MM in the timezone below").Value(&f.schedStart).Validate(f.validateStart),
		huh.NewInput().Title("End").Description("recurring: last run, optional").Value(&f.schedEnd).Validate(f.validateEnd),
		huh.NewInput().Title("Every").Description("recurring: interval, e.g. 24h").Value(&f.schedEvery).Validate(validateEvery),
		huh.NewInput().Title("Timezone").Description("IANA name, e.g. Asia/Calcutta").Value(&f.timezone).Validate(validateTimezone),
	).Title(title)
}

// summary is the review: every value but the secret, and the next run.
func (f *connectorForm) summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Name: %s   Kind: %s\n", f.name, f.kind)
	if f.description != "" {
		fmt.Fprintf(&b, "Description: %s\n", f.description)
	}
	switch f.kind {
	case qsync.KindQualys:
		where := f.platform
		if where == "" {
			where = f.gatewayURL
		}
		fmt.Fprintf(&b, "Platform: %s   Username: %s   Password: %s\n", where, f.username, maskedSet(f.password != "" || f.secretSet))
	default:
		fmt.Fprintf(&b, "Tenant: %s   Client Id: %s   Client Secret: %s\n", f.tenant, f.clientID, maskedSet(f.secret != "" || f.secretSet))
	}
	if f.kind == qsync.KindEntra {
		scope := map[string]string{"identities": "Identities Only", "posture": "Identities with Security Posture"}[f.scope]
		fmt.Fprintf(&b, "Asset Types: %s   Baseline: %s   Retain delta: %s   Manual sync: %s\n", scope, f.baseline, yesNo(f.retainDelta), yesNo(f.manual))
	}
	if f.kind == qsync.KindEntraDevices && f.assetTags != "" {
		fmt.Fprintf(&b, "Asset tags: %s\n", f.assetTags)
	}
	b.WriteString(f.scheduleLine(time.Now()))
	return b.String()
}

// scheduleLine states the resolved next run (seed wording) or why not.
func (f *connectorForm) scheduleLine(now time.Time) string {
	s, err := f.schedule()
	switch {
	case err != nil:
		return "Schedule: " + err.Error()
	case s.Kind == qsync.ScheduleNone:
		return "Not scheduled: sync with ctrl+r or qtc sync."
	}
	next, ok := s.Next(now)
	if !ok {
		return "Schedule: no run ahead (the start or end is in the past)."
	}
	return s.Describe(next)
}

func maskedSet(set bool) string {
	if set {
		return "•••••• (set)"
	}
	return "(not set)"
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func (f *connectorForm) Init() tea.Cmd { return f.form.Init() }

func (f *connectorForm) Update(msg tea.Msg) (Screen, tea.Cmd) {
	switch msg := msg.(type) {
	case sizeMsg:
		f.width, f.height = msg.Width, max(msg.Height-2, 10)
		f.form = f.form.WithWidth(min(msg.Width, 100)).WithHeight(f.height)
		return f, nil
	case formCancelMsg:
		return f, pop
	case testFailedMsg:
		f.err = errors.New("the Test Connection did not pass: fix what the step marked ✗ says, then confirm again")
		f.form = f.build()
		return f, f.form.Init()
	case connectorSavedMsg:
		if msg.err != nil {
			f.err = msg.err
			f.form = f.build()
			return f, f.form.Init()
		}
		verb := "created"
		if f.edit {
			verb = "saved"
		}
		text := fmt.Sprintf("connector %s %s", msg.name, verb)
		if msg.schedule != "" {
			text += " · " + msg.schedule
		}
		return f, tea.Batch(pop, status(text), func() tea.Msg { return storeChangedMsg{connector: msg.name} })
	case tea.KeyPressMsg:
		if msg.String() == "esc" {
			return f, pop
		}
	case formSubmitMsg:
		if f.kind == "" {
			f.setKind(f.pickKind)
			f.form = f.build()
			return f, f.form.Init()
		}
		if !f.confirmed {
			f.form = f.build()
			return f, f.form.Init()
		}
		return f, f.submit()
	}
	m, cmd := f.form.Update(msg)
	if hf, ok := m.(*huh.Form); ok {
		f.form = hf
	}
	return f, cmd
}

func (f *connectorForm) View(width, height int) string {
	st := f.env.styles
	title := map[string]string{"": "connector", qsync.KindQualys: "Qualys account", qsync.KindEntra: "Entra ID identity connector", qsync.KindEntraDevices: "Entra ID devices connector"}[f.kind]
	if f.edit {
		title = "Edit " + f.name + " — " + title
	} else {
		title = "New " + title
	}
	head := st.Title.Render(title)
	if f.err != nil {
		head += "\n" + st.Error.Render("error: "+f.err.Error())
	}
	return fit(head+"\n"+f.form.View(), width, height)
}

func (f *connectorForm) Crumb() string {
	if f.edit {
		return "edit " + f.name
	}
	return "new connector"
}

func (f *connectorForm) Keys() []key.Binding {
	return []key.Binding{
		key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "next field")),
		key.NewBinding(key.WithKeys("shift+tab"), key.WithHelp("shift+tab", "previous")),
		key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel")),
	}
}

// Capturing: the form takes every key.
func (f *connectorForm) Capturing() bool { return true }

// connectorSavedMsg reports the outcome of saving after the test passed.
type connectorSavedMsg struct {
	name, schedule string
	err            error
}

// testFailedMsg: Test Connection did not pass; the form stays.
type testFailedMsg struct{}

// newConnectorEditForm re-uses the flow with a stored connector's values;
// its secret shows as set without being shown.
func newConnectorEditForm(e *env, conn store.Connector) (*connectorForm, error) {
	f := &connectorForm{env: e, kind: conn.Kind, edit: true, width: 80, secretSet: true,
		cloud: "global", scope: "identities", baseline: "weekly", schedEvery: "24h", timezone: localZone(),
		schedStart: time.Now().Add(time.Hour).Truncate(time.Hour).Format(scheduleLayout)}
	var sched qsync.Schedule
	switch conn.Kind {
	case qsync.KindQualys:
		q, err := qsync.QualysConnectorOf(conn)
		if err != nil {
			return nil, err
		}
		f.baseQualys = q
		f.name, f.description, f.username, f.gatewayURL, f.apiURL = q.Name, q.Description, q.Username, q.GatewayURL, q.APIURL
		f.baseline = orDefault(q.Baseline, "weekly")
		for _, p := range qualys.Platforms {
			if p.Gateway == strings.TrimRight(q.GatewayURL, "/") {
				f.platform, f.gatewayURL, f.apiURL = p.ID, "", ""
			}
		}
		sched = q.Schedule
	case qsync.KindEntra, qsync.KindEntraDevices:
		c, err := qsync.EntraConnectorOf(conn)
		if err != nil {
			return nil, err
		}
		f.baseEntra = c
		f.name, f.description, f.tenant, f.clientID = c.Name, c.Description, c.TenantID, c.ClientID
		f.cloud, f.scope, f.baseline = orDefault(c.Cloud, "global"), orDefault(c.Scope, "identities"), orDefault(c.Baseline, "weekly")
		f.retainDelta, f.manual, f.assetTags = c.RetainDelta, c.Manual, strings.Join(c.AssetTags, ", ")
		f.loginURL, f.graphURL = c.LoginURL, c.GraphURL
		sched = c.Schedule
	default:
		return nil, fmt.Errorf("connector %s: kind %s has no set-up flow", conn.Name, conn.Kind)
	}
	f.schedKind = sched.Kind
	if sched.Kind != qsync.ScheduleNone {
		f.timezone = orDefault(sched.Timezone, "UTC")
		f.schedStart = sched.FormatWallTime(sched.Start)
		if !sched.End.IsZero() && sched.Kind == qsync.ScheduleRecurring {
			f.schedEnd = sched.FormatWallTime(sched.End)
		}
		if sched.Every > 0 {
			f.schedEvery = sched.Every.String()
		}
	}
	f.form = f.build()
	return f, nil
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// connector builds what will be saved from the form's values (over the
// stored configuration when editing).
func (f *connectorForm) connector() (qsync.UnsavedConnector, error) {
	sched, err := f.schedule()
	if err != nil {
		return nil, err
	}
	if f.kind == qsync.KindQualys {
		q := f.baseQualys
		q.Name, q.Description, q.Username, q.Password = strings.TrimSpace(f.name), f.description, strings.TrimSpace(f.username), f.password
		q.Platform, q.APIURL, q.GatewayURL = f.platform, "", ""
		if f.platform == "" {
			q.GatewayURL, q.APIURL = strings.TrimSpace(f.gatewayURL), strings.TrimSpace(f.apiURL)
		}
		q.Baseline, q.Schedule = f.baseline, sched
		if err := q.Resolve(); err != nil {
			return nil, err
		}
		return q, nil
	}
	c := f.baseEntra
	c.Kind, c.Name, c.Description = f.kind, strings.TrimSpace(f.name), f.description
	c.TenantID, c.ClientID, c.ClientSecret = strings.TrimSpace(f.tenant), strings.TrimSpace(f.clientID), f.secret
	c.LoginURL, c.GraphURL = strings.TrimSpace(f.loginURL), strings.TrimSpace(f.graphURL)
	c.Schedule = sched
	if f.kind == qsync.KindEntra {
		c.Cloud, c.Scope, c.Baseline, c.RetainDelta, c.Manual = f.cloud, f.scope, f.baseline, f.retainDelta, f.manual
	} else {
		c.AssetTags = qsync.ParseAssetTags(f.assetTags)
	}
	return c, nil
}

// submit runs Test Connection on the values; only when every step passes
// is the connector saved (creating, editing, or rotating its secret).
func (f *connectorForm) submit() tea.Cmd {
	c, err := f.connector()
	if err == nil {
		err = validateUnsaved(c, f.edit)
	}
	if err != nil {
		f.err = err
		f.form = f.build()
		return f.form.Init()
	}
	f.err = nil
	e, edit := f.env, f.edit
	return push(newTestConnScreenFor(e, c, func(passed bool, _ []qsync.StepResult) tea.Cmd {
		if !passed {
			return func() tea.Msg { return testFailedMsg{} }
		}
		return func() tea.Msg { return saveConnector(e, c, edit) }
	}))
}

// validateUnsaved checks the whole connector (an empty secret is the
// stored one when editing).
func validateUnsaved(c qsync.UnsavedConnector, edit bool) error {
	switch v := c.(type) {
	case qsync.QualysConnector:
		if edit && v.Password == "" {
			v.Password = "kept"
		}
		return v.Validate()
	case qsync.EntraConnector:
		if edit && v.ClientSecret == "" {
			v.ClientSecret = "kept"
		}
		return v.Validate()
	}
	return nil
}

// saveConnector stores a tested connector and states its next run.
func saveConnector(e *env, c qsync.UnsavedConnector, edit bool) connectorSavedMsg {
	var (
		conn  store.Connector
		err   error
		sched qsync.Schedule
	)
	switch v := c.(type) {
	case qsync.QualysConnector:
		sched = v.Schedule
		if edit {
			conn, err = e.engine.UpdateQualys(e.ctx, v)
		} else {
			conn, err = e.engine.SaveQualys(e.ctx, v)
		}
	case qsync.EntraConnector:
		sched = v.Schedule
		if edit {
			conn, err = e.engine.UpdateEntra(e.ctx, v)
		} else {
			conn, err = e.engine.SaveEntra(e.ctx, v)
		}
	}
	msg := connectorSavedMsg{name: conn.Name, err: err}
	if err == nil && sched.Kind != qsync.ScheduleNone {
		if next, ok := sched.Next(time.Now()); ok {
			msg.schedule = sched.Describe(next)
		}
	}
	return msg
}
