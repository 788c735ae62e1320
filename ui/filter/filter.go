// Package filter parses the filter expressions typed after `/` in a list
// and turns them into row predicates.
//
// An expression is a list of terms, all of which must match:
//
//	osaka              a case-insensitive substring of any column
//	"oci resource"     a quoted phrase is one term
//	!expired           a leading ! keeps the rows the term does not match
//	state:active       a substring of one column (by title, case- and
//	                   space-insensitive: "principaltype:user")
//	state=ACTIVE       the whole cell, case-insensitively
//	controls>20        numeric comparison: > >= < <= (cells that are not
//	                   numbers never match)
//	tag:Name=Osaka     in a key=value list column ("k=v; k=v"), an element
//	                   equal to Name=Osaka; tag:Name matches the key alone
//	signin>90d         on a date column: older than 90 days (units h, d, w,
//	                   y); signin<7d is within the last 7 days
package filter

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Matcher reports whether a row's cells match.
type Matcher func(cells []string) bool

// Aliases maps extra column names to column titles (normalised), e.g.
// "tag" → "tags".
var Aliases = map[string]string{
	"tag":        "tags",
	"accounttag": "accounttags",
	"signin":     "lastsignin",
}

// Now is the clock age comparisons use (tests replace it).
var Now = time.Now

// Parse compiles q against the columns' titles. An empty expression matches
// every row. Errors name the term and what is wrong with it.
func Parse(q string, titles []string) (Matcher, error) {
	terms, err := split(q)
	if err != nil {
		return nil, err
	}
	cols := make(map[string]int, len(titles))
	for i, t := range titles {
		cols[norm(t)] = i
	}
	var preds []Matcher
	for _, t := range terms {
		p, err := compile(t, cols, titles)
		if err != nil {
			return nil, err
		}
		preds = append(preds, p)
	}
	return func(cells []string) bool {
		for _, p := range preds {
			if !p(cells) {
				return false
			}
		}
		return true
	}, nil
}

// split cuts q into terms at spaces outside double quotes.
func split(q string) ([]string, error) {
	var terms []string
	var b strings.Builder
	quoted := false
	flush := func() {
		if b.Len() > 0 {
			terms = append(terms, b.String())
			b.Reset()
		}
	}
	for _, r := range q {
		switch {
		case r == '"':
			quoted = !quoted
		case (r == ' ' || r == '\t') && !quoted:
			flush()
		default:
			b.WriteRune(r)
		}
	}
	if quoted {
		return nil, fmt.Errorf("unclosed quote in %q", q)
	}
	flush()
	return terms, nil
}

func norm(s string) string {
	s = strings.ToLower(s)
	return strings.NewReplacer(" ", "", "-", "", "_", "").Replace(s)
}

// operators in the order they are looked for (two-character ones first).
var operators = []string{">=", "<=", ":", "=", ">", "<"}

func compile(term string, cols map[string]int, titles []string) (Matcher, error) {
	neg := false
	for strings.HasPrefix(term, "!") {
		neg = !neg
		term = term[1:]
	}
	p, err := compilePositive(term, cols, titles)
	if err != nil || !neg {
		return p, err
	}
	return func(cells []string) bool { return !p(cells) }, nil
}

func compilePositive(term string, cols map[string]int, titles []string) (Matcher, error) {
	if term == "" {
		return func([]string) bool { return true }, nil
	}
	// A column operator: the left side must name a column, else the whole
	// term is plain text (so "http://x" or "a=b" still search everything).
	for _, op := range operators {
		i := strings.Index(term, op)
		if i <= 0 || strings.HasPrefix(term[i:], "://") {
			continue
		}
		name := norm(term[:i])
		if a, ok := Aliases[name]; ok {
			name = a
		}
		col, ok := cols[name]
		if !ok {
			if op == ":" {
				return nil, fmt.Errorf("%q: no column %q (columns: %s)", term, term[:i], strings.Join(titles, ", "))
			}
			continue
		}
		return columnMatcher(col, op, term[i+len(op):], term)
	}
	needle := strings.ToLower(term)
	return func(cells []string) bool {
		for _, c := range cells {
			if containsFold(c, needle) {
				return true
			}
		}
		return false
	}, nil
}

