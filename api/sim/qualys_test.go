package sim

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var goodForm = url.Values{"username": {"demo"}, "password": {"demo-pass-2026"}, "token": {"true"}}

func TestAuth(t *testing.T) {
	form := func(kv ...string) url.Values {
		v := url.Values{}
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	tests := []struct {
		name   string
		form   url.Values
		status int
	}{
		{"ok", goodForm, http.StatusCreated},
		{"wrong password", form("username", "demo", "password", "demo-pass-2025", "token", "true"), http.StatusUnauthorized},
		{"wrong user", form("username", "admin", "password", "demo-pass-2026", "token", "true"), http.StatusUnauthorized},
		{"missing password", form("username", "demo", "token", "true"), http.StatusUnauthorized},
		{"missing username", form("password", "demo-pass-2026", "token", "true"), http.StatusUnauthorized},
		{"missing token=true", form("username", "demo", "password", "demo-pass-2026"), http.StatusUnauthorized},
		{"token=false", form("username", "demo", "password", "demo-pass-2026", "token", "false"), http.StatusUnauthorized},
		{"empty", url.Values{}, http.StatusUnauthorized},
	}
	s, base, _ := newTestServer(t, Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := authenticate(t, base, tt.form)
			if tt.status != http.StatusCreated {
				e := checkError(t, resp, body, tt.status)
				if e.Timestamp != testNow.UnixMilli() {
					t.Errorf("timestamp %d, want %d", e.Timestamp, testNow.UnixMilli())
				}
				return
			}
			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
				t.Errorf("Content-Type %q", ct)
			}
			if resp.Header.Get("X-RateLimit-Limit") != "" {
				t.Error("/auth carries rate-limit headers; it is not rate limited")
			}
			checkJWT(t, s, string(body), "demo", testNow, 4*time.Hour)
		})
	}

	t.Run("JSON body", func(t *testing.T) {
		resp, err := http.Post(base+qualysAuthPath, "application/json",
			strings.NewReader(`{"username":"demo","password":"demo-pass-2026","token":"true"}`))
		if err != nil {
			t.Fatal(err)
		}
		checkError(t, resp, readAll(t, resp), http.StatusUnauthorized)
	})
	t.Run("custom credentials and TTL", func(t *testing.T) {
		s, base, _ := newTestServer(t, Options{Username: "alice", Password: "s3cret", TokenTTL: time.Hour})
		resp, body := authenticate(t, base, url.Values{"username": {"alice"}, "password": {"s3cret"}, "token": {"true"}})
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		checkJWT(t, s, string(body), "alice", testNow, time.Hour)
		resp, body = authenticate(t, base, goodForm)
		checkError(t, resp, body, http.StatusUnauthorized)
	})
}

// checkJWT asserts the token's shape, header, claims and signature.
func checkJWT(t *testing.T, s *Server, tok, user string, now time.Time, ttl time.Duration) {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("JWT %q has %d parts", tok, len(parts))
	}
	dec := make([][]byte, 3)
	for i, p := range parts {
		b, err := base64.RawURLEncoding.DecodeString(p)
		if err != nil || p == "" {
			t.Fatalf("JWT part %d %q is not base64url: %v", i, p, err)
		}
		dec[i] = b
	}
	var head map[string]string
	if err := json.Unmarshal(dec[0], &head); err != nil || len(head) != 2 || head["alg"] != "HS256" || head["typ"] != "JWT" {
		t.Errorf("JWT header %s", dec[0])
	}
	var claims struct {
		Sub      string
		Iat, Exp int64
	}
	if err := json.Unmarshal(dec[1], &claims); err != nil {
		t.Fatalf("JWT payload %s: %v", dec[1], err)
	}
	if claims.Sub != user || claims.Iat != now.Unix() || claims.Exp != now.Add(ttl).Unix() {
		t.Errorf("claims %+v, want sub %s iat %d exp %d", claims, user, now.Unix(), now.Add(ttl).Unix())
	}
	m := hmac.New(sha256.New, s.q.key)
	m.Write([]byte(parts[0] + "." + parts[1]))
	if !hmac.Equal(m.Sum(nil), dec[2]) {
		t.Error("JWT signature is not HMAC-SHA256 with the server key")
	}
}

