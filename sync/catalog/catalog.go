// Package catalog describes every record type qtc syncs: its name on the
// command line, its title on screen, the columns a list shows and indexes,
// and how those cells are read from a record's raw JSON.
//
// The catalog is data shared by the sync engine (which indexes cells when it
// writes a page), the screens (which label and size the columns) and export.
package catalog

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"time"

	"qtc/store"
)

// Column is one indexed, sortable, filterable column of a record type.
type Column struct {
	Title    string
	Kind     store.ColumnKind
	MinWidth int
	MaxWidth int
	Flex     int
	Right    bool // right-aligned (numbers)
}

// Type is one record type of one connector kind.
type Type struct {
	Name          string // CLI and command-line name: "policies"
	Title         string // screen title: "Policies"
	ConnectorKind string // "qualys"
	Columns       []Column
	DefaultSort   int  // column a list opens sorted by
	DefaultDesc   bool // …descending (e.g. CVEs by the number of hosts)
	// Order places the type among its kind's types (screens, syncs).
	Order int
	// Cloud and Resource name the TotalCloud resource endpoint of resource
	// types ("Azure", "ENTRA_ID_USER"); empty for other types.
	Cloud, Resource string
	// Cells extracts the column values from a record's raw JSON; resolve
	// answers the value maps the type declares (nil when it declares none).
	Cells func(raw json.RawMessage, resolve Resolver) ([]string, error)
	// ID extracts the record's stable identifier from its raw JSON.
	ID func(raw json.RawMessage) (string, error)
	// ValueMaps are maps built from other synced types before this type's
	// pages are written (e.g. role definition id → role name).
	ValueMaps []ValueMap
	// Marker, if set, returns a one-rune marker for a row from its cells
	// (e.g. "!" for an exception that ends within 7 days), given now.
	Marker func(cells []string, now time.Time) string
}

// ValueMap maps the Key field of every record of Type to its Value field.
type ValueMap struct {
	Name       string
	Type       string
	Key, Value string
}

// Resolver answers a value map lookup; ok is false when the key is unknown.
type Resolver func(valueMap, key string) (value string, ok bool)

// resolve calls r when it is set.
func (r Resolver) resolve(valueMap, key string) (string, bool) {
	if r == nil {
		return "", false
	}
	return r(valueMap, key)
}

// Layout is the store layout of the type's indexed columns.
func (t Type) Layout() store.Layout {
	kinds := make([]store.ColumnKind, len(t.Columns))
	for i, c := range t.Columns {
		kinds[i] = c.Kind
	}
	return store.Layout{Columns: kinds}
}

// Record builds the store record for one raw API object.
func (t Type) Record(raw json.RawMessage, resolve Resolver) (store.Record, error) {
	id, err := t.ID(raw)
	if err != nil {
		return store.Record{}, fmt.Errorf("%s record: %w", t.Name, err)
	}
	if id == "" {
		return store.Record{}, fmt.Errorf("%s record has no id", t.Name)
	}
	cells, err := t.Cells(raw, resolve)
	if err != nil {
		return store.Record{}, fmt.Errorf("%s record %s: %w", t.Name, id, err)
	}
	return store.Record{ID: id, Raw: raw, Cells: cells}, nil
}

var registry = map[string]Type{}

func register(t Type) {
	if _, dup := registry[t.Name]; dup {
		panic("catalog: duplicate type " + t.Name)
	}
	registry[t.Name] = t
}

// Lookup returns the type called name: a registered type, or the generic
// type of a "{cloud}/{RESOURCE_TYPE}" name (see Generic).
func Lookup(name string) (Type, bool) {
	if t, ok := registry[name]; ok {
		return t, true
	}
	if t, ok := Generic(name); ok {
		if r, ok := registry[t.Name]; ok { // "AWS/ec2_instance" spelled differently
			return r, true
		}
		return t, true
	}
	return Type{}, false
}

// Resources lists the registered TotalCloud resource types.
func Resources() []Type {
	var out []Type
	for _, t := range ForKind("qualys") {
		if t.Cloud != "" {
			out = append(out, t)
		}
	}
	return out
}

// ForKind lists the types a connector kind syncs, in a stable order.
func ForKind(kind string) []Type {
	var out []Type
	for _, t := range registry {
		if t.ConnectorKind == kind {
			out = append(out, t)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Order != out[j].Order {
			return out[i].Order < out[j].Order
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// Names lists every type name, sorted.
func Names() []string {
	out := make([]string, 0, len(registry))
	for n := range registry {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// uuidID reads the "uuid" field, the identifier of every TotalCloud record.
func uuidID(raw json.RawMessage) (string, error) {
	var v struct {
		UUID string `json:"uuid"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", err
	}
	return v.UUID, nil
}

func itoa(n int) string { return strconv.Itoa(n) }
