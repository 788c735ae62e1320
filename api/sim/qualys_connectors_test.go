package sim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

const testSecret = "Q~sim8.secret_VALUE-do-not-echo-0123456789"

// orgBody returns the seed's request body with a real-looking secret,
// GUIDs and the given changes (nil deletes a key).
func orgBody(t *testing.T, over map[string]any) string {
	t.Helper()
	b, err := os.ReadFile("testdata/org_connector_azure_request_sample.json")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	m["tenantId"] = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	m["applicationId"] = "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9"
	m["secretValue"] = testSecret
	for i, a := range m["connectorAppInfos"].([]any) {
		a.(map[string]any)["identifier"] = fmt.Sprintf("00000000-0000-4000-8000-00000000000%d", i)
	}
	for k, v := range over {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	out, _ := json.Marshal(m)
	return string(out)
}

// seedResponseKeys reads the keys of seed 001's response, repairing its two
// typos.
func seedResponseKeys(t *testing.T) (top, appInfo, freq []string) {
	t.Helper()
	b, err := os.ReadFile("testdata/org_connector_azure_response_sample.txt")
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(b), `"id": xxxxxx,`, `"id": 0,`, 1)
	s = strings.Replace(s, `"identifier": "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx, "tagId"`, `"identifier": "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", "tagId"`, 1)
	var m struct {
		ConnectorAppInfos []json.RawMessage `json:"connectorAppInfos"`
		OrgRunFrequency   json.RawMessage   `json:"orgRunFrequency"`
	}
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("repaired sample: %v", err)
	}
	return objectKeys(t, []byte(s)), objectKeys(t, m.ConnectorAppInfos[0]), objectKeys(t, m.OrgRunFrequency)
}

func TestOrgConnectorCreate(t *testing.T) {
	s, base, _ := newTestServer(t, Options{})
	tok := login(t, base)
	wantTop, wantApp, wantFreq := seedResponseKeys(t)
	resp, body := send(t, http.MethodPost, base+qualysAzureOrgConnectorPath, tok, orgBody(t, map[string]any{
		"orgRunFrequency": map[string]int{"hours": 2, "minutes": 30}}))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("create: %d %s", resp.StatusCode, body)
	}
	if strings.Contains(string(body), testSecret) || strings.Contains(string(body), "secretValue") {
		t.Fatalf("the answer carries the secret: %s", body)
	}
	if got := objectKeys(t, body); !equalStrings(got, wantTop) {
		t.Errorf("keys\n got %v\nwant %v", got, wantTop)
	}
	var c orgConnector
	decodeStrict(t, body, &c)
	var raw map[string]json.RawMessage
	_ = json.Unmarshal(body, &raw)
	if got := objectKeys(t, raw["orgRunFrequency"]); !equalStrings(got, wantFreq) {
		t.Errorf("orgRunFrequency keys %v", got)
	}
	var infos []json.RawMessage
	_ = json.Unmarshal(raw["connectorAppInfos"], &infos)
	for _, in := range infos {
		if got := objectKeys(t, in); !equalStrings(got, wantApp) {
			t.Errorf("connectorAppInfos keys %v, want %v", got, wantApp)
		}
	}
	if string(raw["id"]) != fmt.Sprint(c.ID) || c.ID <= 0 {
		t.Errorf("id %s is not a number", raw["id"])
	}
	if string(raw["lastError"]) != "null" || c.State != "PENDING" || c.Type != "AZURE" || !uuidRE.MatchString(c.UUID) ||
		c.Name != "Azure Org" || c.Description == nil || *c.Description != "azure org connector description" ||
		c.TenantID != "72f988bf-86f1-41af-91ab-2d7cd011db47" || c.ApplicationID != "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9" ||
		c.ConnectorPrefixName != "createdbyorg" || c.UserName != "demo" || c.CreatedBy != "demo" ||
		!c.RemediationEnabled || !c.CreateConnectorForNewSubscriptionsAutomatically || !c.DisableConnectorsForDeletedManagementGroups ||
		c.Disabled || c.Deleted || !equalStrings(c.IncludedMem, []string{"TestingManagementGroup"}) || len(c.ExcludedMem) != 0 ||
		!equalStrings(c.ConnectorCapabilities, []string{"AI", "CI", "CSA"}) || c.OrgRunFrequency != (runFrequencyOut{2, 30}) ||
		c.ConnectorRunFrequency != (runFrequencyOut{1, 0}) {
		t.Errorf("connector %s", body)
	}
	if c.LastSynced != "2026-07-01T10:00:00.000+00:00" || c.NextSync != "2026-07-01T12:30:00.000+00:00" || c.LastSuccessfulSync != c.LastSynced {
		t.Errorf("sync times %s %s %s", c.LastSynced, c.NextSync, c.LastSuccessfulSync)
	}
	for i, a := range c.ConnectorAppInfos {
		if a.Name != []string{"AI", "CI", "CSA"}[i] || a.Identifier == nil || *a.Identifier != fmt.Sprintf("00000000-0000-4000-8000-00000000000%d", i) ||
			string(a.TagID) != "null" || string(a.TagMetadata) != "null" {
			t.Errorf("app %d: %+v", i, a)
		}
	}

	// Without the trailing slash, a second one with fewer apps; then the
	// list shows both, in order.
	resp, body2 := send(t, http.MethodPost, base+strings.TrimSuffix(qualysAzureOrgConnectorPath, "/"), tok, orgBody(t, map[string]any{
		"name": "Second", "connectorAppInfos": []map[string]any{{"name": "CSA"}}, "description": nil}))
	if resp.StatusCode != 200 {
		t.Fatalf("second: %d %s", resp.StatusCode, body2)
	}
	var c2 orgConnector
	decodeStrict(t, body2, &c2)
	if c2.ID <= c.ID || c2.UUID == c.UUID || !equalStrings(c2.ConnectorCapabilities, []string{"CSA"}) || c2.Description != nil ||
		c2.ConnectorAppInfos[0].Identifier != nil {
		t.Errorf("second %s", body2)
	}
	for _, p := range []string{qualysAzureOrgConnectorPath, strings.TrimSuffix(qualysAzureOrgConnectorPath, "/")} {
		resp, list := get(t, base+p, tok)
		if resp.StatusCode != 200 || string(list) != "["+string(body)+","+string(body2)+"]" {
			t.Errorf("GET %s: %d %s", p, resp.StatusCode, list)
		}
	}
	// Duplicate name (case-insensitive): 409.
	resp, dup := send(t, http.MethodPost, base+qualysAzureOrgConnectorPath, tok, orgBody(t, map[string]any{"name": "azure org"}))
	checkError(t, resp, dup, http.StatusConflict)
	if strings.Contains(string(dup), testSecret) {
		t.Error("409 carries the secret")
	}
	if st := s.Stats(); st.Requests[qualysAzureOrgConnectorPath] != 5 {
		t.Errorf("stats %v", st.Requests)
	}
	// Bearer auth is required.
	resp, b := send(t, http.MethodPost, base+qualysAzureOrgConnectorPath, "", orgBody(t, nil))
	checkError(t, resp, b, http.StatusUnauthorized)
	resp, b = get(t, base+qualysAzureOrgConnectorPath, "")
	checkError(t, resp, b, http.StatusUnauthorized)
}

