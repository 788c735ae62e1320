package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// uuidsOf returns the uuid of each record.
func uuidsOf(t *testing.T, recs []json.RawMessage) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		var v struct{ UUID string }
		if err := json.Unmarshal(r, &v); err != nil || v.UUID == "" {
			t.Fatalf("record without uuid: %s", r)
		}
		out[i] = v.UUID
	}
	return out
}

func byUUID(t *testing.T, recs []json.RawMessage) map[string]json.RawMessage {
	m := map[string]json.RawMessage{}
	ids := uuidsOf(t, recs)
	for i, r := range recs {
		m[ids[i]] = r
	}
	return m
}

// served pages typ through the API to the end.
func served(t *testing.T, base, tok, typ, query string) []json.RawMessage {
	t.Helper()
	switch typ {
	case TypeExceptions:
		var out []json.RawMessage
		for page := 0; ; page++ {
			p, _ := fetchPage(t, fmt.Sprintf("%s%s?pageNo=%d&pageSize=200", base, qualysExceptionsPath, page), tok)
			out = append(out, p.Content...)
			if p.Last {
				return out
			}
		}
	case TypeEC2Instance:
		v, _ := url.ParseQuery(strings.TrimPrefix(query, "&"))
		v.Set("pageSize", "200")
		recs, _ := pageAWS(t, base, tok, v)
		return recs
	}
	recs, _ := pageAzure(t, base, tok, typ, query, 200)
	return recs
}

func TestMutate(t *testing.T) {
	types := append([]string{TypeExceptions, TypeEC2Instance}, azureTypes...)
	for _, typ := range types {
		t.Run(typ, func(t *testing.T) {
			t.Parallel()
			s, base, clk := newTestServer(t, Options{Exceptions: 300, RateLimit: math.MaxInt})
			tok := login(t, base)
			before := s.Records(typ)
			if got := served(t, base, tok, typ, ""); len(got) != len(before) {
				t.Fatalf("served %d, Records %d", len(got), len(before))
			}
			clk.Advance(3 * time.Hour)
			m := Mutation{Type: typ, Add: 3, Change: 4, Remove: 2, Seed: 42}
			if typ == TypeRoleDefinitions {
				m.Remove = 1
			}
			res := s.Mutate(m)
			if res.Error != "" || res.Type != typ || len(res.Added) != m.Add || len(res.Changed) != m.Change || len(res.Removed) != m.Remove {
				t.Fatalf("result %+v", res)
			}
			after := s.Records(typ)
			if len(after) != len(before)+m.Add-m.Remove {
				t.Fatalf("%d records after, want %d", len(after), len(before)+m.Add-m.Remove)
			}
			old, cur := byUUID(t, before), byUUID(t, after)
			touched := map[string]bool{}
			for _, id := range res.Removed {
				if old[id] == nil || cur[id] != nil {
					t.Errorf("removed %s: before %v after %v", id, old[id] != nil, cur[id] != nil)
				}
			}
			for _, id := range res.Changed {
				touched[id] = true
				if old[id] == nil || cur[id] == nil || bytes.Equal(old[id], cur[id]) {
					t.Errorf("changed %s did not change", id)
				}
			}
			for _, id := range res.Added {
				touched[id] = true
				if old[id] != nil || cur[id] == nil {
					t.Errorf("added %s: before %v after %v", id, old[id] != nil, cur[id] != nil)
				}
			}
			for id, r := range cur {
				if !touched[id] && !bytes.Equal(old[id], r) {
					t.Errorf("untouched %s changed", id)
				}
			}
			// Changed and added records are updated now, with the same
			// keys as the others.
			nowText := clk.Now()
			for id := range touched {
				keysOld := objectKeys(t, before[0])
				if got := objectKeys(t, cur[id]); !equalStrings(got, keysOld) {
					t.Errorf("%s keys %v", id, got)
				}
				if typ == TypeExceptions {
					var e qualysException
					decodeStrict(t, cur[id], &e)
					if e.UpdatedOn != fmtQualysTime(nowText) || (slices.Contains(res.Added, id) && e.CreatedOn != e.UpdatedOn) {
						t.Errorf("exception %s updatedOn %s", id, e.UpdatedOn)
					}
					end := parseTime(t, qualysMilliLayout, e.EndingDate)
					if e.State != "INACTIVE" && (e.State == "EXPIRED") != !end.After(nowText) {
						t.Errorf("exception %s state %s ends %s", id, e.State, end)
					}
				} else if u := updatedOf(t, cur[id]); !u.Equal(nowText.Truncate(time.Second)) && !u.Equal(nowText) {
					t.Errorf("%s updated %s, want %s", id, u, nowText)
				}
			}
			// The API serves the new state at once; Records is its order.
			sameRaw(t, "served after", served(t, base, tok, typ, ""), after)
			if typ == TypeEC2Instance {
				// Touched records moved to the end of the marker order.
				tail := uuidsOf(t, after[len(after)-len(touched):])
				for _, id := range tail {
					if !touched[id] {
						t.Errorf("%s is among the last records but was not touched", id)
					}
				}
			}
			// An incremental query sees exactly the touched records.
			if typ != TypeExceptions {
				recent := served(t, base, tok, typ, "&updated="+url.QueryEscape("[now-1m..now]"))
				got := uuidsOf(t, recent)
				if len(got) != len(touched) {
					t.Errorf("[now-1m..now]: %d records, want %d", len(got), len(touched))
				}
				for _, id := range got {
					if !touched[id] {
						t.Errorf("[now-1m..now] returned untouched %s", id)
					}
				}
			}
		})
	}
}

