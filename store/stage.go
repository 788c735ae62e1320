package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	gosync "sync"

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
//	stage   uint64 BE arrival -> op byte + uvarint len + id + (op 'b': uvarint
//	        len + row + uint64 BE blob key; op 's': uint64 BE removed mark;
//	        op 'p', written by schema 2: uvarint len + row + raw JSON)
//	blob    the staged records' raw bytes (see blob.go); the merge points
//	        the records at them instead of copying them
//	meta    ixpending -> 1 while indexes are being rebuilt: they are
//	        incomplete and the merge rebuilds them from the rows.
var (
	bucketStage     = []byte("stage")
	keyIndexPending = []byte("ixpending")
)

// Staged entry kinds.
const (
	stageBlobPut    = 'b'
	stagePut        = 'p' // raw bytes inline (schema 2); still merged
	stageDelete     = 'd'
	stageSoftDelete = 's'
)

// mergeChunk is how many records one MergeStaged transaction moves, and
// indexChunk how many index entries one index-building transaction puts
// (variables for tests).
var (
	mergeChunk = 50_000
	indexChunk = 100_000
)

// afterMergeChunk, if set (by tests), runs after each transaction that
// moves records; last is set after the last one.
var afterMergeChunk func(last bool)

// indexKeysInMemory bounds how many index keys a rebuild holds at once
// (about 60 bytes each): the columns are built in groups that fit.
const indexKeysInMemory = 1_000_000

// encodeStaged encodes one staged entry: mark is the blob key of a
// stageBlobPut and the removed mark of a stageSoftDelete.
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
	case stageBlobPut:
		b = binary.AppendUvarint(b, uint64(len(row)))
		b = append(b, row...)
		b = binary.BigEndian.AppendUint64(b, uint64(mark))
	case stageSoftDelete:
		b = binary.BigEndian.AppendUint64(b, uint64(mark))
	}
	return b
}

