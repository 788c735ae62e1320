package sync

// Qualys host assets and CVE findings (seed 004, issue 6): three streams
// of the Qualys connector, pulled from the account's API server (the
// connector's SettingAPIURL) with the gateway's username and password
// (HTTP basic) and CA bundle.
//
//  1. findings: the VM host detection list, one page per request
//     (truncation_limit = the page size; the cursor is the WARNING/URL of
//     the next page). Each page's QIDs are looked up in the knowledge base
//     (batched, cached in memory for the run) and every detection is
//     stored with its title and CVE ids. Incremental: a delta asks for
//     vm_processed_after the last success − 1 h; a full pull at the
//     connector's baseline sweeps hosts that no longer have detections.
//  2. hosts: the host asset search, one page per request (the cursor is the
//     page's lastId). Each asset is stored with the findings of its host
//     (read from the store, written by 1) merged in. Incremental: a delta
//     asks for assets updated after the last success − 1 h, then ends with
//     one "reconcile" page that rewrites the stored hosts whose findings
//     changed since they were written (a host's detections change without
//     the asset changing).
//  3. cves: derived from the stored findings after 1 and 2 (not fetched),
//     one record per CVE of an open finding, with the links cve →
//     affectedHosts → host (inverse: host → cves), each CVE's listing
//     written with Replace, so a re-sync rewrites only what changed.
//
// Without an API URL (a connector made with only --gateway-url) the three
// streams are left out of the plan and the run log says so.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	gosync "sync"
	"time"

	"qtc/api/qualys"
	"qtc/store"
	"qtc/sync/catalog"
	"qtc/sync/relations"
)

// reconcileMarker is the hosts cursor of a delta's last page, which
// rewrites hosts whose stored findings changed.
const reconcileMarker = "reconcile"

// errPageDone stops an API client's paging after one page.
var errPageDone = errors.New("page done")

// QualysAPIClient builds the classic API client of a Qualys connector (nil
// when the connector has no API URL).
func (e *Engine) QualysAPIClient(conn store.Connector) (*qualys.APIClient, error) {
	api := strings.TrimSpace(conn.Settings[SettingAPIURL])
	if api == "" {
		return nil, nil
	}
	cfg, err := e.qualysConfig(conn)
	if err != nil {
		return nil, err
	}
	return qualys.NewAPIClient(qualys.APIConfig{
		APIServerURL: api, Username: cfg.Username, Password: cfg.Password,
		HTTPClient: cfg.HTTPClient, Logger: cfg.Logger, Trace: cfg.Trace,
	})
}

// windowSince reads the start of a delta window "[since..now]" (zero for a
// full pull).
func windowSince(window string) time.Time {
	w := strings.TrimPrefix(window, "[")
	since, _, ok := strings.Cut(w, "..")
	if !ok {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, since)
	if err != nil {
		return time.Time{}
	}
	return t
}

// kbCache holds the knowledge base entries looked up during a run.
type kbCache struct {
	mu    gosync.Mutex
	vulns map[int]qualys.Vuln
}

// lookup fetches the QIDs not yet known, in batches.
func (k *kbCache) lookup(ctx context.Context, c *qualys.APIClient, qids []int) (map[int]qualys.Vuln, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.vulns == nil {
		k.vulns = map[int]qualys.Vuln{}
	}
	var missing []int
	for _, q := range qids {
		if _, ok := k.vulns[q]; !ok {
			missing = append(missing, q)
		}
	}
	if len(missing) > 0 {
		err := c.KnowledgeBase(ctx, missing, func(v qualys.Vuln) error {
			v.Raw = nil
			k.vulns[v.QID] = v
			return nil
		})
		if err != nil {
			return nil, err
		}
		for _, q := range missing {
			if _, ok := k.vulns[q]; !ok {
				k.vulns[q] = qualys.Vuln{QID: q} // not in the knowledge base: no CVEs
			}
		}
	}
	return k.vulns, nil
}

