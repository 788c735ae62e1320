package qualys

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"qtc/api/sim"
)

const hostAssetFixture = `<?xml version="1.0" encoding="UTF-8"?>
<ServiceResponse xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="https://qualysapi.qualys.com/qps/xsd/2.0/am/hostasset.xsd">
  <responseCode>SUCCESS</responseCode>
  <count>2</count>
  <hasMoreRecords>true</hasMoreRecords>
  <lastId>11000009</lastId>
  <data>
    <HostAsset>
      <id>11000004</id>
      <name>DESKTOP-AB12CD3</name>
      <modified>2024-05-01T10:00:00Z</modified>
      <tags><list><TagSimple><id>7001</id><name>Cloud Agent</name></TagSimple><TagSimple><id>7002</id><name>PCI</name></TagSimple></list></tags>
      <qwebHostId>200001</qwebHostId>
      <lastVulnScan>2024-04-30T08:00:00Z</lastVulnScan>
      <lastSystemBoot>2024-04-01T07:00:00Z</lastSystemBoot>
      <os>Windows 11 Enterprise 64 bit Edition Version 23H2</os>
      <dnsHostName>desktop-ab12cd3.corp.example</dnsHostName>
      <agentInfo><lastCheckedIn>2024-05-01T09:00:00Z</lastCheckedIn></agentInfo>
      <address>10.20.1.5</address>
      <networkInterface><list>
        <HostAssetInterface><interfaceName>Ethernet0</interfaceName><macAddress>00:50:56:aa:bb:cc</macAddress><address>10.20.1.5</address><gatewayAddress>10.20.1.1</gatewayAddress></HostAssetInterface>
        <HostAssetInterface><interfaceName>Ethernet1</interfaceName><macAddress>00:15:5d:01:02:03</macAddress><address>192.168.4.9</address><gatewayAddress>192.168.4.1</gatewayAddress></HostAssetInterface>
      </list></networkInterface>
      <criticalityScore>4</criticalityScore>
    </HostAsset>
    <HostAsset><id>11000009</id><name>srv-db-0001</name><address>10.21.0.9</address></HostAsset>
  </data>
</ServiceResponse>`

const hostAssetEmptyFixture = `<?xml version="1.0" encoding="UTF-8"?>
<ServiceResponse><responseCode>SUCCESS</responseCode><count>0</count><hasMoreRecords>false</hasMoreRecords></ServiceResponse>`

const hostAssetErrorFixture = `<ServiceResponse><responseCode>INVALID_CREDENTIALS</responseCode><responseErrorDetails><errorMessage>Bad Login/Password</errorMessage></responseErrorDetails></ServiceResponse>`

const detectionFixture = `<?xml version="1.0" encoding="UTF-8" ?>
<!DOCTYPE HOST_LIST_VM_DETECTION_OUTPUT SYSTEM "https://qualysapi.qualys.com/api/2.0/fo/asset/host/vm/detection/host_list_vm_detection_output.dtd">
<HOST_LIST_VM_DETECTION_OUTPUT>
  <RESPONSE>
    <DATETIME>2024-05-02T00:00:00Z</DATETIME>
    <HOST_LIST>
      <HOST>
        <ID>200001</ID>
        <IP>10.20.1.5</IP>
        <OS><![CDATA[Ubuntu Linux 22.04]]></OS>
        <DNS><![CDATA[ubuntu-abc123.corp.example]]></DNS>
        <DETECTION_LIST>
          <DETECTION><QID>380001</QID><TYPE>Confirmed</TYPE><SEVERITY>5</SEVERITY><STATUS>Active</STATUS><FIRST_FOUND_DATETIME>2024-03-30T00:00:00Z</FIRST_FOUND_DATETIME><LAST_FOUND_DATETIME>2024-05-01T00:00:00Z</LAST_FOUND_DATETIME></DETECTION>
          <DETECTION><QID>105003</QID><TYPE>Potential</TYPE><SEVERITY>3</SEVERITY><STATUS>New</STATUS><FIRST_FOUND_DATETIME>2024-05-01T00:00:00Z</FIRST_FOUND_DATETIME><LAST_FOUND_DATETIME>2024-05-01T00:00:00Z</LAST_FOUND_DATETIME></DETECTION>
        </DETECTION_LIST>
      </HOST>
    </HOST_LIST>
    <WARNING>
      <CODE>1980</CODE>
      <TEXT>1 record limit exceeded. Use URL to get next batch of results.</TEXT>
      <URL><![CDATA[https://qualysapi.qualys.com/api/2.0/fo/asset/host/vm/detection/?action=list&truncation_limit=1&id_min=200002]]></URL>
    </WARNING>
  </RESPONSE>
</HOST_LIST_VM_DETECTION_OUTPUT>`

