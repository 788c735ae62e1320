package graphsim

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// testNow is the injected "now" of the tests.
var testNow = time.Date(2026, 7, 1, 10, 0, 0, 0, time.UTC)

// fakeClock is a settable clock for Options.Now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is a simulator served through httptest with a fake clock.
type env struct {
	t     testing.TB
	s     *Server
	base  string // httptest URL
	login string
	graph string
	clk   *fakeClock
	tok   string
	tokAt time.Time
}

func newEnv(t testing.TB, o Options) *env {
	t.Helper()
	clk := &fakeClock{t: testNow}
	if o.Now == nil {
		o.Now = clk.Now
	}
	s := New(o)
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return &env{t: t, s: s, base: ts.URL, login: ts.URL + LoginPath, graph: ts.URL + GraphPath, clk: clk}
}

// token gets a v2 token with the server's credentials (cached).
func (e *env) token() string {
	e.t.Helper()
	now := e.s.Options().Now()
	if e.tok != "" && now.Sub(e.tokAt) < 50*time.Minute && !now.Before(e.tokAt) {
		return e.tok
	}
	e.tokAt = now
	o := e.s.Options()
	resp, body := e.postForm(e.login+"/"+o.TenantID+"/oauth2/v2.0/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {o.ClientID}, "client_secret": {o.ClientSecret},
		"scope": {"https://graph.microsoft.com/.default"},
	})
	if resp.StatusCode != 200 {
		e.t.Fatalf("token: %d %s", resp.StatusCode, body)
	}
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(body, &tr); err != nil {
		e.t.Fatal(err)
	}
	e.tok = tr.AccessToken
	return e.tok
}

func (e *env) postForm(u string, form url.Values) (*http.Response, []byte) {
	e.t.Helper()
	resp, err := http.Post(u, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp, b
}

// do sends a request to the Graph host; path is relative to GraphURL
// ("/v1.0/users") or absolute (a nextLink).
func (e *env) do(method, path string, body io.Reader, hdr map[string]string) (*http.Response, []byte) {
	e.t.Helper()
	u := path
	if !strings.HasPrefix(u, "http") {
		u = e.graph + path
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, ok := hdr["Authorization"]; !ok {
		req.Header.Set("Authorization", "Bearer "+e.token())
	}
	for k, v := range hdr {
		if v != "" {
			req.Header.Set(k, v)
		}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp, b
}

func (e *env) get(path string) (*http.Response, []byte) {
	e.t.Helper()
	return e.do("GET", path, nil, nil)
}

// page is a Graph collection answer.
type page struct {
	Context   string            `json:"@odata.context"`
	NextLink  string            `json:"@odata.nextLink"`
	DeltaLink string            `json:"@odata.deltaLink"`
	Count     *int              `json:"@odata.count"`
	Value     []json.RawMessage `json:"value"`
}

func decodePage(t testing.TB, b []byte) page {
	t.Helper()
	var p page
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatalf("decode page: %v\n%.500s", err, b)
	}
	return p
}

// pageStats summarises a walk over a paged collection.
type pageStats struct {
	pages, short, empty int
	items               []json.RawMessage
	last                page
}

// walk follows nextLinks from path until none is left.
func (e *env) walk(path string, top int, hdr map[string]string) pageStats {
	e.t.Helper()
	var ps pageStats
	next := path
	for i := 0; next != ""; i++ {
		if i > 100000 {
			e.t.Fatal("too many pages")
		}
		resp, b := e.do("GET", next, nil, hdr)
		if resp.StatusCode != 200 {
			e.t.Fatalf("GET %s: %d %s", next, resp.StatusCode, b)
		}
		p := decodePage(e.t, b)
		ps.pages++
		if p.NextLink != "" {
			if !strings.HasPrefix(p.NextLink, e.graph+"/v1.0/") {
				e.t.Fatalf("nextLink %q is not an absolute Graph URL", p.NextLink)
			}
			if len(p.Value) == 0 {
				ps.empty++
			} else if top > 0 && len(p.Value) < top {
				ps.short++
			}
		}
		ps.items = append(ps.items, p.Value...)
		ps.last = p
		next = p.NextLink
	}
	return ps
}

// ids returns the "id" of each item.
func ids(t testing.TB, items []json.RawMessage) []string {
	t.Helper()
	out := make([]string, len(items))
	for i, it := range items {
		var x struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(it, &x); err != nil {
			t.Fatal(err)
		}
		out[i] = x.ID
	}
	return out
}

func objIDs(objs []Object) []string {
	out := make([]string, len(objs))
	for i, o := range objs {
		out[i] = o.ID
	}
	return out
}

// graphError decodes Graph's error body.
func graphError(t testing.TB, b []byte) (code, msg string) {
	t.Helper()
	var e struct {
		Error struct {
			Code       string `json:"code"`
			Message    string `json:"message"`
			InnerError struct {
				RequestID string `json:"request-id"`
				Date      string `json:"date"`
			} `json:"innerError"`
		} `json:"error"`
	}
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatalf("error body: %v: %s", err, b)
	}
	if e.Error.InnerError.RequestID == "" || e.Error.InnerError.Date == "" {
		t.Errorf("error body without innerError request-id/date: %s", b)
	}
	return e.Error.Code, e.Error.Message
}
