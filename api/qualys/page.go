package qualys

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"qtc/api/internal/text"
)

// Item is one record of a page: its decoded value and the record's bytes
// exactly as received.
type Item[T any] struct {
	Value T
	Raw   json.RawMessage // byte-for-byte the element of "content"
}

// SpringPage is one page of a Spring Data list ("content" plus page
// metadata). The pageable object is deliberately not exposed: its pageSize
// can disagree with Size. Callers stop paging on Last or Empty.
type SpringPage[T any] struct {
	Items                                                     []Item[T]
	Number, Size, NumberOfElements, TotalPages, TotalElements int
	First, Last, Empty                                        bool
}

// springEnvelope is the part of a Spring page that is decoded. Content
// elements stay raw so each record keeps its exact bytes. ErrorCode and
// Message catch an error object sent with a success status.
type springEnvelope struct {
	Content          []json.RawMessage `json:"content"`
	Number           int               `json:"number"`
	Size             int               `json:"size"`
	NumberOfElements int               `json:"numberOfElements"`
	TotalPages       int               `json:"totalPages"`
	TotalElements    int               `json:"totalElements"`
	First            bool              `json:"first"`
	Last             bool              `json:"last"`
	Empty            bool              `json:"empty"`
	ErrorCode        json.RawMessage   `json:"errorCode"`
	Message          json.RawMessage   `json:"message"`
}

// DecodeSpringPage decodes a Spring page body, decoding each element of
// "content" into T and keeping its raw bytes. Errors are *DecodeError, with
// the byte offset where decoding failed (URL is empty).
//
// The body must be a JSON object with a "content" array whose elements are
// not null. Empty is also reported when content has no elements, whatever
// the server's "empty" says, so a paging loop cannot spin on empty pages.
func DecodeSpringPage[T any](body []byte) (*SpringPage[T], error) {
	page, apiErr, err := decodeSpringPage[T](body)
	if err != nil {
		return nil, err
	}
	if apiErr != nil {
		return nil, &DecodeError{Offset: 0, Err: fmt.Errorf("body is an error response, not a page: %s", strings.TrimPrefix(apiErr.Error(), "qualys: "))}
	}
	return page, nil
}

// decodeSpringPage is DecodeSpringPage that reports an error object (a body
// with errorCode/message and no content) as an *APIError without status or
// URL, for the caller to complete.
func decodeSpringPage[T any](body []byte) (*SpringPage[T], *APIError, error) {
	var env springEnvelope
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, nil, &DecodeError{Offset: jsonErrorOffset(err, len(body)), Err: err}
	}
	if env.Content == nil {
		code, msg := text.JSON(env.ErrorCode), text.JSON(env.Message)
		if code != "" || msg != "" {
			return nil, &APIError{Code: code, Message: msg}, nil
		}
		return nil, nil, &DecodeError{Offset: 0, Err: errors.New(`not a Spring page: no "content" array`)}
	}
	page := &SpringPage[T]{
		Items:            make([]Item[T], len(env.Content)),
		Number:           env.Number,
		Size:             env.Size,
		NumberOfElements: env.NumberOfElements,
		TotalPages:       env.TotalPages,
		TotalElements:    env.TotalElements,
		First:            env.First,
		Last:             env.Last,
		Empty:            env.Empty || len(env.Content) == 0,
	}
	var offsets []int64 // element start offsets, computed only on error
	elemErr := func(i int, rel int64, err error) error {
		if offsets == nil {
			offsets = contentOffsets(body)
		}
		var base int64
		if i < len(offsets) {
			base = offsets[i]
		}
		return &DecodeError{Offset: base + rel, Err: fmt.Errorf("content[%d]: %w", i, err)}
	}
	for i, raw := range env.Content {
		if string(raw) == "null" {
			return nil, nil, elemErr(i, 0, errors.New("record is null"))
		}
		if err := json.Unmarshal(raw, &page.Items[i].Value); err != nil {
			return nil, nil, elemErr(i, jsonErrorOffset(err, len(raw)), err)
		}
		page.Items[i].Raw = raw
	}
	return page, nil, nil
}

// jsonErrorOffset returns where in an input of length n a decoding error
// occurred, as far as the error says.
func jsonErrorOffset(err error, n int) int64 {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		return int64(n)
	case errors.As(err, &se):
		return se.Offset
	case errors.As(err, &te):
		return te.Offset
	}
	return 0
}

