package qualys

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Paths of the exception endpoints under the gateway (the list is
// exceptionsPath).
const (
	exceptionPath       = "/cloudview-api/rest/v1/exceptions/%s" // GET, PUT
	exceptionCreatePath = "/cloudview-api/rest/v1/exceptions/create"
	exceptionDeletePath = "/cloudview-api/rest/v1/exceptions/delete"
)

// exceptionTimeLayout is how the API writes exception dates:
// "2026-05-17T18:30:00.000Z".
const exceptionTimeLayout = "2006-01-02T15:04:05.000Z07:00"

// maxExceptionName is the longest exception name accepted, in characters.
const maxExceptionName = 255

// ExceptionInput is the body of an exception create or update request.
// Dates are accepted in the API's format ("2026-05-17T18:30:00.000Z") or
// any RFC 3339 form, and are sent in the API's format, in UTC.
type ExceptionInput struct {
	Name           string   `json:"name"`
	Description    string   `json:"description,omitempty"`
	Reason         string   `json:"reason"`       // e.g. one of ExceptionReasons
	StartingDate   string   `json:"startingDate"` // "2026-05-17T18:30:00.000Z"
	EndingDate     string   `json:"endingDate"`
	Scope          string   `json:"scope"`               // one of ExceptionScopes
	CloudType      string   `json:"cloudType,omitempty"` // AWS, AZURE, GCP, OCI
	ControlIDs     []int64  `json:"controlIds,omitempty"`
	ConnectorUUIDs []string `json:"connectorUuids,omitempty"`
	AccountIDs     []string `json:"accountIds,omitempty"`
	ResourceIDs    []string `json:"resourceIds,omitempty"`
}

// ExceptionScopes are the scopes an exception can have.
var ExceptionScopes = []string{"CONNECTOR", "ACCOUNT", "RESOURCE", "CONTROL", "GLOBAL"}

// ExceptionReasons are the reasons the TotalCloud UI offers. Validate does
// not restrict Reason to them.
var ExceptionReasons = []string{"Risk Accepted", "False Positive", "Compensating Control", "Business Exception", "Pending Remediation"}

// exceptionCloudTypes are the values of ExceptionInput.CloudType.
var exceptionCloudTypes = []string{"AWS", "AZURE", "GCP", "OCI"}

// Validate checks in against the rules the API enforces, with now as the
// current time: name required (at most 255 characters), reason required,
// both dates valid and startingDate before endingDate, endingDate not in
// the past, scope one of ExceptionScopes, cloudType (if set) one of AWS,
// AZURE, GCP, OCI. The error lists every problem, each starting with the
// JSON field name.
func (in ExceptionInput) Validate(now time.Time) error {
	_, err := in.wire(now)
	return err
}

// wire validates in and returns it as sent: dates in the API's format.
func (in ExceptionInput) wire(now time.Time) (ExceptionInput, error) {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	switch n := utf8.RuneCountInString(in.Name); {
	case strings.TrimSpace(in.Name) == "":
		bad("name is required")
	case n > maxExceptionName:
		bad("name is %d characters long; at most %d are allowed", n, maxExceptionName)
	}
	if strings.TrimSpace(in.Reason) == "" {
		bad("reason is required (e.g. %s)", quoteList(ExceptionReasons))
	}
	start, startOK := parseExceptionDate("startingDate", in.StartingDate, bad)
	end, endOK := parseExceptionDate("endingDate", in.EndingDate, bad)
	if startOK && endOK && !start.Before(end) {
		bad("startingDate %s must be before endingDate %s", start.Format(exceptionTimeLayout), end.Format(exceptionTimeLayout))
	}
	if endOK && end.Before(now) {
		bad("endingDate %s is in the past (now is %s)", end.Format(exceptionTimeLayout), now.UTC().Format(exceptionTimeLayout))
	}
	switch {
	case in.Scope == "":
		bad("scope is required (one of %s)", strings.Join(ExceptionScopes, ", "))
	case !slices.Contains(ExceptionScopes, in.Scope):
		bad("scope %s is not one of %s", clipQuote(in.Scope), strings.Join(ExceptionScopes, ", "))
	}
	if in.CloudType != "" && !slices.Contains(exceptionCloudTypes, in.CloudType) {
		bad("cloudType %s is not one of %s", clipQuote(in.CloudType), strings.Join(exceptionCloudTypes, ", "))
	}
	if len(problems) > 0 {
		return ExceptionInput{}, fmt.Errorf("qualys: invalid exception: %s", strings.Join(problems, "; "))
	}
	in.StartingDate = start.Format(exceptionTimeLayout)
	in.EndingDate = end.Format(exceptionTimeLayout)
	return in, nil
}

// exceptionDateLayouts are the accepted date forms: RFC 3339 (which covers
// the API's "2026-05-17T18:30:00.000Z") and the "+0000" offsets the API
// uses in createdOn.
var exceptionDateLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999Z0700"}

// parseExceptionDate parses a date field, truncated to the millisecond the
// API keeps, in UTC.
func parseExceptionDate(field, v string, bad func(string, ...any)) (time.Time, bool) {
	if strings.TrimSpace(v) == "" {
		bad("%s is required (e.g. 2026-05-17T18:30:00.000Z)", field)
		return time.Time{}, false
	}
	for _, layout := range exceptionDateLayouts {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC().Truncate(time.Millisecond), true
		}
	}
	bad("%s %s is not a date-time like 2026-05-17T18:30:00.000Z (RFC 3339)", field, clipQuote(v))
	return time.Time{}, false
}

