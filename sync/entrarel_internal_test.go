package sync

import (
	"encoding/json"
	"testing"
)

func TestCutMembersDelta(t *testing.T) {
	tests := []struct {
		name, in, rest string
		members        int
		removed        int
		props          bool
		wantErr        bool
	}{
		{name: "members last", in: `{"id":"g","displayName":"A","members@delta":[{"@odata.type":"#microsoft.graph.user","id":"u1"}]}`,
			rest: `{"id":"g","displayName":"A"}`, members: 1, props: true},
		{name: "members first", in: `{"members@delta":[{"id":"u1","@removed":{"reason":"deleted"}}], "id":"g"}`,
			rest: `{"id":"g"}`, members: 1, removed: 1},
		{name: "members between", in: `{"id":"g", "members@delta" : [] , "mail":null}`, rest: `{"id":"g" , "mail":null}`, props: true},
		{name: "no members", in: `{"id":"g","displayName":"A"}`, rest: `{"id":"g","displayName":"A"}`, props: true},
		{name: "only id and type", in: `{"@odata.type":"#microsoft.graph.group","id":"g","members@delta":[{"id":"u"}]}`,
			rest: `{"@odata.type":"#microsoft.graph.group","id":"g"}`, members: 1},
		{name: "no id", in: `{"displayName":"A"}`, wantErr: true},
		{name: "not an object", in: `["g"]`, wantErr: true},
		{name: "bad members", in: `{"id":"g","members@delta":{"id":"u"}}`, wantErr: true},
		{name: "truncated", in: `{"id":"g","members@delta":[{"id":"u"}`, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g, err := cutMembersDelta([]byte(tc.in))
			if tc.wantErr {
				if err == nil {
					t.Fatalf("no error for %s", tc.in)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			removed := 0
			for _, m := range g.members {
				if m.Removed != nil {
					removed++
				}
			}
			if string(g.rest) != tc.rest || len(g.members) != tc.members || removed != tc.removed || g.hasProps != tc.props || g.id != "g" {
				t.Errorf("got rest %s, %d members (%d removed), props %v, id %q", g.rest, len(g.members), removed, g.hasProps, g.id)
			}
			if !json.Valid(g.rest) {
				t.Errorf("rest %s is not valid JSON", g.rest)
			}
		})
	}
}

// FuzzCutMembersDelta: whatever Graph sends, the cut is valid JSON without
// members@delta, or an error.
func FuzzCutMembersDelta(f *testing.F) {
	for _, s := range []string{`{"id":"g","members@delta":[{"id":"u"}]}`, `{"members@delta":[],"id":"g"}`, `{"id":"g"}`, `{}`, `[]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		g, err := cutMembersDelta(in)
		if err != nil {
			return
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(g.rest, &m); err != nil {
			t.Fatalf("rest %q of %q is not an object: %v", g.rest, in, err)
		}
		if _, ok := m["members@delta"]; ok && len(g.members) > 0 {
			t.Fatalf("rest %q still has members@delta", g.rest)
		}
	})
}
