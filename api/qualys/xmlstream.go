package qualys

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Streaming XML decoding for the classic APIs: the document is read token
// by token; each record element (HostAsset, HOST, VULN) is decoded on its
// own with DecodeElement and handed to the caller with its exact bytes,
// then dropped. Memory holds one record and the decoder's read-ahead,
// however large the document.

// rawWindow records the bytes read through it from a mark on, so that a
// record's exact bytes can be cut out.
type rawWindow struct {
	r    io.Reader
	buf  []byte
	base int64 // stream offset of buf[0]
}

func (w *rawWindow) Read(p []byte) (int, error) {
	n, err := w.r.Read(p)
	w.buf = append(w.buf, p[:n]...)
	return n, err
}

// drop forgets the bytes before stream offset off (compacting lazily).
func (w *rawWindow) drop(off int64) {
	n := off - w.base
	if n <= 0 || n < 32<<10 || n > int64(len(w.buf)) {
		return
	}
	w.buf = append(w.buf[:0], w.buf[n:]...)
	w.base = off
}

// slice copies the bytes between stream offsets from and to.
func (w *rawWindow) slice(from, to int64) []byte {
	a, b := from-w.base, to-w.base
	if a < 0 || b > int64(len(w.buf)) || a > b {
		return nil
	}
	return append([]byte(nil), w.buf[a:b]...)
}

// xmlWalker walks a document's elements, tracking their path.
type xmlWalker struct {
	dec  *xml.Decoder
	win  *rawWindow
	path []string
	root string
}

func newXMLWalker(r io.Reader) *xmlWalker {
	win := &rawWindow{r: r}
	dec := xml.NewDecoder(win)
	dec.CharsetReader = func(label string, in io.Reader) (io.Reader, error) {
		switch strings.ToLower(label) {
		case "utf-8", "utf8", "us-ascii", "ascii":
			return in, nil
		}
		return nil, fmt.Errorf("unsupported XML encoding %q", label)
	}
	return &xmlWalker{dec: dec, win: win}
}

// next returns the next start element and the offset of its "<", keeping
// path up to date (path includes the returned element). At the end of the
// document it returns io.EOF; a document cut off, malformed or empty is an
// error.
func (w *xmlWalker) next() (xml.StartElement, int64, error) {
	for {
		off := w.dec.InputOffset()
		w.win.drop(off)
		tok, err := w.dec.Token()
		if err == io.EOF {
			if w.root == "" {
				return xml.StartElement{}, off, errors.New("empty document: no root element")
			}
			if len(w.path) > 0 {
				return xml.StartElement{}, off, io.ErrUnexpectedEOF
			}
			return xml.StartElement{}, off, io.EOF
		}
		if err != nil {
			return xml.StartElement{}, off, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(w.path) == 0 {
				if w.root != "" {
					return t, off, errors.New("more than one root element")
				}
				w.root = t.Name.Local
			}
			w.path = append(w.path, t.Name.Local)
			return t, off, nil
		case xml.EndElement:
			if len(w.path) > 0 {
				w.path = w.path[:len(w.path)-1]
			}
		case xml.CharData:
			if len(w.path) == 0 && len(strings.TrimSpace(string(t))) > 0 {
				return xml.StartElement{}, off, errors.New("text outside the root element")
			}
		}
	}
}

// at reports whether the current path is exactly p.
func (w *xmlWalker) at(p ...string) bool {
	if len(p) != len(w.path) {
		return false
	}
	for i := range p {
		if p[i] != w.path[i] {
			return false
		}
	}
	return true
}

// decode decodes the element se (just returned by next) into v and pops it.
func (w *xmlWalker) decode(v any, se *xml.StartElement) error {
	err := w.dec.DecodeElement(v, se)
	w.path = w.path[:len(w.path)-1]
	return err
}

// text decodes the leaf element se as trimmed text.
func (w *xmlWalker) text(se *xml.StartElement) (string, error) {
	var s string
	err := w.decode(&s, se)
	return strings.TrimSpace(s), err
}

// raw returns the bytes from offset from to the current position.
func (w *xmlWalker) raw(from int64) []byte { return w.win.slice(from, w.dec.InputOffset()) }

// fail wraps err as a DecodeError at the decoder's position (callback
// errors pass through unchanged).
func (w *xmlWalker) fail(err error) error {
	if err == nil {
		return nil
	}
	var cb callbackError
	if errors.As(err, &cb) {
		return cb.err
	}
	var api *APIError
	if errors.As(err, &api) {
		return err
	}
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return &DecodeError{Offset: w.dec.InputOffset(), Err: err}
}

// callbackError marks an error returned by the caller's callback.
type callbackError struct{ err error }

func (e callbackError) Error() string { return e.err.Error() }

// simpleReturn decodes a SIMPLE_RETURN root (an error answered with 200)
// into an *APIError (or the decoding error).
func (w *xmlWalker) simpleReturn(se *xml.StartElement) error {
	var sr struct {
		Code string `xml:"RESPONSE>CODE"`
		Text string `xml:"RESPONSE>TEXT"`
	}
	if err := w.decode(&sr, se); err != nil {
		return err
	}
	return &APIError{StatusCode: 200, Code: strings.TrimSpace(sr.Code), Message: strings.TrimSpace(sr.Text)}
}

// parseTime parses a Qualys date-time (RFC 3339, e.g. 2024-03-29T10:11:12Z);
// anything else is the zero time (the raw record keeps the text).
func parseTime(s string) time.Time {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC()
	}
	if t, err := time.Parse("2006-01-02T15:04:05", s); err == nil {
		return t
	}
	return time.Time{}
}

// withURL sets the URL of a DecodeError or APIError from a page.
func withURL(err error, op, u string) error {
	var de *DecodeError
	if errors.As(err, &de) && de.URL == "" {
		de.URL = u
	}
	var ae *APIError
	if errors.As(err, &ae) && ae.URL == "" {
		ae.URL, ae.Op = u, op
	}
	return err
}
