package qualys

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Resource fixtures copied byte-exact from seed 000 (see testdata/README.md).
const (
	fixtureRoleAssignment     = "role_assignment_page0.json"
	fixtureDenyAssignment     = "deny_assignment_page0.json"
	fixtureEntraUser          = "entra_id_user_page0.json"
	fixtureEntraGroup         = "entra_id_group_page0.json"
	fixtureEntraAppReg        = "entra_id_app_registration_page0.json"
	fixtureEntraSP            = "entra_id_service_principal_page0.json"
	fixtureAWSMarker          = "aws_ec2_marker_page0.json"
	fixtureAWSByUUID          = "aws_ec2_by_uuid.json"
	fixtureAWSObject          = "aws_ec2_object.json"
	fixtureOrgConnectorReq    = "azure_org_connector_request.json"
	fixtureOrgConnectorAnswer = "azure_org_connector_response.json"
)

// checkRawRecords verifies that every record is a JSON object and a
// byte-exact piece of the body, in order and without overlap.
func checkRawRecords(t *testing.T, body []byte, items []json.RawMessage) {
	t.Helper()
	pos := 0
	for i, it := range items {
		if !json.Valid(it) || len(it) < 2 || it[0] != '{' || it[len(it)-1] != '}' {
			t.Errorf("item %d is not a whole JSON object: %.60q", i, it)
		}
		at := bytes.Index(body[pos:], it)
		if at < 0 {
			t.Errorf("item %d is not a byte-exact slice of the body after item %d", i, i-1)
			continue
		}
		pos += at + len(it)
	}
}

func TestDecodeResourcePageFixtures(t *testing.T) {
	type rec struct {
		UUID         string `json:"uuid"`
		Name         string `json:"name"`
		DisplayName  string `json:"displayName"`
		ResourceType string `json:"resourceType"`
	}
	tests := []struct {
		file     string
		envelope Envelope
		last     bool
		marker   string
		total    int
		wantType string   // resourceType of every record
		wantName []string // displayName (Azure) or name (AWS) of each record
	}{
		{fixtureManagedIdentities, EnvelopeSpring, false, "", 52, "managed_identities", []string{"disk-csi-driver-uami-1775627459327", "aro-operator-uami-1775627459327"}},
		{fixtureRoleDefinitions, EnvelopeSpring, false, "", 7515, "role_definitions", []string{"xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"}},
		{fixtureRoleAssignment, EnvelopeSpring, false, "", 752, "role_assignment", []string{"xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"}},
		{fixtureDenyAssignment, EnvelopeSpring, true, "", 9, "deny_assignment", []string{"xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"}},
		{fixtureEntraUser, EnvelopeSpring, false, "", 111207, "entra_id_user", []string{"Bhartesh Surwashi", "User1"}},
		{fixtureEntraGroup, EnvelopeSpring, false, "", 36, "entra_id_group", []string{"ciem_group_in_group", "ciem_rec_group_single_group_multi_mem"}},
		{fixtureEntraAppReg, EnvelopeSpring, false, "", 447, "entra_id_app_registration", []string{"qualys-cspm", "cnapp-test-connector-sp"}},
		{fixtureEntraSP, EnvelopeSpring, false, "", 1379, "entra_id_service_principal", []string{"totalai-demo-model/projects/proj-default", "totalai-demo-model"}},
		{fixtureAWSMarker, EnvelopeMarker, false, "WzE3NjM2MjXXXXXXXTk5NGUtM2Q2MC04Y2UwXXXXXXXXTdlZGMyMGQxNSJd", 43, "EC2_INSTANCE", []string{"Qualys Snapshot Scanner"}},
		{fixtureAWSByUUID, EnvelopeSpring, false, "", 43, "EC2_INSTANCE", []string{"Osaka"}},
		{fixtureAWSObject, EnvelopeObject, true, "", 0, "EC2_INSTANCE", []string{"Osaka"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			body := readFixture(t, tt.file)
			page, err := DecodeResourcePage(body)
			if err != nil {
				t.Fatal(err)
			}
			if page.Envelope != tt.envelope || page.Last != tt.last || page.Marker != tt.marker || page.Total != tt.total {
				t.Errorf("page {%s last=%v marker=%q total=%d}, want {%s %v %q %d}",
					page.Envelope, page.Last, page.Marker, page.Total, tt.envelope, tt.last, tt.marker, tt.total)
			}
			if len(page.Items) != len(tt.wantName) {
				t.Fatalf("%d records, want %d", len(page.Items), len(tt.wantName))
			}
			checkRawRecords(t, body, page.Items)
			if tt.envelope == EnvelopeObject {
				if want := bytes.TrimSpace(body); !bytes.Equal(page.Items[0], want) {
					t.Error("the bare record is not the body byte-exact")
				}
			}
			for i, raw := range page.Items {
				var r rec
				if err := json.Unmarshal(raw, &r); err != nil {
					t.Fatal(err)
				}
				name := r.DisplayName
				if tt.envelope != EnvelopeSpring || tt.wantType == "EC2_INSTANCE" {
					name = r.Name
				}
				if r.ResourceType != tt.wantType || name != tt.wantName[i] || r.UUID == "" {
					t.Errorf("record %d = %+v, want type %s name %q", i, r, tt.wantType, tt.wantName[i])
				}
			}
			// The Raw of a record that is a slice of the fixture holds its
			// own fields byte-exact, e.g. the accountTags AWS added.
			if tt.wantType == "EC2_INSTANCE" && !bytes.Contains(page.Items[0], []byte(`"accountTags": [`)) {
				t.Error("EC2 record lacks its accountTags")
			}
		})
	}
}

