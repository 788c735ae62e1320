package sim

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"testing"
	"time"
)

// sampleFiles maps each resource type to its release-notes sample.
var sampleFiles = map[string]string{
	TypeEC2Instance:                    "testdata/ec2_instance_marker_sample.json",
	TypeEntraIDUser:                    "testdata/entra_id_user_sample.json",
	TypeEntraIDGroup:                   "testdata/entra_id_group_sample.json",
	TypeEntraIDServicePrincipal:        "testdata/entra_id_service_principal_sample.json",
	TypeEntraIDApplicationRegistration: "testdata/entra_id_application_registration_sample.json",
	TypeRoleAssignment:                 "testdata/role_assignment_sample.json",
	TypeRoleDefinitions:                "testdata/role_definitions_sample.json",
	TypeDenyAssignment:                 "testdata/deny_assignment_sample.json",
	TypeManagedIdentities:              "testdata/managed_identities_sample.json",
}

// sampleRecords returns the records of a sample file (the content array,
// or the document itself when it is a bare record).
func sampleRecords(t testing.TB, file string) []json.RawMessage {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var env struct {
		Content []json.RawMessage `json:"content"`
	}
	if err := json.Unmarshal(b, &env); err != nil {
		t.Fatal(err)
	}
	if env.Content == nil {
		return []json.RawMessage{bytes.TrimSpace(b)}
	}
	return env.Content
}

// kindsMap returns key → JSON kind of an object.
func kindsMap(t testing.TB, doc []byte) map[string]string {
	out := map[string]string{}
	for _, k := range kinds(t, doc) {
		key, kind, _ := strings.Cut(k, ":")
		out[key] = kind
	}
	return out
}

// checkShape asserts rec has exactly the sample's keys in its order, and
// the sample's value kinds where neither side is null; nested objects are
// checked the same way against ref (key → a sample value holding the
// nested objects).
func checkShape(t *testing.T, what string, rec json.RawMessage, sample json.RawMessage) {
	t.Helper()
	if got, want := objectKeys(t, rec), objectKeys(t, sample); !equalStrings(got, want) {
		t.Fatalf("%s: keys\n got %v\nwant %v", what, got, want)
	}
	got, want := kindsMap(t, rec), kindsMap(t, sample)
	for k, w := range want {
		if g := got[k]; g != w && g != "null" && w != "null" {
			t.Errorf("%s: %s is %s, the sample's is %s", what, k, g, w)
		}
	}
}

// nestedKeys returns the key order of the first object found in each
// array or object member of rec (e.g. "tags" → [key value]).
func nestedKeys(t testing.TB, rec []byte) map[string][]string {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(rec, &m); err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for k, v := range m {
		v = bytes.TrimSpace(v)
		switch {
		case len(v) > 2 && v[0] == '[':
			var elems []json.RawMessage
			if json.Unmarshal(v, &elems) == nil && len(elems) > 0 && bytes.HasPrefix(bytes.TrimSpace(elems[0]), []byte("{")) {
				out[k] = objectKeys(t, elems[0])
				for k2, v2 := range nestedKeys(t, elems[0]) {
					out[k+"."+k2] = v2
				}
			}
		case len(v) > 2 && v[0] == '{':
			out[k] = objectKeys(t, v)
		}
	}
	return out
}

// pageAzure pages a CIEM type to the end and returns the records.
func pageAzure(t *testing.T, base, tok, typ, query string, size int) ([]json.RawMessage, *springPage) {
	t.Helper()
	var out []json.RawMessage
	var first *springPage
	for page := 0; ; page++ {
		target := fmt.Sprintf("%s/cloudview-api/rest/v1/resource/%s/Azure?pageNo=%d&pageSize=%d%s", base, typ, page, size, query)
		p, _ := fetchPage(t, target, tok)
		if first == nil {
			first = p
		}
		out = append(out, p.Content...)
		if p.Last {
			return out, first
		}
		if page > 100000 {
			t.Fatal("never reached the last page")
		}
	}
}

