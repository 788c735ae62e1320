package qualys

import (
	"testing"
	"unicode/utf8"
)

// FuzzErrorBodies: the gateway's JSON error bodies and the API server's XML
// ones are read without panicking, and what is kept is printable text.
func FuzzErrorBodies(f *testing.F) {
	for _, s := range []string{
		`{"errorCode":"CVAPI-401","message":"Unauthorized"}`, `{"error":"too many"}`, `<html>502</html>`, ``,
		`<SIMPLE_RETURN><RESPONSE><CODE>1965</CODE><TEXT>API rate limit exceeded</TEXT></RESPONSE></SIMPLE_RETURN>`,
		`<ServiceResponse><responseCode>INVALID_CREDENTIALS</responseCode><responseErrorDetails><errorMessage>bad</errorMessage></responseErrorDetails></ServiceResponse>`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, parse := range []func([]byte) (string, string){parseErrorBody, parseXMLError} {
			code, msg := parse(body)
			if !utf8.ValidString(code) || !utf8.ValidString(msg) {
				t.Fatalf("invalid UTF-8 kept: %q %q", code, msg)
			}
		}
	})
}
