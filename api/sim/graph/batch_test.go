package graphsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

type batchAnswer struct {
	Responses []struct {
		ID      string            `json:"id"`
		Status  int               `json:"status"`
		Headers map[string]string `json:"headers"`
		Body    json.RawMessage   `json:"body"`
	} `json:"responses"`
}

func (e *env) batch(t *testing.T, reqs []map[string]any) (int, []byte, batchAnswer) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"requests": reqs})
	resp, b := e.do("POST", "/v1.0/$batch", bytes.NewReader(body), nil)
	var ba batchAnswer
	if resp.StatusCode == 200 {
		if err := json.Unmarshal(b, &ba); err != nil {
			t.Fatalf("batch answer: %v: %s", err, b)
		}
	}
	return resp.StatusCode, b, ba
}

func get(id, url string) map[string]any { return map[string]any{"id": id, "method": "GET", "url": url} }

func TestBatchLimits(t *testing.T) {
	e := newEnv(t, Options{})
	var many []map[string]any
	for i := 0; i < 21; i++ {
		many = append(many, get(fmt.Sprint(i+1), "/users?$top=1"))
	}
	tests := []struct {
		name string
		body string
	}{
		{"21 requests", mustJSON(map[string]any{"requests": many})},
		{"not JSON", `{"requests":[`},
		{"no requests", `{}`},
		{"empty", `{"requests":[]}`},
		{"duplicate ids", mustJSON(map[string]any{"requests": []any{get("1", "/users"), get("1", "/groups")}})},
		{"missing url", `{"requests":[{"id":"1","method":"GET"}]}`},
		{"unknown dependency", mustJSON(map[string]any{"requests": []any{map[string]any{"id": "1", "method": "GET", "url": "/users", "dependsOn": []string{"9"}}}})},
		{"cycle", mustJSON(map[string]any{"requests": []any{
			map[string]any{"id": "1", "method": "GET", "url": "/users", "dependsOn": []string{"2"}},
			map[string]any{"id": "2", "method": "GET", "url": "/users", "dependsOn": []string{"1"}},
		}})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, b := e.do("POST", "/v1.0/$batch", strings.NewReader(tc.body), nil)
			if code, _ := graphError(t, b); resp.StatusCode != 400 || code != "BadRequest" {
				t.Errorf("%d %s", resp.StatusCode, code)
			}
		})
	}
	t.Run("20 requests", func(t *testing.T) {
		st, b, ba := e.batch(t, many[:20])
		if st != 200 || len(ba.Responses) != 20 {
			t.Fatalf("%d %d answers: %.300s", st, len(ba.Responses), b)
		}
	})
	t.Run("GET $batch", func(t *testing.T) {
		if resp, _ := e.get("/v1.0/$batch"); resp.StatusCode != 405 {
			t.Errorf("status %d", resp.StatusCode)
		}
	})
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestBatchAnswers(t *testing.T) {
	e := newEnv(t, Options{Roles: []string{"User.Read.All", "GroupMember.Read.All"}})
	tr := e.s.Truth()
	u := tr.Users[0].ID
	reqs := []map[string]any{
		get("1", "/users/"+u+"/memberOf?$top=2"),
		get("2", "users/"+u),
		get("3", "/users/00000000-0000-0000-0000-000000000000"),
		get("4", "/devices"), // Device.Read.All withheld
		get("5", "/groups?$top=3"),
		{"id": "6", "method": "GET", "url": "/users/00000000-0000-0000-0000-000000000000/memberOf"},
		{"id": "7", "method": "GET", "url": "/groups?$top=1", "dependsOn": []string{"6"}},
		{"id": "8", "method": "GET", "url": "/users?$top=1", "dependsOn": []string{"5"}},
		get("9", "https://graph.microsoft.com/v1.0/users"),
		{"id": "10", "method": "GET", "url": "/users?$count=true&$top=1", "headers": map[string]string{"ConsistencyLevel": "eventual"}},
	}
	want := map[string]int{"1": 200, "2": 200, "3": 404, "4": 403, "5": 200, "6": 404, "7": 424, "8": 200, "9": 400, "10": 200}
	st, b, ba := e.batch(t, reqs)
	if st != 200 {
		t.Fatalf("%d %s", st, b)
	}
	var order []string
	for _, r := range ba.Responses {
		order = append(order, r.ID)
		if r.Status != want[r.ID] {
			t.Errorf("request %s: status %d, want %d: %s", r.ID, r.Status, want[r.ID], r.Body)
		}
		if r.Status == 200 && r.ID != "7" && r.Headers["x-ms-resource-unit"] == "" {
			t.Errorf("request %s: no x-ms-resource-unit in %v", r.ID, r.Headers)
		}
		if r.ID == "1" {
			var p page
			_ = json.Unmarshal(r.Body, &p)
			if len(tr.MemberOf()[u]) > 2 && !strings.HasPrefix(p.NextLink, e.graph+"/v1.0/users/") {
				t.Errorf("inner nextLink %q", p.NextLink)
			}
		}
		if r.ID == "10" && !strings.Contains(string(r.Body), `"@odata.count":`) {
			t.Errorf("inner headers not applied: %s", r.Body)
		}
	}
	if strings.Join(order, ",") == "1,2,3,4,5,6,7,8,9,10" {
		t.Error("answers came in request order")
	}
	// The order is deterministic for the same seed.
	e2 := newEnv(t, Options{Roles: []string{"User.Read.All", "GroupMember.Read.All"}})
	_, _, ba2 := e2.batch(t, reqs)
	var order2 []string
	for _, r := range ba2.Responses {
		order2 = append(order2, r.ID)
	}
	if strings.Join(order, ",") != strings.Join(order2, ",") {
		t.Errorf("order %v vs %v", order, order2)
	}
	st2 := e.s.Stats()
	if st2.Batches != 1 || st2.InnerRequests != len(reqs) || st2.Requests["POST /v1.0/$batch"] != 1 || st2.Requests["GET /v1.0/users/{id}/memberOf"] != 2 {
		t.Errorf("stats %+v", st2)
	}
}

