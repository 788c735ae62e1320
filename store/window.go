package store

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
	"unsafe"

	bolt "go.etcd.io/bbolt"
)

// anchorEvery is the spacing, in index positions, of cached window anchors.
const anchorEvery = 256

// anchorKey names one walk order of one type.
type anchorKey struct {
	connector, typ string
	column         int
	desc           bool
}

// anchorEntry holds keys[i] = the index key at position i*anchorEvery of one
// order, valid for the snapshot in which the type was last written by
// transaction mtx.
type anchorEntry struct {
	mtx  uint64
	keys [][]byte
}

// mapLimit bounds the bytes of file pages mapped into this process (on
// Linux: the "shared" pages of /proc/self/statm) that reads leave behind:
// past it, the process's mappings of the store's memory map are dropped
// (releaseMap). Every page a read touches counts in the resident set (with
// the neighbours the kernel maps around each fault, up to 16 pages),
// although it is the kernel's page cache; without a bound one filter over
// a million rows, or a long session of scrolling, maps most of the file.
// It is high enough for the row pages of a type of a few hundred thousand
// records, written as a first pull writes them (a type's rows in pages of
// their own), to stay mapped between filter keystrokes (mapping them again
// costs more than scanning them), and low enough that browsing a million
// records stays under 200 MB.
const mapLimit = 128 << 20

// anchorCache remembers, per order, the index key at every 256th position,
// so a window at offset N starts with a Seek and at most 255 steps instead
// of N steps. Entries are tagged with the type's last-writer transaction ID
// read inside the reader's own transaction, so anchors from one snapshot are
// never applied to another.
type anchorCache struct {
	mu sync.Mutex
	m  map[anchorKey]*anchorEntry
}

// trimMap runs boundMap between write transactions: a sync reads most of a
// big store's pages (to insert, to merge a stage, to rebuild an index), and
// each page read stays mapped, in the resident set, until dropped.
func (s *Store) trimMap() {
	_ = s.db.View(func(tx *bolt.Tx) error {
		boundMap(tx)
		return nil
	})
}

// boundMap drops the process's mappings of the store's memory map when
// more than mapLimit bytes of file pages are mapped. It looks at most every
// mapCheckEvery (the count is process-wide, and reading it costs tens of
// microseconds, more than a small window). It must run inside the open
// read transaction tx.
func boundMap(tx *bolt.Tx) {
	now := time.Now().UnixNano()
	if last := lastMapCheck.Load(); now-last < int64(mapCheckEvery) || !lastMapCheck.CompareAndSwap(last, now) {
		return
	}
	if mappedFileBytes() > mapLimit {
		releaseMap(tx)
	}
}

// mapCheckEvery spaces boundMap's looks at the mapped size.
const mapCheckEvery = 10 * time.Millisecond

// lastMapCheck is when boundMap last looked (Unix nanoseconds).
var lastMapCheck atomic.Int64

// get returns the anchors valid for mtx. The returned slice is never
// modified (the cache only appends past its length).
func (a *anchorCache) get(k anchorKey, mtx uint64) [][]byte {
	a.mu.Lock()
	defer a.mu.Unlock()
	e := a.m[k]
	if e == nil || e.mtx != mtx {
		return nil
	}
	return e.keys[:len(e.keys):len(e.keys)]
}

// add records keys as the anchors from index from on, for snapshot mtx.
// Anchors of an older snapshot are dropped; those of a newer one are kept.
func (a *anchorCache) add(k anchorKey, mtx uint64, from int, keys [][]byte) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.m == nil {
		a.m = make(map[anchorKey]*anchorEntry)
	}
	e := a.m[k]
	if e == nil || e.mtx < mtx {
		e = &anchorEntry{mtx: mtx}
		a.m[k] = e
	}
	if e.mtx != mtx {
		return
	}
	for i, key := range keys {
		if from+i == len(e.keys) {
			e.keys = append(e.keys, key)
		}
	}
}

// dropConnector forgets the anchors of a deleted connector.
func (a *anchorCache) dropConnector(connector string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for k := range a.m {
		if k.connector == connector {
			delete(a.m, k)
		}
	}
}

