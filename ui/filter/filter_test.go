package filter

import (
	"strings"
	"testing"
	"time"
)

var titles = []string{"NAME", "STATE", "PRINCIPAL TYPE", "CONTROLS", "TAGS", "ACCOUNT TAGS"}

var rows = map[string][]string{
	"osaka":  {"Osaka", "ACTIVE", "User", "3", "Name=Osaka", "name=automation; Testing3=Test_2.15.0-3"},
	"oci":    {"OCI Resource Level Exception", "EXPIRED", "ServicePrincipal", "25", "", ""},
	"scan":   {"Qualys Snapshot Scanner", "INACTIVE", "Group", "x", "App=qualys-snapshot-scanner; InstancePurpose=Scanning; Name=Qualys Snapshot Scanner", "name=automation"},
	"blanks": {"", "", "", "", "", ""},
}

func TestParse(t *testing.T) {
	tests := []struct {
		q    string
		want []string // keys of rows that match, sorted
	}{
		{"", []string{"blanks", "oci", "osaka", "scan"}},
		{"osaka", []string{"osaka"}},
		{"OSAKA", []string{"osaka"}},
		{"!osaka", []string{"blanks", "oci", "scan"}},
		{`"resource level"`, []string{"oci"}},
		{"oci level", []string{"oci"}},
		{"oci osaka", nil},
		{"state:act", []string{"osaka", "scan"}}, // ACTIVE and INACTIVE
		{"state=active", []string{"osaka"}},
		{"principaltype:user", []string{"osaka"}},
		{"principal_type=group", []string{"scan"}},
		{"controls>20", []string{"oci"}},
		{"controls>=3", []string{"oci", "osaka"}},
		{"controls<4", []string{"osaka"}},
		{"tag:Name=Osaka", []string{"osaka"}},
		{"tag:name=osaka", []string{"osaka"}},
		{"tag:InstancePurpose", []string{"scan"}},
		{"accountTag:name=automation", []string{"osaka", "scan"}},
		{"!accountTag:name=automation", []string{"blanks", "oci"}},
		{"http://x=y", nil}, // no column "http": plain text
	}
	for _, tt := range tests {
		t.Run(tt.q, func(t *testing.T) {
			m, err := Parse(tt.q, titles)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, k := range []string{"blanks", "oci", "osaka", "scan"} {
				if m(rows[k]) {
					got = append(got, k)
				}
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("%q matched %v, want %v", tt.q, got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	for _, tt := range []struct{ q, want string }{
		{`"open`, "unclosed quote"},
		{"bogus:x", `no column "bogus"`},
		{"controls>many", `"many" is not a number`},
	} {
		if _, err := Parse(tt.q, titles); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: error %v, want %q", tt.q, err, tt.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"", "osaka", "!x", `"a b"`, "state:act", "controls>=3", "tag:Name=Osaka", "!!a", ":", "=", ">", "a>", `"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		m, err := Parse(q, titles)
		if err != nil {
			return
		}
		for _, r := range rows {
			m(r)
		}
		m(nil)
	})
}

func TestAgeComparisons(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	Now = func() time.Time { return now }
	defer func() { Now = time.Now }()
	cols := []string{"DISPLAY NAME", "LAST SIGN-IN"}
	rows := map[string][]string{
		"old":    {"a", now.Add(-100 * 24 * time.Hour).Format(time.RFC3339)},
		"recent": {"b", now.Add(-2 * 24 * time.Hour).Format("2006-01-02T15:04:05.000Z07:00")},
		"never":  {"c", ""},
	}
	for _, tt := range []struct{ q, want string }{
		{"signin>90d", "old"},
		{"signin<7d", "recent"},
		{"lastsignin>1w", "old"},
		{"lastsignin<1y", "old,recent"},
		{"!signin<7d", "never,old"},
	} {
		m, err := Parse(tt.q, cols)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, k := range []string{"never", "old", "recent"} {
			if m(rows[k]) {
				got = append(got, k)
			}
		}
		if strings.Join(got, ",") != tt.want {
			t.Errorf("%q matched %v, want %s", tt.q, got, tt.want)
		}
	}
}
