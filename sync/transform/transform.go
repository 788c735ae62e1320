// Package transform turns synced Entra ID records into the Qualys asset
// records the connectors' transformation maps produce (seeds 002 and 003).
// The maps are data (see Maps): one Rule per row of the seeds' tables.
package transform

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Map is one transformation map.
type Map struct {
	Name  string
	Rules []Rule
}

// Rule maps one source field to one target field.
//
// Source is a field name, a path through an array ("memberOf.value[].id"),
// or "*" (the whole record). Target is a dotted path; "[]" marks the array
// whose elements follow the source array's, and a final ".&" places the
// whole record. A Required rule whose source is missing is an error.
type Rule struct {
	Source, Target string
	Required       bool
	Picker         *Picker
}

// Picker is a FUNCTION_PICKER: the target value chosen by the source
// boolean.
type Picker struct {
	True, False, Absent string
}

// Apply runs m over one record and returns the asset as JSON.
func Apply(m Map, raw []byte) (json.RawMessage, error) {
	var src map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&src); err != nil {
		return nil, fmt.Errorf("%s map: record is not a JSON object: %w", m.Name, err)
	}
	out := map[string]any{}
	for _, r := range m.Rules {
		if err := apply(r, src, out); err != nil {
			return nil, fmt.Errorf("%s map: %s → %s: %w", m.Name, r.Source, r.Target, err)
		}
	}
	return json.Marshal(out)
}

func apply(r Rule, src, out map[string]any) error {
	switch {
	case r.Source == "*":
		parent := strings.TrimSuffix(r.Target, ".&")
		return set(out, parent, src)
	case r.Picker != nil:
		v, ok := src[r.Source]
		pick := r.Picker.Absent
		if b, isBool := v.(bool); ok && isBool {
			pick = r.Picker.False
			if b {
				pick = r.Picker.True
			}
		}
		return set(out, r.Target, pick)
	case strings.Contains(r.Source, "[]."):
		return applyArray(r, src, out)
	}
	v, ok := src[r.Source]
	if !ok || v == nil {
		if r.Required {
			return fmt.Errorf("required field %q is missing", r.Source)
		}
		return nil
	}
	return set(out, r.Target, v)
}

// applyArray maps source array elements onto target array elements by
// index: "memberOf.value[].id" → "asset.assetRelations[].assetHeader.externalAssetId".
func applyArray(r Rule, src, out map[string]any) error {
	srcPath, field, _ := strings.Cut(r.Source, "[].")
	tgtPath, tgtField, ok := strings.Cut(r.Target, "[].")
	if !ok {
		return fmt.Errorf("target has no [] to follow the source array")
	}
	elems, _ := lookup(src, srcPath).([]any)
	if len(elems) == 0 {
		return nil
	}
	arr, _ := lookup(out, tgtPath).([]any)
	for len(arr) < len(elems) {
		arr = append(arr, map[string]any{})
	}
	for i, e := range elems {
		em, _ := e.(map[string]any)
		v, present := em[field]
		if !present || v == nil {
			continue
		}
		dst, _ := arr[i].(map[string]any)
		if err := set(dst, tgtField, v); err != nil {
			return err
		}
	}
	return set(out, tgtPath, arr)
}

// lookup follows a dotted path through nested objects.
func lookup(m map[string]any, path string) any {
	var cur any = m
	for _, k := range strings.Split(path, ".") {
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = obj[k]
	}
	return cur
}

// set stores v at a dotted path, creating objects on the way.
func set(m map[string]any, path string, v any) error {
	keys := strings.Split(path, ".")
	for _, k := range keys[:len(keys)-1] {
		next, ok := m[k]
		if !ok {
			n := map[string]any{}
			m[k] = n
			m = n
			continue
		}
		obj, ok := next.(map[string]any)
		if !ok {
			return fmt.Errorf("%q is not an object", k)
		}
		m = obj
	}
	m[keys[len(keys)-1]] = v
	return nil
}

// Types lists the record types that have a map, sorted.
func Types() []string {
	out := make([]string, 0, len(Maps))
	for t := range Maps {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// For returns the map of a record type, if it has one.
func For(typ string) (Map, bool) {
	m, ok := Maps[typ]
	return m, ok
}