func sameRaw(t *testing.T, what string, got, want []json.RawMessage) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d records, want %d", what, len(got), len(want))
	}
	seen := map[string]bool{}
	for i := range got {
		if seen[string(got[i])] {
			t.Fatalf("%s: record %d is a duplicate", what, i)
		}
		seen[string(got[i])] = true
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("%s: record %d differs:\n got %s\nwant %s", what, i, got[i], want[i])
		}
	}
}

func TestAzureResourcePaging(t *testing.T) {
	s, base, _ := newTestServer(t, Options{RateLimit: math.MaxInt})
	tok := login(t, base)
	for _, typ := range azureTypes {
		t.Run(typ, func(t *testing.T) {
			t.Parallel()
			truth := s.Records(typ)
			if len(truth) != (Options{}).Count(typ) || len(truth) == 0 {
				t.Fatalf("%d records, want %d", len(truth), (Options{}).Count(typ))
			}
			samples := sampleRecords(t, sampleFiles[typ])
			var wantType string
			_ = json.Unmarshal(kindValue(t, samples[0], "resourceType"), &wantType)
			for _, size := range []int{1, 7, 50, 200, 500} {
				got, first := pageAzure(t, base, tok, typ, "", size)
				sameRaw(t, fmt.Sprintf("pageSize=%d", size), got, truth)
				checkPage(t, first, 0, size, 200, len(truth))
			}
			// Envelope keys as the sample's.
			_, body := fetchPage(t, base+"/cloudview-api/rest/v1/resource/"+typ+"/Azure?pageSize=2", tok)
			sampleDoc, _ := os.ReadFile(sampleFiles[typ])
			for part, w := range shape(t, sampleDoc) {
				if part == "record" {
					continue
				}
				if g := shape(t, body)[part]; !equalStrings(g, w) {
					t.Errorf("%s: %v, want %v", part, g, w)
				}
			}
			// Every record has the sample's keys, order and kinds; nested
			// objects the sample's key order.
			wantNested := map[string][]string{}
			for _, smp := range samples {
				for k, v := range nestedKeys(t, smp) {
					wantNested[k] = v
				}
			}
			uuids := map[string]bool{}
			for i, r := range truth {
				checkShape(t, fmt.Sprintf("record %d", i), r, samples[0])
				for k, v := range nestedKeys(t, r) {
					if w, ok := wantNested[k]; ok && !equalStrings(v, w) {
						t.Fatalf("record %d: %s keys %v, sample %v", i, k, v, w)
					}
				}
				var m struct {
					UUID, ResourceType string
				}
				_ = json.Unmarshal(r, &m)
				if !uuidRE.MatchString(m.UUID) || uuids[m.UUID] {
					t.Fatalf("record %d: uuid %q invalid or repeated", i, m.UUID)
				}
				uuids[m.UUID] = true
				if m.ResourceType != wantType {
					t.Fatalf("record %d: resourceType %q, want %q", i, m.ResourceType, wantType)
				}
			}
		})
	}
}

// kindValue returns member key of the object doc.
func kindValue(t testing.TB, doc []byte, key string) json.RawMessage {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(doc, &m); err != nil {
		t.Fatal(err)
	}
	return m[key]
}

