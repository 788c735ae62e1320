package qualys

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

// orgSecret is the client secret of the connector tests; it must never
// show up in an error, a String or a log.
const orgSecret = "Qx8~s3cr3t.Value_With~Symbols\"<&>"

func validOrgConnector() AzureOrgConnectorInput {
	return AzureOrgConnectorInput{
		Name:        "Azure Org",
		Description: "azure org connector description",
		ConnectorAppInfos: []ConnectorAppInfo{
			{Identifier: "11111111-2222-3333-4444-555555555555", Name: "AI"},
			{Name: "CI"},
			{Name: "CSA"},
		},
		IsRemediationEnabled:  true,
		TenantName:            "Tenant name",
		TenantID:              "72f988bf-86f1-41af-91ab-2d7cd011db47",
		ApplicationID:         "0A1B2C3D-4E5F-6071-8293-A4B5C6D7E8F9",
		SecretValue:           orgSecret,
		OrgRunFrequency:       RunFrequency{Hours: 1},
		ConnectorPrefixName:   "createdbyorg",
		ConnectorRunFrequency: RunFrequency{Minutes: 30},
		IncludedMem:           []string{"TestingManagementGroup"},
	}
}

// The seed's request sample decodes into AzureOrgConnectorInput with no
// field left over, and encodes back to the same JSON: every field is there
// with its JSON name and type.
func TestAzureOrgConnectorRequestSample(t *testing.T) {
	sample := readFixture(t, fixtureOrgConnectorReq)
	dec := json.NewDecoder(bytes.NewReader(sample))
	dec.DisallowUnknownFields()
	var in AzureOrgConnectorInput
	if err := dec.Decode(&in); err != nil {
		t.Fatalf("the seed's request does not decode strictly: %v", err)
	}
	out, err := json.Marshal(in.wire())
	if err != nil {
		t.Fatal(err)
	}
	if !jsonEqual(t, out, sample) {
		t.Errorf("re-encoded request differs from the sample:\n%s\n%s", out, sample)
	}
	if in.Name != "Azure Org" || len(in.ConnectorAppInfos) != 3 || in.ConnectorAppInfos[2].Name != "CSA" || in.ConnectorAppInfos[0].TagID != nil ||
		in.OrgRunFrequency != (RunFrequency{1, 0}) || in.ConnectorPrefixName != "createdbyorg" || !reflect.DeepEqual(in.IncludedMem, []string{"TestingManagementGroup"}) ||
		!in.IsCreateConnectorForNewSubscriptionsAutomatically || !in.IsDisableConnectorsForDeletedManagementGroups || !in.IsRemediationEnabled {
		t.Errorf("decoded sample = %v", in)
	}
	// The sample's ids are placeholders: Validate says so, and the sample
	// validates once they are real GUIDs.
	err = in.Validate()
	if err == nil || !strings.Contains(err.Error(), "tenantId must be a GUID") || !strings.Contains(err.Error(), "applicationId must be a GUID") {
		t.Errorf("Validate of the placeholder sample: %v", err)
	}
	in.TenantID, in.ApplicationID = "72f988bf-86f1-41af-91ab-2d7cd011db47", "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9"
	if err := in.Validate(); err != nil {
		t.Errorf("Validate of the sample with real GUIDs: %v", err)
	}
}