func TestBearer(t *testing.T) {
	s, base, clk := newTestServer(t, Options{})
	tok := login(t, base)
	other := New(Options{Now: clk.Now}).q.issue("demo", testNow)
	parts := strings.Split(tok, ".")
	forged := parts[0] + "." + base64.RawURLEncoding.EncodeToString(
		[]byte(fmt.Sprintf(`{"sub":"admin","iss":"qtc-sim","iat":%d,"exp":%d}`, testNow.Unix(), testNow.Add(time.Hour).Unix()))) + "." + parts[2]
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."

	tests := []struct {
		name, header string
		advance      time.Duration
		status       int
		word         string // the 401 message must say this
	}{
		{"valid", "Bearer " + tok, 0, http.StatusOK, ""},
		{"lower-case scheme", "bearer " + tok, 0, http.StatusOK, ""},
		{"missing header", "", 0, http.StatusUnauthorized, "missing"},
		{"empty bearer", "Bearer ", 0, http.StatusUnauthorized, "missing"},
		{"basic scheme", "Basic ZGVtbzpkZW1v", 0, http.StatusUnauthorized, "invalid"},
		{"garbage", "Bearer not.a.jwt", 0, http.StatusUnauthorized, "invalid"},
		{"two parts", "Bearer " + parts[0] + "." + parts[1], 0, http.StatusUnauthorized, "invalid"},
		{"other server's key", "Bearer " + other, 0, http.StatusUnauthorized, "invalid"},
		{"forged payload", "Bearer " + forged, 0, http.StatusUnauthorized, "invalid"},
		{"alg none", "Bearer " + none, 0, http.StatusUnauthorized, "invalid"},
		{"one second before exp", "Bearer " + tok, 4*time.Hour - time.Second, http.StatusOK, ""},
		{"at exp", "Bearer " + tok, time.Second, http.StatusUnauthorized, "expired"},
		{"long expired", "Bearer " + tok, 24 * time.Hour, http.StatusUnauthorized, "expired"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk.Advance(tt.advance)
			for _, path := range []string{qualysPoliciesPath, qualysExceptionsPath} {
				req, _ := http.NewRequest(http.MethodGet, base+path, nil)
				if tt.header != "" {
					req.Header.Set("Authorization", tt.header)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body := readAll(t, resp)
				if resp.Header.Get("X-RateLimit-Limit") == "" || resp.Header.Get("X-RateLimit-Remaining") == "" {
					t.Errorf("%s: no rate-limit headers", path)
				}
				if tt.status == http.StatusOK {
					if resp.StatusCode != http.StatusOK {
						t.Errorf("%s: %d %s", path, resp.StatusCode, body)
					}
					continue
				}
				e := checkError(t, resp, body, tt.status)
				if !strings.Contains(strings.ToLower(e.Message), tt.word) {
					t.Errorf("%s: message %q does not say %q", path, e.Message, tt.word)
				}
			}
		})
	}
	if st := s.Stats(); st.Tokens != 1 {
		t.Errorf("tokens %d", st.Tokens)
	}
}

// springPage is the Spring page envelope.
type springPage struct {
	Content  []json.RawMessage `json:"content"`
	Pageable struct {
		PageNumber int             `json:"pageNumber"`
		PageSize   int             `json:"pageSize"`
		Sort       json.RawMessage `json:"sort"`
		Offset     int64           `json:"offset"`
		Paged      bool            `json:"paged"`
		Unpaged    bool            `json:"unpaged"`
	} `json:"pageable"`
	TotalPages       int             `json:"totalPages"`
	TotalElements    int             `json:"totalElements"`
	Last             bool            `json:"last"`
	Number           int             `json:"number"`
	Size             int             `json:"size"`
	NumberOfElements int             `json:"numberOfElements"`
	Sort             json.RawMessage `json:"sort"`
	First            bool            `json:"first"`
	Empty            bool            `json:"empty"`
}

const unsortedJSON = `{"sorted":false,"empty":true,"unsorted":true}`

