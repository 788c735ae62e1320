package graphsim

import (
	"encoding/binary"
	"encoding/hex"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// Deterministic randomness. Everything generated is a pure function of the
// seed (and of the UTC day of the clock at New, for dates), using a private
// PRNG so that the bytes never change with the Go release.

// rng is SplitMix64: small, fast and stable.
type rng struct{ s uint64 }

// newRNG derives an independent stream per purpose, so that changing one
// count does not reshuffle unrelated data.
func newRNG(seed int64, stream string) *rng {
	r := &rng{s: uint64(seed)*0x9E3779B97F4A7C15 ^ fnv(stream)}
	r.next()
	return r
}

func fnv(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

func (r *rng) next() uint64 {
	r.s += 0x9E3779B97F4A7C15
	return mix64(r.s)
}

// mix64 is SplitMix64's finaliser.
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

// hashOf mixes values into one well-spread number: the stateless source of
// per-page and per-request decisions (short pages, faults).
func hashOf(vals ...uint64) uint64 {
	h := uint64(0x2545F4914F6CDD1D)
	for _, v := range vals {
		h = mix64(h ^ (v + 0x9E3779B97F4A7C15))
	}
	return h
}

// unit maps a hash to [0, 1).
func unit(h uint64) float64 { return float64(h>>11) / (1 << 53) }

// intn returns a value in [0, n).
func (r *rng) intn(n int) int {
	if n <= 1 {
		return 0
	}
	return int((r.next() >> 1) % uint64(n))
}

// between returns a value in [lo, hi].
func (r *rng) between(lo, hi int) int {
	if hi <= lo {
		return lo
	}
	return lo + r.intn(hi-lo+1)
}

func (r *rng) chance(p float64) bool { return unit(r.next()) < p }

func (r *rng) pick(xs []string) string { return xs[r.intn(len(xs))] }

// weighted returns an index drawn with the given weights.
func (r *rng) weighted(ws []int) int {
	total := 0
	for _, w := range ws {
		total += w
	}
	x := r.intn(total)
	for i, w := range ws {
		if x < w {
			return i
		}
		x -= w
	}
	return len(ws) - 1
}

// uuid returns a random-looking lowercase version-4 UUID.
func (r *rng) uuid() string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], r.next())
	binary.BigEndian.PutUint64(b[8:], r.next())
	return formatUUID(b)
}

func formatUUID(b [16]byte) string {
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}

// uuidFrom returns a UUID derived from a hash (request ids).
func uuidFrom(h uint64) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], h)
	binary.BigEndian.PutUint64(b[8:], mix64(h^0x5bd1e995))
	return formatUUID(b)
}

const b64url = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// token returns n random base64url characters (app role assignment ids,
// key hints, thumbprints).
func (r *rng) token(n int) string {
	b := make([]byte, n)
	var v uint64
	for i := range b {
		if i%10 == 0 {
			v = r.next()
		}
		b[i] = b64url[v&63]
		v >>= 6
	}
	return string(b)
}

// hexString returns n random upper-case hex digits.
func (r *rng) hexString(n int) string {
	const digits = "0123456789ABCDEF"
	b := make([]byte, n)
	var v uint64
	for i := range b {
		if i%16 == 0 {
			v = r.next()
		}
		b[i] = digits[v&15]
		v >>= 4
	}
	return string(b)
}

// zipfTable is a cumulative table for drawing ranks with weight
// 1/(rank+offset)^s.
type zipfTable []float64

func newZipf(n int, offset, s float64) zipfTable {
	t := make(zipfTable, n)
	sum := 0.0
	for i := range t {
		sum += 1 / math.Pow(float64(i)+offset, s)
		t[i] = sum
	}
	return t
}

func (t zipfTable) draw(r *rng) int {
	x := unit(r.next()) * t[len(t)-1]
	lo, hi := 0, len(t)-1
	for lo < hi {
		m := (lo + hi) / 2
		if t[m] > x {
			hi = m
		} else {
			lo = m + 1
		}
	}
	return lo
}

// JSON helpers. Records are written by hand (property order is Graph's,
// values are never re-encoded) and served byte for byte.

// appendJSONString appends s as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	const hexd = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b = append(b, s[start:i]...)
				b = append(b, `\ufffd`...)
				i += size
				start = i
				continue
			}
			if r == '\u2028' || r == '\u2029' {
				b = append(b, s[start:i]...)
				b = append(b, `\u202`...)
				b = append(b, hexd[r&0xF])
				i += size
				start = i
				continue
			}
			i += size
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hexd[c>>4], hexd[c&0xF])
		}
		i++
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

