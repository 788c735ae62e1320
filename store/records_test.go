package store

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"
)

// testLayout is the layout of the test type "host": name, score, seen.
var testLayout = Layout{Columns: []ColumnKind{Text, Number, Time}}

var words = []string{"web", "Web", "db", "mail", "ZEBRA", "alpha", "Ünïcode", ""}

// testCells returns the cells of test record i in variant v. The data has
// ties, mixed case, empty and unparsable cells and every time format.
func testCells(i, v int) []string {
	name := words[(i+v)%len(words)]
	if name != "" {
		name = fmt.Sprintf("%s-%d", name, (i*31+v)%13)
	}
	score := strconv.Itoa((i*7919+v*13)%2001 - 1000)
	switch i % 10 {
	case 0:
		score = ""
	case 5:
		score = "n/a"
	}
	ts := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration((i*37+v*11)%5000) * time.Minute)
	var seen string
	switch i % 6 {
	case 0:
		seen = ""
	case 1:
		seen = ts.Format("2006-01-02T15:04:05-0700")
	case 2:
		seen = ts.Format("2006-01-02T15:04:05.000Z")
	case 3:
		seen = ts.In(time.FixedZone("x", 2*3600)).Format(time.RFC3339)
	case 4:
		seen = ts.Add(123456789).Format(time.RFC3339Nano)
	case 5:
		seen = ts.In(time.FixedZone("y", -5*3600)).Format("2006-01-02T15:04:05.999999999-0700")
	}
	return []string{name, score, seen}
}

func testID(i int) string { return fmt.Sprintf("h%06d", i) }

func testRecord(i, v int) Record {
	cells := testCells(i, v)
	raw, _ := json.Marshal(map[string]any{"id": testID(i), "v": v, "name": cells[0], "pad": strings.Repeat("x", 100)})
	return Record{ID: testID(i), Raw: raw, Cells: cells}
}

