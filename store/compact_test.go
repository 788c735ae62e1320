package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// fillForCompact writes n records of type host and 50 of type group with
// links between them, a stream state, two runs, a change set and a second
// connector, then deletes every second host when deleteHalf. It returns the
// ids of the hosts left.
func fillForCompact(t *testing.T, s *Store, n int, deleteHalf bool) []string {
	t.Helper()
	ctx := context.Background()
	for _, name := range []string{"q", "other"} {
		if err := s.PutConnector(ctx, Connector{Name: name, Kind: "qualys", Settings: map[string]string{"url": "https://x"}, Sealed: map[string]string{"password": "sealed:abc"}}); err != nil {
			t.Fatal(err)
		}
	}
	writeRecords(t, s, "q", "host", 1, 0, n)
	writeRecords(t, s, "q", "group", 1, 0, 50)
	var ops []LinkOp
	for g := range 50 {
		op := LinkOp{Rel: "members", Inverse: "memberOf", From: testID(g), FromData: []byte("group"), Reset: true}
		for i := g; i < n; i += 97 {
			op.Add = append(op.Add, Link{To: testID(i), Data: []byte("host")})
		}
		ops = append(ops, op)
	}
	if err := s.WriteLinks(ctx, "q", 1, ops); err != nil {
		t.Fatal(err)
	}
	if err := s.PutStreamState(ctx, "q", "host", StreamState{Generation: 1, LastSuccess: time.Date(2026, 5, 4, 15, 26, 0, 0, time.UTC), Mode: "full"}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		r, err := s.BeginRun(ctx, Run{Connector: "q", Kind: "full", Start: time.Date(2026, 5, 4, 15, 26, 0, 0, time.UTC), State: "Processing"})
		if err != nil {
			t.Fatal(err)
		}
		r.State, r.End = "Processed", r.Start.Add(time.Minute)
		r.Counts = map[string]Counts{"host": {Added: n}}
		if err := s.FinishRun(ctx, r); err != nil {
			t.Fatal(err)
		}
		if err := s.PutChanges(ctx, "q", r.ID, map[string]ChangeSet{"host": {Added: []string{testID(1), testID(2)}}}); err != nil {
			t.Fatal(err)
		}
	}
	var left []string
	var gone []string
	for i := range n {
		if deleteHalf && i%2 == 1 {
			gone = append(gone, testID(i))
		} else {
			left = append(left, testID(i))
		}
	}
	for len(gone) > 0 {
		chunk := gone[:min(len(gone), 1000)]
		gone = gone[len(chunk):]
		if _, err := s.DeleteRecords(ctx, "q", "host", chunk); err != nil {
			t.Fatal(err)
		}
	}
	return left
}

// dumpBolt lists every bucket (with its sequence), key and value of the
// bbolt file at path, one string each, in order.
func dumpBolt(t *testing.T, path string) []string {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var out []string
	var walk func(prefix string, b *bolt.Bucket) error
	walk = func(prefix string, b *bolt.Bucket) error {
		return b.ForEach(func(k, v []byte) error {
			if v == nil {
				nb := b.Bucket(k)
				p := fmt.Sprintf("%s/%q", prefix, k)
				out = append(out, fmt.Sprintf("%s seq=%d", p, nb.Sequence()))
				return walk(p, nb)
			}
			out = append(out, fmt.Sprintf("%s/%q=%q", prefix, k, v))
			return nil
		})
	}
	err = db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			p := fmt.Sprintf("%q", name)
			out = append(out, fmt.Sprintf("%s seq=%d", p, b.Sequence()))
			return walk(p, b)
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// noTempFiles fails if anything but the store is left in its directory.
func noTempFiles(t *testing.T, path string) {
	t.Helper()
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != filepath.Base(path) {
			t.Errorf("left behind: %s", e.Name())
		}
	}
}

