package graph

import (
	"net/url"
	"strings"

	"qtc/api/internal/graphcost"
)

// requestCost returns the kind of a request (method, path pattern and the
// query options that change its cost), used to learn what Graph reports,
// and its cost by Microsoft's table: the base cost, −1 with $select, +1
// with $expand, −1 with $top under 20, never below 1.
func requestCost(method, rawURL string) (key string, cost int) {
	method = strings.ToUpper(method)
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", 1
	}
	pattern := costPattern(u.Path)
	q, _ := url.ParseQuery(u.RawQuery)
	cost, flags := graphcost.Of(method, pattern, q)
	return method + " " + pattern + flags, cost
}

// costPattern turns a request path into a cost-table pattern: the part after
// the version segment, lower case, key segments as {id}, "me" as
// "users/{id}", function parentheses, casts and $ref/$count dropped.
func costPattern(path string) string {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for i, s := range segs {
		if s == "v1.0" || s == "beta" {
			segs = segs[i+1:]
			break
		}
	}
	out := make([]string, 0, len(segs)+1)
	for i, s := range segs {
		if s == "" {
			continue
		}
		if p := strings.IndexByte(s, '('); p > 0 && i > 0 {
			// users('id'), delta(), users(userPrincipalName='…')
			if strings.HasSuffix(s, "()") {
				s = s[:p]
			} else {
				out = append(out, strings.ToLower(s[:p]), "{id}")
				continue
			}
		}
		ls := strings.ToLower(s)
		switch {
		case ls == "me" && len(out) == 0:
			out = append(out, "users", "{id}")
			continue
		case strings.HasPrefix(ls, "microsoft.graph."):
			if ls == "microsoft.graph.delta" {
				out = append(out, "delta")
			}
			continue // a type cast
		case strings.HasPrefix(ls, "$"):
			continue
		case i > 0 && isKeySegment(s):
			out = append(out, "{id}")
			continue
		}
		out = append(out, ls)
	}
	return strings.Join(out, "/")
}

// isKeySegment reports whether a path segment is an object key rather than
// a name: a GUID, or anything that is not a plain identifier.
func isKeySegment(s string) bool {
	if isGUID(s) {
		return true
	}
	if s[0] >= '0' && s[0] <= '9' {
		return true
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if !('a' <= ch && ch <= 'z' || 'A' <= ch && ch <= 'Z' || '0' <= ch && ch <= '9' || ch == '.') {
			return true
		}
	}
	return false
}
