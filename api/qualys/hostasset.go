package qualys

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// HostAssetPath is the Qualys asset search API (QPS REST 2.0).
const HostAssetPath = "/qps/rest/2.0/search/am/hostasset"

// HostAsset is one host of the asset search, decoded. Stored as JSON (see
// JSON): the field names below are the stable store schema; Raw keeps the
// exact <HostAsset> element the server sent.
type HostAsset struct {
	ID          int64           `json:"id"`                    // id
	HostID      int64           `json:"hostId,omitempty"`      // qwebHostId: HOST/ID of the detection list
	Name        string          `json:"name"`                  // name
	DNSHostName string          `json:"dnsHostName,omitempty"` // dnsHostName
	FQDN        string          `json:"fqdn,omitempty"`        // fqdn
	NetBIOS     string          `json:"netbiosName,omitempty"` // netbiosName
	Address     string          `json:"address,omitempty"`     // address (primary IP)
	OS          string          `json:"os,omitempty"`          // os
	Interfaces  []HostInterface `json:"interfaces,omitempty"`  // networkInterface/list/HostAssetInterface
	Criticality int             `json:"criticality,omitempty"` // criticalityScore (1..5; 0 = not set)
	Tags        []HostTag       `json:"tags,omitempty"`        // tags/list/TagSimple
	Tracking    string          `json:"trackingMethod,omitempty"`

	Created        time.Time `json:"created,omitzero"`
	Modified       time.Time `json:"modified,omitzero"`       // what the updated filter compares
	LastVulnScan   time.Time `json:"lastVulnScan,omitzero"`   // lastVulnScan
	LastCheckedIn  time.Time `json:"lastCheckedIn,omitzero"`  // agentInfo/lastCheckedIn (agents only)
	LastSystemBoot time.Time `json:"lastSystemBoot,omitzero"` // lastSystemBoot

	Raw []byte `json:"-"` // the <HostAsset>…</HostAsset> bytes as served
}

// HostInterface is one HostAssetInterface: Qualys lists one per address.
type HostInterface struct {
	Name           string `json:"interfaceName,omitempty"`
	MACAddress     string `json:"macAddress,omitempty"`
	Address        string `json:"address,omitempty"`
	GatewayAddress string `json:"gatewayAddress,omitempty"`
	Hostname       string `json:"hostname,omitempty"`
}

// HostTag is one TagSimple.
type HostTag struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// LastSeen is the latest of LastCheckedIn (agent) and LastVulnScan — what
// Qualys shows as when the host was last seen.
func (h HostAsset) LastSeen() time.Time {
	if h.LastCheckedIn.After(h.LastVulnScan) {
		return h.LastCheckedIn
	}
	return h.LastVulnScan
}

// MACAddresses returns the distinct MAC addresses of the interfaces.
func (h HostAsset) MACAddresses() []string {
	return distinct(h.Interfaces, func(i HostInterface) string { return i.MACAddress })
}

// Gateways returns the distinct gateway addresses of the interfaces.
func (h HostAsset) Gateways() []string {
	return distinct(h.Interfaces, func(i HostInterface) string { return i.GatewayAddress })
}

