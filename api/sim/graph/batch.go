package graphsim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// JSON batching: POST /v1.0/$batch with at most 20 requests. Each inner
// request goes through the whole pipeline (faults, permissions, the RU
// budget) on its own; the answers come back in a deterministic random order.

const (
	maxBatchRequests = 20
	maxBatchBytes    = 4 << 20
)

type batchRequest struct {
	ID        string            `json:"id"`
	Method    string            `json:"method"`
	URL       string            `json:"url"`
	Headers   map[string]string `json:"headers,omitempty"`
	Body      json.RawMessage   `json:"body,omitempty"`
	DependsOn []string          `json:"dependsOn,omitempty"`
}

type batchResponse struct {
	id     string
	status int
	hdr    http.Header
	body   []byte
}

func (s *Server) serveBatch(rc *rctx, body io.Reader) (int, http.Header, []byte) {
	bad := func(msg string) (int, http.Header, []byte) {
		return http.StatusBadRequest, nil, rc.errorBody(badRequest("BadRequest", "%s", msg))
	}
	if body == nil {
		return bad("Invalid batch payload format.")
	}
	raw, err := io.ReadAll(io.LimitReader(body, maxBatchBytes+1))
	if err != nil || len(raw) > maxBatchBytes {
		return bad("Invalid batch payload format.")
	}
	var in struct {
		Requests []batchRequest `json:"requests"`
	}
	if err := json.Unmarshal(raw, &in); err != nil || in.Requests == nil {
		return bad("Invalid batch payload format.")
	}
	reqs := in.Requests
	switch {
	case len(reqs) == 0:
		return bad("Invalid batch payload format: the batch has no requests.")
	case len(reqs) > maxBatchRequests:
		return bad("Number of batch requests exceeds the limit of " + strconv.Itoa(maxBatchRequests) + ".")
	}
	index := map[string]int{}
	for i, r := range reqs {
		switch {
		case strings.TrimSpace(r.ID) == "":
			return bad("Invalid batch payload format: every request needs an id.")
		case r.Method == "":
			return bad("Invalid batch payload format: request '" + clip(r.ID) + "' has no method.")
		case r.URL == "":
			return bad("Invalid batch payload format: request '" + clip(r.ID) + "' has no url.")
		}
		if _, dup := index[r.ID]; dup {
			return bad("Batch request ids must be unique: '" + clip(r.ID) + "' appears more than once.")
		}
		index[r.ID] = i
	}
	for _, r := range reqs {
		for _, dep := range r.DependsOn {
			if _, ok := index[dep]; !ok {
				return bad("Request '" + clip(r.ID) + "' depends on '" + clip(dep) + "', which is not in the batch.")
			}
		}
	}
	order, ok := topoOrder(reqs, index)
	if !ok {
		return bad("The dependsOn relations of the batch form a cycle.")
	}
	s.count(func(st *Stats) { st.Batches++ })
	status := make(map[string]int, len(reqs))
	out := make([]batchResponse, 0, len(reqs))
	for _, i := range order {
		r := reqs[i]
		n := s.reqN.Add(1)
		h := rc.hdr.Clone()
		h.Del("Content-Length")
		for k, v := range r.Headers {
			h.Set(k, v)
		}
		irc := s.newRctx(h, rc.base, n, true)
		irc.faults = rc.faults // delivered (or lost) with the $batch answer
		failedDep := false
		for _, dep := range r.DependsOn {
			if st := status[dep]; st < 200 || st > 299 {
				failedDep = true
			}
		}
		var res result
		if failedDep {
			res = result{status: http.StatusFailedDependency, hdr: http.Header{}, pattern: "unknown",
				body: irc.errorBody(&gerr{code: "FailedDependency", msg: "Request failed due to a failed dependency."})}
			irc.commonHeaders(res.hdr)
		} else {
			path, query, _ := strings.Cut(r.URL, "?")
			if strings.Contains(path, "://") {
				res = result{status: http.StatusBadRequest, hdr: http.Header{}, pattern: "unknown",
					body: irc.errorBody(badRequest("BadRequest", "Invalid request URL '%s': batch request URLs are relative to the version root, e.g. /users.", clip(r.URL)))}
				irc.commonHeaders(res.hdr)
			} else {
				var rb io.Reader
				if len(r.Body) > 0 {
					rb = bytes.NewReader(r.Body)
				}
				res = s.dispatch(irc, strings.ToUpper(r.Method), "/v1.0/"+strings.TrimPrefix(path, "/"), query, rb)
			}
		}
		s.record(res, true)
		status[r.ID] = res.status
		out = append(out, batchResponse{id: r.ID, status: res.status, hdr: res.hdr, body: res.body})
	}
	// Answers come in any order: a deterministic shuffle per batch.
	rg := rng{s: hashOf(uint64(s.opt.Seed), s.batchN.Add(1), 0xba7c)}
	for i := len(out) - 1; i > 0; i-- {
		j := rg.intn(i + 1)
		out[i], out[j] = out[j], out[i]
	}
	size := 16
	for _, br := range out {
		size += len(br.body) + 256 // the body, its id, status and headers
	}
	w := make([]byte, 0, size)
	w = append(w, `{"responses":[`...)
	for i, br := range out {
		if i > 0 {
			w = append(w, ',')
		}
		w = append(w, `{"id":`...)
		w = appendJSONString(w, br.id)
		w = append(w, `,"status":`...)
		w = strconv.AppendInt(w, int64(br.status), 10)
		w = append(w, `,"headers":{`...)
		first := true
		for _, k := range sortedKeys(br.hdr) {
			if !first {
				w = append(w, ',')
			}
			first = false
			name := k
			if strings.HasPrefix(name, "X-Ms-") {
				name = strings.ToLower(name)
			}
			w = appendJSONString(w, name)
			w = append(w, ':')
			w = appendJSONString(w, br.hdr.Get(k))
		}
		w = append(w, '}')
		if len(br.body) > 0 {
			w = append(w, `,"body":`...)
			w = append(w, br.body...)
		}
		w = append(w, '}')
	}
	w = append(w, "]}"...)
	return http.StatusOK, nil, w
}

func sortedKeys(h http.Header) []string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}

// topoOrder orders requests so each comes after its dependencies (stable:
// otherwise in the order given); false on a cycle.
func topoOrder(reqs []batchRequest, index map[string]int) ([]int, bool) {
	state := make([]uint8, len(reqs)) // 0 new, 1 visiting, 2 done
	var order []int
	var visit func(i int) bool
	visit = func(i int) bool {
		switch state[i] {
		case 1:
			return false
		case 2:
			return true
		}
		state[i] = 1
		for _, dep := range reqs[i].DependsOn {
			if !visit(index[dep]) {
				return false
			}
		}
		state[i] = 2
		order = append(order, i)
		return true
	}
	for i := range reqs {
		if !visit(i) {
			return nil, false
		}
	}
	return order, true
}
