package store

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// blobCounts counts the type's records kept in rec, in recref and the blobs.
func blobCounts(t *testing.T, s *Store) (inRec, refs, blobs int) {
	t.Helper()
	err := s.db.View(func(tx *bolt.Tx) error {
		tb := typeBucket(tx, "q", "host")
		count := func(name []byte) int {
			b := tb.Bucket(name)
			if b == nil {
				return 0
			}
			return b.Stats().KeyN
		}
		inRec, refs, blobs = count(bucketRec), count(bucketRecRef), count(bucketBlob)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return inRec, refs, blobs
}

// TestStagedRecordsAreWrittenOnce: a merged staged pull points its records
// at the bytes it appended while staging, and every later write of a
// record (changed, unchanged, deleted, soft-deleted and back, purged)
// leaves no blob behind that nothing points at.
func TestStagedRecordsAreWrittenOnce(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	pages := stagePages()
	writeAll(t, s, pages, true)
	if _, err := s.MergeStaged(ctx, "q", "host"); err != nil {
		t.Fatal(err)
	}
	n, _ := s.Count(ctx, "q", "host")
	if inRec, refs, blobs := blobCounts(t, s); inRec != 0 || refs != n || blobs != n {
		t.Fatalf("after the merge: %d in rec, %d refs, %d blobs; want 0, %d, %d (superseded versions dropped)", inRec, refs, blobs, n, n)
	}
	mustCheck(t, s)
	before, _, _ := dump(t, s)

	// A delta: 10 records changed, 10 unchanged, 3 deleted, 2 soft-deleted,
	// one new record.
	var recs []Record
	for i := 10; i < 20; i++ {
		recs = append(recs, stageRec(i, 9))
	}
	for i := 20; i < 30; i++ {
		recs = append(recs, stageRec(i, 0))
	}
	recs = append(recs, stageRec(500, 0))
	del := []string{stageRec(0, 0).ID, stageRec(1, 0).ID, stageRec(2, 0).ID}
	soft := []string{stageRec(3, 0).ID, stageRec(4, 0).ID}
	st, err := s.WritePage(ctx, PageWrite{Connector: "q", Type: "host", Layout: testLayout, Generation: 2,
		Records: recs, Delete: del, SoftDelete: soft, RemovedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if st.Changed != 10 || st.Unchanged != 10 || st.Added != 1 || st.Deleted != 3 || st.SoftDeleted != 2 {
		t.Fatalf("delta stats %+v", st)
	}
	mustCheck(t, s)
	if inRec, refs, blobs := blobCounts(t, s); inRec != 11 || refs != n-13 || blobs != refs {
		t.Fatalf("after the delta: %d in rec, %d refs, %d blobs; want 11, %d, as many blobs as refs", inRec, refs, blobs, n-13)
	}
	for _, id := range []string{stageRec(10, 0).ID, stageRec(25, 0).ID, stageRec(3, 0).ID} {
		r, err := s.Get(ctx, "q", "host", id)
		if err != nil {
			t.Fatal(err)
		}
		var want []byte
		for _, b := range before {
			if b.ID == id {
				want = b.Raw
			}
		}
		if id == stageRec(10, 0).ID {
			want = stageRec(10, 9).Raw
		}
		if !bytes.Equal(r.Raw, want) {
			t.Errorf("record %s reads %s, want %s", id, r.Raw, want)
		}
	}
	// PutRecord over a record in a blob, then purge what is marked removed.
	if _, err := s.PutRecord(ctx, "q", "host", testLayout, stageRec(25, 7)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Purge(ctx, "q", "host", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	mustCheck(t, s)
	// Purged: the delta's two soft-deleted records and the pull's two
	// (45 and 50), all four in blobs.
	if inRec, refs, blobs := blobCounts(t, s); inRec != 12 || blobs != refs || refs != n-18 {
		t.Fatalf("after PutRecord and Purge: %d in rec, %d refs, %d blobs; want 12, %d", inRec, refs, blobs, n-18)
	}
}

// TestBlobsContinueAfterTheLast: a second staged pull (after the type was
// emptied) appends after the highest blob key, never over one in use.
func TestBlobsContinueAfterTheLast(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	writeAll(t, s, stagePages()[:1], true)
	if _, err := s.MergeStaged(ctx, "q", "host"); err != nil {
		t.Fatal(err)
	}
	// Empty the type but the last record, then stage another pull.
	var del []string
	for i := range 39 {
		del = append(del, stageRec(i, 0).ID)
	}
	if _, err := s.WritePage(ctx, PageWrite{Connector: "q", Type: "host", Layout: testLayout, Generation: 2, Delete: del}); err != nil {
		t.Fatal(err)
	}
	kept, err := s.Get(ctx, "q", "host", stageRec(39, 0).ID)
	if err != nil {
		t.Fatal(err)
	}
	writeAll(t, s, []PageWrite{{Records: []Record{stageRec(100, 0), stageRec(101, 0)}}}, true)
	if _, err := s.MergeStaged(ctx, "q", "host"); err != nil {
		t.Fatal(err)
	}
	mustCheck(t, s)
	if r, err := s.Get(ctx, "q", "host", kept.ID); err != nil || !bytes.Equal(r.Raw, kept.Raw) {
		t.Fatalf("record kept from the first pull reads %s, %v; want %s", r.Raw, err, kept.Raw)
	}
	if r, err := s.Get(ctx, "q", "host", stageRec(101, 0).ID); err != nil || !bytes.Equal(r.Raw, stageRec(101, 0).Raw) {
		t.Fatalf("record of the second pull reads %s, %v", r.Raw, err)
	}
}

// TestMergeStagedSchema2Entries: a stage written by schema 2 (bytes inline
// in the staged entry) still merges, into rec.
func TestMergeStagedSchema2Entries(t *testing.T) {
	ctx := context.Background()
	pages := stagePages()
	want := openTemp(t)
	writeAll(t, want, pages, false)
	wantRecs, _, _ := dump(t, want)

	s := openTemp(t)
	writeAll(t, s, pages, true)
	// Rewrite every staged put as schema 2 wrote it and drop the blobs.
	err := s.db.Update(func(tx *bolt.Tx) error {
		tb := typeBucket(tx, "q", "host")
		sb, bb := tb.Bucket(bucketStage), tb.Bucket(bucketBlob)
		c := sb.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			e, err := decodeStaged(v)
			if err != nil {
				return err
			}
			if e.op != stageBlobPut {
				continue
			}
			old := encodeStaged(stagePut, e.id, e.row, bb.Get(u64(e.blob)), 0)
			if err := sb.Put(bytes.Clone(k), old); err != nil {
				return err
			}
		}
		return tb.DeleteBucket(bucketBlob)
	})
	if err != nil {
		t.Fatal(err)
	}
	mustCheck(t, s)
	if _, err := s.MergeStaged(ctx, "q", "host"); err != nil {
		t.Fatal(err)
	}
	mustCheck(t, s)
	if recs, _, _ := dump(t, s); !reflect.DeepEqual(recs, wantRecs) {
		t.Errorf("merged schema 2 stage differs from direct writes:\n got %v\nwant %v", recs, wantRecs)
	}
	if inRec, refs, _ := blobCounts(t, s); inRec != len(wantRecs) || refs != 0 {
		t.Errorf("%d in rec, %d refs; want %d, 0", inRec, refs, len(wantRecs))
	}
}

// TestCheckFindsBlobDamage: each kind of damage to the blobs is named.
func TestCheckFindsBlobDamage(t *testing.T) {
	id := []byte(stageRec(3, 0).ID)
	for _, tc := range []struct {
		name   string
		damage func(tb *bolt.Bucket) error
		want   string
	}{
		{"blob gone", func(tb *bolt.Bucket) error {
			return tb.Bucket(bucketBlob).Delete(tb.Bucket(bucketRecRef).Get(id))
		}, fmt.Sprintf("record %q: record body missing", id)},
		{"blob nothing points at", func(tb *bolt.Bucket) error {
			return tb.Bucket(bucketBlob).Put(u64(1<<40), []byte(`{}`))
		}, fmt.Sprintf("blob %d is referenced by no record", uint64(1<<40))},
		{"bytes in rec and a blob", func(tb *bolt.Bucket) error {
			return tb.Bucket(bucketRec).Put(id, []byte(`{}`))
		}, fmt.Sprintf("record %q has both raw bytes and a blob reference", id)},
		{"malformed reference", func(tb *bolt.Bucket) error {
			return tb.Bucket(bucketRecRef).Put(id, []byte{1})
		}, fmt.Sprintf("record %q: malformed blob reference", id)},
		{"reference without a row", func(tb *bolt.Bucket) error {
			return tb.Bucket(bucketRecRef).Put([]byte("zz-no-row"), tb.Bucket(bucketRecRef).Get(id))
		}, `record "zz-no-row" has a blob reference but no row`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			s := openTemp(t)
			writeAll(t, s, stagePages(), true)
			if _, err := s.MergeStaged(ctx, "q", "host"); err != nil {
				t.Fatal(err)
			}
			mustCheck(t, s)
			if err := s.db.Update(func(tx *bolt.Tx) error { return tc.damage(typeBucket(tx, "q", "host")) }); err != nil {
				t.Fatal(err)
			}
			if err := s.Check(ctx); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Check = %v; want an error containing %q", err, tc.want)
			}
		})
	}
}

// TestMergeWithAWriterInBetween: a record put between two of a bulk
// merge's transactions (a change made through the API while a sync ends),
// or between the last one and the indexes, is indexed by its stored cells,
// not by the keys read from the stage.
func TestMergeWithAWriterInBetween(t *testing.T) {
	defer func(m int) { mergeChunk, afterMergeChunk = m, nil }(mergeChunk)
	mergeChunk = 7
	for _, tc := range []struct {
		name string
		at   func(call int, last bool) bool
	}{
		{"between two moves", func(call int, _ bool) bool { return call == 2 }},
		{"before the indexes", func(_ int, last bool) bool { return last }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			s := openTemp(t)
			writeAll(t, s, stagePages(), true)
			// The record with the lowest id is moved by the first transaction.
			first := 0
			for i := range 70 {
				if stageRec(i, 0).ID < stageRec(first, 0).ID && i != 5 {
					first = i
				}
			}
			changed := stageRec(first, 5)
			changed.Cells = []string{"renamed", "99", changed.Cells[2]}
			added := stageRec(900, 0)
			calls, wrote := 0, false
			afterMergeChunk = func(last bool) {
				if calls++; !wrote && tc.at(calls, last) {
					wrote = true
					for _, r := range []Record{changed, added} {
						if _, err := s.PutRecord(ctx, "q", "host", testLayout, r); err != nil {
							t.Error(err)
						}
					}
				}
			}
			if _, err := s.MergeStaged(ctx, "q", "host"); err != nil {
				t.Fatal(err)
			}
			if calls < 3 || !wrote {
				t.Fatalf("the merge took %d transactions (wrote: %v); the test needs a write between two", calls, wrote)
			}
			mustCheck(t, s)
			for _, r := range []Record{changed, added} {
				got, err := s.Get(ctx, "q", "host", r.ID)
				if err != nil || !reflect.DeepEqual(got.Cells, r.Cells) {
					t.Errorf("record %s: %v, %v; want cells %v", r.ID, got.Cells, err, r.Cells)
				}
			}
		})
	}
}

// TestCountGeneration counts the records a pull of one generation wrote:
// new ones, and unchanged ones it restamped.
func TestCountGeneration(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	write := func(gen uint64, from, to int) {
		t.Helper()
		var recs []Record
		for i := from; i < to; i++ {
			recs = append(recs, stageRec(i, 0))
		}
		if _, err := s.WritePage(ctx, PageWrite{Connector: "q", Type: "host", Layout: testLayout, Generation: gen, Records: recs}); err != nil {
			t.Fatal(err)
		}
	}
	write(1, 0, 30)
	write(2, 10, 25) // 15 restamped
	write(2, 40, 45) // 5 new
	for _, tc := range []struct {
		gen  uint64
		want int
	}{{1, 15}, {2, 20}, {3, 0}} {
		if n, err := s.CountGeneration(ctx, "q", "host", tc.gen); err != nil || n != tc.want {
			t.Errorf("CountGeneration(%d) = %d, %v; want %d", tc.gen, n, err, tc.want)
		}
	}
	if n, err := s.CountGeneration(ctx, "q", "absent", 1); err != nil || n != 0 {
		t.Errorf("CountGeneration of an absent type = %d, %v", n, err)
	}
}

// TestIndexRebuildWithAWriterInBetween: a record put between two of the
// index rebuild's transactions makes it start over from the rows (once, or
// every time: then it rebuilds in one transaction), so no index entry is
// stale.
func TestIndexRebuildWithAWriterInBetween(t *testing.T) {
	defer func(n int) { indexChunk, afterIndexChunk = n, nil }(indexChunk)
	indexChunk = 5
	for _, every := range []bool{false, true} {
		t.Run(fmt.Sprintf("every transaction %v", every), func(t *testing.T) {
			ctx := context.Background()
			s := openTemp(t)
			writeAll(t, s, stagePages(), true)
			calls, writes := 0, 0
			afterIndexChunk = func() {
				if calls++; calls == 3 || every {
					writes++
					r := stageRec(20+writes%10, writes)
					r.Cells = []string{fmt.Sprintf("renamed-%d", writes), "98", r.Cells[2]}
					if _, err := s.PutRecord(ctx, "q", "host", testLayout, r); err != nil {
						t.Error(err)
					}
				}
			}
			if _, err := s.MergeStaged(ctx, "q", "host"); err != nil {
				t.Fatal(err)
			}
			afterIndexChunk = nil
			if writes == 0 {
				t.Fatal("nothing was written between the rebuild's transactions")
			}
			mustCheck(t, s)
			rows, err := s.Rows(ctx, "q", "host", Order{Column: 0}, 0, 200)
			if err != nil {
				t.Fatal(err)
			}
			renamed := 0
			for _, r := range rows {
				if strings.HasPrefix(r.Cells[0], "renamed-") {
					renamed++
				}
			}
			if renamed == 0 {
				t.Error("no renamed record in the window ordered by the first column")
			}
		})
	}
}
