package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// FuzzTokenError: whatever the token endpoint answers, parsing it never
// panics and never keeps the client secret.
func FuzzTokenError(f *testing.F) {
	const secret = "s3cret~Value"
	for _, s := range []string{
		`{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.\r\nTrace ID: x","error_codes":[7000215],"trace_id":"t","correlation_id":"c"}`,
		`{"error":"unauthorized_client","error_description":"AADSTS700016: Application with identifier 's3cret~Value' was not found"}`,
		`<html>proxy error</html>`, ``, `{"error_codes":["x"]}`, `{"error_codes":[99999999999]}`,
	} {
		f.Add(400, []byte(s))
	}
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		e := parseTokenError(status, body, "https://login.example/t/oauth2/token", secret)
		if e == nil {
			t.Fatal("nil error")
		}
		if msg := e.Error(); strings.Contains(msg, secret) {
			t.Fatalf("error keeps the secret: %q", msg)
		}
	})
}

// tokenAnswer is a transport that answers every request with one body.
type tokenAnswer struct {
	body        []byte
	contentType string
}

func (a tokenAnswer) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_ = r.Body.Close()
	}
	return &http.Response{
		StatusCode: http.StatusOK,
		Header:     http.Header{"Content-Type": {a.contentType}},
		Body:       io.NopCloser(bytes.NewReader(a.body)),
		Request:    r,
	}, nil
}

// FuzzTokenResponse: a 200 answer from the token endpoint (JSON, or form
// encoded as some proxies and old endpoints send it) gives either the
// access_token it holds, to be refreshed within its lifetime (at most a
// day), or an error that never holds the client secret.
func FuzzTokenResponse(f *testing.F) {
	jwt := makeJWT(map[string]any{"aud": "https://graph.microsoft.com", "roles": []string{"User.Read.All"}, "exp": 1999999999})
	for _, s := range []string{
		`{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"` + jwt + `"}`,
		`{"token_type":"Bearer","expires_in":"3599","expires_on":"1777777777","not_before":"1777774177","resource":"https://graph.microsoft.com","access_token":"` + jwt + `"}`,
		`{"token_type":"bearer","access_token":"opaque"}`, `{"token_type":"pop","access_token":"x"}`, `{"access_token":""}`,
		`{"token_type":"Bearer","expires_in":-5,"access_token":"x"}`, `{"token_type":"Bearer","expires_in":1e300,"access_token":"x"}`,
		`<html>proxy login</html>`, ``, `{"access_token":"` + testSecret + `"}`,
	} {
		f.Add([]byte(s), false)
	}
	f.Add([]byte("access_token="+jwt+"&token_type=Bearer&expires_in=3599"), true)
	f.Add([]byte("access_token=x&token_type=Bearer&expires_in=never"), true)
	now := newFakeClock().Now()
	f.Fuzz(func(t *testing.T, body []byte, form bool) {
		ct := "application/json; charset=utf-8"
		if form {
			ct = "application/x-www-form-urlencoded"
		}
		c, err := New(Config{
			TenantID: testTenant, ClientID: testClientID, ClientSecret: testSecret,
			Cloud:      Cloud{LoginURL: "http://127.0.0.1:1/login", GraphURL: "http://127.0.0.1:1/graph"},
			HTTPClient: &http.Client{Transport: tokenAnswer{body: body, contentType: ct}},
			MaxRetries: 1,
		})
		if err != nil {
			t.Fatal(err)
		}
		c.clk = newFakeClock()
		tok, refreshAt, err := c.fetchToken(context.Background())
		if err != nil {
			if strings.Contains(err.Error(), testSecret) {
				t.Fatalf("error holds the client secret: %v", err)
			}
			return
		}
		var want string
		if form {
			v, _ := url.ParseQuery(string(body))
			want = v.Get("access_token")
		} else {
			var v struct {
				AccessToken string `json:"access_token"`
			}
			_ = json.Unmarshal(body, &v)
			want = v.AccessToken
		}
		if tok == "" || tok != want {
			t.Fatalf("token %q, the answer holds %q", tok, want)
		}
		if !refreshAt.After(now) || refreshAt.After(now.Add(24*time.Hour)) {
			t.Fatalf("refresh at %v, now %v", refreshAt, now)
		}
	})
}
