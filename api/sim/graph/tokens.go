package graphsim

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
)

// Page and delta state tokens are opaque to clients: a versioned binary
// record, authenticated with the server key, in base64url. They carry the
// server instance's epoch: a token of an earlier instance (a restarted
// simulator) is stale.

const (
	tokList  = 1
	tokDelta = 2
	macLen   = 12
)

type tokWriter struct{ b []byte }

func (w *tokWriter) u(v uint64) { w.b = binary.AppendUvarint(w.b, v) }
func (w *tokWriter) i(v int64)  { w.b = binary.AppendVarint(w.b, v) }
func (w *tokWriter) s(v string) { w.u(uint64(len(v))); w.b = append(w.b, v...) }

type tokReader struct {
	b   []byte
	err bool
}

func (r *tokReader) u() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = true
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *tokReader) i() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = true
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *tokReader) s() string {
	n := r.u()
	if r.err || n > uint64(len(r.b)) {
		r.err = true
		return ""
	}
	v := string(r.b[:n])
	r.b = r.b[n:]
	return v
}

func (s *Server) seal(b []byte) string {
	mac := hmac.New(sha256.New, s.key)
	mac.Write(b)
	return base64.RawURLEncoding.EncodeToString(append(b, mac.Sum(nil)[:macLen]...))
}

var (
	errBadToken   = errors.New("malformed or forged token")
	errStaleToken = errors.New("token of another simulator instance")
)

// open checks a token and returns its record after the type and epoch.
func (s *Server) open(tok string, typ byte) (*tokReader, error) {
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(raw) < macLen+2 {
		return nil, errBadToken
	}
	body, sig := raw[:len(raw)-macLen], raw[len(raw)-macLen:]
	mac := hmac.New(sha256.New, s.key)
	mac.Write(body)
	if !hmac.Equal(sig, mac.Sum(nil)[:macLen]) {
		return nil, errBadToken
	}
	if body[0] != typ {
		return nil, errBadToken
	}
	r := &tokReader{b: body[1:]}
	epoch := r.u()
	if r.err {
		return nil, errBadToken
	}
	if epoch != s.epoch {
		return r, errStaleToken
	}
	return r, nil
}

// listTok is the position in a paged collection: the seq of the last item
// served (items are ordered by seq), and the page number.
type listTok struct {
	route uint64 // route index: a token is only good for its collection
	owner uint32 // seq of the object whose relation is listed (0: a top-level collection)
	pos   uint32
	page  uint32
}

func (s *Server) encodeList(t listTok) string {
	w := tokWriter{b: []byte{tokList}}
	w.u(s.epoch)
	w.u(t.route)
	w.u(uint64(t.owner))
	w.u(uint64(t.pos))
	w.u(uint64(t.page))
	return s.seal(w.b)
}

func (s *Server) decodeList(tok string) (listTok, error) {
	r, err := s.open(tok, tokList)
	if err != nil {
		return listTok{}, err
	}
	t := listTok{route: r.u(), owner: uint32(r.u()), pos: uint32(r.u()), page: uint32(r.u())}
	if r.err {
		return listTok{}, errBadToken
	}
	return t, nil
}

// Delta token phases.
const (
	phaseInitial = 0 // enumerating the current state
	phaseChanges = 1 // enumerating changes in (from, to]
	phaseLink    = 2 // a deltaLink: changes after from, not yet asked for
)

// deltaTok is the whole state of a delta query: the query options of the
// first request, the round, and the position in it.
type deltaTok struct {
	res      kind
	phase    uint8
	from, to uint64 // changes after from up to to (the round's watermark)
	prev     uint64 // the previous round's from (replays)
	pos      uint32 // seq of the last object served
	mpos     uint32 // seq of the last member served of object pos (0: object done)
	page     uint32
	issued   int64 // Unix nanoseconds: when the round started or the link was issued
	objCap   uint32
	linkCap  uint32
	members  bool // track memberships (members@delta)
	expand   bool // $expand=members (costs +1, tracked like members)
	sel      string
	filter   string
}

func (s *Server) encodeDelta(t deltaTok) string {
	w := tokWriter{b: []byte{tokDelta}}
	w.u(s.epoch)
	w.u(uint64(t.res))
	w.u(uint64(t.phase))
	w.u(t.from)
	w.u(t.to)
	w.u(t.prev)
	w.u(uint64(t.pos))
	w.u(uint64(t.mpos))
	w.u(uint64(t.page))
	w.i(t.issued)
	w.u(uint64(t.objCap))
	w.u(uint64(t.linkCap))
	flags := uint64(0)
	if t.members {
		flags |= 1
	}
	if t.expand {
		flags |= 2
	}
	w.u(flags)
	w.s(t.sel)
	w.s(t.filter)
	return s.seal(w.b)
}

// decodeDelta returns the token; with errStaleToken it still returns the
// query options (so the answer can point at a fresh start).
func (s *Server) decodeDelta(tok string) (deltaTok, error) {
	r, err := s.open(tok, tokDelta)
	if err != nil && !errors.Is(err, errStaleToken) {
		return deltaTok{}, err
	}
	t := deltaTok{res: kind(r.u()), phase: uint8(r.u()), from: r.u(), to: r.u(), prev: r.u(),
		pos: uint32(r.u()), mpos: uint32(r.u()), page: uint32(r.u()), issued: r.i(),
		objCap: uint32(r.u()), linkCap: uint32(r.u())}
	flags := r.u()
	t.members, t.expand = flags&1 != 0, flags&2 != 0
	t.sel, t.filter = r.s(), r.s()
	if r.err {
		return deltaTok{}, errBadToken
	}
	return t, err
}
