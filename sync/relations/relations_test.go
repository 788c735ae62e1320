package relations

import (
	"encoding/json"
	"testing"
)

func TestExpandAndValues(t *testing.T) {
	groups := []Group{
		{Rel: MemberOf, Items: []Related{{Kind: "group", ID: "g1", Raw: withODataType(json.RawMessage(`{"id":"g1","displayName":"G"}`), ODataType("group"))}}},
		{Rel: Members, Items: []Related{{Kind: "user", ID: "u2", Raw: json.RawMessage(`{"id":"u2","displayName":"ignored"}`)}}},
		{Rel: AppRoleAssignments},
	}
	tests := []struct {
		name, raw string
		groups    []Group
		want      string
		wantErr   bool
	}{
		{"no relations keeps the bytes", `{"id": "u1"}`, nil, `{"id": "u1"}`, false},
		{"relations appended under Graph names", `{"id":"u1"}`, groups,
			`{"id":"u1","memberOf":[{"@odata.type":"#microsoft.graph.group","id":"g1","displayName":"G"}],"members":[{"@odata.type":"#microsoft.graph.user","id":"u2"}],"appRoleAssignments":[]}`, false},
		{"empty object", `{}`, groups[2:], `{"appRoleAssignments":[]}`, false},
		{"not an object", `[1]`, groups, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Expand(json.RawMessage(tc.raw), tc.groups)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v", err)
			}
			if !tc.wantErr && string(got) != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
	v, err := Values(json.RawMessage(`{"id":"u1"}`), groups[:1])
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		MemberOf struct {
			Value []struct{ ID string } `json:"value"`
		} `json:"memberOf"`
	}
	if err := json.Unmarshal(v, &m); err != nil || len(m.MemberOf.Value) != 1 || m.MemberOf.Value[0].ID != "g1" {
		t.Errorf("Values = %s (%v)", v, err)
	}
}

func TestWithODataType(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"id":"x"}`, `{"@odata.type":"#microsoft.graph.group","id":"x"}`},
		{`{}`, `{"@odata.type":"#microsoft.graph.group"}`},
		{`{"@odata.type":"#microsoft.graph.directoryRole","id":"x"}`, `{"@odata.type":"#microsoft.graph.directoryRole","id":"x"}`},
		{`"x"`, `"x"`},
	} {
		if got := string(withODataType(json.RawMessage(tc.in), ODataType("group"))); got != tc.want {
			t.Errorf("withODataType(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
}