// Every Azure CIEM type has a fixture from the seed that decodes.
func TestAzureCIEMTypesHaveFixtures(t *testing.T) {
	files := map[string]string{
		"ENTRA_ID_USER": fixtureEntraUser, "ENTRA_ID_GROUP": fixtureEntraGroup, "ENTRA_ID_SERVICE_PRINCIPAL": fixtureEntraSP,
		"ENTRA_ID_APPLICATION_REGISTRATION": fixtureEntraAppReg, "ROLE_ASSIGNMENT": fixtureRoleAssignment,
		"ROLE_DEFINITIONS": fixtureRoleDefinitions, "DENY_ASSIGNMENT": fixtureDenyAssignment, "MANAGED_IDENTITIES": fixtureManagedIdentities,
	}
	if len(AzureCIEMTypes) != 8 {
		t.Fatalf("%d Azure CIEM types, want 8", len(AzureCIEMTypes))
	}
	for _, typ := range AzureCIEMTypes {
		f, ok := files[typ]
		if !ok {
			t.Errorf("unexpected type %s", typ)
			continue
		}
		page, err := DecodeResourcePage(readFixture(t, f))
		if err != nil || len(page.Items) != 2 {
			t.Errorf("%s: %v", typ, err)
			continue
		}
		var r struct {
			ResourceType string `json:"resourceType"`
		}
		json.Unmarshal(page.Items[0], &r)
		if want := strings.ToLower(typ); r.ResourceType != want && !(typ == "ENTRA_ID_APPLICATION_REGISTRATION" && r.ResourceType == "entra_id_app_registration") {
			t.Errorf("%s: records are %s", typ, r.ResourceType)
		}
	}
}

