package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
	"time"
)

// stageRec is a record of the staging tests; v changes its bytes.
func stageRec(i, v int) Record {
	id := fmt.Sprintf("%08x", uint32(i)*2654435761) // random order
	return Record{ID: id, Raw: []byte(fmt.Sprintf(`{"id":%q,"v":%d}`, id, v)),
		Cells: []string{"name-" + strconv.Itoa((i*7)%13), strconv.Itoa(i % 17), time.Unix(int64(1e9+i*60), 0).UTC().Format(time.RFC3339)}}
}

// stagePages are the pages of a pull with everything a merge must get
// right: records repeated (the last version wins), deleted and added
// again, deleted for good, soft-deleted after being written.
func stagePages() []PageWrite {
	var pages []PageWrite
	add := func(recs []Record, del, soft []string) {
		pages = append(pages, PageWrite{Records: recs, Delete: del, SoftDelete: soft})
	}
	var p1, p2, p3 []Record
	for i := range 40 {
		p1 = append(p1, stageRec(i, 0))
	}
	for i := 30; i < 70; i++ {
		p2 = append(p2, stageRec(i, 1)) // 30..39 again, changed
	}
	add(p1, nil, nil)
	add(p2, []string{stageRec(5, 0).ID, stageRec(6, 0).ID}, []string{stageRec(7, 0).ID, stageRec(45, 0).ID, "unknown"})
	for i := 6; i < 8; i++ {
		p3 = append(p3, stageRec(i, 2)) // 6: deleted then back; 7: soft-deleted then back
	}
	add(p3, nil, []string{stageRec(50, 0).ID})
	return pages
}

// writeAll writes pages to connector "q", type "host", staged or not.
func writeAll(t *testing.T, s *Store, pages []PageWrite, stage bool) {
	t.Helper()
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for i, p := range pages {
		p.Connector, p.Type, p.Layout, p.Stream, p.Generation, p.Stage = "q", "host", testLayout, "host", 1, stage
		p.RemovedAt = at
		p.State = StreamState{Phase: PhasePaging, Generation: 1, NextPage: i + 1, Staged: stage}
		if _, err := s.WritePage(context.Background(), p); err != nil {
			t.Fatal(err)
		}
	}
}

// dump is everything a reader can see of the type.
func dump(t *testing.T, s *Store) (recs []Record, count, removed int) {
	t.Helper()
	ctx := context.Background()
	if err := s.Each(ctx, "q", "host", func(r Record) error {
		recs = append(recs, r)
		return nil
	}); err != nil && !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	count, _ = s.Count(ctx, "q", "host")
	removed, _ = s.CountRemoved(ctx, "q", "host")
	return recs, count, removed
}

func openTemp(t *testing.T) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "qtc.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestMergeStagedEqualsDirectWrites(t *testing.T) {
	defer func(m, i int) { mergeChunk, indexChunk = m, i }(mergeChunk, indexChunk)
	mergeChunk, indexChunk = 7, 11 // many transactions
	pages := stagePages()
	want := openTemp(t)
	writeAll(t, want, pages, false)
	wantRecs, wantN, wantRemoved := dump(t, want)
	if wantN == 0 || wantRemoved == 0 {
		t.Fatalf("fixture: %d records, %d removed", wantN, wantRemoved)
	}

	for _, tc := range []struct {
		name string
		// before writes records into the type before the staged pull (a
		// staged pull of a type that is not empty merges record by record).
		before bool
		// interrupt cancels the first merge after this many context checks
		// (0: no interruption).
		interrupt int32
	}{
		{"empty type", false, 0},
		{"type with records", true, 0},
		{"merge interrupted in the records", false, 2},
		{"merge interrupted in the indexes", false, 12},
		{"merge of a type with records interrupted", true, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			s := openTemp(t)
			if tc.before {
				writeAll(t, s, pages[:1], false)
			}
			writeAll(t, s, pages, true)
			if ok, err := s.HasStaged(ctx, "q", "host"); err != nil || !ok {
				t.Fatalf("HasStaged = %v, %v; want true", ok, err)
			}
			if err := s.Check(ctx); err != nil {
				t.Fatalf("check while staged: %v", err)
			}
			if tc.interrupt > 0 {
				cc := &countdownCtx{Context: ctx}
				cc.left.Store(tc.interrupt)
				if _, err := s.MergeStaged(cc, "q", "host"); !errors.Is(err, context.Canceled) {
					t.Fatalf("interrupted merge: %v", err)
				}
				if err := s.Check(ctx); err != nil {
					t.Fatalf("check after an interrupted merge: %v", err)
				}
				if ok, _ := s.HasStaged(ctx, "q", "host"); !ok {
					t.Fatal("an interrupted merge left nothing to finish")
				}
			}
			n, err := s.MergeStaged(ctx, "q", "host")
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Check(ctx); err != nil {
				t.Fatalf("check after merge: %v", err)
			}
			recs, count, removed := dump(t, s)
			if n != wantN || count != wantN || removed != wantRemoved {
				t.Errorf("merged %d, count %d, removed %d; direct writes: %d, %d", n, count, removed, wantN, wantRemoved)
			}
			if !reflect.DeepEqual(recs, wantRecs) {
				t.Errorf("records differ from direct writes:\n got %v\nwant %v", recs, wantRecs)
			}
			if ok, _ := s.HasStaged(ctx, "q", "host"); ok {
				t.Error("stage left after the merge")
			}
			// The indexes order a window like direct writes do.
			for col := range testLayout.Columns {
				got, err1 := s.Rows(ctx, "q", "host", Order{Column: col}, 0, 100)
				exp, err2 := want.Rows(ctx, "q", "host", Order{Column: col}, 0, 100)
				if err1 != nil || err2 != nil || !reflect.DeepEqual(got, exp) {
					t.Errorf("column %d window differs (%v, %v)", col, err1, err2)
				}
			}
		})
	}
}

