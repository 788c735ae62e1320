package export

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"qtc/store"
	"qtc/sync/catalog"
)

func storeWith(t *testing.T, n int) *store.Store {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "qtc.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	typ, _ := catalog.Lookup("exceptions")
	var recs []store.Record
	for i := 0; i < n; i++ {
		// Keys in an unusual order and spacing: export must keep the bytes.
		raw := fmt.Sprintf(`{"uuid": "u%03d","name":"Exception, \"%d\"","state":"ACTIVE","reason":"Risk Accepted","scope":"CONNECTOR","startingDate":"2026-05-17T18:30:00.000Z","endingDate":"2026-05-20T18:29:59.000Z"}`, i, i)
		r, err := typ.Record(json.RawMessage(raw), nil)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	if _, err := st.WritePage(context.Background(), store.PageWrite{Connector: "c", Type: "exceptions", Layout: typ.Layout(), Records: recs}); err != nil {
		t.Fatal(err)
	}
	return st
}

func TestFormats(t *testing.T) {
	st := storeWith(t, 3)
	ctx := context.Background()

	var nd bytes.Buffer
	if n, err := Write(ctx, st, "c", "exceptions", "ndjson", &nd); err != nil || n != 3 {
		t.Fatalf("ndjson: %d, %v", n, err)
	}
	lines := strings.Split(strings.TrimSuffix(nd.String(), "\n"), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], `{"uuid": "u000",`) {
		t.Fatalf("ndjson lines not the raw bytes: %q", lines)
	}

	var js bytes.Buffer
	if _, err := Write(ctx, st, "c", "exceptions", "json", &js); err != nil {
		t.Fatal(err)
	}
	var arr []json.RawMessage
	if err := json.Unmarshal(js.Bytes(), &arr); err != nil || len(arr) != 3 {
		t.Fatalf("json: %d records, %v", len(arr), err)
	}

	var cs bytes.Buffer
	if _, err := Write(ctx, st, "c", "exceptions", "csv", &cs); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&cs).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 || rows[0][0] != "id" || rows[0][1] != "NAME" || rows[1][1] != `Exception, "0"` {
		t.Fatalf("csv rows = %q", rows)
	}
}

func TestEmptyTypeAndBadArguments(t *testing.T) {
	st := storeWith(t, 0)
	ctx := context.Background()
	var js bytes.Buffer
	if n, err := Write(ctx, st, "c", "policies", "json", &js); err != nil || n != 0 || strings.TrimSpace(js.String()) != "[\n]" {
		t.Fatalf("empty json export: %d %v %q", n, err, js.String())
	}
	if _, err := Write(ctx, st, "c", "bogus", "ndjson", &js); err == nil || !strings.Contains(err.Error(), "--type") {
		t.Errorf("unknown type: %v", err)
	}
	if _, err := Write(ctx, st, "c", "policies", "xml", &js); err == nil || !strings.Contains(err.Error(), "--format") {
		t.Errorf("unknown format: %v", err)
	}
}