func TestDecodeResourcePageShapes(t *testing.T) {
	tests := []struct {
		body     string
		envelope Envelope
		items    int
		last     bool
		marker   string
		total    int
	}{
		{`{"content":[],"pageable":{"pageSize":50}}`, EnvelopeSpring, 0, true, "", 0},
		{`{"content":[{"uuid":"a"}],"totalElements":5,"last":false}`, EnvelopeSpring, 1, false, "", 5},
		{`{"content":[{"uuid":"a"}],"totalElements":5,"last":false,"empty":true}`, EnvelopeSpring, 1, true, "", 5},
		{`{"content":[{"uuid":"a"},{"uuid":"b"}],"hasNext":false,"totalHits":2,"marker":null}`, EnvelopeMarker, 2, true, "", 2},
		{`{"content":[],"hasNext":true,"marker":"m1"}`, EnvelopeMarker, 0, false, "m1", 0},
		{`{"content":[{}],"marker":"m1"}`, EnvelopeMarker, 1, false, "m1", 0},
		{`{"content":[{}],"marker":""}`, EnvelopeMarker, 1, true, "", 0},
		{`{"hasNext":false,"totalHits":0}`, EnvelopeMarker, 0, true, "", 0},
		{`{"currentPageSize":0,"content":null,"hasNext":false,"totalHits":0,"hasContent":false}`, EnvelopeMarker, 0, true, "", 0},
		{`{"uuid":"u","name":"x","content":"a record's own field"}`, EnvelopeObject, 1, true, "", 0},
		{`{"content":[{"uuid":"a"}]}`, EnvelopeObject, 1, true, "", 0}, // no paging keys: a record
		{` {} `, EnvelopeObject, 1, true, "", 0},
		{`{"uuid":"u","message":"a record may have a message"}`, EnvelopeObject, 1, true, "", 0},
	}
	for _, tt := range tests {
		page, err := DecodeResourcePage([]byte(tt.body))
		if err != nil {
			t.Errorf("%s: %v", tt.body, err)
			continue
		}
		if page.Envelope != tt.envelope || len(page.Items) != tt.items || page.Last != tt.last || page.Marker != tt.marker || page.Total != tt.total {
			t.Errorf("%s: {%s items=%d last=%v marker=%q total=%d}, want {%s %d %v %q %d}", tt.body,
				page.Envelope, len(page.Items), page.Last, page.Marker, page.Total, tt.envelope, tt.items, tt.last, tt.marker, tt.total)
		}
		if page.Items == nil {
			t.Errorf("%s: Items is nil", tt.body)
		}
		checkRawRecords(t, []byte(tt.body), page.Items)
	}
}

