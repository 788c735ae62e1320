package qualys

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Paths of the resource inventory endpoints under the gateway: resource
// type, then (by uuid) the resource uuid, then the cloud.
const (
	resourcesPath      = "/cloudview-api/rest/v1/resource/%s/%s"
	resourceByUUIDPath = "/cloudview-api/rest/v1/resource/%s/uuid/%s/%s"
)

// MaxInventoryHits is the most records the inventory endpoint returns for
// one query, however it is paged: when a page's Total is larger, split the
// query (e.g. by account with Filter "account.id:…").
const MaxInventoryHits = 10000

// AzureCIEMTypes are the Azure CIEM resource types of TotalCloud 2.25:
// tenant-level Entra ID users, groups, service principals and app
// registrations; subscription-level role assignments, role definitions,
// deny assignments and managed identities.
var AzureCIEMTypes = []string{
	"ENTRA_ID_USER", "ENTRA_ID_GROUP", "ENTRA_ID_SERVICE_PRINCIPAL", "ENTRA_ID_APPLICATION_REGISTRATION",
	"ROLE_ASSIGNMENT", "ROLE_DEFINITIONS", "DENY_ASSIGNMENT", "MANAGED_IDENTITIES",
}

// Envelope names the shape of a resource inventory answer.
type Envelope string

// The three shapes the inventory endpoints answer with.
const (
	EnvelopeSpring Envelope = "spring" // {"content":[...],"pageable":{...},"totalElements":N,"last":...}
	EnvelopeMarker Envelope = "marker" // {"content":[...],"hasNext":...,"totalHits":N,"marker":"..."}
	EnvelopeObject Envelope = "object" // a bare single record
)

// ResourcePage is one page of resource records, whatever the envelope.
type ResourcePage struct {
	Items    []json.RawMessage // byte-exact records
	Envelope Envelope
	Last     bool   // no more pages (spring: last||empty; marker: !hasNext; object: true)
	Marker   string // marker envelope: pass back to get the next page
	Total    int    // totalElements / totalHits when present
}

// resourceShape holds the keys that tell the envelopes apart; values stay
// raw (a key present with null is still present).
type resourceShape struct {
	Content       json.RawMessage `json:"content"`
	Pageable      json.RawMessage `json:"pageable"`
	TotalElements json.RawMessage `json:"totalElements"`
	HasNext       json.RawMessage `json:"hasNext"`
	Marker        json.RawMessage `json:"marker"`
	TotalHits     json.RawMessage `json:"totalHits"`
}

type springResources struct {
	Content       []json.RawMessage `json:"content"`
	TotalElements int               `json:"totalElements"`
	Last          bool              `json:"last"`
	Empty         bool              `json:"empty"`
}

type markerResources struct {
	Content   []json.RawMessage `json:"content"`
	HasNext   *bool             `json:"hasNext"`
	Marker    string            `json:"marker"`
	TotalHits int               `json:"totalHits"`
}

const expectedResourceShapes = `a Spring page (an object with "content" and "pageable"/"totalElements"), ` +
	`a marker page (an object with "content" and "hasNext"/"marker"/"totalHits") or a single resource object`

// DecodeResourcePage decodes a resource inventory answer of any of the three
// shapes the API uses: a Spring page (an object with "content" and
// "pageable" or "totalElements"), a marker page (an object with "hasNext",
// "marker" or "totalHits", and its records in "content"), or any other JSON
// object, which is a single bare record. Records are kept byte-exact and
// must be JSON objects. Anything else, and an error object
// ({"errorCode","message"}) in place of the data, is a *DecodeError saying
// which shapes were expected and what the body is, with the byte offset.
func DecodeResourcePage(body []byte) (*ResourcePage, error) {
	page, apiErr, err := decodeResourcePage(body)
	if err != nil {
		return nil, err
	}
	if apiErr != nil {
		return nil, &DecodeError{Offset: 0, Err: fmt.Errorf("expected %s; got an error response: %s", expectedResourceShapes, strings.TrimPrefix(apiErr.Error(), "qualys: "))}
	}
	return page, nil
}

