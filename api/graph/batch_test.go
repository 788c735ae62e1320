package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// batchServer is a fake $batch endpoint: answer decides each inner
// response; responses are sent in reverse order.
type batchServer struct {
	mu     sync.Mutex
	calls  [][]wireRequest
	answer func(call int, r wireRequest) (status int, headers map[string]string, body string)
	outer  func(call int) (status int, headers []string) // optional outer failure
}

func (b *batchServer) handler(t *testing.T) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1.0/$batch" || r.Header.Get("Content-Type") != "application/json" {
			writeJSON(w, 400, graphError("BadRequest", "not a batch call: "+r.Method+" "+r.URL.Path))
			return
		}
		data, _ := io.ReadAll(r.Body)
		var env struct {
			Requests []wireRequest `json:"requests"`
		}
		if err := json.Unmarshal(data, &env); err != nil || len(env.Requests) == 0 || len(env.Requests) > MaxBatch {
			writeJSON(w, 400, graphError("BadRequest", fmt.Sprintf("bad batch body (%d requests): %v", len(env.Requests), err)))
			return
		}
		b.mu.Lock()
		call := len(b.calls)
		b.calls = append(b.calls, env.Requests)
		b.mu.Unlock()
		if b.outer != nil {
			if status, h := b.outer(call); status != 0 {
				writeJSON(w, status, graphError("TooManyRequests", "outer"), h...)
				return
			}
		}
		var parts []string
		for i := len(env.Requests) - 1; i >= 0; i-- {
			req := env.Requests[i]
			status, headers, body := b.answer(call, req)
			if headers == nil {
				headers = map[string]string{}
			}
			headers["Content-Type"] = "application/json"
			hb, _ := json.Marshal(headers)
			parts = append(parts, fmt.Sprintf(`{"id":%q,"status":%d,"headers":%s,"body":%s}`, req.ID, status, hb, body))
		}
		writeJSON(w, 200, `{"responses":[`+strings.Join(parts, ",\n")+`]}`)
	}
}

func (b *batchServer) snapshot() [][]wireRequest {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.calls)
}

