package sync

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"qtc/store"
	"qtc/store/vault"
	"qtc/sync/catalog"
)

var errReset = errors.New("410 resyncRequired")

// TestFullPullStartsOverWhenTheSourceResetsIt: a next link refused midway
// through a full pull (Graph's 410 resyncRequired) lists the query again
// from its first page instead of failing the stream.
func TestFullPullStartsOverWhenTheSourceResetsIt(t *testing.T) {
	tests := []struct {
		name     string
		resets   int // times page 1 is refused
		wantErr  bool
		wantRecs int
	}{
		{"one reset", 1, false, 6},
		{"resets until the limit", maxRestarts, false, 6},
		{"more resets than the limit", maxRestarts + 1, true, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			st, err := store.Open(filepath.Join(dir, "qtc.db"), store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			v, err := vault.Open(filepath.Join(dir, "key"))
			if err != nil {
				t.Fatal(err)
			}
			e := &Engine{Store: st, Vault: v}
			typ, _ := catalog.Lookup("exceptions")
			refused := 0
			s := stream{typ: typ, expired: func(err error) bool { return errors.Is(err, errReset) },
				fetch: func(_ context.Context, at cursor, _ string, _ int) (rawPage, error) {
					if at.page == 1 && refused < tc.resets {
						refused++
						return rawPage{}, errReset
					}
					var p rawPage
					for i := 0; i < 3; i++ {
						p.items = append(p.items, []byte(fmt.Sprintf(`{"uuid":"u%d-%d","name":"e"}`, at.page, i)))
					}
					p.next, p.last = cursor{page: at.page + 1}, at.page == 1
					return p, nil
				}}
			var cc changeCollector
			_, _, err = e.pull(context.Background(), "c", s, Options{}, &cc)
			if (err != nil) != tc.wantErr {
				t.Fatalf("pull: %v", err)
			}
			if n, _ := st.Count(context.Background(), "c", "exceptions"); !tc.wantErr && n != tc.wantRecs {
				t.Errorf("%d records, want %d", n, tc.wantRecs)
			}
		})
	}
}
