package qualys

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// exceptionNow is the clock of the exception tests: the day after the
// seed's sample exception was created.
var exceptionNow = time.Date(2026, 5, 18, 7, 1, 5, 0, time.UTC)

// validException is a valid input at exceptionNow (the seed's sample).
func validException() ExceptionInput {
	return ExceptionInput{
		Name:         "OCI Resource Level Exception",
		Description:  "OCI",
		Reason:       "Risk Accepted",
		StartingDate: "2026-05-17T18:30:00.000Z",
		EndingDate:   "2026-05-20T18:29:59.000Z",
		Scope:        "CONNECTOR",
		CloudType:    "OCI",
	}
}

func TestExceptionInputValidate(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(in *ExceptionInput)
		wantIn []string // substrings of the error; nil = valid
	}{
		{"seed sample", func(in *ExceptionInput) {}, nil},
		{"minimal", func(in *ExceptionInput) { in.Description, in.CloudType = "", "" }, nil},
		{"every scope and cloud", func(in *ExceptionInput) { in.Scope, in.CloudType = "GLOBAL", "AZURE" }, nil},
		{"rfc3339 with offset", func(in *ExceptionInput) {
			in.StartingDate, in.EndingDate = "2026-05-17T20:30:00+02:00", "2026-06-01T00:00:00-05:00"
		}, nil},
		{"rfc3339 without fraction", func(in *ExceptionInput) { in.EndingDate = "2026-05-20T18:29:59Z" }, nil},
		{"api +0000 offset", func(in *ExceptionInput) { in.EndingDate = "2026-05-20T18:29:59+0000" }, nil},
		{"ending now", func(in *ExceptionInput) { in.EndingDate = "2026-05-18T07:01:05.000Z" }, nil},
		{"name 255 characters", func(in *ExceptionInput) { in.Name = strings.Repeat("é", 255) }, nil},

		{"name empty", func(in *ExceptionInput) { in.Name = "" }, []string{"name is required"}},
		{"name blank", func(in *ExceptionInput) { in.Name = " \t" }, []string{"name is required"}},
		{"name 256 characters", func(in *ExceptionInput) { in.Name = strings.Repeat("é", 256) }, []string{"name is 256 characters", "at most 255"}},
		{"reason empty", func(in *ExceptionInput) { in.Reason = "" }, []string{"reason is required", `"Risk Accepted"`}},
		{"startingDate empty", func(in *ExceptionInput) { in.StartingDate = "" }, []string{"startingDate is required"}},
		{"startingDate not a date", func(in *ExceptionInput) { in.StartingDate = "yesterday" }, []string{`startingDate "yesterday" is not a date-time`}},
		{"endingDate date only", func(in *ExceptionInput) { in.EndingDate = "2026-05-20" }, []string{`endingDate "2026-05-20" is not a date-time`}},
		{"endingDate empty", func(in *ExceptionInput) { in.EndingDate = "" }, []string{"endingDate is required"}},
		{"start equals end", func(in *ExceptionInput) { in.StartingDate = in.EndingDate }, []string{"startingDate 2026-05-20T18:29:59.000Z must be before endingDate 2026-05-20T18:29:59.000Z"}},
		{"start after end", func(in *ExceptionInput) { in.StartingDate = "2026-05-21T00:00:00Z" }, []string{"startingDate", "must be before endingDate"}},
		{"ending in the past", func(in *ExceptionInput) {
			in.StartingDate, in.EndingDate = "2026-05-01T00:00:00.000Z", "2026-05-18T07:01:04.999Z"
		}, []string{"endingDate 2026-05-18T07:01:04.999Z is in the past"}},
		{"scope empty", func(in *ExceptionInput) { in.Scope = "" }, []string{"scope is required", "CONNECTOR, ACCOUNT, RESOURCE, CONTROL, GLOBAL"}},
		{"scope unknown", func(in *ExceptionInput) { in.Scope = "TENANT" }, []string{`scope "TENANT" is not one of`}},
		{"scope lower case", func(in *ExceptionInput) { in.Scope = "connector" }, []string{`scope "connector" is not one of`}},
		{"cloudType unknown", func(in *ExceptionInput) { in.CloudType = "IBM" }, []string{`cloudType "IBM" is not one of AWS, AZURE, GCP, OCI`}},
		{"cloudType API path spelling", func(in *ExceptionInput) { in.CloudType = "Azure" }, []string{`cloudType "Azure"`}},
		{"several problems", func(in *ExceptionInput) { in.Name, in.Reason, in.Scope = "", "", "X" }, []string{"name is required", "reason is required", `scope "X"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := validException()
			tt.edit(&in)
			err := in.Validate(exceptionNow)
			if tt.wantIn == nil {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate accepted the input")
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "qualys: invalid exception: ") || strings.Contains(msg, "\n") {
				t.Errorf("error %q is not one qualys line", msg)
			}
			for _, w := range tt.wantIn {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
		})
	}
}

// recorded is one request an API handler saw.
type recorded struct {
	Method, EscapedPath, RawQuery, ContentType, Accept string
	Body                                               []byte
}

// recorder records API requests and answers them with steps in order (the
// last one repeats).
type recorder struct {
	mu    sync.Mutex
	reqs  []recorded
	steps []step
}

func (rc *recorder) handler(t *testing.T) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("reading request body: %v", err)
		}
		rc.mu.Lock()
		rc.reqs = append(rc.reqs, recorded{r.Method, r.URL.EscapedPath(), r.URL.RawQuery, r.Header.Get("Content-Type"), r.Header.Get("Accept"), body})
		s := rc.steps[min(len(rc.reqs), len(rc.steps))-1]
		rc.mu.Unlock()
		for k, v := range s.headers {
			w.Header().Set(k, v)
		}
		if s.status == 0 {
			s.status = http.StatusOK
		}
		w.WriteHeader(s.status)
		io.WriteString(w, s.body)
	}
}

func (rc *recorder) requests() []recorded {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]recorded(nil), rc.reqs...)
}

// jsonEqual reports whether a and b hold the same JSON value.
func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var va, vb any
	if err := json.Unmarshal(a, &va); err != nil {
		t.Fatalf("not JSON: %v: %s", err, a)
	}
	if err := json.Unmarshal(b, &vb); err != nil {
		t.Fatalf("not JSON: %v: %s", err, b)
	}
	return reflect.DeepEqual(va, vb)
}

// sampleException is the seed's exception record as one object, with a
// trailing newline as encoders write it.
const sampleException = `{
"uuid": "0f0e0d0c-0b0a-0908-0706-050403020100",
"name": "OCI Resource Level Exception",
"description": "OCI",
"reason": "Risk Accepted",
"state": "ACTIVE",
"startingDate": "2026-05-17T18:30:00.000Z",
"endingDate": "2026-05-20T18:29:59.000Z",
"createdBy": "qatesxsn",
"updatedBy": "qatesxsn",
"createdOn": "2026-05-18T07:01:05+0000",
"updatedOn": "2026-05-18T07:01:05+0000",
"scope": "CONNECTOR"
}
`

func newExceptionClient(t *testing.T, rc *recorder, o clientOpts) (*Client, *gateway) {
	t.Helper()
	g := newGateway(t, rc.handler(t))
	c, _, _ := newTestClient(t, g, o)
	c.now = func() time.Time { return exceptionNow }
	return c, g
}

func TestExceptionCRUDRequests(t *testing.T) {
	wantSample := Exception{
		UUID: "0f0e0d0c-0b0a-0908-0706-050403020100", Name: "OCI Resource Level Exception", Description: "OCI",
		Reason: "Risk Accepted", State: "ACTIVE", StartingDate: "2026-05-17T18:30:00.000Z", EndingDate: "2026-05-20T18:29:59.000Z",
		CreatedBy: "qatesxsn", UpdatedBy: "qatesxsn", CreatedOn: "2026-05-18T07:01:05+0000", UpdatedOn: "2026-05-18T07:01:05+0000", Scope: "CONNECTOR",
	}
	full := ExceptionInput{
		Name: "Accept open SSH on bastions", Description: "jump hosts", Reason: "Compensating Control",
		StartingDate: "2026-05-17T20:30:00+02:00", EndingDate: "2026-12-31T23:59:59Z",
		Scope: "RESOURCE", CloudType: "AWS", ControlIDs: []int64{50179, 1},
		ConnectorUUIDs: []string{"c-1"}, AccountIDs: []string{"123456789012"}, ResourceIDs: []string{"i-0abc", "i-0def"},
	}
	// The dates go out in the API's format, in UTC; empty fields are omitted.
	fullWire := `{"name":"Accept open SSH on bastions","description":"jump hosts","reason":"Compensating Control",
		"startingDate":"2026-05-17T18:30:00.000Z","endingDate":"2026-12-31T23:59:59.000Z","scope":"RESOURCE","cloudType":"AWS",
		"controlIds":[50179,1],"connectorUuids":["c-1"],"accountIds":["123456789012"],"resourceIds":["i-0abc","i-0def"]}`
	minimal := ExceptionInput{Name: "n", Reason: "r", StartingDate: "2026-05-17T18:30:00.000Z", EndingDate: "2026-05-20T18:29:59.000Z", Scope: "GLOBAL"}
	minimalWire := `{"name":"n","reason":"r","startingDate":"2026-05-17T18:30:00.000Z","endingDate":"2026-05-20T18:29:59.000Z","scope":"GLOBAL"}`

	type result struct {
		item Item[Exception]
		ids  []string
	}
	tests := []struct {
		name     string
		call     func(c *Client) (result, error)
		answer   step
		method   string
		path     string // escaped
		body     string // JSON; "" = no body
		wantItem bool
		wantIDs  []string
	}{
		{
			name: "get",
			call: func(c *Client) (result, error) {
				it, err := c.Exception(context.Background(), "0f0e0d0c-0b0a")
				return result{item: it}, err
			},
			answer: step{body: sampleException}, method: "GET", path: "/cloudview-api/rest/v1/exceptions/0f0e0d0c-0b0a", wantItem: true,
		},
		{
			name: "get escapes the id",
			call: func(c *Client) (result, error) {
				it, err := c.Exception(context.Background(), "a/b c?d#e%f")
				return result{item: it}, err
			},
			answer: step{body: sampleException}, method: "GET", path: "/cloudview-api/rest/v1/exceptions/a%2Fb%20c%3Fd%23e%25f", wantItem: true,
		},
		{
			name: "create 201",
			call: func(c *Client) (result, error) {
				it, err := c.CreateException(context.Background(), full)
				return result{item: it}, err
			},
			answer: step{status: 201, body: sampleException}, method: "POST", path: "/cloudview-api/rest/v1/exceptions/create", body: fullWire, wantItem: true,
		},
		{
			name: "create 200 minimal",
			call: func(c *Client) (result, error) {
				it, err := c.CreateException(context.Background(), minimal)
				return result{item: it}, err
			},
			answer: step{status: 200, body: sampleException}, method: "POST", path: "/cloudview-api/rest/v1/exceptions/create", body: minimalWire, wantItem: true,
		},
		{
			name: "update",
			call: func(c *Client) (result, error) {
				it, err := c.UpdateException(context.Background(), "id with space/slash", full)
				return result{item: it}, err
			},
			answer: step{body: sampleException}, method: "PUT", path: "/cloudview-api/rest/v1/exceptions/id%20with%20space%2Fslash", body: fullWire, wantItem: true,
		},
		{
			name: "delete",
			call: func(c *Client) (result, error) {
				ids, err := c.DeleteExceptions(context.Background(), []string{"u-1", "u-2", "u-3"})
				return result{ids: ids}, err
			},
			answer: step{body: `{"deletedIds":["u-1","u-3"]}`}, method: "DELETE", path: "/cloudview-api/rest/v1/exceptions/delete",
			body: `{"exceptionIds":["u-1","u-2","u-3"]}`, wantIDs: []string{"u-1", "u-3"},
		},
		{
			name: "delete none deleted",
			call: func(c *Client) (result, error) {
				ids, err := c.DeleteExceptions(context.Background(), []string{"u-1"})
				return result{ids: ids}, err
			},
			answer: step{body: `{"deletedIds":[],"message":"nothing to delete"}`}, method: "DELETE", path: "/cloudview-api/rest/v1/exceptions/delete",
			body: `{"exceptionIds":["u-1"]}`, wantIDs: []string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := &recorder{steps: []step{tt.answer}}
			c, _ := newExceptionClient(t, rc, clientOpts{})
			res, err := tt.call(c)
			if err != nil {
				t.Fatal(err)
			}
			reqs := rc.requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want 1", len(reqs))
			}
			r := reqs[0]
			if r.Method != tt.method || r.EscapedPath != tt.path || r.RawQuery != "" {
				t.Errorf("request %s %s?%s, want %s %s", r.Method, r.EscapedPath, r.RawQuery, tt.method, tt.path)
			}
			if r.Accept != "application/json" {
				t.Errorf("Accept = %q", r.Accept)
			}
			if tt.body == "" {
				if len(r.Body) != 0 || r.ContentType != "" {
					t.Errorf("unexpected body %q (Content-Type %q)", r.Body, r.ContentType)
				}
			} else {
				if r.ContentType != "application/json" {
					t.Errorf("Content-Type = %q, want application/json", r.ContentType)
				}
				if !jsonEqual(t, r.Body, []byte(tt.body)) {
					t.Errorf("body\n%s\nwant\n%s", r.Body, tt.body)
				}
			}
			if tt.wantItem {
				if res.item.Value != wantSample {
					t.Errorf("exception = %+v", res.item.Value)
				}
				if want := strings.TrimSuffix(sampleException, "\n"); string(res.item.Raw) != want {
					t.Errorf("Raw = %q, want the object byte-exact", res.item.Raw)
				}
			}
			if tt.wantIDs != nil && !reflect.DeepEqual(res.ids, tt.wantIDs) {
				t.Errorf("deleted ids = %#v, want %#v", res.ids, tt.wantIDs)
			}
		})
	}
}

// Refusals come back as *APIError with the server's message verbatim, after
// one request (no retry, no rate-limit wait for a bare 409).
func TestExceptionRefusals(t *testing.T) {
	msg400 := "endingDate must be after startingDate; got \"2026-05-20T18:29:59.000Z\"\tπ"
	body := func(code, msg string) string {
		b, _ := json.Marshal(map[string]any{"errorCode": code, "message": msg, "timestamp": 1718000000000})
		return string(b)
	}
	tests := []struct {
		name     string
		call     func(c *Client) error
		answer   step
		status   int
		code     string
		message  string
		wantHint string
	}{
		{"create 400", func(c *Client) error { _, err := c.CreateException(context.Background(), validException()); return err },
			step{status: 400, body: body("CV-400", msg400)}, 400, "CV-400", msg400, ""},
		{"create 409 duplicate", func(c *Client) error { _, err := c.CreateException(context.Background(), validException()); return err },
			step{status: 409, body: body("CV-409", "Exception with name 'OCI Resource Level Exception' already exists")}, 409, "CV-409",
			"Exception with name 'OCI Resource Level Exception' already exists", "conflicting"},
		{"get 404", func(c *Client) error { _, err := c.Exception(context.Background(), "nope"); return err },
			step{status: 404, body: body("CV-404", "Exception not found for id: nope")}, 404, "CV-404", "Exception not found for id: nope", ""},
		{"update 404", func(c *Client) error {
			_, err := c.UpdateException(context.Background(), "nope", validException())
			return err
		},
			step{status: 404, body: body("CV-404", "Exception not found")}, 404, "CV-404", "Exception not found", ""},
		{"update 409", func(c *Client) error {
			_, err := c.UpdateException(context.Background(), "x", validException())
			return err
		},
			step{status: 409, body: body("CV-409", "Exception is EXPIRED and cannot be updated")}, 409, "CV-409", "Exception is EXPIRED and cannot be updated", "conflicting"},
		{"delete 400", func(c *Client) error { _, err := c.DeleteExceptions(context.Background(), []string{"x"}); return err },
			step{status: 400, body: `{"errorCode":"CV-400","message":"Invalid exception ids: [x]","timestamp":"t","status":400,"error":"Bad Request","path":"/x"}`},
			400, "CV-400", "Invalid exception ids: [x]", ""},
		{"create 403", func(c *Client) error { _, err := c.CreateException(context.Background(), validException()); return err },
			step{status: 403, body: body("CV-403", "User lacks the Manage Exceptions permission")}, 403, "CV-403", "User lacks the Manage Exceptions permission", "TotalCloud permission"},
		{"get 200 with an error object", func(c *Client) error { _, err := c.Exception(context.Background(), "x"); return err },
			step{status: 200, body: body("CV-1", "Something odd")}, 200, "CV-1", "Something odd", ""},
		{"create 201 with an error object", func(c *Client) error { _, err := c.CreateException(context.Background(), validException()); return err },
			step{status: 201, body: `{"message":"Validation failed"}`}, 201, "", "Validation failed", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := &recorder{steps: []step{tt.answer, {status: 500, body: "the call must not be repeated"}}}
			c, _ := newExceptionClient(t, rc, clientOpts{maxWait: time.Hour})
			err := tt.call(c)
			var ae *APIError
			if !errors.As(err, &ae) {
				t.Fatalf("error %T %v, want *APIError", err, err)
			}
			if ae.StatusCode != tt.status || ae.Code != tt.code || ae.Message != tt.message {
				t.Errorf("APIError{%d, %q, %q}, want {%d, %q, %q}", ae.StatusCode, ae.Code, ae.Message, tt.status, tt.code, tt.message)
			}
			if !strings.Contains(ae.Hint(), tt.wantHint) {
				t.Errorf("hint %q lacks %q", ae.Hint(), tt.wantHint)
			}
			if n := len(rc.requests()); n != 1 {
				t.Errorf("%d requests, want 1", n)
			}
			if !strings.HasPrefix(ae.Op, "get exception") && !strings.HasPrefix(ae.Op, "create exception") &&
				!strings.HasPrefix(ae.Op, "update exception") && !strings.HasPrefix(ae.Op, "delete exceptions") {
				t.Errorf("Op = %q", ae.Op)
			}
		})
	}
}

// A create is sent again only when the server said it did not process it.
func TestCreateExceptionNotRepeated(t *testing.T) {
	created := step{status: 201, body: sampleException}
	tests := []struct {
		name      string
		steps     []step
		drops     int64 // API connections closed after reading the request, before answering
		wantPosts int
		wantErr   string // "" = success; else a substring
		apiStatus int    // the *APIError status expected, 0 = not an APIError
	}{
		{name: "503 not repeated", steps: []step{{status: 503, body: `{"errorCode":"503","message":"Service Unavailable"}`}, created},
			wantPosts: 1, wantErr: "may have been applied", apiStatus: 503},
		{name: "502 not repeated", steps: []step{{status: 502, body: "<html>Bad Gateway</html>"}, created},
			wantPosts: 1, wantErr: "check whether it took effect", apiStatus: 502},
		{name: "connection dropped after sending", steps: []step{created}, drops: 1,
			wantPosts: 1, wantErr: "may have reached the server"},
		{name: "429 repeated", steps: []step{{status: 429, headers: map[string]string{"X-RateLimit-ToWait-Sec": "0"}}, created}, wantPosts: 2},
		{name: "429 without header repeated", steps: []step{{status: 429}, {status: 429}, created}, wantPosts: 3},
		{name: "409 with wait header repeated", steps: []step{{status: 409, headers: map[string]string{"X-RateLimit-ToWait-Sec": "0"}}, created}, wantPosts: 2},
		{name: "409 with Retry-After repeated", steps: []step{{status: 409, headers: map[string]string{"Retry-After": "0"}}, created}, wantPosts: 2},
		{name: "401 re-authenticates and repeats", steps: []step{{status: 401, body: `{"message":"Token expired"}`}, created}, wantPosts: 2},
		{name: "success body cut off", steps: []step{{status: 201, headers: map[string]string{"Content-Length": "5000"}, body: `{"uuid":`}},
			wantPosts: 1, wantErr: "cut off"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := &recorder{steps: tt.steps}
			var n atomic.Int64
			inner := rc.handler(t)
			g := newGateway(t, func(w http.ResponseWriter, r *http.Request) {
				if n.Add(1) <= tt.drops {
					io.Copy(io.Discard, r.Body)
					// Record before dropping: the client returns as soon as
					// the connection closes.
					rc.mu.Lock()
					rc.reqs = append(rc.reqs, recorded{Method: r.Method})
					rc.mu.Unlock()
					conn, _, err := w.(http.Hijacker).Hijack()
					if err != nil {
						t.Error(err)
						return
					}
					conn.Close()
					return
				}
				inner(w, r)
			}, "tok-1", "tok-2")
			tr := http.DefaultTransport.(*http.Transport).Clone()
			tr.DisableKeepAlives = true
			c, _, logs := newTestClient(t, g, clientOpts{maxAttempts: 5, transport: tr})
			c.now = func() time.Time { return exceptionNow }
			it, err := c.CreateException(context.Background(), validException())
			posts := 0
			for _, r := range rc.requests() {
				if r.Method == http.MethodPost {
					posts++
				}
			}
			if posts != tt.wantPosts {
				t.Errorf("%d POSTs, want %d", posts, tt.wantPosts)
			}
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if it.Value.UUID == "" {
					t.Error("no exception returned")
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			}
			var ae *APIError
			if isAPI := errors.As(err, &ae); isAPI != (tt.apiStatus != 0) || (isAPI && ae.StatusCode != tt.apiStatus) {
				t.Errorf("error %T %v, want APIError status %d", err, err, tt.apiStatus)
			}
			if strings.Contains(logs.String(), "retrying") {
				t.Errorf("log shows a retry:\n%s", logs)
			}
		})
	}
}

// A create whose connection could not even be made is sent again: nothing
// reached the server.
func TestCreateExceptionRetriedWhenNeverSent(t *testing.T) {
	rc := &recorder{steps: []step{{status: 201, body: sampleException}}}
	g := newGateway(t, rc.handler(t))

	// A port nobody listens on: dialing it is refused.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()

	var failDials atomic.Int64
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DisableKeepAlives = true
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		if failDials.Add(-1) >= 0 {
			return d.DialContext(ctx, network, closed)
		}
		return d.DialContext(ctx, network, addr)
	}
	c, _, _ := newTestClient(t, g, clientOpts{maxAttempts: 5, transport: tr})
	c.now = func() time.Time { return exceptionNow }
	if err := c.Authenticate(context.Background()); err != nil {
		t.Fatal(err)
	}
	failDials.Store(2)
	it, err := c.CreateException(context.Background(), validException())
	if err != nil {
		t.Fatalf("CreateException: %v", err)
	}
	if it.Value.Name != "OCI Resource Level Exception" {
		t.Errorf("exception = %+v", it.Value)
	}
	if n := len(rc.requests()); n != 1 {
		t.Errorf("server saw %d requests, want 1", n)
	}
	if got := c.Requests(); got != 4 { // auth + 2 refused + 1 sent
		t.Errorf("Requests() = %d, want 4", got)
	}
}

// Update and get are idempotent: they are retried after a 5xx.
func TestIdempotentExceptionCallsRetried(t *testing.T) {
	tests := []struct {
		name string
		call func(c *Client) error
	}{
		{"update", func(c *Client) error {
			_, err := c.UpdateException(context.Background(), "x", validException())
			return err
		}},
		{"get", func(c *Client) error { _, err := c.Exception(context.Background(), "x"); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := &recorder{steps: []step{{status: 503}, {status: 502}, {body: sampleException}}}
			c, _ := newExceptionClient(t, rc, clientOpts{maxAttempts: 5})
			if err := tt.call(c); err != nil {
				t.Fatal(err)
			}
			if n := len(rc.requests()); n != 3 {
				t.Errorf("%d requests, want 3", n)
			}
		})
	}
}

// Bad arguments fail before any request.
func TestExceptionArguments(t *testing.T) {
	ctx := context.Background()
	invalid := validException()
	invalid.Scope = "EVERYWHERE"
	expired := validException()
	expired.StartingDate, expired.EndingDate = "2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z"
	tests := []struct {
		name   string
		call   func(c *Client) error
		wantIn string
	}{
		{"get empty id", func(c *Client) error { _, err := c.Exception(ctx, ""); return err }, "exception id is empty"},
		{"get dot-dot", func(c *Client) error { _, err := c.Exception(ctx, ".."); return err }, "not a valid path segment"},
		{"get list", func(c *Client) error { _, err := c.Exception(ctx, "list"); return err }, "not an exception id"},
		{"update create", func(c *Client) error { _, err := c.UpdateException(ctx, "create", validException()); return err }, "not an exception id"},
		{"create invalid", func(c *Client) error { _, err := c.CreateException(ctx, invalid); return err }, `scope "EVERYWHERE"`},
		{"create expired", func(c *Client) error { _, err := c.CreateException(ctx, expired); return err }, "endingDate 2026-02-01T00:00:00.000Z is in the past"},
		{"update invalid", func(c *Client) error { _, err := c.UpdateException(ctx, "x", invalid); return err }, "invalid exception"},
		{"delete nothing", func(c *Client) error { _, err := c.DeleteExceptions(ctx, nil); return err }, "no exception ids"},
		{"delete empty id", func(c *Client) error { _, err := c.DeleteExceptions(ctx, []string{"a", " "}); return err }, "exceptionIds[1] is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGateway(t, nil)
			c, _, _ := newTestClient(t, g, clientOpts{})
			c.now = func() time.Time { return exceptionNow }
			err := tt.call(c)
			if err == nil || !strings.Contains(err.Error(), tt.wantIn) {
				t.Errorf("error %v, want one containing %q", err, tt.wantIn)
			}
			if c.Requests() != 0 {
				t.Errorf("%d requests sent", c.Requests())
			}
		})
	}
}

// Answers that are not an exception are *DecodeError with the URL.
func TestExceptionDecodeErrors(t *testing.T) {
	tests := []struct {
		name   string
		call   func(c *Client) error
		body   string
		offset int64
		wantIn string
	}{
		{"array", func(c *Client) error { _, err := c.Exception(context.Background(), "x"); return err }, "\n [ ]", 2, "expected a JSON object; got a JSON array"},
		{"truncated", func(c *Client) error { _, err := c.Exception(context.Background(), "x"); return err }, `{"uuid":"a","name":`, 19, "unexpected end"},
		{"no uuid", func(c *Client) error { _, err := c.Exception(context.Background(), "x"); return err }, `{"name":"a"}`, 0, `no "uuid"`},
		{"wrong type", func(c *Client) error { _, err := c.Exception(context.Background(), "x"); return err }, `{"uuid":"a","name":5}`, 20, "cannot unmarshal number"},
		{"empty", func(c *Client) error { _, err := c.Exception(context.Background(), "x"); return err }, "", 0, "empty body"},
		{"delete without deletedIds", func(c *Client) error { _, err := c.DeleteExceptions(context.Background(), []string{"x"}); return err },
			`{"deleted":1}`, 0, `no "deletedIds" array`},
		{"delete ids not strings", func(c *Client) error { _, err := c.DeleteExceptions(context.Background(), []string{"x"}); return err },
			`{"deletedIds":[1]}`, 16, "cannot unmarshal number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := &recorder{steps: []step{{body: tt.body}}}
			c, g := newExceptionClient(t, rc, clientOpts{})
			err := tt.call(c)
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %T %v, want *DecodeError", err, err)
			}
			if de.Offset != tt.offset || !strings.HasPrefix(de.URL, g.srv.URL+"/cloudview-api/rest/v1/exceptions/") {
				t.Errorf("DecodeError{URL %q, Offset %d}, want offset %d", de.URL, de.Offset, tt.offset)
			}
			if !strings.Contains(err.Error(), tt.wantIn) {
				t.Errorf("error %q lacks %q", err, tt.wantIn)
			}
		})
	}
}

func TestDecodeObjectRawExact(t *testing.T) {
	body := []byte(" \r\n\t" + sampleException + "\n\n")
	it, apiErr, err := decodeObject[Exception](body, "uuid")
	if err != nil || apiErr != nil {
		t.Fatal(err, apiErr)
	}
	if !bytes.Equal(it.Raw, bytes.TrimSpace([]byte(sampleException))) {
		t.Errorf("Raw = %q", it.Raw)
	}
}
