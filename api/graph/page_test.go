package graph

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

const usersPage = `{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#users(id,displayName,userPrincipalName,accountEnabled)","@odata.nextLink":"https://graph.microsoft.com/v1.0/users?$select=id,displayName,userPrincipalName,accountEnabled&$top=2&$skiptoken=RFNwdAIAAQAAACpHcm91cF8xMjM0NTY3OC0xMjM0LTEyMzQtMTIzNC0xMjM0NTY3ODkwMTI","value":[{"id":"87d349ed-44d7-43e1-9a83-5f2406dee5bd","displayName":"Adele Vance","userPrincipalName":"AdeleV@contoso.onmicrosoft.com","accountEnabled":true},
  { "id" : "5bde3e51-d13b-4db1-9948-fe4b109d11a7" ,  "displayName":"Alex Wilber \u00e9\"q\"", "userPrincipalName":"AlexW@contoso.onmicrosoft.com","accountEnabled":false }]}`

const groupsDeltaPage = `{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#groups(displayName,description,members)","@odata.deltaLink":"https://graph.microsoft.com/v1.0/groups/delta?$deltatoken=sZs3fCs0yY3bEmFbRzZUzUqP1nG08ZlcaW5SNI7IA2v4",
"value":[{"displayName":"TestGroup1","description":null,"id":"2e5d5ba9-0fd6-4a6d-9b46-d4b5ae6cd3c4","members@delta":[{"@odata.type":"#microsoft.graph.user","id":"693acd06-2877-4339-8ade-b704261fe7a0"},{"@odata.type":"#microsoft.graph.user","id":"49320844-be99-4164-8167-87ff5d047ace","@removed":{"reason":"deleted"}}]},{"id":"c8c0b8ae-5a4f-4c3e-9f0d-7a7a5a3f4b1e","@removed":{"reason":"changed"}}]}`

func TestDecodePage(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		wantItems  []string // exact bytes
		wantNext   string
		wantDelta  string
		wantErr    string
		wantOffset int64
	}{
		{
			name: "users page", body: usersPage,
			wantItems: []string{
				`{"id":"87d349ed-44d7-43e1-9a83-5f2406dee5bd","displayName":"Adele Vance","userPrincipalName":"AdeleV@contoso.onmicrosoft.com","accountEnabled":true}`,
				`{ "id" : "5bde3e51-d13b-4db1-9948-fe4b109d11a7" ,  "displayName":"Alex Wilber \u00e9\"q\"", "userPrincipalName":"AlexW@contoso.onmicrosoft.com","accountEnabled":false }`,
			},
			wantNext: "https://graph.microsoft.com/v1.0/users?$select=id,displayName,userPrincipalName,accountEnabled&$top=2&$skiptoken=RFNwdAIAAQAAACpHcm91cF8xMjM0NTY3OC0xMjM0LTEyMzQtMTIzNC0xMjM0NTY3ODkwMTI",
		},
		{
			name: "delta page with @removed and members@delta", body: groupsDeltaPage,
			wantItems: []string{
				`{"displayName":"TestGroup1","description":null,"id":"2e5d5ba9-0fd6-4a6d-9b46-d4b5ae6cd3c4","members@delta":[{"@odata.type":"#microsoft.graph.user","id":"693acd06-2877-4339-8ade-b704261fe7a0"},{"@odata.type":"#microsoft.graph.user","id":"49320844-be99-4164-8167-87ff5d047ace","@removed":{"reason":"deleted"}}]}`,
				`{"id":"c8c0b8ae-5a4f-4c3e-9f0d-7a7a5a3f4b1e","@removed":{"reason":"changed"}}`,
			},
			wantDelta: "https://graph.microsoft.com/v1.0/groups/delta?$deltatoken=sZs3fCs0yY3bEmFbRzZUzUqP1nG08ZlcaW5SNI7IA2v4",
		},
		{name: "empty page with next link", body: `{"value":[],"@odata.nextLink":"https://graph.microsoft.com/v1.0/users?$skiptoken=x"}`, wantItems: []string{}, wantNext: "https://graph.microsoft.com/v1.0/users?$skiptoken=x"},
		{name: "escaped link", body: `{"@odata.nextLink":"https:\/\/graph.microsoft.com\/v1.0\/users?$skiptoken=a\u0026b","value":[1]}`, wantItems: []string{`1`}, wantNext: "https://graph.microsoft.com/v1.0/users?$skiptoken=a&b"},
		{name: "null links", body: ` {"@odata.nextLink":null,"@odata.deltaLink":null,"value":[ "x" ]} `, wantItems: []string{`"x"`}},
		{name: "other keys ignored", body: `{"@odata.count":3,"value":[{"a":[1,{"b":"]}"}]}],"extra":{"value":5}}`, wantItems: []string{`{"a":[1,{"b":"]}"}]}`}},
		{name: "invalid json", body: `{"value":[{"id":"a"},]}`, wantErr: "not valid JSON", wantOffset: 22},
		{name: "truncated", body: `{"value":[{"id":"a"}`, wantErr: "not valid JSON", wantOffset: 20},
		{name: "not an object", body: `  [1,2]`, wantErr: "not a JSON object", wantOffset: 2},
		{name: "value not array", body: `{"value":{}}`, wantErr: `"value" is not an array`, wantOffset: 9},
		{name: "null element", body: `{"value":[{"id":1}, null]}`, wantErr: "value[1] is null", wantOffset: 20},
		{name: "no value", body: `{"@odata.context":"x"}`, wantErr: `no "value" array`},
		{name: "error body", body: `{"error":{"code":"Request_BadRequest","message":"Invalid request."}}`, wantErr: "Request_BadRequest: Invalid request.", wantOffset: 9},
		{name: "link not string", body: `{"value":[],"@odata.nextLink":5}`, wantErr: "is not a string", wantOffset: 30},
		{name: "empty body", body: ``, wantErr: "not valid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page, err := DecodePage([]byte(tt.body))
			if tt.wantErr != "" {
				var de *DecodeError
				if !errors.As(err, &de) {
					t.Fatalf("error %v (%T), want *DecodeError", err, err)
				}
				if !strings.Contains(err.Error(), tt.wantErr) || de.Offset != tt.wantOffset {
					t.Errorf("error %q at %d, want %q at %d", err, de.Offset, tt.wantErr, tt.wantOffset)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Items) != len(tt.wantItems) {
				t.Fatalf("%d items, want %d", len(page.Items), len(tt.wantItems))
			}
			for i, it := range page.Items {
				if string(it) != tt.wantItems[i] {
					t.Errorf("item %d = %s\nwant %s", i, it, tt.wantItems[i])
				}
			}
			if page.NextLink != tt.wantNext || page.DeltaLink != tt.wantDelta {
				t.Errorf("links %q %q, want %q %q", page.NextLink, page.DeltaLink, tt.wantNext, tt.wantDelta)
			}
			if string(page.Raw) != tt.body {
				t.Errorf("Raw is not the body")
			}
		})
	}
}