func jsonString(s string) []byte { return appendJSONString(nil, s) }

// Graph's date-time format: UTC, seconds, "Z".
const graphTime = "2006-01-02T15:04:05Z"

func fmtTime(t time.Time) string { return t.UTC().Format(graphTime) }

// rec builds one pre-marshalled object: properties in schema order, each
// segment's start recorded so views ($select, defaults) can be cut without
// decoding.
type rec struct {
	b    []byte
	segs []uint32
	sl   *slab // where done copies the record; nil: a fresh allocation
}

// reset starts a new record in r's buffers (generators reuse one rec).
func (r *rec) reset(sl *slab) *rec {
	r.b = append(r.b[:0], '{')
	r.segs = r.segs[:0]
	r.sl = sl
	return r
}

// slab hands out finished records from large shared blocks: a tenant of
// 100k+ objects is a few hundred allocations instead of 200k.
type slab struct {
	buf  []byte
	segs []uint32
}

const slabBytes, slabSegs = 1 << 20, 1 << 16

func (s *slab) bytes(b []byte) []byte {
	if cap(s.buf)-len(s.buf) < len(b) {
		s.buf = make([]byte, 0, max(slabBytes, len(b)))
	}
	start := len(s.buf)
	s.buf = append(s.buf, b...)
	return s.buf[start:len(s.buf):len(s.buf)]
}

func (s *slab) uint32s(v []uint32) []uint32 {
	if cap(s.segs)-len(s.segs) < len(v) {
		s.segs = make([]uint32, 0, max(slabSegs, len(v)))
	}
	start := len(s.segs)
	s.segs = append(s.segs, v...)
	return s.segs[start:len(s.segs):len(s.segs)]
}

func (r *rec) key(name string) {
	if len(r.segs) > 0 {
		r.b = append(r.b, ',')
	}
	r.segs = append(r.segs, uint32(len(r.b)))
	r.b = append(r.b, '"')
	r.b = append(r.b, name...)
	r.b = append(r.b, '"', ':')
}

func (r *rec) str(name, v string) {
	r.key(name)
	r.b = appendJSONString(r.b, v)
}

// strN writes v, or null when v is empty.
func (r *rec) strN(name, v string) {
	if v == "" {
		r.null(name)
		return
	}
	r.str(name, v)
}

func (r *rec) null(name string) {
	r.key(name)
	r.b = append(r.b, "null"...)
}

func (r *rec) boolean(name string, v bool) {
	r.key(name)
	r.b = strconv.AppendBool(r.b, v)
}

func (r *rec) integer(name string, v int64) {
	r.key(name)
	r.b = strconv.AppendInt(r.b, v, 10)
}

// tm writes a date-time, or null for the zero time.
func (r *rec) tm(name string, t time.Time) {
	if t.IsZero() {
		r.null(name)
		return
	}
	r.str(name, fmtTime(t))
}

func (r *rec) strs(name string, vs []string) {
	r.key(name)
	r.b = appendStrings(r.b, vs)
}

// raw writes a value that is already JSON.
func (r *rec) raw(name string, v []byte) {
	r.key(name)
	r.b = append(r.b, v...)
}

func (r *rec) rawS(name, v string) {
	r.key(name)
	r.b = append(r.b, v...)
}

// done closes the object; the returned slices are owned by the caller.
func (r *rec) done() ([]byte, []uint32) {
	r.b = append(r.b, '}')
	r.segs = append(r.segs, uint32(len(r.b)))
	if r.sl != nil {
		return r.sl.bytes(r.b), r.sl.uint32s(r.segs)
	}
	out := make([]byte, len(r.b))
	copy(out, r.b)
	return out, append([]uint32(nil), r.segs...)
}

func appendStrings(b []byte, vs []string) []byte {
	b = append(b, '[')
	for i, v := range vs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, v)
	}
	return append(b, ']')
}

// jw is a small JSON object writer for dynamic values (errors, envelopes).
type jw struct {
	b     []byte
	first bool
}

func (w *jw) open() { w.b = append(w.b, '{'); w.first = true }

func (w *jw) close() { w.b = append(w.b, '}'); w.first = false }

func (w *jw) key(k string) {
	if !w.first {
		w.b = append(w.b, ',')
	}
	w.first = false
	w.b = appendJSONString(w.b, k)
	w.b = append(w.b, ':')
}

func (w *jw) str(k, v string) { w.key(k); w.b = appendJSONString(w.b, v) }

func (w *jw) raw(k string, v []byte) { w.key(k); w.b = append(w.b, v...) }

func (w *jw) num(k string, v int64) { w.key(k); w.b = strconv.AppendInt(w.b, v, 10) }
