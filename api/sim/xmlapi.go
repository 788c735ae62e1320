package sim

// The Qualys classic XML APIs that Microsoft Security Exposure Management
// pulls (seed 004), served on the same handler as the gateway paths:
//
//	POST      /qps/rest/2.0/search/am/hostasset          ServiceRequest → ServiceResponse of HostAsset
//	GET, POST /api/2.0/fo/asset/host/vm/detection/       action=list → HOST_LIST_VM_DETECTION_OUTPUT
//	GET, POST /api/2.0/fo/knowledge_base/vuln/           action=list → KNOWLEDGE_BASE_VULN_LIST_OUTPUT
//
// Authentication is HTTP basic with Options.Username/Password (401
// otherwise). The /api/2.0/fo/ paths refuse calls without the
// X-Requested-With header (400), as Qualys does. Every answer carries
// X-RateLimit-Limit, X-RateLimit-Window-Sec, X-RateLimit-Remaining,
// X-Concurrency-Limit-Limit and X-Concurrency-Limit-Running. A call that
// would run beyond Options.ConcurrencyLimit is answered 409 with the
// SIMPLE_RETURN CODE 1960 (concurrency); a call beyond the rate limit
// (Options.RateLimit per RateWindow, shared with the gateway paths) 409
// with CODE 1965. Both carry X-RateLimit-ToWait-Sec.
//
// Paging: the host asset search returns assets in id order, at most
// preferences/limitResults (default 100, at most 1000) from
// preferences/startFromId (inclusive), with hasMoreRecords and lastId. The
// detection list returns at most truncation_limit hosts (default 1000, 0 =
// all) in host id order and, when more remain, a WARNING (CODE 1980) whose
// URL is the same request with id_min set to the next host id. Hosts
// without detections are left out, as the legacy API does.

