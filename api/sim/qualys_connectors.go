package sim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Azure tenant (org) connectors: POST /connectors/v1.0/org/azure/ with the
// body of the connectors API documentation (seed 001). The answer has the
// documentation's response fields in its order; secretValue is never sent
// back (nor quoted in an error). GET on the same path lists the connectors
// created so far: a simulator convenience, not a documented Qualys API.

// orgConnectors holds the created connectors.
type orgConnectors struct {
	mu     sync.Mutex
	r      *rng // ids
	nextID int64
	recs   [][]byte
	names  map[string]bool
}

func newOrgConnectors(seed int64) *orgConnectors {
	r := newRNG(seed, "org-connectors")
	return &orgConnectors{r: r, nextID: int64(r.between(100000, 899999)), names: map[string]bool{}}
}

type runFrequency struct {
	Hours   *int `json:"hours"`
	Minutes *int `json:"minutes"`
}

type appInfoRequest struct {
	Identifier *string         `json:"identifier"`
	Name       *string         `json:"name"`
	TagID      json.RawMessage `json:"tagId"`
}

// orgConnectorRequest is the create body. Pointers tell missing fields.
type orgConnectorRequest struct {
	Name                                              *string           `json:"name"`
	Description                                       *string           `json:"description"`
	ConnectorAppInfos                                 *[]appInfoRequest `json:"connectorAppInfos"`
	IsRemediationEnabled                              *bool             `json:"isRemediationEnabled"`
	TenantName                                        *string           `json:"tenantName"`
	TenantID                                          *string           `json:"tenantId"`
	ApplicationID                                     *string           `json:"applicationId"`
	SecretValue                                       *string           `json:"secretValue"`
	OrgRunFrequency                                   *runFrequency     `json:"orgRunFrequency"`
	ConnectorPrefixName                               *string           `json:"connectorPrefixName"`
	ConnectorRunFrequency                             *runFrequency     `json:"connectorRunFrequency"`
	ExcludedMem                                       []string          `json:"excludedMem"`
	IncludedMem                                       []string          `json:"includedMem"`
	IsCreateConnectorForNewSubscriptionsAutomatically *bool             `json:"isCreateConnectorForNewSubscriptionsAutomatically"`
	IsDisableConnectorsForDeletedManagementGroups     *bool             `json:"isDisableConnectorsForDeletedManagementGroups"`
	AutoActivateCV                                    *bool             `json:"autoActivateCV"`
	AutoActivateCertView                              *bool             `json:"autoActivateCertView"`
	AutoActivatePC                                    *bool             `json:"autoActivatePC"`
	AutoActivateSCA                                   *bool             `json:"autoActivateSCA"`
	AutoActivateVM                                    *bool             `json:"autoActivateVM"`
	DefaultTagIDs                                     []json.RawMessage `json:"defaultTagIds"`
}

var orgConnectorFieldTypes = map[string]string{
	"name": "a string", "description": "a string", "connectorAppInfos": `an array of {"identifier", "name", "tagId"}`,
	"connectorAppInfos.identifier": "a string", "connectorAppInfos.name": "a string",
	"isRemediationEnabled": "a boolean", "tenantName": "a string", "tenantId": "a string", "applicationId": "a string",
	"secretValue":           "a string",
	"orgRunFrequency":       `an object {"hours": <n>, "minutes": <n>}`,
	"orgRunFrequency.hours": "an integer", "orgRunFrequency.minutes": "an integer",
	"connectorRunFrequency":       `an object {"hours": <n>, "minutes": <n>}`,
	"connectorRunFrequency.hours": "an integer", "connectorRunFrequency.minutes": "an integer",
	"connectorPrefixName": "a string", "excludedMem": "an array of strings", "includedMem": "an array of strings",
	"isCreateConnectorForNewSubscriptionsAutomatically": "a boolean",
	"isDisableConnectorsForDeletedManagementGroups":     "a boolean",
	"autoActivateCV": "a boolean", "autoActivateCertView": "a boolean", "autoActivatePC": "a boolean",
	"autoActivateSCA": "a boolean", "autoActivateVM": "a boolean", "defaultTagIds": "an array",
}

var (
	guidRE       = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	orgAppNames  = []string{"AI", "CI", "CSA"}
	orgPrefixMax = 30
)

type runFrequencyOut struct {
	Hours   int `json:"hours"`
	Minutes int `json:"minutes"`
}

type appInfoOut struct {
	Name        string          `json:"name"`
	Identifier  *string         `json:"identifier"`
	TagID       json.RawMessage `json:"tagId"`
	TagMetadata json.RawMessage `json:"tagMetadata"`
}