// The corrected response sample decodes with every field mapped.
func TestAzureOrgConnectorResponseSample(t *testing.T) {
	body := readFixture(t, fixtureOrgConnectorAnswer)
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var strict AzureOrgConnector
	if err := dec.Decode(&strict); err != nil {
		t.Fatalf("the response sample has a field AzureOrgConnector lacks: %v", err)
	}
	it, apiErr, err := decodeObject[AzureOrgConnector](body, "uuid")
	if err != nil || apiErr != nil {
		t.Fatal(err, apiErr)
	}
	if !bytes.Equal(it.Raw, bytes.TrimSpace(body)) {
		t.Error("Raw is not the body byte-exact")
	}
	c := it.Value
	checks := []struct {
		name      string
		got, want any
	}{
		{"id", c.ID, int64(123456)},
		{"name", c.Name, "Azure Org"},
		{"uuid", c.UUID, "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"},
		{"orgRunFrequency", c.OrgRunFrequency, RunFrequency{Hours: 1}},
		{"connectorRunFrequency", c.ConnectorRunFrequency, RunFrequency{Hours: 1}},
		{"lastSynced", c.LastSynced, "2023-05-17T05:19:11.727+00:00"},
		{"nextSync", c.NextSync, "2023-05-17T06:19:11.727+00:00"},
		{"type", c.Type, "AZURE"},
		{"userName", c.UserName, "abcde_xxxx"},
		{"lastError", c.LastError, (*string)(nil)},
		{"state", c.State, "PENDING"},
		{"connectorPrefixName", c.ConnectorPrefixName, "createdbyorg"},
		{"defaultTagIds", len(c.DefaultTagIDs), 0},
		{"connectorAppInfos", len(c.ConnectorAppInfos), 3},
		{"connectorAppInfos[1].name", c.ConnectorAppInfos[1].Name, "CI"},
		{"connectorAppInfos[0].identifier", c.ConnectorAppInfos[0].Identifier, "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"},
		{"connectorAppInfos[0].tagMetadata", string(c.ConnectorAppInfos[0].TagMetadata), "null"},
		{"connectorCapabilities", c.ConnectorCapabilities, []string{"AI", "CI", "CSA"}},
		{"lastSuccessfulSync", c.LastSuccessfulSync, "2023-05-17T05:19:11.727+00:00"},
		{"createdBy", c.CreatedBy, "Test User"},
		{"includedMem", c.IncludedMem, []string{"TestingManagementGroup"}},
		{"excludedMem", c.ExcludedMem, []string{}},
		{"createConnectorForNewSubscriptionsAutomatically", c.CreateConnectorForNewSubscriptionsAutomatically, true},
		{"disableConnectorsForDeletedManagementGroups", c.DisableConnectorsForDeletedManagementGroups, true},
		{"disabled", c.Disabled, false},
		{"deleted", c.Deleted, false},
		{"remediationEnabled", c.RemediationEnabled, true},
	}
	for _, ck := range checks {
		if !reflect.DeepEqual(ck.got, ck.want) {
			t.Errorf("%s = %#v, want %#v", ck.name, ck.got, ck.want)
		}
	}
}

