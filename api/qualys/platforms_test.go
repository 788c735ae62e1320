package qualys

import (
	"reflect"
	"strings"
	"testing"
)

// The platform table as DESIGN-NOTES lists it.
func TestPlatformTable(t *testing.T) {
	want := []Platform{
		{"US1", "https://qualysapi.qualys.com", "https://gateway.qg1.apps.qualys.com", "https://qualysguard.qualys.com"},
		{"US2", "https://qualysapi.qg2.apps.qualys.com", "https://gateway.qg2.apps.qualys.com", "https://qualysguard.qg2.apps.qualys.com"},
		{"US3", "https://qualysapi.qg3.apps.qualys.com", "https://gateway.qg3.apps.qualys.com", "https://qualysguard.qg3.apps.qualys.com"},
		{"US4", "https://qualysapi.qg4.apps.qualys.com", "https://gateway.qg4.apps.qualys.com", "https://qualysguard.qg4.apps.qualys.com"},
		{"EU1", "https://qualysapi.qualys.eu", "https://gateway.qg1.apps.qualys.eu", "https://qualysguard.qualys.eu"},
		{"EU2", "https://qualysapi.qg2.apps.qualys.eu", "https://gateway.qg2.apps.qualys.eu", "https://qualysguard.qg2.apps.qualys.eu"},
		{"EU3", "https://qualysapi.qg3.apps.qualys.it", "https://gateway.qg3.apps.qualys.it", "https://qualysguard.qg3.apps.qualys.it"},
		{"IN1", "https://qualysapi.qg1.apps.qualys.in", "https://gateway.qg1.apps.qualys.in", "https://qualysguard.qg1.apps.qualys.in"},
		{"CA1", "https://qualysapi.qg1.apps.qualys.ca", "https://gateway.qg1.apps.qualys.ca", "https://qualysguard.qg1.apps.qualys.ca"},
		{"AE1", "https://qualysapi.qg1.apps.qualys.ae", "https://gateway.qg1.apps.qualys.ae", "https://qualysguard.qg1.apps.qualys.ae"},
		{"UK1", "https://qualysapi.qg1.apps.qualys.co.uk", "https://gateway.qg1.apps.qualys.co.uk", "https://qualysguard.qg1.apps.qualys.co.uk"},
		{"AU1", "https://qualysapi.qg1.apps.qualys.com.au", "https://gateway.qg1.apps.qualys.com.au", "https://qualysguard.qg1.apps.qualys.com.au"},
		{"KSA1", "https://qualysapi.qg1.apps.qualysksa.com", "https://gateway.qg1.apps.qualysksa.com", "https://qualysguard.qg1.apps.qualysksa.com"},
	}
	if len(Platforms) != len(want) {
		t.Fatalf("%d platforms, want %d", len(Platforms), len(want))
	}
	for i := range want {
		if Platforms[i] != want[i] {
			t.Errorf("Platforms[%d] = %+v, want %+v", i, Platforms[i], want[i])
		}
	}
	hosts := map[string]string{}
	for _, p := range Platforms {
		for _, u := range []string{p.APIServer, p.Gateway, p.PlatformURL} {
			if !strings.HasPrefix(u, "https://") || strings.HasSuffix(u, "/") {
				t.Errorf("%s: %q is not an https URL without a trailing slash", p.ID, u)
			}
			if other, dup := hosts[u]; dup {
				t.Errorf("%s and %s share %s", other, p.ID, u)
			}
			hosts[u] = p.ID
		}
		// Each gateway must be accepted by New.
		if _, err := New(Config{GatewayURL: p.Gateway, Username: "u"}); err != nil {
			t.Errorf("%s: New rejects the gateway: %v", p.ID, err)
		}
	}
}

func TestPlatformByID(t *testing.T) {
	tests := []struct {
		id      string
		want    string // "" = not found
		gateway string
	}{
		{"US1", "US1", "https://gateway.qg1.apps.qualys.com"},
		{"us1", "US1", "https://gateway.qg1.apps.qualys.com"},
		{"UK1", "UK1", "https://gateway.qg1.apps.qualys.co.uk"},
		{"uk1", "UK1", "https://gateway.qg1.apps.qualys.co.uk"},
		{" ksa1 ", "KSA1", "https://gateway.qg1.apps.qualysksa.com"},
		{"Eu3", "EU3", "https://gateway.qg3.apps.qualys.it"},
		{"US5", "", ""},
		{"", "", ""},
		{"US", "", ""},
	}
	for _, tt := range tests {
		p, ok := PlatformByID(tt.id)
		if ok != (tt.want != "") || p.ID != tt.want || p.Gateway != tt.gateway {
			t.Errorf("PlatformByID(%q) = %+v, %v; want %s", tt.id, p, ok, tt.want)
		}
	}
}