// findingsRecord is the stored findings record (catalog.TypeFindings).
type findingsRecord struct {
	ID            int64             `json:"id"`
	AssetID       int64             `json:"assetId,omitempty"`
	IP            string            `json:"ip,omitempty"`
	DNS           string            `json:"dns,omitempty"`
	FQDN          string            `json:"fqdn,omitempty"`
	NetBIOS       string            `json:"netbios,omitempty"`
	OS            string            `json:"os,omitempty"`
	LastScan      time.Time         `json:"lastScan,omitzero"`
	LastVMScanned time.Time         `json:"lastVmScanned,omitzero"`
	Detections    []catalog.Finding `json:"detections"`
}

// hostRecord is the stored hosts record: the asset with its findings.
type hostRecord struct {
	qualys.HostAsset
	Findings []catalog.Finding `json:"findings"`
}

// findingsFetcher pages the detection list, joining each page with the
// knowledge base.
func findingsFetcher(c *qualys.APIClient, kb *kbCache) func(ctx context.Context, at cursor, window string, pageSize int) (rawPage, error) {
	return func(ctx context.Context, at cursor, window string, pageSize int) (rawPage, error) {
		q := qualys.DetectionQuery{TruncationLimit: pageSize, ProcessedAfter: windowSince(window)}
		if at.marker != "" {
			u, err := url.Parse(at.marker)
			if err != nil {
				return rawPage{}, fmt.Errorf("findings: saved cursor %q: %w", at.marker, err)
			}
			q.Params = u.Query()
		}
		var hosts []qualys.DetectionHost
		var next string
		q.OnPage = func(p qualys.ListPage) error {
			next = p.NextURL()
			return errPageDone
		}
		q.Restart = func() { hosts = hosts[:0] } // the page is fetched again
		err := c.HostDetections(ctx, q, func(h qualys.DetectionHost) error {
			h.Raw = nil
			hosts = append(hosts, h)
			return nil
		})
		if err != nil && !errors.Is(err, errPageDone) {
			return rawPage{}, err
		}
		var qids []int
		for _, h := range hosts {
			for _, d := range h.Detections {
				qids = append(qids, d.QID)
			}
		}
		vulns, err := kb.lookup(ctx, c, qids)
		if err != nil {
			return rawPage{}, err
		}
		items := make([][]byte, 0, len(hosts))
		for _, h := range hosts {
			r := findingsRecord{ID: h.ID, AssetID: h.AssetID, IP: h.IP, DNS: h.DNS, FQDN: h.FQDN, NetBIOS: h.NetBIOS, OS: h.OS,
				LastScan: h.LastScan, LastVMScanned: h.LastVMScanned, Detections: make([]catalog.Finding, len(h.Detections))}
			for i, d := range h.Detections {
				v := vulns[d.QID]
				r.Detections[i] = catalog.Finding{QID: d.QID, Type: d.Type, Severity: d.Severity, Status: d.Status,
					FirstFound: d.FirstFound, LastFound: d.LastFound, TimesFound: d.TimesFound, Title: v.Title, CVEs: v.CVEs}
			}
			b, err := json.Marshal(r)
			if err != nil {
				return rawPage{}, err
			}
			items = append(items, b)
		}
		return rawPage{items: items, last: next == "", next: cursor{marker: next}}, nil
	}
}

// storedFindings reads the findings of the given detection host ids.
func (e *Engine) storedFindings(ctx context.Context, conn string, hostIDs []string) (map[string][]catalog.Finding, error) {
	recs, err := e.Store.RecordsByID(ctx, conn, catalog.TypeFindings, hostIDs)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	out := make(map[string][]catalog.Finding, len(recs))
	for _, r := range recs {
		if !r.Removed.IsZero() {
			continue
		}
		var f findingsRecord
		if err := json.Unmarshal(r.Raw, &f); err != nil {
			return nil, fmt.Errorf("findings %s: %w", r.ID, err)
		}
		out[r.ID] = f.Detections
	}
	return out, nil
}

