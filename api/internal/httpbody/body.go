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

// Read reads at most limit bytes of a success body, then drains and closes
// it.
func Read(resp *http.Response, limit int64) ([]byte, error) {
	defer Close(resp.Body)
	var buf bytes.Buffer
	if cl := resp.ContentLength; cl > 0 && cl <= limit {
		buf.Grow(int(cl) + bytes.MinRead)
	}
	n, err := buf.ReadFrom(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, err
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
