package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// maxTextKey is how many bytes of a lowercased Text cell its sort key keeps.
const maxTextKey = 64

// timeLayouts are the timestamp forms the APIs send, tried in order.
var timeLayouts = []string{
	time.RFC3339Nano, // also matches RFC 3339 without fraction and "...000Z"
	"2006-01-02T15:04:05-0700",
	"2006-01-02T15:04:05.999999999-0700",
	"2006-01-02T15:04:05.000Z",
	"2006-01-02T15:04:05Z0700",
	"2006-01-02T15:04:05",
	"2006-01-02 15:04:05",
	"2006-01-02",
}

// SortKey returns the index key prefix that orders cell within a column of
// the given kind. Byte order of the results is the column's sort order:
//
//   - Text: the lowercased cell, cut to at most 64 bytes at a UTF-8 boundary
//     (NUL bytes become 0x01 so the key never contains the separator).
//   - Number: the cell parsed as a base-10 int64, 8 bytes big-endian with the
//     sign bit flipped; empty or unparsable cells sort first.
//   - Time: the cell parsed as one of the API timestamp formats, as UTC Unix
//     nanoseconds, 8 bytes big-endian with the sign bit flipped; empty or
//     unparsable cells sort first.
func SortKey(kind ColumnKind, cell string) []byte {
	if kind == Number || kind == Time {
		return u64(fixedKey(kind, cell))
	}
	return []byte(textKey(cell))
}

// textKey is SortKey for Text as a string. It may return cell itself (or a
// prefix of it) when cell is already a valid key.
func textKey(cell string) string {
	k := strings.ToLower(cell)
	if len(k) > maxTextKey {
		cut := maxTextKey
		for cut > 0 && !utf8.RuneStart(k[cut]) {
			cut--
		}
		k = k[:cut]
	}
	if strings.IndexByte(k, 0) >= 0 {
		k = strings.ReplaceAll(k, "\x00", "\x01")
	}
	return k
}

// fixedKey is SortKey for Number and Time as an integer: the value with its
// sign bit flipped, 0 for an empty or unparsable cell.
func fixedKey(kind ColumnKind, cell string) uint64 {
	cell = strings.TrimSpace(cell)
	var n int64
	if kind == Number {
		var err error
		if n, err = strconv.ParseInt(cell, 10, 64); err != nil {
			return 0
		}
	} else {
		var ok bool
		if n, ok = parseTimeNanos(cell); !ok {
			return 0
		}
	}
	return uint64(n) ^ (1 << 63)
}

// parseTimeNanos parses s in any of the API timestamp formats and returns it
// as Unix nanoseconds (saturated outside the years 1678..2262, see
// clampNanos).
func parseTimeNanos(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	if n, ok := parseTimeFast(s); ok {
		return n, true
	}
	return parseTimeSlow(s)
}

// parseTimeSlow is parseTimeNanos with time.Parse only.
func parseTimeSlow(s string) (int64, bool) {
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return clampNanos(t.Unix(), int64(t.Nanosecond())), true
		}
	}
	return 0, false
}

// parseTimeFast parses the common shape YYYY-MM-DDTHH:MM:SS[.fraction]
// followed by Z, ±HH:MM or ±HHMM without time.Parse. It accepts a subset of
// what the layouts accept, with the same result; anything else (including
// out-of-range fields) is left to time.Parse.
func parseTimeFast(s string) (int64, bool) {
	if len(s) < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return 0, false
	}
	y, ok1 := atoi(s[0:4])
	mo, ok2 := atoi(s[5:7])
	d, ok3 := atoi(s[8:10])
	h, ok4 := atoi(s[11:13])
	mi, ok5 := atoi(s[14:16])
	se, ok6 := atoi(s[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) {
		return 0, false
	}
	rest := s[19:]
	var ns int64
	if rest[0] == '.' {
		i := 1
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i < 2 || i > 10 {
			return 0, false
		}
		ns, _ = atoi(rest[1:i])
		for range 10 - i {
			ns *= 10
		}
		rest = rest[i:]
	}
	var off int64
	switch {
	case rest == "Z":
	case len(rest) == 6 && rest[3] == ':', len(rest) == 5:
		oh, okh := atoi(rest[1:3])
		om, okm := atoi(rest[len(rest)-2:])
		if !okh || !okm || oh >= 24 || om >= 60 {
			return 0, false
		}
		off = oh*3600 + om*60
		switch rest[0] {
		case '+':
		case '-':
			off = -off
		default:
			return 0, false
		}
	default:
		return 0, false
	}
	if mo < 1 || mo > 12 || d < 1 || d > daysIn(mo, y) || h > 23 || mi > 59 || se > 59 {
		return 0, false
	}
	sec := daysFromCivil(y, mo, d)*86400 + h*3600 + mi*60 + se - off
	return clampNanos(sec, ns), true
}