func TestAzureOrgConnectorValidate(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(in *AzureOrgConnectorInput)
		wantIn []string // nil = valid
	}{
		{"valid", func(in *AzureOrgConnectorInput) {}, nil},
		{"one app", func(in *AzureOrgConnectorInput) { in.ConnectorAppInfos = []ConnectorAppInfo{{Name: "CSA"}} }, nil},
		{"prefix 30 characters", func(in *AzureOrgConnectorInput) { in.ConnectorPrefixName = strings.Repeat("p", 30) }, nil},
		{"prefix 30 multibyte characters", func(in *AzureOrgConnectorInput) { in.ConnectorPrefixName = strings.Repeat("ü", 30) }, nil},
		{"frequency minutes only", func(in *AzureOrgConnectorInput) { in.OrgRunFrequency = RunFrequency{Minutes: 59} }, nil},

		{"applicationId missing", func(in *AzureOrgConnectorInput) { in.ApplicationID = "" }, []string{"applicationId is required"}},
		{"applicationId placeholder", func(in *AzureOrgConnectorInput) { in.ApplicationID = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" }, []string{"applicationId must be a GUID"}},
		{"applicationId braces", func(in *AzureOrgConnectorInput) { in.ApplicationID = "{0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9}" }, []string{"applicationId must be a GUID"}},
		{"applicationId no dashes", func(in *AzureOrgConnectorInput) { in.ApplicationID = "0a1b2c3d4e5f60718293a4b5c6d7e8f9" }, []string{"applicationId must be a GUID"}},
		{"applicationId dash misplaced", func(in *AzureOrgConnectorInput) { in.ApplicationID = "0a1b2c3d4-e5f-6071-8293-a4b5c6d7e8f9" }, []string{"applicationId must be a GUID"}},
		{"tenantId missing", func(in *AzureOrgConnectorInput) { in.TenantID = " " }, []string{"tenantId is required"}},
		{"tenantId too short", func(in *AzureOrgConnectorInput) { in.TenantID = "72f988bf-86f1-41af-91ab-2d7cd011db4" }, []string{"tenantId must be a GUID"}},
		{"tenantId a domain", func(in *AzureOrgConnectorInput) { in.TenantID = "contoso.onmicrosoft.com" }, []string{"tenantId must be a GUID"}},
		{"secret missing", func(in *AzureOrgConnectorInput) { in.SecretValue = "" }, []string{"secretValue is required"}},
		{"name missing", func(in *AzureOrgConnectorInput) { in.Name = "" }, []string{"name is required"}},
		{"tenantName missing", func(in *AzureOrgConnectorInput) { in.TenantName = "" }, []string{"tenantName is required"}},
		{"no apps", func(in *AzureOrgConnectorInput) { in.ConnectorAppInfos = nil }, []string{"connectorAppInfos must select at least one of AI, CI, CSA"}},
		{"unknown app", func(in *AzureOrgConnectorInput) { in.ConnectorAppInfos[1].Name = "VM" }, []string{`connectorAppInfos[1].name "VM" is not one of AI, CI, CSA`}},
		{"lower-case app", func(in *AzureOrgConnectorInput) { in.ConnectorAppInfos[0].Name = "ai" }, []string{`connectorAppInfos[0].name "ai" is not one of`}},
		{"duplicate app", func(in *AzureOrgConnectorInput) { in.ConnectorAppInfos[2].Name = "AI" }, []string{`connectorAppInfos[2].name "AI" is already selected by connectorAppInfos[0]`}},
		{"org frequency zero", func(in *AzureOrgConnectorInput) { in.OrgRunFrequency = RunFrequency{} }, []string{"orgRunFrequency is zero"}},
		{"org minutes 60", func(in *AzureOrgConnectorInput) { in.OrgRunFrequency = RunFrequency{Hours: 1, Minutes: 60} }, []string{"orgRunFrequency.minutes 60 is outside 0-59"}},
		{"org minutes negative", func(in *AzureOrgConnectorInput) { in.OrgRunFrequency = RunFrequency{Hours: 1, Minutes: -1} }, []string{"orgRunFrequency.minutes -1"}},
		{"org hours negative", func(in *AzureOrgConnectorInput) { in.OrgRunFrequency = RunFrequency{Hours: -2, Minutes: 30} }, []string{"orgRunFrequency.hours -2 is negative"}},
		{"connector frequency zero", func(in *AzureOrgConnectorInput) { in.ConnectorRunFrequency = RunFrequency{} }, []string{"connectorRunFrequency is zero"}},
		{"prefix missing", func(in *AzureOrgConnectorInput) { in.ConnectorPrefixName = "" }, []string{"connectorPrefixName is required"}},
		{"prefix 31 characters", func(in *AzureOrgConnectorInput) { in.ConnectorPrefixName = strings.Repeat("p", 31) }, []string{"connectorPrefixName is 31 characters long; at most 30"}},
		{"prefix 31 multibyte characters", func(in *AzureOrgConnectorInput) { in.ConnectorPrefixName = strings.Repeat("ü", 31) }, []string{"connectorPrefixName is 31 characters"}},
		{"secret pasted as applicationId", func(in *AzureOrgConnectorInput) { in.ApplicationID = orgSecret }, []string{"applicationId must be a GUID"}},
		{"secret pasted as app name", func(in *AzureOrgConnectorInput) { in.ConnectorAppInfos[0].Name = orgSecret }, []string{"connectorAppInfos[0].name", "[REDACTED]"}},
		{"everything wrong", func(in *AzureOrgConnectorInput) { *in = AzureOrgConnectorInput{SecretValue: orgSecret} }, []string{
			"applicationId is required", "tenantId is required", "name is required", "connectorAppInfos", "orgRunFrequency is zero",
			"connectorRunFrequency is zero", "connectorPrefixName is required", "tenantName is required"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := validOrgConnector()
			tt.edit(&in)
			err := in.Validate()
			if tt.wantIn == nil {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate accepted the input")
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "qualys: invalid Azure org connector: ") || strings.Contains(msg, "\n") {
				t.Errorf("error %q is not one qualys line", msg)
			}
			for _, w := range tt.wantIn {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
			assertNoSecret(t, "Validate error", msg)
		})
	}
}

func assertNoSecret(t *testing.T, what, s string) {
	t.Helper()
	quoted, _ := json.Marshal(orgSecret)
	for _, form := range []string{orgSecret, string(quoted[1 : len(quoted)-1]), fmt.Sprintf("%q", orgSecret), "s3cr3t"} {
		if strings.Contains(s, form) {
			t.Errorf("%s contains the secret (%q): %s", what, form, s)
		}
	}
}

func TestAzureOrgConnectorInputNeverShowsSecret(t *testing.T) {
	in := validOrgConnector()
	in.Description = "pasted by mistake: " + orgSecret
	var jsonLog, textLog bytes.Buffer
	slog.New(slog.NewJSONHandler(&jsonLog, nil)).Info("creating", "input", in)
	slog.New(slog.NewTextHandler(&textLog, nil)).Info("creating", "input", in, "ptr", &in)
	outputs := map[string]string{
		"String":    in.String(),
		"%v":        fmt.Sprintf("%v", in),
		"%+v":       fmt.Sprintf("%+v", in),
		"%s":        fmt.Sprintf("in=%s", in),
		"%#v":       fmt.Sprintf("%#v", in),
		"%v ptr":    fmt.Sprintf("%v", &in),
		"%v slice":  fmt.Sprintf("%v", []AzureOrgConnectorInput{in}),
		"slog json": jsonLog.String(),
		"slog text": textLog.String(),
	}
	for what, out := range outputs {
		assertNoSecret(t, what, out)
		if !strings.Contains(out, "[REDACTED]") || !strings.Contains(out, "Azure Org") {
			t.Errorf("%s = %s; want the fields with the secret redacted", what, out)
		}
	}
	if s := (AzureOrgConnectorInput{Name: "x"}).String(); strings.Contains(s, "REDACTED") || !strings.Contains(s, `"secretValue":""`) {
		t.Errorf("String with no secret = %s", s)
	}
	if in.SecretValue != orgSecret {
		t.Error("String changed the input")
	}
}

func TestCreateAzureOrgConnector(t *testing.T) {
	answer := string(readFixture(t, fixtureOrgConnectorAnswer))
	for _, status := range []int{201, 200} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			rc := &recorder{steps: []step{{status: status, body: answer}}}
			g := newGateway(t, rc.handler(t))
			c, _, logs := newTestClient(t, g, clientOpts{})
			in := validOrgConnector()
			it, err := c.CreateAzureOrgConnector(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			if it.Value.ID != 123456 || it.Value.State != "PENDING" || !bytes.Equal(it.Raw, bytes.TrimSpace([]byte(answer))) {
				t.Errorf("connector %+v", it.Value)
			}
			reqs := rc.requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests", len(reqs))
			}
			r := reqs[0]
			if r.Method != http.MethodPost || r.EscapedPath != "/connectors/v1.0/org/azure/" || r.ContentType != "application/json" {
				t.Errorf("request %s %s (%s)", r.Method, r.EscapedPath, r.ContentType)
			}
			// The body carries every field; absent lists are [] as in the
			// sample, tagId null, and the secret as given.
			var sent map[string]json.RawMessage
			if err := json.Unmarshal(r.Body, &sent); err != nil {
				t.Fatal(err)
			}
			var sample map[string]json.RawMessage
			json.Unmarshal(readFixture(t, fixtureOrgConnectorReq), &sample)
			for k := range sample {
				if _, ok := sent[k]; !ok {
					t.Errorf("body lacks %q", k)
				}
			}
			if len(sent) != len(sample) {
				t.Errorf("body has %d fields, the sample %d", len(sent), len(sample))
			}
			for k, want := range map[string]string{
				"excludedMem": `[]`, "defaultTagIds": `[]`, "includedMem": `["TestingManagementGroup"]`,
				"orgRunFrequency": `{"hours":1,"minutes":0}`, "connectorRunFrequency": `{"hours":0,"minutes":30}`,
				"connectorAppInfos": `[{"identifier":"11111111-2222-3333-4444-555555555555","name":"AI","tagId":null},{"name":"CI","tagId":null},{"name":"CSA","tagId":null}]`,
			} {
				if string(sent[k]) != want {
					t.Errorf("%s = %s, want %s", k, sent[k], want)
				}
			}
			var secret string
			json.Unmarshal(sent["secretValue"], &secret)
			if secret != orgSecret {
				t.Errorf("secretValue sent = %q", secret)
			}
			assertNoSecret(t, "log", logs.String())
		})
	}
}