import (
	"bufio"
	"crypto/subtle"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const (
	xmlHostAssetPath = "/qps/rest/2.0/search/am/hostasset"
	xmlDetectionPath = "/api/2.0/fo/asset/host/vm/detection/"
	xmlKBPath        = "/api/2.0/fo/knowledge_base/vuln/"

	xmlDefaultLimitResults = 100
	xmlMaxLimitResults     = 1000
	xmlDefaultTruncation   = 1000
	xmlMaxRequestBytes     = 64 << 10

	qpsTime = "2006-01-02T15:04:05Z"
)

// xmlAPI is the state of the classic XML APIs.
type xmlAPI struct {
	s       *Server
	running atomic.Int64 // calls in progress (admitted past authentication)

	once  sync.Once
	hosts atomic.Pointer[[]Host] // by AssetID; replaced whole by a mutation (copy on write)
	kb    []Vuln                 // by QID
	kbIdx map[int]int

	mutateMu sync.Mutex // serialises host mutations
}

func newXMLAPI(s *Server) *xmlAPI { return &xmlAPI{s: s} }

// data generates the hosts and knowledge base on first use.
func (x *xmlAPI) data() *xmlAPI {
	x.once.Do(func() {
		opt := x.s.opt
		day0 := x.s.q.day0
		x.kb = genKB(opt.Seed, opt.vulnCount(), day0)
		x.kbIdx = make(map[int]int, len(x.kb))
		for i, v := range x.kb {
			x.kbIdx[v.QID] = i
		}
		n := opt.hostCount()
		var devs []entraDevice
		if n > 0 {
			devs = entraDevices(opt.Seed, opt.Scale)
		}
		hosts := genHosts(opt.Seed, n, devs, x.kb, day0)
		x.hosts.Store(&hosts)
	})
	return x
}

// hostList returns the current hosts (a snapshot: never written to, as a
// mutation replaces the slice).
func (x *xmlAPI) hostList() []Host { return *x.data().hosts.Load() }

func (x *xmlAPI) register(s *Server) {
	s.handle(xmlHostAssetPath, http.MethodPost, x.wrap(false, x.serveHostAssets), xmlHostAssetPath+"/")
	for _, m := range []string{http.MethodGet, http.MethodPost} {
		s.handle(xmlDetectionPath, m, x.wrap(true, x.serveDetections), strings.TrimSuffix(xmlDetectionPath, "/"))
		s.handle(xmlKBPath, m, x.wrap(true, x.serveKB), strings.TrimSuffix(xmlKBPath, "/"))
	}
}

// wrap applies, in order: X-Requested-With (classic paths), basic
// authentication, the concurrency limit, the rate limit, then simulated
// work (Options.XMLWork), then serve.
func (x *xmlAPI) wrap(classic bool, serve func(w http.ResponseWriter, r *http.Request)) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		q := x.s.q
		opt := &x.s.opt
		now := x.s.now()
		fail := func(status int, code, text string) {
			if classic {
				writeSimpleReturn(w, status, code, text, now)
			} else {
				writeQPSError(w, status, code, text)
			}
		}
		rf, ok := x.s.decideFaults(w, r)
		if !ok {
			return
		}
		switch rf.statusKind {
		case faultThrottle:
			x.limitHeaders(w, now, 1)
			x.s.countFault("429")
			fail(http.StatusConflict, "1965", "This API cannot be run again for another 1 seconds.")
			return
		case faultUnavailable:
			x.limitHeaders(w, now, 0)
			x.s.countFault("503")
			fail(http.StatusServiceUnavailable, "", "Service temporarily unavailable, please retry later.")
			return
		case faultGatewayTimeout:
			x.limitHeaders(w, now, 0)
			x.s.countFault("504")
			fail(http.StatusGatewayTimeout, "", "Gateway timeout.")
			return
		}
		if classic && r.Header.Get("X-Requested-With") == "" {
			x.limitHeaders(w, now, 0)
			fail(http.StatusBadRequest, "", "Please specify the X-Requested-With header (any value) in the request.")
			return
		}
		user, pass, ok := r.BasicAuth()
		okUser := subtle.ConstantTimeCompare([]byte(user), []byte(opt.Username))
		okPass := subtle.ConstantTimeCompare([]byte(pass), []byte(opt.Password))
		if !ok || okUser&okPass != 1 {
			x.limitHeaders(w, now, 0)
			w.Header().Set("WWW-Authenticate", `Basic realm="Qualys API"`)
			code := ""
			if !classic {
				code = "INVALID_CREDENTIALS"
			}
			fail(http.StatusUnauthorized, code, "Bad Login/Password")
			return
		}
		n := x.running.Add(1)
		defer x.running.Add(-1)
		if int(n) > opt.ConcurrencyLimit {
			x.limitHeaders(w, now, 0)
			w.Header().Set("X-Concurrency-Limit-Running", strconv.FormatInt(n-1, 10))
			w.Header().Set("X-RateLimit-ToWait-Sec", "1")
			x.s.count(func(st *Stats) { st.Throttled++ })
			fail(http.StatusConflict, "1960", fmt.Sprintf("This API cannot be run again until %d currently running instances have finished.", n-1))
			return
		}
		remaining, wait, admitted := q.admit(now)
		if !admitted {
			x.limitHeaders(w, now, wait)
			x.s.count(func(st *Stats) { st.Throttled++; st.RateLimited++ })
			fail(http.StatusConflict, "1965", fmt.Sprintf("This API cannot be run again for another %d seconds.", wait))
			return
		}
		q.setLimitHeaders(w, remaining)
		w.Header().Set("X-Concurrency-Limit-Limit", strconv.Itoa(opt.ConcurrencyLimit))
		w.Header().Set("X-Concurrency-Limit-Running", strconv.FormatInt(n, 10))
		if opt.XMLWork > 0 {
			t := time.NewTimer(opt.XMLWork)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		x.data()
		if rf.body == "" {
			serve(w, r)
			return
		}
		bw := newBodyFaultWriter(w)
		serve(bw, r)
		x.s.sendWithFault(bw, r, rf.body)
	}
}