const detectionLastFixture = `<HOST_LIST_VM_DETECTION_OUTPUT><RESPONSE><DATETIME>2024-05-02T00:00:00Z</DATETIME><HOST_LIST><HOST><ID>200002</ID><IP>10.0.0.2</IP><DETECTION_LIST><DETECTION><QID>1</QID><SEVERITY>1</SEVERITY></DETECTION></DETECTION_LIST></HOST></HOST_LIST></RESPONSE></HOST_LIST_VM_DETECTION_OUTPUT>`

const detectionEmptyFixture = `<?xml version="1.0" encoding="UTF-8" ?>
<HOST_LIST_VM_DETECTION_OUTPUT><RESPONSE><DATETIME>2024-05-02T00:00:00Z</DATETIME></RESPONSE></HOST_LIST_VM_DETECTION_OUTPUT>`

const kbFixture = `<?xml version="1.0" encoding="UTF-8" ?>
<!DOCTYPE KNOWLEDGE_BASE_VULN_LIST_OUTPUT SYSTEM "https://qualysapi.qualys.com/api/2.0/fo/knowledge_base/vuln/knowledge_base_vuln_list_output.dtd">
<KNOWLEDGE_BASE_VULN_LIST_OUTPUT>
  <RESPONSE>
    <DATETIME>2024-05-02T00:00:00Z</DATETIME>
    <VULN_LIST>
      <VULN>
        <QID>380001</QID>
        <VULN_TYPE>Vulnerability</VULN_TYPE>
        <SEVERITY_LEVEL>5</SEVERITY_LEVEL>
        <TITLE><![CDATA[XZ Utils Backdoor Vulnerability (liblzma)]]></TITLE>
        <CVE_LIST><CVE><ID><![CDATA[CVE-2024-3094]]></ID><URL><![CDATA[https://nvd.nist.gov/vuln/detail/CVE-2024-3094]]></URL></CVE></CVE_LIST>
      </VULN>
      <VULN><QID>380006</QID><VULN_TYPE>Information Gathered</VULN_TYPE><SEVERITY_LEVEL>1</SEVERITY_LEVEL><TITLE><![CDATA[Operating System Detected]]></TITLE></VULN>
    </VULN_LIST>
  </RESPONSE>
</KNOWLEDGE_BASE_VULN_LIST_OUTPUT>`

const kbEmptyFixture = `<KNOWLEDGE_BASE_VULN_LIST_OUTPUT><RESPONSE><DATETIME>2024-05-02T00:00:00Z</DATETIME></RESPONSE></KNOWLEDGE_BASE_VULN_LIST_OUTPUT>`