// writeRecords writes records [from, to) of variant 0 stamped gen, in pages
// of 500.
func writeRecords(t testing.TB, s *Store, conn, typ string, gen uint64, from, to int) {
	t.Helper()
	for p := from; p < to; p += 500 {
		var recs []Record
		for i := p; i < min(p+500, to); i++ {
			recs = append(recs, testRecord(i, 0))
		}
		_, err := s.WritePage(context.Background(), PageWrite{Connector: conn, Type: typ, Layout: testLayout,
			Stream: typ, Generation: gen, Records: recs, State: StreamState{Phase: PhasePaging, Generation: gen}})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// model is the test's independent idea of a type's contents: id -> cells.
type model map[string][]string

// order returns the IDs of m in order o, computed without the store's keys.
func (m model) order(o Order, pred func([]string) bool) []string {
	kind := testLayout.Columns[o.Column]
	type item struct {
		id   string
		ok   bool
		num  int64
		text string
	}
	var items []item
	for id, cells := range m {
		if pred != nil && !pred(cells) {
			continue
		}
		it := item{id: id}
		c := cells[o.Column]
		switch kind {
		case Text:
			it.text = strings.ToLower(c)
		case Number:
			n, err := strconv.ParseInt(c, 10, 64)
			it.ok, it.num = err == nil, n
		case Time:
			tm, ok := parseTestTime(c)
			it.ok, it.num = ok, tm.UnixNano()
		}
		items = append(items, it)
	}
	slices.SortFunc(items, func(a, b item) int {
		r := 0
		switch kind {
		case Text:
			r = strings.Compare(a.text, b.text)
		default:
			if a.ok != b.ok {
				if a.ok {
					return 1
				}
				return -1
			}
			r = cmp.Compare(a.num, b.num)
		}
		if r == 0 {
			r = strings.Compare(a.id, b.id)
		}
		return r
	})
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = it.id
	}
	if o.Desc {
		slices.Reverse(ids)
	}
	return ids
}

func parseTestTime(s string) (time.Time, bool) {
	for _, l := range []string{time.RFC3339Nano, "2006-01-02T15:04:05-0700", "2006-01-02T15:04:05.999999999-0700"} {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func TestSortKey(t *testing.T) {
	long := strings.Repeat("a", 70)
	tests := []struct {
		name string
		kind ColumnKind
		cell string
		want []byte
	}{
		{"text lowercases", Text, "WeB-01", []byte("web-01")},
		{"text unicode lowercases", Text, "ÄÖÜ", []byte("äöü")},
		{"text empty", Text, "", []byte{}},
		{"text truncated to 64", Text, long, []byte(long[:64])},
		{"text truncated at rune start", Text, "a" + strings.Repeat("é", 40), []byte("a" + strings.Repeat("é", 31))},
		{"text NUL replaced", Text, "a\x00b", []byte("a\x01b")},
		{"number zero", Number, "0", []byte{0x80, 0, 0, 0, 0, 0, 0, 0}},
		{"number minus one", Number, "-1", []byte{0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
		{"number spaces and plus", Number, " +1 ", []byte{0x80, 0, 0, 0, 0, 0, 0, 1}},
		{"number empty", Number, "", make([]byte, 8)},
		{"number unparsable", Number, "7.5", make([]byte, 8)},
		{"time epoch", Time, "1970-01-01T00:00:00Z", []byte{0x80, 0, 0, 0, 0, 0, 0, 0}},
		{"time qualys offset", Time, "1970-01-01T01:00:00+0100", []byte{0x80, 0, 0, 0, 0, 0, 0, 0}},
		{"time graph millis", Time, "1970-01-01T00:00:00.000Z", []byte{0x80, 0, 0, 0, 0, 0, 0, 0}},
		{"time fraction and offset", Time, "1969-12-31T23:00:00.000000001-0100", []byte{0x80, 0, 0, 0, 0, 0, 0, 1}},
		{"time empty", Time, "", make([]byte, 8)},
		{"time unparsable", Time, "yesterday", make([]byte, 8)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := SortKey(tt.kind, tt.cell)
			if !bytes.Equal(got, tt.want) {
				t.Fatalf("SortKey(%d, %q) = %x, want %x", tt.kind, tt.cell, got, tt.want)
			}
			if tt.kind == Text && !utf8.Valid(got) {
				t.Fatalf("SortKey(%q) is not valid UTF-8", tt.cell)
			}
		})
	}

	// Each list is in strictly ascending order.
	orders := []struct {
		kind  ColumnKind
		cells []string
	}{
		{Text, []string{"", "A", "ab", "B", "b1", "zz"}},
		{Number, []string{"x", "-9223372036854775807", "-1000", "-1", "0", "2", "10", "9223372036854775807"}},
		{Time, []string{"", "1900-01-01T00:00:00Z", "1969-12-31T23:59:59Z", "2020-07-09T11:33:36+0000",
			"2020-07-09T11:33:36.5Z", "2020-07-09T13:33:37+0200", "2026-05-17T18:30:00.000Z", "3000-01-01T00:00:00Z"}},
	}
	for _, o := range orders {
		for i := 1; i < len(o.cells); i++ {
			a, b := SortKey(o.kind, o.cells[i-1]), SortKey(o.kind, o.cells[i])
			if bytes.Compare(a, b) >= 0 {
				t.Errorf("kind %d: SortKey(%q)=%x not below SortKey(%q)=%x", o.kind, o.cells[i-1], a, o.cells[i], b)
			}
		}
	}
}

func TestWritePageStats(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	page := func(gen uint64, ids []int, mutate func(i int, r *Record)) PageWrite {
		w := PageWrite{Connector: "q", Type: "host", Layout: testLayout, Stream: "hosts", Generation: gen,
			State: StreamState{Phase: PhasePaging, Generation: gen, NextPage: int(gen)}}
		for _, i := range ids {
			r := testRecord(i, 0)
			if mutate != nil {
				mutate(i, &r)
			}
			w.Records = append(w.Records, r)
		}
		return w
	}
	seq := func(a, b int) []int {
		var s []int
		for i := a; i < b; i++ {
			s = append(s, i)
		}
		return s
	}
	tests := []struct {
		name  string
		w     PageWrite
		want  WriteStats
		count int
	}{
		{"all new", page(1, seq(0, 10), nil), WriteStats{Added: 10}, 10},
		{"same again", page(2, seq(0, 10), nil), WriteStats{Unchanged: 10}, 10},
		{"raw changed plus new", page(3, seq(5, 15), func(i int, r *Record) {
			if i < 10 {
				r.Raw = json.RawMessage(`{"changed":true}`)
			}
		}), WriteStats{Added: 5, Changed: 5}, 15},
		{"cells changed only", page(4, seq(0, 5), func(i int, r *Record) {
			r.Cells = testCells(i, 1)
		}), WriteStats{Changed: 5}, 15},
		{"empty page", page(5, nil, nil), WriteStats{}, 15},
		{"duplicate in page", page(6, []int{20, 20}, nil), WriteStats{Added: 1, Unchanged: 1}, 16},
	}
	for _, tt := range tests {
		got, err := s.WritePage(ctx, tt.w)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got != tt.want {
			t.Errorf("%s: stats %+v, want %+v", tt.name, got, tt.want)
		}
		if n, _ := s.Count(ctx, "q", "host"); n != tt.count {
			t.Errorf("%s: Count = %d, want %d", tt.name, n, tt.count)
		}
		if st, _ := s.StreamState(ctx, "q", "hosts"); st != tt.w.State {
			t.Errorf("%s: state %+v, want %+v", tt.name, st, tt.w.State)
		}
		mustCheck(t, s)
	}
	// Restamped generations: every record written by "same again" and
	// later is at generation >= 2, so a sweep of 2 removes nothing.
	if n, err := s.Sweep(ctx, "q", "host", "", 2, StreamState{}); err != nil || n != 0 {
		t.Errorf("Sweep(2) = %d, %v", n, err)
	}
	r, err := s.Get(ctx, "q", "host", testID(3))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r.Cells, testCells(3, 1)) || !bytes.Equal(r.Raw, testRecord(3, 0).Raw) {
		t.Errorf("Get = %+v", r)
	}
}

func TestWritePageValidation(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	writeRecords(t, s, "q", "host", 1, 0, 10)
	before, _ := s.StreamState(ctx, "q", "host")
	tests := []struct {
		name string
		w    PageWrite
		want []string
		is   error
	}{
		{"too few cells", PageWrite{Connector: "q", Type: "host", Layout: testLayout, Stream: "host",
			Records: []Record{testRecord(50, 0), {ID: "bad-one", Cells: []string{"x"}}}}, []string{"bad-one", "host"}, nil},
		{"empty id", PageWrite{Connector: "q", Type: "host", Layout: testLayout, Stream: "host",
			Records: []Record{testRecord(51, 0), {Cells: []string{"a", "1", ""}}}}, []string{"empty ID", "host"}, nil},
		{"no type", PageWrite{Connector: "q", Layout: testLayout, Records: []Record{testRecord(52, 0)}}, []string{"empty"}, nil},
		{"layout changed", PageWrite{Connector: "q", Type: "host", Layout: Layout{Columns: []ColumnKind{Text, Text, Time}}, Stream: "host",
			Records: []Record{testRecord(53, 0)}}, []string{"host"}, ErrLayoutChanged},
	}
	for _, tt := range tests {
		w := tt.w
		w.State = StreamState{NextPage: 99}
		_, err := s.WritePage(ctx, w)
		if err == nil {
			t.Fatalf("%s: no error", tt.name)
		}
		for _, s := range tt.want {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("%s: error %q does not mention %q", tt.name, err, s)
			}
		}
		if tt.is != nil && !errors.Is(err, tt.is) {
			t.Errorf("%s: error %v is not %v", tt.name, err, tt.is)
		}
	}
	// Nothing of the refused pages was written, records nor state.
	if n, _ := s.Count(ctx, "q", "host"); n != 10 {
		t.Errorf("Count = %d, want 10", n)
	}
	if st, _ := s.StreamState(ctx, "q", "host"); st != before {
		t.Errorf("state changed to %+v", st)
	}
	mustCheck(t, s)

	// DropType clears the way for the new layout.
	if err := s.DropType(ctx, "q", "host"); err != nil {
		t.Fatal(err)
	}
	if err := s.DropType(ctx, "q", "host"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second DropType = %v", err)
	}
	w := tests[3].w
	if _, err := s.WritePage(ctx, w); err != nil {
		t.Fatalf("write after DropType: %v", err)
	}
	mustCheck(t, s)
}

func TestCheckFindsDamage(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		damage func(tb *bolt.Bucket) error
		want   string
	}{
		{"missing index entry", func(tb *bolt.Bucket) error {
			return tb.Bucket(ixName(1)).Delete(indexKey(Number, testCells(7, 0)[1], testID(7)))
		}, testID(7)},
		{"orphan index entry", func(tb *bolt.Bucket) error {
			return tb.Bucket(ixName(2)).Put(indexKey(Time, "", "ghost"), nil)
		}, "ghost"},
		{"stale index entry", func(tb *bolt.Bucket) error {
			return tb.Bucket(ixName(0)).Put(indexKey(Text, "old name", testID(8)), nil)
		}, testID(8)},
		{"row without record", func(tb *bolt.Bucket) error {
			return tb.Bucket(bucketRec).Delete([]byte(testID(9)))
		}, testID(9)},
		{"wrong count", func(tb *bolt.Bucket) error {
			return tb.Bucket(bucketMeta).Put(keyCount, u64(3))
		}, "count"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			writeRecords(t, s, "q", "host", 1, 0, 20)
			mustCheck(t, s)
			if err := s.db.Update(func(tx *bolt.Tx) error { return tt.damage(typeBucket(tx, "q", "host")) }); err != nil {
				t.Fatal(err)
			}
			err := s.Check(ctx)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Check = %v, want an error naming %q", err, tt.want)
			}
		})
	}
}

