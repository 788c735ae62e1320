package catalog

import (
	"encoding/json"
	"os"
	"reflect"
	"sort"
	"testing"

	"qtc/store"
)

// seedRecords reads the content of a seed 000 sample page.
func seedRecords(t *testing.T, file string) []json.RawMessage {
	t.Helper()
	data, err := os.ReadFile("../../api/qualys/testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	var page struct{ Content []json.RawMessage }
	if err := json.Unmarshal(data, &page); err != nil {
		t.Fatal(err)
	}
	return page.Content
}

func TestCellsFromSeedSamples(t *testing.T) {
	tests := []struct {
		typ, file string
		index     int
		want      []string
	}{
		{"policies", "policies_v2_page0.json", 0, []string{"Azure Database Service Best Practices Policy", "AZURE", "SYSTEM_DEFINED_POLICY", "GLOBAL", "14", "2020-07-09T11:33:36+0000"}},
		{"policies", "policies_v2_page0.json", 1, []string{"GCP Cloud SQL Best Practices Policy", "GCP", "SYSTEM_DEFINED_POLICY", "CUSTOMER", "24", "2026-01-30T05:57:46+0000"}},
		{"exceptions", "exceptions_list_page0.json", 0, []string{"OCI Resource Level Exception", "ACTIVE", "Risk Accepted", "CONNECTOR", "2026-05-17T18:30:00.000Z", "2026-05-20T18:29:59.000Z"}},
	}
	for _, tt := range tests {
		t.Run(tt.typ, func(t *testing.T) {
			typ, ok := Lookup(tt.typ)
			if !ok {
				t.Fatalf("type %s not registered", tt.typ)
			}
			raw := seedRecords(t, tt.file)[tt.index]
			rec, err := typ.Record(raw, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(rec.Cells, tt.want) {
				t.Errorf("cells = %q, want %q", rec.Cells, tt.want)
			}
			if rec.ID != "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" {
				t.Errorf("id = %q, want the seed's (masked) uuid", rec.ID)
			}
			if len(rec.Cells) != len(typ.Layout().Columns) {
				t.Errorf("%d cells for %d columns", len(rec.Cells), len(typ.Layout().Columns))
			}
		})
	}
}

func TestRecordErrorsNameTheRecord(t *testing.T) {
	typ, _ := Lookup("exceptions")
	tests := []struct {
		name string
		raw  string
	}{
		{"not json", `{"uuid":`},
		{"no uuid", `{"name":"x"}`},
		{"wrong type", `{"uuid":"u1","name":5}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := typ.Record(json.RawMessage(tt.raw), nil); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

func TestRegistry(t *testing.T) {
	kinds := map[string][]string{}
	for _, n := range Names() {
		typ, _ := Lookup(n)
		kinds[typ.ConnectorKind] = append(kinds[typ.ConnectorKind], n)
		if typ.DefaultSort >= len(typ.Columns) {
			t.Errorf("%s: default sort column %d out of range", n, typ.DefaultSort)
		}
		for _, c := range typ.Columns {
			if c.Right && c.Kind != store.Number {
				t.Errorf("%s: %s is right-aligned but not a number", n, c.Title)
			}
		}
	}
	var got []string
	last := -1
	for _, typ := range ForKind("qualys") {
		got = append(got, typ.Name)
		if typ.Order < last {
			t.Errorf("ForKind out of order at %s", typ.Name)
		}
		last = typ.Order
	}
	if got[0] != "policies" || got[1] != "exceptions" {
		t.Errorf("ForKind(qualys) starts %v, want policies, exceptions", got[:2])
	}
	sort.Strings(got)
	if !reflect.DeepEqual(got, kinds["qualys"]) {
		t.Errorf("ForKind(qualys) = %v, want %v", got, kinds["qualys"])
	}
}