func TestOrgConnectorValidation(t *testing.T) {
	long := strings.Repeat("p", 31)
	tests := []struct {
		name string
		over map[string]any
		raw  string // body instead of orgBody(over)
		word string
	}{
		{"missing applicationId", map[string]any{"applicationId": nil}, "", "applicationId is required"},
		{"applicationId not a GUID", map[string]any{"applicationId": "my-app"}, "", "applicationId 'my-app' is not a valid GUID"},
		{"missing secretValue", map[string]any{"secretValue": nil}, "", "secretValue is required"},
		{"empty secretValue", map[string]any{"secretValue": ""}, "", "secretValue is required"},
		{"missing tenantId", map[string]any{"tenantId": nil}, "", "tenantId is required"},
		{"tenantId not a GUID", map[string]any{"tenantId": "contoso.onmicrosoft.com"}, "", "is not a valid GUID"},
		{"missing name", map[string]any{"name": nil}, "", "name is required"},
		{"missing connectorAppInfos", map[string]any{"connectorAppInfos": nil}, "", "connectorAppInfos is required"},
		{"empty connectorAppInfos", map[string]any{"connectorAppInfos": []any{}}, "", "connectorAppInfos is required"},
		{"app without name", map[string]any{"connectorAppInfos": []map[string]any{{"identifier": "x"}}}, "", "connectorAppInfos[0].name is required"},
		{"unknown app", map[string]any{"connectorAppInfos": []map[string]any{{"name": "AI"}, {"name": "VM"}}}, "", "Invalid app name 'VM'"},
		{"duplicate app", map[string]any{"connectorAppInfos": []map[string]any{{"name": "AI"}, {"name": "AI"}}}, "", "Duplicate app name 'AI'"},
		{"missing orgRunFrequency", map[string]any{"orgRunFrequency": nil}, "", "orgRunFrequency is required"},
		{"empty orgRunFrequency", map[string]any{"orgRunFrequency": map[string]any{}}, "", "orgRunFrequency is required"},
		{"orgRunFrequency in minutes", map[string]any{"orgRunFrequency": 60}, "", "'orgRunFrequency' must be an object"},
		{"orgRunFrequency minutes 60", map[string]any{"orgRunFrequency": map[string]int{"hours": 1, "minutes": 60}}, "", "orgRunFrequency.minutes must be between 0 and 59"},
		{"orgRunFrequency negative", map[string]any{"orgRunFrequency": map[string]int{"hours": -1}}, "", "orgRunFrequency.hours must not be negative"},
		{"orgRunFrequency zero", map[string]any{"orgRunFrequency": map[string]int{"hours": 0, "minutes": 0}}, "", "at least 1 minute"},
		{"orgRunFrequency hours text", map[string]any{"orgRunFrequency": map[string]any{"hours": "1"}}, "", "'orgRunFrequency.hours' must be an integer"},
		{"missing connectorRunFrequency", map[string]any{"connectorRunFrequency": nil}, "", "connectorRunFrequency is required"},
		{"missing connectorPrefixName", map[string]any{"connectorPrefixName": nil}, "", "connectorPrefixName is required"},
		{"connectorPrefixName 31 chars", map[string]any{"connectorPrefixName": long}, "", "connectorPrefixName must be at most 30 characters (got 31)"},
		{"missing tenantName", map[string]any{"tenantName": nil}, "", "tenantName is required"},
		{"secret of wrong type", map[string]any{"secretValue": 12}, "", "'secretValue' must be a string"},
		{"malformed JSON", nil, `{"name":"x","secretValue":"` + testSecret + `",`, "Malformed JSON"},
		{"malformed inside the secret", nil, `{"secretValue":` + testSecret + `}`, "syntax error at offset"},
	}
	_, base, _ := newTestServer(t, Options{})
	tok := login(t, base)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := tt.raw
			if body == "" {
				body = orgBody(t, tt.over)
			}
			resp, b := send(t, http.MethodPost, base+qualysAzureOrgConnectorPath, tok, body)
			e := checkError(t, resp, b, http.StatusBadRequest)
			if !strings.Contains(e.Message, tt.word) {
				t.Errorf("message %q does not say %q", e.Message, tt.word)
			}
			for _, part := range []string{testSecret, testSecret[:8], testSecret[len(testSecret)-8:]} {
				if strings.Contains(string(b), part) {
					t.Errorf("the error carries the secret: %s", b)
				}
			}
		})
	}
	// 30 characters is fine; so is a JSON content type with parameters.
	resp, b := sendCT(t, http.MethodPost, base+qualysAzureOrgConnectorPath, tok, "application/json;charset=UTF-8",
		orgBody(t, map[string]any{"name": "thirty", "connectorPrefixName": strings.Repeat("p", 30)}))
	if resp.StatusCode != 200 {
		t.Errorf("30-character prefix: %d %s", resp.StatusCode, b)
	}
	resp, b = sendCT(t, http.MethodPost, base+qualysAzureOrgConnectorPath, tok, "text/plain", orgBody(t, nil))
	checkError(t, resp, b, http.StatusUnsupportedMediaType)
}

