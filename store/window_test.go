package store

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

func TestAppendTextKeyIsTextKey(t *testing.T) {
	for _, cell := range []string{
		"", "a", "Garcia", "GARCÍA", "Ana García", "İstanbul", "ǅemal", "\x00nul\x00", "tab\there",
		strings.Repeat("Ab", 40),              // cut at 64 bytes
		strings.Repeat("A", 63) + "é",         // a 2-byte rune across the cut
		strings.Repeat("A", 64) + "É",         // ASCII up to the cut, non-ASCII after
		strings.Repeat("a", 62) + "\xff\xfe!", // invalid UTF-8 inside the kept part
		strings.Repeat("Z", 64) + "\xff",      // invalid UTF-8 after it
	} {
		got := string(appendTextKey([]byte("prefix:"), cell))
		if want := "prefix:" + textKey(cell); got != want {
			t.Errorf("appendTextKey(%q) = %q, want %q", cell, got, want)
		}
	}
}

func TestKeyPrefixOrdersLikeKeys(t *testing.T) {
	keys := []string{"", "\x01", "a", "a\x01", "aa", "abcdefgh", "abcdefgh\x01", "abcdefghi", "abcdefgi", "b", "ÿ"}
	for _, a := range keys {
		for _, b := range keys {
			pa, pb := keyPrefix([]byte(a)), keyPrefix([]byte(b))
			if pa != pb && (pa < pb) != (a < b) {
				t.Errorf("keyPrefix orders %q and %q unlike the keys", a, b)
			}
		}
	}
}

// TestMatchTextOrderIsIndexOrder: names sharing long prefixes, differing
// only in case, past the 64-byte cut, with non-ASCII letters or NUL bytes
// come out of Match in the order Rows walks the index.
func TestMatchTextOrderIsIndexOrder(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	names := []string{"Garcia", "garcia", "GARCIA", "García", "Garcias", "Gar", "ga\x00r", "Ana", "ana", "Émile", "emile", "",
		strings.Repeat("x", 70) + "b", strings.Repeat("x", 70) + "a", strings.Repeat("X", 64), "abcdefgh", "abcdefghA", "abcdefgh a"}
	var recs []Record
	for i, n := range names {
		for c := range 2 { // the same name twice: the ID breaks the tie
			id := fmt.Sprintf("id%02d-%d", len(names)-i, c)
			recs = append(recs, Record{ID: id, Raw: []byte(`{}`), Cells: []string{n, "1", "2025-01-01T00:00:00Z"}})
		}
	}
	if _, err := s.WritePage(ctx, PageWrite{Connector: "q", Type: "host", Layout: testLayout, Generation: 1, Records: recs}); err != nil {
		t.Fatal(err)
	}
	for _, desc := range []bool{false, true} {
		o := Order{Column: 0, Desc: desc}
		rows, err := s.Rows(ctx, "q", "host", o, 0, len(recs))
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, r := range rows {
			want = append(want, r.ID)
		}
		got, err := s.Match(ctx, "q", "host", o, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("desc=%v: Match order\n%v\nindex order\n%v", desc, got, want)
		}
	}
}

// TestMatchCellsAreReused: the cells a predicate sees hold each row's
// values during the call (what a filter needs), from one reused buffer.
func TestMatchCellsAreReused(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	writeRecords(t, s, "q", "host", 1, 0, 300)
	seen := map[string]bool{}
	_, err := s.Match(ctx, "q", "host", Order{}, func(c []string) bool {
		seen[strings.Clone(c[0])+"/"+strings.Clone(c[1])] = true
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for i := range 300 {
		c := testCells(i, 0)
		want[c[0]+"/"+c[1]] = true
	}
	if len(seen) != len(want) {
		t.Fatalf("predicate saw %d distinct rows, want %d", len(seen), len(want))
	}
	for k := range want {
		if !seen[k] {
			t.Fatalf("predicate never saw %q", k)
		}
	}
}

// TestRowsNearTheEndWalkBack: with no anchors cached, a window near the end
// of an order is read from the other end (building that order's anchors,
// not this one's) and holds the same rows as a forward walk.
func TestRowsNearTheEndWalkBack(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	const total = 3000
	m := model{}
	writeRecords(t, s, "q", "host", 1, 0, total)
	for i := range total {
		m[testID(i)] = testCells(i, 0)
	}
	for _, tc := range []struct {
		name      string
		offset, n int
		walkBack  bool
	}{
		{"last window", total - 40, 40, true},
		{"last row", total - 1, 1, true},
		{"window running past the end", total - 10, 40, true},
		{"three quarters in", total * 3 / 4, 40, true},
		{"first quarter", total / 4, 40, false},
		{"at the end", total, 40, false},
	} {
		for col := range testLayout.Columns {
			for _, desc := range []bool{false, true} {
				s.anchors = anchorCache{}
				o := Order{Column: col, Desc: desc}
				rows, err := s.Rows(ctx, "q", "host", o, tc.offset, tc.n)
				if err != nil {
					t.Fatal(err)
				}
				want := m.order(o, nil)
				want = want[min(tc.offset, total):min(tc.offset+tc.n, total)]
				var got []string
				for _, r := range rows {
					got = append(got, r.ID)
				}
				if !slices.Equal(got, want) {
					t.Fatalf("%s, column %d desc %v: got %v, want %v", tc.name, col, desc, got, want)
				}
				mtx := uint64(0)
				if err := s.db.View(func(tx *bolt.Tx) error {
					tt, err := loadType(typeBucket(tx, "q", "host"), "host")
					mtx = tt.mtx()
					return err
				}); err != nil {
					t.Fatal(err)
				}
				back := len(s.anchors.get(anchorKey{connector: "q", typ: "host", column: col, desc: !desc}, mtx)) > 0
				if back != tc.walkBack {
					t.Errorf("%s, column %d desc %v: walked back %v, want %v", tc.name, col, desc, back, tc.walkBack)
				}
			}
		}
	}
}

// TestReleaseMapKeepsReads: dropping the process's mappings of the file
// (which reads do once more than mapLimit bytes of file pages are mapped)
// loses nothing: the same transaction and later ones read the same rows.
func TestReleaseMapKeepsReads(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	writeRecords(t, s, "q", "host", 1, 0, 2000)
	o := Order{Column: 1}
	before, err := s.Rows(ctx, "q", "host", o, 0, 2000)
	if err != nil {
		t.Fatal(err)
	}
	beforeIDs, err := s.Match(ctx, "q", "host", o, nil)
	if err != nil {
		t.Fatal(err)
	}
	for round := range 3 {
		err = s.db.View(func(tx *bolt.Tx) error {
			rb := typeBucket(tx, "q", "host").Bucket(bucketRow)
			v := bytes.Clone(rb.Get([]byte(testID(7 + round))))
			releaseMap(tx)
			if got := rb.Get([]byte(testID(7 + round))); !bytes.Equal(got, v) {
				return fmt.Errorf("row read after releaseMap = %q, want %q", got, v)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		after, err := s.Rows(ctx, "q", "host", o, 0, 2000)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.EqualFunc(before, after, func(a, b Row) bool { return a.ID == b.ID && slices.Equal(a.Cells, b.Cells) }) {
			t.Fatal("rows differ after the map was released")
		}
		if ids, err := s.Match(ctx, "q", "host", o, nil); err != nil || !slices.Equal(ids, beforeIDs) {
			t.Fatalf("Match after release: %d ids (want %d), %v", len(ids), len(beforeIDs), err)
		}
	}
}
