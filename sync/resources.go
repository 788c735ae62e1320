package sync

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"qtc/api/qualys"
	"qtc/store"
	"qtc/sync/catalog"
)

// Settings of a Qualys connector that shape its resource streams.
const (
	// SettingResources lists the resource types in scope, comma-separated
	// catalog names ("azure/ENTRA_ID_USER,aws/EC2_INSTANCE"); empty means
	// every registered resource type.
	SettingResources = "resources"
	// SettingBaseline is the cadence of full pulls of incremental streams.
	SettingBaseline = "baseline"
	// SettingRetention is how long records gone from the source stay
	// browsable (marked removed) before they are purged.
	SettingRetention = "retention"
)

// Baselines are the baseline cadences the seeds name.
var Baselines = map[string]time.Duration{
	"weekly":      7 * 24 * time.Hour,
	"fortnightly": 14 * 24 * time.Hour,
	"triweekly":   21 * 24 * time.Hour,
	"monthly":     30 * 24 * time.Hour,
}

const (
	defaultBaseline  = "weekly"
	defaultRetention = 30 * 24 * time.Hour
)

// ParseRetention reads a retention such as "30d", "12h" or "0" (purge at
// once).
func ParseRetention(s string) (time.Duration, error) {
	if s == "" {
		return defaultRetention, nil
	}
	if n, ok := strings.CutSuffix(s, "d"); ok {
		var d int
		if _, err := fmt.Sscanf(n, "%d", &d); err != nil || d < 0 || fmt.Sprint(d) != n {
			return 0, fmt.Errorf("--retention %q: use days like 30d, or a duration like 12h", s)
		}
		return time.Duration(d) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("--retention %q: use days like 30d, or a duration like 12h", s)
	}
	return d, nil
}

// ResourceScope returns the resource types a connector syncs.
func ResourceScope(conn store.Connector) ([]catalog.Type, error) {
	list := strings.TrimSpace(conn.Settings[SettingResources])
	if list == "" {
		return catalog.Resources(), nil
	}
	if list == "none" {
		return nil, nil
	}
	var out []catalog.Type
	seen := map[string]bool{}
	for _, n := range strings.Split(list, ",") {
		n = strings.TrimSpace(n)
		t, ok := catalog.Lookup(n)
		if !ok || t.Cloud == "" {
			return nil, fmt.Errorf("resource type %q is not {cloud}/{RESOURCE_TYPE} with cloud aws, azure, gcp or oci (e.g. azure/ENTRA_ID_USER)", n)
		}
		if !seen[t.Name] {
			seen[t.Name] = true
			out = append(out, t)
		}
	}
	return out, nil
}

// resourceStreams builds the incremental streams of the connector's
// resource types. Role definitions come before role assignments, whose
// cells name the role.
func (e *Engine) resourceStreams(c *qualys.Client, conn store.Connector, opt Options) ([]stream, error) {
	types, err := ResourceScope(conn)
	if err != nil {
		return nil, err
	}
	baseline := Baselines[defaultBaseline]
	if b := conn.Settings[SettingBaseline]; b != "" {
		d, ok := Baselines[b]
		if !ok {
			return nil, fmt.Errorf("connector %s: baseline %q is not weekly, fortnightly, triweekly or monthly", conn.Name, b)
		}
		baseline = d
	}
	retention, err := ParseRetention(conn.Settings[SettingRetention])
	if err != nil {
		return nil, err
	}
	var out []stream
	for _, t := range orderByValueMaps(types) {
		if !wanted(opt, t.Name) {
			continue
		}
		out = append(out, stream{typ: t, fetch: resourceFetcher(c, t), incremental: true, baseline: baseline, retention: retention, staleResume: badMarker})
	}
	return out, nil
}

// orderByValueMaps puts the types a value map reads before the types that
// use it.
func orderByValueMaps(types []catalog.Type) []catalog.Type {
	var first, rest []catalog.Type
	needed := map[string]bool{}
	for _, t := range types {
		for _, vm := range t.ValueMaps {
			needed[vm.Type] = true
		}
	}
	for _, t := range types {
		if needed[t.Name] {
			first = append(first, t)
		} else {
			rest = append(rest, t)
		}
	}
	return append(first, rest...)
}

// resourceFetcher pages a resource type: Spring pages by number, marker
// pages by the marker the previous page returned.
func resourceFetcher(c *qualys.Client, t catalog.Type) func(ctx context.Context, at cursor, window string, pageSize int) (rawPage, error) {
	return func(ctx context.Context, at cursor, window string, pageSize int) (rawPage, error) {
		q := qualys.ResourceQuery{PageNo: at.page, PageSize: pageSize, Marker: at.marker, Updated: window}
		p, err := c.Resources(ctx, t.Cloud, t.Resource, q)
		if err != nil {
			return rawPage{}, err
		}
		if p.Envelope == qualys.EnvelopeMarker && window == "" && p.Total > qualys.MaxInventoryHits {
			// The inventory endpoint stops at 10,000 records per query; a
			// full pull that cannot see everything must not sweep the rest.
			return rawPage{}, fmt.Errorf("%s: the source holds %d records but one inventory query returns at most %d; narrow the connector's scope (splitting is not implemented yet)",
				t.Name, p.Total, qualys.MaxInventoryHits)
		}
		items := make([][]byte, len(p.Items))
		for i, it := range p.Items {
			items[i] = it
		}
		rp := rawPage{items: items, last: p.Last || len(p.Items) == 0 && p.Envelope != qualys.EnvelopeMarker, total: p.Total}
		if p.Envelope == qualys.EnvelopeMarker {
			rp.next = cursor{marker: p.Marker}
		} else {
			rp.next = cursor{page: at.page + 1}
		}
		return rp, nil
	}
}

// badMarker: the inventory answers 400 to a marker it no longer knows (it
// expired, or the server restarted).
func badMarker(err error) bool {
	var ae *qualys.APIError
	return errors.As(err, &ae) && ae.StatusCode == http.StatusBadRequest
}
