package store

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The fixture testdata/schema1.db.gz is a store written by the schema 1
// code (commit e8636cf) with testdata/schema1_gen.go.txt, then compacted:
//
//	connector q (settings url=https://q), one finished run
//	q/host   records 0..1199 variant 0 at generation 1,
//	         records 1200..2299 variant 1 at generation 2;
//	         stream "host" = {Generation: 2, LastSuccess: fixtureTime}
//	q/asset  records 0..29 variant 0 at generation 1
//	e/user   records 0..4 variant 0 at generation 3
var fixtureTime = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// schema1Fixture copies the schema 1 fixture to a temporary store path.
func schema1Fixture(t testing.TB) string {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "schema1.db.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "qtc.db")
	out, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, zr); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// rawMeta reads the top-level meta keys and every type's migration cursor
// of a store file without going through Open.
func rawMeta(t *testing.T, path string) (schema, migrating uint64, cursors map[string]string) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cursors = map[string]string{}
	err = db.View(func(tx *bolt.Tx) error {
		mb := tx.Bucket(bucketMeta)
		schema = metaU64(mb, keySchema)
		migrating = metaU64(mb, keyMigrating)
		for _, r := range allTypes(tx) {
			name := r.connector + "/" + r.typ
			if v := typeBucket(tx, r.connector, r.typ).Bucket(bucketMeta).Get(keyMig2); v != nil {
				cursors[name] = string(v)
			} else {
				cursors[name] = "done"
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return schema, migrating, cursors
}

// verifyFixture checks that s holds exactly the fixture's contents, every
// record present, with working indexes and counters.
func verifyFixture(t *testing.T, s *Store) {
	t.Helper()
	ctx := context.Background()
	c, err := s.Connector(ctx, "q")
	if err != nil || c.Settings["url"] != "https://q" || !c.CreatedAt.Equal(fixtureTime) {
		t.Fatalf("Connector(q) = %+v, %v", c, err)
	}
	if st, _ := s.StreamState(ctx, "q", "host"); st != (StreamState{Generation: 2, LastSuccess: fixtureTime}) {
		t.Errorf("stream host = %+v", st)
	}
	if runs, _ := s.Runs(ctx, "q", 0); len(runs) != 1 || runs[0].State != "Processed" {
		t.Errorf("runs = %+v", runs)
	}
	for _, tc := range []struct {
		conn, typ string
		n         int
	}{{"q", "host", 2300}, {"q", "asset", 30}, {"e", "user", 5}} {
		if n, err := s.Count(ctx, tc.conn, tc.typ); err != nil || n != tc.n {
			t.Errorf("Count(%s/%s) = %d, %v; want %d", tc.conn, tc.typ, n, err, tc.n)
		}
		if n, err := s.CountRemoved(ctx, tc.conn, tc.typ); err != nil || n != 0 {
			t.Errorf("CountRemoved(%s/%s) = %d, %v", tc.conn, tc.typ, n, err)
		}
	}
	variant := func(i int) int {
		if i < 1200 {
			return 0
		}
		return 1
	}
	m := model{}
	i := 0
	err = s.Each(ctx, "q", "host", func(r Record) error {
		want := testRecord(i, variant(i))
		if r.ID != want.ID || !bytes.Equal(r.Raw, want.Raw) || !slices.Equal(r.Cells, want.Cells) || !r.Removed.IsZero() {
			return fmt.Errorf("record %d = %+v, want %+v", i, r, want)
		}
		m[r.ID] = r.Cells
		i++
		return nil
	})
	if err != nil || i != 2300 {
		t.Fatalf("Each: %d records, %v", i, err)
	}
	checkWindows(t, s, m, "migrated")
	rows, err := s.RowsByID(ctx, "e", "user", []string{testID(4)})
	if err != nil || len(rows) != 1 || !slices.Equal(rows[0].Cells, testCells(4, 0)) || !rows[0].Removed.IsZero() {
		t.Errorf("RowsByID(e/user) = %+v, %v", rows, err)
	}
	mustCheck(t, s)
	// Generations survived: 0..1199 are at 1, 1200.. at 2, the highest is 2.
	if g0, g1 := rowGen(t, s, testID(0)), rowGen(t, s, testID(1200)); g0 != 1 || g1 != 2 {
		t.Errorf("generations %d, %d; want 1, 2", g0, g1)
	}
	_ = s.db.View(func(tx *bolt.Tx) error {
		if g := metaU64(typeBucket(tx, "q", "host").Bucket(bucketMeta), keyMaxGen); g != 2 {
			t.Errorf("maxgen of q/host = %d, want 2", g)
		}
		if g := metaU64(typeBucket(tx, "e", "user").Bucket(bucketMeta), keyMaxGen); g != 3 {
			t.Errorf("maxgen of e/user = %d, want 3", g)
		}
		return nil
	})
}

// dumpRows returns every row value of every type, keyed "conn/typ/id".
func dumpRows(t *testing.T, db *bolt.DB) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := db.View(func(tx *bolt.Tx) error {
		for _, r := range allTypes(tx) {
			err := typeBucket(tx, r.connector, r.typ).Bucket(bucketRow).ForEach(func(k, v []byte) error {
				out[r.connector+"/"+r.typ+"/"+string(k)] = string(v)
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestMigrateSchema1(t *testing.T) {
	ctx := context.Background()
	path := schema1Fixture(t)
	if schema, migrating, _ := rawMeta(t, path); schema != 1 || migrating != 0 {
		t.Fatalf("fixture at schema %d (migrating %d), want 1", schema, migrating)
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	// A read-only open refuses and leaves the file alone.
	if _, err := Open(path, Options{ReadOnly: true}); err == nil || !strings.Contains(err.Error(), "needs migrating") {
		t.Fatalf("read-only Open = %v", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Fatal("read-only Open modified the file")
	}

	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	verifyFixture(t, s)
	if schema, migrating, cursors := rawMetaOpen(t, s); schema != SchemaVersion || migrating != 0 || len(cursors) != 0 {
		t.Fatalf("after migration: schema %d, migrating %d, cursors %v", schema, migrating, cursors)
	}

	// Idempotent: running the migration again changes nothing.
	rows := dumpRows(t, s.db)
	if err := migrateRowsV2(ctx, s.db); err != nil {
		t.Fatalf("second migration: %v", err)
	}
	if again := dumpRows(t, s.db); len(again) != 2335 || fmt.Sprint(again) != fmt.Sprint(rows) {
		t.Fatalf("second migration changed rows (%d rows)", len(again))
	}

	// The migrated store works: a baseline at generation 2 marks the
	// records of generation 1; a record put now survives it.
	if _, err := s.PutRecord(ctx, "q", "host", testLayout, testRecord(5000, 0)); err != nil {
		t.Fatal(err)
	}
	if n, err := s.MarkRemoved(ctx, "q", "host", "host", 2, t1, StreamState{Generation: 2}); err != nil || n != 1200 {
		t.Fatalf("MarkRemoved = %d, %v; want 1200", n, err)
	}
	if r, _ := s.Get(ctx, "q", "host", testID(5000)); !r.Removed.IsZero() {
		t.Error("record put after the migration was marked removed")
	}
	mustCheck(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Reopening (read-write and read-only) needs no migration.
	for _, ro := range []bool{false, true} {
		s, err := Open(path, Options{ReadOnly: ro})
		if err != nil {
			t.Fatalf("reopen (read-only %v): %v", ro, err)
		}
		if n, _ := s.CountRemoved(ctx, "q", "host"); n != 1200 {
			t.Errorf("reopen: CountRemoved = %d", n)
		}
		mustCheck(t, s)
		s.Close()
	}
}

// rawMetaOpen is rawMeta through an open store.
func rawMetaOpen(t *testing.T, s *Store) (schema, migrating uint64, cursors map[string]string) {
	t.Helper()
	cursors = map[string]string{}
	_ = s.db.View(func(tx *bolt.Tx) error {
		mb := tx.Bucket(bucketMeta)
		schema, migrating = metaU64(mb, keySchema), metaU64(mb, keyMigrating)
		for _, r := range allTypes(tx) {
			if v := typeBucket(tx, r.connector, r.typ).Bucket(bucketMeta).Get(keyMig2); v != nil {
				cursors[r.connector+"/"+r.typ] = string(v)
			}
		}
		return nil
	})
	return schema, migrating, cursors
}

func TestMigrateSchema1Interrupted(t *testing.T) {
	path := schema1Fixture(t)

	// Cancelled before anything: still schema 1.
	cctx := &countdownCtx{Context: context.Background()}
	if _, err := OpenContext(cctx, path, Options{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("OpenContext(cancelled) = %v", err)
	}
	if schema, migrating, _ := rawMeta(t, path); schema != 1 || migrating != 0 {
		t.Fatalf("cancelled before the start: schema %d, migrating %d", schema, migrating)
	}

	// Each open is interrupted after one chunk transaction; the next one
	// resumes where it stopped. Types are converted one at a time, in
	// bucket order: e/user, q/asset, q/host (1000 rows per transaction).
	want := []map[string]string{
		{"e/user": "done", "q/asset": ">", "q/host": ">"},
		{"e/user": "done", "q/asset": "done", "q/host": ">"},
		{"e/user": "done", "q/asset": "done", "q/host": ">" + testID(999)},
		{"e/user": "done", "q/asset": "done", "q/host": ">" + testID(1999)},
	}
	// The open after the last chunk is interrupted too, at the next
	// migration (2 -> 3, one transaction): schema 2, nothing migrating.
	var s *Store
	for attempt := 0; ; attempt++ {
		if attempt > len(want)+1 {
			t.Fatal("migration does not finish")
		}
		cctx := &countdownCtx{Context: context.Background()}
		cctx.left.Store(2) // the start transaction and one chunk
		var err error
		if s, err = OpenContext(cctx, path, Options{}); err == nil {
			if attempt != len(want)+1 {
				t.Fatalf("migration finished after %d interruptions, want %d", attempt, len(want)+1)
			}
			break
		}
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("attempt %d: %v", attempt, err)
		}
		schema, migrating, cursors := rawMeta(t, path)
		if attempt == len(want) {
			done := map[string]string{"e/user": "done", "q/asset": "done", "q/host": "done"}
			if schema != 2 || migrating != 0 || fmt.Sprint(cursors) != fmt.Sprint(done) {
				t.Fatalf("attempt %d: schema %d, migrating %d, cursors %v; want 2, 0, %v", attempt, schema, migrating, cursors, done)
			}
			continue
		}
		// An older qtc refuses the file (schema above 1) rather than
		// misreading the converted rows.
		if schema != 2 || migrating != 2 {
			t.Fatalf("attempt %d: schema %d, migrating %d; want 2, 2", attempt, schema, migrating)
		}
		if attempt < len(want) && fmt.Sprint(cursors) != fmt.Sprint(want[attempt]) {
			t.Fatalf("attempt %d: cursors %v, want %v", attempt, cursors, want[attempt])
		}
		if _, err := Open(path, Options{ReadOnly: true}); err == nil || !strings.Contains(err.Error(), "unfinished migration") {
			t.Fatalf("attempt %d: read-only Open = %v", attempt, err)
		}
	}
	defer s.Close()
	verifyFixture(t, s)
}

// downgradeToV1 rewrites a closed store of this schema (without removed
// marks) into the schema 1 layout, as the schema 1 code wrote it.
func downgradeToV1(t testing.TB, path string) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, FreelistType: bolt.FreelistMapType, NoFreelistSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var types []typeRef
	_ = db.View(func(tx *bolt.Tx) error { types = allTypes(tx); return nil })
	for _, r := range types {
		var after []byte
		for done := false; !done; {
			err := db.Update(func(tx *bolt.Tx) error {
				tb := typeBucket(tx, r.connector, r.typ)
				rows := tb.Bucket(bucketRow)
				c := rows.Cursor()
				k, v := c.First()
				if after != nil {
					if k, v = c.Seek(after); bytes.Equal(k, after) {
						k, v = c.Next()
					}
				}
				type kv struct{ k, v []byte }
				var batch []kv
				for ; k != nil && len(batch) < 5000; k, v = c.Next() {
					if binary.BigEndian.Uint64(v[8:]) != 0 {
						return fmt.Errorf("record %q is marked removed", k)
					}
					batch = append(batch, kv{bytes.Clone(k), append(bytes.Clone(v[:8]), v[rowHeader:]...)})
				}
				done = k == nil
				for _, e := range batch {
					if err := rows.Put(e.k, e.v); err != nil {
						return err
					}
				}
				if len(batch) > 0 {
					after = batch[len(batch)-1].k
				}
				if done {
					m := tb.Bucket(bucketMeta)
					if err := m.Delete(keyRemoved); err != nil {
						return err
					}
					return m.Delete(keyMaxGen)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keySchema, u64(1)) }); err != nil {
		t.Fatal(err)
	}
}

func TestMigrateRoundTrip(t *testing.T) {
	// A store written now, taken back to schema 1 and migrated again, holds
	// the same row bytes.
	ctx := context.Background()
	s := newStore(t)
	writeRecords(t, s, "q", "host", 4, 0, 2100)
	writeRecords(t, s, "q", "host", 7, 1000, 1200)
	path := s.Path()
	rows := dumpRows(t, s.db)
	s.Close()
	downgradeToV1(t, path)
	if schema, _, _ := rawMeta(t, path); schema != 1 {
		t.Fatalf("downgraded to %d", schema)
	}
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if again := dumpRows(t, s.db); len(again) != 2100 || fmt.Sprint(again) != fmt.Sprint(rows) {
		t.Fatal("rows differ after the round trip")
	}
	mustCheck(t, s)
	if n, err := s.Sweep(ctx, "q", "host", "", 7, StreamState{}); err != nil || n != 1900 {
		t.Fatalf("Sweep(7) = %d, %v", n, err)
	}
}