// clipQuote quotes a user-supplied value for an error, cut to a sane length.
func clipQuote(v string) string {
	const n = 64
	if len(v) > n {
		cut := n
		for cut > 0 && !utf8.RuneStart(v[cut]) {
			cut--
		}
		return strconv.Quote(v[:cut]) + "..."
	}
	return strconv.Quote(v)
}

func quoteList(vs []string) string {
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = strconv.Quote(v)
	}
	return strings.Join(q, ", ")
}

// Exception fetches one exception by its uuid:
// GET /cloudview-api/rest/v1/exceptions/{exceptionId}.
func (c *Client) Exception(ctx context.Context, id string) (Item[Exception], error) {
	const op = "get exception"
	if err := checkExceptionID(op, id); err != nil {
		return Item[Exception]{}, err
	}
	return c.exceptionCall(ctx, request{
		op:     op,
		method: http.MethodGet,
		url:    c.endpointf(nil, exceptionPath, id),
		bearer: true,
		want:   http.StatusOK,
	})
}

// CreateException validates in and creates the exception:
// POST /cloudview-api/rest/v1/exceptions/create. It returns the exception
// the server created (with its uuid, state, createdBy...). The request is
// never sent twice once it may have reached the server, except when the
// server answered 401, 409 or 429 (it did not process it): after a 5xx
// answer or a network error, check whether the exception exists before
// creating it again. A 409 without a wait header is a refusal (e.g. a
// duplicate), returned at once like 400 and 404: *APIError with the
// server's message verbatim.
func (c *Client) CreateException(ctx context.Context, in ExceptionInput) (Item[Exception], error) {
	const op = "create exception"
	wire, err := in.wire(c.now())
	if err != nil {
		return Item[Exception]{}, err
	}
	body, err := json.Marshal(wire)
	if err != nil {
		return Item[Exception]{}, fmt.Errorf("qualys: %s: %w", op, err)
	}
	return c.exceptionCall(ctx, request{
		op:       op,
		method:   http.MethodPost,
		url:      c.endpoint(exceptionCreatePath, nil),
		json:     body,
		bearer:   true,
		conflict: true,
		want:     http.StatusCreated,
		want2:    http.StatusOK,
		once:     true,
	})
}

// UpdateException validates in and replaces exception id with it:
// PUT /cloudview-api/rest/v1/exceptions/{exceptionId}. It returns the
// updated exception.
func (c *Client) UpdateException(ctx context.Context, id string, in ExceptionInput) (Item[Exception], error) {
	const op = "update exception"
	if err := checkExceptionID(op, id); err != nil {
		return Item[Exception]{}, err
	}
	wire, err := in.wire(c.now())
	if err != nil {
		return Item[Exception]{}, err
	}
	body, err := json.Marshal(wire)
	if err != nil {
		return Item[Exception]{}, fmt.Errorf("qualys: %s: %w", op, err)
	}
	return c.exceptionCall(ctx, request{
		op:       op,
		method:   http.MethodPut,
		url:      c.endpointf(nil, exceptionPath, id),
		json:     body,
		bearer:   true,
		conflict: true,
		want:     http.StatusOK,
	})
}

// DeleteExceptions deletes exceptions by uuid:
// DELETE /cloudview-api/rest/v1/exceptions/delete with body
// {"exceptionIds":[...]}. It returns the server's deletedIds; ids missing
// from it were not deleted.
func (c *Client) DeleteExceptions(ctx context.Context, ids []string) ([]string, error) {
	const op = "delete exceptions"
	if len(ids) == 0 {
		return nil, fmt.Errorf("qualys: %s: no exception ids given", op)
	}
	for i, id := range ids {
		if strings.TrimSpace(id) == "" {
			return nil, fmt.Errorf("qualys: %s: exceptionIds[%d] is empty", op, i)
		}
	}
	body, err := json.Marshal(struct {
		ExceptionIDs []string `json:"exceptionIds"`
	}{ids})
	if err != nil {
		return nil, fmt.Errorf("qualys: %s: %w", op, err)
	}
	r := request{
		op:       op,
		method:   http.MethodDelete,
		url:      c.endpoint(exceptionDeletePath, nil),
		json:     body,
		bearer:   true,
		conflict: true,
		want:     http.StatusOK,
	}
	it, err := doObject[struct {
		DeletedIDs *[]string `json:"deletedIds"`
	}](ctx, c, r, "deletedIds")
	if err != nil {
		return nil, err
	}
	if it.Value.DeletedIDs == nil {
		return nil, &DecodeError{URL: r.url, Err: errors.New(`expected {"deletedIds":[...]}; the answer has no "deletedIds" array`)}
	}
	return *it.Value.DeletedIDs, nil
}

// exceptionCall performs r and decodes one exception, which must have a
// uuid.
func (c *Client) exceptionCall(ctx context.Context, r request) (Item[Exception], error) {
	it, err := doObject[Exception](ctx, c, r, "uuid")
	if err != nil {
		return Item[Exception]{}, err
	}
	if it.Value.UUID == "" {
		return Item[Exception]{}, &DecodeError{URL: r.url, Err: errors.New(`expected an exception object; the answer has no "uuid"`)}
	}
	return it, nil
}

// checkExceptionID rejects ids that cannot be an exception's uuid: empty,
// "." and "..", and the names of the sibling endpoints.
func checkExceptionID(op, id string) error {
	if err := checkSegment(op, "exception id", id); err != nil {
		return err
	}
	switch strings.ToLower(id) {
	case "list", "create", "delete":
		return fmt.Errorf("qualys: %s: %q is not an exception id", op, id)
	}
	return nil
}
