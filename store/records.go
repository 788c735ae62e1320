package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// sweepChunk is the most records one Sweep transaction deletes.
const sweepChunk = 1000

// eachChunk is how many records Each reads per read transaction.
const eachChunk = 256

// typeBuckets are the buckets of one record type inside a transaction.
type typeBuckets struct {
	rec, row, meta *bolt.Bucket
	ix             []*bolt.Bucket
	layout         Layout
}

// loadType opens the buckets of an existing type bucket.
func loadType(tb *bolt.Bucket, typ string) (*typeBuckets, error) {
	t := &typeBuckets{
		rec:  tb.Bucket(bucketRec),
		row:  tb.Bucket(bucketRow),
		meta: tb.Bucket(bucketMeta),
	}
	if t.rec == nil || t.row == nil || t.meta == nil {
		return nil, fmt.Errorf("type %q: missing rec/row/meta bucket", typ)
	}
	t.layout = decodeLayout(t.meta.Get(keyLayout))
	t.ix = make([]*bolt.Bucket, len(t.layout.Columns))
	for i := range t.ix {
		if t.ix[i] = tb.Bucket(ixName(i)); t.ix[i] == nil {
			return nil, fmt.Errorf("type %q: missing index bucket %s", typ, ixName(i))
		}
	}
	return t, nil
}

// openTypeRW opens a type's buckets for writing, creating them with layout
// if the type is new. An existing type with another layout is refused with
// ErrLayoutChanged.
func openTypeRW(tx *bolt.Tx, connector, typ string, layout Layout) (*typeBuckets, error) {
	cb, err := connBucketRW(tx, connector)
	if err != nil {
		return nil, err
	}
	name := []byte(typePrefix + typ)
	want := encodeLayout(layout)
	if tb := cb.Bucket(name); tb != nil {
		t, err := loadType(tb, typ)
		if err != nil {
			return nil, err
		}
		if have := encodeLayout(t.layout); !bytes.Equal(have, want) {
			return nil, fmt.Errorf("type %q of connector %q: stored with columns %v, written with %v (%w); drop the type and pull it again",
				typ, connector, t.layout.Columns, layout.Columns, ErrLayoutChanged)
		}
		return t, nil
	}
	tb, err := cb.CreateBucket(name)
	if err != nil {
		return nil, err
	}
	t := &typeBuckets{layout: layout, ix: make([]*bolt.Bucket, len(layout.Columns))}
	if t.rec, err = tb.CreateBucket(bucketRec); err != nil {
		return nil, err
	}
	if t.row, err = tb.CreateBucket(bucketRow); err != nil {
		return nil, err
	}
	if t.meta, err = tb.CreateBucket(bucketMeta); err != nil {
		return nil, err
	}
	for i := range t.ix {
		if t.ix[i], err = tb.CreateBucket(ixName(i)); err != nil {
			return nil, err
		}
	}
	if err := t.meta.Put(keyLayout, want); err != nil {
		return nil, err
	}
	return t, nil
}

// count returns the stored record count of the type.
func (t *typeBuckets) count() int {
	if v := t.meta.Get(keyCount); len(v) == 8 {
		return int(binary.BigEndian.Uint64(v))
	}
	return 0
}

// touch stores the new count and stamps the type with the writing
// transaction's ID (which invalidates cached window anchors).
func (t *typeBuckets) touch(tx *bolt.Tx, count int) error {
	if count < 0 {
		count = 0
	}
	if err := t.meta.Put(keyCount, u64(uint64(count))); err != nil {
		return err
	}
	return t.meta.Put(keyMtx, u64(uint64(tx.ID())))
}

