package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"qtc/api/internal/text"
	"qtc/api/retries"
)

// MaxBatch is the most requests Graph accepts in one $batch call.
const MaxBatch = 20

// BatchRequest is one request of a Batch. URL is relative to the version
// ("/users/{id}/memberOf?$select=id"); "/v1.0/…" paths and absolute links
// on the Graph host (a nextLink) are accepted too. ID must be unique in the
// Batch call (case-insensitive, as Graph treats it); an empty ID becomes the
// request's 1-based position. DependsOn names IDs of the same Batch call.
// Method defaults to GET; a Body gets Content-Type: application/json unless
// Headers set one.
type BatchRequest struct {
	ID, Method, URL string
	Headers         map[string]string
	Body            json.RawMessage
	DependsOn       []string
}

// BatchResponse is the answer to one BatchRequest. Body is byte for byte
// what Graph sent for it (a JSON value, or a base64 string for non-JSON
// content).
type BatchResponse struct {
	ID      string
	Status  int
	Headers map[string]string
	Body    json.RawMessage
}

// Header returns the value of a response header, matched case-insensitively.
func (r *BatchResponse) Header(name string) string {
	if v, ok := r.Headers[name]; ok {
		return v
	}
	for k, v := range r.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// batchItem is a validated BatchRequest.
type batchItem struct {
	id      string
	method  string
	url     string // relative to the version, starting with "/"
	headers map[string]string
	body    json.RawMessage
	deps    []int
	key     string
	table   int
}

// Batch sends reqs in $batch calls of at most 20 requests, up to
// Concurrency calls at once, and returns one response per request in input
// order. Requests linked by DependsOn go in the same call.
//
// Inner requests answered 429, 503 or 504 are re-sent alone (with the ones
// that failed only because they depended on them, 424), after the longest
// of their Retry-After values, or a backoff when there is none, until they
// succeed or run out of attempts (Config.MaxRetries; as for Get). Other
// inner answers, 4xx included, are returned as they are for the caller to
// judge. A whole $batch call answered 429 or 503 is retried like any request.
//
// When inner requests run out of attempts, Batch returns every response
// (theirs being the last failure) together with an error naming them.
// Any other error (a $batch call failing for good, ctx ending) returns no
// responses.
func (c *Client) Batch(ctx context.Context, reqs []BatchRequest) ([]BatchResponse, error) {
	if len(reqs) == 0 {
		return []BatchResponse{}, nil
	}
	items, err := c.prepareBatch(reqs)
	if err != nil {
		return nil, err
	}
	chunks, err := planChunks(items)
	if err != nil {
		return nil, err
	}
	out := make([]BatchResponse, len(reqs))
	var gaveUp failures

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		once     sync.Once
		firstErr error
	)
	work := make(chan []int)
	for range min(cap(c.sem), len(chunks)) {
		wg.Go(func() {
			for chunk := range work {
				if err := c.runChunk(ctx, items, chunk, out, &gaveUp); err != nil {
					once.Do(func() { firstErr = err; cancel() })
				}
			}
		})
	}
feed:
	for _, ch := range chunks {
		select {
		case work <- ch:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("graph: batch: %w", err)
	}
	if err := gaveUp.err(items, out); err != nil {
		return out, err
	}
	return out, nil
}

// failures collects the inner requests that ran out of attempts.
type failures struct {
	mu  sync.Mutex
	idx []int
}

func (f *failures) add(i int) {
	f.mu.Lock()
	f.idx = append(f.idx, i)
	f.mu.Unlock()
}

func (f *failures) err(items []batchItem, out []BatchResponse) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.idx) == 0 {
		return nil
	}
	sort.Ints(f.idx)
	first := f.idx[0]
	e := parseError(items[first].method, items[first].url, out[first].Status, nil, out[first].Body)
	if e.RequestID == "" {
		e.RequestID = out[first].Header("request-id")
	}
	ids := make([]string, 0, min(len(f.idx), 10))
	for _, i := range f.idx[:min(len(f.idx), 10)] {
		ids = append(ids, strconv.Quote(items[i].id))
	}
	more := ""
	if len(f.idx) > 10 {
		more = fmt.Sprintf(" and %d more", len(f.idx)-10)
	}
	return fmt.Errorf("graph: batch: %d of %d requests still failing after retries (ids %s%s); first: %w",
		len(f.idx), len(out), strings.Join(ids, ", "), more, e)
}

