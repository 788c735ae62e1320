package retries

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"sync"
	"syscall"
	"testing"
)

func TestOfStatus(t *testing.T) {
	tests := []struct {
		status     int
		retryAfter bool
		want       string
	}{
		{429, true, Throttled}, {429, false, Throttled}, {409, false, Limit409},
		{503, true, Unavailable}, {503, false, UnavailableNoRA}, {504, false, GatewayTimeout},
		{500, false, ServerError}, {502, false, ServerError}, {401, false, ExpiredToken}, {418, false, "http-418"},
	}
	for _, tc := range tests {
		if got := OfStatus(tc.status, tc.retryAfter); got != tc.want {
			t.Errorf("OfStatus(%d, %v) = %q, want %q", tc.status, tc.retryAfter, got, tc.want)
		}
	}
}

func TestOfError(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"closed before an answer", &url.Error{Op: "Get", URL: "http://x", Err: io.EOF}, Reset},
		{"reset by peer", &url.Error{Op: "Get", URL: "http://x", Err: &net.OpError{Op: "read", Err: os.NewSyscallError("read", syscall.ECONNRESET)}}, Reset},
		{"body cut off", fmt.Errorf("reading: %w", io.ErrUnexpectedEOF), Truncated},
		{"deadline", fmt.Errorf("x: %w", context.DeadlineExceeded), Timeout},
		{"net timeout", &net.OpError{Op: "dial", Err: os.ErrDeadlineExceeded}, Timeout},
		{"other", errors.New("tls: bad record MAC"), Network},
	}
	for _, tc := range tests {
		if got := OfError(tc.err); got != tc.want {
			t.Errorf("%s: OfError(%v) = %q, want %q", tc.name, tc.err, got, tc.want)
		}
	}
}

// TestCounterThroughContext: retries noted on a context reach its Counter
// from many goroutines; a context without one, or a nil Counter, is fine.
func TestCounterThroughContext(t *testing.T) {
	var c Counter
	ctx := WithCounter(context.Background(), &c)
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			Note(ctx, []string{Throttled, Reset}[i%2])
			Note(context.Background(), Throttled)
		})
	}
	wg.Wait()
	var nilCounter *Counter
	nilCounter.Add(Throttled)
	got := c.Counts()
	if got[Throttled] != 25 || got[Reset] != 25 || Total(got) != 50 || nilCounter.Counts() != nil {
		t.Fatalf("counts %v", got)
	}
	if s := Format(map[string]int{Reset: 2, Throttled: 3, Timeout: 0}); s != "429 ×3, reset ×2" {
		t.Errorf("Format = %q", s)
	}
	if (&Counter{}).Counts() != nil {
		t.Error("an empty counter has counts")
	}
}