// checkPage asserts the envelope's internal consistency for a request of
// pageNo/asked on a list of total records clamped at maxSize.
func checkPage(t *testing.T, p *springPage, pageNo, asked, maxSize, total int) {
	t.Helper()
	size := min(asked, maxSize)
	totalPages := (total + size - 1) / size
	wantN := max(0, min(size, total-pageNo*size))
	switch {
	case p.Number != pageNo || p.Pageable.PageNumber != pageNo:
		t.Errorf("page %d: number %d pageable.pageNumber %d", pageNo, p.Number, p.Pageable.PageNumber)
	case p.Size != size || p.Pageable.PageSize != asked:
		t.Errorf("page %d: size %d (want %d), pageable.pageSize %d (want %d)", pageNo, p.Size, size, p.Pageable.PageSize, asked)
	case p.Pageable.Offset != int64(pageNo)*int64(size):
		t.Errorf("page %d: offset %d", pageNo, p.Pageable.Offset)
	case p.TotalElements != total || p.TotalPages != totalPages:
		t.Errorf("page %d: totalElements %d totalPages %d, want %d %d", pageNo, p.TotalElements, p.TotalPages, total, totalPages)
	case len(p.Content) != wantN || p.NumberOfElements != wantN:
		t.Errorf("page %d: %d records, numberOfElements %d, want %d", pageNo, len(p.Content), p.NumberOfElements, wantN)
	case p.First != (pageNo == 0) || p.Last != (pageNo >= totalPages-1) || p.Empty != (wantN == 0):
		t.Errorf("page %d: first %v last %v empty %v", pageNo, p.First, p.Last, p.Empty)
	case !p.Pageable.Paged || p.Pageable.Unpaged:
		t.Errorf("page %d: paged %v unpaged %v", pageNo, p.Pageable.Paged, p.Pageable.Unpaged)
	case string(p.Sort) != unsortedJSON || string(p.Pageable.Sort) != unsortedJSON:
		t.Errorf("page %d: sort %s / %s", pageNo, p.Sort, p.Pageable.Sort)
	}
}

func fetchPage(t *testing.T, target, tok string) (*springPage, []byte) {
	t.Helper()
	resp, body := get(t, target, tok)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", target, resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	var p springPage
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("GET %s: %v", target, err)
	}
	return &p, body
}

func TestPaging(t *testing.T) {
	s, base, _ := newTestServer(t, Options{RateLimit: math.MaxInt})
	tok := login(t, base)
	lists := []struct {
		name, path string
		truth      []json.RawMessage
		sizes      []int
	}{
		{"policies", qualysPoliciesPath, s.PolicyRecords(), []int{1, 7, 50, 60, 200, 201, 1000}},
		{"exceptions", qualysExceptionsPath, s.ExceptionRecords(), []int{1, 13, 50, 199, 200, 250, 5000}},
	}
	if len(lists[0].truth) != 60 || len(lists[1].truth) != 1500 {
		t.Fatalf("default counts: %d policies, %d exceptions", len(lists[0].truth), len(lists[1].truth))
	}
	for _, l := range lists {
		for _, size := range l.sizes {
			t.Run(fmt.Sprintf("%s/pageSize=%d", l.name, size), func(t *testing.T) {
				t.Parallel() // concurrent clients on one server, for the race detector
				var got []json.RawMessage
				seen := map[string]bool{}
				pageNo := 0
				for ; ; pageNo++ {
					p, _ := fetchPage(t, fmt.Sprintf("%s%s?pageNo=%d&pageSize=%d", base, l.path, pageNo, size), tok)
					checkPage(t, p, pageNo, size, 200, len(l.truth))
					for _, r := range p.Content {
						if seen[string(r)] {
							t.Fatalf("duplicate record on page %d", pageNo)
						}
						seen[string(r)] = true
						got = append(got, r)
					}
					if p.Last {
						break
					}
					if pageNo > len(l.truth) {
						t.Fatal("never reached the last page")
					}
				}
				if len(got) != len(l.truth) {
					t.Fatalf("got %d records, want %d", len(got), len(l.truth))
				}
				for i := range got {
					if !bytes.Equal(got[i], l.truth[i]) {
						t.Fatalf("record %d differs:\n got %s\nwant %s", i, got[i], l.truth[i])
					}
				}
				// Past the end: empty, last.
				for _, past := range []int{pageNo + 1, pageNo + 1000, math.MaxInt32} {
					p, _ := fetchPage(t, fmt.Sprintf("%s%s?pageNo=%d&pageSize=%d", base, l.path, past, size), tok)
					checkPage(t, p, past, size, 200, len(l.truth))
					if !p.Empty || !p.Last || len(p.Content) != 0 || p.NumberOfElements != 0 {
						t.Errorf("page %d past the end: %+v", past, p)
					}
				}
			})
		}
	}
}

