package graphsim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// rawGet sends a GET and returns the error of the request or of reading
// the body, instead of failing.
func (e *env) rawGet(path string) (*http.Response, []byte, error) {
	req, _ := http.NewRequest("GET", e.graph+path, nil)
	req.Header.Set("Authorization", "Bearer "+e.token())
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

func TestFaults(t *testing.T) {
	tests := []struct {
		name       string
		f          FaultOptions
		status     int
		code       string
		retryAfter string
		kind       string
	}{
		{"429", FaultOptions{Throttle: 1, RetryAfter: 2 * time.Second}, 429, "TooManyRequests", "2", "429"},
		{"503", FaultOptions{Unavailable: 1}, 503, "serviceNotAvailable", "1", "503"},
		{"503 without Retry-After", FaultOptions{UnavailableNoRetryAfter: 1}, 503, "serviceNotAvailable", "", "503-no-retry-after"},
		{"504", FaultOptions{GatewayTimeout: 1}, 504, "UnknownError", "", "504"},
		{"expired token", FaultOptions{ExpiredToken: 1}, 401, "InvalidAuthenticationToken", "", "expired-token"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, Options{Faults: tc.f, Users: 10})
			resp, b, err := e.rawGet("/v1.0/users")
			if err != nil {
				t.Fatal(err)
			}
			code, _ := graphError(t, b)
			if resp.StatusCode != tc.status || code != tc.code || resp.Header.Get("Retry-After") != tc.retryAfter {
				t.Errorf("%d %s Retry-After %q", resp.StatusCode, code, resp.Header.Get("Retry-After"))
			}
			st := e.s.Stats()
			if st.Faults[tc.kind] != 1 || st.TotalRU != 0 || st.Throttled429 != 0 {
				t.Errorf("stats %+v", st)
			}
		})
	}
	t.Run("connection reset", func(t *testing.T) {
		e := newEnv(t, Options{Faults: FaultOptions{ConnReset: 1}, Users: 10})
		if _, _, err := e.rawGet("/v1.0/users"); err == nil {
			t.Error("no error from a reset connection")
		}
		if e.s.Stats().Faults["reset"] != 1 {
			t.Error("reset not counted")
		}
	})
	t.Run("body cut mid-JSON", func(t *testing.T) {
		e := newEnv(t, Options{Faults: FaultOptions{TruncatedBody: 1}, Users: 10})
		resp, b, err := e.rawGet("/v1.0/users")
		if err == nil {
			t.Fatalf("no read error; %d bytes", len(b))
		}
		if resp.StatusCode != 200 || json.Valid(b) {
			t.Errorf("status %d, valid JSON %v", resp.StatusCode, json.Valid(b))
		}
	})
	t.Run("deterministic", func(t *testing.T) {
		run := func() string {
			e := newEnv(t, Options{Faults: FaultOptions{Throttle: 0.2, Unavailable: 0.1, GatewayTimeout: 0.1}, Users: 10, Seed: 7})
			var b strings.Builder
			for i := 0; i < 60; i++ {
				resp, _, err := e.rawGet("/v1.0/users?$top=1")
				if err != nil {
					t.Fatal(err)
				}
				fmt.Fprintf(&b, "%d ", resp.StatusCode)
			}
			return b.String()
		}
		a, b := run(), run()
		if a != b || !strings.Contains(a, "429") || !strings.Contains(a, "200") {
			t.Errorf("runs differ or lack variety:\n%s\n%s", a, b)
		}
	})
}

