package graph

import (
	"strings"
	"testing"
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
