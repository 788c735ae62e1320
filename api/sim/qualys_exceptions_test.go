package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// send performs a request with an optional bearer token and JSON body.
func send(t testing.TB, method, target, token, body string) (*http.Response, []byte) {
	t.Helper()
	return sendCT(t, method, target, token, "application/json", body)
}

func sendCT(t testing.TB, method, target, token, contentType, body string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, target, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp, readAll(t, resp)
}

// exceptionBody builds a create/update body from a base and overrides
// (a nil value deletes the key).
func exceptionBody(t testing.TB, over map[string]any) string {
	t.Helper()
	m := map[string]any{
		"name": "Test Exception", "description": "created by a test", "reason": "Risk Accepted",
		"startingDate": "2026-06-30T18:30:00.000Z", "endingDate": "2026-08-01T18:29:59.000Z", "scope": "RESOURCE",
		"cloudType": "AWS", "controlIds": []int{1001, 1002}, "resourceIds": []string{"i-0abc"},
	}
	for k, v := range over {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

const (
	exceptionPathPrefix = "/cloudview-api/rest/v1/exceptions/"
)

func TestExceptionGet(t *testing.T) {
	s, base, _ := newTestServer(t, Options{Exceptions: 40})
	tok := login(t, base)
	recs := s.ExceptionRecords()
	for _, i := range []int{0, 17, 39} {
		var e qualysException
		decodeStrict(t, recs[i], &e)
		resp, body := get(t, base+exceptionPathPrefix+e.UUID, tok)
		if resp.StatusCode != http.StatusOK || !bytes.Equal(body, recs[i]) {
			t.Errorf("GET %s: %d %s, want the list's bytes %s", e.UUID, resp.StatusCode, body, recs[i])
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type %q", ct)
		}
	}
	for _, id := range []string{"00000000-0000-4000-8000-000000000000", "nope"} {
		resp, body := get(t, base+exceptionPathPrefix+id, tok)
		e := checkError(t, resp, body, http.StatusNotFound)
		if !strings.Contains(e.Message, id) {
			t.Errorf("404 message %q does not name %s", e.Message, id)
		}
	}
	resp, body := get(t, base+exceptionPathPrefix+"anything", "")
	checkError(t, resp, body, http.StatusUnauthorized)
}

func TestExceptionValidation(t *testing.T) {
	long := strings.Repeat("n", 256)
	tests := []struct {
		name   string
		ct     string
		body   string
		status int
		word   string // the message must say this
	}{
		{"malformed JSON", "", `{"name": "x",`, 400, "Malformed JSON"},
		{"not an object", "", `[1,2]`, 400, "Malformed JSON"},
		{"trailing garbage", "", exceptionBody(t, nil) + "x", 400, "Malformed JSON"},
		{"empty body", "", ``, 400, "body is missing"},
		{"wrong type", "", exceptionBody(t, map[string]any{"name": 12}), 400, "'name'"},
		{"wrong controlIds type", "", exceptionBody(t, map[string]any{"controlIds": "1,2"}), 400, "'controlIds'"},
		{"form content type", "application/x-www-form-urlencoded", exceptionBody(t, nil), 415, "application/json"},
		{"missing content type", "-", exceptionBody(t, nil), 415, "application/json"},
		{"missing name", "", exceptionBody(t, map[string]any{"name": nil}), 400, "name is required"},
		{"blank name", "", exceptionBody(t, map[string]any{"name": "   "}), 400, "name is required"},
		{"name over 255", "", exceptionBody(t, map[string]any{"name": long}), 400, "at most 255"},
		{"missing reason", "", exceptionBody(t, map[string]any{"reason": nil}), 400, "reason is required"},
		{"missing startingDate", "", exceptionBody(t, map[string]any{"startingDate": nil}), 400, "startingDate is required"},
		{"bad startingDate", "", exceptionBody(t, map[string]any{"startingDate": "tomorrow"}), 400, "Invalid startingDate"},
		{"bad endingDate", "", exceptionBody(t, map[string]any{"endingDate": "2026-13-01T00:00:00Z"}), 400, "Invalid endingDate"},
		{"date only", "", exceptionBody(t, map[string]any{"endingDate": "2026-09-01"}), 400, "Invalid endingDate"},
		{"start equals end", "", exceptionBody(t, map[string]any{"startingDate": "2026-08-01T18:29:59.000Z"}), 400, "before endingDate"},
		{"start after end", "", exceptionBody(t, map[string]any{"startingDate": "2026-09-01T00:00:00Z"}), 400, "before endingDate"},
		{"already ended", "", exceptionBody(t, map[string]any{"startingDate": "2026-05-01T00:00:00Z", "endingDate": "2026-06-01T00:00:00Z"}), 400, "in the past"},
		{"ends now", "", exceptionBody(t, map[string]any{"startingDate": "2026-05-01T00:00:00Z", "endingDate": "2026-07-01T10:00:00Z"}), 400, "in the past"},
		{"missing scope", "", exceptionBody(t, map[string]any{"scope": nil}), 400, "scope is required"},
		{"unknown scope", "", exceptionBody(t, map[string]any{"scope": "TENANT"}), 400, "Invalid scope 'TENANT'"},
		{"lower-case scope", "", exceptionBody(t, map[string]any{"scope": "global"}), 400, "Invalid scope"},
		{"unknown cloudType", "", exceptionBody(t, map[string]any{"cloudType": "IBM"}), 400, "Invalid cloudType 'IBM'"},
		{"ok without optional fields", "", exceptionBody(t, map[string]any{"cloudType": nil, "controlIds": nil, "resourceIds": nil, "description": nil}), 201, ""},
		{"ok with offset dates", "application/json; charset=utf-8", exceptionBody(t, map[string]any{"name": "Offsets", "startingDate": "2026-07-02T00:00:00+05:30", "endingDate": "2026-07-09T00:00:00+0530"}), 201, ""},
		{"ok 255 runes", "", exceptionBody(t, map[string]any{"name": strings.Repeat("é", 255)}), 201, ""},
	}
	_, base, _ := newTestServer(t, Options{Exceptions: 10})
	tok := login(t, base)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, target := range []struct{ method, path string }{
				{http.MethodPost, qualysExceptionCreatePath},
				{http.MethodPut, exceptionPathPrefix + "x"}, // validation comes before the lookup
			} {
				if tt.status == 201 && target.method == http.MethodPut {
					continue
				}
				ct := tt.ct
				switch ct {
				case "":
					ct = "application/json"
				case "-":
					ct = ""
				}
				resp, body := sendCT(t, target.method, base+target.path, tok, ct, tt.body)
				if tt.status == 201 {
					if resp.StatusCode != 201 {
						t.Fatalf("%s: %d %s", target.method, resp.StatusCode, body)
					}
					continue
				}
				e := checkError(t, resp, body, tt.status)
				if !strings.Contains(e.Message, tt.word) {
					t.Errorf("%s: message %q does not say %q", target.method, e.Message, tt.word)
				}
			}
		})
	}
}