// orgConnector is the create answer, fields in the documentation's order.
type orgConnector struct {
	ID                                              int64             `json:"id"`
	Name                                            string            `json:"name"`
	Description                                     *string           `json:"description"`
	UUID                                            string            `json:"uuid"`
	OrgRunFrequency                                 runFrequencyOut   `json:"orgRunFrequency"`
	ConnectorRunFrequency                           runFrequencyOut   `json:"connectorRunFrequency"`
	LastSynced                                      string            `json:"lastSynced"`
	NextSync                                        string            `json:"nextSync"`
	Type                                            string            `json:"type"`
	CustomerID                                      string            `json:"customerId"`
	UserUUID                                        string            `json:"userUuid"`
	UserName                                        string            `json:"userName"`
	LastError                                       *string           `json:"lastError"`
	State                                           string            `json:"state"`
	ConnectorPrefixName                             string            `json:"connectorPrefixName"`
	DefaultTagIDs                                   []json.RawMessage `json:"defaultTagIds"`
	ConnectorAppInfos                               []appInfoOut      `json:"connectorAppInfos"`
	ConnectorCapabilities                           []string          `json:"connectorCapabilities"`
	LastSuccessfulSync                              string            `json:"lastSuccessfulSync"`
	CreatedBy                                       string            `json:"createdBy"`
	OrganizationID                                  string            `json:"organizationId"`
	TenantID                                        string            `json:"tenantId"`
	ApplicationID                                   string            `json:"applicationId"`
	AutoActivateVM                                  bool              `json:"autoActivateVM"`
	AutoActivatePC                                  bool              `json:"autoActivatePC"`
	AutoActivateSCA                                 bool              `json:"autoActivateSCA"`
	AutoActivateCertView                            bool              `json:"autoActivateCertView"`
	AutoActivateCV                                  bool              `json:"autoActivateCV"`
	IncludedMem                                     []string          `json:"includedMem"`
	ExcludedMem                                     []string          `json:"excludedMem"`
	CreateConnectorForNewSubscriptionsAutomatically bool              `json:"createConnectorForNewSubscriptionsAutomatically"`
	DisableConnectorsForDeletedManagementGroups     bool              `json:"disableConnectorsForDeletedManagementGroups"`
	Disabled                                        bool              `json:"disabled"`
	Deleted                                         bool              `json:"deleted"`
	RemediationEnabled                              bool              `json:"remediationEnabled"`
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// checkFrequency validates a {hours, minutes} run frequency.
func checkFrequency(field string, f *runFrequency) (runFrequencyOut, string) {
	if f == nil || (f.Hours == nil && f.Minutes == nil) {
		return runFrequencyOut{}, fmt.Sprintf(`%s is required: an object {"hours": <n>, "minutes": <n>}`, field)
	}
	out := runFrequencyOut{Hours: deref(f.Hours), Minutes: deref(f.Minutes)}
	switch {
	case out.Hours < 0:
		return out, fmt.Sprintf("%s.hours must not be negative (got %d)", field, out.Hours)
	case out.Minutes < 0 || out.Minutes > 59:
		return out, fmt.Sprintf("%s.minutes must be between 0 and 59 (got %d)", field, out.Minutes)
	case out.Hours == 0 && out.Minutes == 0:
		return out, field + " must be at least 1 minute"
	}
	return out, ""
}

// validate checks the mandatory fields of the documentation's table, in
// its order, and the limits. It returns the 400 message or "".
func (req *orgConnectorRequest) validate() string {
	str := func(p *string) string { return strings.TrimSpace(deref(p)) }
	guid := func(field string, p *string) string {
		switch v := str(p); {
		case v == "":
			return field + " is required"
		case !guidRE.MatchString(v):
			return fmt.Sprintf("%s '%s' is not a valid GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)", field, clip(v))
		}
		return ""
	}
	if msg := guid("applicationId", req.ApplicationID); msg != "" {
		return msg
	}
	if str(req.SecretValue) == "" {
		return "secretValue is required"
	}
	if msg := guid("tenantId", req.TenantID); msg != "" {
		return msg
	}
	if str(req.Name) == "" {
		return "name is required"
	}
	if req.ConnectorAppInfos == nil || len(*req.ConnectorAppInfos) == 0 {
		return "connectorAppInfos is required: a list of one or more apps from " + strings.Join(orgAppNames, ", ")
	}
	seen := map[string]bool{}
	for i, a := range *req.ConnectorAppInfos {
		name := str(a.Name)
		switch {
		case name == "":
			return fmt.Sprintf("connectorAppInfos[%d].name is required: one of %s", i, strings.Join(orgAppNames, ", "))
		case !containsString(orgAppNames, name):
			return fmt.Sprintf("Invalid app name '%s' in connectorAppInfos[%d]: must be one of %s", clip(name), i, strings.Join(orgAppNames, ", "))
		case seen[name]:
			return fmt.Sprintf("Duplicate app name '%s' in connectorAppInfos", name)
		}
		seen[name] = true
	}
	if _, msg := checkFrequency("orgRunFrequency", req.OrgRunFrequency); msg != "" {
		return msg
	}
	if _, msg := checkFrequency("connectorRunFrequency", req.ConnectorRunFrequency); msg != "" {
		return msg
	}
	switch p := str(req.ConnectorPrefixName); {
	case p == "":
		return "connectorPrefixName is required"
	case utf8.RuneCountInString(p) > orgPrefixMax:
		return fmt.Sprintf("connectorPrefixName must be at most %d characters (got %d)", orgPrefixMax, utf8.RuneCountInString(p))
	}
	if str(req.TenantName) == "" {
		return "tenantName is required"
	}
	return ""
}

// serveOrgConnectorCreate implements POST /connectors/v1.0/org/azure/.
func (q *qualys) serveOrgConnectorCreate(w http.ResponseWriter, r *http.Request, user string) {
	var req orgConnectorRequest
	if !q.readJSON(w, r, &req, orgConnectorFieldTypes) {
		return
	}
	if msg := req.validate(); msg != "" {
		q.writeError(w, http.StatusBadRequest, msg)
		return
	}
	now := q.s.now()
	orgFreq, _ := checkFrequency("orgRunFrequency", req.OrgRunFrequency)
	connFreq, _ := checkFrequency("connectorRunFrequency", req.ConnectorRunFrequency)
	name := strings.TrimSpace(*req.Name)

	o := q.orgs
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.names[strings.ToLower(name)] {
		q.writeError(w, http.StatusConflict, fmt.Sprintf("A connector named '%s' already exists", clip(name)))
		return
	}
	o.nextID += int64(o.r.between(1, 40))
	tenantID := strings.ToLower(strings.TrimSpace(*req.TenantID))
	c := orgConnector{
		ID: o.nextID, Name: name, Description: req.Description,
		UUID:            nameUUID(q.azure.customerID, "AZURE_ORG_CONNECTOR", fmt.Sprint(o.nextID)),
		OrgRunFrequency: orgFreq, ConnectorRunFrequency: connFreq,
		LastSynced: tfmt(now, fmtMilliColon),
		NextSync:   tfmt(now.Add(time.Duration(orgFreq.Hours)*time.Hour+time.Duration(orgFreq.Minutes)*time.Minute), fmtMilliColon),
		Type:       "AZURE", CustomerID: q.azure.customerID, UserUUID: nameUUID(q.azure.customerID, "user", user), UserName: user,
		State: "PENDING", ConnectorPrefixName: strings.TrimSpace(*req.ConnectorPrefixName),
		DefaultTagIDs:         req.DefaultTagIDs,
		LastSuccessfulSync:    tfmt(now, fmtMilliColon),
		CreatedBy:             user,
		OrganizationID:        tenantID, // the tenant root management group has the tenant's id
		TenantID:              tenantID,
		ApplicationID:         strings.ToLower(strings.TrimSpace(*req.ApplicationID)),
		AutoActivateVM:        deref(req.AutoActivateVM),
		AutoActivatePC:        deref(req.AutoActivatePC),
		AutoActivateSCA:       deref(req.AutoActivateSCA),
		AutoActivateCertView:  deref(req.AutoActivateCertView),
		AutoActivateCV:        deref(req.AutoActivateCV),
		IncludedMem:           req.IncludedMem,
		ExcludedMem:           req.ExcludedMem,
		ConnectorCapabilities: []string{},
		RemediationEnabled:    deref(req.IsRemediationEnabled),
		CreateConnectorForNewSubscriptionsAutomatically: deref(req.IsCreateConnectorForNewSubscriptionsAutomatically),
		DisableConnectorsForDeletedManagementGroups:     deref(req.IsDisableConnectorsForDeletedManagementGroups),
	}
	if c.DefaultTagIDs == nil {
		c.DefaultTagIDs = []json.RawMessage{}
	}
	if c.IncludedMem == nil {
		c.IncludedMem = []string{}
	}
	if c.ExcludedMem == nil {
		c.ExcludedMem = []string{}
	}
	for _, a := range *req.ConnectorAppInfos {
		name := strings.TrimSpace(*a.Name)
		out := appInfoOut{Name: name, Identifier: a.Identifier, TagID: a.TagID}
		c.ConnectorAppInfos = append(c.ConnectorAppInfos, out)
		c.ConnectorCapabilities = append(c.ConnectorCapabilities, name)
	}
	raw := marshalRecord(c)
	o.names[strings.ToLower(name)] = true
	o.recs = append(o.recs, raw)
	writeJSON(w, http.StatusOK, raw)
}

// serveOrgConnectorList answers GET /connectors/v1.0/org/azure/ with a JSON
// array of the connectors created on this simulator (a simulator
// convenience: the documentation shows no such call).
func (q *qualys) serveOrgConnectorList(w http.ResponseWriter, _ *http.Request, _ string) {
	o := q.orgs
	o.mu.Lock()
	recs := append([][]byte(nil), o.recs...)
	o.mu.Unlock()
	writeJSONParts(w, http.StatusOK, []byte("["), recs, []byte("]"))
}