// limitHeaders sets the limit headers of a refused call (wait > 0 adds
// X-RateLimit-ToWait-Sec).
func (x *xmlAPI) limitHeaders(w http.ResponseWriter, now time.Time, wait int) {
	x.s.q.limitHeaders(w, now)
	h := w.Header()
	h.Set("X-Concurrency-Limit-Limit", strconv.Itoa(x.s.opt.ConcurrencyLimit))
	h.Set("X-Concurrency-Limit-Running", strconv.FormatInt(max(0, x.running.Load()), 10))
	if wait > 0 {
		h.Set("X-RateLimit-ToWait-Sec", strconv.Itoa(wait))
	}
}

// esc escapes text for XML character data.
func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// cdata wraps s in a CDATA section (splitting any "]]>").
func cdata(s string) string {
	return "<![CDATA[" + strings.ReplaceAll(s, "]]>", "]]]]><![CDATA[>") + "]]>"
}

func writeSimpleReturn(w http.ResponseWriter, status int, code, text string, now time.Time) {
	var b strings.Builder
	b.WriteString("<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n")
	b.WriteString("<!DOCTYPE SIMPLE_RETURN SYSTEM \"https://qualysapi.qualys.com/api/2.0/simple_return.dtd\">\n")
	b.WriteString("<SIMPLE_RETURN>\n  <RESPONSE>\n    <DATETIME>" + now.UTC().Format(qpsTime) + "</DATETIME>\n")
	if code != "" {
		b.WriteString("    <CODE>" + esc(code) + "</CODE>\n")
	}
	b.WriteString("    <TEXT>" + esc(text) + "</TEXT>\n  </RESPONSE>\n</SIMPLE_RETURN>\n")
	writeXML(w, status, b.String())
}

func writeQPSError(w http.ResponseWriter, status int, code, text string) {
	if code == "" {
		code = "INVALID_REQUEST"
	}
	body := "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ServiceResponse xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:noNamespaceSchemaLocation=\"https://qualysapi.qualys.com/qps/xsd/2.0/am/hostasset.xsd\">\n" +
		"  <responseCode>" + esc(code) + "</responseCode>\n  <responseErrorDetails>\n    <errorMessage>" + esc(text) + "</errorMessage>\n  </responseErrorDetails>\n</ServiceResponse>\n"
	writeXML(w, status, body)
}

