// Package export writes the records of one synced type as NDJSON (the raw
// JSON exactly as the API returned it, one record a line), a JSON array, or
// CSV of the type's columns. It streams: memory does not grow with the type.
package export

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"io"

	"qtc/store"
	"qtc/sync/catalog"
)

// Formats lists the accepted --format values.
var Formats = []string{"ndjson", "json", "csv"}

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
	case "ndjson", "":
		err = st.Each(ctx, conn, typ, func(r store.Record) error {
			n++
			if _, err := bw.Write(r.Raw); err != nil {
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
			n++
			if _, err := bw.WriteString(sep); err != nil {
				return err
			}
			_, err := bw.Write(r.Raw)
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
