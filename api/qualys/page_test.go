package qualys

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// Fixtures: sample responses copied byte-exact from the TotalCloud 2.25 API
// release notes (seed 000).
const (
	fixturePolicies          = "policies_v2_page0.json"
	fixtureExceptions        = "exceptions_list_page0.json"
	fixtureManagedIdentities = "managed_identities_page0.json"
	fixtureRoleDefinitions   = "role_definitions_page0.json"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkRaw verifies that every Item.Raw is valid JSON, an object, and a
// byte-exact piece of the file, in order and without overlap.
func checkRaw[T any](t *testing.T, file []byte, items []Item[T]) {
	t.Helper()
	pos := 0
	for i, it := range items {
		if !json.Valid(it.Raw) {
			t.Errorf("item %d: Raw is not valid JSON", i)
		}
		if len(it.Raw) < 2 || it.Raw[0] != '{' || it.Raw[len(it.Raw)-1] != '}' {
			t.Errorf("item %d: Raw is not a whole object: %.40q", i, it.Raw)
		}
		if !bytes.Contains(file, it.Raw) {
			t.Errorf("item %d: Raw is not a byte-exact slice of the file", i)
			continue
		}
		at := bytes.Index(file[pos:], it.Raw)
		if at < 0 {
			t.Errorf("item %d: Raw not found after item %d", i, i-1)
			continue
		}
		pos += at + len(it.Raw)
	}
}

func TestDecodeFixturePolicies(t *testing.T) {
	file := readFixture(t, fixturePolicies)
	page, err := DecodeSpringPage[Policy](file)
	if err != nil {
		t.Fatal(err)
	}
	wantMeta := SpringPage[Policy]{Number: 0, Size: 2, NumberOfElements: 2, TotalPages: 13, TotalElements: 25, First: true, Last: false, Empty: false}
	gotMeta := *page
	gotMeta.Items = nil
	if !reflect.DeepEqual(gotMeta, wantMeta) {
		t.Errorf("page metadata = %+v, want %+v", gotMeta, wantMeta)
	}
	if len(page.Items) != 2 {
		t.Fatalf("got %d items, want 2", len(page.Items))
	}
	checkRaw(t, file, page.Items)

	p0, p1 := page.Items[0].Value, page.Items[1].Value
	want0 := Policy{
		UUID:            "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx",
		Title:           "Azure Database Service Best Practices Policy",
		CloudType:       "AZURE",
		Version:         "1.0",
		CreatedBy:       "SYSTEM",
		ModifiedBy:      "SYSTEM",
		CreatedDate:     "2020-07-09T11:33:36+0000",
		ModifiedDate:    "2020-07-09T11:33:36+0000",
		Header:          "This policy helps in automated auditing and reporting on the Azure Database service resources misconfigurations, unwarranted access and non-standard deployments, and provides remediation steps to manage risks. To help secure your Azure resources, follow these recommendations for the Database services of Azure.",
		Steps:           []json.RawMessage{},
		Footer:          "",
		CustomerCreated: false,
		Type:            "SYSTEM_DEFINED_POLICY",
		Scope:           "GLOBAL",
		ControlIDs:      []int64{50179, 50243, 50180, 50121, 50122, 50123, 50124, 50221, 50350, 50095, 50098, 50100, 50108, 50013},
		ExecutionType:   "RUN_TIME",
		TagIDs:          []json.RawMessage{},
	}
	if !reflect.DeepEqual(p0, want0) {
		t.Errorf("policy 0 =\n%+v\nwant\n%+v", p0, want0)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"title", p1.Title, "GCP Cloud SQL Best Practices Policy"},
		{"cloudType", p1.CloudType, "GCP"},
		{"modifiedBy", p1.ModifiedBy, "quays_zn68"},
		{"createdDate", p1.CreatedDate, "2020-05-06T12:07:15+0000"},
		{"modifiedDate", p1.ModifiedDate, "2026-01-30T05:57:46+0000"},
		{"customerCreated", p1.CustomerCreated, true},
		{"scope", p1.Scope, "CUSTOMER"},
		{"len(controlIds)", len(p1.ControlIDs), 24},
		{"controlIds[0]", p1.ControlIDs[0], int64(52128)},
		{"controlIds[23]", p1.ControlIDs[23], int64(52061)},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("policy 1 %s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if !bytes.Contains(page.Items[1].Raw, []byte(`"title": "GCP Cloud SQL Best Practices Policy"`)) {
		t.Error("policy 1 Raw does not hold its own title")
	}
}

func TestDecodeFixtureExceptions(t *testing.T) {
	file := readFixture(t, fixtureExceptions)
	page, err := DecodeSpringPage[Exception](file)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 1 {
		t.Fatalf("got %d items, want 1", len(page.Items))
	}
	checkRaw(t, file, page.Items)
	want := Exception{
		UUID:         "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx",
		Name:         "OCI Resource Level Exception",
		Description:  "OCI",
		Reason:       "Risk Accepted",
		State:        "ACTIVE",
		StartingDate: "2026-05-17T18:30:00.000Z",
		EndingDate:   "2026-05-20T18:29:59.000Z",
		CreatedBy:    "qatesxsn",
		UpdatedBy:    "qatesxsn",
		CreatedOn:    "2026-05-18T07:01:05+0000",
		UpdatedOn:    "2026-05-18T07:01:05+0000",
		Scope:        "CONNECTOR",
	}
	if got := page.Items[0].Value; got != want {
		t.Errorf("exception =\n%+v\nwant\n%+v", got, want)
	}
	gotMeta := *page
	gotMeta.Items = nil
	wantMeta := SpringPage[Exception]{Number: 0, Size: 50, NumberOfElements: 1, TotalPages: 1, TotalElements: 1, First: true, Last: true}
	if !reflect.DeepEqual(gotMeta, wantMeta) {
		t.Errorf("page metadata = %+v, want %+v", gotMeta, wantMeta)
	}
}

// The envelope decoder is generic: Azure CIEM resource pages decode with
// json.RawMessage values.
func TestDecodeFixtureGenericRaw(t *testing.T) {
	tests := []struct {
		file            string
		totalPages      int
		totalElements   int
		wantDisplayName []string
		wantType        string
	}{
		{fixtureManagedIdentities, 3, 52, []string{"disk-csi-driver-uami-1775627459327", "aro-operator-uami-1775627459327"}, "managed_identities"},
		{fixtureRoleDefinitions, 376, 7515, []string{"xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"}, "role_definitions"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			file := readFixture(t, tt.file)
			page, err := DecodeSpringPage[json.RawMessage](file)
			if err != nil {
				t.Fatal(err)
			}
			if page.TotalPages != tt.totalPages || page.TotalElements != tt.totalElements || page.Size != 2 ||
				page.NumberOfElements != 2 || !page.First || page.Last || page.Empty {
				t.Errorf("metadata = %+v", *page)
			}
			if len(page.Items) != len(tt.wantDisplayName) {
				t.Fatalf("got %d items, want %d", len(page.Items), len(tt.wantDisplayName))
			}
			checkRaw(t, file, page.Items)
			for i, it := range page.Items {
				if !bytes.Equal(it.Value, it.Raw) {
					t.Errorf("item %d: Value and Raw differ", i)
				}
				var rec struct {
					DisplayName  string `json:"displayName"`
					ResourceType string `json:"resourceType"`
				}
				if err := json.Unmarshal(it.Raw, &rec); err != nil {
					t.Fatal(err)
				}
				if rec.DisplayName != tt.wantDisplayName[i] || rec.ResourceType != tt.wantType {
					t.Errorf("item %d = %+v", i, rec)
				}
			}
		})
	}
}