// prepareBatch validates reqs and resolves DependsOn.
func (c *Client) prepareBatch(reqs []BatchRequest) ([]batchItem, error) {
	items := make([]batchItem, len(reqs))
	byID := make(map[string]int, len(reqs))
	for i, r := range reqs {
		id := r.ID
		if id == "" {
			id = strconv.Itoa(i + 1)
		}
		lid := strings.ToLower(id)
		if j, dup := byID[lid]; dup {
			return nil, fmt.Errorf("graph: batch: requests %d and %d have the same id %q (ids are case-insensitive)", j+1, i+1, id)
		}
		byID[lid] = i
		method := strings.ToUpper(strings.TrimSpace(r.Method))
		if method == "" {
			method = http.MethodGet
		}
		u, err := c.batchPath(r.URL)
		if err != nil {
			return nil, fmt.Errorf("graph: batch: request %q: %w", id, err)
		}
		headers := make(map[string]string, len(r.Headers)+1)
		hasCT := false
		for k, v := range r.Headers {
			headers[k] = v
			hasCT = hasCT || strings.EqualFold(k, "Content-Type")
		}
		var body json.RawMessage
		if len(bytes.TrimSpace(r.Body)) > 0 {
			if !json.Valid(r.Body) {
				return nil, fmt.Errorf("graph: batch: request %q: body is not valid JSON", id)
			}
			body = r.Body
			if !hasCT {
				headers["Content-Type"] = "application/json"
			}
		}
		if len(headers) == 0 {
			headers = nil
		}
		key, table := requestCost(method, u)
		items[i] = batchItem{id: id, method: method, url: u, headers: headers, body: body, key: key, table: table}
	}
	for i, r := range reqs {
		for _, d := range r.DependsOn {
			j, ok := byID[strings.ToLower(d)]
			if !ok {
				return nil, fmt.Errorf("graph: batch: request %q depends on unknown id %q", items[i].id, d)
			}
			if j == i {
				return nil, fmt.Errorf("graph: batch: request %q depends on itself", items[i].id)
			}
			items[i].deps = append(items[i].deps, j)
		}
	}
	return items, nil
}

// batchPath turns a BatchRequest URL into the form $batch wants: relative
// to the v1.0 endpoint, starting with "/".
func (c *Client) batchPath(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", errors.New("empty URL")
	}
	if u, err := url.Parse(s); err == nil && u.IsAbs() {
		if !c.onGraph(u) {
			return "", fmt.Errorf("refusing URL on %s://%s: it is not on %s", u.Scheme, u.Host, c.graph.String())
		}
		s = strings.TrimPrefix(u.EscapedPath(), c.graph.Path)
		if u.RawQuery != "" {
			s += "?" + u.RawQuery
		}
	} else if err != nil {
		return "", fmt.Errorf("URL %q does not parse: %v", s, err)
	}
	if !strings.HasPrefix(s, "/") {
		s = "/" + s
	}
	if hasVersion(s) {
		if !strings.HasPrefix(s, "/v1.0") {
			return "", fmt.Errorf("URL %q is not v1.0; $batch is sent to the v1.0 endpoint", raw)
		}
		s = strings.TrimPrefix(s, "/v1.0")
		if s == "" || s[0] == '?' {
			s = "/" + s
		}
	}
	return s, nil
}

// planChunks groups requests into $batch calls of at most MaxBatch, keeping
// requests linked by DependsOn together, in input order.
func planChunks(items []batchItem) ([][]int, error) {
	parent := make([]int, len(items))
	for i := range parent {
		parent[i] = i
	}
	find := func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	for i, it := range items {
		for _, d := range it.deps {
			a, b := find(i), find(d)
			if a != b {
				parent[max(a, b)] = min(a, b)
			}
		}
	}
	groups := make(map[int][]int)
	var roots []int
	for i := range items {
		r := find(i)
		if _, ok := groups[r]; !ok {
			roots = append(roots, r)
		}
		groups[r] = append(groups[r], i)
	}
	var chunks [][]int
	var cur []int
	for _, r := range roots {
		g := groups[r]
		if len(g) > MaxBatch {
			return nil, fmt.Errorf("graph: batch: %d requests are linked by dependsOn (starting with %q); at most %d fit in one $batch call", len(g), items[g[0]].id, MaxBatch)
		}
		if len(cur)+len(g) > MaxBatch {
			chunks = append(chunks, cur)
			cur = nil
		}
		cur = append(cur, g...)
	}
	if len(cur) > 0 {
		chunks = append(chunks, cur)
	}
	for _, ch := range chunks {
		sort.Ints(ch)
	}
	return chunks, nil
}

