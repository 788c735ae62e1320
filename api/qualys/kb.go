package qualys

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// KnowledgeBasePath is the knowledge base vulnerability list (classic API).
const KnowledgeBasePath = "/api/2.0/fo/knowledge_base/vuln/"

// KBBatchSize is how many QIDs one knowledge base call asks for (ids=…).
const KBBatchSize = 100

// Vuln is one VULN of KNOWLEDGE_BASE_VULN_LIST_OUTPUT. Stored as JSON with
// the names below; Raw keeps the exact <VULN> element.
type Vuln struct {
	QID       int       `json:"qid"`                // QID
	Type      string    `json:"type,omitempty"`     // VULN_TYPE
	Severity  int       `json:"severity,omitempty"` // SEVERITY_LEVEL
	Title     string    `json:"title,omitempty"`    // TITLE
	Category  string    `json:"category,omitempty"` // CATEGORY
	Published time.Time `json:"published,omitzero"` // PUBLISHED_DATETIME
	CVEs      []string  `json:"cves,omitempty"`     // CVE_LIST/CVE/ID
	Raw       []byte    `json:"-"`
}

// JSON is the record qtc stores for the vulnerability (without Raw).
func (v Vuln) JSON() ([]byte, error) { return json.Marshal(v) }

type vulnXML struct {
	QID       int    `xml:"QID"`
	Type      string `xml:"VULN_TYPE"`
	Severity  int    `xml:"SEVERITY_LEVEL"`
	Title     string `xml:"TITLE"`
	Category  string `xml:"CATEGORY"`
	Published string `xml:"PUBLISHED_DATETIME"`
	CVEs      []struct {
		ID string `xml:"ID"`
	} `xml:"CVE_LIST>CVE"`
}

// DecodeKnowledgeBase decodes one KNOWLEDGE_BASE_VULN_LIST_OUTPUT page as a
// stream, calling fn per VULN. Errors as DecodeHostAssets.
func DecodeKnowledgeBase(r io.Reader, fn func(Vuln) error) (ListPage, error) {
	return decodeClassicList(r, "KNOWLEDGE_BASE_VULN_LIST_OUTPUT", "VULN_LIST", "VULN", func(w *xmlWalker, se *xml.StartElement, off int64) error {
		var x vulnXML
		if err := w.decode(&x, se); err != nil {
			return err
		}
		t := strings.TrimSpace
		v := Vuln{QID: x.QID, Type: t(x.Type), Severity: x.Severity, Title: t(x.Title), Category: t(x.Category),
			Published: parseTime(x.Published), Raw: w.raw(off)}
		for _, c := range x.CVEs {
			if id := t(c.ID); id != "" {
				v.CVEs = append(v.CVEs, id)
			}
		}
		if err := fn(v); err != nil {
			return callbackError{err}
		}
		return nil
	})
}

// KnowledgeBase fetches the knowledge base entries of qids (duplicates
// and non-positive ids dropped, sorted), KBBatchSize ids per call, calling
// fn per VULN. Batches run one after the other; callers wanting
// parallelism may call it from several goroutines: the client keeps all
// calls under the server's concurrency limit. A 409 that is not a rate or
// concurrency limit is reported as possibly a missing knowledge base
// permission (seed 004). A batch whose answer breaks off in transit is
// fetched again, so fn may see a VULN twice: key what it keeps by QID.
func (c *APIClient) KnowledgeBase(ctx context.Context, qids []int, fn func(Vuln) error) error {
	const op = "list knowledge base"
	ids := make([]int, 0, len(qids))
	for _, q := range qids {
		if q > 0 {
			ids = append(ids, q)
		}
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	for start := 0; start < len(ids); start += KBBatchSize {
		batch := ids[start:min(start+KBBatchSize, len(ids))]
		var b strings.Builder
		for i, id := range batch {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Itoa(id))
		}
		p := url.Values{"action": {"list"}, "ids": {b.String()}}
		err := c.followList(ctx, op, c.url(KnowledgeBasePath, p), true, nil, func() {}, func(r io.Reader) (ListPage, error) {
			return DecodeKnowledgeBase(r, fn)
		})
		if err != nil {
			return err
		}
	}
	return nil
}