// A page item is a capacity-limited sub-slice: appending to it does not
// overwrite the next item.
func TestDecodePageItemsIndependent(t *testing.T) {
	page, err := DecodePage([]byte(`{"value":[{"a":1},{"b":2}]}`))
	if err != nil {
		t.Fatal(err)
	}
	_ = append(page.Items[0], 'X')
	if string(page.Items[1]) != `{"b":2}` {
		t.Errorf("item 1 overwritten: %s", page.Items[1])
	}
}

func TestPagingFollowsNextLinks(t *testing.T) {
	var srvURL string
	pages := map[string]string{
		"$select=id&$top=2": `{"value":[{"id":"1"},{"id":"2"}],"@odata.nextLink":"%s/v1.0/users?$select=id&$top=2&$skiptoken=RFNw%2bdA%3d%3d"}`,
		// A short page, then an empty one: neither means the end.
		"$select=id&$top=2&$skiptoken=RFNw%2bdA%3d%3d": `{"value":[{"id":"3"}],"@odata.nextLink":"%s/v1.0/users?$select=id&$top=2&$skiptoken=p3"}`,
		"$select=id&$top=2&$skiptoken=p3":              `{"value":[],"@odata.nextLink":"%s/v1.0/users?$select=id&$top=2&$skiptoken=p4"}`,
		"$select=id&$top=2&$skiptoken=p4":              `{"value":[{"id":"4"}]}`,
	}
	f := newFakeEntra(t, func(w http.ResponseWriter, r *http.Request) {
		body, ok := pages[r.URL.RawQuery]
		if r.URL.Path != "/v1.0/users" || !ok {
			writeJSON(w, 400, graphError("Request_BadRequest", "unexpected "+r.URL.String()))
			return
		}
		writeJSON(w, 200, strings.ReplaceAll(body, "%s", srvURL))
	})
	srvURL = f.srv.URL
	c, _, _ := newTestClient(t, f, clientOpts{})
	var ids []string
	var sizes []int
	delta, err := c.Pages(context.Background(), "/v1.0/users?$select=id&$top=2", func(p *Page) error {
		sizes = append(sizes, len(p.Items))
		for _, it := range p.Items {
			var v struct{ ID string }
			if err := json.Unmarshal(it, &v); err != nil {
				return err
			}
			ids = append(ids, v.ID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if delta != "" || strings.Join(ids, ",") != "1,2,3,4" || len(sizes) != 4 {
		t.Errorf("delta %q ids %v sizes %v", delta, ids, sizes)
	}
	s := c.Stats()
	if s.Requests != 4 || s.EstimatedUnits != 4*1 {
		// GET users costs 2, −1 for $select; no x-ms-resource-unit here.
		t.Errorf("stats %+v", s)
	}
}

func TestPagingRefusesOtherHosts(t *testing.T) {
	var evilCalls atomic.Int64
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		evilCalls.Add(1)
		writeJSON(w, 200, `{"value":[]}`)
	}))
	defer evil.Close()
	var graphURL string
	tests := []struct {
		name string
		next func() string
	}{
		{"other host", func() string { return evil.URL + "/v1.0/users?$skiptoken=x" }},
		{"other scheme", func() string { return strings.Replace(graphURL, "http://", "https://", 1) + "/v1.0/users?$skiptoken=x" }},
		{"userinfo", func() string { return strings.Replace(graphURL, "http://", "http://user@", 1) + "/v1.0/users" }},
		{"protocol-relative", func() string { return "//" + strings.TrimPrefix(evil.URL, "http://") + "/v1.0/users" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeEntra(t, func(w http.ResponseWriter, r *http.Request) {
				b, _ := json.Marshal(map[string]any{"value": []any{map[string]string{"id": "1"}}, "@odata.nextLink": tt.next()})
				writeJSON(w, 200, string(b))
			})
			graphURL = f.srv.URL
			c, _, _ := newTestClient(t, f, clientOpts{})
			n := 0
			_, err := c.Pages(context.Background(), "/v1.0/users", func(p *Page) error { n++; return nil })
			if err == nil || !strings.Contains(err.Error(), "refusing") && !strings.Contains(err.Error(), "neither a path") {
				t.Fatalf("error %v, want a refusal", err)
			}
			if n != 1 || evilCalls.Load() != 0 {
				t.Errorf("%d pages, %d calls to the other host", n, evilCalls.Load())
			}
		})
	}
}

func TestPagingFnErrorStops(t *testing.T) {
	var srvURL string
	f := newFakeEntra(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"value":[{"id":"1"}],"@odata.nextLink":"`+srvURL+`/v1.0/users?$skiptoken=n"}`)
	})
	srvURL = f.srv.URL
	c, _, _ := newTestClient(t, f, clientOpts{})
	stop := errors.New("stop")
	_, err := c.Pages(context.Background(), "/v1.0/users", func(*Page) error { return stop })
	if err != stop || f.apiCalls.Load() != 1 {
		t.Errorf("err %v after %d calls", err, f.apiCalls.Load())
	}
	// A nextLink pointing at itself is an error, not a loop.
	_, err = c.Pages(context.Background(), srvURL+"/v1.0/users?$skiptoken=n", func(*Page) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "links to itself") {
		t.Errorf("err %v", err)
	}
}

func TestDeltaRound(t *testing.T) {
	var srvURL string
	f := newFakeEntra(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.RawQuery {
		case "$select=id,displayName":
			writeJSON(w, 200, `{"@odata.context":"x","@odata.nextLink":"`+srvURL+`/v1.0/users/delta()?$skiptoken=d2","value":[{"id":"a","displayName":"A"}]}`)
		case "$skiptoken=d2":
			writeJSON(w, 200, `{"@odata.context":"x","@odata.deltaLink":"`+srvURL+`/v1.0/users/delta()?$deltatoken=t1","value":[{"id":"b","displayName":"B"}]}`)
		case "$deltatoken=t1":
			writeJSON(w, 200, `{"@odata.deltaLink":"`+srvURL+`/v1.0/users/delta()?$deltatoken=t2","value":[{"id":"a","@removed":{"reason":"deleted"}},{"id":"c","displayName":"C"}]}`)
		case "$deltatoken=old":
			writeJSON(w, 410, graphError("resyncRequired", "Resync required."))
		case "$deltatoken=expired":
			writeJSON(w, 400, graphError("SyncStateNotFound", "The sync state generation is not found. The delta token is expired and data must be synchronized again."))
		default:
			writeJSON(w, 400, graphError("Request_BadRequest", "bad"))
		}
	})
	srvURL = f.srv.URL
	c, _, _ := newTestClient(t, f, clientOpts{})
	ctx := context.Background()
	var items []string
	collect := func(p *Page) error {
		for _, it := range p.Items {
			items = append(items, string(it))
		}
		return nil
	}
	link, err := c.Pages(ctx, "/v1.0/users/delta?$select=id,displayName", collect)
	if err != nil || link != srvURL+"/v1.0/users/delta()?$deltatoken=t1" || len(items) != 2 {
		t.Fatalf("first round: link %q items %v err %v", link, items, err)
	}
	items = nil
	link, err = c.Pages(ctx, link, collect)
	if err != nil || link != srvURL+"/v1.0/users/delta()?$deltatoken=t2" || len(items) != 2 || !strings.Contains(items[0], `"@removed":{"reason":"deleted"}`) {
		t.Fatalf("second round: link %q items %v err %v", link, items, err)
	}

	tests := []struct {
		name    string
		link    string
		expired bool
	}{
		{"410 gone", srvURL + "/v1.0/users/delta()?$deltatoken=old", true},
		{"400 syncStateNotFound", srvURL + "/v1.0/users/delta()?$deltatoken=expired", true},
		{"400 other", srvURL + "/v1.0/users/delta()?$deltatoken=bogus", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Pages(ctx, tt.link, collect)
			if err == nil {
				t.Fatal("no error")
			}
			if got := errors.Is(err, ErrDeltaExpired); got != tt.expired {
				t.Errorf("errors.Is(%v, ErrDeltaExpired) = %v, want %v", err, got, tt.expired)
			}
			var ge *Error
			if !errors.As(err, &ge) {
				t.Errorf("error %T, want *Error", err)
			}
			if tt.expired && !strings.Contains(err.Error(), "full pull") {
				t.Errorf("error %q lacks the hint", err)
			}
		})
	}
}

func TestGetObjectAndDecodeErrors(t *testing.T) {
	f := newFakeEntra(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1.0/organization/abc":
			writeJSON(w, 200, `{"id":"abc", "displayName":"Contoso"}`)
		case "/v1.0/broken":
			writeJSON(w, 200, `{"value":[{"id":"a"}`)
		default:
			writeJSON(w, 200, `<html>`)
		}
	})
	c, _, _ := newTestClient(t, f, clientOpts{})
	ctx := context.Background()
	obj, err := c.GetObject(ctx, "/organization/abc") // no version: v1.0
	if err != nil || string(obj) != `{"id":"abc", "displayName":"Contoso"}` {
		t.Fatalf("GetObject = %s, %v", obj, err)
	}
	_, err = c.Get(ctx, "/v1.0/broken")
	var de *DecodeError
	if !errors.As(err, &de) || de.URL != f.srv.URL+"/v1.0/broken" || de.Offset != 20 {
		t.Errorf("Get broken: %v", err)
	}
	_, err = c.GetObject(ctx, "/v1.0/html")
	if !errors.As(err, &de) || de.URL == "" {
		t.Errorf("GetObject html: %v", err)
	}
}

func TestResolve(t *testing.T) {
	c, err := New(Config{TenantID: testTenant, ClientID: testClientID, ClientSecret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		in, want, wantErr string
	}{
		{in: "/v1.0/users?$select=id&$top=999", want: "https://graph.microsoft.com/v1.0/users?$select=id&$top=999"},
		{in: "/users", want: "https://graph.microsoft.com/v1.0/users"},
		{in: "/beta/users", want: "https://graph.microsoft.com/beta/users"},
		{in: "/v1.0/users?$filter=city eq null", want: "https://graph.microsoft.com/v1.0/users?$filter=city%20eq%20null"},
		{in: "https://graph.microsoft.com/v1.0/users?$skiptoken=a%3d", want: "https://graph.microsoft.com/v1.0/users?$skiptoken=a%3d"},
		{in: "https://GRAPH.microsoft.com:443/v1.0/users", want: "https://GRAPH.microsoft.com:443/v1.0/users"},
		{in: "https://graph.microsoft.us/v1.0/users", wantErr: "refusing"},
		{in: "http://graph.microsoft.com/v1.0/users", wantErr: "refusing"},
		{in: "https://graph.microsoft.com:8443/v1.0/users", wantErr: "refusing"},
		{in: "https://graph.microsoft.com.evil.example/v1.0/users", wantErr: "refusing"},
		{in: "users", wantErr: "neither a path"},
		{in: "", wantErr: "empty path"},
	}
	for _, tt := range tests {
		got, err := c.resolve(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("resolve(%q) = %q, %v; want error %q", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("resolve(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}