// Rows returns up to n rows of typ in the order o, starting at position
// offset (0-based). A window past the end returns fewer rows (or none).
// Records marked removed are included (with Removed set).
//
// It walks the column's index with a cursor from the nearest cached anchor
// at or before offset, so after a first walk any window costs a Seek, at
// most 255 steps and n row lookups. A window nearer the end of the index
// than to any anchor of o is read walking the opposite order from its
// start (the type's count says where the window lies in it), so a jump to
// the end of a large list does not walk it all.
func (s *Store) Rows(ctx context.Context, connector, typ string, o Order, offset, n int) ([]Row, error) {
	what := fmt.Sprintf("rows %s/%s", connector, typ)
	if offset < 0 || n < 0 {
		return nil, fmt.Errorf("%s: negative offset %d or count %d", what, offset, n)
	}
	if err := ctxErr(ctx, what); err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, nil
	}
	var out []Row
	err := s.db.View(func(tx *bolt.Tx) error {
		t, err := typeIn(tx, connector, typ)
		if err != nil || t == nil {
			return err
		}
		if o.Column < 0 || o.Column >= len(t.layout.Columns) {
			return fmt.Errorf("order column %d out of range (type has %d columns)", o.Column, len(t.layout.Columns))
		}
		w := walker{s: s, ctx: ctx, tx: tx, t: t, mtx: t.mtx(), connector: connector, typ: typ}
		if total := t.count(); offset < total {
			end := offset + min(n, total-offset)
			back := Order{Column: o.Column, Desc: !o.Desc}
			if w.steps(back, total-end) < w.steps(o, offset) {
				out, err = w.window(back, total-end, end-offset)
				slices.Reverse(out)
				return err
			}
		}
		out, err = w.window(o, offset, n)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}

// walker reads windows of one type inside one read transaction.
type walker struct {
	s              *Store
	ctx            context.Context
	tx             *bolt.Tx
	t              *typeBuckets
	mtx            uint64
	connector, typ string
}

func (w walker) anchorKey(o Order) anchorKey {
	return anchorKey{connector: w.connector, typ: w.typ, column: o.Column, desc: o.Desc}
}

// steps is how many index entries a walk to offset in order o passes
// before it reaches the window, given the anchors cached so far.
func (w walker) steps(o Order, offset int) int {
	anchors := w.s.anchors.get(w.anchorKey(o), w.mtx)
	if ai := min(offset/anchorEvery, len(anchors)-1); ai >= 0 {
		return offset - ai*anchorEvery
	}
	return offset
}

// window returns up to n rows from position offset of order o, adding the
// anchors it passes to the cache.
func (w walker) window(o Order, offset, n int) ([]Row, error) {
	t := w.t
	kind := t.layout.Columns[o.Column]
	ak := w.anchorKey(o)
	anchors := w.s.anchors.get(ak, w.mtx)

	c := t.ix[o.Column].Cursor()
	first, next := c.First, c.Next
	if o.Desc {
		first, next = c.Last, c.Prev
	}
	var k []byte
	pos := 0
	if ai := min(offset/anchorEvery, len(anchors)-1); ai >= 0 {
		if k, _ = c.Seek(anchors[ai]); bytes.Equal(k, anchors[ai]) {
			pos = ai * anchorEvery
		} else {
			k, anchors = nil, nil // cannot happen for a matching mtx; walk from the start
		}
	}
	if k == nil && pos == 0 {
		k, _ = first()
	}
	from := len(anchors)
	var fresh [][]byte
	out := make([]Row, 0, min(n, 1024))
	end := offset + n
	if end < offset { // overflow
		end = math.MaxInt
	}
	for ; k != nil && pos < end; k, _ = next() {
		if pos%anchorEvery == 0 && pos/anchorEvery == from+len(fresh) {
			fresh = append(fresh, bytes.Clone(k))
		}
		if pos >= offset {
			id, ok := idFromIndexKey(kind, k)
			if !ok {
				return nil, fmt.Errorf("malformed index key %q in column %d", k, o.Column)
			}
			rv := t.row.Get(id)
			if rv == nil {
				return nil, fmt.Errorf("index entry of record %q in column %d has no row", id, o.Column)
			}
			_, mark, cells, err := decodeRow(rv, nil)
			if err != nil {
				return nil, fmt.Errorf("record %q: %w", id, err)
			}
			out = append(out, Row{ID: string(id), Cells: cells, Removed: removedTime(mark)})
		}
		pos++
		if pos%4096 == 0 {
			if err := w.ctx.Err(); err != nil {
				return nil, err
			}
		}
	}
	if len(fresh) > 0 {
		w.s.anchors.add(ak, w.mtx, from, fresh)
	}
	boundMap(w.tx)
	return out, nil
}

// Match returns the IDs of the records of typ whose cells satisfy pred, in
// the order o (the same order Rows uses), records marked removed included.
// It scans every row once in one read transaction, keeping only the sort key
// and ID of each match.
//
// pred must not use the store. The cells passed to it are only valid during
// the call: the slice is reused, and so is the memory of its strings (they
// are read from the row without a copy per row); keep a cell with
// strings.Clone. A nil pred matches all.
func (s *Store) Match(ctx context.Context, connector, typ string, o Order, pred func(cells []string) bool) ([]string, error) {
	if pred == nil {
		return s.MatchRows(ctx, connector, typ, o, nil)
	}
	return s.MatchRows(ctx, connector, typ, o, func(cells []string, _ bool) bool { return pred(cells) })
}

// MatchRows is Match with a predicate that also sees whether the record is
// marked removed (for example to hide removed records or list only them).
func (s *Store) MatchRows(ctx context.Context, connector, typ string, o Order, pred func(cells []string, removed bool) bool) ([]string, error) {
	what := fmt.Sprintf("match %s/%s", connector, typ)
	if err := ctxErr(ctx, what); err != nil {
		return nil, err
	}
	// Matches are kept as (fixed key, or the first 8 bytes of the text key,
	// offset of the text key, offset of the ID) into one byte arena, not as
	// rows or per-match allocations.
	type hit struct {
		num          uint64
		key, id, end uint32
	}
	var (
		hits  []hit
		arena []byte
		kind  ColumnKind
	)
	err := s.db.View(func(tx *bolt.Tx) error {
		t, err := typeIn(tx, connector, typ)
		if err != nil || t == nil {
			return err
		}
		if o.Column < 0 || o.Column >= len(t.layout.Columns) {
			return fmt.Errorf("order column %d out of range (type has %d columns)", o.Column, len(t.layout.Columns))
		}
		kind = t.layout.Columns[o.Column]
		// Size the buffers up front: growing multi-megabyte slices costs
		// more (copies and fresh pages) than the scan itself.
		est := t.count()
		if pred != nil {
			est = est/8 + 64
		}
		hits = make([]hit, 0, est)
		arena = make([]byte, 0, est*24)
		var (
			cells []string
			buf   rowBuffer
		)
		defer boundMap(tx)
		c := t.row.Cursor()
		i := 0
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if i++; i%4096 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
				if i%65536 == 0 {
					boundMap(tx)
				}
			}
			var mark int64
			if mark, cells, err = buf.cells(v, cells); err != nil {
				return fmt.Errorf("record %q: %w", k, err)
			}
			if len(cells) != len(t.layout.Columns) {
				return fmt.Errorf("record %q has %d cells, want %d", k, len(cells), len(t.layout.Columns))
			}
			if pred != nil && !pred(cells, mark != 0) {
				continue
			}
			if len(arena) > math.MaxUint32-len(k)-2*maxTextKey {
				return fmt.Errorf("too many matches")
			}
			h := hit{key: uint32(len(arena))}
			if kind == Text {
				arena = appendTextKey(arena, cells[o.Column])
				h.num = keyPrefix(arena[h.key:])
			} else {
				h.num = fixedKey(kind, cells[o.Column])
			}
			h.id = uint32(len(arena))
			arena = append(arena, k...)
			h.end = uint32(len(arena))
			hits = append(hits, h)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	// The same order as the index keys: sort key, then ID. For text keys
	// num is their first 8 bytes, so most comparisons end there.
	slices.SortFunc(hits, func(a, b hit) int {
		if a.num != b.num {
			return cmp.Compare(a.num, b.num)
		}
		if r := bytes.Compare(arena[a.key:a.id], arena[b.key:b.id]); r != 0 {
			return r
		}
		return bytes.Compare(arena[a.id:a.end], arena[b.id:b.end])
	})
	ids := make([]string, len(hits))
	for i, h := range hits {
		ids[i] = string(arena[h.id:h.end])
	}
	if o.Desc {
		slices.Reverse(ids)
	}
	return ids, nil
}

// rowBuffer decodes row values for a scan without allocating per row: the
// cells are strings over one reused buffer, valid until the next call.
// (The buffer is ordinary heap memory, so a cell kept by mistake stays
// readable; it only shows a later row's bytes.)
type rowBuffer struct{ b []byte }

// cells decodes the removed mark and cells of row value v (as decodeRow),
// reusing dst.
func (rb *rowBuffer) cells(v []byte, dst []string) (removed int64, cells []string, err error) {
	if len(v) < rowHeader {
		return 0, nil, errBadRow
	}
	removed = int64(binary.BigEndian.Uint64(v[8:]))
	rb.b = append(rb.b[:0], v[rowHeader:]...)
	all := unsafe.String(unsafe.SliceData(rb.b), len(rb.b))
	cells = dst[:0]
	for p := 0; p < len(all); {
		l, n := uvarintString(all[p:])
		if n <= 0 || uint64(len(all)-p-n) < l {
			return 0, nil, fmt.Errorf("%w at byte %d", errBadRow, rowHeader+p)
		}
		p += n
		cells = append(cells, all[p:p+int(l)])
		p += int(l)
	}
	return removed, cells, nil
}

// appendTextKey appends textKey(cell) to dst, without allocating when the
// part of cell the key keeps is ASCII.
func appendTextKey(dst []byte, cell string) []byte {
	n := min(len(cell), maxTextKey)
	for i := range n {
		if cell[i] >= utf8.RuneSelf {
			return append(dst, textKey(cell)...)
		}
	}
	for i := range n {
		c := cell[i]
		switch {
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		case c == 0:
			c = 1
		}
		dst = append(dst, c)
	}
	return dst
}

// keyPrefix is the first 8 bytes of a text key as a big-endian number,
// zero-padded: text keys never hold a 0 byte, so comparing prefixes then
// whole keys is the keys' byte order.
func keyPrefix(k []byte) uint64 {
	var b [8]byte
	copy(b[:], k)
	return binary.BigEndian.Uint64(b[:])
}
