package sim

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// recordSet holds pre-marshalled records back to back, separated by commas,
// so that any page's "content" array body is one contiguous slice.
type recordSet struct {
	joined []byte // rec0,rec1,...,recN-1
	offs   []int  // offs[i] = start of record i; offs[n] = len(joined)+1
}

func newRecordSet(recs [][]byte) *recordSet {
	size := 0
	for _, r := range recs {
		size += len(r) + 1
	}
	rs := &recordSet{joined: make([]byte, 0, size), offs: make([]int, 0, len(recs)+1)}
	for i, r := range recs {
		if i > 0 {
			rs.joined = append(rs.joined, ',')
		}
		rs.offs = append(rs.offs, len(rs.joined))
		rs.joined = append(rs.joined, r...)
	}
	rs.offs = append(rs.offs, len(rs.joined)+1)
	return rs
}

func (rs *recordSet) len() int { return len(rs.offs) - 1 }

// span returns records [i, j) joined by commas (nil when empty).
func (rs *recordSet) span(i, j int) []byte {
	if i >= j {
		return nil
	}
	return rs.joined[rs.offs[i] : rs.offs[j]-1]
}

// records returns a copy of every record.
func (rs *recordSet) records() []json.RawMessage {
	out := make([]json.RawMessage, rs.len())
	for i := range out {
		out[i] = append(json.RawMessage(nil), rs.span(i, i+1)...)
	}
	return out
}

// Spring's page envelope, split around the content array.
const (
	pageHead   = `{"content":[`
	springSort = `{"sorted":false,"empty":true,"unsorted":true}`
)

var pageHeadBytes = []byte(pageHead)

// writePage writes page pageNo of size pageSize (clamped to maxSize) as the
// Spring page envelope, keys in the order the service sends them.
//
// When pageSize is clamped, pageable.pageSize echoes the size asked for
// while size, pageable.offset, totalPages, last and the content follow the
// size actually used, so pageable.pageSize and size disagree as they can on
// the real service: clients must trust content and last.
func (rs *recordSet) writePage(w http.ResponseWriter, pageNo, pageSize, maxSize int) {
	size := min(pageSize, maxSize)
	total := rs.len()
	totalPages := (total + size - 1) / size
	offset := int64(pageNo) * int64(size)
	from, to := total, total
	if offset < int64(total) {
		from = int(offset)
		to = min(from+size, total)
	}
	content := rs.span(from, to)
	n := to - from

	var tb [512]byte
	t := tb[:0]
	t = append(t, `],"pageable":{"pageNumber":`...)
	t = strconv.AppendInt(t, int64(pageNo), 10)
	t = append(t, `,"pageSize":`...)
	t = strconv.AppendInt(t, int64(pageSize), 10)
	t = append(t, `,"sort":`+springSort+`,"offset":`...)
	t = strconv.AppendInt(t, offset, 10)
	t = append(t, `,"paged":true,"unpaged":false},"totalPages":`...)
	t = strconv.AppendInt(t, int64(totalPages), 10)
	t = append(t, `,"totalElements":`...)
	t = strconv.AppendInt(t, int64(total), 10)
	t = append(t, `,"last":`...)
	t = strconv.AppendBool(t, pageNo+1 >= totalPages)
	t = append(t, `,"number":`...)
	t = strconv.AppendInt(t, int64(pageNo), 10)
	t = append(t, `,"size":`...)
	t = strconv.AppendInt(t, int64(size), 10)
	t = append(t, `,"numberOfElements":`...)
	t = strconv.AppendInt(t, int64(n), 10)
	t = append(t, `,"sort":`+springSort+`,"first":`...)
	t = strconv.AppendBool(t, pageNo == 0)
	t = append(t, `,"empty":`...)
	t = strconv.AppendBool(t, n == 0)
	t = append(t, '}')

	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(pageHead)+len(content)+len(t)))
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write(pageHeadBytes); err != nil {
		return
	}
	if _, err := w.Write(content); err != nil {
		return
	}
	_, _ = w.Write(t)
}