// hostsFetcher pages the host asset search, merging each host's stored
// findings.
func (e *Engine) hostsFetcher(conn string, c *qualys.APIClient) func(ctx context.Context, at cursor, window string, pageSize int) (rawPage, error) {
	return func(ctx context.Context, at cursor, window string, pageSize int) (rawPage, error) {
		if at.marker == reconcileMarker {
			return e.reconcileHosts(ctx, conn)
		}
		q := qualys.HostAssetQuery{PageSize: pageSize, UpdatedAfter: windowSince(window)}
		if at.marker != "" {
			id, err := strconv.ParseInt(at.marker, 10, 64)
			if err != nil {
				return rawPage{}, fmt.Errorf("hosts: saved cursor %q is not an asset id", at.marker)
			}
			q.StartFromID = id
		}
		var assets []qualys.HostAsset
		var page qualys.HostAssetPage
		q.OnPage = func(p qualys.HostAssetPage) error {
			page = p
			return errPageDone
		}
		q.Restart = func() { assets = assets[:0] } // the page is fetched again
		err := c.HostAssets(ctx, q, func(h qualys.HostAsset) error {
			h.Raw = nil
			assets = append(assets, h)
			return nil
		})
		if err != nil && !errors.Is(err, errPageDone) {
			return rawPage{}, err
		}
		ids := make([]string, 0, len(assets))
		for _, h := range assets {
			if h.HostID > 0 {
				ids = append(ids, strconv.FormatInt(h.HostID, 10))
			}
		}
		found, err := e.storedFindings(ctx, conn, ids)
		if err != nil {
			return rawPage{}, err
		}
		items := make([][]byte, 0, len(assets))
		for _, h := range assets {
			b, err := hostJSON(h, found[strconv.FormatInt(h.HostID, 10)])
			if err != nil {
				return rawPage{}, err
			}
			items = append(items, b)
		}
		rp := rawPage{items: items, last: !page.HasMoreRecords}
		switch {
		case page.HasMoreRecords:
			rp.next = cursor{marker: strconv.FormatInt(page.LastID, 10)}
		case window != "":
			// A delta's last asset page: then rewrite the hosts whose
			// findings changed without the asset changing.
			rp.last, rp.next = false, cursor{marker: reconcileMarker}
		}
		return rp, nil
	}
}

func hostJSON(h qualys.HostAsset, findings []catalog.Finding) ([]byte, error) {
	if findings == nil {
		findings = []catalog.Finding{}
	}
	return json.Marshal(hostRecord{HostAsset: h, Findings: findings})
}

