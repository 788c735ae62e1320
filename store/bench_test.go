package store

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// benchRecord is a record with ~1 KB of raw JSON and a GUID-like (random
// order) ID, like a Graph object.
func benchRecord(i, v int) Record {
	h := fnv.New64a()
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(i))
	h.Write(b[:])
	id := fmt.Sprintf("%016x-%06d", h.Sum64(), i)
	cells := []string{
		fmt.Sprintf("host-%d.example.com", (i*7919)%100003),
		strconv.Itoa((i*31 + v) % 10000),
		time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i*13+v) * time.Second).Format("2006-01-02T15:04:05-0700"),
	}
	raw, _ := json.Marshal(map[string]any{
		"id": id, "dnsName": cells[0], "score": cells[1], "lastSeen": cells[2], "v": v,
		"os":   "Microsoft Windows Server 2019 Datacenter 10.0.17763 64-bit N/A Build 17763",
		"tags": []string{"Cloud Agent", "Production", "Internet Facing", "PCI"},
		"pad":  strings.Repeat("abcdefghij", 70),
	})
	return Record{ID: id, Raw: raw, Cells: cells}
}

func benchPage(from, n, v int) []Record {
	recs := make([]Record, n)
	for i := range recs {
		recs[i] = benchRecord(from+i, v)
	}
	return recs
}