func TestDecodeResourcePageErrors(t *testing.T) {
	trunc := readFixture(t, fixtureAWSMarker)
	trunc = trunc[:len(trunc)/2]
	numElem := []byte(`{"content":[{"uuid":"a"}, 7],"pageable":{}}`)
	nullElem := []byte(`{"content":[{"uuid":"a"},null],"hasNext":false}`)
	tests := []struct {
		name   string
		body   []byte
		offset int64
		wantIn []string
	}{
		{"empty", nil, 0, []string{"got an empty body", "Spring page", "marker page", "single resource object"}},
		{"blank", []byte(" \n"), 0, []string{"got an empty body"}},
		{"array", []byte(`[{"uuid":"a"}]`), 0, []string{"got a JSON array", "Spring page", "marker page", "single resource object"}},
		{"string", []byte(`  "ok"`), 2, []string{"got a JSON string"}},
		{"null", []byte(`null`), 0, []string{"got JSON null"}},
		{"number", []byte(`42`), 0, []string{"got a JSON number"}},
		{"html", []byte(`<html><body>Bad Gateway</body></html>`), 1, []string{"got invalid JSON", "invalid character '<'"}},
		{"truncated", trunc, int64(len(trunc)), []string{"got invalid JSON"}},
		{"trailing garbage", []byte(`{"uuid":"a"} {}`), 14, []string{"got invalid JSON", "after top-level value"}},
		{"record is a number", numElem, int64(bytes.Index(numElem, []byte("7"))), []string{"content[1]: record is a JSON number, not an object"}},
		{"record is null", nullElem, int64(bytes.Index(nullElem, []byte("null"))), []string{"content[1]: record is JSON null, not an object"}},
		{"spring content null", []byte(`{"content":null,"pageable":{}}`), 0, []string{`"content" is null`}},
		{"spring content object", []byte(`{"content":{},"totalElements":1}`), 12, []string{"as a Spring page", "cannot unmarshal object"}},
		{"spring bad total", []byte(`{"content":[],"totalElements":"9"}`), 33, []string{"cannot unmarshal string"}},
		{"marker bad hasNext", []byte(`{"content":[],"hasNext":"yes"}`), 29, []string{"as a marker page", "cannot unmarshal string"}},
		{"marker hasNext without marker", []byte(`{"content":[{}],"hasNext":true,"totalHits":9}`), 0, []string{`"hasNext" is true but there is no "marker"`}},
		{"error object", []byte(`{"errorCode":"CV-500","message":"Elasticsearch timeout","timestamp":1}`), 0, []string{"got an error response", "CV-500: Elasticsearch timeout"}},
		{"message only", []byte(`{"message":"Invalid filter","status":400}`), 0, []string{"got an error response", "Invalid filter"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page, err := DecodeResourcePage(tt.body)
			if err == nil {
				t.Fatalf("no error; page %+v", page)
			}
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %T %v, want *DecodeError", err, err)
			}
			if de.Offset != tt.offset {
				t.Errorf("offset %d, want %d (%v)", de.Offset, tt.offset, err)
			}
			for _, w := range tt.wantIn {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestResourcesRequests(t *testing.T) {
	spring := string(readFixture(t, fixtureManagedIdentities))
	marker := string(readFixture(t, fixtureAWSMarker))
	tests := []struct {
		name    string
		cloud   string
		typ     string
		q       ResourceQuery
		body    string
		wantURI string
	}{
		{"azure first page as the seed", "Azure", "MANAGED_IDENTITIES", ResourceQuery{PageSize: 2, Updated: "[now-3w..now]"}, spring,
			"/cloudview-api/rest/v1/resource/MANAGED_IDENTITIES/Azure?pageNo=0&pageSize=2&updated=%5Bnow-3w..now%5D"},
		{"azure lower case, later page", "azure", "ROLE_DEFINITIONS", ResourceQuery{PageNo: 3, PageSize: 100}, spring,
			"/cloudview-api/rest/v1/resource/ROLE_DEFINITIONS/Azure?pageNo=3&pageSize=100"},
		{"no parameters", "AZURE", "ENTRA_ID_USER", ResourceQuery{}, spring,
			"/cloudview-api/rest/v1/resource/ENTRA_ID_USER/Azure"},
		{"aws first marker page", "aws", "EC2_INSTANCE", ResourceQuery{Updated: "[2026-05-01T00:00:00Z..now]", Filter: "cloud.accountId: 123456789012"}, marker,
			"/cloudview-api/rest/v1/resource/EC2_INSTANCE/AWS?filter=cloud.accountId%3A+123456789012&updated=%5B2026-05-01T00%3A00%3A00Z..now%5D"},
		{"aws next marker page", "AWS", "EC2_INSTANCE", ResourceQuery{PageSize: 50, Marker: "WzE3+/=="}, marker,
			"/cloudview-api/rest/v1/resource/EC2_INSTANCE/AWS?marker=WzE3%2B%2F%3D%3D&pageSize=50"},
		{"gcp and oci spellings", "gcp", "VM_INSTANCE", ResourceQuery{}, spring, "/cloudview-api/rest/v1/resource/VM_INSTANCE/GCP"},
		{"escaped type", "Oci", "A/B C", ResourceQuery{}, spring, "/cloudview-api/rest/v1/resource/A%2FB%20C/OCI"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := &recorder{steps: []step{{body: tt.body}}}
			g := newGateway(t, rc.handler(t))
			c, _, _ := newTestClient(t, g, clientOpts{})
			page, err := c.Resources(context.Background(), tt.cloud, tt.typ, tt.q)
			if err != nil {
				t.Fatal(err)
			}
			reqs := rc.requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests", len(reqs))
			}
			uri := reqs[0].EscapedPath
			if reqs[0].RawQuery != "" {
				uri += "?" + reqs[0].RawQuery
			}
			if reqs[0].Method != http.MethodGet || uri != tt.wantURI {
				t.Errorf("request %s %s\nwant    GET %s", reqs[0].Method, uri, tt.wantURI)
			}
			checkRawRecords(t, []byte(tt.body), page.Items)
		})
	}
}

func TestResourcesArguments(t *testing.T) {
	tests := []struct {
		name   string
		cloud  string
		typ    string
		q      ResourceQuery
		wantIn string
	}{
		{"unknown cloud", "IBM", "X", ResourceQuery{}, `cloud "IBM" is not one of AWS, Azure, GCP, OCI`},
		{"empty cloud", "", "X", ResourceQuery{}, "cloud"},
		{"empty type", "AWS", "", ResourceQuery{}, "resource type is empty"},
		{"dot-dot type", "AWS", "..", ResourceQuery{}, "not a valid path segment"},
		{"negative page", "AWS", "X", ResourceQuery{PageNo: -1}, "pageNo -1 is negative"},
		{"negative size", "AWS", "X", ResourceQuery{PageSize: -1}, "pageSize -1 is negative"},
	}
	for _, tt := range tests {
		g := newGateway(t, nil)
		c, _, _ := newTestClient(t, g, clientOpts{})
		_, err := c.Resources(context.Background(), tt.cloud, tt.typ, tt.q)
		if err == nil || !strings.Contains(err.Error(), tt.wantIn) {
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.wantIn)
		}
		if c.Requests() != 0 {
			t.Errorf("%s: %d requests", tt.name, c.Requests())
		}
	}
}

func TestResourcesServerErrors(t *testing.T) {
	tests := []struct {
		name    string
		answer  step
		status  int
		message string
		decode  bool // a *DecodeError
	}{
		{"error object with 200", step{body: `{"errorCode":"CV-1","message":"Invalid QQL filter: cloud.acountId"}`}, 200, "Invalid QQL filter: cloud.acountId", false},
		{"400", step{status: 400, body: `{"errorCode":"CV-400","message":"updated must be a range like [now-3w..now]"}`}, 400, "updated must be a range like [now-3w..now]", false},
		{"array", step{body: `[]`}, 0, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGateway(t, script(t, tt.answer))
			c, _, _ := newTestClient(t, g, clientOpts{})
			_, err := c.Resources(context.Background(), "Azure", "ENTRA_ID_USER", ResourceQuery{PageSize: 2})
			wantURL := g.srv.URL + "/cloudview-api/rest/v1/resource/ENTRA_ID_USER/Azure?pageNo=0&pageSize=2"
			if tt.decode {
				var de *DecodeError
				if !errors.As(err, &de) || de.URL != wantURL {
					t.Fatalf("error %v, want a DecodeError for %s", err, wantURL)
				}
				return
			}
			var ae *APIError
			if !errors.As(err, &ae) {
				t.Fatalf("error %T %v, want *APIError", err, err)
			}
			if ae.StatusCode != tt.status || ae.Message != tt.message || ae.URL != wantURL || ae.Op != "list Azure ENTRA_ID_USER resources" {
				t.Errorf("APIError %+v", ae)
			}
		})
	}
}