func writeXML(w http.ResponseWriter, status int, body string) {
	h := w.Header()
	h.Set("Content-Type", "text/xml;charset=UTF-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// serviceRequest is the QPS search request body.
type serviceRequest struct {
	Filters struct {
		Criteria []struct {
			Field    string `xml:"field,attr"`
			Operator string `xml:"operator,attr"`
			Value    string `xml:",chardata"`
		} `xml:"Criteria"`
	} `xml:"filters"`
	Preferences struct {
		StartFromID  string `xml:"startFromId"`
		LimitResults string `xml:"limitResults"`
	} `xml:"preferences"`
}

func parseQualysTime(v string) (time.Time, bool) {
	v = strings.TrimSpace(v)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// serveHostAssets implements POST /qps/rest/2.0/search/am/hostasset.
func (x *xmlAPI) serveHostAssets(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, xmlMaxRequestBytes+1))
	if err != nil || len(body) > xmlMaxRequestBytes {
		writeQPSError(w, http.StatusBadRequest, "INVALID_REQUEST", "could not read the request body")
		return
	}
	var req serviceRequest
	if len(strings.TrimSpace(string(body))) > 0 {
		if err := xml.Unmarshal(body, &req); err != nil {
			writeQPSError(w, http.StatusBadRequest, "INVALID_REQUEST", "Invalid XML in ServiceRequest: "+clip(err.Error()))
			return
		}
	}
	limit := xmlDefaultLimitResults
	if v := strings.TrimSpace(req.Preferences.LimitResults); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeQPSError(w, http.StatusBadRequest, "INVALID_REQUEST", "limitResults must be a positive integer")
			return
		}
		limit = min(n, xmlMaxLimitResults)
	}
	var startFrom int64
	if v := strings.TrimSpace(req.Preferences.StartFromID); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			writeQPSError(w, http.StatusBadRequest, "INVALID_REQUEST", "startFromId must be a non-negative integer")
			return
		}
		startFrom = n
	}
	var preds []func(*Host) bool
	for _, c := range req.Filters.Criteria {
		op := strings.ToUpper(strings.TrimSpace(c.Operator))
		val := strings.TrimSpace(c.Value)
		switch strings.TrimSpace(c.Field) {
		case "updated":
			t, ok := parseQualysTime(val)
			if !ok || (op != "GREATER" && op != "LESSER") {
				writeQPSError(w, http.StatusBadRequest, "INVALID_REQUEST", "updated takes GREATER or LESSER and a date such as 2024-01-31T00:00:00Z")
				return
			}
			if op == "GREATER" {
				preds = append(preds, func(h *Host) bool { return h.Modified.After(t) })
			} else {
				preds = append(preds, func(h *Host) bool { return h.Modified.Before(t) })
			}
		case "id":
			n, err := strconv.ParseInt(val, 10, 64)
			if err != nil {
				writeQPSError(w, http.StatusBadRequest, "INVALID_REQUEST", "id takes an integer")
				return
			}
			switch op {
			case "EQUALS":
				preds = append(preds, func(h *Host) bool { return h.AssetID == n })
			case "GREATER":
				preds = append(preds, func(h *Host) bool { return h.AssetID > n })
			case "LESSER":
				preds = append(preds, func(h *Host) bool { return h.AssetID < n })
			default:
				writeQPSError(w, http.StatusBadRequest, "INVALID_REQUEST", "id takes EQUALS, GREATER or LESSER")
				return
			}
		case "name":
			switch op {
			case "EQUALS":
				preds = append(preds, func(h *Host) bool { return h.Name == val })
			case "CONTAINS":
				preds = append(preds, func(h *Host) bool { return strings.Contains(h.Name, val) })
			default:
				writeQPSError(w, http.StatusBadRequest, "INVALID_REQUEST", "name takes EQUALS or CONTAINS")
				return
			}
		default:
			writeQPSError(w, http.StatusBadRequest, "INVALID_REQUEST", "Unsupported search field '"+clip(c.Field)+"'")
			return
		}
	}
	hosts := x.hostList()
	i := sort.Search(len(hosts), func(i int) bool { return hosts[i].AssetID >= startFrom })
	var page []*Host
	more := false
	for ; i < len(hosts); i++ {
		h := &hosts[i]
		okAll := true
		for _, p := range preds {
			if !p(h) {
				okAll = false
				break
			}
		}
		if !okAll {
			continue
		}
		if len(page) == limit {
			more = true
			break
		}
		page = append(page, h)
	}
	h := w.Header()
	h.Set("Content-Type", "application/xml")
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, 32<<10)
	bw.WriteString("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ServiceResponse xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:noNamespaceSchemaLocation=\"https://qualysapi.qualys.com/qps/xsd/2.0/am/hostasset.xsd\">\n")
	bw.WriteString("  <responseCode>SUCCESS</responseCode>\n")
	fmt.Fprintf(bw, "  <count>%d</count>\n", len(page))
	fmt.Fprintf(bw, "  <hasMoreRecords>%t</hasMoreRecords>\n", more)
	if len(page) > 0 {
		fmt.Fprintf(bw, "  <lastId>%d</lastId>\n", page[len(page)-1].AssetID)
		bw.WriteString("  <data>\n")
		for _, h := range page {
			writeHostAsset(bw, h)
		}
		bw.WriteString("  </data>\n")
	}
	bw.WriteString("</ServiceResponse>\n")
	_ = bw.Flush()
}

