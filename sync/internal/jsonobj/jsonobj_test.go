package jsonobj

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

func TestScanObject(t *testing.T) {
	for _, tc := range []struct {
		name, raw string
		want      map[string]string // key → raw value; nil: an error
	}{
		{"empty", `{}`, map[string]string{}},
		{"spaces", " { \"a\" : 1 , \"b\":\t\"x\" }\n", map[string]string{"a": "1", "b": `"x"`}},
		{"nested", `{"a":{"b":[1,{"c":"}"}]},"d":null}`, map[string]string{"a": `{"b":[1,{"c":"}"}]}`, "d": "null"}},
		{"escaped value", `{"a":"x\"y\\"}`, map[string]string{"a": `"x\"y\\"`}},
		{"escaped key", `{"\u0061":true}`, map[string]string{"a": "true"}},
		{"repeated key: last wins", `{"a":1,"a":2}`, map[string]string{"a": "2"}},
		{"not an object", `[1]`, nil},
		{"null", `null`, nil},
		{"cut off", `{"a":"x`, nil},
		{"cut off in array", `{"a":[1,2`, nil},
		{"mismatched", `{"a":[1}`, nil},
		{"trailing garbage", `{"a":1}x`, nil},
		{"missing colon", `{"a" 1}`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := Scan([]byte(tc.raw))
			if tc.want == nil {
				if err == nil {
					t.Fatalf("Scan(%s) = %v, want an error", tc.raw, o)
				}
				return
			}
			if err != nil {
				t.Fatalf("Scan(%s): %v", tc.raw, err)
			}
			for k, v := range tc.want {
				if got := string(o.Get(k)); got != v {
					t.Errorf("get(%q) = %s, want %s", k, got, v)
				}
			}
			if o.Get("absent") != nil {
				t.Error("get of an absent key is not nil")
			}
		})
	}
}

func TestObjectID(t *testing.T) {
	for _, tc := range []struct {
		raw, want string
		err       bool
	}{
		{`{"id":"abc","x":1}`, "abc", false},
		{`{"x":{"id":"inner"},"id":"outer"}`, "outer", false},
		{`{"x":1}`, "", false},
		{`{"id":null}`, "", false},
		{`{"id":12}`, "", true},
		{`{"id":"a\u00e9"}`, "aé", false},
		{`"id"`, "", true},
	} {
		got, err := ID(json.RawMessage(tc.raw))
		if got != tc.want || (err != nil) != tc.err {
			t.Errorf("ID(%s) = %q, %v; want %q, error %v", tc.raw, got, err, tc.want, tc.err)
		}
	}
}

// FuzzScan checks the one-pass scanner against encoding/json: on
// every valid JSON object it finds the same members with the same bytes,
// and on anything else it does not panic.
func FuzzScan(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1}`, `{"a":{"b":[1,"]"]},"c":"\"}"}`, `{"a":1,"a":2}`, `{"\u0041":1}`, `{"a":tru}`, `[]`} {
		f.Add([]byte(s))
	}
	// The seeds' and the simulators' records.
	files, _ := filepath.Glob(filepath.Join("..", "..", "..", "..", "shared", "seeds", "*", "*.json"))
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil && len(b) < 64<<10 {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		o, err := Scan(raw)
		var m map[string]json.RawMessage
		if json.Unmarshal(raw, &m) != nil || m == nil {
			return // not a valid object: any answer but a panic will do
		}
		if err != nil {
			t.Fatalf("scanObject refused a valid object: %v\n%s", err, raw)
		}
		for k, v := range m {
			if got := o.Get(k); !bytes.Equal(bytes.TrimSpace(got), bytes.TrimSpace(v)) {
				t.Fatalf("get(%q) = %s, encoding/json has %s\n%s", k, got, v, raw)
			}
		}
		for _, mem := range o {
			if _, ok := m[string(mem.key)]; !ok {
				t.Fatalf("scanObject found key %q that encoding/json does not\n%s", mem.key, raw)
			}
		}
	})
}