func TestMutateDeterministic(t *testing.T) {
	for _, typ := range []string{TypeExceptions, TypeEC2Instance, TypeEntraIDUser, TypeRoleAssignment} {
		run := func(seed int64) (MutationResult, []json.RawMessage) {
			s := New(Options{Now: (&fakeClock{t: testNow.Add(time.Hour)}).Now})
			res := s.Mutate(Mutation{Type: typ, Add: 2, Change: 5, Remove: 3, Seed: seed})
			res2 := s.Mutate(Mutation{Type: typ, Add: 1, Change: 2, Remove: 1, Seed: seed + 1})
			res.Added = append(res.Added, res2.Added...)
			res.Changed = append(res.Changed, res2.Changed...)
			res.Removed = append(res.Removed, res2.Removed...)
			return res, s.Records(typ)
		}
		a, ra := run(7)
		b, rb := run(7)
		c, _ := run(8)
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		jc, _ := json.Marshal(c)
		if !bytes.Equal(ja, jb) {
			t.Errorf("%s: same seed, different results:\n%s\n%s", typ, ja, jb)
		}
		if len(ra) != len(rb) {
			t.Fatalf("%s: %d vs %d records", typ, len(ra), len(rb))
		}
		for i := range ra {
			if !bytes.Equal(ra[i], rb[i]) {
				t.Fatalf("%s: same seed, record %d differs", typ, i)
			}
		}
		if bytes.Equal(ja, jc) {
			t.Errorf("%s: seeds 7 and 8 gave the same result", typ)
		}
	}
}

