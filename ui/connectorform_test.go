package ui

import (
	"context"
	"strings"
	"testing"

	"qtc/api/sim"
	graphsim "qtc/api/sim/graph"
	qsync "qtc/sync"
)

func TestConnectorFormValidators(t *testing.T) {
	identity := &connectorForm{kind: qsync.KindEntra, taken: map[string]bool{"prod": true}, timezone: "Asia/Calcutta", schedKind: qsync.ScheduleRecurring, schedStart: "2030-05-04 15:26"}
	devices := &connectorForm{kind: qsync.KindEntraDevices, timezone: "UTC", schedKind: qsync.ScheduleDaily}
	editing := &connectorForm{kind: qsync.KindEntra, edit: true, secretSet: true, taken: map[string]bool{"prod": true}}
	tests := []struct {
		name  string
		check func(string) error
		value string
		want  string // "" = valid
	}{
		{"name ok", identity.validateName, "tenant-eu.1", ""},
		{"name taken", identity.validateName, "prod", "already exists"},
		{"name taken but editing it", editing.validateName, "prod", ""},
		{"name bad chars", identity.validateName, "my tenant", "letters, digits"},
		{"name empty", identity.validateName, "", "letters, digits"},
		{"identity description 180", identity.validateDescription, strings.Repeat("d", 180), ""},
		{"identity description 181", identity.validateDescription, strings.Repeat("d", 181), "at most 180"},
		{"devices description 164", devices.validateDescription, strings.Repeat("d", 164), ""},
		{"devices description 165", devices.validateDescription, strings.Repeat("d", 165), "at most 164"},
		{"tenant guid", validateTenant, "5f1c3a2e-7b4d-4e8a-9c61-2d0f8b7a6e13", ""},
		{"tenant domain", validateTenant, "contoso.onmicrosoft.com", ""},
		{"tenant junk", validateTenant, "contoso", "GUID"},
		{"client guid", validateClientID, "0d0e0f10-2222-4b4b-8c8c-abcdefabcdef", ""},
		{"client not guid", validateClientID, "my-app", "GUID"},
		{"secret required", identity.validateSecret, "", "required"},
		{"secret kept when editing", editing.validateSecret, "", ""},
		{"timezone ok", validateTimezone, "Asia/Calcutta", ""},
		{"timezone unknown", validateTimezone, "Mars/Olympus", "IANA"},
		{"timezone empty", validateTimezone, "", "IANA"},
		{"start ok", identity.validateStart, "2030-05-04 15:26", ""},
		{"start junk", identity.validateStart, "tomorrow", "YYYY-MM-DD HH:MM"},
		{"end after start", identity.validateEnd, "2030-06-01 00:00", ""},
		{"end before start", identity.validateEnd, "2030-05-04 15:00", "after the start"},
		{"end optional", identity.validateEnd, "", ""},
		{"every 24h", validateEvery, "24h", ""},
		{"every too short", validateEvery, "30m", "at least 1h"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.check(tt.value)
			if (tt.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%q: error %v, want %q", tt.value, err, tt.want)
			}
		})
	}
}

// TestConnectorWizardCreatesAfterTestConnection walks the identity flow
// against the Graph simulator: the form, Test Connection, then the save
// with its schedule confirmation.
func TestConnectorWizardCreatesAfterTestConnection(t *testing.T) {
	h, _ := newEntraHarness(t, 120, 50)
	conn, err := h.eng.Store.Connector(context.Background(), "e")
	if err != nil {
		t.Fatal(err)
	}
	def := graphsim.Defaults(graphsim.Options{})
	clear := func(n int) {
		for range n {
			h.keys("backspace")
		}
	}
	h.keys("C")
	h.contains("connectors", "NAME")
	h.keys("n")
	h.contains("Connector kind")
	h.keys("enter") // Entra ID — identities
	h.contains("Profile & Connectivity")
	h.typeText("tenant2")
	h.keys("enter")
	h.typeText("Contoso production tenant")
	h.keys("tab")
	h.typeText(def.TenantID)
	h.keys("enter")
	h.typeText(def.ClientID)
	h.keys("enter")
	h.typeText(def.ClientSecret)
	h.keys("enter", "enter") // secret, cloud
	h.typeText(conn.Settings[qsync.SettingLoginURL])
	h.keys("enter")
	h.typeText(conn.Settings[qsync.SettingGraphURL])
	h.keys("enter")
	h.contains("Scope & Schedule")
	h.keys("right", "right", "enter") // Recurring
	clear(20)
	h.typeText("2030-05-04 15:26")
	h.keys("enter", "enter", "enter") // start, end (none), every 24h
	clear(40)
	h.typeText("Asia/Calcutta")
	h.keys("enter")
	h.contains("Advanced Settings")
	h.keys("enter", "enter", "enter", "enter")
	h.contains("Review & Confirm", "tenant2", "Client Secret: •••••• (set)", "The sync is scheduled for May 04, 2030 03:26 PM in Asia/Calcutta timezone")
	if strings.Contains(h.screen(), def.ClientSecret) {
		t.Fatal("the review shows the secret")
	}
	h.keys("left", "enter") // Create
	h.contains("Test Connection", "all checks passed", "enter saves")
	h.keys("enter")
	h.contains("connector tenant2 created")
	saved, err := h.eng.Store.Connector(context.Background(), "tenant2")
	if err != nil {
		t.Fatal(err)
	}
	if saved.Settings[qsync.SettingDescription] != "Contoso production tenant" || saved.Settings[qsync.SettingScheduleTZ] != "Asia/Calcutta" {
		t.Errorf("saved settings %v", saved.Settings)
	}
}