func TestMergeStagedNothingStaged(t *testing.T) {
	s := openTemp(t)
	writeAll(t, s, stagePages()[:1], false)
	n, err := s.MergeStaged(context.Background(), "q", "host")
	if err != nil || n != 40 {
		t.Fatalf("MergeStaged with nothing staged = %d, %v; want 40, nil", n, err)
	}
	if n, err := s.MergeStaged(context.Background(), "q", "absent"); err != nil || n != 0 {
		t.Fatalf("MergeStaged of an absent type = %d, %v", n, err)
	}
}

func TestDecodeStagedRefusesDamage(t *testing.T) {
	good := encodeStaged(stagePut, []byte("id"), encodeRow(1, 0, []string{"a"}), []byte(`{}`), 0)
	for _, v := range [][]byte{nil, {'x'}, {stagePut}, good[:3], {stageDelete, 5, 'a'}, {stageSoftDelete, 1, 'a', 0}, append([]byte{stageDelete, 1, 'a'}, 'z')} {
		if _, err := decodeStaged(v); err == nil {
			t.Errorf("decodeStaged(%q) accepted damage", v)
		}
	}
	if e, err := decodeStaged(good); err != nil || string(e.id) != "id" || string(e.raw) != `{}` {
		t.Errorf("decodeStaged(good) = %+v, %v", e, err)
	}
	row := encodeRow(1, 0, []string{"a"})
	blob := encodeStaged(stageBlobPut, []byte("id"), row, nil, 7)
	for _, v := range [][]byte{blob[:len(blob)-1], append(blob, 0), encodeStaged(stageBlobPut, []byte("id"), row, nil, 0)} {
		if _, err := decodeStaged(v); err == nil {
			t.Errorf("decodeStaged(%q) accepted a damaged blob put", v)
		}
	}
	if e, err := decodeStaged(blob); err != nil || string(e.id) != "id" || e.blob != 7 || e.raw != nil || string(e.row) != string(row) {
		t.Errorf("decodeStaged(blob put) = %+v, %v", e, err)
	}
}

// TestCloseStoresTheFreePageList: commits skip the free page list, Close
// stores it, so the next open reads it instead of walking the file.
func TestCloseStoresTheFreePageList(t *testing.T) {
	path := filepath.Join(t.TempDir(), "qtc.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	writeAll(t, s, stagePages(), false)
	newest := func() boltMeta {
		t.Helper()
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		m0, ok0 := parseBoltMeta(data)
		m1, ok1 := parseBoltMeta(data[m0.pageSize:])
		if !ok0 || (ok1 && m1.txid > m0.txid) {
			return m1
		}
		return m0
	}
	const noFreelist = ^uint64(0) // bbolt's pgidNoFreelist
	if m := newest(); m.freelist != noFreelist {
		t.Fatalf("before Close the newest meta names free list page %d; commits were expected to skip it", m.freelist)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if m := newest(); m.freelist == noFreelist || m.freelist >= m.pgid {
		t.Errorf("after Close the newest meta names free list page %d (of %d pages): want the stored list", m.freelist, m.pgid)
	}
	s, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
}