func writeHostAsset(bw *bufio.Writer, h *Host) {
	t := func(v time.Time) string { return v.UTC().Format(qpsTime) }
	bw.WriteString("    <HostAsset>\n")
	fmt.Fprintf(bw, "      <id>%d</id>\n      <name>%s</name>\n", h.AssetID, esc(h.Name))
	fmt.Fprintf(bw, "      <created>%s</created>\n      <modified>%s</modified>\n      <type>HOST</type>\n", t(h.Created), t(h.Modified))
	bw.WriteString("      <tags>\n        <list>\n")
	for _, tag := range h.Tags {
		fmt.Fprintf(bw, "          <TagSimple>\n            <id>%d</id>\n            <name>%s</name>\n          </TagSimple>\n", 7000000+int(fnv32(tag)%100000), esc(tag))
	}
	bw.WriteString("        </list>\n      </tags>\n")
	fmt.Fprintf(bw, "      <qwebHostId>%d</qwebHostId>\n", h.HostID)
	fmt.Fprintf(bw, "      <lastVulnScan>%s</lastVulnScan>\n      <lastSystemBoot>%s</lastSystemBoot>\n", t(h.LastVulnScan), t(h.LastSystemBoot))
	fmt.Fprintf(bw, "      <os>%s</os>\n      <dnsHostName>%s</dnsHostName>\n      <fqdn>%s</fqdn>\n", esc(h.OS), esc(h.DNSHostName), esc(h.FQDN))
	if h.Agent {
		fmt.Fprintf(bw, "      <agentInfo>\n        <agentVersion>6.1.0.28</agentVersion>\n        <status>STATUS_ACTIVE</status>\n        <lastCheckedIn>%s</lastCheckedIn>\n      </agentInfo>\n", t(h.LastCheckedIn))
	}
	fmt.Fprintf(bw, "      <netbiosName>%s</netbiosName>\n      <address>%s</address>\n", esc(h.NetBIOS), esc(h.Address))
	if h.Agent {
		bw.WriteString("      <trackingMethod>QAGENT</trackingMethod>\n")
	} else {
		bw.WriteString("      <trackingMethod>IP</trackingMethod>\n")
	}
	bw.WriteString("      <networkInterface>\n        <list>\n")
	for _, n := range h.Interfaces {
		fmt.Fprintf(bw, "          <HostAssetInterface>\n            <hostname>%s</hostname>\n            <interfaceName>%s</interfaceName>\n            <macAddress>%s</macAddress>\n            <type>LOCAL</type>\n            <address>%s</address>\n            <gatewayAddress>%s</gatewayAddress>\n          </HostAssetInterface>\n",
			esc(strings.ToLower(h.NetBIOS)), esc(n.Name), esc(n.MAC), esc(n.Address), esc(n.Gateway))
	}
	bw.WriteString("        </list>\n      </networkInterface>\n")
	fmt.Fprintf(bw, "      <criticalityScore>%d</criticalityScore>\n", h.Criticality)
	bw.WriteString("    </HostAsset>\n")
}

func fnv32(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h
}

// classicParams returns the query and form parameters of a classic call
// (GET query, or POST form body).
func classicParams(w http.ResponseWriter, r *http.Request) (url.Values, bool) {
	r.Body = http.MaxBytesReader(w, r.Body, xmlMaxRequestBytes)
	if err := r.ParseForm(); err != nil {
		writeSimpleReturn(w, http.StatusBadRequest, "1905", "could not read the request parameters", time.Now())
		return nil, false
	}
	return r.Form, true
}

