package sim

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// entry is one served record. raw is never modified once stored: a change
// stores a new entry, so readers may keep raw after releasing the lock.
type entry struct {
	id      string // the record's "uuid"
	raw     []byte // the served bytes
	updated int64  // the record's update time, Unix nanoseconds (0: none)
	acct    string // AWS cloudAccountId, Azure subscriptionId ("" for tenant-level records)
}

// store is a list of pre-marshalled records in served order, safe for
// concurrent use. Pages are cut under the read lock, so every page is a
// consistent snapshot; writers replace whole entries.
type store struct {
	mu     sync.RWMutex
	list   []*entry
	byID   map[string]*entry
	sorted bool // kept in marker order (updated ms, then id): AWS inventory
}

func newStore(recs []*entry, sorted bool) *store {
	st := &store{list: recs, byID: make(map[string]*entry, len(recs)), sorted: sorted}
	for _, e := range recs {
		if st.byID[e.id] != nil {
			panic("sim: duplicate record id " + e.id)
		}
		st.byID[e.id] = e
	}
	if sorted {
		slices.SortFunc(st.list, compareMarker)
	}
	return st
}

// compareMarker orders entries as the inventory's search_after marker does:
// by update time in milliseconds, then by uuid.
func compareMarker(a, b *entry) int {
	if c := cmpInt(a.updated/1e6, b.updated/1e6); c != 0 {
		return c
	}
	return strings.Compare(a.id, b.id)
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// records returns a copy of every record in served order.
func (st *store) records() []json.RawMessage {
	st.mu.RLock()
	defer st.mu.RUnlock()
	out := make([]json.RawMessage, len(st.list))
	for i, e := range st.list {
		out[i] = append(json.RawMessage(nil), e.raw...)
	}
	return out
}

// get returns the entry with id, or nil.
func (st *store) get(id string) *entry {
	st.mu.RLock()
	defer st.mu.RUnlock()
	return st.byID[id]
}

// ids returns the ids in served order.
func (st *store) ids() []string {
	st.mu.RLock()
	defer st.mu.RUnlock()
	out := make([]string, len(st.list))
	for i, e := range st.list {
		out[i] = e.id
	}
	return out
}

// Writers hold st.mu.

// putLocked replaces the entry with e.id in place, or appends e.
func (st *store) putLocked(e *entry) {
	if old := st.byID[e.id]; old != nil {
		if i := slices.Index(st.list, old); i >= 0 {
			st.list[i] = e
		}
	} else {
		st.list = append(st.list, e)
	}
	st.byID[e.id] = e
}

// removeLocked deletes the entries with the given ids (unknown ids are
// ignored) in one pass.
func (st *store) removeLocked(ids []string) {
	gone := make(map[*entry]bool, len(ids))
	for _, id := range ids {
		if e := st.byID[id]; e != nil {
			gone[e] = true
			delete(st.byID, id)
		}
	}
	if len(gone) > 0 {
		st.list = slices.DeleteFunc(st.list, func(e *entry) bool { return gone[e] })
	}
}

// resortLocked restores marker order after changes.
func (st *store) resortLocked() {
	if st.sorted {
		slices.SortStableFunc(st.list, compareMarker)
	}
}

// page returns the records [from, from+n) of those matching (all when
// match is nil), and how many match.
func (st *store) page(match func(*entry) bool, from, n int) (recs [][]byte, total int) {
	st.mu.RLock()
	defer st.mu.RUnlock()
	if match == nil {
		total = len(st.list)
		if from < total {
			page := st.list[from:min(from+n, total)]
			recs = make([][]byte, len(page))
			for i, e := range page {
				recs[i] = e.raw
			}
		}
		return recs, total
	}
	for _, e := range st.list {
		if !match(e) {
			continue
		}
		if total >= from && total-from < n {
			if recs == nil {
				recs = make([][]byte, 0, min(n, 256))
			}
			recs = append(recs, e.raw)
		}
		total++
	}
	return recs, total
}

// Spring's page envelope, split around the content array.
const (
	pageHead   = `{"content":[`
	springSort = `{"sorted":false,"empty":true,"unsorted":true}`
)

// pageSpan is the part of a list a Spring page request selects.
type pageSpan struct {
	pageNo, asked, size int   // size: asked clamped to the maximum
	offset              int64 // first record's index
}

func newPageSpan(pageNo, pageSize, maxSize int) pageSpan {
	size := min(pageSize, maxSize)
	return pageSpan{pageNo: pageNo, asked: pageSize, size: size, offset: int64(pageNo) * int64(size)}
}

// from is the offset as an index, or an index past any list when the
// offset overflows one.
func (p pageSpan) from() int {
	const past = 1 << 40
	return int(min(p.offset, past))
}

// writeSpringPage writes recs (the page's records) as the Spring page
// envelope, keys in the order the service sends them, for a list of total
// records.
//
// When pageSize is clamped, pageable.pageSize echoes the size asked for
// while size, pageable.offset, totalPages, last and the content follow the
// size actually used, so pageable.pageSize and size disagree as they can on
// the real service: clients must trust content and last.
func writeSpringPage(w http.ResponseWriter, p pageSpan, recs [][]byte, total int) {
	totalPages := (total + p.size - 1) / p.size
	n := len(recs)

	var tb [512]byte
	t := tb[:0]
	t = append(t, `],"pageable":{"pageNumber":`...)
	t = strconv.AppendInt(t, int64(p.pageNo), 10)
	t = append(t, `,"pageSize":`...)
	t = strconv.AppendInt(t, int64(p.asked), 10)
	t = append(t, `,"sort":`+springSort+`,"offset":`...)
	t = strconv.AppendInt(t, p.offset, 10)
	t = append(t, `,"paged":true,"unpaged":false},"totalPages":`...)
	t = strconv.AppendInt(t, int64(totalPages), 10)
	t = append(t, `,"totalElements":`...)
	t = strconv.AppendInt(t, int64(total), 10)
	t = append(t, `,"last":`...)
	t = strconv.AppendBool(t, p.pageNo+1 >= totalPages)
	t = append(t, `,"number":`...)
	t = strconv.AppendInt(t, int64(p.pageNo), 10)
	t = append(t, `,"size":`...)
	t = strconv.AppendInt(t, int64(p.size), 10)
	t = append(t, `,"numberOfElements":`...)
	t = strconv.AppendInt(t, int64(n), 10)
	t = append(t, `,"sort":`+springSort+`,"first":`...)
	t = strconv.AppendBool(t, p.pageNo == 0)
	t = append(t, `,"empty":`...)
	t = strconv.AppendBool(t, n == 0)
	t = append(t, '}')

	writeJSONParts(w, http.StatusOK, []byte(pageHead), recs, t)
}

// pageBufs are writeJSONParts' write buffers.
var pageBufs = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

// writeJSONParts writes head, the records joined by commas, and tail as
// one application/json body with a Content-Length. Records are gathered
// into a pooled buffer so that a page costs few writes and no garbage.
func writeJSONParts(w http.ResponseWriter, code int, head []byte, recs [][]byte, tail []byte) {
	size := len(head) + len(tail) + max(0, len(recs)-1)
	for _, r := range recs {
		size += len(r)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(size))
	w.WriteHeader(code)

	bp := pageBufs.Get().(*[]byte)
	defer pageBufs.Put(bp)
	buf := (*bp)[:0]
	failed := false
	put := func(p []byte) {
		if failed {
			return
		}
		if len(buf)+len(p) > cap(buf) {
			if _, err := w.Write(buf); err != nil {
				failed = true
				return
			}
			buf = buf[:0]
			if len(p) > cap(buf) {
				_, err := w.Write(p)
				failed = err != nil
				return
			}
		}
		buf = append(buf, p...)
	}
	put(head)
	for i, r := range recs {
		if i > 0 {
			put(comma)
		}
		put(r)
	}
	put(tail)
	if !failed && len(buf) > 0 {
		_, _ = w.Write(buf)
	}
}

var comma = []byte{','}

// writeJSON writes one pre-marshalled JSON document.
func writeJSON(w http.ResponseWriter, code int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	_, _ = w.Write(body)
}