// checkWindows compares Rows windows in every order with the model.
func checkWindows(t *testing.T, s *Store, m model, label string) {
	t.Helper()
	ctx := context.Background()
	const n = 50
	total := len(m)
	for col, kind := range testLayout.Columns {
		for _, desc := range []bool{false, true} {
			o := Order{Column: col, Desc: desc}
			want := m.order(o, nil)
			// Offsets in an order that exercises both filling and reusing anchors.
			offsets := []int{0, 1, total / 2, 255, 256, 257, 513, total - n, total - 10, total - 1, total, total + 100, 3}
			for _, off := range offsets {
				rows, err := s.Rows(ctx, "q", "host", o, off, n)
				if err != nil {
					t.Fatal(err)
				}
				lo, hi := min(off, total), min(off+n, total)
				var got []string
				for _, r := range rows {
					got = append(got, r.ID)
					if !slices.Equal(r.Cells, m[r.ID]) {
						t.Fatalf("%s: row %s cells %q, want %q", label, r.ID, r.Cells, m[r.ID])
					}
				}
				if !slices.Equal(got, want[lo:hi]) {
					t.Fatalf("%s: kind %d desc %v offset %d: got %v, want %v", label, kind, desc, off, got, want[lo:hi])
				}
			}
			ids, err := s.Match(ctx, "q", "host", o, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ids, want) {
				t.Fatalf("%s: Match(all) order differs from the model", label)
			}
		}
	}
}

