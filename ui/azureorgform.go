package ui

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/huh/v2"

	"qtc/api/qualys"
	"qtc/store"
)

// azureOrgForm creates an Azure tenant connector through the Qualys
// connectors API (seed 001): every mandatory field enforced as you type,
// the optional ones offered with their meaning, a review, then the call.
// The secret is masked and never shown again.
type azureOrgForm struct {
	env       *env
	conn      string
	in        qualys.AzureOrgConnectorInput
	apps      []string
	switches  []string
	orgFreq   string
	connFreq  string
	included  string
	excluded  string
	tags      string
	confirmed bool
	form      *huh.Form
	err       error
	sending   bool
}

type azureOrgSavedMsg struct {
	rec store.Record
	err error
}

// The optional switches of seed 001, with their meaning.
var orgSwitches = []struct{ key, label string }{
	{"newsubs", "Create connectors for new subscriptions automatically"},
	{"disable", "Disable connectors of deleted management groups"},
	{"remediation", "Enable remediation"},
	{"vm", "Auto-activate Vulnerability Management"},
	{"pc", "Auto-activate Policy Compliance"},
	{"sca", "Auto-activate Security Configuration Assessment"},
	{"certview", "Auto-activate CertView"},
	{"cv", "Auto-activate CloudView"},
}

var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func validateGUID(s string) error {
	if !guidRE.MatchString(strings.TrimSpace(s)) {
		return errors.New("must be a GUID like 8f2a…-…-…-…-…")
	}
	return nil
}

func validateRequired(field string) func(string) error {
	return func(s string) error {
		if strings.TrimSpace(s) == "" {
			return errors.New(field + " is required")
		}
		return nil
	}
}

func validatePrefix(s string) error {
	switch {
	case strings.TrimSpace(s) == "":
		return errors.New("connector prefix is required")
	case len([]rune(s)) > 30:
		return fmt.Errorf("%d characters; at most 30", len([]rune(s)))
	}
	return nil
}

// parseFrequency reads "1h", "1h30m", "45m" into {hours, minutes}.
func parseFrequency(s string) (qualys.RunFrequency, error) {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil || d < time.Minute || d%time.Minute != 0 {
		return qualys.RunFrequency{}, errors.New("use hours and minutes like 1h, 4h30m or 45m")
	}
	return qualys.RunFrequency{Hours: int(d / time.Hour), Minutes: int(d % time.Hour / time.Minute)}, nil
}

func validateFrequency(s string) error {
	_, err := parseFrequency(s)
	return err
}

func newAzureOrgForm(e *env, conn string) *azureOrgForm {
	f := &azureOrgForm{env: e, conn: conn, apps: []string{"AI"}, orgFreq: "1h", connFreq: "1h"}
	f.form = f.build()
	return f
}

func (f *azureOrgForm) build() *huh.Form {
	f.confirmed = false
	var sw []huh.Option[string]
	for _, s := range orgSwitches {
		sw = append(sw, huh.NewOption(s.label, s.key))
	}
	form := huh.NewForm(
		huh.NewGroup(
			huh.NewInput().Title("Name").Description("unique name of the tenant connector").Value(&f.in.Name).Validate(validateRequired("name")),
			huh.NewInput().Title("Description").Value(&f.in.Description),
			huh.NewInput().Title("Tenant name").Description("the Azure tenant's name").Value(&f.in.TenantName).Validate(validateRequired("tenant name")),
			huh.NewInput().Title("Tenant ID").Description("Directory (tenant) ID").Value(&f.in.TenantID).Validate(validateGUID),
			huh.NewInput().Title("Application ID").Description("Application (client) ID of the app registration").Value(&f.in.ApplicationID).Validate(validateGUID),
			huh.NewInput().Title("Secret value").Description("the client secret's value (not its ID); never shown again").EchoMode(huh.EchoModePassword).Value(&f.in.SecretValue).Validate(validateRequired("secret value")),
		).Title("Tenant and credentials"),
		huh.NewGroup(
			huh.NewMultiSelect[string]().Title("Applications").Description("Qualys apps for the member connectors").
				Options(huh.NewOption("AI (Asset Inventory)", "AI"), huh.NewOption("CI (Cloud Inventory)", "CI"), huh.NewOption("CSA (Cloud Security Assessment)", "CSA")).
				Value(&f.apps).Validate(func(v []string) error {
				if len(v) == 0 {
					return errors.New("choose at least one application")
				}
				return nil
			}),
			huh.NewInput().Title("Connector prefix").Description("prefix of member connector names; at most 30 characters; cannot be edited later").Value(&f.in.ConnectorPrefixName).CharLimit(30).Validate(validatePrefix),
			huh.NewInput().Title("Tenant run frequency").Description("how often the tenant connector polls, e.g. 1h or 4h30m").Value(&f.orgFreq).Validate(validateFrequency),
			huh.NewInput().Title("Connector run frequency").Description("how often each member connector polls").Value(&f.connFreq).Validate(validateFrequency),
		).Title("Scope and schedule"),
		huh.NewGroup(
			huh.NewInput().Title("Included management groups").Description("comma-separated; empty = all").Value(&f.included),
			huh.NewInput().Title("Excluded management groups").Description("comma-separated").Value(&f.excluded),
			huh.NewInput().Title("Default tag IDs").Description("comma-separated tag IDs for cloud resources").Value(&f.tags),
			huh.NewMultiSelect[string]().Title("Options").Options(sw...).Value(&f.switches),
		).Title("Optional"),
		huh.NewGroup(
			huh.NewNote().Title("Review").DescriptionFunc(f.summary, f),
			huh.NewConfirm().Title("Create this tenant connector?").Affirmative("Create").Negative("Back").Value(&f.confirmed),
		),
	).WithShowHelp(true)
	form.SubmitCmd = func() tea.Msg { return formSubmitMsg{} }
	form.CancelCmd = func() tea.Msg { return formCancelMsg{} }
	return form
}

