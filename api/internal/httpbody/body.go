// Package httpbody reads and discards HTTP response bodies the way both API
// clients need: success bodies bounded in size, every body drained (so the
// connection is reused) and closed.
package httpbody

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// DrainLimit is the most bytes discarded from a body before closing it.
const DrainLimit = 256 << 10

// ErrTooLarge is returned (wrapped) by Read for a body over its limit.
var ErrTooLarge = errors.New("response body too large")

// CutError is a body whose reading failed after Read bytes (cut off in
// transit, a reset): its message is Err's.
type CutError struct {
	Read int64
	Err  error
}

func (e *CutError) Error() string { return e.Err.Error() }
func (e *CutError) Unwrap() error { return e.Err }

// Read reads at most limit bytes of a success body, then drains and closes
// it. A failed read returns a *CutError saying how far it got.
func Read(resp *http.Response, limit int64) ([]byte, error) {
	defer Close(resp.Body)
	var buf bytes.Buffer
	if cl := resp.ContentLength; cl > 0 && cl <= limit {
		buf.Grow(int(cl) + bytes.MinRead)
	}
	n, err := buf.ReadFrom(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, &CutError{Read: n, Err: err}
	}
	if n > limit {
		return nil, fmt.Errorf("%w: more than %d bytes; refusing to read further", ErrTooLarge, limit)
	}
	return buf.Bytes(), nil
}

// Close discards what is left of a body (bounded, so the connection can be
// reused) and closes it.
func Close(b io.ReadCloser) {
	_, _ = io.CopyN(io.Discard, b, DrainLimit)
	_ = b.Close()
}