func TestBatchInnerThrottling(t *testing.T) {
	// GET /users costs 2: a budget of 9 admits four of them.
	e := newEnv(t, Options{Budget: 9})
	var reqs []map[string]any
	for i := 0; i < 6; i++ {
		reqs = append(reqs, get(fmt.Sprint(i), "/users?$top=50"))
	}
	st, b, ba := e.batch(t, reqs)
	if st != 200 {
		t.Fatalf("outer status %d: %s", st, b)
	}
	ok, throttled := 0, 0
	for _, r := range ba.Responses {
		switch r.Status {
		case 200:
			ok++
		case 429:
			throttled++
			if r.Headers["Retry-After"] != "10" || r.Headers["x-ms-throttle-scope"] == "" {
				t.Errorf("inner 429 headers %v", r.Headers)
			}
			var eb struct{ Error struct{ Code string } }
			_ = json.Unmarshal(r.Body, &eb)
			if eb.Error.Code != "TooManyRequests" {
				t.Errorf("inner 429 body %s", r.Body)
			}
		}
	}
	if ok != 4 || throttled != 2 {
		t.Errorf("%d ok, %d throttled; want 4 and 2", ok, throttled)
	}
	if s := e.s.Stats(); s.Throttled429 != 2 || s.RU["GET /v1.0/users"] != 8 {
		t.Errorf("stats: %d throttled, RU %v", s.Throttled429, s.RU)
	}
	// After the window, the budget is back.
	e.clk.Advance(10*1e9 + 1)
	if _, _, ba := e.batch(t, reqs[:1]); ba.Responses[0].Status != 200 {
		t.Errorf("after the window: %d", ba.Responses[0].Status)
	}
}