// contentOffsets returns the byte offset in body of each element of the
// top-level "content" array. It matches keys as encoding/json does (the last
// case-insensitive match wins). body must be valid JSON; it is used only to
// place errors, so on any surprise it returns what it has.
func contentOffsets(body []byte) []int64 {
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil
	}
	var offsets []int64
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return offsets
		}
		key, _ := tok.(string)
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return offsets
		}
		if !strings.EqualFold(key, "content") {
			continue
		}
		start := dec.InputOffset() - int64(len(val))
		offsets = offsets[:0]
		inner := json.NewDecoder(bytes.NewReader(val))
		if tok, err := inner.Token(); err != nil || tok != json.Delim('[') {
			continue
		}
		for inner.More() {
			var elem json.RawMessage
			if err := inner.Decode(&elem); err != nil {
				break
			}
			offsets = append(offsets, start+inner.InputOffset()-int64(len(elem)))
		}
	}
	return offsets
}

// isJSONSpace reports whether b is JSON whitespace.
func isJSONSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\n' || b == '\r' }

// trimJSONSpace returns the sub-slice of b without leading and trailing
// JSON whitespace, and the offset where it starts.
func trimJSONSpace(b []byte) ([]byte, int) {
	start, end := 0, len(b)
	for start < end && isJSONSpace(b[start]) {
		start++
	}
	for end > start && isJSONSpace(b[end-1]) {
		end--
	}
	return b[start:end], start
}

// jsonKind names the kind of JSON value that starts with b.
func jsonKind(b byte) string {
	switch {
	case b == '{':
		return "a JSON object"
	case b == '[':
		return "a JSON array"
	case b == '"':
		return "a JSON string"
	case b == 't' || b == 'f':
		return "a JSON boolean"
	case b == 'n':
		return "JSON null"
	case b == '-' || (b >= '0' && b <= '9'):
		return "a JSON number"
	}
	return "not JSON"
}

// syntaxError returns a *DecodeError for body if it is not valid JSON, else
// nil.
func syntaxError(body []byte, expected string) *DecodeError {
	if json.Valid(body) {
		return nil
	}
	var v json.RawMessage
	err := json.Unmarshal(body, &v)
	if err == nil { // cannot happen: Valid said otherwise
		err = errors.New("invalid JSON")
	}
	return &DecodeError{Offset: jsonErrorOffset(err, len(body)), Err: fmt.Errorf("expected %s; got invalid JSON: %w", expected, err)}
}

// errorObject returns the body's error as an *APIError (without Op, URL and
// status) when the JSON object body is an error object in place of a
// record: it has an errorCode, or a message and no recordKey (a field every
// record has, e.g. "uuid").
func errorObject(body []byte, recordKey string) *APIError {
	var fields map[string]json.RawMessage
	if json.Unmarshal(body, &fields) != nil {
		return nil
	}
	code, msg := text.JSON(fields["errorCode"]), text.JSON(fields["message"])
	_, isRecord := fields[recordKey]
	if code != "" || (msg != "" && !isRecord) {
		return &APIError{Code: code, Message: msg}
	}
	return nil
}

// decodeObject decodes a body holding one JSON object into T and keeps the
// object's exact bytes (surrounding whitespace dropped). An error object in
// place of the record comes back as an *APIError without Op, URL and status
// for the caller to complete; anything else that is not such an object is a
// *DecodeError. recordKey is a field every record has (see errorObject).
func decodeObject[T any](body []byte, recordKey string) (Item[T], *APIError, error) {
	const expected = "a JSON object"
	obj, start := trimJSONSpace(body)
	if len(obj) == 0 {
		return Item[T]{}, nil, &DecodeError{Offset: 0, Err: fmt.Errorf("expected %s; got an empty body", expected)}
	}
	if de := syntaxError(body, expected); de != nil {
		return Item[T]{}, nil, de
	}
	if obj[0] != '{' {
		return Item[T]{}, nil, &DecodeError{Offset: int64(start), Err: fmt.Errorf("expected %s; got %s", expected, jsonKind(obj[0]))}
	}
	if apiErr := errorObject(obj, recordKey); apiErr != nil {
		return Item[T]{}, apiErr, nil
	}
	var it Item[T]
	if err := json.Unmarshal(body, &it.Value); err != nil {
		return Item[T]{}, nil, &DecodeError{Offset: jsonErrorOffset(err, len(body)), Err: err}
	}
	it.Raw = obj
	return it, nil, nil
}