func TestPagingDefaultsAndClamp(t *testing.T) {
	s, base, _ := newTestServer(t, Options{Exceptions: 120, MaxPageSize: 25})
	tok := login(t, base)
	tests := []struct {
		query          string
		pageNo, asked  int
		wantFirstIndex int
	}{
		{"", 0, 50, 0},
		{"?pageNo=", 0, 50, 0},
		{"?pageNo=1", 1, 50, 25},
		{"?pageSize=10", 0, 10, 0},
		{"?pageNo=2&pageSize=10", 2, 10, 20},
		{"?pageNo=1&pageSize=25", 1, 25, 25},
		{"?pageNo=4&pageSize=26", 4, 26, 100},
		{"?pageNo=5&pageSize=100", 5, 100, -1},
	}
	truth := s.ExceptionRecords()
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			p, _ := fetchPage(t, base+qualysExceptionsPath+tt.query, tok)
			checkPage(t, p, tt.pageNo, tt.asked, 25, len(truth))
			if tt.wantFirstIndex < 0 {
				if len(p.Content) != 0 {
					t.Errorf("want an empty page, got %d records", len(p.Content))
				}
				return
			}
			if len(p.Content) == 0 || !bytes.Equal(p.Content[0], truth[tt.wantFirstIndex]) {
				t.Errorf("first record is not record %d", tt.wantFirstIndex)
			}
		})
	}
}

func TestEmptyList(t *testing.T) {
	_, base, _ := newTestServer(t, Options{Policies: -1})
	p, body := fetchPage(t, base+qualysPoliciesPath, login(t, base))
	checkPage(t, p, 0, 50, 200, 0)
	if !strings.HasPrefix(string(body), `{"content":[],"pageable":`) || !p.Empty || !p.Last || !p.First || p.TotalPages != 0 {
		t.Errorf("empty list: %s", body)
	}
}

func TestBadParams(t *testing.T) {
	_, base, _ := newTestServer(t, Options{})
	tok := login(t, base)
	tests := []struct{ query, param string }{
		{"pageNo=-1", "pageNo"},
		{"pageNo=abc", "pageNo"},
		{"pageNo=1.5", "pageNo"},
		{"pageNo=99999999999", "pageNo"},
		{"pageNo=0x10", "pageNo"},
		{"pageSize=0", "pageSize"},
		{"pageSize=-5", "pageSize"},
		{"pageSize=x", "pageSize"},
		{"pageSize=2147483648", "pageSize"},
		{"pageNo=1&pageSize=ten", "pageSize"},
	}
	for _, tt := range tests {
		for _, path := range []string{qualysPoliciesPath, qualysExceptionsPath} {
			t.Run(path+"?"+tt.query, func(t *testing.T) {
				resp, body := get(t, base+path+"?"+tt.query, tok)
				e := checkError(t, resp, body, http.StatusBadRequest)
				if !strings.Contains(e.Message, "'"+tt.param+"'") {
					t.Errorf("message %q does not name %s", e.Message, tt.param)
				}
			})
		}
	}
}

// objectKeys returns the keys of the JSON object doc, in order.
func objectKeys(t testing.TB, doc []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(doc))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not an object: %.80s", doc)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

// kinds returns "key:kind" for each member of the object doc, in order.
func kinds(t testing.TB, doc []byte) []string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(doc, &m); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, k := range objectKeys(t, doc) {
		v := bytes.TrimSpace(m[k])
		kind := "number"
		switch {
		case v[0] == '"':
			kind = "string"
		case v[0] == '[':
			kind = "array"
		case v[0] == '{':
			kind = "object"
		case string(v) == "true" || string(v) == "false":
			kind = "bool"
		case string(v) == "null":
			kind = "null"
		}
		out = append(out, k+":"+kind)
	}
	return out
}

// shape returns key sequences and kinds of an envelope and its nested
// objects.
func shape(t testing.TB, doc []byte) map[string][]string {
	t.Helper()
	var env struct {
		Content  []json.RawMessage `json:"content"`
		Pageable json.RawMessage   `json:"pageable"`
		Sort     json.RawMessage   `json:"sort"`
	}
	if err := json.Unmarshal(doc, &env); err != nil {
		t.Fatal(err)
	}
	var pageable struct {
		Sort json.RawMessage `json:"sort"`
	}
	if err := json.Unmarshal(env.Pageable, &pageable); err != nil {
		t.Fatal(err)
	}
	return map[string][]string{
		"envelope":      kinds(t, doc),
		"pageable":      kinds(t, env.Pageable),
		"pageable.sort": kinds(t, pageable.Sort),
		"sort":          kinds(t, env.Sort),
		"record":        kinds(t, env.Content[0]),
	}
}

