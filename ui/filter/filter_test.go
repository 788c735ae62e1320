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
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		terms, err := split(q)
		if err != nil {
			t.Fatalf("Parse accepted %q that split rejects: %v", q, err)
		}
		// Rows to match: the fixed ones, none, and one made of the terms.
		cases := [][]string{nil, make([]string, len(titles))}
		for _, r := range rows {
			cases = append(cases, r)
		}
		own := make([]string, len(titles))
		for i, term := range terms {
			own[i%len(own)] += term
		}
		cases = append(cases, own)
		twice, err := Parse(q+" "+q, titles)
		if err != nil {
			t.Fatalf("%q parses but twice over fails: %v", q, err)
		}
		var termMatchers, negated []Matcher
		for _, term := range terms { // terms hold no quotes: quoting keeps them whole
			tm, err := Parse(`"`+term+`"`, titles)
			if err != nil {
				t.Fatalf("term %q of %q alone: %v", term, q, err)
			}
			nm, err := Parse(`"!`+term+`"`, titles)
			if err != nil {
				t.Fatalf("negated term !%q of %q: %v", term, q, err)
			}
			termMatchers, negated = append(termMatchers, tm), append(negated, nm)
		}
		for _, r := range cases {
			got := m(r)
			if twice(r) != got {
				t.Fatalf("%q and %q disagree on %q", q, q+" "+q, r)
			}
			all := true
			for i, tm := range termMatchers {
				if negated[i](r) == tm(r) {
					t.Fatalf("!%q matches %q like %q does", terms[i], r, terms[i])
				}
				all = all && tm(r)
			}
			if all != got {
				t.Fatalf("%q matches %q: %v, but its terms: %v", q, r, got, all)
			}
		}
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

// containsFoldNaive is the definition containsFold implements: every start
// position, bytes of s folded to lower case.
func containsFoldNaive(s, needle string) bool {
	for i := 0; i+len(needle) <= len(s); i++ {
		if hasPrefixFold(s[i:], needle) {
			return true
		}
	}
	return false
}

func TestContainsFold(t *testing.T) {
	tests := []struct {
		s, needle string
		want      bool
	}{
		{"Garcia", "garcia", true},
		{"GARCIA", "gar", true},
		{"Ana García", "garc", true}, // ASCII folding only: í stays
		{"Ana García", "garcí", true},
		{"Ana GARCÍA", "garcí", false},
		{"x", "", true},
		{"", "a", false},
		{"ab", "abc", false},
		{"aaab", "aab", true},
		{"AaAb", "aab", true},
		{"abcabd", "abd", true},
		{"Osaka", "Osa", false}, // an upper-case needle never matches
		{"1.2.3", ".3", true},
		{"gag", "g", true},
		{"xyz", "g", false},
	}
	for _, tt := range tests {
		if got := containsFold(tt.s, tt.needle); got != tt.want {
			t.Errorf("containsFold(%q, %q) = %v, want %v", tt.s, tt.needle, got, tt.want)
		}
	}
	// Every string of up to 4 bytes over a small alphabet against every
	// needle of up to 3: the fast search agrees with the definition.
	alphabet := []string{"a", "A", "b", "B", "-"}
	var all []string
	var grow func(prefix string, n int)
	grow = func(prefix string, n int) {
		all = append(all, prefix)
		if n == 0 {
			return
		}
		for _, c := range alphabet {
			grow(prefix+c, n-1)
		}
	}
	grow("", 4)
	for _, s := range all {
		for _, needle := range all {
			if len(needle) > 3 {
				continue
			}
			if got, want := containsFold(s, needle), containsFoldNaive(s, needle); got != want {
				t.Fatalf("containsFold(%q, %q) = %v, want %v", s, needle, got, want)
			}
		}
	}
}