func TestContentOffsetsFixtures(t *testing.T) {
	for _, name := range []string{fixturePolicies, fixtureExceptions, fixtureManagedIdentities, fixtureRoleDefinitions} {
		file := readFixture(t, name)
		page, err := DecodeSpringPage[json.RawMessage](file)
		if err != nil {
			t.Fatal(err)
		}
		offs := contentOffsets(file)
		if len(offs) != len(page.Items) {
			t.Fatalf("%s: %d offsets for %d items", name, len(offs), len(page.Items))
		}
		for i, it := range page.Items {
			if got := file[offs[i] : offs[i]+int64(len(it.Raw))]; !bytes.Equal(got, it.Raw) {
				t.Errorf("%s: item %d is not at offset %d", name, i, offs[i])
			}
		}
	}
}

func TestDecodeSpringPageErrors(t *testing.T) {
	policies := readFixture(t, fixturePolicies)
	half := policies[:len(policies)/2]
	typeErr := []byte("{\"content\": [\n  {\"uuid\": \"a\"},\n  {\"uuid\": \"b\", \"controlIds\": [1, \"two\"]}\n]}")
	nullElem := []byte(`{"content":[{"uuid":"a"}, null]}`)

	tests := []struct {
		name       string
		body       []byte
		wantOffset int64
		wantIn     string // substring of the error
	}{
		{"truncated", half, int64(len(half)), "unexpected end"},
		{"empty body", []byte{}, 0, "unexpected end"},
		{"html", []byte("<html><body>Service Unavailable</body></html>"), 1, "invalid character"},
		{"trailing garbage", []byte(`{"content":[]} x`), 16, "after top-level value"},
		{"null", []byte(`null`), 0, `no "content" array`},
		{"no content", []byte(`{"last":true}`), 0, `no "content" array`},
		{"content null", []byte(`{"content":null,"last":true}`), 0, `no "content" array`},
		{"array body", []byte(`[]`), 1, "cannot unmarshal array"},
		{"content object", []byte(`{"content":{}}`), 12, "cannot unmarshal object"},
		{"bad total", []byte(`{"content":[],"totalPages":"13"}`), 31, "cannot unmarshal string"},
		{"element type", typeErr, int64(bytes.Index(typeErr, []byte(`"two"`)) + len(`"two"`)), `content[1]`},
		{"null element", nullElem, int64(bytes.Index(nullElem, []byte("null"))), "content[1]: record is null"},
		{"error object", []byte(`{"errorCode":"CV-500","message":"boom","timestamp":"x"}`), 0, "boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page, err := DecodeSpringPage[Policy](tt.body)
			if err == nil {
				t.Fatalf("no error; page %+v", page)
			}
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %T %v, want *DecodeError", err, err)
			}
			if de.Offset != tt.wantOffset {
				t.Errorf("offset = %d, want %d (%v)", de.Offset, tt.wantOffset, err)
			}
			if !strings.Contains(err.Error(), tt.wantIn) {
				t.Errorf("error %q does not contain %q", err, tt.wantIn)
			}
			if !strings.Contains(err.Error(), "at byte ") {
				t.Errorf("error %q does not name the offset", err)
			}
		})
	}
}

