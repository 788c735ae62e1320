package graphcost

import (
	"net/url"
	"testing"
)

func TestOf(t *testing.T) {
	tests := []struct {
		method, pattern, query string
		cost                   int
		flags                  string
	}{
		{"GET", "users", "", 2, ""},
		{"get", "users", "$select=id", 1, "|select"},
		{"GET", "groups/{id}/members", "$expand=x", 4, "|expand"},
		{"GET", "users", "$select=id&$top=5", 1, "|select|top<20"}, // never below 1
		{"GET", "devices", "$top=999", 1, ""},
		{"GET", "groups/{id}/members", "SELECT=id", 2, "|select"},
		{"POST", "ismemberof", "", 4, ""},
	}
	for _, tc := range tests {
		q, _ := url.ParseQuery(tc.query)
		if c, f := Of(tc.method, tc.pattern, q); c != tc.cost || f != tc.flags {
			t.Errorf("Of(%s %s?%s) = %d %q, want %d %q", tc.method, tc.pattern, tc.query, c, f, tc.cost, tc.flags)
		}
	}
}