func TestCompactKeepsEverything(t *testing.T) {
	tests := []struct {
		name       string
		n          int
		deleteHalf bool
		maxRatio   float64 // after/before at most
	}{
		{"fresh store", 3000, false, 1},
		{"half the records deleted", 6000, true, 0.75},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), "qtc.db")
			s, err := Open(path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			left := fillForCompact(t, s, tt.n, tt.deleteHalf)
			want := map[string]Record{}
			for _, id := range left[:20] {
				if want[id], err = s.Get(ctx, "q", "host", id); err != nil {
					t.Fatal(err)
				}
			}
			wantLinks, err := s.Links(ctx, "q", "memberOf", left[3])
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			wantDump := dumpBolt(t, path)

			before, after, err := Compact(ctx, path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			info, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if after != info.Size() || before <= 0 {
				t.Errorf("Compact = %d, %d bytes; the file has %d", before, after, info.Size())
			}
			if ratio := float64(after) / float64(before); ratio > tt.maxRatio {
				t.Errorf("compacted %d -> %d bytes (%.2f), want at most %.2f", before, after, ratio, tt.maxRatio)
			}
			if m := info.Mode().Perm(); m != 0o600 {
				t.Errorf("mode %v, want 0600", m)
			}
			noTempFiles(t, path)
			if got := dumpBolt(t, path); !slices.Equal(got, wantDump) {
				t.Fatalf("contents changed: %d entries before, %d after", len(wantDump), len(got))
			}

			s, err = Open(path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			mustCheck(t, s)
			if n, err := s.Count(ctx, "q", "host"); err != nil || n != len(left) {
				t.Errorf("Count = %d, %v; want %d", n, err, len(left))
			}
			for id, w := range want {
				got, err := s.Get(ctx, "q", "host", id)
				if err != nil || !bytes.Equal(got.Raw, w.Raw) || !slices.Equal(got.Cells, w.Cells) {
					t.Errorf("Get %s = %+v, %v; want %+v", id, got, err, w)
				}
			}
			if got, err := s.Links(ctx, "q", "memberOf", left[3]); err != nil || !slices.EqualFunc(got, wantLinks, func(a, b Link) bool {
				return a.From == b.From && a.To == b.To && a.ID == b.ID && bytes.Equal(a.Data, b.Data)
			}) {
				t.Errorf("Links = %v, %v; want %v", got, err, wantLinks)
			}
			if runs, err := s.Runs(ctx, "q", 10); err != nil || len(runs) != 2 {
				t.Errorf("Runs = %d, %v; want 2", len(runs), err)
			}
			if conns, err := s.Connectors(ctx); err != nil || len(conns) != 2 || conns[0].Sealed["password"] == "" {
				t.Errorf("Connectors = %+v, %v", conns, err)
			}
			// The compacted store takes writes.
			writeRecords(t, s, "q", "host", 2, tt.n, tt.n+100)
			mustCheck(t, s)
		})
	}
}

func TestCompactRefused(t *testing.T) {
	valid := storeBytes(t)
	m, ok := parseBoltMeta(valid)
	if !ok {
		t.Fatal("test store has no valid meta page 0")
	}
	need := int(m.pgid) * int(m.pageSize)
	tests := []struct {
		name    string
		content []byte                    // the file; nil: a store of 3000 records
		hold    bool                      // another Store holds the file open
		ctx     func() context.Context    // nil: Background
		opt     Options                   // Compact's options
		want    func(err error) bool      // what the error must be
		wantMsg []string                  // and say
		setup   func(t *testing.T) string // nil: write content to a new file
	}{
		{name: "locked by another process", hold: true, opt: Options{Timeout: 50 * time.Millisecond},
			want: func(err error) bool { return errors.Is(err, ErrLocked) }, wantMsg: []string{"in use"}},
		{name: "truncated store", content: valid[:need/2],
			want: func(err error) bool { return errors.Is(err, ErrNotStore) }, wantMsg: []string{"truncated", "--db"}},
		{name: "text file", content: []byte("name,ip\nweb01,10.0.0.1\n"),
			want: func(err error) bool { return errors.Is(err, ErrNotStore) }, wantMsg: []string{"not a bbolt database"}},
		{name: "cancelled while copying", ctx: func() context.Context {
			c := &countdownCtx{Context: context.Background()}
			c.left.Store(1)
			return c
		}, want: func(err error) bool { return errors.Is(err, context.Canceled) }, wantMsg: []string{"left unchanged"}},
		{name: "read-only", opt: Options{ReadOnly: true},
			want: func(err error) bool { return err != nil }, wantMsg: []string{"read-only"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "qtc.db")
			content := tt.content
			if content == nil {
				s, err := Open(path, Options{})
				if err != nil {
					t.Fatal(err)
				}
				writeRecords(t, s, "q", "host", 1, 0, 3000)
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
				if content, err = os.ReadFile(path); err != nil {
					t.Fatal(err)
				}
			} else if err := os.WriteFile(path, content, 0o600); err != nil {
				t.Fatal(err)
			}
			if tt.hold {
				s, err := Open(path, Options{})
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
			}
			ctx := context.Background()
			if tt.ctx != nil {
				ctx = tt.ctx()
			}
			_, _, err := Compact(ctx, path, tt.opt)
			if err == nil || !tt.want(err) {
				t.Fatalf("Compact = %v", err)
			}
			for _, w := range append(tt.wantMsg, path) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			got, rerr := os.ReadFile(path)
			if rerr != nil {
				t.Fatal(rerr)
			}
			if !tt.hold && !bytes.Equal(got, content) {
				t.Error("the store was modified")
			}
			noTempFiles(t, path)
		})
	}
}

func TestCompactMissingStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "none", "qtc.db")
	if _, _, err := Compact(context.Background(), path, Options{}); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Compact = %v, want ErrNotExist", err)
	}
	if _, err := os.Stat(filepath.Dir(path)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Compact created %s", filepath.Dir(path))
	}
}

// TestOpenAfterReplace: a store replaced on disk (as Compact does) while
// another Store holds the old file open is opened as the new file.
func TestOpenAfterReplace(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "qtc.db")
	old, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	other := filepath.Join(dir, "new.db")
	ns, err := Open(other, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := ns.PutConnector(context.Background(), Connector{Name: "new"}); err != nil {
		t.Fatal(err)
	}
	if err := ns.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(other, path); err != nil {
		t.Fatal(err)
	}
	s, err := Open(path, Options{Timeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatalf("Open of the replaced store: %v", err)
	}
	defer s.Close()
	if _, err := s.Connector(context.Background(), "new"); err != nil {
		t.Errorf("the new file's connector: %v", err)
	}
}
