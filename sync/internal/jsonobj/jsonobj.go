// Package jsonobj reads the top-level members of a JSON object in one pass,
// without decoding or allocating what the caller does not ask for. Reading
// a record's id and cells this way instead of unmarshalling it into a map
// (which validates and allocates every key and value) was most of a sync's
// decoding time.
package jsonobj

import (
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
)

// Member is one top-level member of a JSON object: its key (unescaped) and
// its value, byte for byte.
type Member struct {
	key []byte
	val json.RawMessage
}

// Object is the top-level members of a JSON object in document order.
type Object []Member

// Get returns the value of key (the last one if it repeats, as
// encoding/json does), or nil.
func (o Object) Get(key string) json.RawMessage {
	for i := len(o) - 1; i >= 0; i-- {
		if string(o[i].key) == key {
			return o[i].val
		}
	}
	return nil
}

// errNotObject is the error of a record that is not a JSON object.
var errNotObject = errors.New("not a JSON object")

// Scan splits the JSON object raw into its top-level members. The
// records it reads come from pages already checked as valid JSON; it checks
// the object's structure (and never reads out of bounds) but not every
// byte of the values, which the cells then decode. Input that is not a
// well-formed object is handed to encoding/json for its precise error.
func Scan(raw []byte) (Object, error) {
	o, ok := scanMembers(raw, make(Object, 0, 8))
	if ok {
		return o, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, errNotObject
	}
	// Well-formed after all (e.g. exotic whitespace): take the slow path.
	o = o[:0]
	for k, v := range m {
		o = append(o, Member{key: []byte(k), val: v})
	}
	return o, nil
}

// scanMembers is scanObject's fast path; ok is false when raw is not a
// well-formed object or has an escaped key.
func scanMembers(raw []byte, o Object) (_ Object, ok bool) {
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return nil, false
	}
	i = skipSpace(raw, i+1)
	if i < len(raw) && raw[i] == '}' {
		return o, skipSpace(raw, i+1) == len(raw)
	}
	for {
		if i >= len(raw) || raw[i] != '"' {
			return nil, false
		}
		end, escaped := stringEnd(raw, i)
		if end < 0 || escaped {
			return nil, false
		}
		key := raw[i+1 : end-1]
		if !utf8.Valid(key) { // encoding/json would read U+FFFD
			return nil, false
		}
		i = skipSpace(raw, end)
		if i >= len(raw) || raw[i] != ':' {
			return nil, false
		}
		i = skipSpace(raw, i+1)
		vend := valueEnd(raw, i)
		if vend < 0 {
			return nil, false
		}
		o = append(o, Member{key: key, val: raw[i:vend:vend]})
		i = skipSpace(raw, vend)
		if i >= len(raw) {
			return nil, false
		}
		switch raw[i] {
		case ',':
			i = skipSpace(raw, i+1)
		case '}':
			return o, skipSpace(raw, i+1) == len(raw)
		default:
			return nil, false
		}
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index after the string starting at b[i] ('"') and
// whether it holds an escape; -1 if it is not closed.
func stringEnd(b []byte, i int) (int, bool) {
	escaped := false
	for i++; i < len(b); i++ {
		switch c := b[i]; {
		case c == '\\':
			escaped = true
			i++
		case c == '"':
			return i + 1, escaped
		case c < 0x20:
			return -1, false
		}
	}
	return -1, false
}

// valueEnd returns the index after the value starting at b[i], or -1.
func valueEnd(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		end, _ := stringEnd(b, i)
		return end
	case '{', '[':
		var stack [64]byte
		depth := 0
		for i < len(b) {
			switch c := b[i]; c {
			case '"':
				end, _ := stringEnd(b, i)
				if end < 0 {
					return -1
				}
				i = end
				continue
			case '{', '[':
				if depth == len(stack) {
					return -1 // deeper than any record we read: let encoding/json judge
				}
				stack[depth] = c
				depth++
			case '}', ']':
				if depth == 0 || (c == '}') != (stack[depth-1] == '{') {
					return -1
				}
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return -1
	default: // number, true, false, null
		start := i
		for i < len(b) {
			switch b[i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				if i == start {
					return -1
				}
				return i
			case '"', '{', '[', ':':
				return -1
			}
			i++
		}
		return -1 // a bare scalar is not inside an object
	}
}

// String decodes a JSON string value; ok is false if v is not a
// string.
func String(v json.RawMessage) (string, bool) {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return "", false
	}
	plain := true
	for _, c := range v[1 : len(v)-1] {
		if c == '\\' || c < 0x20 {
			plain = false
			break
		}
	}
	if plain && utf8.Valid(v[1:len(v)-1]) {
		return string(v[1 : len(v)-1]), true
	}
	var s string
	if json.Unmarshal(v, &s) != nil {
		return "", false
	}
	return s, true
}

// ID returns the "id" string of a JSON object.
func ID(raw json.RawMessage) (string, error) {
	o, err := Scan(raw)
	if err != nil {
		return "", err
	}
	v := o.Get("id")
	if v == nil || string(v) == "null" {
		return "", nil
	}
	id, ok := String(v)
	if !ok {
		return "", fmt.Errorf("id is %s, not a string", truncate(string(v), 40))
	}
	return id, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
