package httplog

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

// secretOf makes a distinctive secret from fuzz bytes: a fixed prefix no
// log text contains, then characters drawn from alphabet.
func secretOf(seed []byte, alphabet string) string {
	var b strings.Builder
	b.WriteString("Zq9")
	for _, c := range seed {
		b.WriteByte(alphabet[int(c)%len(alphabet)])
	}
	for b.Len() < 12 {
		b.WriteByte('x')
	}
	return b.String()
}

const (
	alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	// Characters that need escaping in forms and JSON, too.
	anyChars = alnum + ` "\&=%+<>:,;{}[]'` + "\t\n\u00e9"
)

var (
	formNames = []string{"client_secret", "password", "client_assertion", "refresh_token", "code", "access_token", "Password"}
	jsonNames = []string{"access_token", "refresh_token", "id_token", "client_secret", "password", "token", "secretValue", "newPassword"}
	textNames = []string{"client_secret", "password", "refresh_token", "access_token", "x-auth-token", "secretText"}
	types     = []string{"application/json", "application/x-www-form-urlencoded", "text/plain", "text/html", "application/xml", "", "application/problem+json"}
)

// FuzzRedactBody plants a secret in a redacted position of random bodies
// of every shape and checks that no log of them contains it, cut short or
// whole.
func FuzzRedactBody(f *testing.F) {
	f.Add(uint8(0), uint8(0), "grant_type=client_credentials&client_id=x", "resource=https%3A%2F%2Fgraph", []byte("secret"), uint16(0))
	f.Add(uint8(1), uint8(0), `{"a":1}`, `[1,"x",null]`, []byte("pw"), uint16(10))
	f.Add(uint8(2), uint8(2), `{"token":"`, `"}`, []byte{0, 1, 2, 200}, uint16(3))
	f.Add(uint8(3), uint8(3), "<html>", "</html>", []byte("abc"), uint16(0))
	f.Add(uint8(4), uint8(1), `"x":`, "", []byte("sig"), uint16(40))
	f.Add(uint8(5), uint8(5), "Authorization: ", "\r\n", []byte("basic"), uint16(0))
	f.Fuzz(func(t *testing.T, mode, pick uint8, prefix, suffix string, seed []byte, cut uint16) {
		var body string
		var hidden []string // forms of the secret that must not appear
		ct := types[int(pick)%len(types)]
		switch mode % 6 {
		case 0: // a form field
			secret := secretOf(seed, anyChars)
			name := formNames[int(pick)%len(formNames)]
			body = prefix + "&" + name + "=" + url.QueryEscape(secret) + "&" + suffix
			ct = "application/x-www-form-urlencoded"
			hidden = []string{secret, url.QueryEscape(secret)}
		case 1: // a JSON field, in a valid document
			secret := secretOf(seed, anyChars)
			name := jsonNames[int(pick)%len(jsonNames)]
			enc, _ := json.Marshal(secret)
			value := string(enc)
			switch pick % 3 {
			case 1:
				value = `{"v":` + value + `}`
			case 2:
				value = `[1,` + value + `]`
			}
			body = "[" + jsonOrString(prefix) + `,{"` + name + `":` + value + "}," + jsonOrString(suffix) + "]"
			hidden = []string{secret, strings.Trim(string(enc), `"`)}
		case 2: // a JSON-shaped pair in text that need not be JSON
			secret := secretOf(seed, anyChars)
			enc, _ := json.Marshal(secret)
			body = prefix + `"` + jsonNames[int(pick)%len(jsonNames)] + `": ` + string(enc) + suffix
			hidden = []string{secret, strings.Trim(string(enc), `"`)}
		case 3: // a form- or XML-shaped pair in text
			secret := secretOf(seed, alnum)
			name := textNames[int(pick)%len(textNames)]
			if pick%2 == 0 {
				body = prefix + " " + name + "=" + secret + " " + suffix
			} else {
				body = prefix + "<" + name + ">" + secret + "</" + name + ">" + suffix
			}
			hidden = []string{secret}
		case 4: // a JWT anywhere
			b64 := base64.RawURLEncoding.EncodeToString
			jwt := "eyJ" + b64([]byte(`"alg":"HS256"}`)) + "." + b64([]byte(`{"sub":"`+string(seed)+`"}`)) + "." + b64(append([]byte("sig"), seed...))
			body = prefix + jwt + suffix
			hidden = []string{jwt}
		case 5: // Basic or Bearer credentials in text
			secret := secretOf(seed, alnum+"+/=")
			scheme := []string{"Basic ", "Bearer ", "bearer\t"}[int(pick)%3]
			body = prefix + " " + scheme + secret + " " + suffix
			hidden = []string{secret}
		}
		for _, h := range hidden {
			if strings.Contains(prefix, h) || strings.Contains(suffix, h) {
				t.Skip("the secret is in the random text itself")
			}
		}
		check := func(what, out string) {
			for _, h := range hidden {
				if h != "" && strings.Contains(out, h) {
					t.Fatalf("%s: the secret %q is in the log\nbody: %q\nlog:  %q", what, h, body, out)
				}
			}
		}
		check("whole body", RedactBody(ct, []byte(body), false))
		if n := int(cut); n < len(body) {
			check("cut body", RedactBody(ct, []byte(body[:n]), true))
		}
	})
}

func jsonOrString(s string) string {
	if json.Valid([]byte(s)) {
		return s
	}
	b, _ := json.Marshal(s)
	return string(b)
}

// FuzzRedactHeader: a credential header's value never reaches the log,
// whatever its name's case and surroundings.
func FuzzRedactHeader(f *testing.F) {
	f.Add("X-", "Token", "-Id", []byte("v"))
	f.Add("", "authorization", "", []byte("Bearer x"))
	f.Fuzz(func(t *testing.T, before, word, after string, seed []byte) {
		words := []string{"authorization", "proxy-authorization", "cookie", "set-cookie"}
		name := word
		exact := false
		for _, w := range words {
			if strings.EqualFold(word, w) {
				exact = true
			}
		}
		if !exact {
			name = before + []string{"token", "SECRET", "Password", "key"}[len(word)%4] + after
		}
		secret := secretOf(seed, anyChars)
		if got := RedactHeader(name, secret); got != redacted {
			t.Fatalf("RedactHeader(%q, secret) = %q", name, got)
		}
	})
}
