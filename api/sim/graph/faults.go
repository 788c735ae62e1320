package graphsim

import (
	"net/http"
	"time"
)

// Fault kinds: each has its own hash stream, so probabilities combine
// independently.
const (
	faultReset = iota + 1
	faultTruncate
	faultThrottle
	faultUnavailable
	faultUnavailableNoRA
	faultGatewayTimeout
	faultExpiredToken
	faultDeltaGone
	faultReplay
	faultSlowBody
)

// fault decides, deterministically from the seed and the request's arrival
// number, whether a fault of the kind happens.
func (s *Server) fault(n uint64, kind int, p float64) bool {
	if p <= 0 {
		return false
	}
	return unit(hashOf(uint64(s.opt.Seed), n, uint64(kind), 0xfa17)) < p
}

// slowBodyPieces is how many pieces a slow body is sent in.
const slowBodyPieces = 10

// writeSlowly sends body in slowBodyPieces pieces spread over d, flushing
// each: the headers arrive at once, the body trickles. It stops early if
// the client goes away.
func writeSlowly(w http.ResponseWriter, r *http.Request, body []byte, d time.Duration) {
	rc := http.NewResponseController(w)
	step := d / slowBodyPieces
	size := (len(body) + slowBodyPieces - 1) / slowBodyPieces
	t := time.NewTimer(step)
	defer t.Stop()
	for i := 0; i < len(body); i += size {
		if i > 0 {
			t.Reset(step)
			select {
			case <-t.C:
			case <-r.Context().Done():
				return
			}
		}
		if _, err := w.Write(body[i:min(i+size, len(body))]); err != nil {
			return
		}
		_ = rc.Flush()
	}
}
