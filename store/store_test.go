package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// newStore opens a fresh store in a temporary directory.
func newStore(t testing.TB) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "qtc.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// mustCheck fails the test if the store's indexes are inconsistent.
func mustCheck(t testing.TB, s *Store) {
	t.Helper()
	if err := s.Check(context.Background()); err != nil {
		t.Fatalf("Check: %v", err)
	}
}

func TestMigrationsCoverSchema(t *testing.T) {
	if len(migrations) != SchemaVersion {
		t.Fatalf("len(migrations) = %d, SchemaVersion = %d", len(migrations), SchemaVersion)
	}
}

func TestDefaultPath(t *testing.T) {
	tests := []struct {
		name, xdg, home, want string
	}{
		{"xdg", "/xdg/data", "/home/u", "/xdg/data/qtc/qtc.db"},
		{"no xdg", "", "/home/u", "/home/u/.local/share/qtc/qtc.db"},
		{"relative xdg ignored", "rel/data", "/home/u", "/home/u/.local/share/qtc/qtc.db"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("XDG_DATA_HOME", tt.xdg)
			t.Setenv("HOME", tt.home)
			got, err := DefaultPath()
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("DefaultPath() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestOpenCreatesPrivateFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	path := filepath.Join(dir, "qtc.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Path() != path {
		t.Errorf("Path() = %q, want %q", s.Path(), path)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path string
		want os.FileMode
	}{{dir, 0o700}, {path, 0o600}} {
		fi, err := os.Stat(c.path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != c.want {
			t.Errorf("%s: mode %o, want %o", c.path, got, c.want)
		}
	}
	// Reopen read-write and read-only; the schema is there.
	for _, ro := range []bool{false, true} {
		s, err := Open(path, Options{ReadOnly: ro})
		if err != nil {
			t.Fatalf("reopen (read-only %v): %v", ro, err)
		}
		var v []byte
		_ = s.db.View(func(tx *bolt.Tx) error {
			v = bytes.Clone(tx.Bucket(bucketMeta).Get(keySchema))
			return nil
		})
		if !bytes.Equal(v, u64(SchemaVersion)) {
			t.Errorf("schema = %x, want %d", v, SchemaVersion)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestOpenEmptyFileIsInitialised(t *testing.T) {
	path := filepath.Join(t.TempDir(), "qtc.db")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path, Options{ReadOnly: true}); err == nil {
		t.Fatal("read-only open of an empty file succeeded")
	}
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.PutConnector(context.Background(), Connector{Name: "x"}); err != nil {
		t.Fatal(err)
	}
}

// storeBytes builds a real store with some records and returns its bytes.
func storeBytes(t *testing.T) []byte {
	t.Helper()
	s := newStore(t)
	writeRecords(t, s, "q", "host", 1, 0, 2000)
	path := s.Path()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestOpenNotStore(t *testing.T) {
	random := make([]byte, 64<<10)
	_, _ = rand.Read(random)
	valid := storeBytes(t)
	m, ok := parseBoltMeta(valid)
	if !ok {
		t.Fatal("test store has no valid meta page 0")
	}
	need := int(m.pgid) * int(m.pageSize) // bbolt may preallocate beyond this
	if m.pageSize != 4096 || need < 8*4096 {
		t.Fatalf("test store: page size %d, %d pages", m.pageSize, m.pgid)
	}
	foreign := func() []byte {
		p := filepath.Join(t.TempDir(), "other.db")
		db, err := bolt.Open(p, 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		_ = db.Update(func(tx *bolt.Tx) error {
			b, _ := tx.CreateBucket([]byte("widgets"))
			return b.Put([]byte("k"), []byte("v"))
		})
		_ = db.Close()
		b, _ := os.ReadFile(p)
		return b
	}()

	tests := []struct {
		name    string
		content []byte
	}{
		{"random bytes", random},
		{"text file", []byte("name,ip\nweb01,10.0.0.1\n")},
		{"one byte", []byte{0}},
		{"truncated to 100 bytes", valid[:100]},
		{"truncated to meta pages", valid[:2*4096]},
		{"truncated inside its pages", valid[:need-4096]},
		{"truncated to half its pages", valid[:need/2]},
		{"meta pages zeroed", append(make([]byte, 2*4096), valid[2*4096:]...)},
		{"bbolt of another program", foreign},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "qtc.db")
			if err := os.WriteFile(path, tt.content, 0o644); err != nil {
				t.Fatal(err)
			}
			for _, ro := range []bool{false, true} {
				s, err := Open(path, Options{ReadOnly: ro})
				if err == nil {
					s.Close()
					t.Fatalf("Open (read-only %v) succeeded", ro)
				}
				if !errors.Is(err, ErrNotStore) {
					t.Fatalf("Open (read-only %v) = %v, want ErrNotStore", ro, err)
				}
				if msg := err.Error(); !strings.Contains(msg, path) || !strings.Contains(msg, "--db") {
					t.Errorf("message %q does not name the path and --db", msg)
				}
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.content) {
				t.Fatal("file was modified")
			}
		})
	}

	// The intact store still opens.
	path := filepath.Join(t.TempDir(), "qtc.db")
	if err := os.WriteFile(path, valid, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("intact copy: %v", err)
	}
	defer s.Close()
	mustCheck(t, s)
}

func TestOpenLocked(t *testing.T) {
	s := newStore(t)
	for _, ro := range []bool{false, true} {
		start := time.Now()
		s2, err := Open(s.Path(), Options{Timeout: 100 * time.Millisecond, ReadOnly: ro})
		if err == nil {
			s2.Close()
			t.Fatalf("second Open (read-only %v) succeeded", ro)
		}
		if !errors.Is(err, ErrLocked) {
			t.Fatalf("second Open (read-only %v) = %v, want ErrLocked", ro, err)
		}
		if !strings.Contains(err.Error(), s.Path()) {
			t.Errorf("message %q does not name the path", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("ErrLocked took %v", d)
		}
	}
	// The first store is unaffected.
	if err := s.PutConnector(context.Background(), Connector{Name: "ok"}); err != nil {
		t.Fatal(err)
	}
}

func TestOpenNewerSchema(t *testing.T) {
	s := newStore(t)
	path := s.Path()
	s.Close()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keySchema, u64(SchemaVersion+1))
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	before, _ := os.ReadFile(path)
	fiBefore, _ := os.Stat(path)

	for _, ro := range []bool{false, true} {
		_, err = Open(path, Options{ReadOnly: ro})
		if !errors.Is(err, ErrNewerSchema) {
			t.Fatalf("Open (read-only %v) = %v, want ErrNewerSchema", ro, err)
		}
		msg := err.Error()
		if !strings.Contains(msg, fmt.Sprint(SchemaVersion+1)) || !strings.Contains(msg, fmt.Sprint(SchemaVersion)) {
			t.Errorf("message %q does not name both versions", msg)
		}
	}
	after, _ := os.ReadFile(path)
	fiAfter, _ := os.Stat(path)
	if !bytes.Equal(before, after) || !fiBefore.ModTime().Equal(fiAfter.ModTime()) {
		t.Fatal("file was modified")
	}
}

func TestConnectors(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	if _, err := s.Connector(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Connector(nope) = %v, want ErrNotFound", err)
	}
	when := time.Date(2026, 5, 17, 18, 30, 0, 0, time.UTC)
	for _, name := range []string{"zeta", "alpha", "mid"} {
		c := Connector{Name: name, Kind: "qualys", Settings: map[string]string{"url": "https://" + name},
			Sealed: map[string]string{"password": "v1:xx"}, CreatedAt: when, UpdatedAt: when}
		if err := s.PutConnector(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PutConnector(ctx, Connector{}); err == nil {
		t.Error("PutConnector with empty name succeeded")
	}
	got, err := s.Connector(ctx, "mid")
	if err != nil {
		t.Fatal(err)
	}
	if got.Settings["url"] != "https://mid" || got.Sealed["password"] != "v1:xx" || !got.CreatedAt.Equal(when) {
		t.Errorf("Connector(mid) = %+v", got)
	}
	all, err := s.Connectors(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range all {
		names = append(names, c.Name)
	}
	if strings.Join(names, ",") != "alpha,mid,zeta" {
		t.Errorf("Connectors order = %v", names)
	}
}

func TestRuns(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	var ids []uint64
	for i := range 5 {
		r, err := s.BeginRun(ctx, Run{Connector: "q", Kind: "full", State: "Processing", Start: time.Unix(int64(i), 0)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
		if i%2 == 0 {
			r.State = "Processed"
			r.Counts = map[string]Counts{"host": {Added: i}}
			if err := s.FinishRun(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := s.BeginRun(ctx, Run{Connector: "other"}); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishRun(ctx, Run{Connector: "q", ID: 999}); !errors.Is(err, ErrNotFound) {
		t.Errorf("FinishRun(unknown) = %v, want ErrNotFound", err)
	}
	for i := 1; i < len(ids); i++ {
		if ids[i] <= ids[i-1] {
			t.Fatalf("run IDs not increasing: %v", ids)
		}
	}
	tests := []struct {
		limit int
		want  []uint64
	}{
		{0, []uint64{ids[4], ids[3], ids[2], ids[1], ids[0]}},
		{2, []uint64{ids[4], ids[3]}},
		{10, []uint64{ids[4], ids[3], ids[2], ids[1], ids[0]}},
	}
	for _, tt := range tests {
		runs, err := s.Runs(ctx, "q", tt.limit)
		if err != nil {
			t.Fatal(err)
		}
		var got []uint64
		for _, r := range runs {
			got = append(got, r.ID)
		}
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("Runs(limit %d) = %v, want %v", tt.limit, got, tt.want)
		}
	}
	runs, _ := s.Runs(ctx, "q", 1)
	if runs[0].State != "Processed" || runs[0].Counts["host"].Added != 4 {
		t.Errorf("finished run = %+v", runs[0])
	}
	if runs, _ := s.Runs(ctx, "none", 0); len(runs) != 0 {
		t.Errorf("Runs(none) = %v", runs)
	}
}

func TestStreamState(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	st, err := s.StreamState(ctx, "q", "hosts")
	if err != nil || st != (StreamState{}) {
		t.Fatalf("StreamState of nothing = %+v, %v", st, err)
	}
	want := StreamState{Phase: PhasePaging, Generation: 7, NextPage: 3, Marker: "m", Total: 10,
		LastSuccess: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	if err := s.PutStreamState(ctx, "q", "hosts", want); err != nil {
		t.Fatal(err)
	}
	st, err = s.StreamState(ctx, "q", "hosts")
	if err != nil {
		t.Fatal(err)
	}
	if st != want {
		t.Fatalf("StreamState = %+v, want %+v", st, want)
	}
}

func TestDeleteConnector(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	for _, name := range []string{"a", "b"} {
		if err := s.PutConnector(ctx, Connector{Name: name}); err != nil {
			t.Fatal(err)
		}
		writeRecords(t, s, name, "host", 1, 0, 300)
		if _, err := s.BeginRun(ctx, Run{Connector: name}); err != nil {
			t.Fatal(err)
		}
	}
	// Populate anchors, then delete.
	if _, err := s.Rows(ctx, "a", "host", Order{}, 280, 10); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteConnector(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteConnector(ctx, "a"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second DeleteConnector = %v, want ErrNotFound", err)
	}
	if _, err := s.Connector(ctx, "a"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Connector(a) after delete = %v", err)
	}
	if n, _ := s.Count(ctx, "a", "host"); n != 0 {
		t.Errorf("Count(a) = %d after delete", n)
	}
	if ty, _ := s.Types(ctx, "a"); len(ty) != 0 {
		t.Errorf("Types(a) = %v after delete", ty)
	}
	if runs, _ := s.Runs(ctx, "a", 0); len(runs) != 0 {
		t.Errorf("Runs(a) = %v after delete", runs)
	}
	if st, _ := s.StreamState(ctx, "a", "host"); st != (StreamState{}) {
		t.Errorf("StreamState(a) = %+v after delete", st)
	}
	if n, _ := s.Count(ctx, "b", "host"); n != 300 {
		t.Errorf("Count(b) = %d, want 300", n)
	}
	// Recreating the connector starts clean (no stale anchors).
	writeRecords(t, s, "a", "host", 2, 0, 10)
	rows, err := s.Rows(ctx, "a", "host", Order{}, 0, 50)
	if err != nil || len(rows) != 10 {
		t.Fatalf("Rows after recreate = %d rows, %v", len(rows), err)
	}
	mustCheck(t, s)
}
