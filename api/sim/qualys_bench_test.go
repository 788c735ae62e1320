package sim

import (
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
)

// discardWriter is a ResponseWriter that counts the body bytes.
type discardWriter struct {
	h    http.Header
	code int
	n    int
}

func (w *discardWriter) Header() http.Header  { return w.h }
func (w *discardWriter) WriteHeader(code int) { w.code = code }
func (w *discardWriter) Write(p []byte) (int, error) {
	w.n += len(p)
	return len(p), nil
}

// benchPage measures serving one 200-record page through the handler (no
// network): auth check, rate limit, paging, envelope.
func benchPage(b *testing.B, path string) {
	s := New(Options{Policies: 1000, Exceptions: 1000, RateLimit: math.MaxInt, Now: (&fakeClock{t: testNow}).Now})
	benchTarget(b, s, s.q.issue("demo", testNow), path+"?pageNo=1&pageSize=200")
}

// benchTarget measures GET target through s's handler.
func benchTarget(b *testing.B, s *Server, tok, target string) {
	req := httptest.NewRequest(http.MethodGet, target, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	h := s.Handler()
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		clear(w.h)
		w.n = 0
		h.ServeHTTP(w, req)
	}
	b.StopTimer()
	if w.code != http.StatusOK {
		b.Fatalf("status %d", w.code)
	}
	b.SetBytes(int64(w.n))
	b.ReportMetric(float64(w.n), "body-bytes/op")
}

// BenchmarkEC2MarkerPage measures a 200-record marker page.
func BenchmarkEC2MarkerPage(b *testing.B) {
	s := New(Options{Scale: ScaleSeed, RateLimit: math.MaxInt, Now: (&fakeClock{t: testNow}).Now})
	benchTarget(b, s, s.q.issue("demo", testNow), "/cloudview-api/rest/v1/resource/EC2_INSTANCE/AWS?pageSize=200")
}

func BenchmarkPoliciesPage(b *testing.B)   { benchPage(b, qualysPoliciesPath) }
func BenchmarkExceptionsPage(b *testing.B) { benchPage(b, qualysExceptionsPath) }

// BenchmarkPoliciesPageHTTP measures the same page over loopback HTTP,
// client included.
func BenchmarkPoliciesPageHTTP(b *testing.B) {
	s := New(Options{Policies: 1000, RateLimit: math.MaxInt, Now: (&fakeClock{t: testNow}).Now})
	base, err := s.Start("127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	tok := s.q.issue("demo", testNow)
	req, _ := http.NewRequest(http.MethodGet, base+qualysPoliciesPath+"?pageNo=1&pageSize=200", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	var n int64
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		n, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatal("status " + strconv.Itoa(resp.StatusCode))
		}
	}
	b.StopTimer()
	b.SetBytes(n)
	b.ReportMetric(float64(n), "body-bytes/op")
}