// mtx returns the ID of the last transaction that wrote the type.
func (t *typeBuckets) mtx() uint64 {
	if v := t.meta.Get(keyMtx); len(v) == 8 {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

// remove deletes one record with its row and index entries. It reports
// whether the record existed.
func (t *typeBuckets) remove(id []byte) (bool, error) {
	rv := t.row.Get(id)
	existed := rv != nil || t.rec.Get(id) != nil
	if rv != nil {
		_, cells, err := decodeRow(rv, nil)
		if err != nil {
			return false, fmt.Errorf("record %q: %w", id, err)
		}
		for i, kind := range t.layout.Columns {
			if i < len(cells) {
				if err := t.ix[i].Delete(indexKey(kind, cells[i], string(id))); err != nil {
					return false, err
				}
			}
		}
		if err := t.row.Delete(id); err != nil {
			return false, err
		}
	}
	if err := t.rec.Delete(id); err != nil {
		return false, err
	}
	return existed, nil
}

// preparedRecord is a record encoded outside the transaction.
type preparedRecord struct {
	id  []byte
	raw []byte
	row []byte
	ix  [][]byte
}

// WritePage commits one API page in a single transaction: every record with
// its row and index entries, the type's count, and w.State as the state of
// w.Stream (skipped if w.Stream is empty). Records are stamped with
// w.Generation. A record is Added if new, Unchanged if its raw bytes and
// cells are identical to the stored ones (it is still restamped), else
// Changed (its old index entries are replaced).
func (s *Store) WritePage(ctx context.Context, w PageWrite) (WriteStats, error) {
	var st WriteStats
	what := fmt.Sprintf("write page %s/%s", w.Connector, w.Type)
	if w.Connector == "" || w.Type == "" {
		return st, fmt.Errorf("%s: empty connector or type", what)
	}
	for i, k := range w.Layout.Columns {
		if k < Text || k > Time {
			return st, fmt.Errorf("%s: column %d has unknown kind %d", what, i, k)
		}
	}
	if err := ctxErr(ctx, what); err != nil {
		return st, err
	}

	// Encode everything before taking the write lock. All slices are fresh,
	// so they stay valid until commit whatever the caller does.
	prep := make([]preparedRecord, len(w.Records))
	for i, r := range w.Records {
		if r.ID == "" {
			return st, fmt.Errorf("%s: record %d has an empty ID", what, i)
		}
		if len(r.Cells) != len(w.Layout.Columns) {
			return st, fmt.Errorf("%s: record %q has %d cells, type %q has %d columns",
				what, r.ID, len(r.Cells), w.Type, len(w.Layout.Columns))
		}
		p := preparedRecord{
			id:  []byte(r.ID),
			raw: bytes.Clone(r.Raw),
			row: encodeRow(w.Generation, r.Cells),
			ix:  make([][]byte, len(r.Cells)),
		}
		if p.raw == nil {
			p.raw = []byte{}
		}
		for c, kind := range w.Layout.Columns {
			p.ix[c] = indexKey(kind, r.Cells[c], r.ID)
		}
		prep[i] = p
	}
	var state []byte
	if w.Stream != "" {
		var err error
		if state, err = json.Marshal(w.State); err != nil {
			return st, fmt.Errorf("%s: stream state: %w", what, err)
		}
	}

	err := s.db.Update(func(tx *bolt.Tx) error {
		st = WriteStats{}
		if len(prep) > 0 {
			t, err := openTypeRW(tx, w.Connector, w.Type, w.Layout)
			if err != nil {
				return err
			}
			count := t.count()
			for i := range prep {
				if i%256 == 255 {
					if err := ctx.Err(); err != nil {
						return err
					}
				}
				added, changed, err := t.put(&prep[i])
				if err != nil {
					return fmt.Errorf("record %q: %w", prep[i].id, err)
				}
				switch {
				case added:
					st.Added++
					count++
				case changed:
					st.Changed++
				default:
					st.Unchanged++
				}
			}
			if err := t.touch(tx, count); err != nil {
				return err
			}
		}
		if state != nil {
			return putStream(tx, w.Connector, w.Stream, state)
		}
		return nil
	})
	if err != nil {
		return WriteStats{}, fmt.Errorf("%s: %w", what, err)
	}
	return st, nil
}

// put writes one prepared record inside a write transaction.
func (t *typeBuckets) put(p *preparedRecord) (added, changed bool, err error) {
	oldRec := t.rec.Get(p.id)
	oldRow := t.row.Get(p.id)
	if oldRec == nil && oldRow == nil {
		if err := t.rec.Put(p.id, p.raw); err != nil {
			return false, false, err
		}
		if err := t.row.Put(p.id, p.row); err != nil {
			return false, false, err
		}
		for c, k := range p.ix {
			if err := t.ix[c].Put(k, nil); err != nil {
				return false, false, err
			}
		}
		return true, false, nil
	}
	if oldRec != nil && len(oldRow) >= 8 && bytes.Equal(oldRec, p.raw) && bytes.Equal(oldRow[8:], p.row[8:]) {
		if !bytes.Equal(oldRow[:8], p.row[:8]) { // restamp the generation
			if err := t.row.Put(p.id, p.row); err != nil {
				return false, false, err
			}
		}
		return false, false, nil
	}
	// Changed: work out the old index keys before modifying anything (the
	// old values are not valid after a Put in their bucket).
	var oldKeys [][]byte
	if oldRow != nil {
		_, cells, err := decodeRow(oldRow, nil)
		if err != nil {
			return false, false, err
		}
		id := string(p.id)
		for c, kind := range t.layout.Columns {
			if c < len(cells) {
				oldKeys = append(oldKeys, indexKey(kind, cells[c], id))
			}
		}
	}
	for c, k := range oldKeys {
		if !bytes.Equal(k, p.ix[c]) {
			if err := t.ix[c].Delete(k); err != nil {
				return false, false, err
			}
		}
	}
	for c, k := range p.ix {
		if c >= len(oldKeys) || !bytes.Equal(k, oldKeys[c]) {
			if err := t.ix[c].Put(k, nil); err != nil {
				return false, false, err
			}
		}
	}
	if err := t.rec.Put(p.id, p.raw); err != nil {
		return false, false, err
	}
	if err := t.row.Put(p.id, p.row); err != nil {
		return false, false, err
	}
	return oldRec == nil, oldRec != nil, nil
}

// Sweep deletes the records of typ stamped with a generation older than
// generation (those a full pull did not see again), with their rows and
// index entries, in transactions of at most 1000 deletions. The last
// transaction also stores final as the state of stream (unless stream is
// empty), so an interrupted sweep is finished by running it again.
func (s *Store) Sweep(ctx context.Context, connector, typ, stream string, generation uint64, final StreamState) (int, error) {
	what := fmt.Sprintf("sweep %s/%s", connector, typ)
	var state []byte
	if stream != "" {
		var err error
		if state, err = json.Marshal(final); err != nil {
			return 0, fmt.Errorf("%s: stream state: %w", what, err)
		}
	}
	removed := 0
	var after []byte // last row key examined by the previous chunk
	for done := false; !done; {
		if err := ctxErr(ctx, what); err != nil {
			return removed, err
		}
		n := 0
		err := s.db.Update(func(tx *bolt.Tx) error {
			n = 0
			tb := typeBucket(tx, connector, typ)
			if tb == nil {
				done = true
			} else {
				t, err := loadType(tb, typ)
				if err != nil {
					return err
				}
				// Collect the victims first; delete after the cursor is done.
				c := t.row.Cursor()
				var k, v, last []byte
				if after == nil {
					k, v = c.First()
				} else if k, v = c.Seek(after); k != nil && bytes.Equal(k, after) {
					k, v = c.Next()
				}
				var victims [][]byte
				for ; k != nil && len(victims) < sweepChunk; k, v = c.Next() {
					gen, err := rowGeneration(v)
					if err != nil {
						return fmt.Errorf("record %q: %w", k, err)
					}
					if gen < generation {
						victims = append(victims, bytes.Clone(k))
					}
					last = k
				}
				done = k == nil
				next := bytes.Clone(last)
				for _, id := range victims {
					existed, err := t.remove(id)
					if err != nil {
						return err
					}
					if existed {
						n++
					}
				}
				if n > 0 {
					if err := t.touch(tx, t.count()-n); err != nil {
						return err
					}
				}
				if next != nil {
					after = next
				}
			}
			if done && state != nil {
				return putStream(tx, connector, stream, state)
			}
			return nil
		})
		if err != nil {
			return removed, fmt.Errorf("%s: %w", what, err)
		}
		removed += n
	}
	return removed, nil
}

// DropType deletes every record of one type with its indexes (for example
// after ErrLayoutChanged). Stream states are kept; reset them separately.
func (s *Store) DropType(ctx context.Context, connector, typ string) error {
	if err := ctxErr(ctx, "drop type"); err != nil {
		return err
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		cb := connBucket(tx, connector)
		if cb == nil || cb.Bucket([]byte(typePrefix+typ)) == nil {
			return ErrNotFound
		}
		return cb.DeleteBucket([]byte(typePrefix + typ))
	})
	if err != nil {
		return fmt.Errorf("drop type %s/%s: %w", connector, typ, err)
	}
	return nil
}

// Count returns how many records of typ the connector has (0 if none).
func (s *Store) Count(ctx context.Context, connector, typ string) (int, error) {
	if err := ctxErr(ctx, "count"); err != nil {
		return 0, err
	}
	n := 0
	err := s.db.View(func(tx *bolt.Tx) error {
		if tb := typeBucket(tx, connector, typ); tb != nil {
			if mb := tb.Bucket(bucketMeta); mb != nil {
				if v := mb.Get(keyCount); len(v) == 8 {
					n = int(binary.BigEndian.Uint64(v))
				}
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("count %s/%s: %w", connector, typ, err)
	}
	return n, nil
}

// Get returns one record with its raw JSON and cells (copied out of the
// transaction), or an error wrapping ErrNotFound.
func (s *Store) Get(ctx context.Context, connector, typ, id string) (Record, error) {
	what := fmt.Sprintf("get %s/%s/%s", connector, typ, id)
	if err := ctxErr(ctx, what); err != nil {
		return Record{}, err
	}
	var r Record
	err := s.db.View(func(tx *bolt.Tx) error {
		tb := typeBucket(tx, connector, typ)
		if tb == nil {
			return ErrNotFound
		}
		t, err := loadType(tb, typ)
		if err != nil {
			return err
		}
		r, err = t.record([]byte(id))
		return err
	})
	if err != nil {
		return Record{}, fmt.Errorf("%s: %w", what, err)
	}
	return r, nil
}

// record reads one record (copied) or returns ErrNotFound.
func (t *typeBuckets) record(id []byte) (Record, error) {
	raw := t.rec.Get(id)
	rv := t.row.Get(id)
	if raw == nil || rv == nil {
		return Record{}, ErrNotFound
	}
	_, cells, err := decodeRow(rv, nil)
	if err != nil {
		return Record{}, err
	}
	return Record{ID: string(id), Raw: json.RawMessage(bytes.Clone(raw)), Cells: cells}, nil
}

// RowsByID returns the rows of the given IDs in the same order, skipping IDs
// that do not exist.
func (s *Store) RowsByID(ctx context.Context, connector, typ string, ids []string) ([]Row, error) {
	what := fmt.Sprintf("rows by id %s/%s", connector, typ)
	if err := ctxErr(ctx, what); err != nil {
		return nil, err
	}
	out := make([]Row, 0, len(ids))
	err := s.db.View(func(tx *bolt.Tx) error {
		tb := typeBucket(tx, connector, typ)
		if tb == nil {
			return nil
		}
		rb := tb.Bucket(bucketRow)
		if rb == nil {
			return nil
		}
		for i, id := range ids {
			if i%4096 == 4095 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			rv := rb.Get([]byte(id))
			if rv == nil {
				continue
			}
			_, cells, err := decodeRow(rv, nil)
			if err != nil {
				return fmt.Errorf("record %q: %w", id, err)
			}
			out = append(out, Row{ID: id, Cells: cells})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}

// Each calls fn for every record of typ in ID order. Records are read in
// short read transactions of a few hundred records and fn runs outside them,
// so fn may use the store (even write); the walk is therefore not one
// snapshot: records written meanwhile may or may not be seen. An error from
// fn stops the walk and is returned as is.
func (s *Store) Each(ctx context.Context, connector, typ string, fn func(Record) error) error {
	what := fmt.Sprintf("each %s/%s", connector, typ)
	var after []byte
	for done := false; !done; {
		if err := ctxErr(ctx, what); err != nil {
			return err
		}
		var batch []Record
		done = true
		err := s.db.View(func(tx *bolt.Tx) error {
			tb := typeBucket(tx, connector, typ)
			if tb == nil {
				return nil
			}
			t, err := loadType(tb, typ)
			if err != nil {
				return err
			}
			c := t.rec.Cursor()
			var k, last []byte
			if after == nil {
				k, _ = c.First()
			} else if k, _ = c.Seek(after); k != nil && bytes.Equal(k, after) {
				k, _ = c.Next()
			}
			for n := 0; k != nil && n < eachChunk; k, _ = c.Next() {
				n++
				last = k
				r, err := t.record(k)
				if errors.Is(err, ErrNotFound) {
					continue // a rec without its row: reported by Check
				}
				if err != nil {
					return fmt.Errorf("record %q: %w", k, err)
				}
				batch = append(batch, r)
			}
			if k != nil {
				done = false
				after = bytes.Clone(last)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		for _, r := range batch {
			if err := fn(r); err != nil {
				return err
			}
		}
	}
	return nil
}

// Types returns the record types the connector has data for, sorted.
func (s *Store) Types(ctx context.Context, connector string) ([]string, error) {
	if err := ctxErr(ctx, "types"); err != nil {
		return nil, err
	}
	var out []string
	err := s.db.View(func(tx *bolt.Tx) error {
		cb := connBucket(tx, connector)
		if cb == nil {
			return nil
		}
		c := cb.Cursor()
		prefix := []byte(typePrefix)
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			if v == nil { // nested bucket
				out = append(out, string(k[len(prefix):]))
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("types of %q: %w", connector, err)
	}
	return out, nil
}