// input assembles the request body from the form's values.
func (f *azureOrgForm) input() (qualys.AzureOrgConnectorInput, error) {
	in := f.in
	in.ConnectorAppInfos = nil
	for _, a := range f.apps {
		in.ConnectorAppInfos = append(in.ConnectorAppInfos, qualys.ConnectorAppInfo{Name: a})
	}
	var err error
	if in.OrgRunFrequency, err = parseFrequency(f.orgFreq); err != nil {
		return in, fmt.Errorf("orgRunFrequency: %w", err)
	}
	if in.ConnectorRunFrequency, err = parseFrequency(f.connFreq); err != nil {
		return in, fmt.Errorf("connectorRunFrequency: %w", err)
	}
	in.IncludedMem, in.ExcludedMem, in.DefaultTagIDs = splitCSV(f.included), splitCSV(f.excluded), splitCSV(f.tags)
	on := map[string]bool{}
	for _, s := range f.switches {
		on[s] = true
	}
	in.IsCreateConnectorForNewSubscriptionsAutomatically = on["newsubs"]
	in.IsDisableConnectorsForDeletedManagementGroups = on["disable"]
	in.IsRemediationEnabled = on["remediation"]
	in.AutoActivateVM, in.AutoActivatePC, in.AutoActivateSCA = on["vm"], on["pc"], on["sca"]
	in.AutoActivateCertView, in.AutoActivateCV = on["certview"], on["cv"]
	return in, in.Validate()
}

func splitCSV(s string) []string {
	out := []string{}
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func (f *azureOrgForm) summary() string {
	in, err := f.input()
	var b strings.Builder
	fmt.Fprintf(&b, "%s (tenant %s, %s)\napp %s, secret %s\napps %s, prefix %q\nruns every %s (tenant) / %s (connectors)",
		in.Name, in.TenantName, in.TenantID, in.ApplicationID, strings.Repeat("•", 8),
		strings.Join(f.apps, ", "), in.ConnectorPrefixName, f.orgFreq, f.connFreq)
	if err != nil {
		fmt.Fprintf(&b, "\n\n! %v", err)
	}
	return b.String()
}

func (f *azureOrgForm) Init() tea.Cmd { return f.form.Init() }

func (f *azureOrgForm) Update(msg tea.Msg) (Screen, tea.Cmd) {
	switch msg := msg.(type) {
	case sizeMsg:
		f.form = f.form.WithWidth(min(msg.Width, 100)).WithHeight(max(msg.Height-2, 10))
		return f, nil
	case formCancelMsg:
		return f, pop
	case tea.KeyPressMsg:
		if msg.String() == "esc" && !f.sending {
			return f, pop
		}
	case formSubmitMsg:
		in, err := f.input()
		if !f.confirmed || err != nil {
			f.err = err
			f.form = f.build()
			return f, f.form.Init()
		}
		f.sending = true
		e, conn := f.env, f.conn
		return f, func() tea.Msg {
			rec, err := e.engine.CreateAzureOrg(e.ctx, conn, in)
			return azureOrgSavedMsg{rec: rec, err: err}
		}
	case azureOrgSavedMsg:
		f.sending = false
		if msg.err != nil {
			f.err = msg.err // the server's refusal, verbatim
			f.form = f.build()
			return f, f.form.Init()
		}
		var out qualys.AzureOrgConnector
		_ = json.Unmarshal(msg.rec.Raw, &out)
		text := fmt.Sprintf("tenant connector %q created: state %s, uuid %s, next sync %s", out.Name, out.State, out.UUID, out.NextSync)
		if out.LastError != nil {
			text += ", last error: " + *out.LastError
		}
		conn := f.conn
		return f, tea.Batch(pop, status(text), func() tea.Msg { return storeChangedMsg{connector: conn} })
	}
	m, cmd := f.form.Update(msg)
	if hf, ok := m.(*huh.Form); ok {
		f.form = hf
	}
	return f, cmd
}

func (f *azureOrgForm) View(width, height int) string {
	st := f.env.styles
	head := st.Title.Render("New Azure tenant connector") + st.Dim.Render("  via "+f.conn+" · POST /connectors/v1.0/org/azure/")
	if f.err != nil {
		head += "\n" + st.Error.Render("error: "+f.err.Error())
	}
	if f.sending {
		head += "\n" + st.Dim.Render("sending…")
	}
	return fit(head+"\n"+f.form.View(), width, height)
}

func (f *azureOrgForm) Crumb() string { return "new tenant connector" }
func (f *azureOrgForm) Keys() []key.Binding {
	return []key.Binding{
		key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "next field")),
		key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel")),
	}
}
func (f *azureOrgForm) Capturing() bool { return true }