// wireRequest is one request as $batch wants it.
type wireRequest struct {
	ID        string            `json:"id"`
	Method    string            `json:"method"`
	URL       string            `json:"url"`
	Headers   map[string]string `json:"headers,omitempty"`
	Body      json.RawMessage   `json:"body,omitempty"`
	DependsOn []string          `json:"dependsOn,omitempty"`
}

// encodeBatch builds the $batch body for the requests pending (indices
// into items). On the wire, request k of pending has id k+1; dependencies
// outside pending (already answered) are dropped.
func encodeBatch(items []batchItem, pending []int) ([]byte, error) {
	wire := make(map[int]string, len(pending))
	for k, p := range pending {
		wire[p] = strconv.Itoa(k + 1)
	}
	reqs := make([]wireRequest, len(pending))
	for k, p := range pending {
		it := items[p]
		wr := wireRequest{ID: wire[p], Method: it.method, URL: it.url, Headers: it.headers, Body: it.body}
		for _, d := range it.deps {
			if w, ok := wire[d]; ok {
				wr.DependsOn = append(wr.DependsOn, w)
			}
		}
		reqs[k] = wr
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(struct {
		Requests []wireRequest `json:"requests"`
	}{reqs}); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// runChunk sends one chunk and re-sends its throttled requests until every
// request has a final answer or ran out of attempts.
func (c *Client) runChunk(ctx context.Context, items []batchItem, chunk []int, out []BatchResponse, gaveUp *failures) error {
	batchURL := c.graph.String() + "/v1.0/$batch"
	attempts := make(map[int]int)
	backoffs := make(map[int]int)
	reauths := make(map[int]int)
	pending := chunk
	for len(pending) > 0 {
		body, err := encodeBatch(items, pending)
		if err != nil {
			return fmt.Errorf("graph: batch: %w", err)
		}
		cost := 0
		idempotent := true
		for _, p := range pending {
			cost += c.pace.estimate(items[p].key, items[p].table)
			if m := items[p].method; m != http.MethodGet && m != http.MethodHead {
				idempotent = false
			}
		}
		var (
			got  map[string]*BatchResponse
			perr error
		)
		settle := func(b []byte) (reported, estimated int) {
			var resps []BatchResponse
			resps, perr = decodeBatchResponse(b)
			got = make(map[string]*BatchResponse, len(resps))
			for i := range resps {
				got[strings.ToLower(resps[i].ID)] = &resps[i]
			}
			for k, p := range pending {
				r := got[strconv.Itoa(k+1)]
				est := c.pace.estimate(items[p].key, items[p].table)
				if r == nil {
					estimated += est
					continue
				}
				if ru, ok := parseCount(r.Header("x-ms-resource-unit")); ok {
					reported += ru
					if r.Status >= 200 && r.Status < 300 {
						c.pace.learn(items[p].key, ru)
					}
				} else {
					estimated += est
				}
			}
			return reported, estimated
		}
		_, err = c.do(ctx, &call{
			method:     http.MethodPost,
			url:        batchURL,
			body:       body,
			cost:       cost,
			idempotent: idempotent,
			inner:      len(pending),
			settle:     settle,
		})
		if err != nil {
			return err
		}
		if perr != nil {
			var de *DecodeError
			if errors.As(perr, &de) {
				de.URL = batchURL
			}
			return perr
		}

		now := c.clk.Now()
		retry := make(map[int]bool)
		cause := make(map[int]string) // why each retried request goes again
		renew := false                // an inner 401: get a new token before re-sending
		var (
			wait       time.Duration
			throttled  bool // a 429 among the retried
			holdServer bool // a Retry-After among the retried 429/503
		)
		for k, p := range pending {
			r := got[strconv.Itoa(k+1)]
			if r == nil {
				out[p] = BatchResponse{ID: items[p].id}
			} else {
				out[p] = BatchResponse{ID: items[p].id, Status: r.Status, Headers: r.Headers, Body: r.Body}
			}
			status := out[p].Status
			switch status {
			case http.StatusTooManyRequests:
				c.st.inner429.Add(1)
			case http.StatusServiceUnavailable, http.StatusGatewayTimeout:
				c.st.unavailable.Add(1)
			}
			if status == http.StatusUnauthorized && reauths[p] < maxReauths {
				// The token expired while the batch was served: the
				// inner request goes again with a new token (twice at most).
				reauths[p]++
				renew = true
				retry[p] = true
				cause[p] = retries.BatchPrefix + retries.ExpiredToken
				continue
			}
			if r != nil && status != http.StatusTooManyRequests && status != http.StatusServiceUnavailable && status != http.StatusGatewayTimeout {
				continue
			}
			attempts[p]++
			d, fromServer := time.Duration(0), false
			if r != nil {
				d, fromServer = parseRetryAfter(r.Header("Retry-After"), now)
			}
			var give bool
			if fromServer {
				give = c.maxRetries > 0 && attempts[p] >= c.maxRetries
			} else {
				backoffs[p]++
				if c.maxRetries > 0 {
					give = attempts[p] >= c.maxRetries
				} else {
					give = backoffs[p] >= c.maxBackoff
				}
				d = c.backoff(backoffs[p])
			}
			if give {
				gaveUp.add(p)
				c.log.Warn("graph: batch: giving up on an inner request", "id", items[p].id, "method", items[p].method, "url", items[p].url, "status", status, "attempts", attempts[p])
				continue
			}
			retry[p] = true
			if r == nil {
				cause[p] = retries.BatchPrefix + "missing"
			} else {
				cause[p] = retries.BatchPrefix + retries.OfStatus(status, fromServer)
			}
			wait = max(wait, d)
			if status == http.StatusTooManyRequests {
				throttled = true
			}
			if fromServer && (status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable) {
				holdServer = true
			}
		}
		// Requests that failed only because a retried one failed go again.
		for changed := true; changed; {
			changed = false
			for _, p := range pending {
				if retry[p] || out[p].Status != http.StatusFailedDependency {
					continue
				}
				for _, d := range items[p].deps {
					if retry[d] {
						retry[p], changed = true, true
						cause[p] = retries.BatchPrefix + "424"
						break
					}
				}
			}
		}
		if len(retry) == 0 {
			return nil
		}
		next := make([]int, 0, len(retry))
		for _, p := range pending {
			if retry[p] {
				next = append(next, p)
			}
		}
		until := now.Add(wait)
		if throttled || holdServer {
			var hold time.Time
			if holdServer {
				hold = until
			}
			c.pace.hold(hold, throttled)
		}
		if renew {
			c.log.Info("graph: batch: access token rejected (HTTP 401) inside a batch, getting a new one")
			if _, err := c.acquireToken(ctx, c.currentToken()); err != nil {
				return err
			}
		}
		for _, p := range next {
			c.noteRetry(ctx, cause[p])
		}
		c.log.Debug("graph: batch: re-sending throttled requests", "count", len(next), "wait", wait)
		if err := c.clk.SleepUntil(ctx, until, nil); err != nil {
			return fmt.Errorf("graph: batch: %w", err)
		}
		c.st.retryWait.Add(int64(max(c.clk.Now().Sub(now), 0)))
		pending = next
	}
	return nil
}

// wireResponse is one answer of a $batch response.
type wireResponse struct {
	ID      json.RawMessage            `json:"id"`
	Status  int                        `json:"status"`
	Headers map[string]json.RawMessage `json:"headers"`
	Body    json.RawMessage            `json:"body"`
}

// decodeBatchResponse decodes a $batch answer {"responses":[…]}. Bodies
// are kept byte for byte. Errors are *DecodeError.
func decodeBatchResponse(body []byte) ([]BatchResponse, error) {
	var env struct {
		Responses *[]wireResponse `json:"responses"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, &DecodeError{Offset: jsonErrorOffset(err, body), Err: err}
	}
	if env.Responses == nil {
		return nil, &DecodeError{Err: errors.New(`not a $batch answer: no "responses" array`)}
	}
	out := make([]BatchResponse, len(*env.Responses))
	for i, w := range *env.Responses {
		r := BatchResponse{ID: text.JSON(w.ID), Status: w.Status, Body: w.Body}
		if len(w.Headers) > 0 {
			r.Headers = make(map[string]string, len(w.Headers))
			for k, v := range w.Headers {
				r.Headers[k] = text.JSON(v)
			}
		}
		if string(r.Body) == "null" {
			r.Body = nil
		}
		out[i] = r
	}
	return out, nil
}

// jsonErrorOffset returns where in body a json.Unmarshal error occurred.
func jsonErrorOffset(err error, body []byte) int64 {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return se.Offset
	case errors.As(err, &te):
		return te.Offset
	}
	return int64(len(body))
}
