package qualys

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// Paths of the list endpoints under the gateway.
const (
	policiesPath   = "/cloudview-api/rest/v2/policies"
	exceptionsPath = "/cloudview-api/rest/v1/exceptions/list"
)

// Policy is one TotalCloud policy as returned by GET /rest/v2/policies.
// Dates are kept as the server's strings ("2020-07-09T11:33:36+0000").
// Steps and TagIDs are empty in every published sample, so their elements
// are kept raw.
type Policy struct {
	UUID            string            `json:"uuid"`
	Title           string            `json:"title"`
	CloudType       string            `json:"cloudType"` // AWS, AZURE, GCP, OCI
	Version         string            `json:"version"`
	CreatedBy       string            `json:"createdBy"`
	ModifiedBy      string            `json:"modifiedBy"`
	CreatedDate     string            `json:"createdDate"`
	ModifiedDate    string            `json:"modifiedDate"`
	Header          string            `json:"header"`
	Steps           []json.RawMessage `json:"steps"`
	Footer          string            `json:"footer"`
	CustomerCreated bool              `json:"customerCreated"`
	Type            string            `json:"type"`  // e.g. SYSTEM_DEFINED_POLICY
	Scope           string            `json:"scope"` // e.g. GLOBAL, CUSTOMER
	ControlIDs      []int64           `json:"controlIds"`
	ExecutionType   string            `json:"executionType"` // e.g. RUN_TIME
	TagIDs          []json.RawMessage `json:"tagIds"`
}

// Exception is one TotalCloud exception as returned by GET
// /rest/v1/exceptions/list, and by the get, create and update calls. Dates
// are kept as the server's strings.
type Exception struct {
	UUID         string `json:"uuid"`
	Name         string `json:"name"`
	Description  string `json:"description"`
	Reason       string `json:"reason"`
	State        string `json:"state"` // e.g. ACTIVE
	StartingDate string `json:"startingDate"`
	EndingDate   string `json:"endingDate"`
	CreatedBy    string `json:"createdBy"`
	UpdatedBy    string `json:"updatedBy"`
	CreatedOn    string `json:"createdOn"`
	UpdatedOn    string `json:"updatedOn"`
	Scope        string `json:"scope"` // e.g. CONNECTOR
}

// Policies fetches one page of policies (pageNo is 0-based). Stop paging
// when the page is Last or Empty.
func (c *Client) Policies(ctx context.Context, pageNo, pageSize int) (*SpringPage[Policy], error) {
	return getPage[Policy](ctx, c, "list policies", policiesPath, pageNo, pageSize)
}

// Exceptions fetches one page of exceptions (pageNo is 0-based). Stop paging
// when the page is Last or Empty.
func (c *Client) Exceptions(ctx context.Context, pageNo, pageSize int) (*SpringPage[Exception], error) {
	return getPage[Exception](ctx, c, "list exceptions", exceptionsPath, pageNo, pageSize)
}

func getPage[T any](ctx context.Context, c *Client, op, path string, pageNo, pageSize int) (*SpringPage[T], error) {
	if pageNo < 0 {
		return nil, fmt.Errorf("qualys: %s: pageNo %d is negative", op, pageNo)
	}
	if pageSize < 1 {
		return nil, fmt.Errorf("qualys: %s: pageSize %d is not positive", op, pageSize)
	}
	u := c.endpoint(path, url.Values{
		"pageNo":   {strconv.Itoa(pageNo)},
		"pageSize": {strconv.Itoa(pageSize)},
	})
	body, status, err := c.do(ctx, request{op: op, method: http.MethodGet, url: u, bearer: true, want: http.StatusOK, check: validJSON})
	if err != nil {
		return nil, err
	}
	page, apiErr, err := decodeSpringPage[T](body)
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
