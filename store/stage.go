package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// Staged loading: the first full pull of a type that holds no records.
//
// Written page by page, a type keyed by random ids (Graph's GUIDs) with an
// index per column scatters every page over the whole file: each
// 200-record page dirtied about two thousand B+tree pages, and the first
// sync of a 111k-user tenant spent most of its time in page writes and
// fsyncs. A staged pull instead appends each page (records, deletions and
// the stream state, in one durable transaction, as before) to the type's
// stage bucket, keyed by arrival order, so a page costs a few appended
// B+tree pages. When the last page is in, MergeStaged moves the records into
// the type in id order and builds each index in key order: sequential
// inserts into empty trees, packed full.
//
// Staged records are not visible (Count, windows, Get) until merged. A
// crash at any point leaves a state that MergeStaged, run again, finishes:
// the stage stays until every record and index is in place, and the merge
// only overwrites records with the same staged bytes.
//
// Layout inside the type bucket:
//
//	stage   uint64 BE arrival -> op byte + uvarint len + id + (op 'p': uvarint
//	        len + row + raw JSON; op 's': uint64 BE removed mark)
//	meta    ixpending -> 1 while indexes are being rebuilt: they are
//	        incomplete and the merge rebuilds them from the rows.
var (
	bucketStage     = []byte("stage")
	keyIndexPending = []byte("ixpending")
)

// Staged entry kinds.
const (
	stagePut        = 'p'
	stageDelete     = 'd'
	stageSoftDelete = 's'
)

// mergeChunk is how many records one MergeStaged transaction moves, and
// indexChunk how many index entries one index-building transaction puts
// (variables for tests).
var (
	mergeChunk = 20_000
	indexChunk = 100_000
)

// encodeStaged encodes one staged entry.
func encodeStaged(op byte, id []byte, row, raw []byte, mark int64) []byte {
	b := make([]byte, 0, 1+binary.MaxVarintLen64*2+len(id)+len(row)+len(raw)+8)
	b = append(b, op)
	b = binary.AppendUvarint(b, uint64(len(id)))
	b = append(b, id...)
	switch op {
	case stagePut:
		b = binary.AppendUvarint(b, uint64(len(row)))
		b = append(b, row...)
		b = append(b, raw...)
	case stageSoftDelete:
		b = binary.BigEndian.AppendUint64(b, uint64(mark))
	}
	return b
}

// stagedEntry is a decoded staged entry; its slices point into the value.
type stagedEntry struct {
	op       byte
	id       []byte
	row, raw []byte
	mark     int64
}

var errBadStaged = errors.New("malformed staged record")

func decodeStaged(v []byte) (stagedEntry, error) {
	var e stagedEntry
	if len(v) < 1 {
		return e, errBadStaged
	}
	e.op = v[0]
	n, w := binary.Uvarint(v[1:])
	if w <= 0 || uint64(len(v)-1-w) < n {
		return e, errBadStaged
	}
	p := 1 + w
	e.id, p = v[p:p+int(n)], p+int(n)
	switch e.op {
	case stagePut:
		n, w := binary.Uvarint(v[p:])
		if w <= 0 || uint64(len(v)-p-w) < n {
			return e, errBadStaged
		}
		p += w
		e.row, e.raw = v[p:p+int(n)], v[p+int(n):]
		if _, err := rowGeneration(e.row); err != nil {
			return e, err
		}
	case stageSoftDelete:
		if len(v)-p != 8 {
			return e, errBadStaged
		}
		e.mark = int64(binary.BigEndian.Uint64(v[p:]))
	case stageDelete:
		if p != len(v) {
			return e, errBadStaged
		}
	default:
		return e, errBadStaged
	}
	return e, nil
}

// stagePage appends a page's records, deletions and soft deletions to the
// type's stage bucket (inside writePage's transaction).
func stagePage(tb *bolt.Bucket, prep []preparedRecord, del, soft []string, softMark int64) error {
	sb, err := tb.CreateBucketIfNotExists(bucketStage)
	if err != nil {
		return err
	}
	sb.FillPercent = 1 // appended in key order: pack pages full
	put := func(v []byte) error {
		seq, err := sb.NextSequence()
		if err != nil {
			return err
		}
		return sb.Put(u64(seq), v)
	}
	for i := range prep {
		if err := put(encodeStaged(stagePut, prep[i].id, prep[i].row, prep[i].raw, 0)); err != nil {
			return fmt.Errorf("stage record %q: %w", prep[i].id, err)
		}
	}
	for _, id := range del {
		if err := put(encodeStaged(stageDelete, []byte(id), nil, nil, 0)); err != nil {
			return fmt.Errorf("stage deletion of %q: %w", id, err)
		}
	}
	for _, id := range soft {
		if err := put(encodeStaged(stageSoftDelete, []byte(id), nil, nil, softMark)); err != nil {
			return fmt.Errorf("stage removal of %q: %w", id, err)
		}
	}
	return nil
}

// stagedRef is where the final state of one staged record is: the arrival
// key of its last put (0: none) and, if a removal followed it, the removal.
type stagedRef struct {
	id      string
	put     uint64
	deleted bool
	mark    int64 // soft-deleted after the put, at mark
}