func TestUnknownResourceType(t *testing.T) {
	_, base, _ := newTestServer(t, Options{})
	tok := login(t, base)
	tests := []struct{ path, typ string }{
		{"/cloudview-api/rest/v1/resource/NOPE/Azure", "NOPE"},
		{"/cloudview-api/rest/v1/resource/entra_id_user/Azure", "entra_id_user"},
		{"/cloudview-api/rest/v1/resource/EC2_INSTANCE/Azure", "EC2_INSTANCE"},
		{"/cloudview-api/rest/v1/resource/ENTRA_ID_USER/AWS", "ENTRA_ID_USER"},
		{"/cloudview-api/rest/v1/resource/S3_BUCKET/AWS", "S3_BUCKET"},
		{"/cloudview-api/rest/v1/resource/ROLE_ASSIGNMENT/uuid/x/AWS", "ROLE_ASSIGNMENT"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, body := get(t, base+tt.path, tok)
			if e := checkError(t, resp, body, http.StatusBadRequest); !strings.Contains(e.Message, "'"+tt.typ+"'") {
				t.Errorf("message %q does not name %s", e.Message, tt.typ)
			}
		})
	}
	for _, p := range []string{"/cloudview-api/rest/v1/resource/ENTRA_ID_USER/azure", "/cloudview-api/rest/v1/resource/ENTRA_ID_USER"} {
		resp, body := get(t, base+p, tok)
		checkError(t, resp, body, http.StatusNotFound)
	}
}

// markerEnvelope is the AWS inventory page.
type markerEnvelope struct {
	CurrentPageSize int               `json:"currentPageSize"`
	Content         []json.RawMessage `json:"content"`
	HasNext         bool              `json:"hasNext"`
	TotalHits       int               `json:"totalHits"`
	HasContent      bool              `json:"hasContent"`
	Marker          *string           `json:"marker"`
}

const ec2Path = "/cloudview-api/rest/v1/resource/EC2_INSTANCE/AWS"

// pageAWS follows markers to the end of a query.
func pageAWS(t *testing.T, base, tok string, query url.Values) ([]json.RawMessage, []markerEnvelope) {
	t.Helper()
	var recs []json.RawMessage
	var pages []markerEnvelope
	q := url.Values{}
	for k, v := range query {
		q[k] = v
	}
	for {
		resp, body := get(t, base+ec2Path+"?"+q.Encode(), tok)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s", q.Encode(), resp.StatusCode, body)
		}
		if len(pages) == 0 { // (key order once per query: JSON work is slow under -race)
			if got, want := objectKeys(t, body), []string{"currentPageSize", "content", "hasNext", "totalHits", "hasContent", "marker"}; !equalStrings(got, want) {
				t.Fatalf("envelope keys %v", got)
			}
		}
		var env markerEnvelope
		if err := json.Unmarshal(body, &env); err != nil {
			t.Fatal(err)
		}
		if env.CurrentPageSize != len(env.Content) || env.HasContent != (len(env.Content) > 0) || (env.Marker != nil) != env.HasNext {
			t.Fatalf("envelope %d/%d hasContent %v hasNext %v marker %v", env.CurrentPageSize, len(env.Content), env.HasContent, env.HasNext, env.Marker)
		}
		pages = append(pages, env)
		recs = append(recs, env.Content...)
		if !env.HasNext {
			return recs, pages
		}
		// The marker is the search_after key of the page's last record.
		raw, err := base64.StdEncoding.DecodeString(*env.Marker)
		if err != nil {
			t.Fatalf("marker %q: %v", *env.Marker, err)
		}
		var key []any
		var last struct{ UUID, Updated string }
		_ = json.Unmarshal(env.Content[len(env.Content)-1], &last)
		lastT, _ := time.Parse(qualysTimeLayout, last.Updated)
		if err := json.Unmarshal(raw, &key); err != nil || len(key) != 2 || key[0] != float64(lastT.UnixMilli()) || key[1] != last.UUID {
			t.Fatalf("marker %s, last record %s %s", raw, last.Updated, last.UUID)
		}
		q.Set("marker", *env.Marker)
		if len(pages) > 100000 {
			t.Fatal("never ended")
		}
	}
}

