package graphsim

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func jwtClaims(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", tok)
	}
	hdr, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	if err := json.Unmarshal(hdr, &h); err != nil || h["alg"] != "HS256" || h["typ"] != "JWT" {
		t.Fatalf("JWT header %s", hdr)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(payload, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestTokenHappyPath(t *testing.T) {
	e := newEnv(t, Options{})
	o := e.s.Options()
	tests := []struct {
		name   string
		path   string
		form   url.Values
		basic  bool
		v1     bool
		tenant string
	}{
		{name: "v1 resource", path: "/oauth2/token", v1: true, form: url.Values{"resource": {"https://graph.microsoft.com"}}},
		{name: "v1 resource with slash", path: "/oauth2/token", v1: true, form: url.Values{"resource": {"https://graph.microsoft.com/"}}},
		{name: "v1 own graph URL", path: "/oauth2/token", v1: true, form: url.Values{"resource": {e.graph}}},
		{name: "v2 scope", path: "/oauth2/v2.0/token", form: url.Values{"scope": {"https://graph.microsoft.com/.default"}}},
		{name: "v2 own graph URL", path: "/oauth2/v2.0/token", form: url.Values{"scope": {e.graph + "/.default"}}},
		{name: "v2 app id scope", path: "/oauth2/v2.0/token", form: url.Values{"scope": {graphAppID + "/.default"}}},
		{name: "v2 basic auth", path: "/oauth2/v2.0/token", basic: true, form: url.Values{"scope": {"https://graph.microsoft.com/.default"}}},
		{name: "v2 tenant by domain", path: "/oauth2/v2.0/token", tenant: "qtcsim.onmicrosoft.com", form: url.Values{"scope": {"https://graph.microsoft.com/.default"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tenant := tc.tenant
			if tenant == "" {
				tenant = o.TenantID
			}
			form := url.Values{"grant_type": {"client_credentials"}}
			for k, v := range tc.form {
				form[k] = v
			}
			if !tc.basic {
				form.Set("client_id", o.ClientID)
				form.Set("client_secret", o.ClientSecret)
			}
			req, _ := http.NewRequest("POST", e.login+"/"+tenant+tc.path, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tc.basic {
				req.SetBasicAuth(url.QueryEscape(o.ClientID), url.QueryEscape(o.ClientSecret))
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body map[string]any
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %v", resp.StatusCode, body)
			}
			if body["token_type"] != "Bearer" {
				t.Errorf("token_type %v", body["token_type"])
			}
			if tc.v1 {
				// v1 sends numbers as strings, plus expires_on and resource.
				if body["expires_in"] != "3599" || body["ext_expires_in"] != "3599" {
					t.Errorf("v1 expires_in %#v ext_expires_in %#v", body["expires_in"], body["ext_expires_in"])
				}
				if body["expires_on"] != "1782903600" { // testNow + 1h
					t.Errorf("expires_on %#v", body["expires_on"])
				}
				if body["resource"] != tc.form.Get("resource") {
					t.Errorf("resource %#v", body["resource"])
				}
			} else {
				if body["expires_in"] != float64(3599) {
					t.Errorf("v2 expires_in %#v", body["expires_in"])
				}
				if _, ok := body["resource"]; ok {
					t.Error("v2 answer carries resource")
				}
			}
			c := jwtClaims(t, body["access_token"].(string))
			want := map[string]any{
				"aud": "https://graph.microsoft.com", "iss": "https://sts.windows.net/" + o.TenantID + "/",
				"tid": o.TenantID, "appid": o.ClientID, "idtyp": "app",
				"iat": float64(testNow.Unix()), "nbf": float64(testNow.Unix()), "exp": float64(testNow.Add(time.Hour).Unix()),
			}
			for k, v := range want {
				if c[k] != v {
					t.Errorf("claim %s = %#v, want %#v", k, c[k], v)
				}
			}
			var roles []string
			for _, r := range c["roles"].([]any) {
				roles = append(roles, r.(string))
			}
			if !slices.Equal(roles, DefaultRoles) {
				t.Errorf("roles %v", roles)
			}
		})
	}
	if st := e.s.Stats(); st.Tokens != len(tests) || st.Requests["POST /login/{tenant}/oauth2/v2.0/token"] != 5 {
		t.Errorf("stats: tokens %d, requests %v", st.Tokens, st.Requests)
	}
}

func TestTokenRolesClaim(t *testing.T) {
	tests := []struct {
		name  string
		roles []string
		want  []string
	}{
		{"default", nil, DefaultRoles},
		{"devices only", []string{"Device.Read.All"}, []string{"Device.Read.All"}},
		{"none", []string{}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, Options{Roles: tc.roles})
			c := jwtClaims(t, e.token())
			var got []string
			if rs, ok := c["roles"].([]any); ok {
				for _, r := range rs {
					got = append(got, r.(string))
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("roles %v, want %v", got, tc.want)
			}
		})
	}
}

func TestTokenErrors(t *testing.T) {
	e := newEnv(t, Options{})
	o := e.s.Options()
	good := func() url.Values {
		return url.Values{"grant_type": {"client_credentials"}, "client_id": {o.ClientID}, "client_secret": {o.ClientSecret},
			"scope": {"https://graph.microsoft.com/.default"}}
	}
	with := func(k, v string) url.Values {
		f := good()
		if v == "" {
			f.Del(k)
		} else {
			f.Set(k, v)
		}
		return f
	}
	tests := []struct {
		name   string
		tenant string
		path   string
		form   url.Values
		status int
		err    string
		code   int
	}{
		{"unknown tenant", "00000000-1111-2222-3333-444444444444", "/oauth2/v2.0/token", good(), 400, "invalid_request", 90002},
		{"unknown client", o.TenantID, "/oauth2/v2.0/token", with("client_id", "11111111-2222-3333-4444-555555555555"), 400, "unauthorized_client", 700016},
		{"wrong secret", o.TenantID, "/oauth2/v2.0/token", with("client_secret", "nope"), 401, "invalid_client", 7000215},
		{"no secret", o.TenantID, "/oauth2/v2.0/token", with("client_secret", ""), 401, "invalid_client", 7000216},
		{"no grant", o.TenantID, "/oauth2/v2.0/token", with("grant_type", ""), 400, "invalid_request", 900144},
		{"password grant", o.TenantID, "/oauth2/v2.0/token", with("grant_type", "password"), 400, "unsupported_grant_type", 70003},
		{"scope without .default", o.TenantID, "/oauth2/v2.0/token", with("scope", "https://graph.microsoft.com/User.Read.All"), 400, "invalid_scope", 1002012},
		{"other resource v2", o.TenantID, "/oauth2/v2.0/token", with("scope", "https://management.azure.com/.default"), 400, "invalid_resource", 500011},
		{"v1 without resource", o.TenantID, "/oauth2/token", good(), 400, "invalid_request", 900144},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, b := e.postForm(e.login+"/"+tc.tenant+tc.path, tc.form)
			checkAADError(t, resp, b, tc.status, tc.err, tc.code)
		})
	}
	t.Run("GET", func(t *testing.T) {
		resp, err := http.Get(e.login + "/" + o.TenantID + "/oauth2/v2.0/token")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b json.RawMessage
		_ = json.NewDecoder(resp.Body).Decode(&b)
		checkAADError(t, resp, b, 405, "invalid_request", 900561)
	})
	t.Run("expired secret", func(t *testing.T) {
		e2 := newEnv(t, Options{SecretExpired: true})
		o2 := e2.s.Options()
		resp, b := e2.postForm(e2.login+"/"+o2.TenantID+"/oauth2/token", url.Values{"grant_type": {"client_credentials"},
			"client_id": {o2.ClientID}, "client_secret": {o2.ClientSecret}, "resource": {"https://graph.microsoft.com"}})
		checkAADError(t, resp, b, 401, "invalid_client", 7000222)
	})
	t.Run("secret expires with the clock", func(t *testing.T) {
		e2 := newEnv(t, Options{})
		e2.clk.Advance(2 * 365 * 24 * time.Hour)
		o2 := e2.s.Options()
		resp, b := e2.postForm(e2.login+"/"+o2.TenantID+"/oauth2/v2.0/token", url.Values{"grant_type": {"client_credentials"},
			"client_id": {o2.ClientID}, "client_secret": {o2.ClientSecret}, "scope": {"https://graph.microsoft.com/.default"}})
		checkAADError(t, resp, b, 401, "invalid_client", 7000222)
	})
	if st := e.s.Stats(); st.TokenErrors != len(tests)+1 || st.Tokens != 0 {
		t.Errorf("stats: %d token errors, %d tokens", st.TokenErrors, st.Tokens)
	}
}

func checkAADError(t *testing.T, resp *http.Response, b []byte, status int, code string, aadsts int) {
	t.Helper()
	if resp.StatusCode != status {
		t.Errorf("status %d, want %d: %s", resp.StatusCode, status, b)
	}
	var body struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
		Codes       []int  `json:"error_codes"`
		Timestamp   string `json:"timestamp"`
		TraceID     string `json:"trace_id"`
		Correlation string `json:"correlation_id"`
		URI         string `json:"error_uri"`
	}
	if err := json.Unmarshal(b, &body); err != nil {
		t.Fatalf("body: %v: %s", err, b)
	}
	prefix := "AADSTS" + itoa(aadsts) + ": "
	if body.Error != code || !strings.HasPrefix(body.Description, prefix) || !slices.Equal(body.Codes, []int{aadsts}) {
		t.Errorf("error %q %q %v, want %q %q…", body.Error, body.Description, body.Codes, code, prefix)
	}
	if !strings.Contains(body.Description, "\r\nTrace ID: "+body.TraceID) || body.Correlation == "" || body.Timestamp == "" ||
		!strings.HasSuffix(body.URI, "?code="+itoa(aadsts)) {
		t.Errorf("error details incomplete: %s", b)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestGraph401(t *testing.T) {
	e := newEnv(t, Options{})
	good := e.token()
	other := New(Options{Seed: 99, Now: e.clk.Now}) // another key
	otherTok := other.issue(testNow, time.Hour)
	tests := []struct {
		name string
		auth string
		msg  string
	}{
		{"missing", "-", "Access token is empty."},
		{"not bearer", "Basic abc", "Access token is empty."},
		{"malformed", "Bearer abc", "IDX14100"},
		{"bad signature", "Bearer " + otherTok, "Invalid signature"},
		{"tampered", "Bearer " + good[:len(good)-4] + "AAAA", "Invalid signature"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := map[string]string{"Authorization": tc.auth}
			if tc.auth == "-" {
				h["Authorization"] = ""
			}
			resp, b := e.do("GET", "/v1.0/users", nil, h)
			if resp.StatusCode != 401 {
				t.Fatalf("status %d: %s", resp.StatusCode, b)
			}
			code, msg := graphError(t, b)
			if code != "InvalidAuthenticationToken" || !strings.Contains(msg, tc.msg) {
				t.Errorf("error %s %q, want %q", code, msg, tc.msg)
			}
			if !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer ") {
				t.Errorf("WWW-Authenticate %q", resp.Header.Get("WWW-Authenticate"))
			}
			if resp.Header.Get("x-ms-resource-unit") != "" {
				t.Error("a 401 was charged")
			}
		})
	}
	t.Run("expired", func(t *testing.T) {
		e.clk.Advance(time.Hour)
		resp, b := e.do("GET", "/v1.0/users", nil, map[string]string{"Authorization": "Bearer " + good})
		if code, msg := graphError(t, b); resp.StatusCode != 401 || code != "InvalidAuthenticationToken" || !strings.Contains(msg, "expired") {
			t.Errorf("%d %s %s", resp.StatusCode, code, msg)
		}
	})
}

