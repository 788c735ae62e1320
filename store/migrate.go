package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// migrateChunk is the most rows one migration transaction rewrites.
const migrateChunk = 1000

// mig2Cursor prefixes the "mig2" value, so that "not started" (the prefix
// alone) is a non-empty value distinct from "no migration" (no key).
const mig2Cursor = '>'

// typeRef names one record type.
type typeRef struct{ connector, typ string }

// allTypes lists every record type of every connector.
func allTypes(tx *bolt.Tx) []typeRef {
	var out []typeRef
	_ = tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
		if !bytes.HasPrefix(name, []byte(connectorPrefix)) {
			return nil
		}
		conn := string(name[len(connectorPrefix):])
		c := tx.Bucket(name).Cursor()
		prefix := []byte(typePrefix)
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			if v == nil {
				out = append(out, typeRef{conn, string(k[len(prefix):])})
			}
		}
		return nil
	})
	return out
}

// migrateRowsV2 migrates schema 1 to 2: it inserts a zero removed mark into
// every row value and adds the removed (0) and maxgen counters to every
// type's meta bucket.
//
// Its first transaction stores schema 2, meta "migrating" = 2 and, in every
// type's meta bucket, "mig2" = the conversion cursor (nothing converted
// yet). Then each transaction converts up to 1000 rows of the first type
// that still has a cursor, after the cursor, and advances the cursor in the
// same transaction (deleting it once the type is done); the one that
// finishes the last type deletes "migrating". Each row is therefore
// converted exactly once however often the migration is interrupted (ctx,
// a crash) and run again: running it again resumes at the committed cursors,
// and on a finished store (schema 2, no "migrating") it does nothing.
func migrateRowsV2(ctx context.Context, db *bolt.DB) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	work := false
	err := db.Update(func(tx *bolt.Tx) error {
		mb, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		if v := mb.Get(keyMigrating); v != nil {
			work = true // started before: resume
			return nil
		}
		switch v := mb.Get(keySchema); {
		case len(v) == 8 && binary.BigEndian.Uint64(v) >= 2:
			return nil // finished before
		case len(v) != 8 || binary.BigEndian.Uint64(v) != 1:
			return fmt.Errorf("schema is %x, want 1", v)
		}
		types := allTypes(tx)
		for _, r := range types {
			m := typeBucket(tx, r.connector, r.typ).Bucket(bucketMeta)
			if m == nil {
				return fmt.Errorf("type %s/%s has no meta bucket", r.connector, r.typ)
			}
			if err := m.Put(keyMig2, []byte{mig2Cursor}); err != nil {
				return err
			}
		}
		if err := mb.Put(keySchema, u64(2)); err != nil {
			return err
		}
		if len(types) == 0 {
			return nil
		}
		work = true
		return mb.Put(keyMigrating, u64(2))
	})
	if err != nil {
		return err
	}
	for done := !work; !done; {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := db.Update(func(tx *bolt.Tx) error {
			done = false
			mb := tx.Bucket(bucketMeta)
			if mb == nil || mb.Get(keyMigrating) == nil {
				done = true
				return nil
			}
			var pending []typeRef
			for _, r := range allTypes(tx) {
				if typeBucket(tx, r.connector, r.typ).Bucket(bucketMeta).Get(keyMig2) != nil {
					pending = append(pending, r)
				}
			}
			if len(pending) > 0 {
				finished, err := migrateTypeChunk(tx, pending[0])
				if err != nil {
					return fmt.Errorf("type %s/%s: %w", pending[0].connector, pending[0].typ, err)
				}
				if !finished || len(pending) > 1 {
					return nil
				}
			}
			done = true
			return mb.Delete(keyMigrating)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// migrateTypeChunk converts up to migrateChunk rows of one type after its
// cursor and advances (or, at the end, deletes) the cursor. It reports
// whether the type is done.
func migrateTypeChunk(tx *bolt.Tx, r typeRef) (bool, error) {
	tb := typeBucket(tx, r.connector, r.typ)
	m, rows := tb.Bucket(bucketMeta), tb.Bucket(bucketRow)
	if rows == nil {
		return false, fmt.Errorf("no row bucket")
	}
	cur := m.Get(keyMig2)
	if len(cur) == 0 || cur[0] != mig2Cursor {
		return false, fmt.Errorf("bad migration cursor %q", cur)
	}
	after := bytes.Clone(cur[1:])

	type conv struct{ k, v []byte }
	var convs []conv
	maxGen := metaU64(m, keyMaxGen)
	c := rows.Cursor()
	var k, v []byte
	if len(after) == 0 {
		k, v = c.First()
	} else if k, v = c.Seek(after); k != nil && bytes.Equal(k, after) {
		k, v = c.Next()
	}
	for ; k != nil && len(convs) < migrateChunk; k, v = c.Next() {
		nv, err := rowV1ToV2(v)
		if err != nil {
			return false, fmt.Errorf("record %q: %w", k, err)
		}
		maxGen = max(maxGen, binary.BigEndian.Uint64(nv))
		convs = append(convs, conv{bytes.Clone(k), nv})
	}
	finished := k == nil
	for _, cv := range convs {
		if err := rows.Put(cv.k, cv.v); err != nil {
			return false, err
		}
	}
	if err := m.Put(keyMaxGen, u64(maxGen)); err != nil {
		return false, err
	}
	if err := m.Put(keyRemoved, u64(0)); err != nil { // schema 1 had no marks
		return false, err
	}
	if finished {
		return true, m.Delete(keyMig2)
	}
	last := convs[len(convs)-1].k
	return false, m.Put(keyMig2, append([]byte{mig2Cursor}, last...))
}