func TestLatencyHonoursCancellation(t *testing.T) {
	s := New(Options{Latency: time.Hour, Users: 5, Now: func() time.Time { return testNow }})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := httptest.NewRequest("GET", "/graph/v1.0/users", nil).WithContext(ctx)
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, req) // returns at once: the request is gone
	if st := s.Stats(); st.Canceled != 1 || st.Requests["GET /v1.0/users"] != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestStartClose(t *testing.T) {
	s := New(Options{Users: 5})
	if s.GraphURL() != GraphPath || s.LoginURL() != LoginPath {
		t.Errorf("before Start: %q %q", s.GraphURL(), s.LoginURL())
	}
	base, err := s.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Start("127.0.0.1:0"); err == nil {
		t.Error("second Start succeeded")
	}
	if s.GraphURL() != base+"/graph" || s.LoginURL() != base+"/login" {
		t.Errorf("URLs %q %q", s.GraphURL(), s.LoginURL())
	}
	resp, err := http.PostForm(s.LoginURL()+"/"+DefaultTenantID+"/oauth2/token", url.Values{"grant_type": {"client_credentials"},
		"client_id": {DefaultClientID}, "client_secret": {DefaultClientSecret}, "resource": {s.GraphURL()}})
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		Resource    string `json:"resource"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if tok.Resource != s.GraphURL() {
		t.Errorf("resource %q", tok.Resource)
	}
	req, _ := http.NewRequest("GET", s.GraphURL()+"/v1.0/users", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("users: %d", resp.StatusCode)
	}
	if err := s.Close(); err != nil {
		t.Error(err)
	}
	if err := s.Close(); err != nil {
		t.Error(err)
	}
}

func TestDeterminism(t *testing.T) {
	now := func() time.Time { return testNow }
	dump := func(o Options) string {
		o.Now = now
		tr := New(o).Truth()
		b, _ := json.Marshal(tr)
		return string(b)
	}
	a := dump(Options{Seed: 3})
	if a != dump(Options{Seed: 3}) {
		t.Error("same options, different tenants")
	}
	if a == dump(Options{Seed: 4}) {
		t.Error("different seeds, same tenant")
	}
	// Other counts do not reshuffle users.
	u1 := New(Options{Seed: 3, Devices: 10, Now: now}).Truth().Users
	u2 := New(Options{Seed: 3, Devices: 20, Now: now}).Truth().Users
	if !bytes.Equal(u1[10].JSON, u2[10].JSON) {
		t.Error("device count changed users")
	}
}

func TestMutateOverHTTP(t *testing.T) {
	e := newEnv(t, Options{Users: 50})
	post := func(body string) (*http.Response, []byte) {
		resp, err := http.Post(e.base+MutatePath, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	resp, b := post(`{"addUsers":2,"updateGroups":1,"addDevices":1}`)
	var res MutationResult
	if err := json.Unmarshal(b, &res); err != nil || resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	if len(res.Users.Added) != 2 || len(res.Groups.Updated) != 1 || len(res.Devices.Added) != 1 {
		t.Errorf("result %+v", res)
	}
	if n := len(e.s.Truth().Users); n != 52 {
		t.Errorf("%d users", n)
	}
	for _, body := range []string{`{"addUsers":"x"}`, `{"shoes":1}`, `[`} {
		if resp, _ := post(body); resp.StatusCode != 400 {
			t.Errorf("%s: %d", body, resp.StatusCode)
		}
	}
	if resp, err := http.Get(e.base + MutatePath); err != nil || resp.StatusCode != 405 {
		t.Errorf("GET: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	resp2, err := http.Get(e.base + StatsPath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp2.Body.Close()
	var st Stats
	if err := json.NewDecoder(resp2.Body).Decode(&st); err != nil || st.Tokens != 0 {
		t.Errorf("stats over HTTP: %v %+v", err, st)
	}
}

func TestMutationRelations(t *testing.T) {
	e := newEnv(t, Options{Users: 200, Groups: 20})
	before := e.s.Truth()
	res := e.s.Mutate(Mutation{SoftDeleteUsers: 5})
	mid := e.s.Truth()
	memberOf := mid.MemberOf()
	for _, id := range res.Users.SoftDeleted {
		if len(memberOf[id]) != 0 {
			t.Errorf("soft-deleted %s still a member of %v", id, memberOf[id])
		}
		for _, a := range mid.AppRoleAssignments {
			if a.PrincipalID == id {
				t.Errorf("soft-deleted %s still holds assignment %s", id, a.ID)
			}
		}
		if resp, _ := e.get("/v1.0/users/" + id); resp.StatusCode != 404 {
			t.Errorf("GET soft-deleted user: %d", resp.StatusCode)
		}
	}
	if len(mid.SoftDeleted) != 5 {
		t.Errorf("%d soft-deleted", len(mid.SoftDeleted))
	}
	// Restoring everyone brings memberships and assignments back.
	e.s.Mutate(Mutation{RestoreUsers: 5})
	after := e.s.Truth()
	for g, ms := range before.Members {
		if strings.Join(sorted(ms), ",") != strings.Join(sorted(after.Members[g]), ",") {
			t.Errorf("group %s members not restored", g)
		}
	}
	if len(after.AppRoleAssignments) != len(before.AppRoleAssignments) {
		t.Errorf("%d assignments, before %d", len(after.AppRoleAssignments), len(before.AppRoleAssignments))
	}
	// Explicit memberships.
	g := after.Groups[3].ID
	var u string
	for _, x := range after.Users {
		if !slices.Contains(after.Members[g], x.ID) {
			u = x.ID
			break
		}
	}
	r := e.s.Mutate(Mutation{Memberships: []MembershipChange{
		{GroupID: g, MemberID: u}, {GroupID: g, MemberID: u}, {GroupID: "nope", MemberID: u}, {GroupID: g, MemberID: u, Remove: true},
	}})
	if len(r.Errors) != 2 || !strings.Contains(r.Errors[0], "already") || !strings.Contains(r.Errors[1], "not found") ||
		len(r.MembersAdded) != 1 || len(r.MembersRemoved) != 1 {
		t.Errorf("result %+v", r)
	}
}

func TestConcurrentClients(t *testing.T) {
	e := newEnv(t, Options{Users: 400, Groups: 25, Devices: 100})
	tok := e.token()
	tr := e.s.Truth()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	client := &http.Client{}
	getAll := func(path string) (int, error) {
		next, n := e.graph+path, 0
		seen := map[string]bool{}
		for next != "" {
			req, _ := http.NewRequest("GET", next, nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := client.Do(req)
			if err != nil {
				return n, err
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				return n, fmt.Errorf("%s: %d %s", next, resp.StatusCode, b)
			}
			var p page
			if err := json.Unmarshal(b, &p); err != nil {
				return n, err
			}
			for _, raw := range p.Value {
				var x struct{ ID string }
				_ = json.Unmarshal(raw, &x)
				if seen[x.ID] && !strings.Contains(path, "delta") {
					return n, fmt.Errorf("%s: duplicate %s", path, x.ID)
				}
				seen[x.ID] = true
				n++
			}
			next = p.NextLink
		}
		return n, nil
	}
	paths := []string{"/v1.0/users?$top=37", "/v1.0/groups?$top=5", "/v1.0/devices?$top=11", "/v1.0/users/delta",
		"/v1.0/groups/delta?$select=members", "/v1.0/groups/" + tr.Groups[0].ID + "/members?$top=50",
		"/v1.0/groups/" + tr.Groups[1].ID + "/transitiveMembers?$top=50", "/v1.0/users/" + tr.Users[0].ID + "/memberOf"}
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 4; i++ {
				if _, err := getAll(paths[(w+i)%len(paths)]); err != nil {
					errs <- err
					return
				}
			}
		}(w)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 30; i++ {
			e.s.Mutate(Mutation{AddUsers: 1, UpdateUsers: 2, SoftDeleteUsers: 1, RestoreUsers: 1, AddMembers: 3, RemoveMembers: 2, UpdateDevices: 1})
			_ = e.s.Truth()
			_ = e.s.Stats()
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