func TestAWSMarkerPaging(t *testing.T) {
	s, base, _ := newTestServer(t, Options{RateLimit: math.MaxInt})
	tok := login(t, base)
	truth := s.Records(TypeEC2Instance)
	if len(truth) != 120 {
		t.Fatalf("%d instances", len(truth))
	}
	samples := sampleRecords(t, sampleFiles[TypeEC2Instance])
	object := sampleRecords(t, "testdata/ec2_instance_object_sample.json")[0]
	wantNested := nestedKeys(t, samples[0])
	for k, v := range nestedKeys(t, object) {
		wantNested[k] = v
	}
	for _, size := range []string{"1", "7", "50", "200", "1000"} {
		got, pages := pageAWS(t, base, tok, url.Values{"pageSize": {size}})
		sameRaw(t, "pageSize="+size, got, truth)
		for _, p := range pages {
			if p.TotalHits != len(truth) {
				t.Errorf("totalHits %d", p.TotalHits)
			}
		}
	}
	// Default page size.
	_, pages := pageAWS(t, base, tok, nil)
	if len(pages[0].Content) != 50 {
		t.Errorf("default page size %d", len(pages[0].Content))
	}
	states := map[string]int{}
	var prev time.Time
	for i, r := range truth {
		checkShape(t, fmt.Sprintf("instance %d", i), r, samples[0])
		for k, v := range nestedKeys(t, r) {
			if w, ok := wantNested[k]; ok && !equalStrings(v, w) {
				t.Fatalf("instance %d: %s keys %v, sample %v", i, k, v, w)
			}
		}
		var v ec2Instance
		decodeStrict(t, r, &v)
		states[v.InstanceState]++
		u := parseTime(t, qualysTimeLayout, v.Updated)
		if u.Before(prev) {
			t.Fatalf("instance %d not in marker order", i)
		}
		prev = u
		if v.ResourceType != "EC2_INSTANCE" || v.CloudType != "AWS" || v.ResourceID != v.InstanceID || len(v.AccountTags) == 0 || len(v.Tags) == 0 ||
			!strings.HasPrefix(v.AvailabilityZone, v.Region) || v.ConnectorUUIDs[0] != v.ConnectorUUID {
			t.Fatalf("instance %d: %s", i, r)
		}
		if (v.InstanceState == "terminated") != (v.VpcID == nil) || (v.PublicIPAddress != nil) != (v.PublicDNSName != "") {
			t.Fatalf("instance %d inconsistent: %s", i, r)
		}
		launch, created := parseTime(t, qualysTimeLayout, v.LaunchTime), parseTime(t, "2006-01-02T15:04:05.000-07:00", v.Created)
		if launch.After(created) || created.After(u) || u.After(testNow) {
			t.Fatalf("instance %d times launch %s created %s updated %s", i, launch, created, u)
		}
	}
	if states["running"] == 0 || states["stopped"] == 0 || states["terminated"] == 0 {
		t.Errorf("states %v", states)
	}
}