// exceptionKeys are the keys of the list sample's record.
func sampleRecordKeys(t *testing.T, file string) []string {
	t.Helper()
	sample, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var env struct {
		Content []json.RawMessage `json:"content"`
	}
	if err := json.Unmarshal(sample, &env); err != nil {
		t.Fatal(err)
	}
	return objectKeys(t, env.Content[0])
}

func TestExceptionCRUDRoundTrip(t *testing.T) {
	s, base, clk := newTestServer(t, Options{Username: "qatesxsn", Password: "pw", Exceptions: 30, RateLimit: math.MaxInt})
	resp, body := authenticate(t, base, url.Values{"username": {"qatesxsn"}, "password": {"pw"}, "token": {"true"}})
	if resp.StatusCode != 201 {
		t.Fatalf("auth %d", resp.StatusCode)
	}
	tok := string(body)
	wantKeys := sampleRecordKeys(t, "testdata/exceptions_list_sample.json")
	listAll := func() []json.RawMessage {
		t.Helper()
		var out []json.RawMessage
		for page := 0; ; page++ {
			p, _ := fetchPage(t, fmt.Sprintf("%s%s?pageNo=%d&pageSize=7", base, qualysExceptionsPath, page), tok)
			out = append(out, p.Content...)
			if p.Last {
				return out
			}
		}
	}
	sameRecords := func(what string, got, want []json.RawMessage) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: %d records, want %d", what, len(got), len(want))
		}
		for i := range got {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("%s: record %d differs", what, i)
			}
		}
	}
	before := s.ExceptionRecords()

	// Create: a running one and a pending one.
	resp, created := send(t, http.MethodPost, base+qualysExceptionCreatePath, tok, exceptionBody(t, map[string]any{"name": "OCI Resource Level Exception 2"}))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d %s", resp.StatusCode, created)
	}
	if got := objectKeys(t, created); !equalStrings(got, wantKeys) {
		t.Errorf("created keys %v, want %v", got, wantKeys)
	}
	var c qualysException
	decodeStrict(t, created, &c)
	now := fmtQualysTime(testNow)
	if !uuidRE.MatchString(c.UUID) || c.State != "ACTIVE" || c.CreatedBy != "qatesxsn" || c.UpdatedBy != "qatesxsn" ||
		c.CreatedOn != now || c.UpdatedOn != now || c.StartingDate != "2026-06-30T18:30:00.000Z" ||
		c.EndingDate != "2026-08-01T18:29:59.000Z" || c.Scope != "RESOURCE" || c.Reason != "Risk Accepted" || c.Description != "created by a test" {
		t.Errorf("created %+v", c)
	}
	resp, pendingRaw := send(t, http.MethodPost, base+qualysExceptionCreatePath, tok, exceptionBody(t, map[string]any{
		"name": "Pending one", "startingDate": "2026-07-02T00:00:00Z", "endingDate": "2026-07-03T00:00:00Z", "scope": "GLOBAL"}))
	var pending qualysException
	decodeStrict(t, pendingRaw, &pending)
	if resp.StatusCode != 201 || pending.State != "PENDING" || pending.StartingDate != "2026-07-02T00:00:00.000Z" {
		t.Errorf("pending: %d %s", resp.StatusCode, pendingRaw)
	}
	if pending.UUID == c.UUID {
		t.Error("two creates got the same uuid")
	}

	// The list and GET reflect it at once.
	sameRecords("after create", listAll(), append(append(append([]json.RawMessage{}, before...), created), pendingRaw))
	sameRecords("Records", s.ExceptionRecords(), listAll())
	if resp, got := get(t, base+exceptionPathPrefix+c.UUID, tok); resp.StatusCode != 200 || !bytes.Equal(got, created) {
		t.Errorf("GET created: %d %s", resp.StatusCode, got)
	}

	// Duplicate names: 409 on create and on renaming another.
	resp, body = send(t, http.MethodPost, base+qualysExceptionCreatePath, tok, exceptionBody(t, map[string]any{"name": "Pending one"}))
	if e := checkError(t, resp, body, http.StatusConflict); !strings.Contains(e.Message, "Pending one") {
		t.Errorf("409 message %q", e.Message)
	}
	if resp.Header.Get("X-RateLimit-ToWait-Sec") != "" {
		t.Error("a duplicate-name 409 carries X-RateLimit-ToWait-Sec (clients would take it for a rate limit)")
	}
	resp, body = send(t, http.MethodPut, base+exceptionPathPrefix+c.UUID, tok, exceptionBody(t, map[string]any{"name": "Pending one"}))
	checkError(t, resp, body, http.StatusConflict)

	// Update, an hour later, by someone else.
	clk.Advance(time.Hour)
	tok2 := s.q.issue("quays_zn68", clk.Now())
	resp, updated := send(t, http.MethodPut, base+exceptionPathPrefix+c.UUID, tok2, exceptionBody(t, map[string]any{
		"name": "Renamed", "reason": "False Positive", "description": "", "scope": "CONTROL",
		"startingDate": "2026-07-05T00:00:00.000Z", "endingDate": "2027-07-05T00:00:00.000Z"}))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("update: %d %s", resp.StatusCode, updated)
	}
	var u qualysException
	decodeStrict(t, updated, &u)
	if u.UUID != c.UUID || u.CreatedBy != "qatesxsn" || u.CreatedOn != now || u.UpdatedBy != "quays_zn68" ||
		u.UpdatedOn != fmtQualysTime(testNow.Add(time.Hour)) || u.Name != "Renamed" || u.State != "PENDING" ||
		u.Scope != "CONTROL" || u.Reason != "False Positive" || u.Description != "" {
		t.Errorf("updated %+v", u)
	}
	if got := objectKeys(t, updated); !equalStrings(got, wantKeys) {
		t.Errorf("updated keys %v", got)
	}
	// Keeping one's own name is not a duplicate; the old name is free again.
	resp, body = send(t, http.MethodPut, base+exceptionPathPrefix+c.UUID, tok, exceptionBody(t, map[string]any{"name": "Renamed"}))
	if resp.StatusCode != 200 {
		t.Errorf("update keeping the name: %d %s", resp.StatusCode, body)
	}
	_, updated = get(t, base+exceptionPathPrefix+c.UUID, tok)
	resp, body = send(t, http.MethodPost, base+qualysExceptionCreatePath, tok, exceptionBody(t, map[string]any{"name": "OCI Resource Level Exception 2"}))
	if resp.StatusCode != 201 {
		t.Errorf("create with a freed name: %d %s", resp.StatusCode, body)
	}
	var third qualysException
	decodeStrict(t, body, &third)
	want := append(append(append(append([]json.RawMessage{}, before...), updated), pendingRaw), body)
	sameRecords("after update", listAll(), want)
	resp, body = send(t, http.MethodPut, base+exceptionPathPrefix+"00000000-0000-4000-8000-000000000000", tok, exceptionBody(t, nil))
	checkError(t, resp, body, http.StatusNotFound)

	// Delete: one unknown id deletes nothing.
	var first qualysException
	decodeStrict(t, before[0], &first)
	resp, body = send(t, http.MethodDelete, base+qualysExceptionDeletePath, tok, fmt.Sprintf(`{"exceptionIds":[%q,"no-such-id"]}`, c.UUID))
	if e := checkError(t, resp, body, http.StatusNotFound); !strings.Contains(e.Message, "no-such-id") {
		t.Errorf("404 message %q", e.Message)
	}
	sameRecords("after failed delete", listAll(), want)
	for _, bad := range []string{`{}`, `{"exceptionIds":[]}`, `{"exceptionIds":"x"}`, `nope`} {
		resp, body = send(t, http.MethodDelete, base+qualysExceptionDeletePath, tok, bad)
		checkError(t, resp, body, http.StatusBadRequest)
	}
	resp, body = send(t, http.MethodDelete, base+qualysExceptionDeletePath, tok, fmt.Sprintf(`{"exceptionIds":[%q,%q,%q]}`, c.UUID, first.UUID, c.UUID))
	if resp.StatusCode != 200 || string(body) != fmt.Sprintf(`{"deletedIds":[%q,%q]}`, c.UUID, first.UUID) {
		t.Fatalf("delete: %d %s", resp.StatusCode, body)
	}
	want = append(append(append([]json.RawMessage{}, before[1:]...), pendingRaw), want[len(want)-1])
	sameRecords("after delete", listAll(), want)
	resp, body = get(t, base+exceptionPathPrefix+c.UUID, tok)
	checkError(t, resp, body, http.StatusNotFound)
	resp, body = send(t, http.MethodDelete, base+qualysExceptionDeletePath, tok, fmt.Sprintf(`{"exceptionIds":[%q]}`, c.UUID))
	checkError(t, resp, body, http.StatusNotFound)
	// The deleted name can be used again.
	resp, body = send(t, http.MethodPost, base+qualysExceptionCreatePath, tok, exceptionBody(t, map[string]any{"name": "Renamed"}))
	if resp.StatusCode != 201 {
		t.Errorf("create with a deleted name: %d %s", resp.StatusCode, body)
	}
	if st := s.Stats(); st.Requests[qualysExceptionPath] == 0 || st.Requests[qualysExceptionCreatePath] == 0 || st.Requests[qualysExceptionDeletePath] == 0 {
		t.Errorf("stats %v", st.Requests)
	}
}

