package qualys

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// InputError is a request body file (qtc exception --file, qtc azure-org
// create --file) that cannot be taken as it is: where it goes wrong and why.
type InputError struct {
	Offset int64 // byte offset in the file
	Line   int   // 1-based line of Offset
	Column int   // 1-based column (in characters) of Offset
	Err    error
}

func (e *InputError) Error() string {
	return fmt.Sprintf("line %d, column %d (byte %d): %v", e.Line, e.Column, e.Offset, e.Err)
}

func (e *InputError) Unwrap() error { return e.Err }

// DecodeAzureOrgConnectorInput decodes the body of an Azure tenant
// connector to create (seed 001's request sample): one JSON object whose
// fields are all known; anything else is an *InputError. It does not
// validate the values (see Validate).
func DecodeAzureOrgConnectorInput(data []byte) (AzureOrgConnectorInput, error) {
	return decodeInput[AzureOrgConnectorInput](data)
}

// DecodeExceptionInput decodes the body of an exception to create or update
// as DecodeAzureOrgConnectorInput does.
func DecodeExceptionInput(data []byte) (ExceptionInput, error) {
	return decodeInput[ExceptionInput](data)
}

// decodeInput decodes data, one JSON object with no unknown fields and
// nothing after it, into a T.
func decodeInput[T any](data []byte) (T, error) {
	var v T
	obj, start := trimJSONSpace(data)
	if len(obj) == 0 {
		return v, newInputError(data, 0, errors.New("the file is empty; expected a JSON object"))
	}
	if !json.Valid(data) {
		var raw json.RawMessage
		err := json.Unmarshal(data, &raw)
		if err == nil {
			err = errors.New("invalid JSON")
		}
		return v, newInputError(data, jsonErrorOffset(err, len(data)), fmt.Errorf("not valid JSON: %w", err))
	}
	if obj[0] != '{' {
		return v, newInputError(data, int64(start), fmt.Errorf("expected a JSON object; got %s", jsonKind(obj[0])))
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		off := jsonErrorOffset(err, len(data))
		if rest, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			if name, uerr := strconv.Unquote(rest); uerr == nil {
				off = keyOffset(data, name)
			}
		}
		return v, newInputError(data, off, err)
	}
	return v, nil
}

func newInputError(data []byte, off int64, err error) *InputError {
	off = min(max(off, 0), int64(len(data)))
	before := data[:off]
	line := 1 + bytes.Count(before, []byte{'\n'})
	col := 1 + utf8.RuneCount(before[bytes.LastIndexByte(before, '\n')+1:])
	return &InputError{Offset: off, Line: line, Column: col, Err: err}
}

// keyOffset returns the offset of the first object key named name in the
// valid JSON data, or 0.
func keyOffset(data []byte, name string) int64 {
	dec := json.NewDecoder(bytes.NewReader(data))
	type level struct{ obj, atKey bool }
	var stack []level
	valueDone := func() {
		if n := len(stack); n > 0 && stack[n-1].obj {
			stack[n-1].atKey = true
		}
	}
	for {
		off := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return 0
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				stack = append(stack, level{obj: true, atKey: true})
			case '[':
				stack = append(stack, level{})
			default:
				stack = stack[:len(stack)-1]
				valueDone()
			}
			continue
		case string:
			if n := len(stack); n > 0 && stack[n-1].obj && stack[n-1].atKey {
				if t == name {
					for off < int64(len(data)) && data[off] != '"' {
						off++
					}
					return off
				}
				stack[n-1].atKey = false
				continue
			}
		}
		valueDone()
	}
}
