// Package graphcost is Microsoft Graph's resource-unit cost model for
// identity requests ("Identity and access service limits"), shared by the
// Graph client (which paces its requests by it) and the simulator (which
// charges by it): the base cost table and the query-option adjustments.
package graphcost

import (
	"net/url"
	"strconv"
	"strings"
)

// base is Microsoft's table of request costs; keys are the method and the
// path after the version, lower case, object keys as {id}. Requests not
// listed cost 1.
var base = map[string]int{
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

// Of returns the cost of a request whose path pattern is pattern: the base
// cost, −1 with $select, +1 with $expand, −1 with $top under 20, never
// below 1. flags names the adjustments made ("|select|top<20"), so callers
// can tell requests of different cost apart.
func Of(method, pattern string, q url.Values) (cost int, flags string) {
	cost = base[strings.ToUpper(method)+" "+pattern]
	if cost == 0 {
		cost = 1
	}
	if option(q, "select") != "" {
		cost--
		flags += "|select"
	}
	if option(q, "expand") != "" {
		cost++
		flags += "|expand"
	}
	if v := option(q, "top"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n < 20 {
			cost--
			flags += "|top<20"
		}
	}
	return max(cost, 1), flags
}

// option returns an OData query option ($name or name, any case).
func option(q url.Values, name string) string {
	for k, v := range q {
		k = strings.ToLower(k)
		if (k == "$"+name || k == name) && len(v) > 0 && v[0] != "" {
			return v[0]
		}
	}
	return ""
}