// HasStaged reports whether a type has a staged pull waiting to be merged.
func (s *Store) HasStaged(ctx context.Context, connector, typ string) (bool, error) {
	var has bool
	err := s.db.View(func(tx *bolt.Tx) error {
		if tb := typeBucket(tx, connector, typ); tb != nil {
			has = tb.Bucket(bucketStage) != nil || tb.Bucket(bucketMeta) != nil && tb.Bucket(bucketMeta).Get(keyIndexPending) != nil
		}
		return ctx.Err()
	})
	if err != nil {
		return false, fmt.Errorf("staged %s/%s: %w", connector, typ, err)
	}
	return has, nil
}

// MergeStaged moves a type's staged records into it (see Staged loading):
// each id's last staged state wins (a later deletion drops it, a later
// soft deletion keeps it marked removed). It returns how many records the
// type holds afterwards. With nothing staged it does nothing.
func (s *Store) MergeStaged(ctx context.Context, connector, typ string) (int, error) {
	what := fmt.Sprintf("merge staged %s/%s", connector, typ)
	var (
		refs   []stagedRef
		bulk   bool
		staged bool
	)
	// 1. Read the stage: the last state of each id, in id order.
	err := s.db.View(func(tx *bolt.Tx) error {
		tb := typeBucket(tx, connector, typ)
		if tb == nil {
			return nil
		}
		t, err := loadType(tb, typ)
		if err != nil {
			return err
		}
		pending := t.meta.Get(keyIndexPending) != nil
		bulk = t.n == 0 || pending
		sb := tb.Bucket(bucketStage)
		if sb == nil {
			staged = pending
			return nil
		}
		staged = true
		last := map[string]int{}
		c := sb.Cursor()
		n := 0
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if n++; n%4096 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			e, err := decodeStaged(v)
			if err != nil {
				return fmt.Errorf("staged entry %x: %w", k, err)
			}
			i, ok := last[string(e.id)]
			if !ok {
				i = len(refs)
				refs = append(refs, stagedRef{id: string(e.id)})
				last[refs[i].id] = i
			}
			r := &refs[i]
			switch e.op {
			case stagePut:
				r.put, r.deleted, r.mark = binary.BigEndian.Uint64(k), false, 0
			case stageDelete:
				r.put, r.deleted, r.mark = 0, true, 0
			case stageSoftDelete:
				r.mark = e.mark
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	if !staged {
		return s.Count(ctx, connector, typ)
	}
	slices.SortFunc(refs, func(a, b stagedRef) int { return strings.Compare(a.id, b.id) })

	// 2. Move the records, in id order, a chunk per transaction.
	for start := 0; start < len(refs); start += mergeChunk {
		chunk := refs[start:min(start+mergeChunk, len(refs))]
		if err := ctx.Err(); err != nil {
			return 0, fmt.Errorf("%s: %w", what, err)
		}
		err := s.db.Update(func(tx *bolt.Tx) error {
			tb := typeBucket(tx, connector, typ)
			t, err := loadType(tb, typ)
			if err != nil {
				return err
			}
			sb := tb.Bucket(bucketStage)
			if bulk {
				if err := t.meta.Put(keyIndexPending, []byte{1}); err != nil {
					return err
				}
				t.rec.FillPercent, t.row.FillPercent = 1, 1
			}
			for i := range chunk {
				if i%1024 == 1023 {
					if err := ctx.Err(); err != nil {
						return err
					}
				}
				if err := mergeOne(t, sb, &chunk[i], bulk); err != nil {
					return fmt.Errorf("record %q: %w", chunk[i].id, err)
				}
			}
			return t.save(tx)
		})
		if err != nil {
			return 0, fmt.Errorf("%s: %w", what, err)
		}
		s.trimMap()
	}

	// 3. Build the indexes from the rows (bulk), then drop the stage.
	if bulk {
		if err := s.rebuildIndexes(ctx, connector, typ); err != nil {
			return 0, fmt.Errorf("%s: %w", what, err)
		}
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		tb := typeBucket(tx, connector, typ)
		if tb.Bucket(bucketStage) != nil {
			if err := tb.DeleteBucket(bucketStage); err != nil {
				return err
			}
		}
		t, err := loadType(tb, typ)
		if err != nil {
			return err
		}
		return t.save(tx)
	})
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	return s.Count(ctx, connector, typ)
}

// mergeOne writes the final state of one staged record. In bulk mode (the
// type was empty when the merge began, or a merge was interrupted) rows
// and records are put without index entries, which rebuildIndexes writes
// afterwards; otherwise the record goes through put and remove like any
// page write.
func mergeOne(t *typeBuckets, sb *bolt.Bucket, r *stagedRef, bulk bool) error {
	id := []byte(r.id)
	if r.put == 0 {
		if !r.deleted && r.mark == 0 {
			return nil
		}
		// Deleted, or soft-deleted without a staged version: apply it to
		// what the type holds.
		if r.deleted {
			if bulk {
				return bulkRemove(t, id)
			}
			_, err := t.remove(id)
			return err
		}
		if v := t.row.Get(id); v != nil {
			if m, err := rowRemoved(v); err == nil && m == 0 {
				t.removed++
				return t.row.Put(id, withRemoved(v, r.mark))
			}
		}
		return nil
	}
	v := sb.Get(u64(r.put))
	e, err := decodeStaged(v)
	if err != nil || e.op != stagePut {
		return fmt.Errorf("staged entry %d: %w", r.put, errBadStaged)
	}
	row := e.row
	if r.mark != 0 {
		row = withRemoved(row, r.mark)
	}
	if bulk {
		old := t.row.Get(id)
		switch {
		case old == nil:
			t.n++
		default:
			if m, _ := rowRemoved(old); m != 0 {
				t.removed--
			}
		}
		if r.mark != 0 {
			t.removed++
		}
		if err := t.rec.Put(id, bytes.Clone(e.raw)); err != nil {
			return err
		}
		return t.row.Put(id, bytes.Clone(row))
	}
	gen, err := rowGeneration(row)
	if err != nil {
		return err
	}
	_, _, cells, err := decodeRow(row, nil)
	if err != nil {
		return err
	}
	p, err := prepare(Record{ID: r.id, Raw: e.raw, Cells: cells}, "", t.layout, gen)
	if err != nil {
		return err
	}
	if _, _, err := t.put(&p); err != nil {
		return err
	}
	if r.mark != 0 {
		if v := t.row.Get(id); v != nil {
			t.removed++
			return t.row.Put(id, withRemoved(v, r.mark))
		}
	}
	return nil
}

// bulkRemove deletes a record's row and raw record only (bulk merges write
// no index entries).
func bulkRemove(t *typeBuckets, id []byte) error {
	old := t.row.Get(id)
	if old == nil {
		return nil
	}
	if m, _ := rowRemoved(old); m != 0 {
		t.removed--
	}
	t.n--
	if err := t.row.Delete(id); err != nil {
		return err
	}
	return t.rec.Delete(id)
}

// rebuildIndexes drops a type's indexes and builds each again from the
// rows, sorted, in chunks; the meta key ixpending marks the type until the
// last one is in.
func (s *Store) rebuildIndexes(ctx context.Context, connector, typ string) error {
	var layout Layout
	err := s.db.Update(func(tx *bolt.Tx) error {
		tb := typeBucket(tx, connector, typ)
		t, err := loadType(tb, typ)
		if err != nil {
			return err
		}
		layout = t.layout
		if err := t.meta.Put(keyIndexPending, []byte{1}); err != nil {
			return err
		}
		for i := range t.ix {
			if err := tb.DeleteBucket(ixName(i)); err != nil {
				return err
			}
			if _, err := tb.CreateBucket(ixName(i)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for col, kind := range layout.Columns {
		var keys [][]byte
		err := s.db.View(func(tx *bolt.Tx) error {
			t, err := loadType(typeBucket(tx, connector, typ), typ)
			if err != nil {
				return err
			}
			keys = make([][]byte, 0, t.n)
			c := t.row.Cursor()
			var cells []string
			for k, v := c.First(); k != nil; k, v = c.Next() {
				if len(keys)%4096 == 4095 {
					if err := ctx.Err(); err != nil {
						return err
					}
				}
				_, _, cells, err = decodeRow(v, cells[:0])
				if err != nil {
					return fmt.Errorf("record %q: %w", k, err)
				}
				if col >= len(cells) {
					return fmt.Errorf("record %q has %d cells, layout has %d columns", k, len(cells), len(layout.Columns))
				}
				keys = append(keys, indexKey(kind, cells[col], string(k)))
			}
			return nil
		})
		if err != nil {
			return err
		}
		slices.SortFunc(keys, bytes.Compare)
		for start := 0; start < len(keys) || start == 0; start += indexChunk {
			chunk := keys[start:min(start+indexChunk, len(keys))]
			last := start+indexChunk >= len(keys) && col == len(layout.Columns)-1
			err := s.db.Update(func(tx *bolt.Tx) error {
				tb := typeBucket(tx, connector, typ)
				ix := tb.Bucket(ixName(col))
				ix.FillPercent = 1
				for _, k := range chunk {
					if err := ix.Put(k, nil); err != nil {
						return err
					}
				}
				if !last {
					return ctxErr(ctx, "index")
				}
				t, err := loadType(tb, typ)
				if err != nil {
					return err
				}
				if err := t.meta.Delete(keyIndexPending); err != nil {
					return err
				}
				return t.save(tx)
			})
			if err != nil {
				return fmt.Errorf("index column %d: %w", col, err)
			}
			s.trimMap()
			if len(keys) == 0 {
				break
			}
		}
	}
	if len(layout.Columns) == 0 {
		return s.db.Update(func(tx *bolt.Tx) error {
			t, err := loadType(typeBucket(tx, connector, typ), typ)
			if err != nil {
				return err
			}
			return t.meta.Delete(keyIndexPending)
		})
	}
	return nil
}