// decodeResourcePage is DecodeResourcePage that reports an error object as
// an *APIError without status or URL, for the caller to complete.
func decodeResourcePage(body []byte) (*ResourcePage, *APIError, error) {
	obj, start := trimJSONSpace(body)
	if len(obj) == 0 {
		return nil, nil, &DecodeError{Offset: 0, Err: fmt.Errorf("expected %s; got an empty body", expectedResourceShapes)}
	}
	if de := syntaxError(body, expectedResourceShapes); de != nil {
		return nil, nil, de
	}
	if obj[0] != '{' {
		return nil, nil, &DecodeError{Offset: int64(start), Err: fmt.Errorf("expected %s; got %s", expectedResourceShapes, jsonKind(obj[0]))}
	}
	var shape resourceShape
	if err := json.Unmarshal(body, &shape); err != nil { // cannot fail on a valid object; kept for safety
		return nil, nil, &DecodeError{Offset: jsonErrorOffset(err, len(body)), Err: err}
	}
	hasContent := len(shape.Content) > 0
	switch {
	case hasContent && (len(shape.Pageable) > 0 || len(shape.TotalElements) > 0):
		var env springResources
		if err := json.Unmarshal(body, &env); err != nil {
			return nil, nil, &DecodeError{Offset: jsonErrorOffset(err, len(body)), Err: fmt.Errorf("as a Spring page: %w", err)}
		}
		if env.Content == nil {
			return nil, nil, &DecodeError{Offset: 0, Err: errors.New(`as a Spring page: "content" is null, not an array`)}
		}
		if err := checkRecords(body, env.Content); err != nil {
			return nil, nil, err
		}
		return &ResourcePage{
			Items:    env.Content,
			Envelope: EnvelopeSpring,
			Last:     env.Last || env.Empty || len(env.Content) == 0,
			Total:    env.TotalElements,
		}, nil, nil

	case len(shape.HasNext) > 0 || len(shape.Marker) > 0 || len(shape.TotalHits) > 0:
		var env markerResources
		if err := json.Unmarshal(body, &env); err != nil {
			return nil, nil, &DecodeError{Offset: jsonErrorOffset(err, len(body)), Err: fmt.Errorf("as a marker page: %w", err)}
		}
		if err := checkRecords(body, env.Content); err != nil {
			return nil, nil, err
		}
		last := env.Marker == ""
		if env.HasNext != nil {
			last = !*env.HasNext
		}
		if !last && env.Marker == "" {
			return nil, nil, &DecodeError{Offset: 0, Err: errors.New(`as a marker page: "hasNext" is true but there is no "marker" to ask for the next page`)}
		}
		if env.Content == nil {
			env.Content = []json.RawMessage{}
		}
		return &ResourcePage{
			Items:    env.Content,
			Envelope: EnvelopeMarker,
			Last:     last,
			Marker:   env.Marker,
			Total:    env.TotalHits,
		}, nil, nil
	}
	if apiErr := errorObject(obj, "uuid"); apiErr != nil {
		return nil, apiErr, nil
	}
	return &ResourcePage{
		Items:    []json.RawMessage{append(json.RawMessage(nil), obj...)},
		Envelope: EnvelopeObject,
		Last:     true,
	}, nil, nil
}

// checkRecords checks that every element of content is a JSON object, and
// places the first that is not in body.
func checkRecords(body []byte, content []json.RawMessage) error {
	for i, rec := range content {
		if len(rec) > 0 && rec[0] == '{' {
			continue
		}
		var off int64
		if offs := contentOffsets(body); i < len(offs) {
			off = offs[i]
		}
		what := "null"
		if len(rec) > 0 {
			what = jsonKind(rec[0])
		}
		return &DecodeError{Offset: off, Err: fmt.Errorf("content[%d]: record is %s, not an object", i, what)}
	}
	return nil
}

// ResourceQuery selects and pages resources. Zero values are not sent.
// PageNo is sent when it is positive, or with PageSize when Marker is
// empty (an explicit first page, as the API samples do).
type ResourceQuery struct {
	PageNo, PageSize int    // Spring paging (0-based page)
	Marker           string // marker paging: ResourcePage.Marker of the previous page
	Updated          string // e.g. "[now-3w..now]" or "[2026-05-01T00:00:00Z..now]"
	Filter           string // QQL, e.g. "cloud.accountId:123456789012"
}

// apiClouds maps a cloud name in any case to the API's spelling.
var apiClouds = map[string]string{"aws": "AWS", "azure": "Azure", "gcp": "GCP", "oci": "OCI"}

// apiCloud returns the API's spelling of cloud ("Azure", "AWS", "GCP",
// "OCI"), accepting any case.
func apiCloud(op, cloud string) (string, error) {
	if c, ok := apiClouds[strings.ToLower(strings.TrimSpace(cloud))]; ok {
		return c, nil
	}
	return "", fmt.Errorf("qualys: %s: cloud %s is not one of AWS, Azure, GCP, OCI", op, clipQuote(cloud))
}