func TestKeyOrderMatchesSeedSamples(t *testing.T) {
	s, base, _ := newTestServer(t, Options{})
	tok := login(t, base)
	tests := []struct {
		sample, path string
		records      []json.RawMessage
	}{
		{"testdata/policies_v2_sample.json", qualysPoliciesPath, s.PolicyRecords()},
		{"testdata/exceptions_list_sample.json", qualysExceptionsPath, s.ExceptionRecords()},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			sample, err := os.ReadFile(tt.sample)
			if err != nil {
				t.Fatal(err)
			}
			want := shape(t, sample)
			_, body := fetchPage(t, base+tt.path+"?pageSize=3", tok)
			got := shape(t, body)
			for part, w := range want {
				if !equalStrings(got[part], w) {
					t.Errorf("%s:\n got %v\nwant %v", part, got[part], w)
				}
			}
			for i, r := range tt.records {
				if k := kinds(t, r); !equalStrings(k, want["record"]) {
					t.Fatalf("record %d keys %v, want %v", i, k, want["record"])
				}
			}
		})
	}
}

func TestDeterminism(t *testing.T) {
	clk := &fakeClock{t: testNow}
	a := New(Options{Now: clk.Now})
	b := New(Options{Now: clk.Now, Seed: 1, Policies: 60, Exceptions: 1500})
	laterSameDay := New(Options{Now: func() time.Time { return testNow.Add(13 * time.Hour) }})
	fewer := New(Options{Now: clk.Now, Exceptions: 10})
	other := New(Options{Now: clk.Now, Seed: 2})

	same := func(x, y []json.RawMessage) bool {
		if len(x) != len(y) {
			return false
		}
		for i := range x {
			if !bytes.Equal(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	tests := []struct {
		name string
		x, y []json.RawMessage
		want bool
	}{
		{"policies same seed", a.PolicyRecords(), b.PolicyRecords(), true},
		{"exceptions same seed", a.ExceptionRecords(), b.ExceptionRecords(), true},
		{"exceptions same seed same day", a.ExceptionRecords(), laterSameDay.ExceptionRecords(), true},
		{"policies independent of exception count", a.PolicyRecords(), fewer.PolicyRecords(), true},
		{"policies other seed", a.PolicyRecords(), other.PolicyRecords(), false},
		{"exceptions other seed", a.ExceptionRecords(), other.ExceptionRecords(), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := same(tt.x, tt.y); got != tt.want {
				t.Errorf("same = %v, want %v", got, tt.want)
			}
		})
	}

	// Served bytes are identical too.
	body := func(s *Server) []byte {
		ts := httptestServer(t, s)
		_, b := fetchPage(t, ts+qualysExceptionsPath+"?pageNo=2&pageSize=200", login(t, ts))
		return b
	}
	if !bytes.Equal(body(a), body(b)) {
		t.Error("same seed served different bytes")
	}
}

// httptestServer serves an existing simulator over loopback.
func httptestServer(t *testing.T, s *Server) string {
	t.Helper()
	base, err := s.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return base
}

func TestRecordsAreCopies(t *testing.T) {
	s := New(Options{Now: (&fakeClock{t: testNow}).Now})
	r := s.PolicyRecords()
	r[0][0] = 'X'
	if s.PolicyRecords()[0][0] != '{' {
		t.Error("PolicyRecords shares the served bytes")
	}
}

// limitHeaders returns the rate-limit headers of resp.
func limitHeaders(resp *http.Response) (limit, window, remaining, wait string) {
	h := resp.Header
	return h.Get("X-RateLimit-Limit"), h.Get("X-RateLimit-Window-Sec"), h.Get("X-RateLimit-Remaining"), h.Get("X-RateLimit-ToWait-Sec")
}

func TestInjectedFaults(t *testing.T) {
	tests := []struct {
		name           string
		throttle, fail int
		want           []int // statuses of API calls 1..len
	}{
		{"throttle every 3", 3, 0, []int{200, 200, 429, 200, 200, 429, 200, 200, 429}},
		{"fail every 4", 0, 4, []int{200, 200, 200, 503, 200, 200, 200, 503}},
		{"throttle wins over fail", 2, 3, []int{200, 429, 503, 429, 200, 429, 200}},
		{"every call throttled", 1, 0, []int{429, 429, 429}},
		{"off", 0, 0, []int{200, 200, 200}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, base, _ := newTestServer(t, Options{ThrottleEvery: tt.throttle, FailEvery: tt.fail})
			tok := login(t, base)
			var throttled, failed int
			for i, want := range tt.want {
				path := qualysPoliciesPath
				if i%2 == 1 {
					path = qualysExceptionsPath
				}
				resp, body := get(t, base+path, tok)
				limit, window, remaining, wait := limitHeaders(resp)
				if limit != "2000" || window != "3600" || remaining == "" || resp.Header.Get("X-Concurrency-Limit-Limit") != "2" {
					t.Errorf("call %d: limit headers %q %q %q", i+1, limit, window, remaining)
				}
				switch want {
				case 200:
					if resp.StatusCode != 200 || wait != "" {
						t.Errorf("call %d: %d (ToWait %q) %s", i+1, resp.StatusCode, wait, body)
					}
				case 429:
					throttled++
					checkError(t, resp, body, 429)
					if wait != "1" {
						t.Errorf("call %d: X-RateLimit-ToWait-Sec %q, want 1", i+1, wait)
					}
					if resp.Header.Get("Retry-After") != "" {
						t.Errorf("call %d: Retry-After set; the gateway does not send it", i+1)
					}
				case 503:
					failed++
					checkError(t, resp, body, 503)
				}
			}
			// /auth is not an API call: it never fails.
			for i := 0; i < 5; i++ {
				login(t, base)
			}
			st := s.Stats()
			if st.Throttled != throttled || st.Failed != failed || st.RateLimited != 0 {
				t.Errorf("stats %+v, want throttled %d failed %d", st, throttled, failed)
			}
		})
	}
}

func TestRateLimit(t *testing.T) {
	s, base, clk := newTestServer(t, Options{RateLimit: 3, RateWindow: time.Hour})
	tok := login(t, base)
	steps := []struct {
		advance   time.Duration
		status    int
		remaining string
		wait      string
	}{
		{0, 200, "2", ""},
		{0, 200, "1", ""},
		{0, 200, "0", ""},
		{0, 429, "0", "3600"},
		{30 * time.Minute, 429, "0", "1800"},
		{29*time.Minute + 59*time.Second + 500*time.Millisecond, 429, "0", "1"},
		{500 * time.Millisecond, 200, "2", ""}, // a new window
		{0, 200, "1", ""},
	}
	for i, st := range steps {
		clk.Advance(st.advance)
		resp, body := get(t, base+qualysPoliciesPath, tok)
		limit, window, remaining, wait := limitHeaders(resp)
		if resp.StatusCode != st.status || remaining != st.remaining || wait != st.wait || limit != "3" || window != "3600" {
			t.Errorf("step %d: %d remaining %q wait %q limit %q window %q, want %d %q %q (%s)",
				i, resp.StatusCode, remaining, wait, limit, window, st.status, st.remaining, st.wait, body)
		}
		if st.status == 429 {
			checkError(t, resp, body, 429)
		}
	}
	// /auth is not rate limited, and the token keeps working.
	if resp, body := authenticate(t, base, goodForm); resp.StatusCode != http.StatusCreated {
		t.Errorf("auth while limited: %d %s", resp.StatusCode, body)
	}
	if got := s.Stats(); got.RateLimited != 3 || got.Throttled != 3 {
		t.Errorf("stats %+v", got)
	}
}

func TestRateLimitConcurrent(t *testing.T) {
	const limit, clients, each = 50, 8, 10
	s, base, _ := newTestServer(t, Options{RateLimit: limit})
	tok := login(t, base)
	var mu sync.Mutex
	codes := map[int]int{}
	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				req, _ := http.NewRequest(http.MethodGet, base+qualysExceptionsPath+"?pageSize=5", nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				mu.Lock()
				codes[resp.StatusCode]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if codes[200] != limit || codes[429] != clients*each-limit {
		t.Errorf("codes %v, want %d × 200", codes, limit)
	}
	if st := s.Stats(); st.RateLimited != clients*each-limit {
		t.Errorf("stats %+v", st)
	}
}

func TestErrorTimestampIsNow(t *testing.T) {
	_, base, clk := newTestServer(t, Options{})
	clk.Advance(90 * time.Second)
	resp, body := get(t, base+qualysPoliciesPath, "")
	if e := checkError(t, resp, body, 401); e.Timestamp != testNow.Add(90*time.Second).UnixMilli() {
		t.Errorf("timestamp %d", e.Timestamp)
	}
	if !strings.Contains(string(body), `"timestamp":`+strconv.FormatInt(testNow.Add(90*time.Second).UnixMilli(), 10)) {
		t.Errorf("body %s", body)
	}
}