// Every host of every platform, in every form a user may paste it.
func TestPlatformFromURLAllHosts(t *testing.T) {
	forms := []struct {
		name string
		make func(host string) string
	}{
		{"bare host", func(h string) string { return h }},
		{"https", func(h string) string { return "https://" + h }},
		{"https slash", func(h string) string { return "https://" + h + "/" }},
		{"http", func(h string) string { return "http://" + h }},
		{"path and query", func(h string) string { return "https://" + h + "/cloudview-api/rest/v2/policies?pageNo=0&pageSize=50" }},
		{"bare host and path", func(h string) string { return h + "/api/2.0/fo/" }},
		{"port", func(h string) string { return h + ":443" }},
		{"upper case", func(h string) string { return "HTTPS://" + strings.ToUpper(h) + "/AUTH" }},
		{"spaces and fqdn dot", func(h string) string { return "  https://" + h + ".  " }},
		{"credentials", func(h string) string { return "https://alice:s3cret@" + h + "/" }},
		{"scheme-relative", func(h string) string { return "//" + h }},
	}
	for _, p := range Platforms {
		for _, u := range []string{p.APIServer, p.Gateway, p.PlatformURL} {
			host := strings.TrimPrefix(u, "https://")
			for _, f := range forms {
				in := f.make(host)
				got, err := PlatformFromURL(in)
				if err != nil {
					t.Errorf("%s %s: PlatformFromURL(%q): %v", p.ID, f.name, in, err)
					continue
				}
				if !reflect.DeepEqual(got, p) {
					t.Errorf("%s %s: PlatformFromURL(%q) = %s", p.ID, f.name, in, got.ID)
				}
			}
		}
	}
}

func TestPlatformFromURL(t *testing.T) {
	tests := []struct {
		in      string
		want    string   // platform ID; "" = error
		wantErr []string // substrings of the error
		notErr  []string // must not appear in the error
	}{
		{in: "qualysapi.qg1.apps.qualys.co.uk", want: "UK1"}, // seed 004's API URL
		{in: "https://qualysguard.qualys.com/fo/login.php", want: "US1"},
		{in: "gateway.qg3.apps.qualys.com", want: "US3"},
		{in: "https://gateway.qg1.apps.qualysksa.com/auth", want: "KSA1"},
		{in: "qualysapi.qualys.eu", want: "EU1"},
		{in: "gateway.qg9.apps.qualys.com", wantErr: []string{`"gateway.qg9.apps.qualys.com"`, "US1", "UK1", "KSA1"}},
		{in: "https://bob:hunter2@example.com/x", wantErr: []string{`"example.com"`, "known platforms"}, notErr: []string{"hunter2", "bob"}},
		{in: "qualysapi.qg1.apps.qualys.com", wantErr: []string{`"qualysapi.qg1.apps.qualys.com"`}}, // US1's API server is qualysapi.qualys.com
		{in: "qualys.com", wantErr: []string{`"qualys.com"`}},
		{in: "", wantErr: []string{"empty"}},
		{in: "   ", wantErr: []string{"empty"}},
		{in: "https://", wantErr: []string{"no host"}},
		{in: "https://u:pw@exa mple.com", wantErr: []string{"does not parse"}, notErr: []string{":pw"}},
	}
	for _, tt := range tests {
		got, err := PlatformFromURL(tt.in)
		if tt.want != "" {
			if err != nil || got.ID != tt.want {
				t.Errorf("PlatformFromURL(%q) = %s, %v; want %s", tt.in, got.ID, err, tt.want)
			}
			continue
		}
		if err == nil {
			t.Errorf("PlatformFromURL(%q) = %s, want an error", tt.in, got.ID)
			continue
		}
		if got != (Platform{}) {
			t.Errorf("PlatformFromURL(%q) returned %+v with its error", tt.in, got)
		}
		for _, w := range tt.wantErr {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("PlatformFromURL(%q) error %q lacks %q", tt.in, err, w)
			}
		}
		for _, w := range tt.notErr {
			if strings.Contains(err.Error(), w) {
				t.Errorf("PlatformFromURL(%q) error %q repeats %q", tt.in, err, w)
			}
		}
	}
}

func FuzzPlatformFromURL(f *testing.F) {
	for _, p := range Platforms {
		f.Add(p.APIServer)
		f.Add(strings.TrimPrefix(p.Gateway, "https://") + "/auth")
		f.Add(p.PlatformURL + ":8443/x?y#z")
	}
	for _, s := range []string{"", " ", "://", "https://", "//", "[::1]", "http://[::1", "%zz", "a@b@c", "https://u:p@h", "\x00", "ex ample.com", "qualysapi.qualys.com.", "HTTPS://QUALYSAPI.QUALYS.COM"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := PlatformFromURL(s)
		if err != nil {
			if p != (Platform{}) {
				t.Fatalf("error %v with platform %+v", err, p)
			}
			return
		}
		q, ok := PlatformByID(p.ID)
		if !ok || q != p {
			t.Fatalf("PlatformFromURL(%q) = %+v, not a row of Platforms", s, p)
		}
		host, err := hostOf(s)
		if err != nil {
			t.Fatalf("PlatformFromURL(%q) succeeded but hostOf fails: %v", s, err)
		}
		if !strings.EqualFold("https://"+host, p.APIServer) && !strings.EqualFold("https://"+host, p.Gateway) && !strings.EqualFold("https://"+host, p.PlatformURL) {
			t.Fatalf("PlatformFromURL(%q) = %s, whose hosts do not include %q", s, p.ID, host)
		}
	})
}
