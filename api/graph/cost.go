package graph

import (
	"net/url"
	"strconv"
	"strings"
)

// baseCosts is Microsoft's table of identity request costs in resource
// units ("Identity and access service limits"); requests not listed cost 1.
// Paths are lower case with {id} for a key segment; "me/…" is the same as
// "users/{id}/…".
var baseCosts = map[string]int{
	"GET applications":                              2,
	"GET applications/{id}/extensionproperties":     2,
	"GET contracts":                                 3,
	"POST directoryobjects/getbyids":                3,
	"GET domains/{id}/domainnamereferences":         4,
	"POST getobjectsbyid":                           3,
	"GET groups/{id}/members":                       3,
	"GET groups/{id}/transitivemembers":             5,
	"POST ismemberof":                               4,
	"POST users/{id}/checkmembergroups":             4,
	"POST users/{id}/checkmemberobjects":            4,
	"POST users/{id}/getmembergroups":               2,
	"POST users/{id}/getmemberobjects":              2,
	"GET users/{id}/licensedetails":                 2,
	"GET users/{id}/memberof":                       2,
	"GET users/{id}/ownedobjects":                   2,
	"GET users/{id}/transitivememberof":             2,
	"GET oauth2permissiongrants":                    2,
	"GET oauth2permissiongrants/{id}":               2,
	"GET serviceprincipals/{id}/approleassignments": 2,
	"GET subscribedskus":                            3,
	"GET users":                                     2,
}

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
	cost = baseCosts[method+" "+pattern]
	if cost == 0 {
		cost = 1
	}
	var flags string
	q, _ := url.ParseQuery(u.RawQuery)
	if has(q, "select") {
		cost--
		flags += "|select"
	}
	if has(q, "expand") {
		cost++
		flags += "|expand"
	}
	if v := get(q, "top"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n < 20 {
			cost--
			flags += "|top<20"
		}
	}
	return method + " " + pattern + flags, max(cost, 1)
}

// has reports whether the query has the OData option ($name or name).
func has(q url.Values, name string) bool { return get(q, name) != "" }

func get(q url.Values, name string) string {
	for k, v := range q {
		k = strings.ToLower(k)
		if (k == "$"+name || k == name) && len(v) > 0 && v[0] != "" {
			return v[0]
		}
	}
	return ""
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