func TestRowsWindows(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	const total = 1500
	m := model{}
	writeRecords(t, s, "q", "host", 1, 0, total)
	for i := range total {
		m[testID(i)] = testCells(i, 0)
	}
	checkWindows(t, s, m, "initial")
	checkWindows(t, s, m, "cached anchors")

	// Change a third of the records and add some at both ends of every
	// order: cached anchors must not be used for the new contents.
	var recs []Record
	for i := 0; i < total; i += 3 {
		r := testRecord(i, 2)
		recs = append(recs, r)
		m[r.ID] = r.Cells
	}
	for i := range 40 {
		r := Record{ID: fmt.Sprintf("new%03d", i), Raw: json.RawMessage(`{}`)}
		if i%2 == 0 {
			r.Cells = []string{"", "-999999", "1900-01-01T00:00:00Z"}
		} else {
			r.Cells = []string{"zzzz", "999999", "2200-01-01T00:00:00Z"}
		}
		recs = append(recs, r)
		m[r.ID] = r.Cells
	}
	if _, err := s.WritePage(ctx, PageWrite{Connector: "q", Type: "host", Layout: testLayout, Generation: 2, Records: recs}); err != nil {
		t.Fatal(err)
	}
	checkWindows(t, s, m, "after write")

	// And after a sweep deletes the unchanged ones.
	removed, err := s.Sweep(ctx, "q", "host", "", 2, StreamState{})
	if err != nil {
		t.Fatal(err)
	}
	if removed != total-total/3 {
		t.Fatalf("Sweep removed %d, want %d", removed, total-total/3)
	}
	for id := range m {
		if r, _ := s.Get(ctx, "q", "host", id); r.ID == "" {
			delete(m, id)
		}
	}
	checkWindows(t, s, m, "after sweep")
	mustCheck(t, s)

	// Unknown type, bad arguments.
	if rows, err := s.Rows(ctx, "q", "nope", Order{}, 0, 10); err != nil || len(rows) != 0 {
		t.Errorf("Rows(unknown type) = %v, %v", rows, err)
	}
	if _, err := s.Rows(ctx, "q", "host", Order{Column: 3}, 0, 10); err == nil {
		t.Error("Rows with column 3 succeeded")
	}
	if _, err := s.Rows(ctx, "q", "host", Order{}, -1, 10); err == nil {
		t.Error("Rows with negative offset succeeded")
	}
}

