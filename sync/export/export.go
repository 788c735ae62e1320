// Package export writes the records of one synced type as NDJSON (the raw
// JSON exactly as the API returned it, one record a line), a JSON array, CSV
// of the type's columns, or the Qualys assets the seeds' transformation maps
// produce. Entra ID objects with relations (users, groups, directory roles,
// service principals) get them appended under their Graph navigation
// property names (memberOf, members, appRoleAssignments,
// appRoleAssignedTo). It streams: memory does not grow with the type.
package export

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"qtc/store"
	"qtc/sync/catalog"
	"qtc/sync/relations"
	"qtc/sync/transform"
)

// Formats lists the accepted --format values.
var Formats = []string{"ndjson", "json", "csv", "qualys-asset"}

// withRelations returns a record's JSON as exported: the raw bytes, plus
// its relations when the type has any.
func withRelations(ctx context.Context, st *store.Store, conn, typ string, r store.Record) ([]byte, error) {
	if len(relations.Of[typ]) == 0 {
		return r.Raw, nil
	}
	groups, err := relations.Get(ctx, st, conn, typ, r.ID)
	if err != nil {
		return nil, err
	}
	out, err := relations.Expand(r.Raw, groups)
	if err != nil {
		return nil, fmt.Errorf("record %s: %w", r.ID, err)
	}
	return out, nil
}

// Asset returns the Qualys asset a record maps to (seeds 002 and 003),
// with its relations as the maps read them (memberOf.value[], …).
func Asset(ctx context.Context, st *store.Store, conn, typ string, r store.Record) (json.RawMessage, error) {
	m, ok := transform.For(typ)
	if !ok {
		return nil, fmt.Errorf("type %s has no transformation map (the seeds map %s)", typ, strings.Join(transform.Types(), ", "))
	}
	src := r.Raw
	if len(relations.Of[typ]) > 0 {
		groups, err := relations.Get(ctx, st, conn, typ, r.ID)
		if err != nil {
			return nil, err
		}
		if src, err = relations.Values(r.Raw, groups); err != nil {
			return nil, fmt.Errorf("record %s: %w", r.ID, err)
		}
	}
	out, err := transform.Apply(m, src)
	if err != nil {
		return nil, fmt.Errorf("record %s: %w", r.ID, err)
	}
	return out, nil
}

// Write streams every record of typ of connector conn to w in format.
// It returns the number of records written.
func Write(ctx context.Context, st *store.Store, conn, typ, format string, w io.Writer) (int, error) {
	t, ok := catalog.Lookup(typ)
	if !ok {
		return 0, fmt.Errorf("--type %q is not a known type (known: %v)", typ, catalog.Names())
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	n := 0
	var err error
	switch format {
	case "ndjson", "", "qualys-asset":
		if format == "qualys-asset" {
			if _, ok := transform.For(typ); !ok {
				return 0, fmt.Errorf("--format qualys-asset: type %s has no transformation map (the seeds map %s)", typ, strings.Join(transform.Types(), ", "))
			}
		}
		err = st.Each(ctx, conn, typ, func(r store.Record) error {
			var line []byte
			var err error
			if format == "qualys-asset" {
				line, err = Asset(ctx, st, conn, typ, r)
			} else {
				line, err = withRelations(ctx, st, conn, typ, r)
			}
			if err != nil {
				return err
			}
			n++
			if _, err := bw.Write(line); err != nil {
				return err
			}
			return bw.WriteByte('\n')
		})
	case "json":
		if _, err = bw.WriteString("["); err != nil {
			break
		}
		err = st.Each(ctx, conn, typ, func(r store.Record) error {
			sep := ",\n"
			if n == 0 {
				sep = "\n"
			}
			line, err := withRelations(ctx, st, conn, typ, r)
			if err != nil {
				return err
			}
			n++
			if _, err := bw.WriteString(sep); err != nil {
				return err
			}
			_, err = bw.Write(line)
			return err
		})
		if err == nil {
			_, err = bw.WriteString("\n]\n")
		}
	case "csv":
		cw := csv.NewWriter(bw)
		header := []string{"id"}
		for _, c := range t.Columns {
			header = append(header, c.Title)
		}
		if err = cw.Write(header); err != nil {
			break
		}
		err = st.Each(ctx, conn, typ, func(r store.Record) error {
			n++
			return cw.Write(append([]string{r.ID}, r.Cells...))
		})
		cw.Flush()
		if err == nil {
			err = cw.Error()
		}
	default:
		return 0, fmt.Errorf("--format %q is not one of %v", format, Formats)
	}
	if err != nil {
		return n, fmt.Errorf("export %s/%s: %w", conn, typ, err)
	}
	if err := bw.Flush(); err != nil {
		return n, fmt.Errorf("export %s/%s: %w", conn, typ, err)
	}
	return n, nil
}