// Creates, updates and deletes race with clients paging the list; each
// page must be a consistent cut (no record twice within a page, valid
// JSON) and the final list must hold exactly the survivors.
func TestExceptionsConcurrent(t *testing.T) {
	s, base, _ := newTestServer(t, Options{Exceptions: 200, RateLimit: math.MaxInt})
	tok := login(t, base)
	var wg sync.WaitGroup
	const writers, each = 4, 10
	ids := make([][]string, writers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				resp, body := send(t, http.MethodPost, base+qualysExceptionCreatePath, tok, exceptionBody(t, map[string]any{"name": fmt.Sprintf("w%d-%d", w, i)}))
				if resp.StatusCode != 201 {
					t.Errorf("create: %d %s", resp.StatusCode, body)
					return
				}
				var e qualysException
				_ = json.Unmarshal(body, &e)
				ids[w] = append(ids[w], e.UUID)
				if i%2 == 1 {
					resp, body = send(t, http.MethodPut, base+exceptionPathPrefix+e.UUID, tok, exceptionBody(t, map[string]any{"name": fmt.Sprintf("w%d-%d-upd", w, i)}))
					if resp.StatusCode != 200 {
						t.Errorf("update: %d %s", resp.StatusCode, body)
					}
				}
			}
		}()
	}
	for rd := 0; rd < 3; rd++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for page := 0; page < 30; page++ {
				p, _ := fetchPage(t, fmt.Sprintf("%s%s?pageNo=%d&pageSize=25", base, qualysExceptionsPath, page%10), tok)
				seen := map[string]bool{}
				for _, r := range p.Content {
					var e qualysException
					decodeStrict(t, r, &e)
					if seen[e.UUID] {
						t.Errorf("uuid %s twice on one page", e.UUID)
					}
					seen[e.UUID] = true
				}
			}
		}()
	}
	wg.Wait()
	var del []string
	for _, w := range ids {
		del = append(del, w[:each/2]...)
	}
	body, _ := json.Marshal(map[string][]string{"exceptionIds": del})
	if resp, b := send(t, http.MethodDelete, base+qualysExceptionDeletePath, tok, string(body)); resp.StatusCode != 200 {
		t.Fatalf("delete: %d %s", resp.StatusCode, b)
	}
	if n := len(s.ExceptionRecords()); n != 200+writers*each-len(del) {
		t.Errorf("%d exceptions, want %d", n, 200+writers*each-len(del))
	}
}