// stagedEntry is a decoded staged entry; its slices point into the value.
type stagedEntry struct {
	op       byte
	id       []byte
	row, raw []byte // raw: stagePut only
	blob     uint64 // stageBlobPut only
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
	case stagePut, stageBlobPut:
		n, w := binary.Uvarint(v[p:])
		if w <= 0 || uint64(len(v)-p-w) < n {
			return e, errBadStaged
		}
		p += w
		e.row, e.raw = v[p:p+int(n)], v[p+int(n):]
		if _, err := rowGeneration(e.row); err != nil {
			return e, err
		}
		if e.op == stageBlobPut {
			if len(e.raw) != 8 {
				return e, errBadStaged
			}
			e.blob, e.raw = binary.BigEndian.Uint64(e.raw), nil
			if e.blob == 0 {
				return e, errBadStaged
			}
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
// type's stage bucket, and the records' raw bytes to its blob bucket
// (inside writePage's transaction).
func stagePage(tb *bolt.Bucket, prep []preparedRecord, del, soft []string, softMark int64) error {
	sb, err := tb.CreateBucketIfNotExists(bucketStage)
	if err != nil {
		return err
	}
	raws := make([][]byte, len(prep))
	for i := range prep {
		raws[i] = prep[i].raw
	}
	blobs, err := appendBlobs(tb, raws)
	if err != nil {
		return fmt.Errorf("stage record bodies: %w", err)
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
		if err := put(encodeStaged(stageBlobPut, prep[i].id, prep[i].row, nil, int64(blobs[i]))); err != nil {
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
		layout Layout
		// lastMtx is the transaction that last wrote the type as far as
		// the merge knows; interleaved, that another writer came between
		// two of its transactions (the keys read from the stage may then
		// miss what it wrote).
		lastMtx     uint64
		interleaved bool
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
		layout, lastMtx = t.layout, t.mtx()
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
			case stagePut, stageBlobPut:
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

	// In bulk, the staged puts are all the type will hold: their index
	// keys are read from the stage and sorted on the side while the
	// records move (if they fit in memory).
	var keysJob *sortedKeysJob
	if bulk {
		final := 0
		for i := range refs {
			if refs[i].put != 0 && !refs[i].deleted {
				final++
			}
		}
		if cols := len(layout.Columns); cols > 0 && final*cols <= indexKeysInMemory {
			keysJob = &sortedKeysJob{ch: make(chan sortedKeys, 1)}
			go func() { keysJob.ch <- s.stagedIndexKeys(ctx, connector, typ, layout, refs, final) }()
			defer keysJob.wait() // the reader ends before the merge returns
		}
	}

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
			interleaved = interleaved || t.mtx() != lastMtx
			if bulk {
				if err := t.meta.Put(keyIndexPending, []byte{1}); err != nil {
					return err
				}
				if err := t.refBuckets(tb); err != nil {
					return err
				}
				t.rec.FillPercent, t.row.FillPercent, t.recref.FillPercent = 1, 1, 1
			}
			for i := range chunk {
				if i%1024 == 1023 {
					if err := ctx.Err(); err != nil {
						return err
					}
				}
				if err := mergeOne(tb, t, sb, &chunk[i], bulk); err != nil {
					return fmt.Errorf("record %q: %w", chunk[i].id, err)
				}
			}
			lastMtx = uint64(tx.ID())
			return t.save(tx)
		})
		if err != nil {
			return 0, fmt.Errorf("%s: %w", what, err)
		}
		s.trimMap()
		if afterMergeChunk != nil {
			afterMergeChunk(start+mergeChunk >= len(refs))
		}
	}

	// 3. Build the indexes from the rows (bulk), then drop the stage.
	if bulk {
		var keys [][][]byte
		if keysJob != nil {
			res := keysJob.wait()
			if res.err != nil {
				return 0, fmt.Errorf("%s: index keys: %w", what, res.err)
			}
			if !interleaved {
				keys = res.keys
			}
		}
		if err := s.rebuildIndexes(ctx, connector, typ, keys, lastMtx); err != nil {
			return 0, fmt.Errorf("%s: %w", what, err)
		}
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		tb := typeBucket(tx, connector, typ)
		t, err := loadType(tb, typ)
		if err != nil {
			return err
		}
		if sb := tb.Bucket(bucketStage); sb != nil {
			if err := dropStagedBlobs(t, sb); err != nil {
				return err
			}
			if err := tb.DeleteBucket(bucketStage); err != nil {
				return err
			}
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
func mergeOne(tb *bolt.Bucket, t *typeBuckets, sb *bolt.Bucket, r *stagedRef, bulk bool) error {
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
	if err != nil || e.op != stagePut && e.op != stageBlobPut {
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
		row = bytes.Clone(row) // v is not valid after the Puts below
		switch {
		case e.op == stageBlobPut && old == nil:
			// Nothing stored under id: no bytes or blob to drop.
			if err := t.recref.Put(id, u64(e.blob)); err != nil {
				return err
			}
		case e.op == stageBlobPut:
			if err := t.putRef(tb, id, e.blob); err != nil {
				return err
			}
		default:
			if err := t.putRaw(id, bytes.Clone(e.raw)); err != nil {
				return err
			}
		}
		return t.row.Put(id, row)
	}
	if e.op == stageBlobPut {
		// Into a type that had records: the bytes go into rec like any
		// put's; the blob is dropped with the stage (dropStagedBlobs).
		if e.raw = t.blob.Get(u64(e.blob)); e.raw == nil {
			return fmt.Errorf("staged entry %d: %w", r.put, errMissingBlob)
		}
	}
	gen, err := rowGeneration(row)
	if err != nil {
		return err
	}
	_, _, cells, err := decodeRow(row, nil)
	if err != nil {
		return err
	}
	p, err := prepare(Record{ID: r.id, Raw: e.raw, Cells: cells}, "", t.layout, gen, true)
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
	return t.deleteRaw(id)
}

// dropStagedBlobs deletes the blobs of staged puts that no record points
// at (a later put or a deletion superseded them, or the merge copied the
// bytes into rec). It runs in the transaction that drops the stage, so
// until then every staged put's blob is there for a merge run again.
func dropStagedBlobs(t *typeBuckets, sb *bolt.Bucket) error {
	if t.blob == nil {
		return nil
	}
	var gone [][]byte
	c := sb.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		e, err := decodeStaged(v)
		if err != nil {
			return fmt.Errorf("staged entry %x: %w", k, err)
		}
		if e.op != stageBlobPut {
			continue
		}
		if t.recref != nil {
			if ref := t.recref.Get(e.id); len(ref) == 8 && binary.BigEndian.Uint64(ref) == e.blob {
				continue
			}
		}
		gone = append(gone, u64(e.blob))
	}
	for _, k := range gone {
		if err := t.blob.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// rebuildIndexes drops a type's indexes and builds each again from the
// rows, sorted, in chunks; the meta key ixpending marks the type until the
// last one is in. sorted, if not nil, holds every column's keys, sorted,
// as of the type's write transaction sortedAt: unless another one wrote the
// type since, they are put as they are instead of read from the rows.
//
// Another writer (PutRecord) may write the type between these
// transactions; keys read before it would then be stale. Every transaction
// checks that the type's mtx is still the one the keys were read at; if
// not, the rebuild starts over from the rows, and after rebuildAttempts
// such starts it rebuilds in one transaction.
func (s *Store) rebuildIndexes(ctx context.Context, connector, typ string, sorted [][][]byte, sortedAt uint64) error {
	apart := txRunner{update: s.db.Update, view: s.db.View, between: func() {
		s.trimMap()
		if afterIndexChunk != nil {
			afterIndexChunk()
		}
	}}
	for attempt := 1; attempt <= rebuildAttempts; attempt++ {
		err := s.rebuildIndexesWith(ctx, apart, connector, typ, sorted, sortedAt)
		if !errors.Is(err, errInterleaved) {
			return err
		}
		sorted = nil
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		in := func(fn func(*bolt.Tx) error) error { return fn(tx) }
		return s.rebuildIndexesWith(ctx, txRunner{update: in, view: in, between: func() {}}, connector, typ, nil, 0)
	})
}

// rebuildAttempts is how many times rebuildIndexes builds the indexes in
// several transactions before it uses one.
const rebuildAttempts = 2

// errInterleaved: another writer wrote the type while its indexes were
// being rebuilt.
var errInterleaved = errors.New("the type was written during the index rebuild")

// afterIndexChunk, if set (by tests), runs after each transaction that puts
// index entries (not when the rebuild is one transaction).
var afterIndexChunk func()

// txRunner runs the steps of an index rebuild: each in its own transaction,
// or all in one.
type txRunner struct {
	update, view func(func(*bolt.Tx) error) error
	between      func() // after each write
}

func (s *Store) rebuildIndexesWith(ctx context.Context, run txRunner, connector, typ string, sorted [][][]byte, sortedAt uint64) error {
	var (
		layout Layout
		base   uint64 // the type's mtx: it changes when another writer writes
		n      int
	)
	err := run.update(func(tx *bolt.Tx) error {
		tb := typeBucket(tx, connector, typ)
		t, err := loadType(tb, typ)
		if err != nil {
			return err
		}
		layout, base, n = t.layout, t.mtx(), t.n
		if base != sortedAt {
			sorted = nil
		}
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
	cols := len(layout.Columns)
	if sorted != nil && len(sorted) == cols {
		return s.putIndexKeys(ctx, run, connector, typ, base, 0, sorted, true)
	}
	// Columns are built in groups whose keys fit in indexKeysInMemory:
	// one scan of the rows per group, the group's columns sorted side by
	// side, then put in key order, a column after another.
	group := max(1, min(cols, indexKeysInMemory/max(n, 1)))
	for first := 0; first < cols; first += group {
		last := min(first+group, cols)
		keys, err := s.indexKeys(ctx, run, connector, typ, base, layout, first, last)
		if err != nil {
			return err
		}
		sortColumns(keys)
		if err := s.putIndexKeys(ctx, run, connector, typ, base, first, keys, last == cols); err != nil {
			return err
		}
	}
	if cols == 0 {
		return run.update(func(tx *bolt.Tx) error {
			t, err := loadType(typeBucket(tx, connector, typ), typ)
			if err != nil {
				return err
			}
			return t.meta.Delete(keyIndexPending)
		})
	}
	return nil
}

// loadAt opens a type's buckets and fails with errInterleaved unless its
// mtx is still base.
func loadAt(tx *bolt.Tx, connector, typ string, base uint64) (*typeBuckets, error) {
	t, err := loadType(typeBucket(tx, connector, typ), typ)
	if err != nil {
		return nil, err
	}
	if t.mtx() != base {
		return nil, errInterleaved
	}
	return t, nil
}

// indexKeys reads the rows once and returns the index keys of columns
// first up to last (unsorted), a slice per column.
func (s *Store) indexKeys(ctx context.Context, run txRunner, connector, typ string, base uint64, layout Layout, first, last int) ([][][]byte, error) {
	keys := make([][][]byte, last-first)
	err := run.view(func(tx *bolt.Tx) error {
		t, err := loadAt(tx, connector, typ, base)
		if err != nil {
			return err
		}
		for i := range keys {
			keys[i] = make([][]byte, 0, t.n)
		}
		c := t.row.Cursor()
		var cells []string
		n := 0
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if n++; n%4096 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			_, _, cells, err = decodeRow(v, cells[:0])
			if err != nil {
				return fmt.Errorf("record %q: %w", k, err)
			}
			if len(cells) != len(layout.Columns) {
				return fmt.Errorf("record %q has %d cells, layout has %d columns", k, len(cells), len(layout.Columns))
			}
			id := string(k)
			for i := range keys {
				keys[i] = append(keys[i], indexKey(layout.Columns[first+i], cells[first+i], id))
			}
		}
		return nil
	})
	return keys, err
}

// putIndexKeys puts the sorted keys of columns first, first+1, ... into
// their index buckets, indexChunk entries a transaction. With final set,
// the last transaction also clears ixpending.
func (s *Store) putIndexKeys(ctx context.Context, run txRunner, connector, typ string, base uint64, first int, keys [][][]byte, final bool) error {
	col, at := 0, 0
	for {
		err := run.update(func(tx *bolt.Tx) error {
			t, err := loadAt(tx, connector, typ, base)
			if err != nil {
				return err
			}
			tb := typeBucket(tx, connector, typ)
			for budget := indexChunk; col < len(keys) && budget > 0; {
				ix := tb.Bucket(ixName(first + col))
				ix.FillPercent = 1
				end := min(at+budget, len(keys[col]))
				for _, k := range keys[col][at:end] {
					if err := ix.Put(k, nil); err != nil {
						return fmt.Errorf("index column %d: %w", first+col, err)
					}
				}
				budget -= end - at
				if at = end; at == len(keys[col]) {
					col, at = col+1, 0
				}
			}
			if col < len(keys) || !final {
				return ctxErr(ctx, "index")
			}
			if err := t.meta.Delete(keyIndexPending); err != nil {
				return err
			}
			return t.save(tx)
		})
		if err != nil {
			return err
		}
		run.between()
		if col == len(keys) {
			return nil
		}
	}
}

// sortColumns sorts each column's keys, the columns side by side.
func sortColumns(keys [][][]byte) {
	var wg gosync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i := range keys {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			slices.SortFunc(keys[i], bytes.Compare)
		}()
	}
	wg.Wait()
}

// sortedKeys is every column's index keys, sorted, or why not.
type sortedKeys struct {
	keys [][][]byte
	err  error
}

// sortedKeysJob is a stagedIndexKeys running on the side.
type sortedKeysJob struct {
	ch   chan sortedKeys
	res  sortedKeys
	done bool
}

// wait returns the job's result (it can be called again).
func (j *sortedKeysJob) wait() sortedKeys {
	if !j.done {
		j.res, j.done = <-j.ch, true
	}
	return j.res
}

// stagedIndexKeys reads the rows of the staged records that a bulk merge
// keeps (refs in id order; final of them) from the stage and returns every
// column's index keys, sorted.
func (s *Store) stagedIndexKeys(ctx context.Context, connector, typ string, layout Layout, refs []stagedRef, final int) sortedKeys {
	keys := make([][][]byte, len(layout.Columns))
	for i := range keys {
		keys[i] = make([][]byte, 0, final)
	}
	err := s.db.View(func(tx *bolt.Tx) error {
		sb := typeBucket(tx, connector, typ).Bucket(bucketStage)
		var cells []string
		for i := range refs {
			r := &refs[i]
			if r.put == 0 || r.deleted {
				continue
			}
			if i%4096 == 4095 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			e, err := decodeStaged(sb.Get(u64(r.put)))
			if err != nil {
				return fmt.Errorf("staged entry %d: %w", r.put, err)
			}
			if _, _, cells, err = decodeRow(e.row, cells[:0]); err != nil {
				return fmt.Errorf("record %q: %w", r.id, err)
			}
			if len(cells) != len(keys) {
				return fmt.Errorf("record %q has %d cells, layout has %d columns", r.id, len(cells), len(keys))
			}
			for c := range keys {
				keys[c] = append(keys[c], indexKey(layout.Columns[c], cells[c], r.id))
			}
		}
		return nil
	})
	if err != nil {
		return sortedKeys{err: err}
	}
	sortColumns(keys)
	return sortedKeys{keys: keys}
}
