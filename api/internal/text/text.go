// Package text holds the small text helpers the API clients share to turn
// server answers into one-line, bounded error messages.
package text

import (
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// JSON renders a JSON value as text: strings unquoted, other values as their
// literal, null and absent as "".
func JSON(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s
	}
	return string(raw)
}

// Snippet returns the start of a body as text, at most n bytes, cut on a
// rune boundary, invalid UTF-8 replaced.
func Snippet(body []byte, n int) string {
	s := strings.TrimSpace(string(body))
	if len(s) <= n {
		return strings.ToValidUTF8(s, "?")
	}
	return strings.ToValidUTF8(s[:runeCut(s, n)], "?") + "..."
}

// OneLine flattens s onto one line and bounds its length to n bytes.
func OneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		s = s[:runeCut(s, n)] + "..."
	}
	return s
}

// runeCut moves n back to the start of a rune.
func runeCut(s string, n int) int {
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return n
}
