package trickle

import (
	"bytes"
	"net/http/httptest"
	"testing"
	"time"
)

// flushCounter counts the flushes of a recorder.
type flushCounter struct {
	*httptest.ResponseRecorder
	flushes int
}

func (f *flushCounter) Flush() { f.flushes++; f.ResponseRecorder.Flush() }

func TestWriteSendsTheWholeBodyInPieces(t *testing.T) {
	for _, n := range []int{0, 1, 9, 10, 11, 1000} {
		body := bytes.Repeat([]byte("x"), n)
		w := &flushCounter{ResponseRecorder: httptest.NewRecorder()}
		Write(w, httptest.NewRequest("GET", "/", nil), body, time.Millisecond)
		if !bytes.Equal(w.Body.Bytes(), body) {
			t.Errorf("%d bytes: wrote %d", n, w.Body.Len())
		}
		// As many pieces as it takes to send the body in at most Pieces.
		size := max(1, (n+Pieces-1)/Pieces)
		if want := (n + size - 1) / size; w.flushes != want || w.flushes > Pieces {
			t.Errorf("%d bytes: %d flushes, want %d", n, w.flushes, want)
		}
	}
}
