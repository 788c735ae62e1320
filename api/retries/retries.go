// Package retries names why an API client sent a request again, and
// counts those retries by cause for a sync run's log.
//
// The Graph and Qualys clients count every retry in their own counter
// (see their Stats or Retries methods) and also in the Counter carried by
// the request's context, if any (WithCounter), the way net/http/httptrace
// hooks ride on a context: a sync run puts one Counter in the context of
// all its requests and records the totals, whichever clients it built.
package retries

import (
	"context"
	"errors"
	"io"
	"maps"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// Causes of a retry: a small fixed set, so run logs can be compared.
const (
	Throttled       = "429"                // HTTP 429 Too Many Requests
	Limit409        = "409"                // Qualys 409 rate or concurrency limit (codes 1960/1965)
	Unavailable     = "503"                // HTTP 503 with Retry-After
	UnavailableNoRA = "503-no-retry-after" // HTTP 503 without Retry-After
	GatewayTimeout  = "504"                // HTTP 504
	ServerError     = "5xx"                // another 5xx (500, 502)
	Reset           = "reset"              // the connection was closed or reset before an answer
	Truncated       = "truncated"          // the answer's body was cut off mid-way
	Malformed       = "malformed"          // a complete 200 whose body is not valid JSON
	Timeout         = "timeout"            // the request or its body timed out
	Network         = "network"            // another transport error
	ExpiredToken    = "expired-token"      // HTTP 401 for a token: renewed and sent again
	Resync          = "410-resync"         // the source reset a delta or paging query (Graph 410): listed again

	// BatchPrefix marks the retries of requests inside a Graph $batch
	// call ("batch-429", "batch-503", …), re-sent one by one.
	BatchPrefix = "batch-"
)

// Counter counts retries by cause. It is safe for concurrent use; the
// zero value is ready.
type Counter struct {
	mu sync.Mutex
	m  map[string]int
}

// Add counts one retry of cause.
func (c *Counter) Add(cause string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	if c.m == nil {
		c.m = map[string]int{}
	}
	c.m[cause]++
	c.mu.Unlock()
}

// Counts returns a copy of the counts (nil when nothing was counted).
func (c *Counter) Counts() map[string]int {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) == 0 {
		return nil
	}
	return maps.Clone(c.m)
}

type ctxKey struct{}

// WithCounter returns a context whose requests count their retries in c
// as well as in their client's own counter.
func WithCounter(ctx context.Context, c *Counter) context.Context {
	return context.WithValue(ctx, ctxKey{}, c)
}

// Note counts one retry of cause in the Counter of ctx, if any.
func Note(ctx context.Context, cause string) {
	if c, ok := ctx.Value(ctxKey{}).(*Counter); ok {
		c.Add(cause)
	}
}

// OfStatus is the cause of retrying an HTTP answer with this status;
// retryAfter says whether a 503 carried a usable Retry-After.
func OfStatus(status int, retryAfter bool) string {
	switch {
	case status == 429:
		return Throttled
	case status == 409:
		return Limit409
	case status == 503 && retryAfter:
		return Unavailable
	case status == 503:
		return UnavailableNoRA
	case status == 504:
		return GatewayTimeout
	case status == 401:
		return ExpiredToken
	case status >= 500:
		return ServerError
	}
	return "http-" + strconv.Itoa(status)
}

// OfError is the cause of retrying after a transport error (no answer, or
// an answer whose body could not be read to its end).
func OfError(err error) string {
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout(), errors.Is(err, context.DeadlineExceeded):
		return Timeout
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, syscall.EPIPE),
		strings.Contains(err.Error(), "server closed") || strings.Contains(err.Error(), "connection reset"):
		return Reset
	case errors.Is(err, io.ErrUnexpectedEOF):
		return Truncated
	}
	return Network
}

// Format lists counts as "429 ×3, reset ×1", causes in order; "" when
// there are none.
func Format(counts map[string]int) string {
	keys := make([]string, 0, len(counts))
	for k, n := range counts {
		if n > 0 {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + " ×" + strconv.Itoa(counts[k])
	}
	return strings.Join(parts, ", ")
}

// Total is the sum of counts.
func Total(counts map[string]int) int {
	n := 0
	for _, v := range counts {
		n += v
	}
	return n
}
