package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// linkSet renders the links of every from in rel as "from>to#id=data",
// sorted.
func linkSet(t *testing.T, s *Store, rel string) []string {
	t.Helper()
	var out []string
	err := s.EachLink(context.Background(), "c", rel, func(l Link) error {
		e := l.From + ">" + l.To
		if l.ID != "" {
			e += "#" + l.ID
		}
		if len(l.Data) > 0 {
			e += "=" + string(l.Data)
		}
		out = append(out, e)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

func add(to ...string) []Link {
	out := make([]Link, len(to))
	for i, t := range to {
		out[i] = Link{To: t, Data: []byte("user")}
	}
	return out
}

func TestLinks(t *testing.T) {
	members := func(from string, reset bool, adds []Link, removes ...string) LinkOp {
		op := LinkOp{Rel: "members", Inverse: "memberOf", From: from, FromData: []byte("group"), Reset: reset, Add: adds}
		for _, r := range removes {
			op.Remove = append(op.Remove, Link{To: r})
		}
		return op
	}
	type step struct {
		gen uint64
		ops []LinkOp
	}
	tests := []struct {
		name          string
		steps         []step
		dropDeleted   []string // records deleted through WritePage afterwards
		wantMembers   []string
		wantMemberOf  []string
		wantErrSubstr string
	}{
		{
			name:         "adds are mirrored",
			steps:        []step{{1, []LinkOp{members("g1", true, add("u1", "u2")), members("g2", true, add("u1"))}}},
			wantMembers:  []string{"g1>u1=user", "g1>u2=user", "g2>u1=user"},
			wantMemberOf: []string{"u1>g1=group", "u1>g2=group", "u2>g1=group"},
		},
		{
			name: "a listing in two parts of one generation accumulates",
			steps: []step{{1, []LinkOp{members("g1", true, add("u1"))}},
				{1, []LinkOp{members("g1", true, add("u2"))}}},
			wantMembers:  []string{"g1>u1=user", "g1>u2=user"},
			wantMemberOf: []string{"u1>g1=group", "u2>g1=group"},
		},
		{
			name: "a new generation's listing replaces the old one",
			steps: []step{{1, []LinkOp{members("g1", true, add("u1", "u2"))}},
				{2, []LinkOp{members("g1", true, add("u3"))}}},
			wantMembers:  []string{"g1>u3=user"},
			wantMemberOf: []string{"u3>g1=group"},
		},
		{
			name: "delta removes and adds without reset",
			steps: []step{{1, []LinkOp{members("g1", true, add("u1", "u2"))}},
				{1, []LinkOp{members("g1", false, add("u3"), "u1")}}},
			wantMembers:  []string{"g1>u2=user", "g1>u3=user"},
			wantMemberOf: []string{"u2>g1=group", "u3>g1=group"},
		},
		{
			name:         "a deleted member leaves every group",
			steps:        []step{{1, []LinkOp{members("g1", true, add("u1", "u2")), members("g2", true, add("u1"))}}},
			dropDeleted:  []string{"u1"},
			wantMembers:  []string{"g1>u2=user"},
			wantMemberOf: []string{"u2>g1=group"},
		},
		{
			name:         "a deleted group loses its members",
			steps:        []step{{1, []LinkOp{members("g1", true, add("u1", "u2")), members("g2", true, add("u1"))}}},
			dropDeleted:  []string{"g1"},
			wantMembers:  []string{"g2>u1=user"},
			wantMemberOf: []string{"u1>g2=group"},
		},
		{
			name: "a relation cannot change its pair",
			steps: []step{{1, []LinkOp{members("g1", true, add("u1"))}},
				{1, []LinkOp{{Rel: "members", Inverse: "owners", From: "g1", Add: add("u2")}}}},
			wantErrSubstr: "paired with memberOf",
		},
		{
			name:          "a target with a NUL byte is refused",
			steps:         []step{{1, []LinkOp{members("g1", true, add("u\x001"))}}},
			wantErrSubstr: "bad link target",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			ctx := context.Background()
			var err error
			for _, st := range tc.steps {
				if err = s.WriteLinks(ctx, "c", st.gen, st.ops); err != nil {
					break
				}
			}
			if tc.wantErrSubstr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErrSubstr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErrSubstr)
				}
				mustCheck(t, s)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(tc.dropDeleted) > 0 {
				if _, err := s.WritePage(ctx, PageWrite{Connector: "c", Type: "x", Layout: testLayout, Delete: tc.dropDeleted}); err != nil {
					t.Fatal(err)
				}
			}
			if got := linkSet(t, s, "members"); !slices.Equal(got, tc.wantMembers) {
				t.Errorf("members = %q, want %q", got, tc.wantMembers)
			}
			if got := linkSet(t, s, "memberOf"); !slices.Equal(got, tc.wantMemberOf) {
				t.Errorf("memberOf = %q, want %q", got, tc.wantMemberOf)
			}
			mustCheck(t, s)
		})
	}
}