// atoi parses a short run of ASCII digits.
func atoi(s string) (int64, bool) {
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, len(s) > 0
}

// daysIn returns the number of days of month m of year y.
func daysIn(m, y int64) int64 {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil returns the days since 1970-01-01 of a proleptic Gregorian
// date (H. Hinnant's algorithm).
func daysFromCivil(y, m, d int64) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// clampNanos is sec*1e9+nsec saturated instead of overflowing outside the
// years 1678..2262, keeping the order; math.MinInt64 stays reserved for
// unparsable cells.
func clampNanos(sec, nsec int64) int64 {
	const maxSec = math.MaxInt64/1_000_000_000 - 1
	switch {
	case sec > maxSec:
		return math.MaxInt64
	case sec < -maxSec:
		return math.MinInt64 + 1
	}
	return sec*1e9 + nsec
}

// indexKey is the key of one index entry: SortKey(kind, cell) + 0x00 + id.
func indexKey(kind ColumnKind, cell, id string) []byte {
	if kind == Number || kind == Time {
		k := make([]byte, 9, 9+len(id))
		binary.BigEndian.PutUint64(k, fixedKey(kind, cell))
		return append(k, id...)
	}
	tk := textKey(cell)
	k := make([]byte, 0, len(tk)+1+len(id))
	k = append(k, tk...)
	k = append(k, 0)
	return append(k, id...)
}

// idFromIndexKey extracts the record ID from an index key.
func idFromIndexKey(kind ColumnKind, key []byte) ([]byte, bool) {
	switch kind {
	case Number, Time:
		if len(key) < 10 || key[8] != 0 {
			return nil, false
		}
		return key[9:], true
	default:
		i := bytes.IndexByte(key, 0)
		if i < 0 || i == len(key)-1 {
			return nil, false
		}
		return key[i+1:], true
	}
}

// Row values. Schema version 2 (this build) stores
//
//	8-byte big-endian generation
//	8-byte big-endian removed mark: Unix nanoseconds of the time the record
//	       was marked removed as a two's complement int64, 0 = present
//	each cell as uvarint length + bytes
//
// Schema version 1 had no removed mark (generation, then the cells); the
// 1 -> 2 migration inserts a zero mark into every row (rowV1ToV2).
const rowHeader = 16

// encodeRow builds a "row" value (see rowHeader).
func encodeRow(gen uint64, removed int64, cells []string) []byte {
	n := rowHeader
	for _, c := range cells {
		n += binary.MaxVarintLen64 + len(c)
	}
	b := make([]byte, rowHeader, n)
	binary.BigEndian.PutUint64(b, gen)
	binary.BigEndian.PutUint64(b[8:], uint64(removed))
	for _, c := range cells {
		b = binary.AppendUvarint(b, uint64(len(c)))
		b = append(b, c...)
	}
	return b
}

var errBadRow = errors.New("malformed row value")

// rowGeneration returns the generation stamp of a row value.
func rowGeneration(v []byte) (uint64, error) {
	if len(v) < rowHeader {
		return 0, errBadRow
	}
	return binary.BigEndian.Uint64(v), nil
}

// rowRemoved returns the removed mark of a row value (0: present).
func rowRemoved(v []byte) (int64, error) {
	if len(v) < rowHeader {
		return 0, errBadRow
	}
	return int64(binary.BigEndian.Uint64(v[8:])), nil
}

// withRemoved returns a copy of row value v with its removed mark set to
// removed (safe to Put: it is fresh).
func withRemoved(v []byte, removed int64) []byte {
	nv := bytes.Clone(v)
	binary.BigEndian.PutUint64(nv[8:], uint64(removed))
	return nv
}

// rowV1ToV2 converts a schema 1 row value (generation + cells) to schema 2
// (generation + zero removed mark + cells), as a fresh slice.
func rowV1ToV2(v []byte) ([]byte, error) {
	if len(v) < 8 {
		return nil, errBadRow
	}
	nv := make([]byte, len(v)+8)
	copy(nv, v[:8])
	copy(nv[rowHeader:], v[8:])
	return nv, nil
}

// decodeRow decodes a row value into its generation, removed mark and
// cells. The cells are substrings of one fresh string, so they are safe to
// keep after the transaction. dst is reused if it has room.
func decodeRow(v []byte, dst []string) (gen uint64, removed int64, cells []string, err error) {
	if len(v) < rowHeader {
		return 0, 0, nil, errBadRow
	}
	gen = binary.BigEndian.Uint64(v)
	removed = int64(binary.BigEndian.Uint64(v[8:]))
	all := string(v[rowHeader:])
	cells = dst[:0]
	for p := 0; p < len(all); {
		l, n := uvarintString(all[p:])
		if n <= 0 || uint64(len(all)-p-n) < l {
			return 0, 0, nil, fmt.Errorf("%w at byte %d", errBadRow, rowHeader+p)
		}
		p += n
		cells = append(cells, all[p:p+int(l)])
		p += int(l)
	}
	return gen, removed, cells, nil
}

// Removed marks are Unix nanoseconds, so they cover the years 1678..2262.
var (
	minRemoved = time.Unix(0, math.MinInt64+1)
	maxRemoved = time.Unix(0, math.MaxInt64)
)

// removedMark converts a removal time to its row mark. It refuses the zero
// time (which means present) and times a mark cannot hold.
func removedMark(at time.Time) (int64, error) {
	if at.IsZero() {
		return 0, errors.New("removal time is zero")
	}
	if at.Before(minRemoved) || at.After(maxRemoved) {
		return 0, fmt.Errorf("removal time %v outside the years 1678..2262", at)
	}
	n := at.UnixNano()
	if n == 0 { // 1970-01-01T00:00:00Z exactly: 0 means present
		n = 1
	}
	return n, nil
}

// cutoffMark converts a purge cutoff to a mark; marks below it are older.
// It saturates instead of failing (the zero time purges nothing).
func cutoffMark(t time.Time) int64 {
	switch {
	case t.IsZero() || !t.After(minRemoved):
		return math.MinInt64 + 1
	case t.After(maxRemoved):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// removedTime converts a row mark to the time it stands for (UTC; the zero
// time for 0).
func removedTime(mark int64) time.Time {
	if mark == 0 {
		return time.Time{}
	}
	return time.Unix(0, mark).UTC()
}

// uvarintString is binary.Uvarint over a string (no conversion copy).
func uvarintString(s string) (uint64, int) {
	var x uint64
	var sh uint
	for i := 0; i < len(s) && i < binary.MaxVarintLen64; i++ {
		c := s[i]
		if c < 0x80 {
			if i == binary.MaxVarintLen64-1 && c > 1 {
				return 0, -1
			}
			return x | uint64(c)<<sh, i + 1
		}
		x |= uint64(c&0x7f) << sh
		sh += 7
	}
	return 0, 0
}

// encodeLayout stores a Layout as one byte per column kind.
func encodeLayout(l Layout) []byte {
	b := make([]byte, len(l.Columns))
	for i, k := range l.Columns {
		b[i] = byte(k)
	}
	return b
}

// decodeLayout is the inverse of encodeLayout.
func decodeLayout(b []byte) Layout {
	l := Layout{Columns: make([]ColumnKind, len(b))}
	for i, k := range b {
		l.Columns[i] = ColumnKind(k)
	}
	return l
}

// ixName is the name of the index bucket of column i.
func ixName(i int) []byte { return []byte("ix" + strconv.Itoa(i)) }