func TestMutateLimitsAndErrors(t *testing.T) {
	s := New(Options{Now: (&fakeClock{t: testNow}).Now})
	tests := []struct {
		m                       Mutation
		added, changed, removed int
		err                     string
	}{
		{Mutation{Type: TypeDenyAssignment, Change: 5, Remove: 7}, 0, 2, 7, ""},
		{Mutation{Type: TypeDenyAssignment, Change: 1, Remove: 1}, 0, 1, 1, ""},
		{Mutation{Type: TypeDenyAssignment, Remove: 5, Add: 1}, 1, 0, 1, ""}, // removals apply to what existed
		{Mutation{Type: TypePolicies, Add: 1}, 0, 0, 0, "unknown mutation type 'policies'"},
		{Mutation{Type: "USERS"}, 0, 0, 0, "unknown mutation type 'USERS'"},
		{Mutation{Type: TypeEntraIDUser, Add: -1}, 0, 0, 0, "must not be negative"},
	}
	for i, tt := range tests {
		res := s.Mutate(tt.m)
		if tt.err != "" {
			if !strings.Contains(res.Error, tt.err) || len(res.Added)+len(res.Changed)+len(res.Removed) != 0 {
				t.Errorf("%d: %+v, want error %q", i, res, tt.err)
			}
			continue
		}
		if res.Error != "" || len(res.Added) != tt.added || len(res.Changed) != tt.changed || len(res.Removed) != tt.removed {
			t.Errorf("%d: %+v, want %d/%d/%d", i, res, tt.added, tt.changed, tt.removed)
		}
	}
	if n := len(s.Records(TypeDenyAssignment)); n != 1 {
		t.Errorf("%d deny assignments left", n)
	}

	// Role definitions: only custom roles no assignment uses are removed,
	// so every roleDefinitionId stays served.
	res := s.Mutate(Mutation{Type: TypeRoleDefinitions, Remove: 1000, Seed: 3})
	rds := decodeAll[roleDefinition](t, s, TypeRoleDefinitions)
	served := map[string]bool{}
	for _, rd := range rds {
		served[rd.ResourceID] = true
	}
	if len(res.Removed) == 0 || len(res.Removed) >= 1000 {
		t.Errorf("removed %d role definitions", len(res.Removed))
	}
	s.Mutate(Mutation{Type: TypeRoleAssignment, Add: 50, Seed: 4})
	for _, ra := range decodeAll[roleAssignment](t, s, TypeRoleAssignment) {
		if !served[ra.RoleDefinitionID] {
			t.Fatalf("role assignment %s points at removed %s", ra.DisplayName, ra.RoleDefinitionID)
		}
	}
	for _, rd := range rds {
		if rd.RoleType == "BuiltInRole" && !served[rd.ResourceID] {
			t.Fatal("a built-in role was removed")
		}
	}
}

func TestMutateHTTP(t *testing.T) {
	s, base, _ := newTestServer(t, Options{FailEvery: 1}) // every API call fails: the control is not an API call
	tests := []struct {
		body   string
		status int
		word   string
	}{
		{`{"type":"ENTRA_ID_GROUP","add":2,"change":1,"remove":1,"seed":9}`, 200, ""},
		{`{"type":"exceptions","add":1}`, 200, ""},
		{`{"type":"NOPE","add":1}`, 400, "unknown mutation type"},
		{`{"type":"EC2_INSTANCE","adds":1}`, 400, "Malformed mutation"},
		{`{"type":`, 400, "Malformed mutation"},
	}
	for _, tt := range tests {
		resp, body := send(t, http.MethodPost, base+simMutatePath, "", tt.body)
		if tt.status != 200 {
			if e := checkError(t, resp, body, tt.status); !strings.Contains(e.Message, tt.word) {
				t.Errorf("%s: %q", tt.body, e.Message)
			}
			continue
		}
		var res MutationResult
		if resp.StatusCode != 200 || json.Unmarshal(body, &res) != nil || res.Error != "" {
			t.Fatalf("%s: %d %s", tt.body, resp.StatusCode, body)
		}
		if got := objectKeys(t, body); !equalStrings(got, []string{"type", "added", "changed", "removed"}) {
			t.Errorf("result keys %v", got)
		}
	}
	if n := len(s.Records(TypeEntraIDGroup)); n != 37 {
		t.Errorf("%d groups after +2 -1", n)
	}
	resp, body := get(t, base+simMutatePath, "")
	checkError(t, resp, body, http.StatusMethodNotAllowed)
	if st := s.Stats(); st.Requests[simMutatePath] != 6 || st.Failed != 0 {
		t.Errorf("stats %+v", st)
	}
}