// Resources fetches one page of the resource inventory of one type:
// GET /cloudview-api/rest/v1/resource/{resourceType}/{cloud}. cloud is
// AWS, Azure, GCP or OCI (any case). Azure answers with Spring pages (page
// on PageNo until Last); AWS with marker pages (pass the page's Marker back
// until Last). Either way at most MaxInventoryHits records are reachable
// per query.
func (c *Client) Resources(ctx context.Context, cloud, resourceType string, q ResourceQuery) (*ResourcePage, error) {
	apiC, err := apiCloud("list resources", cloud)
	if err != nil {
		return nil, err
	}
	op := "list " + apiC + " " + resourceType + " resources"
	if err := checkSegment(op, "resource type", resourceType); err != nil {
		return nil, err
	}
	if q.PageNo < 0 {
		return nil, fmt.Errorf("qualys: %s: pageNo %d is negative", op, q.PageNo)
	}
	if q.PageSize < 0 {
		return nil, fmt.Errorf("qualys: %s: pageSize %d is negative", op, q.PageSize)
	}
	v := url.Values{}
	if q.PageNo > 0 || (q.PageSize > 0 && q.Marker == "") {
		v.Set("pageNo", strconv.Itoa(q.PageNo))
	}
	if q.PageSize > 0 {
		v.Set("pageSize", strconv.Itoa(q.PageSize))
	}
	if q.Updated != "" {
		v.Set("updated", q.Updated)
	}
	if q.Filter != "" {
		v.Set("filter", q.Filter)
	}
	if q.Marker != "" {
		v.Set("marker", q.Marker)
	}
	u := c.endpointf(v, resourcesPath, resourceType, apiC)
	page, err := c.resourceCall(ctx, op, u)
	if err != nil {
		return nil, err
	}
	if page.Total > MaxInventoryHits {
		c.log.Warn("qualys: query matches more records than the inventory endpoint returns; narrow it with a filter (e.g. by account)",
			"op", op, "url", u, "total", page.Total, "max", MaxInventoryHits)
	}
	return page, nil
}

// ResourceByUUID fetches one resource by its Qualys uuid:
// GET /cloudview-api/rest/v1/resource/{resourceType}/uuid/{resourceUuid}/{cloud}.
// The answer is a Spring page holding the record (or the bare record); it
// returns the record's exact bytes. No record is an *APIError with
// StatusCode 404 naming the uuid.
func (c *Client) ResourceByUUID(ctx context.Context, cloud, resourceType, uuid string) (json.RawMessage, error) {
	apiC, err := apiCloud("get resource", cloud)
	if err != nil {
		return nil, err
	}
	op := "get " + apiC + " " + resourceType + " resource"
	if err := checkSegment(op, "resource type", resourceType); err != nil {
		return nil, err
	}
	if err := checkSegment(op, "resource uuid", uuid); err != nil {
		return nil, err
	}
	u := c.endpointf(nil, resourceByUUIDPath, resourceType, uuid, apiC)
	page, err := c.resourceCall(ctx, op, u)
	if err != nil {
		return nil, err
	}
	switch len(page.Items) {
	case 0:
		return nil, &APIError{
			Op: op, URL: u, StatusCode: http.StatusNotFound,
			Message: fmt.Sprintf("no %s %s resource has uuid %q (the server answered with no record)", apiC, resourceType, uuid),
			hint:    "check the uuid, resource type and cloud; the resource may have been deleted",
		}
	case 1:
		return page.Items[0], nil
	}
	// Several records: take the one that has the uuid asked for.
	for _, rec := range page.Items {
		var id struct {
			UUID string `json:"uuid"`
		}
		if json.Unmarshal(rec, &id) == nil && id.UUID == uuid {
			return rec, nil
		}
	}
	return nil, &DecodeError{URL: u, Err: fmt.Errorf("expected the record with uuid %q; got %d records, none with that uuid", uuid, len(page.Items))}
}

// resourceCall performs a GET of an inventory URL and decodes the page.
func (c *Client) resourceCall(ctx context.Context, op, u string) (*ResourcePage, error) {
	body, status, err := c.do(ctx, request{op: op, method: http.MethodGet, url: u, bearer: true, want: http.StatusOK, check: validJSON})
	if err != nil {
		return nil, err
	}
	page, apiErr, err := decodeResourcePage(body)
	if err != nil {
		var de *DecodeError
		if errors.As(err, &de) {
			de.URL = u
		}
		return nil, err
	}
	if apiErr != nil {
		apiErr.Op, apiErr.URL, apiErr.StatusCode = op, u, status
		return nil, apiErr
	}
	return page, nil
}