func TestBatch45(t *testing.T) {
	var mu sync.Mutex
	throttled := false
	bs := &batchServer{answer: func(call int, r wireRequest) (int, map[string]string, string) {
		ru := map[string]string{"x-ms-resource-unit": "1"}
		switch {
		case strings.Contains(r.URL, "/u07/"):
			mu.Lock()
			first := !throttled
			throttled = true
			mu.Unlock()
			if first {
				return 429, map[string]string{"Retry-After": "3", "x-ms-resource-unit": "1"}, graphError("TooManyRequests", "Too many requests")
			}
		case strings.Contains(r.URL, "/u30/"):
			return 404, ru, graphError("Request_ResourceNotFound", "gone")
		}
		b, _ := json.Marshal(map[string]any{"value": []map[string]string{{"id": r.URL}}})
		return 200, ru, string(b)
	}}
	f := newFakeEntra(t, nil)
	f.api = bs.handler(t)
	c, clk, _ := newTestClient(t, f, clientOpts{})

	reqs := make([]BatchRequest, 45)
	for i := range reqs {
		reqs[i] = BatchRequest{ID: fmt.Sprintf("r%02d", i), URL: fmt.Sprintf("/v1.0/users/u%02d/memberOf?$select=id", i)}
	}
	out, err := c.Batch(context.Background(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 45 {
		t.Fatalf("%d responses", len(out))
	}
	for i, r := range out {
		if r.ID != reqs[i].ID {
			t.Errorf("response %d has id %q, want %q", i, r.ID, reqs[i].ID)
		}
		want := 200
		if i == 30 {
			want = 404
		}
		if r.Status != want {
			t.Errorf("response %d status %d, want %d", i, r.Status, want)
		}
		if want == 200 && !strings.Contains(string(r.Body), fmt.Sprintf("/users/u%02d/memberOf", i)) {
			t.Errorf("response %d body %s belongs to another request", i, r.Body)
		}
	}
	var ge struct{ Error struct{ Code string } }
	if json.Unmarshal(out[30].Body, &ge); ge.Error.Code != "Request_ResourceNotFound" {
		t.Errorf("inner 404 body not returned as is: %s", out[30].Body)
	}

	calls := bs.snapshot()
	if len(calls) != 4 {
		t.Fatalf("%d $batch calls, want 3 + 1 retry", len(calls))
	}
	// Chunks run concurrently, so the retry may go before the last chunk.
	var sizes []int
	u07 := 0
	for _, cl := range calls {
		sizes = append(sizes, len(cl))
		for _, r := range cl {
			if strings.HasPrefix(r.URL, "/v1.0") || r.Method != "GET" {
				t.Errorf("inner request %+v: want a GET relative to v1.0", r)
			}
			if strings.Contains(r.URL, "/u07/") {
				u07++
			}
		}
		if len(cl) == 1 && !strings.Contains(cl[0].URL, "/u07/") {
			t.Errorf("retry call %+v, want only the throttled request", cl)
		}
	}
	sort.Ints(sizes)
	if !slices.Equal(sizes, []int{1, 5, 20, 20}) || u07 != 2 {
		t.Errorf("batch sizes %v (u07 sent %d times), want [1 5 20 20]: three chunks and the throttled request alone", sizes, u07)
	}
	if w := clk.Waits(); !slices.Equal(w, []time.Duration{3 * time.Second}) {
		t.Errorf("waits %v, want the inner Retry-After [3s]", w)
	}
	s := c.Stats()
	if s.Batches != 4 || s.InnerRequests != 46 || s.Throttled429Inner != 1 || s.Throttled429Outer != 0 || s.Retries != 1 || s.ResourceUnits != 46 || s.Requests != 4 {
		t.Errorf("stats %+v", s)
	}
}

func TestBatchDependsOnRetried(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{}
	bs := &batchServer{answer: func(call int, r wireRequest) (int, map[string]string, string) {
		mu.Lock()
		seen[r.URL]++
		n := seen[r.URL]
		mu.Unlock()
		switch {
		case r.URL == "/groups/a" && n == 1:
			return 429, map[string]string{"Retry-After": "2"}, graphError("TooManyRequests", "x")
		case r.URL == "/groups/b" && n == 1:
			return 424, nil, graphError("FailedDependency", "dependency failed")
		}
		return 200, nil, `{"id":"` + r.URL + `"}`
	}}
	f := newFakeEntra(t, bs.handler(t))
	c, _, _ := newTestClient(t, f, clientOpts{})
	out, err := c.Batch(context.Background(), []BatchRequest{
		{ID: "A", URL: "/groups/a"},
		{ID: "B", URL: "/groups/b", DependsOn: []string{"a"}}, // ids are case-insensitive
		{ID: "C", URL: "/groups/c"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range out {
		if r.Status != 200 {
			t.Errorf("response %d: %d %s", i, r.Status, r.Body)
		}
	}
	calls := bs.snapshot()
	if len(calls) != 2 || len(calls[1]) != 2 {
		t.Fatalf("calls %+v, want the batch then A and B again", calls)
	}
	if calls[1][0].URL != "/groups/a" || calls[1][1].URL != "/groups/b" || !slices.Equal(calls[1][1].DependsOn, []string{"1"}) {
		t.Errorf("retry call %+v", calls[1])
	}
	if calls[0][1].DependsOn[0] != calls[0][0].ID {
		t.Errorf("dependsOn not mapped to wire ids: %+v", calls[0])
	}
}

func TestBatchGivesUpLoudly(t *testing.T) {
	bs := &batchServer{answer: func(call int, r wireRequest) (int, map[string]string, string) {
		if r.URL == "/users/x" {
			return 429, map[string]string{"Retry-After": "1"}, graphError("TooManyRequests", "still throttled")
		}
		return 200, nil, `{}`
	}}
	f := newFakeEntra(t, bs.handler(t))
	c, _, _ := newTestClient(t, f, clientOpts{maxRetries: 3})
	out, err := c.Batch(context.Background(), []BatchRequest{{ID: "ok", URL: "/users/y"}, {ID: "x", URL: "/users/x"}})
	if err == nil || !strings.Contains(err.Error(), `"x"`) || !strings.Contains(err.Error(), "TooManyRequests") {
		t.Fatalf("error %v, want one naming request x", err)
	}
	var ge *Error
	if !errors.As(err, &ge) || ge.Status != 429 {
		t.Errorf("error does not wrap the inner *Error: %v", err)
	}
	if len(out) != 2 || out[0].Status != 200 || out[1].Status != 429 {
		t.Errorf("responses %+v", out)
	}
	if n := len(bs.snapshot()); n != 3 {
		t.Errorf("%d calls, want 3 (MaxRetries)", n)
	}
}

func TestBatchOuterThrottle(t *testing.T) {
	clk := newFakeClock()
	bs := &batchServer{
		answer: func(int, wireRequest) (int, map[string]string, string) { return 200, nil, `{"value":[]}` },
		outer: func(call int) (int, []string) {
			if call == 0 {
				return 429, []string{"Retry-After", clk.Now().Add(4 * time.Second).UTC().Format(http.TimeFormat)}
			}
			return 0, nil
		},
	}
	f := newFakeEntra(t, bs.handler(t))
	c, _, _ := newTestClient(t, f, clientOpts{clock: clk})
	out, err := c.Batch(context.Background(), []BatchRequest{{URL: "/users"}, {URL: "/groups"}})
	if err != nil || len(out) != 2 || out[0].ID != "1" || out[1].ID != "2" {
		t.Fatalf("Batch = %+v, %v", out, err)
	}
	if w := clk.Waits(); !slices.Equal(w, []time.Duration{4 * time.Second}) {
		t.Errorf("waits %v, want [4s]", w)
	}
	if s := c.Stats(); s.Throttled429Outer != 1 || s.Batches != 2 {
		t.Errorf("stats %+v", s)
	}
}

func TestPlanChunks(t *testing.T) {
	mk := func(n int, deps map[int][]int) []batchItem {
		items := make([]batchItem, n)
		for i := range items {
			items[i].id = fmt.Sprint(i)
			items[i].deps = deps[i]
		}
		return items
	}
	tests := []struct {
		name    string
		items   []batchItem
		want    []int // chunk sizes
		wantErr string
	}{
		{"45 independent", mk(45, nil), []int{20, 20, 5}, ""},
		{"exactly 20", mk(20, nil), []int{20}, ""},
		{"group kept together", mk(22, map[int][]int{19: {18}, 20: {19}}), []int{18, 4}, ""},
		{"group of 21", mk(21, func() map[int][]int {
			m := map[int][]int{}
			for i := 1; i < 21; i++ {
				m[i] = []int{i - 1}
			}
			return m
		}()), nil, "at most 20"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			chunks, err := planChunks(tt.items)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			var sizes []int
			seen := map[int]bool{}
			for _, ch := range chunks {
				sizes = append(sizes, len(ch))
				for _, i := range ch {
					seen[i] = true
				}
			}
			if !slices.Equal(sizes, tt.want) || len(seen) != len(tt.items) {
				t.Errorf("sizes %v (%d distinct), want %v", sizes, len(seen), tt.want)
			}
		})
	}
}

func TestPrepareBatch(t *testing.T) {
	c, err := New(Config{TenantID: testTenant, ClientID: testClientID, ClientSecret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		reqs    []BatchRequest
		wantURL string
		wantErr string
	}{
		{"relative", []BatchRequest{{URL: "/users?$top=5"}}, "/users?$top=5", ""},
		{"no slash", []BatchRequest{{URL: "users?$top=5"}}, "/users?$top=5", ""},
		{"v1.0 path", []BatchRequest{{URL: "/v1.0/groups/g/members"}}, "/groups/g/members", ""},
		{"absolute nextLink", []BatchRequest{{URL: "https://graph.microsoft.com/v1.0/groups/g/members?$skiptoken=a%3d"}}, "/groups/g/members?$skiptoken=a%3d", ""},
		{"beta", []BatchRequest{{URL: "/beta/users"}}, "", "not v1.0"},
		{"other host", []BatchRequest{{URL: "https://evil.example.com/v1.0/users"}}, "", "refusing"},
		{"duplicate ids", []BatchRequest{{ID: "a", URL: "/users"}, {ID: "A", URL: "/groups"}}, "", "same id"},
		{"unknown dependency", []BatchRequest{{ID: "a", URL: "/users", DependsOn: []string{"b"}}}, "", "unknown id"},
		{"bad body", []BatchRequest{{Method: "POST", URL: "/users", Body: json.RawMessage(`{`)}}, "", "not valid JSON"},
		{"empty url", []BatchRequest{{}}, "", "empty URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items, err := c.prepareBatch(tt.reqs)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || items[0].url != tt.wantURL || items[0].method != "GET" {
				t.Errorf("items %+v, %v; want url %q", items, err, tt.wantURL)
			}
		})
	}
	items, err := c.prepareBatch([]BatchRequest{{Method: "post", URL: "/directoryObjects/getByIds", Body: json.RawMessage(`{"ids":["a"]}`)}})
	if err != nil || items[0].headers["Content-Type"] != "application/json" || items[0].method != "POST" || items[0].table != 3 {
		t.Errorf("body request: %+v %v", items, err)
	}
}

func TestDecodeBatchResponse(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		want    []BatchResponse
		wantErr string
	}{
		{"docs example", `{"responses":[{"id":"1","status":200,"headers":{"Cache-Control":"no-cache","x-ms-resource-unit":"1"},"body":{"value":[ {"id":"x"} ]}},{"id":"3","status":403,"headers":{},"body":{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation."}}}]}`,
			[]BatchResponse{
				{ID: "1", Status: 200, Headers: map[string]string{"Cache-Control": "no-cache", "x-ms-resource-unit": "1"}, Body: json.RawMessage(`{"value":[ {"id":"x"} ]}`)},
				{ID: "3", Status: 403, Body: json.RawMessage(`{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation."}}`)},
			}, ""},
		{"base64 body, numeric id, odd header", `{"responses":[{"id":2,"status":204,"headers":{"n":5},"body":"aGVsbG8="}]}`,
			[]BatchResponse{{ID: "2", Status: 204, Headers: map[string]string{"n": "5"}, Body: json.RawMessage(`"aGVsbG8="`)}}, ""},
		{"no responses", `{"value":[]}`, nil, `no "responses"`},
		{"bad status", `{"responses":[{"id":"1","status":"200"}]}`, nil, "cannot unmarshal"},
		{"truncated", `{"responses":[{"id":"1"`, nil, "unexpected end"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeBatchResponse([]byte(tt.body))
			if tt.wantErr != "" {
				var de *DecodeError
				if !errors.As(err, &de) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want *DecodeError %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || len(got) != len(tt.want) {
				t.Fatalf("got %+v, %v", got, err)
			}
			for i := range got {
				g, w := got[i], tt.want[i]
				if g.ID != w.ID || g.Status != w.Status || string(g.Body) != string(w.Body) || len(g.Headers) != len(w.Headers) {
					t.Errorf("response %d = %+v, want %+v", i, g, w)
				}
				for k, v := range w.Headers {
					if g.Headers[k] != v {
						t.Errorf("header %s = %q, want %q", k, g.Headers[k], v)
					}
				}
			}
		})
	}
}

func TestBatchInner401GetsANewTokenAtMostTwice(t *testing.T) {
	tests := []struct {
		name       string
		fail401    int // calls answering /users/x with 401
		wantStatus int
		wantTokens int
		wantCalls  int
	}{
		{"renewed and re-sent", 1, 200, 2, 2},
		{"renewed twice", 2, 200, 3, 3},
		{"refused again: returned as is", 5, 401, 3, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bs := &batchServer{answer: func(call int, r wireRequest) (int, map[string]string, string) {
				if r.URL == "/users/x" && call < tc.fail401 {
					return 401, nil, graphError("InvalidAuthenticationToken", "Lifetime validation failed, the token is expired.")
				}
				return 200, nil, `{}`
			}}
			f := newFakeEntra(t, bs.handler(t))
			c, _, _ := newTestClient(t, f, clientOpts{})
			out, err := c.Batch(context.Background(), []BatchRequest{{ID: "ok", URL: "/users/y"}, {ID: "x", URL: "/users/x"}})
			if err != nil {
				t.Fatal(err)
			}
			if out[1].Status != tc.wantStatus || out[0].Status != 200 {
				t.Errorf("responses %+v", out)
			}
			if n := f.tokenRequests(); n != tc.wantTokens {
				t.Errorf("%d token requests, want %d", n, tc.wantTokens)
			}
			if calls := bs.snapshot(); len(calls) != tc.wantCalls || len(calls[1]) != 1 {
				t.Errorf("calls %+v, want the 401 one re-sent alone", calls)
			}
		})
	}
}