func TestGraph403(t *testing.T) {
	tests := []struct {
		roles  []string
		path   string
		status int
	}{
		{[]string{"User.Read.All"}, "/v1.0/users", 200},
		{[]string{"User.Read.All"}, "/v1.0/devices", 403},
		{[]string{"Device.Read.All"}, "/v1.0/devices", 200},
		{[]string{"Device.Read.All"}, "/v1.0/users", 403},
		{[]string{"GroupMember.Read.All"}, "/v1.0/groups", 200},
		{[]string{"GroupMember.Read.All"}, "/v1.0/groups/delta", 200},
		{[]string{"User.Read.All"}, "/v1.0/groups", 403},
		{[]string{"User.Read.All"}, "/v1.0/applications", 403},
		{[]string{"Application.Read.All"}, "/v1.0/servicePrincipals", 200},
		{[]string{"User.Read.All", "GroupMember.Read.All"}, "/v1.0/roleManagement/directory/roleDefinitions", 403},
		{[]string{"RoleManagement.Read.Directory"}, "/v1.0/roleManagement/directory/roleDefinitions", 200},
		{[]string{"RoleManagement.Read.Directory"}, "/v1.0/directoryRoles", 200},
		{[]string{"User.Read.All", "GroupMember.Read.All"}, "/v1.0/directory/administrativeUnits", 403},
		{[]string{"AdministrativeUnit.Read.All"}, "/v1.0/directory/administrativeUnits", 200},
		{[]string{"Directory.Read.All"}, "/v1.0/directory/administrativeUnits", 200},
		{[]string{"User.Read.All"}, "/v1.0/organization", 403},
		{[]string{"Directory.Read.All"}, "/v1.0/organization", 200},
		{[]string{"Directory.Read.All"}, "/v1.0/devices", 200},
		{[]string{}, "/v1.0/users", 403},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.roles, "+")+tc.path, func(t *testing.T) {
			e := newEnv(t, Options{Roles: tc.roles, Users: 20, Groups: 5, Devices: 5, Applications: 3, ServicePrincipals: 5})
			resp, b := e.get(tc.path)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %.300s", resp.StatusCode, tc.status, b)
			}
			if tc.status == 403 {
				code, msg := graphError(t, b)
				if code != "Authorization_RequestDenied" || msg != "Insufficient privileges to complete the operation." {
					t.Errorf("error %s %q", code, msg)
				}
			}
		})
	}
	t.Run("relations", func(t *testing.T) {
		e := newEnv(t, Options{Roles: []string{"User.Read.All"}, Users: 20, Groups: 5, Devices: 5, Applications: 3, ServicePrincipals: 5})
		u := e.s.Truth().Users[0].ID
		for path, status := range map[string]int{
			"/v1.0/users/" + u:                         200,
			"/v1.0/users/" + u + "/memberOf":           403,
			"/v1.0/users/" + u + "/appRoleAssignments": 403,
		} {
			if resp, b := e.get(path); resp.StatusCode != status {
				t.Errorf("%s: %d, want %d: %s", path, resp.StatusCode, status, b)
			}
		}
	})
}