// accountsOf returns the cloudAccountIds of recs, sorted.
func accountsOf(t *testing.T, recs []json.RawMessage) []string {
	seen := map[string]bool{}
	for _, r := range recs {
		var v struct{ CloudAccountID string }
		_ = json.Unmarshal(r, &v)
		seen[v.CloudAccountID] = true
	}
	var out []string
	for a := range seen {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

func TestAWSResultCapAndAccountSplit(t *testing.T) {
	const n = 12000
	s, base, _ := newTestServer(t, Options{Counts: map[string]int{TypeEC2Instance: n}, RateLimit: math.MaxInt, MaxPageSize: 1000})
	tok := login(t, base)
	truth := s.Records(TypeEC2Instance)
	if len(truth) != n {
		t.Fatalf("%d instances", len(truth))
	}
	got, pages := pageAWS(t, base, tok, url.Values{"pageSize": {"999"}}) // an odd size ends exactly at the cap too
	if len(got) != awsMaxResults || pages[len(pages)-1].HasNext || pages[0].TotalHits != n {
		t.Fatalf("unfiltered: %d records in %d pages, totalHits %d", len(got), len(pages), pages[0].TotalHits)
	}
	sameRaw(t, "first 10,000", got, truth[:awsMaxResults])

	// Split by account: every record, once.
	accounts := map[string]bool{}
	for _, r := range truth {
		accounts[rawAccount(r)] = true
	}
	if len(accounts) < 3 {
		t.Fatalf("accounts %v", accounts)
	}
	all := map[string]bool{}
	for a := range accounts {
		recs, pages := pageAWS(t, base, tok, url.Values{"pageSize": {"1000"}, "filter": {"account.id:" + a}})
		if pages[0].TotalHits != len(recs) || len(recs) >= awsMaxResults {
			t.Fatalf("account %s: %d records, totalHits %d", a, len(recs), pages[0].TotalHits)
		}
		for _, r := range recs {
			if !bytes.Contains(r, []byte(`"cloudAccountId":"`+a+`"`)) || all[string(r)] {
				t.Fatalf("account %s: foreign or repeated record", a)
			}
			all[string(r)] = true
		}
	}
	for _, r := range truth {
		if !all[string(r)] {
			t.Fatalf("not reached by the account split: %.80s", r)
		}
	}
}

// rawAccount returns the cloudAccountId of an EC2 record without decoding
// it (JSON work is slow under the race detector).
func rawAccount(r []byte) string {
	const key = `"cloudAccountId":"`
	i := bytes.Index(r, []byte(key))
	if i < 0 {
		return ""
	}
	rest := r[i+len(key):]
	return string(rest[:bytes.IndexByte(rest, '"')])
}

// The seed's curl spells the account filter cloud.accountId, with a space
// after the colon.
func TestAWSAccountFilterSpellings(t *testing.T) {
	s, base, _ := newTestServer(t, Options{RateLimit: math.MaxInt})
	tok := login(t, base)
	truth := s.Records(TypeEC2Instance)
	accounts := accountsOf(t, truth)
	for _, a := range accounts {
		var want []json.RawMessage
		for _, r := range truth {
			if bytes.Contains(r, []byte(`"cloudAccountId":"`+a+`"`)) {
				want = append(want, r)
			}
		}
		for _, f := range []string{"account.id:" + a, "cloud.accountId: " + a, "cloud.accountId:" + a, ` account.id : "` + a + `"`} {
			got, _ := pageAWS(t, base, tok, url.Values{"pageSize": {"25"}, "filter": {f}})
			sameRaw(t, f, got, want)
		}
	}
	_, pages := pageAWS(t, base, tok, url.Values{"filter": {"account.id:000000000000"}})
	if pages[0].TotalHits != 0 || pages[0].HasContent || len(pages) != 1 {
		t.Errorf("unknown account: %+v", pages[0])
	}
}

func TestAWSMarkerErrors(t *testing.T) {
	_, base, clk := newTestServer(t, Options{MarkerTTL: 10 * time.Minute})
	tok := login(t, base)
	_, pages := func() ([]json.RawMessage, []markerEnvelope) {
		resp, body := get(t, base+ec2Path+"?pageSize=10", tok)
		var env markerEnvelope
		if resp.StatusCode != 200 || json.Unmarshal(body, &env) != nil {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		return nil, []markerEnvelope{env}
	}()
	good := *pages[0].Marker
	forged := base64.StdEncoding.EncodeToString([]byte(`[1763620000000,"xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"]`))
	tests := []struct {
		name, marker string
		advance      time.Duration
		status       int
		word         string
	}{
		{"valid", good, 0, 200, ""},
		{"not base64", "%%%", 0, 400, "'marker'"},
		{"base64 of text", base64.StdEncoding.EncodeToString([]byte("hello")), 0, 400, "'marker'"},
		{"wrong arity", base64.StdEncoding.EncodeToString([]byte(`[1]`)), 0, 400, "'marker'"},
		{"wrong types", base64.StdEncoding.EncodeToString([]byte(`["a",1]`)), 0, 400, "'marker'"},
		{"never issued", forged, 0, 400, "expired or is unknown"},
		{"still valid", good, 9*time.Minute + 59*time.Second, 200, ""},
		{"expired", good, time.Second, 400, "expired"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk.Advance(tt.advance)
			resp, body := get(t, base+ec2Path+"?pageSize=10&marker="+url.QueryEscape(tt.marker), tok)
			if tt.status == 200 {
				if resp.StatusCode != 200 {
					t.Fatalf("%d %s", resp.StatusCode, body)
				}
				return
			}
			if e := checkError(t, resp, body, tt.status); !strings.Contains(e.Message, tt.word) {
				t.Errorf("message %q does not say %q", e.Message, tt.word)
			}
		})
	}
}

func TestAWSByUUID(t *testing.T) {
	s, base, _ := newTestServer(t, Options{})
	tok := login(t, base)
	truth := s.Records(TypeEC2Instance)
	sample := sampleRecords(t, "testdata/ec2_instance_by_uuid_sample.json")[0]
	sampleDoc, _ := os.ReadFile("testdata/ec2_instance_by_uuid_sample.json")
	wantNested := nestedKeys(t, sample)
	for _, i := range []int{0, 1, len(truth) / 2, len(truth) - 1} {
		var v ec2Instance
		decodeStrict(t, truth[i], &v)
		target := base + "/cloudview-api/rest/v1/resource/EC2_INSTANCE/uuid/" + v.UUID + "/AWS"
		p, body := fetchPage(t, target, tok)
		checkPage(t, p, 0, 50, 200, 1)
		for part, w := range shape(t, sampleDoc) {
			if part != "record" && !equalStrings(shape(t, body)[part], w) {
				t.Errorf("%s: %v", part, shape(t, body)[part])
			}
		}
		checkShape(t, "detail", p.Content[0], sample)
		for k, w := range wantNested {
			if g, ok := nestedKeys(t, p.Content[0])[k]; ok && !equalStrings(g, w) {
				t.Errorf("detail %s keys %v, sample %v", k, g, w)
			}
		}
		// Same values as the list record; lastUpdated is its updated.
		var list, detail map[string]any
		_ = json.Unmarshal(truth[i], &list)
		_ = json.Unmarshal(p.Content[0], &detail)
		list["lastUpdated"] = list["updated"]
		delete(list, "updated")
		lb, _ := json.Marshal(list)
		db, _ := json.Marshal(detail)
		if !bytes.Equal(lb, db) {
			t.Errorf("detail values differ from the list record:\n%s\n%s", lb, db)
		}
		// The seed's curl passes updated and filter: a match keeps it,
		// a miss is an empty page.
		p, _ = fetchPage(t, target+"?updated="+url.QueryEscape("[now-365d..now]")+"&filter="+url.QueryEscape("cloud.accountId: "+v.CloudAccountID), tok)
		if len(p.Content) != 1 {
			t.Errorf("matching query: %d records", len(p.Content))
		}
		p, _ = fetchPage(t, target+"?filter=account.id:000000000000", tok)
		if len(p.Content) != 0 || p.TotalElements != 0 || !p.Empty {
			t.Errorf("other account: %+v", p)
		}
	}
	resp, body := get(t, base+"/cloudview-api/rest/v1/resource/EC2_INSTANCE/uuid/58eecb45-085c-3598-8794-89662646900e/AWS", tok)
	if e := checkError(t, resp, body, http.StatusNotFound); !strings.Contains(e.Message, "58eecb45-085c-3598-8794-89662646900e") {
		t.Errorf("404 message %q", e.Message)
	}
}

// updatedOf returns a record's update time.
func updatedOf(t *testing.T, rec []byte) time.Time {
	var v struct{ Updated string }
	_ = json.Unmarshal(rec, &v)
	for _, l := range []string{time.RFC3339Nano, fmtMilliPlus, qualysTimeLayout} {
		if u, err := time.Parse(l, v.Updated); err == nil {
			return u
		}
	}
	t.Fatalf("updated %q of %s", v.Updated, rec)
	return time.Time{}
}

func TestUpdatedWindow(t *testing.T) {
	s, base, _ := newTestServer(t, Options{RateLimit: math.MaxInt})
	tok := login(t, base)
	now := testNow
	tests := []struct {
		param    string
		from, to time.Time
	}{
		{"[now-3w..now]", now.AddDate(0, 0, -21), now},
		{"[now-24h..now]", now.Add(-24 * time.Hour), now},
		{"[now-365d..now]", now.AddDate(0, 0, -365), now},
		{"[now-1y..now]", now.AddDate(-1, 0, 0), now},
		{"[now-6M..now-1M]", now.AddDate(0, -6, 0), now.AddDate(0, -1, 0)},
		{"[now-90m..now]", now.Add(-90 * time.Minute), now},
		{"[now-3600s..now]", now.Add(-time.Hour), now},
		{"[now-2w..now-1w]", now.AddDate(0, 0, -14), now.AddDate(0, 0, -7)},
		{"[2026-01-01..2026-03-31]", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 31, 23, 59, 59, 999999999, time.UTC)},
		{"[2026-06-01T00:00:00Z..now]", time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), now},
		{"[2026-06-01T02:00:00+02:00..2026-06-15T12:30:00.5Z]", time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 6, 15, 12, 30, 0, 5e8, time.UTC)},
		{"[ now-30d .. now ]", now.AddDate(0, 0, -30), now},
		{"[now..now-1d]", now, now.AddDate(0, 0, -1)}, // empty
	}
	for _, typ := range []string{TypeEntraIDUser, TypeRoleDefinitions, TypeEC2Instance} {
		truth := s.Records(typ)
		for _, tt := range tests {
			t.Run(typ+tt.param, func(t *testing.T) {
				var want []json.RawMessage
				for _, r := range truth {
					if u := updatedOf(t, r); !u.Before(tt.from) && !u.After(tt.to) {
						want = append(want, r)
					}
				}
				var got []json.RawMessage
				q := url.Values{"updated": {tt.param}}
				if typ == TypeEC2Instance {
					got, _ = pageAWS(t, base, tok, q)
				} else {
					got, _ = pageAzure(t, base, tok, typ, "&"+q.Encode(), 100)
				}
				sameRaw(t, tt.param, got, want)
			})
		}
	}
	// A window bounded by a served value includes that record, whatever
	// the precision the type serves (seconds, ms, 100 ns, ns).
	for _, typ := range append([]string{TypeEC2Instance}, azureTypes...) {
		rec := s.Records(typ)[3]
		var v struct{ UUID, Updated string }
		_ = json.Unmarshal(rec, &v)
		q := url.Values{"updated": {"[" + v.Updated + ".." + v.Updated + "]"}}
		var got []json.RawMessage
		if typ == TypeEC2Instance {
			got, _ = pageAWS(t, base, tok, q)
		} else {
			got, _ = pageAzure(t, base, tok, typ, "&"+q.Encode(), 200)
		}
		found := false
		for _, r := range got {
			found = found || bytes.Equal(r, rec)
		}
		if !found {
			t.Errorf("%s: [%s..%s] misses the record updated at %s", typ, v.Updated, v.Updated, v.Updated)
		}
	}
	// The windows select something, but not everything: updated times
	// spread over the last year.
	users := s.Records(TypeEntraIDUser)
	var recent, old int
	for _, r := range users {
		u := updatedOf(t, r)
		if u.After(now) || u.Before(now.AddDate(-1, 0, -1)) {
			t.Fatalf("updated %s outside the last year", u)
		}
		if u.After(now.AddDate(0, 0, -21)) {
			recent++
		}
		if u.Before(now.AddDate(0, -6, 0)) {
			old++
		}
	}
	if recent == 0 || old == 0 || recent == len(users) {
		t.Errorf("%d of %d users updated in the last 3 weeks, %d over 6 months ago", recent, len(users), old)
	}

	bad := []string{"now-3w..now", "[now-3w]", "[now-3x..now]", "[now-w..now]", "[now-3.5d..now]", "[yesterday..now]",
		"[2026-02-30..now]", "[now--3d..now]", "[now-3d..now", "[..now]", "[now-1d..]"}
	for _, v := range bad {
		for _, path := range []string{"/cloudview-api/rest/v1/resource/ENTRA_ID_USER/Azure", ec2Path,
			"/cloudview-api/rest/v1/resource/EC2_INSTANCE/uuid/x/AWS"} {
			t.Run("bad "+v+path, func(t *testing.T) {
				resp, body := get(t, base+path+"?updated="+url.QueryEscape(v), tok)
				if e := checkError(t, resp, body, http.StatusBadRequest); !strings.Contains(e.Message, "'updated'") {
					t.Errorf("message %q does not name updated", e.Message)
				}
			})
		}
	}
}