func TestDecodeHostAssetsFixture(t *testing.T) {
	var got []HostAsset
	page, err := DecodeHostAssets(strings.NewReader(hostAssetFixture), func(h HostAsset) error { got = append(got, h); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if page.Count != 2 || !page.HasMoreRecords || page.LastID != 11000009 || len(got) != 2 {
		t.Fatalf("page %+v, %d assets", page, len(got))
	}
	h := got[0]
	if h.ID != 11000004 || h.HostID != 200001 || h.Name != "DESKTOP-AB12CD3" || h.Criticality != 4 || h.OS == "" ||
		h.DNSHostName != "desktop-ab12cd3.corp.example" || h.Address != "10.20.1.5" || len(h.Tags) != 2 || h.Tags[1].Name != "PCI" {
		t.Errorf("asset %+v", h)
	}
	if m := h.MACAddresses(); len(m) != 2 || m[1] != "00:15:5d:01:02:03" {
		t.Errorf("MACs %v", m)
	}
	if g := h.Gateways(); len(g) != 2 || g[0] != "10.20.1.1" {
		t.Errorf("gateways %v", g)
	}
	if want := time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC); !h.LastSeen().Equal(want) {
		t.Errorf("LastSeen %v", h.LastSeen())
	}
	if !bytes.HasPrefix(h.Raw, []byte("<HostAsset>")) || !bytes.HasSuffix(h.Raw, []byte("</HostAsset>")) || !bytes.Contains(h.Raw, []byte("DESKTOP-AB12CD3")) {
		t.Errorf("raw %q", h.Raw)
	}
	if string(got[1].Raw) != `<HostAsset><id>11000009</id><name>srv-db-0001</name><address>10.21.0.9</address></HostAsset>` {
		t.Errorf("raw 2 %q", got[1].Raw)
	}
	js, err := h.JSON()
	if err != nil || !bytes.Contains(js, []byte(`"macAddress":"00:50:56:aa:bb:cc"`)) || !bytes.Contains(js, []byte(`"criticality":4`)) || bytes.Contains(js, []byte("Raw")) {
		t.Errorf("json %s %v", js, err)
	}

	page, err = DecodeHostAssets(strings.NewReader(hostAssetEmptyFixture), func(HostAsset) error { t.Fatal("no asset expected"); return nil })
	if err != nil || page.HasMoreRecords || page.Count != 0 {
		t.Errorf("empty: %+v %v", page, err)
	}
	_, err = DecodeHostAssets(strings.NewReader(hostAssetErrorFixture), func(HostAsset) error { return nil })
	var ae *APIError
	if !errors.As(err, &ae) || ae.Code != "INVALID_CREDENTIALS" {
		t.Errorf("error response: %v", err)
	}
}

func TestDecodeDetectionsFixture(t *testing.T) {
	var got []DetectionHost
	page, err := DecodeDetections(strings.NewReader(detectionFixture), func(h DetectionHost) error { got = append(got, h); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || page.Records != 1 || !strings.Contains(page.NextURL(), "id_min=200002") || page.Warning.Code != "1980" {
		t.Fatalf("page %+v hosts %d", page, len(got))
	}
	h := got[0]
	if h.ID != 200001 || h.IP != "10.20.1.5" || h.OS != "Ubuntu Linux 22.04" || h.DNS != "ubuntu-abc123.corp.example" || len(h.Detections) != 2 {
		t.Errorf("host %+v", h)
	}
	d := h.Detections[0]
	if d.QID != 380001 || d.Type != "Confirmed" || d.Severity != 5 || d.Status != "Active" ||
		!d.FirstFound.Equal(time.Date(2024, 3, 30, 0, 0, 0, 0, time.UTC)) || !d.LastFound.Equal(time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("detection %+v", d)
	}
	page, err = DecodeDetections(strings.NewReader(detectionLastFixture), func(DetectionHost) error { return nil })
	if err != nil || page.NextURL() != "" || page.Records != 1 {
		t.Errorf("last page: %+v %v", page, err)
	}
	page, err = DecodeDetections(strings.NewReader(detectionEmptyFixture), func(DetectionHost) error { return nil })
	if err != nil || page.NextURL() != "" || page.Records != 0 || page.DateTime.IsZero() {
		t.Errorf("empty: %+v %v", page, err)
	}
}

func TestDecodeKnowledgeBaseFixture(t *testing.T) {
	var got []Vuln
	if _, err := DecodeKnowledgeBase(strings.NewReader(kbFixture), func(v Vuln) error { got = append(got, v); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].QID != 380001 || got[0].Severity != 5 || len(got[0].CVEs) != 1 || got[0].CVEs[0] != "CVE-2024-3094" ||
		!strings.HasPrefix(got[0].Title, "XZ Utils") || got[1].CVEs != nil {
		t.Errorf("vulns %+v", got)
	}
	if p, err := DecodeKnowledgeBase(strings.NewReader(kbEmptyFixture), func(Vuln) error { return nil }); err != nil || p.Records != 0 {
		t.Errorf("empty: %+v %v", p, err)
	}
}

func TestDecodeTruncatedAndMalformed(t *testing.T) {
	cut := func(s string, at string) string { return s[:strings.Index(s, at)] }
	cases := map[string]func() error{
		"hostasset mid record": func() error {
			_, err := DecodeHostAssets(strings.NewReader(cut(hostAssetFixture, "<os>")), func(HostAsset) error { return nil })
			return err
		},
		"hostasset between records": func() error {
			_, err := DecodeHostAssets(strings.NewReader(cut(hostAssetFixture, "  </data>")), func(HostAsset) error { return nil })
			return err
		},
		"detections": func() error {
			_, err := DecodeDetections(strings.NewReader(cut(detectionFixture, "<WARNING>")), func(DetectionHost) error { return nil })
			return err
		},
		"kb": func() error {
			_, err := DecodeKnowledgeBase(strings.NewReader(cut(kbFixture, "<CVE_LIST>")), func(Vuln) error { return nil })
			return err
		},
		"empty body": func() error {
			_, err := DecodeKnowledgeBase(strings.NewReader(""), func(Vuln) error { return nil })
			return err
		},
		"wrong root": func() error {
			_, err := DecodeDetections(strings.NewReader(kbFixture), func(DetectionHost) error { return nil })
			return err
		},
	}
	for name, f := range cases {
		err := f()
		var de *DecodeError
		if !errors.As(err, &de) {
			t.Errorf("%s: want *DecodeError, got %v", name, err)
			continue
		}
		if name != "empty body" && de.Offset <= 0 {
			t.Errorf("%s: offset %d", name, de.Offset)
		}
		if !strings.Contains(err.Error(), "at byte") {
			t.Errorf("%s: %v", name, err)
		}
	}
	// A callback error comes back unchanged.
	stop := errors.New("stop")
	if _, err := DecodeKnowledgeBase(strings.NewReader(kbFixture), func(Vuln) error { return stop }); err != stop {
		t.Errorf("callback error: %v", err)
	}
}

// newSimAPI serves a simulator and returns a client for it with waits
// shrunk for tests.
func newSimAPI(t testing.TB, opt sim.Options) (*sim.Server, *httptest.Server, *APIClient) {
	t.Helper()
	s := sim.New(opt)
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return s, ts, newTestAPIClient(t, ts.URL, "demo-pass-2026")
}

func newTestAPIClient(t testing.TB, base, pass string) *APIClient {
	t.Helper()
	c, err := NewAPIClient(APIConfig{APIServerURL: base, Username: "demo", Password: pass})
	if err != nil {
		t.Fatal(err)
	}
	c.waitUnit, c.throttleMin, c.backoffBase, c.backoffCap = 5*time.Millisecond, 5*time.Millisecond, time.Millisecond, 10*time.Millisecond
	return c
}

func TestSimPagingToTheEnd(t *testing.T) {
	s, _, c := newSimAPI(t, sim.Options{})
	ctx := context.Background()

	truth := s.HostAssets()
	var assets []HostAsset
	pages := 0
	err := c.HostAssets(ctx, HostAssetQuery{PageSize: 37, OnPage: func(HostAssetPage) error { pages++; return nil }},
		func(h HostAsset) error { assets = append(assets, h); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if len(assets) != len(truth) || len(truth) != 200 || pages < 200/37 {
		t.Fatalf("got %d assets in %d pages, truth %d", len(assets), pages, len(truth))
	}
	for i, h := range assets {
		w := truth[i]
		if h.ID != w.AssetID || h.HostID != w.HostID || h.Name != w.Name || h.DNSHostName != w.DNSHostName || h.Address != w.Address ||
			h.OS != w.OS || h.Criticality != w.Criticality || len(h.Interfaces) != len(w.Interfaces) || len(h.Tags) != len(w.Tags) ||
			!h.LastVulnScan.Equal(w.LastVulnScan.Truncate(time.Second)) {
			t.Fatalf("asset %d: %+v, truth %+v", i, h, w)
		}
		for k, in := range h.Interfaces {
			if in.MACAddress != w.Interfaces[k].MAC || in.GatewayAddress != w.Interfaces[k].Gateway || in.Address != w.Interfaces[k].Address {
				t.Fatalf("asset %d interface %d: %+v vs %+v", i, k, in, w.Interfaces[k])
			}
		}
	}

	// Delta: only hosts modified after the cut-off.
	cut := truth[len(truth)/2].Modified
	want := 0
	for _, h := range truth {
		if h.Modified.After(cut) {
			want++
		}
	}
	n := 0
	if err := c.HostAssets(ctx, HostAssetQuery{UpdatedAfter: cut}, func(h HostAsset) error {
		if !h.Modified.After(cut) {
			t.Errorf("asset %d modified %v not after %v", h.ID, h.Modified, cut)
		}
		n++
		return nil
	}); err != nil || n != want {
		t.Fatalf("delta: %d assets (want %d), %v", n, want, err)
	}

	// Detections, 25 hosts a page, following WARNING/URL.
	dtruth := s.Detections()
	var hosts []DetectionHost
	dpages := 0
	err = c.HostDetections(ctx, DetectionQuery{TruncationLimit: 25, OnPage: func(p ListPage) error { dpages++; return nil }},
		func(h DetectionHost) error { hosts = append(hosts, h); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if len(hosts) != len(dtruth) || dpages != (len(dtruth)+24)/25 {
		t.Fatalf("%d hosts in %d pages, truth %d", len(hosts), dpages, len(dtruth))
	}
	qidSet := map[int]bool{}
	for i, h := range hosts {
		w := dtruth[i]
		if h.ID != w.HostID || h.IP != w.Address || len(h.Detections) != len(w.Detections) {
			t.Fatalf("host %d: %+v vs %+v", i, h, w)
		}
		for k, d := range h.Detections {
			wd := w.Detections[k]
			if d.QID != wd.QID || d.Severity != wd.Severity || d.Status != wd.Status || d.Type != wd.Type ||
				!d.FirstFound.Equal(wd.FirstFound.Truncate(time.Second)) || !d.LastFound.Equal(wd.LastFound.Truncate(time.Second)) {
				t.Fatalf("host %d detection %d: %+v vs %+v", h.ID, k, d, wd)
			}
			qidSet[d.QID] = true
		}
	}

	// Knowledge base for every detected QID, in batches.
	var qids []int
	for q := range qidSet {
		qids = append(qids, q)
	}
	kbTruth := map[int]sim.Vuln{}
	for _, v := range s.KnowledgeBase() {
		kbTruth[v.QID] = v
	}
	before := c.Requests()
	got := map[int]Vuln{}
	if err := c.KnowledgeBase(ctx, qids, func(v Vuln) error { got[v.QID] = v; return nil }); err != nil {
		t.Fatal(err)
	}
	if calls := c.Requests() - before; int(calls) != (len(qids)+KBBatchSize-1)/KBBatchSize {
		t.Errorf("%d KB calls for %d QIDs", calls, len(qids))
	}
	if len(got) != len(qids) {
		t.Fatalf("KB: %d vulns for %d QIDs", len(got), len(qids))
	}
	xz := 0
	for q, v := range got {
		w := kbTruth[q]
		if v.Title != w.Title || v.Severity != w.Severity || strings.Join(v.CVEs, ",") != strings.Join(w.CVEs, ",") {
			t.Fatalf("QID %d: %+v vs %+v", q, v, w)
		}
	}
	// The CVE join: hosts with CVE-2024-3094.
	for _, h := range hosts {
		for _, d := range h.Detections {
			for _, cve := range got[d.QID].CVEs {
				if cve == "CVE-2024-3094" {
					xz++
				}
			}
		}
	}
	if xz == 0 {
		t.Error("no host has CVE-2024-3094")
	}
	if l := c.Limits(); !l.Known || l.ConcurrencyLimit != 2 || l.RateLimit == 0 {
		t.Errorf("limits %+v", l)
	}
}

func TestSimConcurrencyBackoff(t *testing.T) {
	s, ts, c1 := newSimAPI(t, sim.Options{XMLWork: 20 * time.Millisecond})
	ctx := context.Background()
	kb := s.KnowledgeBase()
	qids := []int{kb[0].QID, kb[1].QID}

	// One client alone stays under the limit: no 409.
	var wg sync.WaitGroup
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c1.KnowledgeBase(ctx, qids, func(Vuln) error { return nil }); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := c1.Throttled(); n != 0 || s.Stats().Status[http.StatusConflict] != 0 {
		t.Fatalf("single client throttled %d times", n)
	}

	// Three clients (other tools on the same account) exceed it: 409 CODE
	// 1960, waited out, every call succeeds.
	clients := []*APIClient{c1, newTestAPIClient(t, ts.URL, "demo-pass-2026"), newTestAPIClient(t, ts.URL, "demo-pass-2026")}
	var mu sync.Mutex
	count := 0
	for _, c := range clients {
		for range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := c.KnowledgeBase(ctx, qids, func(Vuln) error { mu.Lock(); count++; mu.Unlock(); return nil })
				if err != nil {
					t.Error(err)
				}
			}()
		}
	}
	wg.Wait()
	var throttled int64
	for _, c := range clients {
		throttled += c.Throttled()
	}
	conflicts := s.Stats().Status[http.StatusConflict]
	if throttled == 0 || int64(conflicts) != throttled || count != 9*len(qids) {
		t.Fatalf("throttled %d, server 409s %d, vulns %d", throttled, conflicts, count)
	}
	t.Logf("%d 409 answers waited out", throttled)
}

func TestSimUnauthorizedAndHeader(t *testing.T) {
	_, ts, _ := newSimAPI(t, sim.Options{})
	c := newTestAPIClient(t, ts.URL, "wrong")
	err := c.HostAssets(context.Background(), HostAssetQuery{}, func(HostAsset) error { return nil })
	var ae *APIError
	if !errors.As(err, &ae) || ae.StatusCode != 401 || !strings.Contains(err.Error(), "credentials, or the user lacks the Read Asset permission / API access") ||
		!strings.Contains(err.Error(), ts.URL+HostAssetPath) || strings.Contains(err.Error(), "wrong") {
		t.Fatalf("401: %v", err)
	}
	err = c.HostDetections(context.Background(), DetectionQuery{}, func(DetectionHost) error { return nil })
	if !errors.As(err, &ae) || ae.StatusCode != 401 {
		t.Fatalf("401 detections: %v", err)
	}

	// Without X-Requested-With the classic API refuses the call.
	req, _ := http.NewRequest(http.MethodGet, ts.URL+DetectionPath+"?action=list", nil)
	req.SetBasicAuth("demo", "demo-pass-2026")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("without X-Requested-With: %d", resp.StatusCode)
	}
	req.Header.Set("X-Requested-With", "curl")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("with X-Requested-With: %d", resp.StatusCode)
	}
}

func TestFollowListRefusesOtherHost(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(strings.Replace(detectionFixture, "https://qualysapi.qualys.com", "https://evil.example", 1)))
	}))
	defer ts.Close()
	c := newTestAPIClient(t, ts.URL, "x")
	err := c.HostDetections(context.Background(), DetectionQuery{}, func(DetectionHost) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "not on the API server") {
		t.Fatalf("got %v", err)
	}
}

func TestKB409WithoutLimitCodeIsPermissionHint(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusConflict)
		_, _ = w.Write([]byte(`<SIMPLE_RETURN><RESPONSE><CODE>2003</CODE><TEXT>Access denied</TEXT></RESPONSE></SIMPLE_RETURN>`))
	}))
	defer ts.Close()
	c := newTestAPIClient(t, ts.URL, "x")
	err := c.KnowledgeBase(context.Background(), []int{1}, func(Vuln) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "knowledge base") || !strings.Contains(err.Error(), "2003") {
		t.Fatalf("got %v", err)
	}
}
