package graphsim

import (
	"math"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"qtc/api/internal/graphcost"
)

// throttleWindow is the period Graph's identity resource-unit limits are
// set over.
const throttleWindow = 10 * time.Second

// throttle keeps, per app and tenant, the resource units charged in the
// last throttleWindow (a sliding window: a request's cost leaves the window
// 10 s after it was charged).
type throttle struct {
	budget int // <= 0: off

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	q    []spend // by time
	head int
	sum  int
}

type spend struct {
	at time.Time
	ru int
}

func newThrottle(budget int) *throttle {
	return &throttle{budget: budget, buckets: map[string]*bucket{}}
}

// charge admits a request costing ru at now, or refuses it with the whole
// seconds after which enough budget has left the window. pct is the share
// of the budget in use after the request (for
// x-ms-throttle-limit-percentage).
func (t *throttle) charge(key string, now time.Time, ru int) (ok bool, retryAfter int, pct float64) {
	if t.budget <= 0 {
		return true, 0, 0
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.buckets[key]
	if b == nil {
		b = &bucket{}
		t.buckets[key] = b
	}
	cutoff := now.Add(-throttleWindow)
	for b.head < len(b.q) && !b.q[b.head].at.After(cutoff) {
		b.sum -= b.q[b.head].ru
		b.head++
	}
	if b.head > 1024 && b.head*2 > len(b.q) {
		b.q = append(b.q[:0], b.q[b.head:]...)
		b.head = 0
	}
	if b.sum+ru > t.budget && b.sum > 0 {
		need := b.sum + ru - t.budget
		freed := 0
		var until time.Time
		for _, sp := range b.q[b.head:] {
			freed += sp.ru
			until = sp.at.Add(throttleWindow)
			if freed >= need {
				break
			}
		}
		wait := until.Sub(now)
		secs := int(math.Ceil(wait.Seconds()))
		return false, max(secs, 1), float64(b.sum) / float64(t.budget)
	}
	at := now
	if n := len(b.q); n > b.head && at.Before(b.q[n-1].at) {
		at = b.q[n-1].at // keep the queue ordered if the clock steps back
	}
	b.q = append(b.q, spend{at: at, ru: ru})
	b.sum += ru
	return true, 0, float64(b.sum) / float64(t.budget)
}

// pctHeader formats x-ms-throttle-limit-percentage (sent from 0.8 of the
// budget on, at most 1.8).
func pctHeader(p float64) string {
	p = math.Min(p, 1.8)
	return strconv.FormatFloat(math.Floor(p*100)/100, 'f', -1, 64)
}

// Cost returns the resource units Microsoft Graph charges for a request by
// Microsoft's table: the base cost of the method and path (the part after
// /v1.0, key segments as {id}), −1 with $select, +1 with $expand, −1 with
// $top under 20, never below 1. path may carry a query.
func Cost(method, path string) int {
	p, q, _ := strings.Cut(path, "?")
	vals, _ := url.ParseQuery(q)
	return cost(method, costPattern(p), vals)
}

func cost(method, pattern string, q url.Values) int {
	c, _ := graphcost.Of(method, pattern, q)
	return c
}

// costPattern turns a Graph path into a cost-table key: the part after the
// version, lower case, keys as {id}.
func costPattern(path string) string {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for i, s := range segs {
		if strings.EqualFold(s, "v1.0") || strings.EqualFold(s, "beta") {
			segs = segs[i+1:]
			break
		}
	}
	out := make([]string, 0, len(segs))
	for i, s := range segs {
		ls := strings.ToLower(s)
		switch {
		case ls == "":
			continue
		case ls == "delta()" || ls == "microsoft.graph.delta" || ls == "microsoft.graph.delta()":
			out = append(out, "delta")
		case ls == "me" && i == 0:
			out = append(out, "users", "{id}")
		case i > 0 && isKey(segs[i-1], s):
			out = append(out, "{id}")
		default:
			out = append(out, ls)
		}
	}
	return strings.Join(out, "/")
}

// isKey reports whether seg, following prev, is an object key rather than
// a property or function name.
func isKey(prev, seg string) bool {
	switch strings.ToLower(prev) {
	case "users", "groups", "devices", "applications", "serviceprincipals", "directoryroles",
		"roledefinitions", "organization", "oauth2permissiongrants", "domains", "contracts", "administrativeunits":
		ls := strings.ToLower(seg)
		return ls != "delta" && ls != "delta()" && !strings.HasPrefix(ls, "microsoft.graph.")
	}
	return false
}
