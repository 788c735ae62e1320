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

// TestPageReadFromTheStoreWaitsForTheWrites: a page that is computed from
// the store (the hosts' reconcile page) is fetched only once every page
// before it is committed — fetched ahead of the writer, it read the old
// records and wrote them back over the new ones (a faulted hosts delta lost
// a changed asset about a third of the time).
func TestPageReadFromTheStoreWaitsForTheWrites(t *testing.T) {
	for _, tc := range []struct {
		name  string
		pages int
		group int
	}{
		{"one page before", 1, 1},
		{"many pages, written one by one", 8, 1},
		{"many pages, grouped", 8, 5000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			st, err := store.Open(filepath.Join(dir, "qtc.db"), store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			// Written straight into the type: a staged first pull is
			// never followed by a page read from the store.
			e := &Engine{Store: st, GroupRecords: tc.group, NoStaging: true}
			typ, _ := catalog.Lookup("exceptions")
			const perPage = 500
			s := stream{typ: typ, afterWrites: func(at cursor) bool { return at.marker == "store" },
				fetch: func(ctx context.Context, at cursor, _ string, _ int) (rawPage, error) {
					if at.marker == "store" {
						n, err := st.Count(ctx, "c", "exceptions")
						if err != nil || n != tc.pages*perPage {
							return rawPage{}, fmt.Errorf("the page read from the store sees %d records (%v), want the %d written before it", n, err, tc.pages*perPage)
						}
						return rawPage{last: true}, nil
					}
					var p rawPage
					for i := 0; i < perPage; i++ {
						p.items = append(p.items, []byte(fmt.Sprintf(`{"uuid":"u%d-%d","name":"e"}`, at.page, i)))
					}
					p.next = cursor{page: at.page + 1}
					if at.page == tc.pages-1 {
						p.next = cursor{marker: "store"}
					}
					return p, nil
				}}
			var cc changeCollector
			if _, _, err := e.pull(context.Background(), "c", s, Options{}, &cc); err != nil {
				t.Fatal(err)
			}
		})
	}
}