func TestCreateAzureOrgConnectorRefusals(t *testing.T) {
	tests := []struct {
		name     string
		steps    []step
		status   int
		message  string
		wantHint string
		posts    int
	}{
		{"400 verbatim", []step{{status: 400, body: `{"errorCode":"CONN-4001","message":"Connector with name 'Azure Org' already exists.\nChoose another name.","timestamp":1}`}},
			400, "Connector with name 'Azure Org' already exists.\nChoose another name.", "", 1},
		{"secret echoed is cut out", []step{{status: 400, body: `{"errorCode":"AADSTS7000215","message":"Invalid client secret provided: ` + strings.ReplaceAll(orgSecret, `"`, `\"`) + `"}`}},
			400, "Invalid client secret provided: [REDACTED]", "", 1},
		{"409 conflict", []step{{status: 409, body: `{"errorCode":"409","message":"Tenant is already onboarded"}`}}, 409, "Tenant is already onboarded", "conflicting", 1},
		{"500 not repeated", []step{{status: 500, body: `{"errorCode":"500","message":"Internal Server Error"}`}, {status: 201, body: "{}"}},
			500, "Internal Server Error", "may have been applied", 1},
		{"429 then 400", []step{{status: 429, headers: map[string]string{"X-RateLimit-ToWait-Sec": "0"}}, {status: 400, body: `{"message":"bad"}`}}, 400, "bad", "", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := &recorder{steps: tt.steps}
			g := newGateway(t, rc.handler(t))
			c, _, logs := newTestClient(t, g, clientOpts{})
			_, err := c.CreateAzureOrgConnector(context.Background(), validOrgConnector())
			var ae *APIError
			if !errors.As(err, &ae) {
				t.Fatalf("error %T %v, want *APIError", err, err)
			}
			if ae.StatusCode != tt.status || ae.Message != tt.message || ae.Op != "create Azure org connector" {
				t.Errorf("APIError{%d %q %q}, want {%d %q}", ae.StatusCode, ae.Op, ae.Message, tt.status, tt.message)
			}
			if !strings.Contains(ae.Hint(), tt.wantHint) {
				t.Errorf("hint %q lacks %q", ae.Hint(), tt.wantHint)
			}
			if n := len(rc.requests()); n != tt.posts {
				t.Errorf("%d requests, want %d", n, tt.posts)
			}
			assertNoSecret(t, "error", err.Error())
			assertNoSecret(t, "log", logs.String())
		})
	}
}

func TestCreateAzureOrgConnectorValidatesFirst(t *testing.T) {
	g := newGateway(t, nil)
	c, _, _ := newTestClient(t, g, clientOpts{})
	in := validOrgConnector()
	in.ConnectorPrefixName = strings.Repeat("x", 31)
	_, err := c.CreateAzureOrgConnector(context.Background(), in)
	if err == nil || !strings.Contains(err.Error(), "connectorPrefixName") {
		t.Fatalf("error %v", err)
	}
	assertNoSecret(t, "error", err.Error())
	if c.Requests() != 0 {
		t.Errorf("%d requests sent", c.Requests())
	}
}