// serveDetections implements the VM host detection list.
func (x *xmlAPI) serveDetections(w http.ResponseWriter, r *http.Request) {
	now := x.s.now()
	p, ok := classicParams(w, r)
	if !ok {
		return
	}
	if p.Get("action") != "list" {
		writeSimpleReturn(w, http.StatusBadRequest, "1903", "Missing required parameter action=list", now)
		return
	}
	limit := xmlDefaultTruncation
	if v := p.Get("truncation_limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeSimpleReturn(w, http.StatusBadRequest, "1905", "parameter truncation_limit has invalid value: "+clip(v), now)
			return
		}
		limit = n
	}
	var idMin int64
	if v := p.Get("id_min"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			writeSimpleReturn(w, http.StatusBadRequest, "1905", "parameter id_min has invalid value: "+clip(v), now)
			return
		}
		idMin = n
	}
	var after time.Time
	if v := p.Get("vm_processed_after"); v != "" {
		t, ok := parseQualysTime(v)
		if !ok {
			writeSimpleReturn(w, http.StatusBadRequest, "1905", "parameter vm_processed_after has invalid value: "+clip(v), now)
			return
		}
		after = t
	}
	hosts := x.hostList()
	i := sort.Search(len(hosts), func(i int) bool { return hosts[i].HostID >= idMin })
	var page []*Host
	var next int64
	for ; i < len(hosts); i++ {
		h := &hosts[i]
		if len(h.Detections) == 0 || (!after.IsZero() && !h.LastVMScanned.After(after)) {
			continue
		}
		if limit > 0 && len(page) == limit {
			next = h.HostID
			break
		}
		page = append(page, h)
	}
	t := func(v time.Time) string { return v.UTC().Format(qpsTime) }
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, 32<<10)
	bw.WriteString("<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n<!DOCTYPE HOST_LIST_VM_DETECTION_OUTPUT SYSTEM \"https://qualysapi.qualys.com/api/2.0/fo/asset/host/vm/detection/host_list_vm_detection_output.dtd\">\n")
	bw.WriteString("<HOST_LIST_VM_DETECTION_OUTPUT>\n  <RESPONSE>\n    <DATETIME>" + t(now) + "</DATETIME>\n")
	if len(page) > 0 {
		bw.WriteString("    <HOST_LIST>\n")
		for _, h := range page {
			fmt.Fprintf(bw, "      <HOST>\n        <ID>%d</ID>\n        <ASSET_ID>%d</ASSET_ID>\n        <IP>%s</IP>\n", h.HostID, h.AssetID, esc(h.Address))
			if h.Agent {
				bw.WriteString("        <TRACKING_METHOD>QAGENT</TRACKING_METHOD>\n")
			} else {
				bw.WriteString("        <TRACKING_METHOD>IP</TRACKING_METHOD>\n")
			}
			short, domain, _ := strings.Cut(h.FQDN, ".")
			fmt.Fprintf(bw, "        <OS>%s</OS>\n        <DNS>%s</DNS>\n        <DNS_DATA>\n          <HOSTNAME>%s</HOSTNAME>\n          <DOMAIN>%s</DOMAIN>\n          <FQDN>%s</FQDN>\n        </DNS_DATA>\n",
				cdata(h.OS), cdata(h.DNSHostName), cdata(short), cdata(domain), cdata(h.FQDN))
			fmt.Fprintf(bw, "        <NETBIOS>%s</NETBIOS>\n        <LAST_SCAN_DATETIME>%s</LAST_SCAN_DATETIME>\n        <LAST_VM_SCANNED_DATE>%s</LAST_VM_SCANNED_DATE>\n",
				cdata(h.NetBIOS), t(h.LastVulnScan), t(h.LastVMScanned))
			bw.WriteString("        <DETECTION_LIST>\n")
			for _, d := range h.Detections {
				fmt.Fprintf(bw, "          <DETECTION>\n            <UNIQUE_VULN_ID>%d</UNIQUE_VULN_ID>\n            <QID>%d</QID>\n            <TYPE>%s</TYPE>\n            <SEVERITY>%d</SEVERITY>\n            <SSL>0</SSL>\n            <STATUS>%s</STATUS>\n            <FIRST_FOUND_DATETIME>%s</FIRST_FOUND_DATETIME>\n            <LAST_FOUND_DATETIME>%s</LAST_FOUND_DATETIME>\n            <TIMES_FOUND>%d</TIMES_FOUND>\n            <IS_IGNORED>0</IS_IGNORED>\n            <IS_DISABLED>0</IS_DISABLED>\n          </DETECTION>\n",
					h.HostID*1000+int64(d.QID%1000), d.QID, d.Type, d.Severity, d.Status, t(d.FirstFound), t(d.LastFound), d.TimesFound)
			}
			bw.WriteString("        </DETECTION_LIST>\n      </HOST>\n")
		}
		bw.WriteString("    </HOST_LIST>\n")
	}
	if next != 0 {
		q := url.Values{}
		for k, v := range p {
			q[k] = append([]string(nil), v...)
		}
		q.Set("id_min", strconv.FormatInt(next, 10))
		u := url.URL{Scheme: "http", Host: r.Host, Path: xmlDetectionPath, RawQuery: q.Encode()}
		if r.TLS != nil {
			u.Scheme = "https"
		}
		fmt.Fprintf(bw, "    <WARNING>\n      <CODE>1980</CODE>\n      <TEXT>%d record limit exceeded. Use URL to get next batch of results.</TEXT>\n      <URL>%s</URL>\n    </WARNING>\n", limit, cdata(u.String()))
	}
	bw.WriteString("  </RESPONSE>\n</HOST_LIST_VM_DETECTION_OUTPUT>\n")
	_ = bw.Flush()
}

