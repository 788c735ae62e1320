package ui

import (
	"strings"
	"testing"
	"time"

	"qtc/api/qualys"
)

func TestExceptionFormValidators(t *testing.T) {
	f := &exceptionForm{in: qualys.ExceptionInput{StartingDate: "2030-01-10T00:00:00Z"}}
	tests := []struct {
		name  string
		check func(string) error
		value string
		want  string // "" = valid
	}{
		{"name ok", validateExceptionName, "Accept S3 logging gap", ""},
		{"name empty", validateExceptionName, "  ", "required"},
		{"name too long", validateExceptionName, strings.Repeat("n", 256), "at most 255"},
		{"date rfc3339", validateDate, "2030-01-01T00:00:00Z", ""},
		{"date api format", validateDate, "2030-01-01T00:00:00.000Z", ""},
		{"date only", validateDate, "2030-01-01", ""},
		{"date junk", validateDate, "next tuesday", "date-time"},
		{"end after start", f.validateEnd, "2030-02-01T00:00:00Z", ""},
		{"end before start", f.validateEnd, "2030-01-01T00:00:00Z", "after the start"},
		{"end in the past", (&exceptionForm{in: qualys.ExceptionInput{StartingDate: "2001-01-01T00:00:00Z"}}).validateEnd, "2002-01-01T00:00:00Z", "past"},
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

func TestNewExceptionFormDefaults(t *testing.T) {
	f := newExceptionForm(&env{styles: DefaultStyles()}, "c", "", qualys.ExceptionInput{})
	start, err1 := parseFormDate(f.in.StartingDate)
	end, err2 := parseFormDate(f.in.EndingDate)
	if err1 != nil || err2 != nil || !end.After(start) || start.After(time.Now().Add(time.Minute)) {
		t.Errorf("defaults %q..%q", f.in.StartingDate, f.in.EndingDate)
	}
	if f.in.Reason != qualys.ExceptionReasons[0] || f.in.Scope != qualys.ExceptionScopes[0] {
		t.Errorf("default reason/scope %q/%q", f.in.Reason, f.in.Scope)
	}
}

func TestAzureOrgFormInput(t *testing.T) {
	f := newAzureOrgForm(&env{styles: DefaultStyles()}, "c")
	f.in = qualys.AzureOrgConnectorInput{
		Name: "Azure Org", TenantName: "Contoso", TenantID: "8f2a1c3e-1111-4a4a-9b9b-0123456789ab",
		ApplicationID: "0d0e0f10-2222-4b4b-8c8c-abcdefabcdef", SecretValue: "s3cr3t~value", ConnectorPrefixName: "contoso",
	}
	f.apps = []string{"AI", "CSA"}
	f.orgFreq, f.connFreq = "1h30m", "45m"
	f.included, f.excluded = "MG-A, MG-B", ""
	f.switches = []string{"newsubs", "vm"}
	in, err := f.input()
	if err != nil {
		t.Fatal(err)
	}
	if in.OrgRunFrequency != (qualys.RunFrequency{Hours: 1, Minutes: 30}) || in.ConnectorRunFrequency != (qualys.RunFrequency{Minutes: 45}) {
		t.Errorf("frequencies %+v %+v", in.OrgRunFrequency, in.ConnectorRunFrequency)
	}
	if len(in.ConnectorAppInfos) != 2 || in.ConnectorAppInfos[1].Name != "CSA" {
		t.Errorf("apps %+v", in.ConnectorAppInfos)
	}
	if len(in.IncludedMem) != 2 || in.ExcludedMem == nil || !in.IsCreateConnectorForNewSubscriptionsAutomatically || !in.AutoActivateVM || in.AutoActivatePC {
		t.Errorf("optional fields %+v", in)
	}
	if strings.Contains(f.summary(), "s3cr3t") {
		t.Error("the review shows the secret")
	}

	for _, tt := range []struct {
		mutate func(*azureOrgForm)
		want   string
	}{
		{func(f *azureOrgForm) { f.in.ConnectorPrefixName = strings.Repeat("p", 31) }, "connectorPrefixName"},
		{func(f *azureOrgForm) { f.in.TenantID = "not-a-guid" }, "tenantId"},
		{func(f *azureOrgForm) { f.apps = nil }, "connectorAppInfos"},
		{func(f *azureOrgForm) { f.orgFreq = "soon" }, "orgRunFrequency"},
	} {
		g := *f
		tt.mutate(&g)
		if _, err := g.input(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("error %v, want one naming %s", err, tt.want)
		}
	}
}

func TestFormFieldValidators(t *testing.T) {
	for _, tt := range []struct {
		check func(string) error
		value string
		ok    bool
	}{
		{validateGUID, "8f2a1c3e-1111-4a4a-9b9b-0123456789ab", true},
		{validateGUID, "8f2a1c3e", false},
		{validatePrefix, strings.Repeat("p", 30), true},
		{validatePrefix, strings.Repeat("p", 31), false},
		{validatePrefix, "", false},
		{validateFrequency, "4h30m", true},
		{validateFrequency, "30s", false},
		{validateFrequency, "0m", false},
	} {
		if err := tt.check(tt.value); (err == nil) != tt.ok {
			t.Errorf("%q: error %v, want ok=%v", tt.value, err, tt.ok)
		}
	}
}

func TestTagsTabSideBySide(t *testing.T) {
	raw := []byte(`{"uuid":"u","tags":[{"key":"Name","value":"Osaka"}],"accountTags":[{"key":"name","value":"automation"},{"key":"Testing3","value":"Test_2.15.0-3"}]}`)
	got, ok := tagsText(raw)
	if !ok {
		t.Fatal("no tags tab for a record with accountTags")
	}
	lines := strings.Split(strings.TrimSpace(got), "\n")
	if len(lines) != 3 || !strings.Contains(lines[1], "Name = Osaka") || !strings.Contains(lines[1], "name = automation") || !strings.Contains(lines[2], "Testing3 = Test_2.15.0-3") {
		t.Errorf("tags tab:\n%s", got)
	}
	if _, ok := tagsText([]byte(`{"uuid":"u","tags":[]}`)); ok {
		t.Error("tags tab for a record without accountTags")
	}
}
