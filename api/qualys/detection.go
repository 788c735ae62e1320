package qualys

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// DetectionPath is the VM host detection list (classic API).
const DetectionPath = "/api/2.0/fo/asset/host/vm/detection/"

// DetectionHost is one HOST of HOST_LIST_VM_DETECTION_OUTPUT with its
// detections. Stored as JSON with the names below; Raw keeps the exact
// <HOST> element.
type DetectionHost struct {
	ID            int64       `json:"id"`                // ID (= HostAsset.HostID)
	AssetID       int64       `json:"assetId,omitempty"` // ASSET_ID
	IP            string      `json:"ip,omitempty"`      // IP
	DNS           string      `json:"dns,omitempty"`     // DNS
	FQDN          string      `json:"fqdn,omitempty"`    // DNS_DATA/FQDN
	NetBIOS       string      `json:"netbios,omitempty"`
	OS            string      `json:"os,omitempty"`           // OS
	LastScan      time.Time   `json:"lastScan,omitzero"`      // LAST_SCAN_DATETIME
	LastVMScanned time.Time   `json:"lastVmScanned,omitzero"` // LAST_VM_SCANNED_DATE
	Detections    []Detection `json:"detections"`
	Raw           []byte      `json:"-"`
}

// Detection is one DETECTION.
type Detection struct {
	QID        int       `json:"qid"`                  // QID
	Type       string    `json:"type,omitempty"`       // TYPE: Confirmed, Potential, Info
	Severity   int       `json:"severity,omitempty"`   // SEVERITY 1..5
	Status     string    `json:"status,omitempty"`     // STATUS: New, Active, Fixed, Re-Opened
	FirstFound time.Time `json:"firstFound,omitzero"`  // FIRST_FOUND_DATETIME
	LastFound  time.Time `json:"lastFound,omitzero"`   // LAST_FOUND_DATETIME
	TimesFound int       `json:"timesFound,omitempty"` // TIMES_FOUND
}

// JSON is the record qtc stores for the host's findings (without Raw).
func (h DetectionHost) JSON() ([]byte, error) { return json.Marshal(h) }

type detectionHostXML struct {
	ID            int64  `xml:"ID"`
	AssetID       int64  `xml:"ASSET_ID"`
	IP            string `xml:"IP"`
	DNS           string `xml:"DNS"`
	FQDN          string `xml:"DNS_DATA>FQDN"`
	NetBIOS       string `xml:"NETBIOS"`
	OS            string `xml:"OS"`
	LastScan      string `xml:"LAST_SCAN_DATETIME"`
	LastVMScanned string `xml:"LAST_VM_SCANNED_DATE"`
	Detections    []struct {
		QID        int    `xml:"QID"`
		Type       string `xml:"TYPE"`
		Severity   int    `xml:"SEVERITY"`
		Status     string `xml:"STATUS"`
		FirstFound string `xml:"FIRST_FOUND_DATETIME"`
		LastFound  string `xml:"LAST_FOUND_DATETIME"`
		TimesFound int    `xml:"TIMES_FOUND"`
	} `xml:"DETECTION_LIST>DETECTION"`
}

func (x *detectionHostXML) host(raw []byte) DetectionHost {
	t := strings.TrimSpace
	h := DetectionHost{ID: x.ID, AssetID: x.AssetID, IP: t(x.IP), DNS: t(x.DNS), FQDN: t(x.FQDN), NetBIOS: t(x.NetBIOS),
		OS: t(x.OS), LastScan: parseTime(x.LastScan), LastVMScanned: parseTime(x.LastVMScanned), Raw: raw,
		Detections: make([]Detection, 0, len(x.Detections))}
	for _, d := range x.Detections {
		h.Detections = append(h.Detections, Detection{QID: d.QID, Type: t(d.Type), Severity: d.Severity, Status: t(d.Status),
			FirstFound: parseTime(d.FirstFound), LastFound: parseTime(d.LastFound), TimesFound: d.TimesFound})
	}
	return h
}

// Warning is the RESPONSE/WARNING of a truncated classic list: URL is the
// next page.
type Warning struct {
	Code string `xml:"CODE"`
	Text string `xml:"TEXT"`
	URL  string `xml:"URL"`
}

// ListPage is the envelope of one classic list answer (detections, knowledge base).
type ListPage struct {
	URL      string    // the request URL
	DateTime time.Time // RESPONSE/DATETIME
	Records  int       // HOSTs or VULNs on the page
	Warning  *Warning  // nil on the last page
}

// NextURL is the next page's URL ("" on the last page).
func (p ListPage) NextURL() string {
	if p.Warning == nil {
		return ""
	}
	return strings.TrimSpace(p.Warning.URL)
}