func TestLinksWithIDsAndPurge(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	// Two assignments of the same principal to the same resource.
	op := LinkOp{Rel: "appRoleAssignedTo", Inverse: "appRoleAssignments", From: "sp1", Reset: true,
		Add: []Link{{To: "u1", ID: "a1", Data: []byte(`{"id":"a1"}`)}, {To: "u1", ID: "a2", Data: []byte(`{"id":"a2"}`)}}}
	op.FromData = []byte("sp")
	if _, err := s.WritePage(ctx, PageWrite{Connector: "c", Type: "u", Layout: testLayout, Generation: 1,
		Records: []Record{{ID: "u1", Raw: []byte(`{}`), Cells: []string{"a", "1", ""}}}, Links: []LinkOp{op}}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Links(ctx, "c", "appRoleAssignments", "u1")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != "a1" || got[1].ID != "a2" || got[0].To != "sp1" || string(got[1].Data) != "sp" {
		t.Fatalf("appRoleAssignments of u1 = %+v", got)
	}
	// A soft delete drops the links; the record stays.
	if _, err := s.WritePage(ctx, PageWrite{Connector: "c", Type: "u", Layout: testLayout, Generation: 1, SoftDelete: []string{"u1"}, RemovedAt: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}); err != nil {
		t.Fatal(err)
	}
	if got := linkSet(t, s, "appRoleAssignedTo"); len(got) != 0 {
		t.Fatalf("after soft delete: %q", got)
	}
	mustCheck(t, s)
}

func TestDeferredInverseIsRebuiltInOrder(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	members := func(from string, gen bool, deferInv bool, to ...string) LinkOp {
		return LinkOp{Rel: "members", Inverse: "memberOf", From: from, FromData: []byte("group"), Reset: gen, Add: add(to...), DeferInverse: deferInv}
	}
	// Generation 1, written with its inverse.
	if err := s.WriteLinks(ctx, "c", 1, []LinkOp{members("g1", true, false, "u1", "u2"), members("g2", true, false, "u1")}); err != nil {
		t.Fatal(err)
	}
	// A full listing of generation 2 in two parts, inverse deferred: g1
	// loses u2 and gains u3, g2 is unchanged.
	for _, op := range []LinkOp{members("g1", true, true, "u1"), members("g1", true, true, "u3"), members("g2", true, true, "u1")} {
		if err := s.WriteLinks(ctx, "c", 2, []LinkOp{op}); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := linkSet(t, s, "members"), []string{"g1>u1=user", "g1>u3=user", "g2>u1=user"}; !slices.Equal(got, want) {
		t.Fatalf("members = %q, want %q", got, want)
	}
	// The inverse still holds the previous listing until the rebuild...
	if got, want := linkSet(t, s, "memberOf"), []string{"u1>g1=group", "u1>g2=group", "u2>g1=group"}; !slices.Equal(got, want) {
		t.Fatalf("memberOf before rebuild = %q, want %q", got, want)
	}
	mustCheck(t, s) // pending: tolerated
	if err := s.RebuildInverse(ctx, "c", "members"); err != nil {
		t.Fatal(err)
	}
	if got, want := linkSet(t, s, "memberOf"), []string{"u1>g1=group", "u1>g2=group", "u3>g1=group"}; !slices.Equal(got, want) {
		t.Fatalf("memberOf after rebuild = %q, want %q", got, want)
	}
	mustCheck(t, s)
	// Links written with their inverse after the rebuild are checked again.
	if err := s.WriteLinks(ctx, "c", 2, []LinkOp{members("g3", false, false, "u9")}); err != nil {
		t.Fatal(err)
	}
	mustCheck(t, s)
	// A second rebuild without anything pending changes nothing.
	if err := s.RebuildInverse(ctx, "c", "members"); err != nil {
		t.Fatal(err)
	}
	if got := linkSet(t, s, "memberOf"); len(got) != 4 {
		t.Fatalf("memberOf after a no-op rebuild = %q", got)
	}
}

func TestReplaceWritesOnlyWhatChanged(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	replace := func(gen uint64, to ...string) {
		t.Helper()
		op := LinkOp{Rel: "members", Inverse: "memberOf", From: "r1", FromData: []byte("directoryRole"), Replace: true, Add: add(to...)}
		if err := s.WriteLinks(ctx, "c", gen, []LinkOp{op}); err != nil {
			t.Fatal(err)
		}
	}
	gens := func() map[string]uint64 {
		out := map[string]uint64{}
		err := s.db.View(func(tx *bolt.Tx) error {
			return connBucket(tx, "c").Bucket([]byte(linksBucketName)).Bucket([]byte("members")).ForEach(func(k, v []byte) error {
				g, _, _, err := splitLinkValue(v)
				_, to, _, _ := splitLinkKey(k)
				out[to] = g
				return err
			})
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	replace(1, "u1", "u2")
	replace(2, "u2", "u3")
	if got, want := linkSet(t, s, "memberOf"), []string{"u2>r1=directoryRole", "u3>r1=directoryRole"}; !slices.Equal(got, want) {
		t.Fatalf("memberOf = %q, want %q", got, want)
	}
	// u2 was not rewritten (still generation 1); u3 is new.
	if g := gens(); g["u2"] != 1 || g["u3"] != 2 || len(g) != 2 {
		t.Fatalf("generations %v", g)
	}
	replace(3)
	if got := linkSet(t, s, "members"); len(got) != 0 {
		t.Fatalf("an empty listing left %q", got)
	}
	mustCheck(t, s)
}

// TestOnePageWritesLinksAsTheyCome: a page's link ops are applied as if one
// after another, whatever order the writes go to disk in (sorted by owner,
// inverse entries at the end of the page) — also when one page writes both
// sides of a relation, which is then written as it comes.
func TestOnePageWritesLinksAsTheyCome(t *testing.T) {
	members := func(from string, adds []Link, removes ...string) LinkOp {
		op := LinkOp{Rel: "members", Inverse: "memberOf", From: from, FromData: []byte("group"), Add: adds}
		for _, r := range removes {
			op.Remove = append(op.Remove, Link{To: r})
		}
		return op
	}
	memberOf := func(from string, removes ...string) LinkOp {
		op := LinkOp{Rel: "memberOf", Inverse: "members", From: from, FromData: []byte("user")}
		for _, r := range removes {
			op.Remove = append(op.Remove, Link{To: r})
		}
		return op
	}
	for _, tc := range []struct {
		name                 string
		ops                  []LinkOp
		wantMembers, wantOfs []string
	}{
		{"owners out of order, targets out of order",
			[]LinkOp{members("g2", add("u3", "u1")), members("g1", add("u2", "u1"))},
			[]string{"g1>u1=user", "g1>u2=user", "g2>u1=user", "g2>u3=user"},
			[]string{"u1>g1=group", "u1>g2=group", "u2>g1=group", "u3>g2=group"}},
		{"one owner's ops keep their order",
			[]LinkOp{members("g1", add("u1")), members("g1", nil, "u1"), members("g1", add("u2"))},
			[]string{"g1>u2=user"}, []string{"u2>g1=group"}},
		{"both sides of a relation in one page",
			[]LinkOp{members("g1", add("u1", "u2")), memberOf("u1", "g1")},
			[]string{"g1>u2=user"}, []string{"u2>g1=group"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openTemp(t)
			if err := s.WriteLinks(context.Background(), "c", 1, tc.ops); err != nil {
				t.Fatal(err)
			}
			if got := linkSet(t, s, "members"); !slices.Equal(got, tc.wantMembers) {
				t.Errorf("members = %v, want %v", got, tc.wantMembers)
			}
			if got := linkSet(t, s, "memberOf"); !slices.Equal(got, tc.wantOfs) {
				t.Errorf("memberOf = %v, want %v", got, tc.wantOfs)
			}
			if err := s.Check(context.Background()); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestRebuildInverseInChunks: the inverse is built beside the old one in
// several transactions and swapped in; a writer between the read and the
// swap (a unit's members written with their inverse while the groups'
// full listing ends) makes it rebuild in one transaction, losing nothing;
// a side bucket left by a crash is dropped by the next rebuild.
func TestRebuildInverseInChunks(t *testing.T) {
	defer func(n int) { rebuildChunk, afterInverseRead = n, nil }(rebuildChunk)
	rebuildChunk = 7
	members := func(from string, deferInv bool, to ...string) LinkOp {
		return LinkOp{Rel: "members", Inverse: "memberOf", From: from, FromData: []byte("group"), Reset: true, Add: add(to...), DeferInverse: deferInv}
	}
	var users []string
	for i := range 30 {
		users = append(users, fmt.Sprintf("u%02d", i))
	}
	// want is memberOf as a rebuild from members makes it.
	want := func(t *testing.T, s *Store) []string {
		var out []string
		for _, l := range linkSet(t, s, "members") {
			g, rest, _ := strings.Cut(l, ">")
			u, data, _ := strings.Cut(rest, "=")
			_ = data
			out = append(out, u+">"+g+"=group")
		}
		slices.Sort(out)
		return out
	}
	setup := func(t *testing.T) *Store {
		s := openTemp(t)
		ctx := context.Background()
		if err := s.WriteLinks(ctx, "c", 1, []LinkOp{members("g0", false, users[:3]...)}); err != nil {
			t.Fatal(err)
		}
		for g := 1; g <= 4; g++ {
			if err := s.WriteLinks(ctx, "c", 2, []LinkOp{members(fmt.Sprintf("g%d", g), true, users[g:g+12]...)}); err != nil {
				t.Fatal(err)
			}
		}
		return s
	}
	sideLeft := func(t *testing.T, s *Store) bool {
		var left bool
		_ = s.db.View(func(tx *bolt.Tx) error {
			left = connBucket(tx, "c").Bucket([]byte(linksBucketName)).Bucket(rebuildSide("memberOf")) != nil
			return nil
		})
		return left
	}
	for _, tc := range []struct {
		name   string
		before func(t *testing.T, s *Store)        // before the rebuild
		during func(t *testing.T, s *Store) func() // after it read the relation
	}{
		{"in chunks", nil, nil},
		{"a writer in between", nil, func(t *testing.T, s *Store) func() {
			return func() {
				op := LinkOp{Rel: "members", Inverse: "memberOf", From: "au1", FromData: []byte("group"), Replace: true, Add: add("u29", "u01")}
				if err := s.WriteLinks(context.Background(), "c", 2, []LinkOp{op}); err != nil {
					t.Error(err)
				}
			}
		}},
		{"a group's links dropped in between", nil, func(t *testing.T, s *Store) func() {
			return func() {
				if _, err := s.WritePage(context.Background(), PageWrite{Connector: "c", Type: "u", Layout: testLayout, Generation: 2, Delete: []string{"g2"}}); err != nil {
					t.Error(err)
				}
			}
		}},
		{"a side bucket left by a crash", func(t *testing.T, s *Store) {
			err := s.db.Update(func(tx *bolt.Tx) error {
				side, err := connBucket(tx, "c").Bucket([]byte(linksBucketName)).CreateBucket(rebuildSide("memberOf"))
				if err != nil {
					return err
				}
				b, err := side.CreateBucket([]byte("memberOf"))
				if err != nil {
					return err
				}
				return b.Put([]byte("junk"), []byte("junk"))
			})
			if err != nil {
				t.Fatal(err)
			}
			// Records are deleted (their links dropped) with it there.
			if _, err := s.WritePage(context.Background(), PageWrite{Connector: "c", Type: "u", Layout: testLayout, Generation: 2, Delete: []string{"u07"}}); err != nil {
				t.Fatal(err)
			}
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := setup(t)
			if tc.before != nil {
				tc.before(t, s)
			}
			afterInverseRead = nil
			if tc.during != nil {
				afterInverseRead = tc.during(t, s)
			}
			if err := s.RebuildInverse(context.Background(), "c", "members"); err != nil {
				t.Fatal(err)
			}
			mustCheck(t, s)
			if got, want := linkSet(t, s, "memberOf"), want(t, s); !slices.Equal(got, want) {
				t.Errorf("memberOf = %q\nwant %q", got, want)
			}
			if sideLeft(t, s) {
				t.Error("the side bucket is still there")
			}
		})
	}
}
