package sync

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"qtc/api/graph"
	graphsim "qtc/api/sim/graph"
	"qtc/store"
	"qtc/sync/catalog"
)

// bodyRecorder keeps the body of every Graph page a client fetches.
type bodyRecorder struct {
	mu     gosync.Mutex
	bodies [][]byte
}

func (r *bodyRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil || !strings.Contains(req.URL.Path, graphsim.GraphPath) || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.bodies = append(r.bodies, b)
	r.mu.Unlock()
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return resp, nil
}

// seedUserPages fetches every page of the seed tenant's users (111,207) as
// a full pull lists them (999 a page), as raw bodies.
func seedUserPages(b *testing.B) [][]byte {
	b.Helper()
	sim := graphsim.New(graphsim.Options{Scale: graphsim.ScaleSeed, Budget: -1})
	srv := httptest.NewServer(sim.Handler())
	defer srv.Close()
	d := graphsim.Defaults(graphsim.Options{})
	rec := &bodyRecorder{}
	c, err := graph.New(graph.Config{TenantID: d.TenantID, ClientID: d.ClientID, ClientSecret: d.ClientSecret,
		Cloud:      graph.Cloud{Name: "sim", LoginURL: srv.URL + graphsim.LoginPath, GraphURL: srv.URL + graphsim.GraphPath},
		HTTPClient: &http.Client{Transport: rec}, Budget: -1})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := c.Pages(context.Background(), fullListings["users"].list, func(*graph.Page) error { return nil }); err != nil {
		b.Fatal(err)
	}
	return rec.bodies
}

// decodeUserPage is everything a users page goes through before the store:
// the page envelope, the @removed probe, the id and the cells.
func decodeUserPage(b *testing.B, typ catalog.Type, body []byte) []store.Record {
	p, err := graph.DecodePage(body)
	if err != nil {
		b.Fatal(err)
	}
	rp, err := graphRawPage(typ.Name, p)
	if err != nil {
		b.Fatal(err)
	}
	recs, err := pageRecords(typ, rp.items, nil)
	if err != nil {
		b.Fatal(err)
	}
	return recs
}

// BenchmarkIngest is issue 7's ingest figure: the seed tenant's 111,207
// users, as the Graph simulator serves them to a full pull (999 a page),
// decoded only, and then decoded and written to a fresh store the way a pull
// does it (decoding the next pages while the previous ones are written),
// from the same bytes in the same run, with no network in between. Target:
// ingest at least half the decode-only rate.
func BenchmarkIngest(b *testing.B) {
	if testing.Short() {
		b.Skip("seed scale")
	}
	bodies := seedUserPages(b)
	typ, _ := catalog.Lookup("users")
	n := 0
	for _, body := range bodies {
		n += len(decodeUserPage(b, typ, body))
	}
	b.Logf("%d users in %d pages, %.1f MB of JSON", n, len(bodies), float64(sumLen(bodies))/1e6)

	b.Run("decode", func(b *testing.B) {
		for b.Loop() {
			for _, body := range bodies {
				decodeUserPage(b, typ, body)
			}
		}
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "records/s")
	})
	// How a sync writes: the first full pull of an empty type stages its
	// pages and merges them at its end; pages decoded while the writer is
	// busy join the next write (up to 5,000 records), as the pull does.
	// "direct" is the page-by-page write every pull used before staging.
	for _, tc := range []struct {
		name   string
		staged bool
		group  int
	}{{"direct", false, 1}, {"staged", true, 1}, {"staged-grouped", true, defaultGroupRecords}} {
		b.Run("store-"+tc.name, func(b *testing.B) {
			ctx := context.Background()
			var total time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				st, err := store.Open(filepath.Join(b.TempDir(), "qtc.db"), store.Options{})
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				start := time.Now()
				// As a pull does: pages decoded in one goroutine while the
				// previous ones are written in another.
				// (decodeUserPage cannot fail here: the same bytes were
				// decoded above, on the benchmark's goroutine.)
				decoded := make(chan []store.Record, 1)
				go func() {
					defer close(decoded)
					for _, body := range bodies {
						p, _ := graph.DecodePage(body)
						rp, _ := graphRawPage(typ.Name, p)
						recs, _ := pageRecords(typ, rp.items, nil)
						decoded <- recs
					}
				}()
				p := 0
				for page := range decoded {
					p++
					recs := page
					// As the pull groups: pages already decoded while the
					// writer was busy join this write, up to the limit.
				drain:
					for len(recs) < tc.group {
						select {
						case more, ok := <-decoded:
							if !ok {
								break drain
							}
							p++
							recs = append(recs, more...)
						default:
							break drain
						}
					}
					state := store.StreamState{Phase: store.PhasePaging, Generation: 1, Mode: ModeFull, NextPage: p, Staged: tc.staged}
					if _, _, err := st.WritePageChanges(ctx, store.PageWrite{Connector: "b", Type: typ.Name, Layout: typ.Layout(),
						Stream: typ.Name, Generation: 1, Records: recs, State: state, Stage: tc.staged}); err != nil {
						b.Fatal(err)
					}
				}
				if tc.staged {
					if _, err := st.MergeStaged(ctx, "b", typ.Name); err != nil {
						b.Fatal(err)
					}
				}
				total += time.Since(start)
				b.StopTimer()
				if c, err := st.Count(ctx, "b", typ.Name); err != nil || c != n {
					b.Fatalf("store holds %d users (%v), want %d", c, err, n)
				}
				if err := st.Check(ctx); err != nil {
					b.Fatal(err)
				}
				st.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(n*b.N)/total.Seconds(), "records/s")
		})
	}
}

func sumLen(bs [][]byte) int {
	n := 0
	for _, b := range bs {
		n += len(b)
	}
	return n
}