// decodeClassicList decodes a classic list document with root root, whose
// records are at root/RESPONSE/list/record.
func decodeClassicList(r io.Reader, root, list, record string, rec func(w *xmlWalker, se *xml.StartElement, off int64) error) (ListPage, error) {
	w := newXMLWalker(r)
	var page ListPage
	for {
		se, off, err := w.next()
		if err == io.EOF {
			return page, nil
		}
		if err != nil {
			return page, w.fail(err)
		}
		switch {
		case len(w.path) == 1 && se.Name.Local == "SIMPLE_RETURN":
			return page, w.fail(w.simpleReturn(&se))
		case len(w.path) == 1 && se.Name.Local != root:
			return page, w.fail(fmt.Errorf("root element is <%s>, want <%s>", se.Name.Local, root))
		case w.at(root, "RESPONSE", list, record):
			page.Records++
			if err := rec(w, &se, off); err != nil {
				return page, w.fail(err)
			}
		case w.at(root, "RESPONSE", "DATETIME"):
			v, err := w.text(&se)
			if err != nil {
				return page, w.fail(err)
			}
			page.DateTime = parseTime(v)
		case w.at(root, "RESPONSE", "WARNING"):
			var wa Warning
			if err := w.decode(&wa, &se); err != nil {
				return page, w.fail(err)
			}
			wa.Code, wa.Text, wa.URL = strings.TrimSpace(wa.Code), strings.TrimSpace(wa.Text), strings.TrimSpace(wa.URL)
			page.Warning = &wa
		}
	}
}

// DecodeDetections decodes one HOST_LIST_VM_DETECTION_OUTPUT page as a
// stream, calling fn per HOST. The page's NextURL is the WARNING/URL, ""
// on the last page. Errors as DecodeHostAssets.
func DecodeDetections(r io.Reader, fn func(DetectionHost) error) (ListPage, error) {
	return decodeClassicList(r, "HOST_LIST_VM_DETECTION_OUTPUT", "HOST_LIST", "HOST", func(w *xmlWalker, se *xml.StartElement, off int64) error {
		var x detectionHostXML
		if err := w.decode(&x, se); err != nil {
			return err
		}
		if err := fn(x.host(w.raw(off))); err != nil {
			return callbackError{err}
		}
		return nil
	})
}

// DetectionQuery selects and pages the detection list.
type DetectionQuery struct {
	// TruncationLimit is truncation_limit: hosts per page, default 1000.
	TruncationLimit int
	// ProcessedAfter, when set, is vm_processed_after (delta).
	ProcessedAfter time.Time
	// Params are extra query parameters (e.g. status, show_igs).
	Params url.Values
	// OnPage is called after each page's hosts (commit, save NextURL).
	OnPage func(ListPage) error
	// Restart, if set, lets a page whose body breaks off in transit be
	// fetched again: it is called first, and must forget the hosts fn got
	// since the last OnPage. Without it such a page is an error.
	Restart func()
}

// HostDetections lists the VM host detections, following WARNING/URL
// until a page has none, calling fn per host. A next URL that leaves the
// API server is refused (the credentials are not sent elsewhere).
func (c *APIClient) HostDetections(ctx context.Context, q DetectionQuery, fn func(DetectionHost) error) error {
	const op = "list host detections"
	p := url.Values{}
	for k, v := range q.Params {
		p[k] = append([]string(nil), v...)
	}
	p.Set("action", "list")
	limit := q.TruncationLimit
	if limit <= 0 {
		limit = 1000
	}
	p.Set("truncation_limit", strconv.Itoa(limit))
	if !q.ProcessedAfter.IsZero() {
		p.Set("vm_processed_after", q.ProcessedAfter.UTC().Format("2006-01-02T15:04:05Z"))
	}
	return c.followList(ctx, op, c.url(DetectionPath, p), false, q.OnPage, q.Restart, func(r io.Reader) (ListPage, error) {
		return DecodeDetections(r, fn)
	})
}

// followList fetches u and the pages its WARNING/URLs name (restart: see
// getPage).
func (c *APIClient) followList(ctx context.Context, op, u string, kb bool, onPage func(ListPage) error, restart func(), decode func(io.Reader) (ListPage, error)) error {
	seen := map[string]bool{}
	for u != "" {
		if seen[u] {
			return fmt.Errorf("qualys: %s: WARNING/URL repeats a page already fetched [%s]", op, u)
		}
		seen[u] = true
		var page ListPage
		err := c.getPage(ctx, call{op: op, method: http.MethodGet, url: u, kb: kb}, restart, func(r io.Reader) error {
			var err error
			page, err = decode(r)
			return err
		})
		page.URL = u
		if err != nil {
			return err
		}
		c.log.Debug("qualys: list page", "op", op, "url", u, "records", page.Records, "next", page.NextURL())
		if onPage != nil {
			if err := onPage(page); err != nil {
				return err
			}
		}
		next := page.NextURL()
		if next != "" && !c.sameServer(next) {
			return fmt.Errorf("qualys: %s: WARNING/URL %q is not on the API server %s; not following it", op, next, c.base.Host)
		}
		u = next
	}
	return nil
}