func TestDecodeSpringPageEmpty(t *testing.T) {
	tests := []struct {
		body      string
		wantEmpty bool
		wantLast  bool
	}{
		{`{"content":[],"last":true,"empty":true}`, true, true},
		{`{"content":[],"last":false,"empty":false}`, true, false}, // no items: Empty whatever the server says
		{`{"content":[{"uuid":"a"}],"last":false,"empty":false,"pageable":{"pageSize":50}}`, false, false},
	}
	for _, tt := range tests {
		page, err := DecodeSpringPage[Exception]([]byte(tt.body))
		if err != nil {
			t.Fatalf("%s: %v", tt.body, err)
		}
		if page.Empty != tt.wantEmpty || page.Last != tt.wantLast {
			t.Errorf("%s: Empty=%v Last=%v, want %v %v", tt.body, page.Empty, page.Last, tt.wantEmpty, tt.wantLast)
		}
	}
}

func FuzzDecodeSpringPage(f *testing.F) {
	for _, name := range []string{fixturePolicies, fixtureExceptions, fixtureManagedIdentities, fixtureRoleDefinitions} {
		f.Add(readFixture(f, name))
	}
	for _, s := range []string{
		``, `null`, `{}`, `[]`, `{"content":[]}`, `{"content":[null]}`, `{"content":[1,"a",[],{}]}`,
		`{"Content":[{"uuid":"a"}],"content":[{"uuid":"b"}]}`, `{"errorCode":"X","message":"m"}`,
		`{"content":[{"uuid":"a","controlIds":[1.5]}]}`, `{"content":[{"uuid":"\u00e9\ud800"}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		fuzzDecode[json.RawMessage](t, body)
		fuzzDecode[Policy](t, body)
		fuzzDecode[Exception](t, body)
	})
}

func fuzzDecode[T any](t *testing.T, body []byte) {
	page, err := DecodeSpringPage[T](body)
	if err != nil {
		var de *DecodeError
		if !errors.As(err, &de) {
			t.Fatalf("error %T is not *DecodeError: %v", err, err)
		}
		if de.Offset < 0 || de.Offset > int64(len(body)) {
			t.Fatalf("offset %d outside body of %d bytes: %v", de.Offset, len(body), err)
		}
		return
	}
	for i, it := range page.Items {
		if !json.Valid(it.Raw) {
			t.Fatalf("item %d: Raw %q is not valid JSON", i, it.Raw)
		}
		if !bytes.Contains(body, it.Raw) {
			t.Fatalf("item %d: Raw %q is not a slice of the body", i, it.Raw)
		}
	}
	if len(page.Items) == 0 && !page.Empty {
		t.Fatal("no items but not Empty")
	}
}