// fillBench writes n records in 1000-record pages.
func fillBench(b *testing.B, s *Store, n int) {
	b.Helper()
	for p := 0; p < n; p += 1000 {
		_, err := s.WritePage(context.Background(), PageWrite{Connector: "q", Type: "host", Layout: testLayout,
			Stream: "host", Generation: 1, Records: benchPage(p, min(1000, n-p), 0), State: StreamState{NextPage: p/1000 + 1}})
		if err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWritePage(b *testing.B) {
	for _, mode := range []string{"new", "unchanged", "changed"} {
		b.Run(mode, func(b *testing.B) {
			ctx := context.Background()
			s, err := Open(filepath.Join(b.TempDir(), "qtc.db"), Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			const pre = 20000
			if mode != "new" {
				fillBench(b, s, pre)
			}
			pages := make([][]Record, 0, 64)
			for p := range 20 {
				switch mode {
				case "new":
					pages = append(pages, benchPage(pre+p*1000, 1000, 0))
				case "unchanged":
					pages = append(pages, benchPage(p*1000, 1000, 0))
				case "changed":
					pages = append(pages, benchPage(p*1000, 1000, 1))
				}
			}
			written := 0
			i := 0
			for b.Loop() {
				recs := pages[i%len(pages)]
				if (mode == "new" && i >= len(pages)) || (mode == "changed" && i > 0) {
					b.StopTimer()
					if mode == "new" {
						recs = benchPage(pre+i*1000, 1000, 0)
					} else {
						recs = benchPage((i%20)*1000, 1000, i+1)
					}
					b.StartTimer()
				}
				st, err := s.WritePage(ctx, PageWrite{Connector: "q", Type: "host", Layout: testLayout,
					Stream: "host", Generation: uint64(i + 2), Records: recs, State: StreamState{NextPage: i}})
				if err != nil {
					b.Fatal(err)
				}
				if n := st.Added + st.Changed + st.Unchanged; n != 1000 {
					b.Fatalf("page wrote %d records", n)
				}
				written += 1000
				i++
			}
			b.ReportMetric(float64(written)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// benchStore is a 100k-record store with warm window anchors.
func benchStore(b *testing.B) *Store {
	b.Helper()
	s, err := Open(filepath.Join(b.TempDir(), "qtc.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	fillBench(b, s, 100_000)
	return s
}

func BenchmarkRowsWindow(b *testing.B) {
	ctx := context.Background()
	s := benchStore(b)
	const total = 100_000
	b.Run("first-screen-cold", func(b *testing.B) {
		for b.Loop() {
			s.anchors = anchorCache{} // no anchors at all
			if rows, err := s.Rows(ctx, "q", "host", Order{Column: 0}, 0, 50); err != nil || len(rows) != 50 {
				b.Fatal(len(rows), err)
			}
		}
	})
	// One walk to the end of each order builds its anchors (the first visit
	// to a deep offset costs this once).
	b.Run("deep-offset-cold", func(b *testing.B) {
		for b.Loop() {
			s.anchors = anchorCache{}
			if rows, err := s.Rows(ctx, "q", "host", Order{Column: 0}, total-50, 50); err != nil || len(rows) != 50 {
				b.Fatal(len(rows), err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
	})
	for col, name := range []string{"text", "number", "time"} {
		for _, desc := range []bool{false, true} {
			o := Order{Column: col, Desc: desc}
			if _, err := s.Rows(ctx, "q", "host", o, total-1, 1); err != nil {
				b.Fatal(err)
			}
			b.Run(fmt.Sprintf("%s-desc=%v", name, desc), func(b *testing.B) {
				rng := rand.New(rand.NewPCG(1, 2))
				for b.Loop() {
					off := rng.IntN(total - 50)
					if rows, err := s.Rows(ctx, "q", "host", o, off, 50); err != nil || len(rows) != 50 {
						b.Fatal(len(rows), err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
			})
		}
	}
}

func BenchmarkMatch(b *testing.B) {
	ctx := context.Background()
	s := benchStore(b)
	for _, tc := range []struct {
		name string
		pred func([]string) bool
	}{
		{"10pct", func(c []string) bool { return strings.HasSuffix(c[1], "7") }},
		{"all", nil},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := s.Match(ctx, "q", "host", Order{Column: 2, Desc: true}, tc.pred); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
		})
	}
}

// BenchmarkOpen measures reopening a 100k-record store (with NoFreelistSync
// bbolt rebuilds the freelist by walking the file on every read-write open).
func BenchmarkOpen(b *testing.B) {
	s := benchStore(b)
	path := s.Path()
	s.Close()
	for _, ro := range []bool{false, true} {
		b.Run(fmt.Sprintf("readonly=%v", ro), func(b *testing.B) {
			for b.Loop() {
				s, err := Open(path, Options{ReadOnly: ro})
				if err != nil {
					b.Fatal(err)
				}
				s.Close()
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
		})
	}
}

// clearMarks makes every record of q/host present again (benchmark setup).
func clearMarks(b *testing.B, s *Store) {
	b.Helper()
	_, err := s.walkChunks(context.Background(), "clear", "q", "host", "", nil,
		func(_ uint64, m int64) bool { return m != 0 },
		func(_ *bolt.Tx, t *typeBuckets, ids [][]byte) (int, error) {
			for _, id := range ids {
				if err := t.row.Put(id, withRemoved(t.row.Get(id), 0)); err != nil {
					return 0, err
				}
			}
			t.removed -= len(ids)
			return len(ids), nil
		})
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkMarkRemoved marks the 100k records of a type removed (a baseline
// that no longer finds any of them: the worst case, 100 transactions of
// 1000 marks), and runs a finished MarkRemoved again (nothing left to mark:
// the cost of a resumed run that has little to do).
func BenchmarkMarkRemoved(b *testing.B) {
	ctx := context.Background()
	s := benchStore(b)
	const total = 100_000
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	b.Run("mark-100k", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			clearMarks(b, s)
			b.StartTimer()
			n, err := s.MarkRemoved(ctx, "q", "host", "host", 2, at, StreamState{Generation: 2})
			if err != nil || n != total {
				b.Fatal(n, err)
			}
		}
		b.ReportMetric(float64(total*b.N)/b.Elapsed().Seconds(), "records/s")
		b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
	})
	b.Run("rerun-nothing-left-100k", func(b *testing.B) {
		if _, err := s.MarkRemoved(ctx, "q", "host", "host", 2, at, StreamState{Generation: 2}); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			n, err := s.MarkRemoved(ctx, "q", "host", "host", 2, at, StreamState{Generation: 2})
			if err != nil || n != 0 {
				b.Fatal(n, err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
	})
}

// BenchmarkMigrateSchema1 opens a 100k-record schema 1 store, which
// migrates it to schema 2 (100 transactions of 1000 rewritten rows).
func BenchmarkMigrateSchema1(b *testing.B) {
	s := benchStore(b)
	path := s.Path()
	s.Close()
	downgradeToV1(b, path)
	v1, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		b.StopTimer()
		if err := os.WriteFile(path, v1, 0o600); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		s, err := Open(path, Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		s.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
}