// parseIDs parses the ids parameter: QIDs and ranges ("1,5-9").
func parseIDs(v string) (func(int) bool, bool) {
	type span struct{ lo, hi int }
	var spans []span
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(strings.TrimSpace(lo))
		if err != nil {
			return nil, false
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(strings.TrimSpace(hi)); err != nil || b < a {
				return nil, false
			}
		}
		spans = append(spans, span{a, b})
	}
	return func(q int) bool {
		for _, s := range spans {
			if q >= s.lo && q <= s.hi {
				return true
			}
		}
		return false
	}, true
}

// serveKB implements the knowledge base vulnerability list.
func (x *xmlAPI) serveKB(w http.ResponseWriter, r *http.Request) {
	now := x.s.now()
	p, ok := classicParams(w, r)
	if !ok {
		return
	}
	if p.Get("action") != "list" {
		writeSimpleReturn(w, http.StatusBadRequest, "1903", "Missing required parameter action=list", now)
		return
	}
	match := func(int) bool { return true }
	if v := p.Get("ids"); v != "" {
		m, ok := parseIDs(v)
		if !ok {
			writeSimpleReturn(w, http.StatusBadRequest, "1905", "parameter ids has invalid value: "+clip(v), now)
			return
		}
		match = m
	}
	t := func(v time.Time) string { return v.UTC().Format(qpsTime) }
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, 32<<10)
	bw.WriteString("<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n<!DOCTYPE KNOWLEDGE_BASE_VULN_LIST_OUTPUT SYSTEM \"https://qualysapi.qualys.com/api/2.0/fo/knowledge_base/vuln/knowledge_base_vuln_list_output.dtd\">\n")
	bw.WriteString("<KNOWLEDGE_BASE_VULN_LIST_OUTPUT>\n  <RESPONSE>\n    <DATETIME>" + t(now) + "</DATETIME>\n")
	open := false
	for i := range x.kb {
		v := &x.kb[i]
		if !match(v.QID) {
			continue
		}
		if !open {
			bw.WriteString("    <VULN_LIST>\n")
			open = true
		}
		fmt.Fprintf(bw, "      <VULN>\n        <QID>%d</QID>\n        <VULN_TYPE>%s</VULN_TYPE>\n        <SEVERITY_LEVEL>%d</SEVERITY_LEVEL>\n        <TITLE>%s</TITLE>\n        <CATEGORY>%s</CATEGORY>\n        <LAST_SERVICE_MODIFICATION_DATETIME>%s</LAST_SERVICE_MODIFICATION_DATETIME>\n        <PUBLISHED_DATETIME>%s</PUBLISHED_DATETIME>\n        <PATCHABLE>1</PATCHABLE>\n",
			v.QID, esc(v.Type), v.Severity, cdata(v.Title), esc(v.Category), t(v.Published), t(v.Published))
		if len(v.CVEs) > 0 {
			bw.WriteString("        <CVE_LIST>\n")
			for _, c := range v.CVEs {
				fmt.Fprintf(bw, "          <CVE>\n            <ID>%s</ID>\n            <URL>%s</URL>\n          </CVE>\n", cdata(c), cdata("https://nvd.nist.gov/vuln/detail/"+c))
			}
			bw.WriteString("        </CVE_LIST>\n")
		}
		bw.WriteString("      </VULN>\n")
	}
	if open {
		bw.WriteString("    </VULN_LIST>\n")
	}
	bw.WriteString("  </RESPONSE>\n</KNOWLEDGE_BASE_VULN_LIST_OUTPUT>\n")
	_ = bw.Flush()
}
