package httplog

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"
)

// The replacement texts.
const (
	redacted    = "[redacted]"
	redactedJWT = "[redacted-jwt]"
)

// RedactHeader returns a header's value for the log: "[redacted]" for a
// credential-bearing header, else the value with any JWT in it replaced.
func RedactHeader(name, value string) string {
	n := strings.ToLower(name)
	switch n {
	case "authorization", "proxy-authorization", "cookie", "set-cookie":
		return redacted
	}
	for _, w := range []string{"token", "secret", "password", "key"} {
		if strings.Contains(n, w) {
			return redacted
		}
	}
	return redactJWTs(value)
}

// RedactURL returns u without userinfo, with the query's credential fields
// and any JWT redacted.
func RedactURL(u *url.URL) string {
	if u == nil {
		return ""
	}
	c := *u
	c.User = nil
	c.RawQuery = redactForm(c.RawQuery)
	return redactJWTs(c.String())
}

// RedactText redacts free text — an error message, an HTML or XML page,
// JSON too broken to decode: the value after every credential-looking name
// (one containing token, secret, password, passwd or assertion, or a form
// field's name) followed by ":", "=" or ">" (JSON, form and XML shapes),
// Basic and Bearer credentials, and JWTs. Every name is looked at, even
// inside another's value, so a value cannot hide the next pair.
func RedactText(s string) string {
	type span struct {
		start, end int
		with       string
	}
	var spans []span
	for _, m := range nameRE.FindAllStringIndex(s, -1) {
		name := strings.ToLower(s[m[0]:m[1]])
		i := m[1]
		if i < len(s) && (s[i] == '"' || s[i] == '\'') {
			i++
		}
		i = skipSpace(s, i)
		if i >= len(s) {
			continue
		}
		sep := s[i]
		switch {
		case sep == '=' && (textSecretName(name) || formSecrets[name]):
		case (sep == ':' || sep == '>') && textSecretName(name):
		default:
			continue
		}
		if sep != '>' {
			i = skipSpace(s, i+1)
		} else {
			i++
		}
		start, end, quoted := valueSpan(s, i, sep)
		if v := s[start:end]; v == "" || v == "true" || v == "false" {
			continue // nothing to hide
		}
		with := redacted
		if quoted {
			with = `"` + redacted + `"`
		}
		spans = append(spans, span{start, end, with})
	}
	for _, m := range schemeRE.FindAllStringSubmatchIndex(s, -1) {
		spans = append(spans, span{m[3], m[1], redacted})
	}
	for _, m := range jwtRE.FindAllStringIndex(s, -1) {
		spans = append(spans, span{m[0], m[1], redactedJWT})
	}
	if len(spans) == 0 {
		return s
	}
	sort.Slice(spans, func(a, b int) bool { return spans[a].start < spans[b].start })
	var out strings.Builder
	at := 0
	for i := 0; i < len(spans); {
		cur := spans[i]
		for i++; i < len(spans) && spans[i].start < cur.end; i++ {
			cur.end = max(cur.end, spans[i].end)
		}
		out.WriteString(s[at:cur.start])
		out.WriteString(cur.with)
		at = cur.end
	}
	out.WriteString(s[at:])
	return out.String()
}

// textSecretName reports whether a name in free text names a secret.
func textSecretName(n string) bool {
	if n == "token_type" { // OAuth's, always "Bearer"
		return false
	}
	for _, w := range []string{"token", "secret", "password", "passwd", "assertion"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

func skipSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n') {
		i++
	}
	return i
}

// valueSpan is the extent of the value starting at i after separator sep:
// a quoted string (to its closing quote, or the end), after ":" a JSON
// object or array (to its closing bracket, or the end), else a bare run.
func valueSpan(s string, i int, sep byte) (start, end int, quoted bool) {
	start = i
	if i < len(s) && (s[i] == '"' || s[i] == '\'') {
		return start, closeQuote(s, i), true
	}
	if sep == ':' && i < len(s) && (s[i] == '{' || s[i] == '[') {
		depth := 0
		for ; i < len(s); i++ {
			switch s[i] {
			case '"':
				i = closeQuote(s, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return start, i + 1, false
				}
			}
		}
		return start, len(s), false
	}
	stop := " \t\r\n\"'<>&,;}]"
	switch sep {
	case '>':
		stop = "<"
	case '=':
		stop = " \t\r\n\"'<>&"
	}
	for i < len(s) && !strings.ContainsRune(stop, rune(s[i])) {
		i++
	}
	return start, i, false
}

// closeQuote returns the index after the string quoted at s[i] ends (its
// closing quote, or the end of s).
func closeQuote(s string, i int) int {
	q := s[i]
	for i++; i < len(s); i++ {
		if s[i] == '\\' {
			i++
			continue
		}
		if s[i] == q {
			return i + 1
		}
	}
	return len(s)
}

// RedactBody returns the loggable form of a body (or of its first bytes,
// when truncated) of content type ct: forms field by field, JSON value by
// value (decoded, so escapes cannot hide a field name), and then, whatever
// the type, RedactText over the result.
func RedactBody(ct string, b []byte, truncated bool) string {
	s := string(b)
	k := kindOf(ct)
	if t := bytes.TrimSpace(b); len(t) > 0 && (t[0] == '{' || t[0] == '[') {
		k = kindJSON // whatever the label says
	}
	decoded := false
	if k == kindJSON {
		if out, ok := redactJSON(b, truncated); ok {
			s, decoded = out, true
		}
	}
	if !decoded && kindOf(ct) == kindForm {
		s = redactForm(s)
	}
	s = RedactText(s)
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if truncated {
		s += "…"
	}
	return s
}

type kind int