func distinct[T any](xs []T, f func(T) string) []string {
	var out []string
	seen := map[string]bool{}
	for _, x := range xs {
		if v := f(x); v != "" && !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// JSON is the record qtc stores for the host: the HostAsset fields with
// the JSON names above (times RFC 3339 UTC, zero ones left out), without
// Raw.
func (h HostAsset) JSON() ([]byte, error) { return json.Marshal(h) }

type hostAssetXML struct {
	ID             int64  `xml:"id"`
	Name           string `xml:"name"`
	Created        string `xml:"created"`
	Modified       string `xml:"modified"`
	QwebHostID     int64  `xml:"qwebHostId"`
	LastVulnScan   string `xml:"lastVulnScan"`
	LastSystemBoot string `xml:"lastSystemBoot"`
	OS             string `xml:"os"`
	DNSHostName    string `xml:"dnsHostName"`
	FQDN           string `xml:"fqdn"`
	LastCheckedIn  string `xml:"agentInfo>lastCheckedIn"`
	NetBIOS        string `xml:"netbiosName"`
	Address        string `xml:"address"`
	Tracking       string `xml:"trackingMethod"`
	Criticality    string `xml:"criticalityScore"`
	Interfaces     []struct {
		Hostname string `xml:"hostname"`
		Name     string `xml:"interfaceName"`
		MAC      string `xml:"macAddress"`
		Address  string `xml:"address"`
		Gateway  string `xml:"gatewayAddress"`
	} `xml:"networkInterface>list>HostAssetInterface"`
	Tags []struct {
		ID   int64  `xml:"id"`
		Name string `xml:"name"`
	} `xml:"tags>list>TagSimple"`
}

func (x *hostAssetXML) asset(raw []byte) HostAsset {
	t := strings.TrimSpace
	h := HostAsset{
		ID: x.ID, HostID: x.QwebHostID, Name: t(x.Name), DNSHostName: t(x.DNSHostName), FQDN: t(x.FQDN),
		NetBIOS: t(x.NetBIOS), Address: t(x.Address), OS: t(x.OS), Tracking: t(x.Tracking),
		Created: parseTime(x.Created), Modified: parseTime(x.Modified), LastVulnScan: parseTime(x.LastVulnScan),
		LastCheckedIn: parseTime(x.LastCheckedIn), LastSystemBoot: parseTime(x.LastSystemBoot), Raw: raw,
	}
	if c, err := strconv.ParseFloat(t(x.Criticality), 64); err == nil && c >= 0 && c < 1e6 {
		h.Criticality = int(c)
	}
	for _, i := range x.Interfaces {
		h.Interfaces = append(h.Interfaces, HostInterface{Name: t(i.Name), MACAddress: t(i.MAC), Address: t(i.Address), GatewayAddress: t(i.Gateway), Hostname: t(i.Hostname)})
	}
	for _, tag := range x.Tags {
		h.Tags = append(h.Tags, HostTag{ID: tag.ID, Name: t(tag.Name)})
	}
	return h
}

// HostAssetPage is the envelope of one asset search answer.
type HostAssetPage struct {
	URL            string
	Count          int   // count
	HasMoreRecords bool  // hasMoreRecords
	LastID         int64 // lastId
}

// DecodeHostAssets decodes one asset search answer (a QPS ServiceResponse)
// as a stream, calling fn for each HostAsset in document order. A
// responseCode other than SUCCESS is an *APIError; a malformed or cut-off
// document a *DecodeError with the byte offset; an error from fn is
// returned as is.
func DecodeHostAssets(r io.Reader, fn func(HostAsset) error) (HostAssetPage, error) {
	w := newXMLWalker(r)
	var page HostAssetPage
	var respCode, errMsg string
	for {
		se, off, err := w.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return page, w.fail(err)
		}
		switch {
		case len(w.path) == 1 && se.Name.Local != "ServiceResponse":
			return page, w.fail(fmt.Errorf("root element is <%s>, want <ServiceResponse>", se.Name.Local))
		case w.at("ServiceResponse", "data", "HostAsset"):
			var x hostAssetXML
			if err := w.decode(&x, &se); err != nil {
				return page, w.fail(err)
			}
			if err := fn(x.asset(w.raw(off))); err != nil {
				return page, err
			}
		case w.at("ServiceResponse", "responseCode"):
			if respCode, err = w.text(&se); err != nil {
				return page, w.fail(err)
			}
		case w.at("ServiceResponse", "responseErrorDetails", "errorMessage"):
			if errMsg, err = w.text(&se); err != nil {
				return page, w.fail(err)
			}
		case w.at("ServiceResponse", "count"), w.at("ServiceResponse", "hasMoreRecords"), w.at("ServiceResponse", "lastId"):
			name := se.Name.Local
			v, err := w.text(&se)
			if err != nil {
				return page, w.fail(err)
			}
			switch name {
			case "count":
				page.Count, err = strconv.Atoi(v)
			case "hasMoreRecords":
				page.HasMoreRecords, err = strconv.ParseBool(v)
			case "lastId":
				page.LastID, err = strconv.ParseInt(v, 10, 64)
			}
			if err != nil {
				return page, w.fail(fmt.Errorf("%s: %w", name, err))
			}
		}
	}
	if respCode != "SUCCESS" {
		if respCode == "" {
			return page, &DecodeError{Offset: w.dec.InputOffset(), Err: errors.New("ServiceResponse has no responseCode")}
		}
		return page, &APIError{StatusCode: http.StatusOK, Code: respCode, Message: errMsg}
	}
	return page, nil
}

// HostAssetQuery selects and pages host assets.
type HostAssetQuery struct {
	// PageSize is preferences/limitResults, default 100 (Qualys caps it at 1000).
	PageSize int
	// StartFromID resumes a listing at this asset id (preferences/startFromId).
	StartFromID int64
	// UpdatedAfter, when set, adds the filter <Criteria field="updated"
	// operator="GREATER"> (delta).
	UpdatedAfter time.Time
	// OnPage, when set, is called after each page's assets (a place to
	// commit a store transaction and save page.LastID as the cursor).
	OnPage func(HostAssetPage) error
	// Restart, if set, lets a page whose body breaks off in transit be
	// fetched again: it is called first, and must forget the assets fn got
	// since the last OnPage. Without it such a page is an error.
	Restart func()
}

// serviceRequestXML builds the search body.
func (q HostAssetQuery) serviceRequestXML(startFrom int64) []byte {
	var b bytes.Buffer
	b.WriteString("<ServiceRequest>")
	if !q.UpdatedAfter.IsZero() {
		b.WriteString(`<filters><Criteria field="updated" operator="GREATER">`)
		b.WriteString(q.UpdatedAfter.UTC().Format(time.RFC3339))
		b.WriteString("</Criteria></filters>")
	}
	size := q.PageSize
	if size <= 0 {
		size = 100
	}
	fmt.Fprintf(&b, "<preferences><limitResults>%d</limitResults>", size)
	if startFrom > 0 {
		fmt.Fprintf(&b, "<startFromId>%d</startFromId>", startFrom)
	}
	b.WriteString("</preferences></ServiceRequest>")
	return b.Bytes()
}

// HostAssets lists host assets page by page while hasMoreRecords is true,
// calling fn for each. The next page starts from lastId; since Qualys does
// not document whether startFromId is inclusive, the next request sends
// lastId itself and assets with an id at or below it are skipped. It stops
// with an error when a page makes no progress.
func (c *APIClient) HostAssets(ctx context.Context, q HostAssetQuery, fn func(HostAsset) error) error {
	const op = "search host assets"
	u := c.url(HostAssetPath, nil)
	start := q.StartFromID
	floor := start - 1 // assets at or below floor were already seen
	for {
		var page HostAssetPage
		err := c.getPage(ctx, call{op: op, method: http.MethodPost, url: u, body: q.serviceRequestXML(start)}, q.Restart, func(r io.Reader) error {
			var err error
			page, err = DecodeHostAssets(r, func(h HostAsset) error {
				if h.ID <= floor {
					return nil
				}
				return fn(h)
			})
			return err
		})
		page.URL = u
		if err != nil {
			return err
		}
		c.log.Debug("qualys: host asset page", "url", u, "count", page.Count, "has_more", page.HasMoreRecords, "last_id", page.LastID)
		if q.OnPage != nil {
			if err := q.OnPage(page); err != nil {
				return err
			}
		}
		if !page.HasMoreRecords {
			return nil
		}
		switch {
		case page.LastID > floor && page.LastID >= start:
			floor, start = page.LastID, page.LastID
		case start == floor:
			start = floor + 1 // only the asset already seen came back: startFromId is inclusive
		default:
			return fmt.Errorf("qualys: %s: hasMoreRecords is true but lastId %d does not advance past %d [%s]", op, page.LastID, floor, u)
		}
	}
}