func columnMatcher(col int, op, value, term string) (Matcher, error) {
	cell := func(cells []string) string {
		if col < len(cells) {
			return cells[col]
		}
		return ""
	}
	lv := strings.ToLower(value)
	switch op {
	case ":":
		return func(cells []string) bool {
			c := cell(cells)
			return containsFold(c, lv) || strings.Contains(c, "=") && listHas(c, lv)
		}, nil
	case "=":
		return func(cells []string) bool { return strings.EqualFold(cell(cells), value) }, nil
	}
	if age, ok := parseAge(value); ok {
		// Age of a date cell: "older than" for >, "within" for <.
		older := op == ">" || op == ">="
		cutoff := Now().Add(-age)
		return func(cells []string) bool {
			t, ok := parseTime(cell(cells))
			if !ok {
				return false
			}
			if older {
				return t.Before(cutoff)
			}
			return t.After(cutoff)
		}, nil
	}
	n, err := strconv.ParseFloat(value, 64)
	if err != nil {
		return nil, fmt.Errorf("%q: %q is not a number or an age like 90d", term, value)
	}
	cmp := map[string]func(a float64) bool{
		">": func(a float64) bool { return a > n }, ">=": func(a float64) bool { return a >= n },
		"<": func(a float64) bool { return a < n }, "<=": func(a float64) bool { return a <= n },
	}[op]
	return func(cells []string) bool {
		a, err := strconv.ParseFloat(strings.TrimSpace(cell(cells)), 64)
		return err == nil && cmp(a)
	}, nil
}

// listHas reports whether a "k=v; k=v" cell has the element want ("k=v"),
// or the key want when want has no "=". want is lower-case.
func listHas(cell, want string) bool {
	for _, el := range strings.Split(cell, "; ") {
		el = strings.ToLower(el)
		if el == want {
			return true
		}
		if !strings.Contains(want, "=") {
			if k, _, ok := strings.Cut(el, "="); ok && k == want {
				return true
			}
		}
	}
	return false
}

// containsFold reports whether lower-case needle occurs in s, ignoring ASCII
// case, without allocating. Candidate positions (the needle's first byte in
// either case) are found with strings.IndexByte, so most of s is skipped at
// memchr speed.
func containsFold(s, needle string) bool {
	n := len(needle)
	if n == 0 {
		return true
	}
	c0, u0 := needle[0], needle[0]
	switch {
	case 'A' <= c0 && c0 <= 'Z':
		return false // a folded byte of s is never upper-case
	case 'a' <= c0 && c0 <= 'z':
		u0 = c0 - ('a' - 'A')
	}
	for i := 0; i+n <= len(s); i++ {
		rest := s[i : len(s)-n+1] // where a match can start
		j := strings.IndexByte(rest, c0)
		if u0 != c0 {
			upto := rest
			if j >= 0 {
				upto = rest[:j]
			}
			if k := strings.IndexByte(upto, u0); k >= 0 {
				j = k
			}
		}
		if j < 0 {
			return false
		}
		i += j
		if hasPrefixFold(s[i+1:], needle[1:]) {
			return true
		}
	}
	return false
}

// hasPrefixFold reports whether s starts with lower-case prefix, ignoring
// ASCII case.
func hasPrefixFold(s, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for j := 0; j < len(prefix); j++ {
		c := s[j]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != prefix[j] {
			return false
		}
	}
	return true
}

// parseAge reads "90d", "12h", "2w", "1y".
func parseAge(v string) (time.Duration, bool) {
	if len(v) < 2 {
		return 0, false
	}
	n, err := strconv.Atoi(v[:len(v)-1])
	if err != nil || n < 0 {
		return 0, false
	}
	unit := map[byte]time.Duration{'h': time.Hour, 'd': 24 * time.Hour, 'w': 7 * 24 * time.Hour, 'y': 365 * 24 * time.Hour}[v[len(v)-1]]
	if unit == 0 {
		return 0, false
	}
	return time.Duration(n) * unit, true
}

// parseTime reads the timestamp formats the APIs send.
func parseTime(s string) (time.Time, bool) {
	for _, l := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.000Z07:00", "2006-01-02T15:04:05-0700", "2006-01-02T15:04:05.999999999-0700"} {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}
