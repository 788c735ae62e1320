package sim

import (
	"bytes"
	"net"
	"net/http"
	"strconv"
	"time"

	"qtc/api/sim/internal/trickle"
)

// FaultOptions are probabilities (0..1) of injected failures per API
// request (gateway JSON APIs and classic XML APIs; never /auth). The
// decisions are a deterministic function of Seed and the request's arrival
// number, so a sequential client sees the same faults on every run. They
// come on top of ThrottleEvery and FailEvery.
type FaultOptions struct {
	Throttle       float64 // gateway: 429 with X-RateLimit-ToWait-Sec; XML APIs: 409 CODE 1965 with it
	Unavailable    float64 // 503
	GatewayTimeout float64 // 504
	ConnReset      float64 // the connection is reset before any answer
	TruncatedBody  float64 // a 200 whose body stops mid-way, then the connection closes
	SlowBody       float64 // a 200 whose headers come at once and whose body trickles over SlowBodyTime
	ExpiredToken   float64 // gateway only: 401 "token expired" for a valid JWT (the XML APIs use basic authentication)

	SlowBodyTime time.Duration // how long a slow body takes to arrive, default 500ms

	// TruncateIf, if set, pins a fault to the API requests it matches:
	// every 200 they get stops mid-way and the connection closes, however
	// often they are sent (counted as "truncated"). MalformIf does the
	// same with a complete answer whose Content-Length covers only the
	// first half of the body: it arrives whole and is not valid JSON or
	// XML (counted as "malformed"). For tests of a page that stays broken.
	TruncateIf, MalformIf func(r *http.Request) bool
}

// Fault kinds: each has its own hash stream, so probabilities combine
// independently.
const (
	faultThrottle = iota + 1
	faultUnavailable
	faultGatewayTimeout
	faultReset
	faultTruncate
	faultSlowBody
	faultExpiredToken
)

// fault decides, deterministically from the seed and the request's arrival
// number, whether a fault of the kind happens.
func (s *Server) fault(n uint64, kind int, p float64) bool {
	if p <= 0 {
		return false
	}
	h := mix64(uint64(s.opt.Seed)*0x9E3779B97F4A7C15 ^ mix64(n) ^ mix64(uint64(kind)+0xfa17))
	return float64(h>>11)/(1<<53) < p
}

func (s *Server) countFault(kind string) {
	s.count(func(st *Stats) { st.Faults[kind]++ })
}

// requestFaults are the faults decided for one API request.
type requestFaults struct {
	n          uint64
	expired    bool   // answer 401 for a valid token (gateway)
	body       string // "truncated", "malformed", "slow" or "" for a 200
	statusKind int    // faultThrottle, faultUnavailable, faultGatewayTimeout or 0
}

// decideFaults draws the faults of an API request. A connection reset is
// done here (and reported with ok false: nothing more to answer).
func (s *Server) decideFaults(w http.ResponseWriter, r *http.Request) (rf requestFaults, ok bool) {
	f := &s.opt.Faults
	rf.n = s.reqN.Add(1)
	if s.fault(rf.n, faultReset, f.ConnReset) {
		s.countFault("reset")
		resetConn(w)
		return rf, false
	}
	switch {
	case s.fault(rf.n, faultThrottle, f.Throttle):
		rf.statusKind = faultThrottle
	case s.fault(rf.n, faultUnavailable, f.Unavailable):
		rf.statusKind = faultUnavailable
	case s.fault(rf.n, faultGatewayTimeout, f.GatewayTimeout):
		rf.statusKind = faultGatewayTimeout
	}
	rf.expired = s.fault(rf.n, faultExpiredToken, f.ExpiredToken)
	switch {
	case f.MalformIf != nil && f.MalformIf(r):
		rf.body = "malformed"
	case f.TruncateIf != nil && f.TruncateIf(r), s.fault(rf.n, faultTruncate, f.TruncatedBody):
		rf.body = "truncated"
	case s.fault(rf.n, faultSlowBody, f.SlowBody):
		rf.body = "slow"
	}
	return rf, true
}

// resetConn closes the client's connection abruptly (TCP RST where
// possible), without an answer.
func resetConn(w http.ResponseWriter) {
	if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		_ = conn.Close()
		return
	}
	panic(http.ErrAbortHandler)
}

// bodyFaultWriter holds an answer back, then sends it with the body fault
// decided for it when it is a 200 (as is otherwise).
type bodyFaultWriter struct {
	w      http.ResponseWriter
	h      http.Header
	status int
	buf    bytes.Buffer
}

func newBodyFaultWriter(w http.ResponseWriter) *bodyFaultWriter {
	return &bodyFaultWriter{w: w, h: http.Header{}}
}

func (b *bodyFaultWriter) Header() http.Header { return b.h }

func (b *bodyFaultWriter) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}

func (b *bodyFaultWriter) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.buf.Write(p)
}

// send writes the held answer with the fault kind ("truncated",
// "malformed", "slow").
func (s *Server) sendWithFault(b *bodyFaultWriter, r *http.Request, kind string) {
	h := b.w.Header()
	for k, v := range b.h {
		h[k] = v
	}
	status := b.status
	if status == 0 {
		status = http.StatusOK
	}
	body := b.buf.Bytes()
	if status != http.StatusOK || len(body) < 2 {
		b.w.WriteHeader(status)
		_, _ = b.w.Write(body)
		return
	}
	s.countFault(kind)
	rc := http.NewResponseController(b.w)
	switch kind {
	case "malformed":
		half := body[:len(body)/2]
		h.Set("Content-Length", strconv.Itoa(len(half)))
		b.w.WriteHeader(status)
		_, _ = b.w.Write(half)
	case "truncated":
		h.Set("Content-Length", strconv.Itoa(len(body)))
		b.w.WriteHeader(status)
		_, _ = b.w.Write(body[:len(body)/2])
		_ = rc.Flush()
		panic(http.ErrAbortHandler) // the connection is closed mid-body
	default: // slow
		h.Set("Content-Length", strconv.Itoa(len(body)))
		b.w.WriteHeader(status)
		trickle.Write(b.w, r, body, s.opt.Faults.SlowBodyTime)
	}
}
