package httpbody

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/iotest"
)

type trackedBody struct {
	io.Reader
	closed bool
}

func (b *trackedBody) Close() error { b.closed = true; return nil }

func TestRead(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		limit   int64
		want    string
		tooLong bool
	}{
		{"under the limit", "hello", 10, "hello", false},
		{"at the limit", "hello", 5, "hello", false},
		{"over the limit", "hello!", 5, "", true},
		{"empty", "", 5, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := &trackedBody{Reader: strings.NewReader(tc.body)}
			got, err := Read(&http.Response{Body: b, ContentLength: int64(len(tc.body))}, tc.limit)
			if tc.tooLong != errors.Is(err, ErrTooLarge) || (!tc.tooLong && (err != nil || string(got) != tc.want)) {
				t.Errorf("Read = %q, %v", got, err)
			}
			if !b.closed {
				t.Error("body not closed")
			}
		})
	}
}

// TestReadSaysWhereTheBodyWasCut: a body that breaks off mid-way gives a
// *CutError with the bytes read before it, wrapping the read's error.
func TestReadSaysWhereTheBodyWasCut(t *testing.T) {
	broken := errors.New("connection reset")
	body := io.MultiReader(strings.NewReader(strings.Repeat("x", 1234)), iotest.ErrReader(broken))
	resp := &http.Response{Body: io.NopCloser(body), ContentLength: -1}
	_, err := Read(resp, 1<<20)
	var cut *CutError
	if !errors.As(err, &cut) || cut.Read != 1234 || !errors.Is(err, broken) || err.Error() != broken.Error() {
		t.Fatalf("Read = %v (%#v); want a CutError after 1234 bytes wrapping %v", err, cut, broken)
	}
}