const (
	kindText kind = iota
	kindForm
	kindJSON
	kindBinary
)

// kindOf classifies a Content-Type.
func kindOf(ct string) kind {
	if ct == "" {
		return kindText
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		mt = strings.ToLower(strings.TrimSpace(ct))
	}
	switch {
	case mt == "application/x-www-form-urlencoded":
		return kindForm
	case mt == "application/json", strings.HasSuffix(mt, "+json"), strings.Contains(mt, "json"):
		return kindJSON
	case strings.HasPrefix(mt, "text/"), strings.Contains(mt, "xml"), strings.Contains(mt, "html"), strings.Contains(mt, "javascript"):
		return kindText
	}
	return kindBinary
}

// Form fields whose values are secrets.
var formSecrets = map[string]bool{
	"client_secret": true, "password": true, "client_assertion": true,
	"refresh_token": true, "access_token": true, "id_token": true, "code": true,
}

// redactForm redacts a URL-encoded form (or query), keeping the fields'
// order and every field that is not a secret as it was.
func redactForm(s string) string {
	if s == "" {
		return s
	}
	pairs := strings.Split(s, "&")
	for i, p := range pairs {
		k, _, _ := strings.Cut(p, "=")
		name, err := url.QueryUnescape(k)
		if err != nil {
			name = k
		}
		if formSecrets[strings.ToLower(strings.TrimSpace(name))] {
			pairs[i] = k + "=" + redacted
		}
	}
	return strings.Join(pairs, "&")
}

// formHasSecret reports whether a URL-encoded form has a secret field.
func formHasSecret(s string) bool {
	for _, p := range strings.Split(s, "&") {
		k, _, _ := strings.Cut(p, "=")
		name, err := url.QueryUnescape(k)
		if err != nil {
			name = k
		}
		if formSecrets[strings.ToLower(strings.TrimSpace(name))] {
			return true
		}
	}
	return false
}

// secretJSONKey reports whether a JSON field holds a secret.
func secretJSONKey(k string) bool {
	k = strings.ToLower(k)
	switch k {
	case "access_token", "refresh_token", "id_token", "token", "client_assertion":
		return true
	}
	return strings.Contains(k, "secret") || strings.Contains(k, "password") || strings.Contains(k, "passwd")
}

// redactJSON re-emits a JSON text (one or more values) compactly with the
// values of secret fields replaced, whatever their type. A truncated input
// yields the values decoded up to the cut; a value cut in the middle is
// dropped. ok is false when b is not JSON.
func redactJSON(b []byte, truncated bool) (string, bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	type frame struct {
		obj bool
		n   int // keys and values so far (objects) or values (arrays)
	}
	var (
		out    strings.Builder
		stack  []frame
		top    int  // top-level values so far
		hide   bool // the next value is a secret field's
		skip   int  // depth inside a hidden composite value
		values int
	)
	// begin writes the separator before a value and counts it.
	begin := func() {
		if len(stack) == 0 {
			if top > 0 {
				out.WriteByte('\n')
			}
			top++
			return
		}
		f := &stack[len(stack)-1]
		if f.n > 0 && (!f.obj || f.n%2 == 0) {
			out.WriteByte(',')
		}
		f.n++
	}
	for {
		tok, err := dec.Token()
		if err != nil {
			if errors.Is(err, io.EOF) && len(stack) == 0 && !hide {
				return out.String(), true
			}
			// Cut or broken: what was decoded is safe to show when the
			// input was cut short; otherwise this is not JSON.
			return out.String(), truncated && values > 0
		}
		values++
		d, isDelim := tok.(json.Delim)
		if skip > 0 {
			if isDelim {
				if d == '{' || d == '[' {
					skip++
				} else {
					skip--
				}
			}
			continue
		}
		if isDelim && (d == '}' || d == ']') {
			if len(stack) == 0 {
				return out.String(), false
			}
			stack = stack[:len(stack)-1]
			out.WriteByte(byte(d))
			continue
		}
		if n := len(stack); n > 0 && stack[n-1].obj && stack[n-1].n%2 == 0 {
			k, _ := tok.(string) // the decoder guarantees a string key here
			begin()
			writeJSONString(&out, k)
			out.WriteByte(':')
			hide = secretJSONKey(k)
			continue
		}
		begin()
		if hide {
			hide = false
			out.WriteString(`"` + redacted + `"`)
			if isDelim {
				skip = 1
			}
			continue
		}
		switch v := tok.(type) {
		case json.Delim:
			out.WriteByte(byte(v))
			stack = append(stack, frame{obj: v == '{'})
		case string:
			writeJSONString(&out, v)
		case json.Number:
			out.WriteString(v.String())
		case bool:
			if v {
				out.WriteString("true")
			} else {
				out.WriteString("false")
			}
		case nil:
			out.WriteString("null")
		}
	}
}

// writeJSONString writes s as a JSON string without HTML escaping.
func writeJSONString(w *strings.Builder, s string) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	w.Write(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}

var (
	// A JWT or JWE (or the start of one, in a truncated body): base64url
	// segments, the first one a JSON object's ("eyJ" = `{"`).
	jwtRE = regexp.MustCompile(`eyJ[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]*){0,4}`)
	// A name in free text.
	nameRE = regexp.MustCompile(`[A-Za-z0-9_-]+`)
	// "Basic xxx" / "Bearer xxx" credentials quoted in text.
	schemeRE = regexp.MustCompile(`(?i)\b(?:basic|bearer)(\s+)[A-Za-z0-9._~+/=-]+`)
)

func redactJWTs(s string) string {
	if !strings.Contains(s, "eyJ") {
		return s
	}
	return jwtRE.ReplaceAllString(s, redactedJWT)
}