// TestConnectorWizardKeyRotationNeedsAPassingTest: editing shows that a
// secret is set; a wrong new secret fails Test Connection and nothing is
// saved.
func TestConnectorWizardKeyRotationNeedsAPassingTest(t *testing.T) {
	h, _ := newEntraHarness(t, 120, 50)
	before, err := h.eng.Store.Connector(context.Background(), "e")
	if err != nil {
		t.Fatal(err)
	}
	h.keys("C")
	h.contains("connectors")
	h.keys("e")
	h.contains("Edit e", "a secret is set")
	h.keys("enter", "tab", "enter", "enter") // name, description, tenant, client id
	h.typeText("wrong-secret")
	h.keys("enter", "enter", "enter", "enter") // secret, cloud, login URL, graph URL
	h.contains("Scope & Schedule")
	h.keys("enter", "enter", "enter", "enter", "enter") // no schedule
	h.keys("enter", "enter", "enter", "enter")          // advanced
	h.contains("Review & Confirm", "Client Secret: •••••• (set)")
	h.keys("left", "enter")
	h.contains("Test Connection", "a check failed", "AADSTS7000215")
	h.keys("enter")
	h.contains("the Test Connection did not pass")
	after, err := h.eng.Store.Connector(context.Background(), "e")
	if err != nil {
		t.Fatal(err)
	}
	if after.Sealed[qsync.SealedClientSecret] != before.Sealed[qsync.SealedClientSecret] {
		t.Error("the secret changed although Test Connection failed")
	}
}

// TestConnectorWizardQualysOtherPlatform: a gateway and API server not in
// the platform list (here the simulator) — tested, then saved with both.
func TestConnectorWizardQualysOtherPlatform(t *testing.T) {
	h := newHarness(t, 120, 50)
	conn, err := h.eng.Store.Connector(context.Background(), "t")
	if err != nil {
		t.Fatal(err)
	}
	gw := conn.Settings[qsync.SettingGatewayURL]
	h.keys("C")
	h.contains("connectors")
	h.keys("n")
	h.contains("Connector kind")
	h.keys("down", "down", "enter") // Qualys TotalCloud account
	h.contains("Qualys account")
	h.typeText("q2")
	h.keys("enter")
	for range 13 { // past the 13 published platforms to "other"
		h.keys("down")
	}
	h.keys("enter")
	h.typeText(gw)
	h.keys("enter")
	h.typeText(gw)
	h.keys("enter")
	h.typeText("demo")
	h.keys("enter")
	h.typeText(sim.Defaults(sim.Options{}).Password)
	h.keys("enter")
	h.contains("Schedule")
	h.keys("enter", "enter", "enter", "enter", "enter") // not scheduled
	h.contains("Review & Confirm", "Platform: "+gw, "Password: •••••• (set)")
	h.keys("left", "enter")
	h.contains("Test Connection", "all checks passed", "authentication accepted by the API server", "hosts: 1")
	h.keys("enter")
	h.contains("connector q2 created")
	saved, err := h.eng.Store.Connector(context.Background(), "q2")
	if err != nil {
		t.Fatal(err)
	}
	if saved.Settings[qsync.SettingGatewayURL] != gw || saved.Settings[qsync.SettingAPIURL] != gw {
		t.Errorf("saved settings %v", saved.Settings)
	}
}