// markerServer serves n records in marker pages whose sizes follow sizes
// (cycling), whatever pageSize asks; each marker is valid once.
type markerServer struct {
	t       *testing.T
	records []string
	sizes   []int

	mu      sync.Mutex
	calls   int
	issued  map[string]int // marker -> next record index
	markers []string       // the marker each call sent
}

func (ms *markerServer) serve(w http.ResponseWriter, r *http.Request) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	if r.URL.Path != "/cloudview-api/rest/v1/resource/EC2_INSTANCE/AWS" {
		http.NotFound(w, r)
		return
	}
	q := r.URL.Query()
	m := q.Get("marker")
	ms.markers = append(ms.markers, m)
	start := 0
	if m != "" {
		next, ok := ms.issued[m]
		if !ok {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"errorCode":"CV-400","message":"Invalid marker %s"}`, m)
			return
		}
		delete(ms.issued, m)
		start = next
	}
	size := ms.sizes[ms.calls%len(ms.sizes)]
	ms.calls++
	end := min(start+size, len(ms.records))
	hasNext := end < len(ms.records)
	marker := ""
	if hasNext {
		marker = fmt.Sprintf("bWFya2VyLTAw%d==", ms.calls)
		ms.issued[marker] = end
	}
	// Pretty-printed differently on every page, so byte-exactness is
	// visible.
	fmt.Fprintf(w, "{\n\"currentPageSize\": %d,\n\"content\": [%s],\n\"hasNext\": %v,\n\"totalHits\": %d,\n\"hasContent\": %v,\n\"marker\": %q\n}",
		end-start, strings.Join(ms.records[start:end], ",\n"+strings.Repeat(" ", ms.calls)), hasNext, len(ms.records), end > start, marker)
}

func TestMarkerPager(t *testing.T) {
	var records []string
	for i := range 11 {
		records = append(records, fmt.Sprintf(`{ "uuid" : "r-%02d", "resourceType":"EC2_INSTANCE","tags": [ {"key":"n","value":"%d"} ] }`, i, i))
	}
	ms := &markerServer{t: t, records: records, sizes: []int{3, 1, 0, 5, 2, 4}, issued: map[string]int{}}
	g := newGateway(t, ms.serve)
	c, _, _ := newTestClient(t, g, clientOpts{})

	var got []string
	q := ResourceQuery{PageSize: 3, Updated: "[now-365d..now]"}
	pages := 0
	for {
		page, err := c.Resources(context.Background(), "AWS", "EC2_INSTANCE", q)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if page.Envelope != EnvelopeMarker || page.Total != len(records) {
			t.Fatalf("page %d: envelope %s total %d", pages, page.Envelope, page.Total)
		}
		for _, it := range page.Items {
			got = append(got, string(it))
		}
		if page.Last {
			if page.Marker != "" {
				t.Errorf("last page has marker %q", page.Marker)
			}
			break
		}
		if pages > 20 {
			t.Fatal("pager does not end")
		}
		q.Marker = page.Marker
	}
	if len(got) != len(records) {
		t.Fatalf("got %d records, want %d", len(got), len(records))
	}
	for i := range records {
		if got[i] != records[i] {
			t.Errorf("record %d = %s, want %s (byte-exact)", i, got[i], records[i])
		}
	}
	// Sizes 3,1,0,5,2 cover 11 records in 5 pages; the empty page in the
	// middle does not end paging.
	if pages != 5 {
		t.Errorf("%d pages, want 5", pages)
	}
	ms.mu.Lock()
	defer ms.mu.Unlock()
	if ms.markers[0] != "" || len(ms.markers) != pages {
		t.Errorf("markers sent: %q", ms.markers)
	}
	for i, m := range ms.markers[1:] {
		if want := fmt.Sprintf("bWFya2VyLTAw%d==", i+1); m != want {
			t.Errorf("call %d sent marker %q, want %q", i+2, m, want)
		}
	}
}

func TestResourceByUUID(t *testing.T) {
	byUUID := readFixture(t, fixtureAWSByUUID)
	object := readFixture(t, fixtureAWSObject)
	springPage, err := DecodeResourcePage(byUUID)
	if err != nil {
		t.Fatal(err)
	}
	const id = "58eecb45-085c-3598-8794-89662646900e"
	two := `{"content":[{"uuid":"other"},{"uuid":"` + id + `", "n": 2}],"totalElements":2,"pageable":{}}`
	tests := []struct {
		name      string
		body      string
		want      []byte
		wantErr   string
		notFound  bool
		wantDecod bool
	}{
		{name: "spring page of one (seed)", body: string(byUUID), want: springPage.Items[0]},
		{name: "bare object (seed)", body: string(object), want: bytes.TrimSpace(object)},
		{name: "several, one matching", body: two, want: []byte(`{"uuid":"` + id + `", "n": 2}`)},
		{name: "empty page", body: `{"content":[],"pageable":{},"totalElements":0,"last":true,"empty":true}`, notFound: true, wantErr: `uuid "` + id + `"`},
		{name: "empty marker page", body: `{"content":[],"hasNext":false,"totalHits":0}`, notFound: true, wantErr: "no AWS EC2_INSTANCE resource"},
		{name: "several, none matching", body: `{"content":[{"uuid":"a"},{"uuid":"b"}],"totalElements":2}`, wantDecod: true, wantErr: "got 2 records, none with that uuid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := &recorder{steps: []step{{body: tt.body}}}
			g := newGateway(t, rc.handler(t))
			c, _, _ := newTestClient(t, g, clientOpts{})
			rec, err := c.ResourceByUUID(context.Background(), "aws", "EC2_INSTANCE", id)
			reqs := rc.requests()
			if len(reqs) != 1 || reqs[0].EscapedPath != "/cloudview-api/rest/v1/resource/EC2_INSTANCE/uuid/"+id+"/AWS" || reqs[0].RawQuery != "" {
				t.Errorf("requests %+v", reqs)
			}
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(rec, tt.want) {
					t.Errorf("record %.80q, want %.80q", rec, tt.want)
				}
				if !bytes.Contains([]byte(tt.body), rec) {
					t.Error("record is not byte-exact")
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want %q", err, tt.wantErr)
			}
			var ae *APIError
			if tt.notFound {
				if !errors.As(err, &ae) || ae.StatusCode != http.StatusNotFound || !strings.Contains(ae.Message, id) {
					t.Fatalf("error %T %v, want a 404 *APIError naming the uuid", err, err)
				}
				if strings.Contains(ae.Hint(), "gateway URL") || !strings.Contains(ae.Hint(), "uuid") {
					t.Errorf("hint %q", ae.Hint())
				}
			}
			var de *DecodeError
			if tt.wantDecod && !errors.As(err, &de) {
				t.Errorf("error %T, want *DecodeError", err)
			}
		})
	}
}

func TestResourceByUUIDEscapes(t *testing.T) {
	rc := &recorder{steps: []step{{body: `{"uuid":"x"}`}}}
	g := newGateway(t, rc.handler(t))
	c, _, _ := newTestClient(t, g, clientOpts{})
	if _, err := c.ResourceByUUID(context.Background(), "Azure", "ROLE_ASSIGNMENT", "a/b?c d"); err != nil {
		t.Fatal(err)
	}
	if got, want := rc.requests()[0].EscapedPath, "/cloudview-api/rest/v1/resource/ROLE_ASSIGNMENT/uuid/a%2Fb%3Fc%20d/Azure"; got != want {
		t.Errorf("path %s, want %s", got, want)
	}
	if _, err := c.ResourceByUUID(context.Background(), "Azure", "ROLE_ASSIGNMENT", ""); err == nil {
		t.Error("empty uuid accepted")
	}
}

// A query that matches more than the inventory returns is logged.
func TestResourcesWarnsBeyondMaxHits(t *testing.T) {
	g := newGateway(t, script(t, step{body: string(readFixture(t, fixtureEntraUser))}))
	c, _, logs := newTestClient(t, g, clientOpts{})
	if _, err := c.Resources(context.Background(), "Azure", "ENTRA_ID_USER", ResourceQuery{PageSize: 2}); err != nil {
		t.Fatal(err)
	}
	if out := logs.String(); !strings.Contains(out, "total=111207") || !strings.Contains(out, "max="+strconv.Itoa(MaxInventoryHits)) {
		t.Errorf("no warning about the %d hit limit:\n%s", MaxInventoryHits, out)
	}
}

func resourceFixtures(t testing.TB) [][]byte {
	names, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil || len(names) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	var out [][]byte
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

func FuzzDecodeResourcePage(f *testing.F) {
	for _, b := range resourceFixtures(f) {
		f.Add(b)
	}
	for _, s := range []string{
		``, ` `, `null`, `{}`, `[]`, `"x"`, `{"content":[]}`, `{"content":[],"pageable":{}}`, `{"content":null,"totalElements":0}`,
		`{"content":[null],"hasNext":false}`, `{"content":[1],"totalHits":1}`, `{"hasNext":true,"marker":""}`, `{"hasNext":true,"marker":"m"}`,
		`{"Content":[{"a":1}],"content":[{"b":2}],"PAGEABLE":{}}`, `{"errorCode":"X","message":"m"}`, `{"message":"m","uuid":"u"}`,
		`{"content":[{"a":"\u00e9\ud800"}],"totalElements":1e3}`, `{"marker":5}`, "{\"content\":[{}],\"last\":true}\x00",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		page, err := DecodeResourcePage(body)
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
		switch page.Envelope {
		case EnvelopeSpring, EnvelopeMarker:
		case EnvelopeObject:
			if len(page.Items) != 1 || !page.Last {
				t.Fatalf("object envelope with %d items, last %v", len(page.Items), page.Last)
			}
		default:
			t.Fatalf("envelope %q", page.Envelope)
		}
		if !page.Last && page.Envelope == EnvelopeMarker && page.Marker == "" {
			t.Fatal("marker page to continue without a marker")
		}
		if page.Envelope == EnvelopeSpring && len(page.Items) == 0 && !page.Last {
			t.Fatal("empty Spring page not Last")
		}
		for i, it := range page.Items {
			if !json.Valid(it) || it[0] != '{' {
				t.Fatalf("item %d %q is not a JSON object", i, it)
			}
			if !bytes.Contains(body, it) {
				t.Fatalf("item %d %q is not a slice of the body", i, it)
			}
		}
	})
}