// Every route answers only its methods, before anything else; faults
// come before authentication on the new endpoints too.
func TestNewRoutesMethodsAndFaults(t *testing.T) {
	_, base, _ := newTestServer(t, Options{})
	tests := []struct {
		method, path, allow string
	}{
		{http.MethodPost, exceptionPathPrefix + "abc", "GET, PUT"},
		{http.MethodGet, qualysExceptionDeletePath, ""}, // GET {exceptionId}="delete": 401 without a token
		{http.MethodDelete, exceptionPathPrefix + "abc", "GET, PUT"},
		{http.MethodPut, qualysExceptionCreatePath, ""}, // PUT {exceptionId}="create"
		{http.MethodPost, "/cloudview-api/rest/v1/resource/EC2_INSTANCE/AWS", "GET"},
		{http.MethodDelete, qualysAzureOrgConnectorPath, "POST, GET"},
		{http.MethodPut, "/connectors/v1.0/org/azure", "POST, GET"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			resp, body := send(t, tt.method, base+tt.path, "", "{}")
			if tt.allow == "" {
				checkError(t, resp, body, http.StatusUnauthorized)
				return
			}
			checkError(t, resp, body, http.StatusMethodNotAllowed)
			if got := resp.Header.Get("Allow"); got != tt.allow {
				t.Errorf("Allow %q, want %q", got, tt.allow)
			}
		})
	}
	_, fbase, _ := newTestServer(t, Options{FailEvery: 1})
	for _, p := range []struct{ method, path string }{
		{http.MethodPost, qualysExceptionCreatePath}, {http.MethodGet, ec2Path},
		{http.MethodPost, qualysAzureOrgConnectorPath}, {http.MethodDelete, qualysExceptionDeletePath},
	} {
		resp, body := send(t, p.method, fbase+p.path, "", "{}")
		checkError(t, resp, body, http.StatusServiceUnavailable)
	}
	_, tbase, clk := newTestServer(t, Options{RateLimit: 1})
	tok := login(t, tbase)
	clk.Advance(time.Second)
	get(t, tbase+ec2Path, tok)
	resp, body := send(t, http.MethodPost, tbase+qualysExceptionCreatePath, tok, exceptionBody(t, nil))
	checkError(t, resp, body, http.StatusTooManyRequests)
}