func TestMatchOrder(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	const total = 700
	m := model{}
	writeRecords(t, s, "q", "host", 1, 0, total)
	for i := range total {
		m[testID(i)] = testCells(i, 0)
	}
	preds := []struct {
		name string
		pred func([]string) bool
	}{
		{"web hosts", func(c []string) bool { return strings.HasPrefix(strings.ToLower(c[0]), "web") }},
		{"positive score", func(c []string) bool { n, err := strconv.Atoi(c[1]); return err == nil && n > 0 }},
		{"nothing", func([]string) bool { return false }},
	}
	for _, p := range preds {
		for col := range testLayout.Columns {
			for _, desc := range []bool{false, true} {
				o := Order{Column: col, Desc: desc}
				got, err := s.Match(ctx, "q", "host", o, p.pred)
				if err != nil {
					t.Fatal(err)
				}
				want := m.order(o, p.pred)
				if !slices.Equal(got, want) {
					t.Errorf("%s col %d desc %v: got %d ids, want %d (or order differs)", p.name, col, desc, len(got), len(want))
				}
			}
		}
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Match(cctx, "q", "host", Order{}, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("Match with cancelled ctx = %v", err)
	}
}

func TestGetRowsByIDEachTypes(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	writeRecords(t, s, "q", "host", 1, 0, 600)
	writeRecords(t, s, "q", "detection", 1, 0, 3)
	writeRecords(t, s, "q", "asset", 1, 0, 3)

	r, err := s.Get(ctx, "q", "host", testID(42))
	if err != nil {
		t.Fatal(err)
	}
	want := testRecord(42, 0)
	if r.ID != want.ID || !bytes.Equal(r.Raw, want.Raw) || !slices.Equal(r.Cells, want.Cells) {
		t.Errorf("Get = %+v, want %+v", r, want)
	}
	for _, c := range [][3]string{{"q", "host", "missing"}, {"q", "nope", testID(1)}, {"x", "host", testID(1)}} {
		if _, err := s.Get(ctx, c[0], c[1], c[2]); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get(%v) = %v, want ErrNotFound", c, err)
		}
	}

	rows, err := s.RowsByID(ctx, "q", "host", []string{testID(9), "missing", testID(1), testID(599)})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range rows {
		ids = append(ids, r.ID)
	}
	if !slices.Equal(ids, []string{testID(9), testID(1), testID(599)}) || !slices.Equal(rows[0].Cells, testCells(9, 0)) {
		t.Errorf("RowsByID = %v", rows)
	}

	var seen []string
	err = s.Each(ctx, "q", "host", func(r Record) error {
		seen = append(seen, r.ID)
		if !bytes.Equal(r.Raw, testRecord(len(seen)-1, 0).Raw) {
			return fmt.Errorf("record %s raw differs", r.ID)
		}
		// fn may use the store, even write.
		return s.PutStreamState(ctx, "q", "each", StreamState{NextPage: len(seen)})
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 600 || !slices.IsSorted(seen) || len(slices.Compact(slices.Clone(seen))) != 600 {
		t.Errorf("Each saw %d records", len(seen))
	}
	stop := errors.New("stop")
	n := 0
	if err := s.Each(ctx, "q", "host", func(Record) error { n++; return stop }); err != stop || n != 1 {
		t.Errorf("Each with failing fn = %v after %d calls", err, n)
	}

	types, err := s.Types(ctx, "q")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(types, []string{"asset", "detection", "host"}) {
		t.Errorf("Types = %v", types)
	}
}

func TestSweep(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	writeRecords(t, s, "q", "host", 1, 0, 2500)
	writeRecords(t, s, "q", "other", 1, 0, 100) // another type: untouched
	writeRecords(t, s, "q", "host", 2, 1500, 3000)
	final := StreamState{Phase: PhaseIdle, Generation: 2, LastSuccess: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}

	// Interrupt after the first chunk.
	cctx := &countdownCtx{Context: ctx}
	cctx.left.Store(1)
	removed, err := s.Sweep(cctx, "q", "host", "host", 2, final)
	if !errors.Is(err, context.Canceled) || removed != sweepChunk {
		t.Fatalf("interrupted Sweep = %d, %v; want %d, Canceled", removed, err, sweepChunk)
	}
	if st, _ := s.StreamState(ctx, "q", "host"); st == final {
		t.Fatal("interrupted sweep wrote the final state")
	}
	mustCheck(t, s)

	// Running it again finishes the job.
	removed, err = s.Sweep(ctx, "q", "host", "host", 2, final)
	if err != nil || removed != 500 {
		t.Fatalf("resumed Sweep = %d, %v; want 500", removed, err)
	}
	if st, _ := s.StreamState(ctx, "q", "host"); st != final {
		t.Fatalf("state after sweep = %+v, want %+v", st, final)
	}
	if n, _ := s.Count(ctx, "q", "host"); n != 1500 {
		t.Errorf("Count = %d, want 1500", n)
	}
	if n, _ := s.Count(ctx, "q", "other"); n != 100 {
		t.Errorf("Count(other) = %d, want 100", n)
	}
	var ids []string
	_ = s.Each(ctx, "q", "host", func(r Record) error { ids = append(ids, r.ID); return nil })
	if len(ids) != 1500 || ids[0] != testID(1500) || ids[1499] != testID(2999) {
		t.Errorf("remaining ids: %d, %v..%v", len(ids), ids[0], ids[len(ids)-1])
	}
	mustCheck(t, s)

	// Nothing left to sweep; an unknown type still gets its final state.
	if removed, err := s.Sweep(ctx, "q", "host", "host", 2, final); err != nil || removed != 0 {
		t.Errorf("second Sweep = %d, %v", removed, err)
	}
	if _, err := s.Sweep(ctx, "q", "never", "never", 5, final); err != nil {
		t.Fatal(err)
	}
	if st, _ := s.StreamState(ctx, "q", "never"); st != final {
		t.Errorf("state of never-written type = %+v", st)
	}
}

// countdownCtx reports cancellation once Err has been asked left times.
type countdownCtx struct {
	context.Context
	left atomic.Int32
}

func (c *countdownCtx) Err() error {
	if c.left.Add(-1) < 0 {
		return context.Canceled
	}
	return nil
}

func TestResumeInterruptedPull(t *testing.T) {
	ctx := context.Background()
	path := t.TempDir() + "/qtc.db"
	const pageSize, pages, k = 100, 12, 4
	// A previous full pull at generation 1 with some records that are gone now.
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	writeRecords(t, s, "q", "host", 1, 600, 1500)

	writePage := func(s *Store, p int) {
		var recs []Record
		for i := p * pageSize; i < (p+1)*pageSize; i++ {
			recs = append(recs, testRecord(i, 1))
		}
		st := StreamState{Phase: PhasePaging, Generation: 2, NextPage: p + 1}
		if p == pages-1 {
			st = StreamState{Phase: PhaseSweeping, Generation: 2}
		}
		if _, err := s.WritePage(ctx, PageWrite{Connector: "q", Type: "host", Layout: testLayout, Stream: "host",
			Generation: 2, Records: recs, State: st}); err != nil {
			t.Fatal(err)
		}
	}
	for p := 0; p <= k; p++ {
		writePage(s, p)
	}
	// A page that fails half-way leaves neither records nor cursor behind.
	bad := PageWrite{Connector: "q", Type: "host", Layout: testLayout, Stream: "host", Generation: 2,
		Records: []Record{testRecord(5000, 1), {ID: "broken"}}, State: StreamState{Phase: PhasePaging, Generation: 2, NextPage: 77}}
	if _, err := s.WritePage(ctx, bad); err == nil {
		t.Fatal("bad page accepted")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// "Restart": reopen, read the cursor, continue.
	s, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	st, err := s.StreamState(ctx, "q", "host")
	if err != nil {
		t.Fatal(err)
	}
	if st.Phase != PhasePaging || st.NextPage != k+1 || st.Generation != 2 {
		t.Fatalf("state after restart = %+v", st)
	}
	for p := st.NextPage; p < pages; p++ {
		writePage(s, p)
	}
	st, _ = s.StreamState(ctx, "q", "host")
	if st.Phase != PhaseSweeping {
		t.Fatalf("state before sweep = %+v", st)
	}
	removed, err := s.Sweep(ctx, "q", "host", "host", st.Generation, StreamState{Generation: st.Generation})
	if err != nil {
		t.Fatal(err)
	}
	if removed != 300 { // 1200..1499
		t.Errorf("Sweep removed %d, want 300", removed)
	}
	var ids []string
	err = s.Each(ctx, "q", "host", func(r Record) error {
		i, _ := strconv.Atoi(strings.TrimPrefix(r.ID, "h"))
		if !slices.Equal(r.Cells, testCells(i, 1)) {
			return fmt.Errorf("record %s has cells of the old pull", r.ID)
		}
		ids = append(ids, r.ID)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != pages*pageSize {
		t.Fatalf("got %d records, want %d", len(ids), pages*pageSize)
	}
	for i, id := range ids {
		if id != testID(i) {
			t.Fatalf("record %d is %s, want %s (loss or duplicate)", i, id, testID(i))
		}
	}
	if n, _ := s.Count(ctx, "q", "host"); n != pages*pageSize {
		t.Errorf("Count = %d", n)
	}
	mustCheck(t, s)
}

func TestConcurrentReadWrite(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	writeRecords(t, s, "q", "host", 1, 0, 1000)
	done := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for r := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				o := Order{Column: (r + i) % 3, Desc: i%2 == 0}
				rows, err := s.Rows(ctx, "q", "host", o, (i*97)%1100, 50)
				if err == nil && len(rows) > 50 {
					err = fmt.Errorf("%d rows", len(rows))
				}
				if err == nil && i%10 == 0 {
					_, err = s.Match(ctx, "q", "host", o, func(c []string) bool { return c[0] != "" })
				}
				if err == nil {
					_, err = s.Count(ctx, "q", "host")
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for v := 1; v <= 10; v++ {
		var recs []Record
		for i := v * 50; i < v*50+200; i++ {
			recs = append(recs, testRecord(i, v))
		}
		if _, err := s.WritePage(ctx, PageWrite{Connector: "q", Type: "host", Layout: testLayout, Stream: "host",
			Generation: uint64(v + 1), Records: recs}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Sweep(ctx, "q", "host", "host", 5, StreamState{}); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := s.MarkRemoved(ctx, "q", "host", "host", 9, at, StreamState{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutRecord(ctx, "q", "host", testLayout, testRecord(3, 3)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Purge(ctx, "q", "host", at.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	close(done)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	mustCheck(t, s)
}
