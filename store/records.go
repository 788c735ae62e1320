package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// sweepChunk is the most records one Sweep, MarkRemoved or Purge
// transaction deletes or marks.
const sweepChunk = 1000

// eachChunk is how many records Each reads per read transaction.
const eachChunk = 256

// typeBuckets are the buckets of one record type inside a transaction,
// with the type's counters as read from its meta bucket. Writers change the
// counters in memory and store them with save.
type typeBuckets struct {
	rec, row, meta *bolt.Bucket
	recref, blob   *bolt.Bucket // nil until a staged pull wrote blobs (see blob.go)
	ix             []*bolt.Bucket
	layout         Layout

	n       int    // records (removed ones included)
	removed int    // records marked removed
	maxGen  uint64 // highest generation ever stamped
}

// loadType opens the buckets of an existing type bucket.
func loadType(tb *bolt.Bucket, typ string) (*typeBuckets, error) {
	t := &typeBuckets{
		rec:    tb.Bucket(bucketRec),
		row:    tb.Bucket(bucketRow),
		meta:   tb.Bucket(bucketMeta),
		recref: tb.Bucket(bucketRecRef),
		blob:   tb.Bucket(bucketBlob),
	}
	if t.rec == nil || t.row == nil || t.meta == nil {
		return nil, fmt.Errorf("type %q: missing rec/row/meta bucket", typ)
	}
	t.layout = decodeLayout(t.meta.Get(keyLayout))
	t.n = int(metaU64(t.meta, keyCount))
	t.removed = int(metaU64(t.meta, keyRemoved))
	t.maxGen = metaU64(t.meta, keyMaxGen)
	t.ix = make([]*bolt.Bucket, len(t.layout.Columns))
	for i := range t.ix {
		if t.ix[i] = tb.Bucket(ixName(i)); t.ix[i] == nil {
			return nil, fmt.Errorf("type %q: missing index bucket %s", typ, ixName(i))
		}
	}
	return t, nil
}

