// Package trickle writes a response body slowly: the simulators' "slow
// body" fault, whose headers arrive at once and whose body trickles in.
package trickle

import (
	"net/http"
	"time"
)

// Pieces is how many pieces a slow body is sent in.
const Pieces = 10

// Write sends body in Pieces pieces spread over d, flushing each. The
// headers must be written already. It stops early if the client goes away.
func Write(w http.ResponseWriter, r *http.Request, body []byte, d time.Duration) {
	rc := http.NewResponseController(w)
	step := d / Pieces
	size := max(1, (len(body)+Pieces-1)/Pieces)
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
