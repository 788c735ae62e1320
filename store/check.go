package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Check verifies the record indexes of every connector and type: each
// record has a row with one cell per column and, in every column, exactly
// the index entry its cells call for; every row has its record; no index
// entry points at a missing row or disagrees with it; the stored count of
// records and of records marked removed are right; no row has a generation
// above the type's highest stamped one; no migration is unfinished. It
// returns an error naming the first bad record, or nil. It reads one
// snapshot and never writes.
func (s *Store) Check(ctx context.Context) error {
	return s.db.View(func(tx *bolt.Tx) error {
		if mb := tx.Bucket(bucketMeta); mb != nil && mb.Get(keyMigrating) != nil {
			return fmt.Errorf("check: unfinished migration to schema %d", metaU64(mb, keyMigrating))
		}
		var conns []string
		err := tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
			if bytes.HasPrefix(name, []byte(connectorPrefix)) {
				conns = append(conns, string(name[len(connectorPrefix):]))
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, conn := range conns {
			cb := connBucket(tx, conn)
			var types []string
			c := cb.Cursor()
			prefix := []byte(typePrefix)
			for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
				if v == nil {
					types = append(types, string(k[len(prefix):]))
				}
			}
			for _, typ := range types {
				if err := checkType(ctx, cb.Bucket([]byte(typePrefix+typ)), typ); err != nil {
					return fmt.Errorf("check %s/%s: %w", conn, typ, err)
				}
			}
			if err := checkLinks(tx, conn); err != nil {
				return fmt.Errorf("check %s links: %w", conn, err)
			}
		}
		return nil
	})
}

// checkType verifies one type bucket (see Check).
func checkType(ctx context.Context, tb *bolt.Bucket, typ string) error {
	t, err := loadType(tb, typ)
	if err != nil {
		return err
	}
	cols := t.layout.Columns
	if v := t.meta.Get(keyMig2); v != nil {
		return fmt.Errorf("unfinished schema 2 migration (at %q)", v)
	}
	// A merge building the indexes (see MergeStaged) leaves them
	// incomplete until it ends; staged records must decode.
	indexed := t.meta.Get(keyIndexPending) == nil
	n := 0
	tick := func() error {
		if n++; n%4096 == 0 {
			return ctx.Err()
		}
		return nil
	}
	refs, err := checkBlobs(tb, t, tick)
	if err != nil {
		return err
	}

	// rows -> records and index entries
	rows, removed := 0, 0
	maxGen := metaU64(t.meta, keyMaxGen)
	c := t.row.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if err := tick(); err != nil {
			return err
		}
		rows++
		if !t.hasRaw(k) {
			return fmt.Errorf("record %q has a row but no raw record", k)
		}
		gen, mark, cells, err := decodeRow(v, nil)
		if err != nil {
			return fmt.Errorf("record %q: %w", k, err)
		}
		if mark != 0 {
			removed++
		}
		if gen > maxGen {
			return fmt.Errorf("record %q has generation %d above the stored highest generation %d", k, gen, maxGen)
		}
		if len(cells) != len(cols) {
			return fmt.Errorf("record %q has %d cells, layout has %d columns", k, len(cells), len(cols))
		}
		for i, kind := range cols {
			if !indexed {
				break
			}
			key := indexKey(kind, cells[i], string(k))
			if !bytes.Equal(keyAt(t.ix[i], key), key) {
				return fmt.Errorf("record %q has no index entry in column %d (cell %q)", k, i, cells[i])
			}
		}
	}

	// records -> rows
	recs := 0
	c = t.rec.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		if err := tick(); err != nil {
			return err
		}
		recs++
		if t.row.Get(k) == nil {
			return fmt.Errorf("record %q has no row", k)
		}
	}
	recs += refs
	if recs != rows {
		return fmt.Errorf("%d records but %d rows", recs, rows)
	}
	if v := t.meta.Get(keyCount); len(v) != 8 || int(binary.BigEndian.Uint64(v)) != recs {
		return fmt.Errorf("stored count %x does not match %d records", v, recs)
	}
	if v := t.meta.Get(keyRemoved); len(v) != 8 || int(binary.BigEndian.Uint64(v)) != removed {
		return fmt.Errorf("stored removed count %x does not match %d records marked removed", v, removed)
	}

	// index entries -> rows
	for i, kind := range cols {
		if !indexed {
			break
		}
		entries := 0
		c := t.ix[i].Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			if err := tick(); err != nil {
				return err
			}
			entries++
			id, ok := idFromIndexKey(kind, k)
			if !ok {
				return fmt.Errorf("malformed index key %q in column %d", k, i)
			}
			rv := t.row.Get(id)
			if rv == nil {
				return fmt.Errorf("record %q: index entry in column %d points at a missing row", id, i)
			}
			_, _, cells, err := decodeRow(rv, nil)
			if err != nil {
				return fmt.Errorf("record %q: %w", id, err)
			}
			if i >= len(cells) || !bytes.Equal(indexKey(kind, cells[i], string(id)), k) {
				return fmt.Errorf("record %q: stale index entry %q in column %d", id, k, i)
			}
		}
		if entries != rows {
			return fmt.Errorf("column %d has %d index entries for %d rows", i, entries, rows)
		}
	}
	return nil
}

// keyAt returns the key at or after key in b (nil past the end).
func keyAt(b *bolt.Bucket, key []byte) []byte {
	k, _ := b.Cursor().Seek(key)
	return k
}