// reconcileHosts lists, as one page, the stored hosts whose merged
// findings differ from the stored findings of their host.
func (e *Engine) reconcileHosts(ctx context.Context, conn string) (rawPage, error) {
	current := map[string][]catalog.Finding{}
	err := e.Store.Each(ctx, conn, catalog.TypeFindings, func(r store.Record) error {
		if !r.Removed.IsZero() {
			return nil
		}
		var f findingsRecord
		if err := json.Unmarshal(r.Raw, &f); err != nil {
			return fmt.Errorf("findings %s: %w", r.ID, err)
		}
		current[r.ID] = f.Detections
		return nil
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return rawPage{}, err
	}
	var items [][]byte
	err = e.Store.Each(ctx, conn, catalog.TypeHosts, func(r store.Record) error {
		if !r.Removed.IsZero() {
			return nil
		}
		var h hostRecord
		if err := json.Unmarshal(r.Raw, &h); err != nil {
			return fmt.Errorf("hosts %s: %w", r.ID, err)
		}
		want := current[strconv.FormatInt(h.HostID, 10)]
		if sameFindings(h.Findings, want) {
			return nil
		}
		b, err := hostJSON(h.HostAsset, want)
		if err != nil {
			return err
		}
		items = append(items, b)
		return nil
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return rawPage{}, err
	}
	return rawPage{items: items, last: true}, nil
}

func sameFindings(a, b []catalog.Finding) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	return string(x) == string(y)
}

// deriveCVEs builds the CVE records and the cve → host links from the
// stored hosts' open findings, as one page.
func (e *Engine) deriveCVEs(ctx context.Context, conn string) (rawPage, error) {
	type agg struct {
		rec    catalog.CVE
		qids   map[int]bool
		titles map[string]bool
		hosts  map[string]bool
	}
	all := map[string]*agg{}
	err := e.Store.Each(ctx, conn, catalog.TypeHosts, func(r store.Record) error {
		if !r.Removed.IsZero() {
			return nil
		}
		var h struct {
			Findings []catalog.Finding `json:"findings"`
		}
		if err := json.Unmarshal(r.Raw, &h); err != nil {
			return fmt.Errorf("hosts %s: %w", r.ID, err)
		}
		for _, f := range h.Findings {
			if !f.Open() {
				continue
			}
			for _, id := range f.CVEs {
				a := all[id]
				if a == nil {
					a = &agg{rec: catalog.CVE{ID: id}, qids: map[int]bool{}, titles: map[string]bool{}, hosts: map[string]bool{}}
					all[id] = a
				}
				a.hosts[r.ID] = true
				a.qids[f.QID] = true
				if f.Title != "" {
					a.titles[f.Title] = true
				}
				a.rec.WorstSeverity = max(a.rec.WorstSeverity, f.Severity)
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return rawPage{}, fmt.Errorf("cves: %w", err)
	}
	ids := make([]string, 0, len(all))
	for id := range all {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	rp := rawPage{last: true}
	for _, id := range ids {
		a := all[id]
		for q := range a.qids {
			a.rec.QIDs = append(a.rec.QIDs, q)
		}
		slices.Sort(a.rec.QIDs)
		for t := range a.titles {
			a.rec.Titles = append(a.rec.Titles, t)
		}
		slices.Sort(a.rec.Titles)
		for h := range a.hosts {
			a.rec.HostIDs = append(a.rec.HostIDs, h)
		}
		slices.Sort(a.rec.HostIDs)
		a.rec.Hosts = len(a.rec.HostIDs)
		b, err := json.Marshal(a.rec)
		if err != nil {
			return rawPage{}, err
		}
		rp.items = append(rp.items, b)
		op := store.LinkOp{Rel: relations.AffectedHosts, Inverse: relations.HostCVEs, From: id, FromData: []byte("cve"), Replace: true}
		for _, h := range a.rec.HostIDs {
			op.Add = append(op.Add, store.Link{To: h, Data: []byte("host")})
		}
		rp.links = append(rp.links, op)
	}
	// CVEs no longer named by any open finding lose their hosts (the
	// record itself is marked removed by the full pull's sweep).
	err = e.Store.EachLink(ctx, conn, relations.AffectedHosts, func(l store.Link) error {
		if all[l.From] == nil {
			all[l.From] = &agg{}
			rp.links = append(rp.links, store.LinkOp{Rel: relations.AffectedHosts, Inverse: relations.HostCVEs, From: l.From, FromData: []byte("cve"), Replace: true})
		}
		return nil
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return rawPage{}, fmt.Errorf("cves: %w", err)
	}
	return rp, nil
}

// hostStreams are the seed 004 streams of a Qualys connector, in the
// order they must run (the plan is sequential); nil without an API URL.
func (e *Engine) hostStreams(conn store.Connector, opt Options) ([]stream, *qualys.APIClient, error) {
	c, err := e.QualysAPIClient(conn)
	if err != nil {
		return nil, nil, err
	}
	if c == nil {
		if wanted(opt, catalog.TypeHosts) || wanted(opt, catalog.TypeFindings) || wanted(opt, catalog.TypeCVEs) {
			e.logger().Info("no API server URL: host assets, findings and CVEs are not pulled (set --api-url or --platform)", "connector", conn.Name)
		}
		return nil, nil, nil
	}
	baseline := Baselines[defaultBaseline]
	if b := conn.Settings[SettingBaseline]; b != "" {
		if d, ok := Baselines[b]; ok {
			baseline = d
		}
	}
	retention, err := ParseRetention(conn.Settings[SettingRetention])
	if err != nil {
		return nil, nil, err
	}
	kb := &kbCache{}
	var out []stream
	add := func(name string, s stream) {
		if wanted(opt, name) {
			s.typ, _ = catalog.Lookup(name)
			s.retention = retention
			out = append(out, s)
		}
	}
	add(catalog.TypeFindings, stream{fetch: findingsFetcher(c, kb), incremental: true, baseline: baseline})
	add(catalog.TypeHosts, stream{fetch: e.hostsFetcher(conn.Name, c), incremental: true, baseline: baseline,
		afterWrites: func(at cursor) bool { return at.marker == reconcileMarker }})
	add(catalog.TypeCVEs, stream{last: true, fetch: func(ctx context.Context, _ cursor, _ string, _ int) (rawPage, error) {
		return e.deriveCVEs(ctx, conn.Name)
	}})
	return out, c, nil
}
