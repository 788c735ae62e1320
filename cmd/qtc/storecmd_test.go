package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"qtc/store"
)

func TestStoreCompact(t *testing.T) {
	s := newSandbox(t)
	ctx := context.Background()
	st, err := store.Open(s.db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	layout := store.Layout{Columns: []store.ColumnKind{store.Text}}
	var recs []store.Record
	var ids []string
	for i := range 3000 {
		id := fmt.Sprintf("id-%05d", i)
		ids = append(ids, id)
		recs = append(recs, store.Record{ID: id, Raw: []byte(fmt.Sprintf(`{"id":%q,"pad":%q}`, id, strings.Repeat("x", 500))), Cells: []string{id}})
	}
	if _, err := st.WritePage(ctx, store.PageWrite{Connector: "c", Type: "t", Layout: layout, Stream: "t", Generation: 1, Records: recs}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.DeleteRecords(ctx, "c", "t", ids[:2000]); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		hold     bool // the store is open in another process
		shrinks  bool
		wantCode int
		wantOut  string // on stdout (success) or stderr
	}{
		{"refused while the store is open", true, false, exitFailure, "in use"},
		{"compacts", false, true, 0, "% recovered"},
		{"again", false, false, 0, "compacted " + s.db},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !tt.hold && st != nil {
				if err := st.Close(); err != nil {
					t.Fatal(err)
				}
				st = nil
			}
			before, err := os.ReadFile(s.db)
			if err != nil {
				t.Fatal(err)
			}
			out, errOut, code := s.run(s.env(), "store", "compact")
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d; stderr %q", code, tt.wantCode, errOut)
			}
			if got := out + errOut; !strings.Contains(got, tt.wantOut) {
				t.Errorf("output %q does not say %q", got, tt.wantOut)
			}
			after, err := os.ReadFile(s.db)
			if err != nil {
				t.Fatal(err)
			}
			if tt.hold && string(after) != string(before) {
				t.Error("a locked store was modified")
			}
			if tt.shrinks && len(after) >= len(before) {
				t.Errorf("%d bytes before, %d after", len(before), len(after))
			}
		})
	}
	st, err = store.Open(s.db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if n, err := st.Count(ctx, "c", "t"); err != nil || n != 1000 {
		t.Errorf("Count = %d, %v; want 1000", n, err)
	}
	if err := st.Check(ctx); err != nil {
		t.Error(err)
	}
}