// typeIn opens the buckets of connector's type typ in tx, or returns nil
// (and no error) if the connector or type has none.
func typeIn(tx *bolt.Tx, connector, typ string) (*typeBuckets, error) {
	tb := typeBucket(tx, connector, typ)
	if tb == nil {
		return nil, nil
	}
	return loadType(tb, typ)
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

// metaU64 reads a uint64 counter of a meta bucket (0 if absent).
func metaU64(b *bolt.Bucket, key []byte) uint64 {
	if v := b.Get(key); len(v) == 8 {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

// count returns the record count of the type.
func (t *typeBuckets) count() int { return t.n }

// save stores the counters and stamps the type with the writing
// transaction's ID (which invalidates cached window anchors).
func (t *typeBuckets) save(tx *bolt.Tx) error {
	t.n, t.removed = max(t.n, 0), max(t.removed, 0)
	if err := t.meta.Put(keyCount, u64(uint64(t.n))); err != nil {
		return err
	}
	if err := t.meta.Put(keyRemoved, u64(uint64(t.removed))); err != nil {
		return err
	}
	if err := t.meta.Put(keyMaxGen, u64(t.maxGen)); err != nil {
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

// remove deletes one record with its row and index entries and updates the
// counters. It reports whether the record existed.
func (t *typeBuckets) remove(id []byte) (bool, error) {
	rv := t.row.Get(id)
	existed := rv != nil || t.hasRaw(id)
	if rv != nil {
		_, mark, cells, err := decodeRow(rv, nil)
		if err != nil {
			return false, fmt.Errorf("record %q: %w", id, err)
		}
		if mark != 0 {
			t.removed--
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
	if err := t.deleteRaw(id); err != nil {
		return false, err
	}
	if existed {
		t.n--
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

// checkLayout refuses unknown column kinds.
func checkLayout(l Layout) error {
	for i, k := range l.Columns {
		if k < Text || k > Time {
			return fmt.Errorf("column %d has unknown kind %d", i, k)
		}
	}
	return nil
}

// prepare encodes one record (present, stamped gen) for a write
// transaction, with its index keys if index is set. The raw bytes are
// r.Raw itself, not a copy (128 MB copied per 100k users, for nothing): the
// writes read them before they return, and the caller does not change them
// meanwhile.
func prepare(r Record, typ string, layout Layout, gen uint64, index bool) (preparedRecord, error) {
	if r.ID == "" {
		return preparedRecord{}, errors.New("empty ID")
	}
	if len(r.Cells) != len(layout.Columns) {
		return preparedRecord{}, fmt.Errorf("record %q has %d cells, type %q has %d columns",
			r.ID, len(r.Cells), typ, len(layout.Columns))
	}
	p := preparedRecord{
		id:  []byte(r.ID),
		raw: bytes.Clone(r.Raw),
		row: encodeRow(gen, 0, r.Cells),
	}
	if p.raw == nil {
		p.raw = []byte{}
	}
	if index {
		p.ix = make([][]byte, len(r.Cells))
		for c, kind := range layout.Columns {
			p.ix[c] = indexKey(kind, r.Cells[c], r.ID)
		}
	}
	return p, nil
}

// WritePage commits one API page in a single transaction: every record with
// its row and index entries, the type's counters, and w.State as the state
// of w.Stream (skipped if w.Stream is empty). Records are stamped with
// w.Generation and written present (Record.Removed is ignored). A record is
// Added if new, Unchanged if its raw bytes and cells are identical to the
// stored ones and it was not marked removed (it is still restamped), else
// Changed (its old index entries are replaced); a record that was marked
// removed is present again and also counted as Restored.
func (s *Store) WritePage(ctx context.Context, w PageWrite) (WriteStats, error) {
	return s.writePage(ctx, w, nil)
}

// WritePageChanges is WritePage that also reports the ids of the records
// the page added, changed (restored ones included), deleted and newly
// marked removed. Unchanged records and unknown ids of w.Delete and
// w.SoftDelete are not reported.
func (s *Store) WritePageChanges(ctx context.Context, w PageWrite) (WriteStats, PageChanges, error) {
	var pc PageChanges
	st, err := s.writePage(ctx, w, &pc)
	if err != nil {
		return st, PageChanges{}, err
	}
	return st, pc, nil
}

// writePage is WritePage; ids, if not nil, receives the changed ids.
func (s *Store) writePage(ctx context.Context, w PageWrite, ids *PageChanges) (WriteStats, error) {
	var st WriteStats
	what := fmt.Sprintf("write page %s/%s", w.Connector, w.Type)
	if w.Connector == "" || w.Type == "" {
		return st, fmt.Errorf("%s: empty connector or type", what)
	}
	if err := checkLayout(w.Layout); err != nil {
		return st, fmt.Errorf("%s: %w", what, err)
	}
	if err := ctxErr(ctx, what); err != nil {
		return st, err
	}

	// Encode everything before taking the write lock.
	prep := make([]preparedRecord, len(w.Records))
	for i, r := range w.Records {
		// A staged page writes no index entries (MergeStaged does).
		p, err := prepare(r, w.Type, w.Layout, w.Generation, !w.Stage)
		if err != nil {
			if r.ID == "" {
				return st, fmt.Errorf("%s: record %d has an empty ID", what, i)
			}
			return st, fmt.Errorf("%s: %w", what, err)
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

	var softMark int64
	if len(w.SoftDelete) > 0 {
		var err error
		if softMark, err = removedMark(w.RemovedAt); err != nil {
			return st, fmt.Errorf("%s: %w", what, err)
		}
	}

	err := s.db.Update(func(tx *bolt.Tx) error {
		st = WriteStats{}
		if ids != nil {
			*ids = PageChanges{}
		}
		if len(prep) > 0 || len(w.Delete) > 0 || len(w.SoftDelete) > 0 {
			t, err := openTypeRW(tx, w.Connector, w.Type, w.Layout)
			if err != nil {
				return err
			}
			if w.Stage {
				if err := stagePage(typeBucket(tx, w.Connector, w.Type), prep, w.Delete, w.SoftDelete, softMark); err != nil {
					return err
				}
				st.Added = len(prep)
				if ids != nil {
					for _, r := range w.Records {
						ids.Added = append(ids.Added, r.ID)
					}
				}
				t.maxGen = max(t.maxGen, w.Generation)
				if err := t.save(tx); err != nil {
					return err
				}
				if err := dropLinksOf(tx, w.Connector, stringsToBytes(slices.Concat(w.Delete, w.SoftDelete))); err != nil {
					return err
				}
				if err := applyLinks(tx, w.Connector, w.Generation, w.Links); err != nil {
					return err
				}
				if state == nil {
					return nil
				}
				return putStream(tx, w.Connector, w.Stream, state)
			}
			for i := range prep {
				if i%256 == 255 {
					if err := ctx.Err(); err != nil {
						return err
					}
				}
				res, restored, err := t.put(&prep[i])
				if err != nil {
					return fmt.Errorf("record %q: %w", prep[i].id, err)
				}
				st.count(res, restored)
				ids.note(res, w.Records[i].ID)
			}
			for _, id := range w.Delete {
				ok, err := t.remove([]byte(id))
				if err != nil {
					return fmt.Errorf("delete record %q: %w", id, err)
				}
				if ok {
					st.Deleted++
					if ids != nil {
						ids.Deleted = append(ids.Deleted, id)
					}
				}
			}
			for _, id := range w.SoftDelete {
				v := t.row.Get([]byte(id))
				if v == nil {
					continue
				}
				if m, err := rowRemoved(v); err != nil || m != 0 {
					continue
				}
				if err := t.row.Put([]byte(id), withRemoved(v, softMark)); err != nil {
					return fmt.Errorf("mark record %q removed: %w", id, err)
				}
				t.removed++
				st.SoftDeleted++
				if ids != nil {
					ids.SoftDeleted = append(ids.SoftDeleted, id)
				}
			}
			t.maxGen = max(t.maxGen, w.Generation)
			if err := t.save(tx); err != nil {
				return err
			}
			gone := make([][]byte, 0, len(w.Delete)+len(w.SoftDelete))
			for _, id := range slices.Concat(w.Delete, w.SoftDelete) {
				gone = append(gone, []byte(id))
			}
			if err := dropLinksOf(tx, w.Connector, gone); err != nil {
				return err
			}
		}
		if err := applyLinks(tx, w.Connector, w.Generation, w.Links); err != nil {
			return err
		}
		if state != nil {
			return putStream(tx, w.Connector, w.Stream, state)
		}
		return nil
	})
	if err != nil {
		return WriteStats{}, fmt.Errorf("%s: %w", what, err)
	}
	s.trimMap()
	return st, nil
}

func stringsToBytes(ss []string) [][]byte {
	out := make([][]byte, len(ss))
	for i, s := range ss {
		out[i] = []byte(s)
	}
	return out
}

// putResult is what put did to one record.
type putResult int

const (
	putUnchanged putResult = iota
	putAdded
	putChanged
)

// count adds one put to the stats.
func (st *WriteStats) count(res putResult, restored bool) {
	switch res {
	case putAdded:
		st.Added++
	case putChanged:
		st.Changed++
	default:
		st.Unchanged++
	}
	if restored {
		st.Restored++
	}
}

// note adds one put to the ids (a nil receiver notes nothing).
func (pc *PageChanges) note(res putResult, id string) {
	if pc == nil {
		return
	}
	switch res {
	case putAdded:
		pc.Added = append(pc.Added, id)
	case putChanged:
		pc.Changed = append(pc.Changed, id)
	}
}

// put writes one prepared record inside a write transaction and updates the
// counters. restored reports that the record was marked removed (it is
// present now); such a record is never Unchanged.
func (t *typeBuckets) put(p *preparedRecord) (res putResult, restored bool, err error) {
	oldRec := t.raw(p.id)
	oldRow := t.row.Get(p.id)
	if oldRec == nil && oldRow == nil {
		if err := t.putRaw(p.id, p.raw); err != nil {
			return 0, false, err
		}
		if err := t.row.Put(p.id, p.row); err != nil {
			return 0, false, err
		}
		for c, k := range p.ix {
			if err := t.ix[c].Put(k, nil); err != nil {
				return 0, false, err
			}
		}
		t.n++
		return putAdded, false, nil
	}
	if oldRow != nil {
		mark, err := rowRemoved(oldRow)
		if err != nil {
			return 0, false, err
		}
		restored = mark != 0
	}
	if oldRec != nil && oldRow != nil && bytes.Equal(oldRec, p.raw) && bytes.Equal(oldRow[rowHeader:], p.row[rowHeader:]) {
		// Same contents: restamp the generation and clear the removed mark.
		if !bytes.Equal(oldRow[:rowHeader], p.row[:rowHeader]) {
			if err := t.row.Put(p.id, p.row); err != nil {
				return 0, false, err
			}
		}
		if restored {
			t.removed--
			return putChanged, true, nil
		}
		return putUnchanged, false, nil
	}
	// Changed: work out the old index keys before modifying anything (the
	// old values are not valid after a Put in their bucket).
	var oldKeys [][]byte
	if oldRow != nil {
		_, _, cells, err := decodeRow(oldRow, nil)
		if err != nil {
			return 0, false, err
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
				return 0, false, err
			}
		}
	}
	for c, k := range p.ix {
		if c >= len(oldKeys) || !bytes.Equal(k, oldKeys[c]) {
			if err := t.ix[c].Put(k, nil); err != nil {
				return 0, false, err
			}
		}
	}
	if err := t.putRaw(p.id, p.raw); err != nil {
		return 0, false, err
	}
	if err := t.row.Put(p.id, p.row); err != nil {
		return 0, false, err
	}
	if restored {
		t.removed--
	}
	if oldRec == nil {
		t.n++
		return putAdded, restored, nil
	}
	return putChanged, restored, nil
}

// PutRecord upserts one record outside any stream, in one transaction: after
// a create or update through the API the store holds the server's version.
// The record is written present (r.Removed is ignored; a record that was
// marked removed is Restored). Its generation is kept if the record exists
// and is present, so a running full pull still restamps or sweeps it as it
// finds it; a new record, or one that was marked removed, gets the highest
// generation ever stamped in the type (at least its own), so a later
// Sweep or MarkRemoved of the current generation does not remove it again.
// The type is created with layout if new (else layout must match, see
// ErrLayoutChanged).
func (s *Store) PutRecord(ctx context.Context, connector, typ string, layout Layout, r Record) (WriteStats, error) {
	var st WriteStats
	what := fmt.Sprintf("put record %s/%s/%s", connector, typ, r.ID)
	if connector == "" || typ == "" {
		return st, fmt.Errorf("%s: empty connector or type", what)
	}
	if err := checkLayout(layout); err != nil {
		return st, fmt.Errorf("%s: %w", what, err)
	}
	if err := ctxErr(ctx, what); err != nil {
		return st, err
	}
	p, err := prepare(r, typ, layout, 0, true)
	if err != nil {
		return st, fmt.Errorf("%s: %w", what, err)
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		st = WriteStats{}
		t, err := openTypeRW(tx, connector, typ, layout)
		if err != nil {
			return err
		}
		gen := t.maxGen
		if old := t.row.Get(p.id); old != nil {
			oldGen, err := rowGeneration(old)
			if err != nil {
				return err
			}
			if mark, _ := rowRemoved(old); mark == 0 {
				gen = oldGen
			} else {
				gen = max(gen, oldGen)
			}
		}
		binary.BigEndian.PutUint64(p.row, gen) // p.row is fresh and not yet Put
		res, restored, err := t.put(&p)
		if err != nil {
			return err
		}
		st.count(res, restored)
		t.maxGen = max(t.maxGen, gen)
		return t.save(tx)
	})
	if err != nil {
		return WriteStats{}, fmt.Errorf("%s: %w", what, err)
	}
	return st, nil
}

// DeleteRecords deletes the given records of typ with their rows and index
// entries, in one transaction (for example after the user deleted them on
// the server). IDs that do not exist are skipped; it returns how many
// records were deleted.
func (s *Store) DeleteRecords(ctx context.Context, connector, typ string, ids []string) (int, error) {
	what := fmt.Sprintf("delete records %s/%s", connector, typ)
	if err := ctxErr(ctx, what); err != nil {
		return 0, err
	}
	deleted := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		deleted = 0
		tb := typeBucket(tx, connector, typ)
		if tb == nil || len(ids) == 0 {
			return nil
		}
		t, err := loadType(tb, typ)
		if err != nil {
			return err
		}
		for i, id := range ids {
			if i%256 == 255 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			if id == "" {
				continue
			}
			existed, err := t.remove([]byte(id))
			if err != nil {
				return err
			}
			if existed {
				deleted++
			}
		}
		gone := make([][]byte, len(ids))
		for i, id := range ids {
			gone[i] = []byte(id)
		}
		if err := dropLinksOf(tx, connector, gone); err != nil {
			return err
		}
		if deleted == 0 {
			return nil
		}
		return t.save(tx)
	})
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	return deleted, nil
}

// walkChunks walks the rows of typ in ID order in write transactions. Each
// transaction collects the IDs of up to sweepChunk rows that pick selects
// and, once its cursor is done, passes them to apply, which changes them and
// the counters and returns how many it changed; the counters are saved if
// it changed any. The transaction that reaches the last row (or finds no
// type) also stores state as the state of stream (unless state is nil).
// walkChunks returns the sum of apply's counts, also when interrupted.
func (s *Store) walkChunks(ctx context.Context, what, connector, typ, stream string, state []byte,
	pick func(gen uint64, mark int64) bool, apply func(tx *bolt.Tx, t *typeBuckets, ids [][]byte) (int, error)) (int, error) {
	return s.walkChunksFunc(ctx, what, connector, typ, stream, state, pick, apply, nil)
}

// walkChunksFunc is walkChunks that calls committed (if not nil) after each
// transaction in which apply changed records has committed, so apply may
// collect what it changed and committed hand it on.
func (s *Store) walkChunksFunc(ctx context.Context, what, connector, typ, stream string, state []byte,
	pick func(gen uint64, mark int64) bool, apply func(tx *bolt.Tx, t *typeBuckets, ids [][]byte) (int, error),
	committed func()) (int, error) {
	total := 0
	var after []byte // last row key examined by the previous chunk
	for done := false; !done; {
		if err := ctxErr(ctx, what); err != nil {
			return total, err
		}
		n := 0
		var next []byte
		err := s.db.Update(func(tx *bolt.Tx) error {
			n, next, done = 0, nil, false
			tb := typeBucket(tx, connector, typ)
			if tb == nil {
				done = true
			} else {
				t, err := loadType(tb, typ)
				if err != nil {
					return err
				}
				// Collect the IDs first; change them after the cursor is done.
				c := t.row.Cursor()
				var k, v, last []byte
				if after == nil {
					k, v = c.First()
				} else if k, v = c.Seek(after); k != nil && bytes.Equal(k, after) {
					k, v = c.Next()
				}
				var ids [][]byte
				for scanned := 0; k != nil && len(ids) < sweepChunk; k, v = c.Next() {
					if scanned++; scanned%4096 == 0 {
						if err := ctx.Err(); err != nil {
							return err
						}
					}
					if len(v) < rowHeader {
						return fmt.Errorf("record %q: %w", k, errBadRow)
					}
					if pick(binary.BigEndian.Uint64(v), int64(binary.BigEndian.Uint64(v[8:]))) {
						ids = append(ids, bytes.Clone(k))
					}
					last = k
				}
				done = k == nil
				next = bytes.Clone(last)
				if len(ids) > 0 {
					if n, err = apply(tx, t, ids); err != nil {
						return err
					}
				}
				if n > 0 {
					if err := t.save(tx); err != nil {
						return err
					}
				}
			}
			if done && state != nil {
				return putStream(tx, connector, stream, state)
			}
			return nil
		})
		if err != nil {
			return total, fmt.Errorf("%s: %w", what, err)
		}
		if n > 0 && committed != nil {
			committed()
		}
		total += n
		if next != nil {
			after = next
		}
	}
	return total, nil
}

// encodeFinal encodes the final stream state of a chunked walk (nil if
// stream is empty).
func encodeFinal(stream string, final StreamState) ([]byte, error) {
	if stream == "" {
		return nil, nil
	}
	v, err := json.Marshal(final)
	if err != nil {
		return nil, fmt.Errorf("stream state: %w", err)
	}
	return v, nil
}

// removeAll returns an apply function of walkChunks that deletes the
// records with their links.
func removeAll(connector string) func(tx *bolt.Tx, t *typeBuckets, ids [][]byte) (int, error) {
	return func(tx *bolt.Tx, t *typeBuckets, ids [][]byte) (int, error) {
		n, err := removeRecords(t, ids)
		if err != nil {
			return n, err
		}
		return n, dropLinksOf(tx, connector, ids)
	}
}

// removeRecords deletes the records of ids that exist.
func removeRecords(t *typeBuckets, ids [][]byte) (int, error) {
	n := 0
	for _, id := range ids {
		existed, err := t.remove(id)
		if err != nil {
			return n, err
		}
		if existed {
			n++
		}
	}
	return n, nil
}

// Sweep deletes the records of typ stamped with a generation older than
// generation (those a full pull did not see again), marked removed or not,
// with their rows and index entries, in transactions of at most 1000
// deletions. The last transaction also stores final as the state of stream
// (unless stream is empty), so an interrupted sweep is finished by running
// it again.
func (s *Store) Sweep(ctx context.Context, connector, typ, stream string, generation uint64, final StreamState) (int, error) {
	what := fmt.Sprintf("sweep %s/%s", connector, typ)
	state, err := encodeFinal(stream, final)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	return s.walkChunks(ctx, what, connector, typ, stream, state,
		func(gen uint64, _ int64) bool { return gen < generation }, removeAll(connector))
}

// MarkRemoved is Sweep for a baseline pull: instead of deleting the records
// of typ stamped with a generation older than generation, it marks those not
// marked yet as removed at at (records already marked keep their time), in
// transactions of at most 1000 marks, and returns how many it marked. The
// records stay readable (Row.Removed, Record.Removed) until Purge deletes
// them or a write makes them present again. The last transaction also stores
// final as the state of stream (unless stream is empty); an interrupted run
// is finished by running it again.
func (s *Store) MarkRemoved(ctx context.Context, connector, typ, stream string, generation uint64, at time.Time, final StreamState) (marked int, err error) {
	return s.MarkRemovedFunc(ctx, connector, typ, stream, generation, at, final, nil)
}

// MarkRemovedFunc is MarkRemoved that also reports which records it marked:
// after each transaction commits, fn (if not nil) is called with the ids
// that transaction marked. An interrupted run has reported exactly the
// marks that were committed.
func (s *Store) MarkRemovedFunc(ctx context.Context, connector, typ, stream string, generation uint64, at time.Time, final StreamState,
	fn func(ids []string)) (marked int, err error) {
	what := fmt.Sprintf("mark removed %s/%s", connector, typ)
	mark, err := removedMark(at)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	state, err := encodeFinal(stream, final)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	var pending []string // marked by the transaction in progress
	var committed func()
	if fn != nil {
		committed = func() {
			if len(pending) > 0 {
				fn(pending)
			}
			pending = nil
		}
	}
	return s.walkChunksFunc(ctx, what, connector, typ, stream, state,
		func(gen uint64, m int64) bool { return gen < generation && m == 0 },
		func(tx *bolt.Tx, t *typeBuckets, ids [][]byte) (int, error) {
			pending = nil
			n := 0
			for _, id := range ids {
				v := t.row.Get(id)
				if v == nil {
					continue
				}
				if err := t.row.Put(id, withRemoved(v, mark)); err != nil {
					return n, err
				}
				n++
				if fn != nil {
					pending = append(pending, string(id))
				}
			}
			t.removed += n
			// Gone from the source: so are its relations.
			return n, dropLinksOf(tx, connector, ids)
		}, committed)
}

// Purge deletes the records of typ marked removed before removedBefore,
// with their rows and index entries, in transactions of at most 1000
// deletions, and returns how many it deleted. Present records are never
// purged; an interrupted purge is finished by running it again.
func (s *Store) Purge(ctx context.Context, connector, typ string, removedBefore time.Time) (purged int, err error) {
	what := fmt.Sprintf("purge %s/%s", connector, typ)
	cutoff := cutoffMark(removedBefore)
	return s.walkChunks(ctx, what, connector, typ, "", nil,
		func(_ uint64, m int64) bool { return m != 0 && m < cutoff }, removeAll(connector))
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

// Count returns how many records of typ the connector has (0 if none),
// records marked removed included.
func (s *Store) Count(ctx context.Context, connector, typ string) (int, error) {
	return s.metaCount(ctx, "count", connector, typ, keyCount)
}

// CountRemoved returns how many records of typ are marked removed (0 if
// none); they are part of Count.
func (s *Store) CountRemoved(ctx context.Context, connector, typ string) (int, error) {
	return s.metaCount(ctx, "count removed", connector, typ, keyRemoved)
}

// CountGeneration returns how many records of typ carry generation gen:
// the records a pull of that generation has written (or rewritten
// unchanged) so far. It reads every row.
func (s *Store) CountGeneration(ctx context.Context, connector, typ string, gen uint64) (int, error) {
	what := fmt.Sprintf("count generation %d of %s/%s", gen, connector, typ)
	n := 0
	err := s.db.View(func(tx *bolt.Tx) error {
		t, err := typeIn(tx, connector, typ)
		if err != nil || t == nil {
			return err
		}
		c := t.row.Cursor()
		i := 0
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if i++; i%4096 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			g, err := rowGeneration(v)
			if err != nil {
				return fmt.Errorf("record %q: %w", k, err)
			}
			if g == gen {
				n++
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	return n, nil
}

// metaCount reads one counter of a type's meta bucket.
func (s *Store) metaCount(ctx context.Context, what, connector, typ string, key []byte) (int, error) {
	if err := ctxErr(ctx, what); err != nil {
		return 0, err
	}
	n := 0
	err := s.db.View(func(tx *bolt.Tx) error {
		if tb := typeBucket(tx, connector, typ); tb != nil {
			if mb := tb.Bucket(bucketMeta); mb != nil {
				n = int(metaU64(mb, key))
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("%s %s/%s: %w", what, connector, typ, err)
	}
	return n, nil
}

// Get returns one record with its raw JSON, cells and removed mark (copied
// out of the transaction), or an error wrapping ErrNotFound.
func (s *Store) Get(ctx context.Context, connector, typ, id string) (Record, error) {
	what := fmt.Sprintf("get %s/%s/%s", connector, typ, id)
	if err := ctxErr(ctx, what); err != nil {
		return Record{}, err
	}
	var r Record
	err := s.db.View(func(tx *bolt.Tx) error {
		t, err := typeIn(tx, connector, typ)
		if err != nil {
			return err
		}
		if t == nil {
			return ErrNotFound
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
	raw := t.raw(id)
	rv := t.row.Get(id)
	if raw == nil || rv == nil {
		return Record{}, ErrNotFound
	}
	_, mark, cells, err := decodeRow(rv, nil)
	if err != nil {
		return Record{}, err
	}
	return Record{ID: string(id), Raw: json.RawMessage(bytes.Clone(raw)), Cells: cells, Removed: removedTime(mark)}, nil
}

// RowsByID returns the rows of the given IDs in the same order, skipping IDs
// that do not exist. Rows of records marked removed are included (with
// Removed set).
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
			_, mark, cells, err := decodeRow(rv, nil)
			if err != nil {
				return fmt.Errorf("record %q: %w", id, err)
			}
			out = append(out, Row{ID: id, Cells: cells, Removed: removedTime(mark)})
		}
		boundMap(tx)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}

// Each calls fn for every record of typ in ID order, records marked removed
// included (with Removed set). Records are read in
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
			t, err := typeIn(tx, connector, typ)
			if err != nil || t == nil {
				return err
			}
			c := t.row.Cursor()
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
					continue // a row without its record: reported by Check
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

// RecordsByID returns the records of the given IDs in the same order,
// skipping IDs that do not exist, in one read transaction.
func (s *Store) RecordsByID(ctx context.Context, connector, typ string, ids []string) ([]Record, error) {
	what := fmt.Sprintf("records by id %s/%s", connector, typ)
	if err := ctxErr(ctx, what); err != nil {
		return nil, err
	}
	out := make([]Record, 0, len(ids))
	err := s.db.View(func(tx *bolt.Tx) error {
		t, err := typeIn(tx, connector, typ)
		if err != nil || t == nil {
			return err
		}
		for i, id := range ids {
			if i%1024 == 1023 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			r, err := t.record([]byte(id))
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return fmt.Errorf("record %q: %w", id, err)
			}
			out = append(out, r)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}
