package graph

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestRetriesCountedByCause: each kind of failure a page can meet is
// retried and counted under its cause in Stats().RetriesByCause; a slow
// body within the HTTP timeout is simply waited for; a body that stays
// broken ends in a *DecodeError naming the URL and the byte offset where
// it broke.
func TestRetriesCountedByCause(t *testing.T) {
	const page = `{"value":[{"id":"1","displayName":"one"},{"id":"2","displayName":"two"}]}`
	// trickle sends page in pieces over d.
	trickle := func(w http.ResponseWriter, r *http.Request, d time.Duration) {
		w.Header().Set("Content-Length", strconv.Itoa(len(page)))
		w.WriteHeader(http.StatusOK)
		rc := http.NewResponseController(w)
		for i := 0; i < len(page); i += 10 {
			if i > 0 {
				select {
				case <-time.After(d / time.Duration(len(page)/10)):
				case <-r.Context().Done():
					return
				}
			}
			fmt.Fprint(w, page[i:min(i+10, len(page))])
			_ = rc.Flush()
		}
	}
	tests := []struct {
		name    string
		fails   int // attempts that misbehave before a good answer (-1: all)
		bad     func(w http.ResponseWriter, r *http.Request)
		timeout time.Duration
		cause   string
		want    int  // retries counted under cause
		wantErr bool // a *DecodeError at the end
	}{
		{"429", 2, func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 429, graphError("TooManyRequests", "slow down"), "Retry-After", "1")
		}, 0, "429", 2, false},
		{"503 with Retry-After", 1, func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 503, graphError("serviceNotAvailable", "busy"), "Retry-After", "2")
		}, 0, "503", 1, false},
		{"503 without Retry-After", 1, func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 503, graphError("serviceNotAvailable", "busy"))
		}, 0, "503-no-retry-after", 1, false},
		{"504", 1, func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 504, graphError("UnknownError", "gateway timeout"))
		}, 0, "504", 1, false},
		{"expired token", 1, func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 401, graphError("InvalidAuthenticationToken", "Lifetime validation failed, the token is expired."))
		}, 0, "expired-token", 1, false},
		{"cut off once", 1, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", strconv.Itoa(len(page)))
			w.WriteHeader(http.StatusOK)
			fmt.Fprint(w, page[:30])
			_ = http.NewResponseController(w).Flush()
			panic(http.ErrAbortHandler)
		}, 0, "truncated", 1, false},
		{"malformed once", 1, func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 200, page[:30])
		}, 0, "malformed", 1, false},
		{"cut off for good", -1, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", strconv.Itoa(len(page)))
			w.WriteHeader(http.StatusOK)
			fmt.Fprint(w, page[:30])
			_ = http.NewResponseController(w).Flush()
			panic(http.ErrAbortHandler)
		}, 0, "truncated", maxBodyAttempts - 1, true},
		{"malformed for good", -1, func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 200, page[:30])
		}, 0, "malformed", maxBodyAttempts - 1, true},
		{"slow body within the timeout", -1, func(w http.ResponseWriter, r *http.Request) {
			trickle(w, r, 150*time.Millisecond)
		}, 5 * time.Second, "timeout", 0, false},
		{"slow body past the timeout", -1, func(w http.ResponseWriter, r *http.Request) {
			trickle(w, r, 2*time.Second)
		}, 300 * time.Millisecond, "timeout", maxBodyAttempts - 1, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var n atomic.Int64
			f := newFakeEntra(t, func(w http.ResponseWriter, r *http.Request) {
				if k := n.Add(1); tc.fails < 0 || k <= int64(tc.fails) {
					tc.bad(w, r)
					return
				}
				writeJSON(w, 200, page)
			})
			c, _, _ := newTestClient(t, f, clientOpts{timeout: tc.timeout})
			p, err := c.Get(context.Background(), "/v1.0/users?$top=2")
			st := c.Stats()
			if got := st.RetriesByCause[tc.cause]; got != tc.want || int64(got) != st.Retries {
				t.Errorf("retries %v (total %d), want %d as %q", st.RetriesByCause, st.Retries, tc.want, tc.cause)
			}
			if !tc.wantErr {
				if err != nil || len(p.Items) != 2 {
					t.Fatalf("Get: %v", err)
				}
				return
			}
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %T %v, want *DecodeError", err, err)
			}
			if de.URL != f.srv.URL+"/v1.0/users?$top=2" || de.Offset <= 0 || de.Offset >= int64(len(page)) {
				t.Errorf("DecodeError{URL %q, Offset %d}: want the URL and where the body broke", de.URL, de.Offset)
			}
			if !strings.Contains(err.Error(), de.URL) || !strings.Contains(err.Error(), fmt.Sprintf("at byte %d", de.Offset)) {
				t.Errorf("Error() = %q", err)
			}
		})
	}
}