func TestAzureFilter(t *testing.T) {
	s, base, _ := newTestServer(t, Options{RateLimit: math.MaxInt})
	tok := login(t, base)
	truth := s.Records(TypeRoleAssignment)
	subs := map[string][]json.RawMessage{}
	for _, r := range truth {
		var v struct{ SubscriptionID string }
		_ = json.Unmarshal(r, &v)
		subs[v.SubscriptionID] = append(subs[v.SubscriptionID], r)
	}
	if len(subs) < 2 {
		t.Fatalf("subscriptions %d", len(subs))
	}
	for sub, want := range subs {
		for _, f := range []string{"subscriptionId:", "subscription.id: "} {
			got, _ := pageAzure(t, base, tok, TypeRoleAssignment, "&filter="+url.QueryEscape(f+sub), 50)
			sameRaw(t, f+sub, got, want)
		}
	}
	// Tenant-level records have no subscription.
	if got, _ := pageAzure(t, base, tok, TypeEntraIDUser, "&filter=subscriptionId:"+truthSub(subs), 50); len(got) != 0 {
		t.Errorf("users filtered by subscription: %d", len(got))
	}
	for _, f := range []string{"displayName:x", "subscriptionId", "subscriptionId:", "nonsense"} {
		resp, body := get(t, base+"/cloudview-api/rest/v1/resource/ROLE_ASSIGNMENT/Azure?filter="+url.QueryEscape(f), tok)
		if e := checkError(t, resp, body, http.StatusBadRequest); !strings.Contains(e.Message, "'filter'") {
			t.Errorf("%s: message %q", f, e.Message)
		}
	}
	resp, body := get(t, base+ec2Path+"?filter="+url.QueryEscape("subscriptionId:x"), tok)
	checkError(t, resp, body, http.StatusBadRequest)
}

func truthSub(subs map[string][]json.RawMessage) string {
	for s := range subs {
		return s
	}
	return ""
}

func TestResourceBadPageParams(t *testing.T) {
	_, base, _ := newTestServer(t, Options{})
	tok := login(t, base)
	for _, tt := range []struct{ path, query, param string }{
		{"/cloudview-api/rest/v1/resource/MANAGED_IDENTITIES/Azure", "pageNo=-1", "pageNo"},
		{"/cloudview-api/rest/v1/resource/MANAGED_IDENTITIES/Azure", "pageSize=0", "pageSize"},
		{ec2Path, "pageSize=x", "pageSize"},
	} {
		resp, body := get(t, base+tt.path+"?"+tt.query, tok)
		if e := checkError(t, resp, body, 400); !strings.Contains(e.Message, "'"+tt.param+"'") {
			t.Errorf("%s: %q", tt.query, e.Message)
		}
	}
}
