package qualys

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"
)

// orgConnectorAzurePath creates an Azure tenant (org) connector. The
// trailing slash is part of the documented path.
const orgConnectorAzurePath = "/connectors/v1.0/org/azure/"

// maxConnectorPrefix is the longest connectorPrefixName, in characters.
const maxConnectorPrefix = 30

// connectorApps are the application names a connectorAppInfos entry may
// have: Asset Inventory, Cloud Inventory, Cloud Security Assessment.
var connectorApps = []string{"AI", "CI", "CSA"}

// RunFrequency is how often a connector polls the cloud.
type RunFrequency struct {
	Hours   int `json:"hours"`
	Minutes int `json:"minutes"`
}

// ConnectorAppInfo selects one Qualys application for a connector.
type ConnectorAppInfo struct {
	Identifier string  `json:"identifier,omitempty"`
	Name       string  `json:"name"`  // AI, CI or CSA
	TagID      *string `json:"tagId"` // null: no tag
}

// AzureOrgConnectorInput is the body of POST /connectors/v1.0/org/azure/:
// every field of the API's request sample. Its String, GoString and
// LogValue never show SecretValue.
type AzureOrgConnectorInput struct {
	Name                                              string             `json:"name"`
	Description                                       string             `json:"description"`
	ConnectorAppInfos                                 []ConnectorAppInfo `json:"connectorAppInfos"`
	IsRemediationEnabled                              bool               `json:"isRemediationEnabled"`
	TenantName                                        string             `json:"tenantName"`
	TenantID                                          string             `json:"tenantId"`      // GUID
	ApplicationID                                     string             `json:"applicationId"` // GUID
	SecretValue                                       string             `json:"secretValue"`
	OrgRunFrequency                                   RunFrequency       `json:"orgRunFrequency"`
	ConnectorPrefixName                               string             `json:"connectorPrefixName"` // at most 30 characters; cannot be changed later
	ConnectorRunFrequency                             RunFrequency       `json:"connectorRunFrequency"`
	ExcludedMem                                       []string           `json:"excludedMem"` // management groups
	IncludedMem                                       []string           `json:"includedMem"`
	IsCreateConnectorForNewSubscriptionsAutomatically bool               `json:"isCreateConnectorForNewSubscriptionsAutomatically"`
	IsDisableConnectorsForDeletedManagementGroups     bool               `json:"isDisableConnectorsForDeletedManagementGroups"`
	AutoActivateCV                                    bool               `json:"autoActivateCV"`
	AutoActivateCertView                              bool               `json:"autoActivateCertView"`
	AutoActivatePC                                    bool               `json:"autoActivatePC"`
	AutoActivateSCA                                   bool               `json:"autoActivateSCA"`
	AutoActivateVM                                    bool               `json:"autoActivateVM"`
	DefaultTagIDs                                     []string           `json:"defaultTagIds"`
}

// AzureOrgConnector is an Azure tenant (org) connector as the API returns
// it. Dates are kept as the server's strings ("2023-05-17T05:19:11.727+00:00").
// Tag ids and tag metadata are null or empty in the published sample, so
// they are kept raw.
type AzureOrgConnector struct {
	ID                    int64             `json:"id"`
	Name                  string            `json:"name"`
	Description           string            `json:"description"`
	UUID                  string            `json:"uuid"`
	OrgRunFrequency       RunFrequency      `json:"orgRunFrequency"`
	ConnectorRunFrequency RunFrequency      `json:"connectorRunFrequency"`
	LastSynced            string            `json:"lastSynced"`
	NextSync              string            `json:"nextSync"`
	Type                  string            `json:"type"` // AZURE
	CustomerID            string            `json:"customerId"`
	UserUUID              string            `json:"userUuid"`
	UserName              string            `json:"userName"`
	LastError             *string           `json:"lastError"`
	State                 string            `json:"state"` // e.g. PENDING
	ConnectorPrefixName   string            `json:"connectorPrefixName"`
	DefaultTagIDs         []json.RawMessage `json:"defaultTagIds"`
	ConnectorAppInfos     []struct {
		ConnectorAppInfo
		TagMetadata json.RawMessage `json:"tagMetadata"`
	} `json:"connectorAppInfos"`
	ConnectorCapabilities                           []string `json:"connectorCapabilities"`
	LastSuccessfulSync                              string   `json:"lastSuccessfulSync"`
	CreatedBy                                       string   `json:"createdBy"`
	OrganizationID                                  string   `json:"organizationId"`
	TenantID                                        string   `json:"tenantId"`
	ApplicationID                                   string   `json:"applicationId"`
	AutoActivateVM                                  bool     `json:"autoActivateVM"`
	AutoActivatePC                                  bool     `json:"autoActivatePC"`
	AutoActivateSCA                                 bool     `json:"autoActivateSCA"`
	AutoActivateCertView                            bool     `json:"autoActivateCertView"`
	AutoActivateCV                                  bool     `json:"autoActivateCV"`
	IncludedMem                                     []string `json:"includedMem"`
	ExcludedMem                                     []string `json:"excludedMem"`
	CreateConnectorForNewSubscriptionsAutomatically bool     `json:"createConnectorForNewSubscriptionsAutomatically"`
	DisableConnectorsForDeletedManagementGroups     bool     `json:"disableConnectorsForDeletedManagementGroups"`
	Disabled                                        bool     `json:"disabled"`
	Deleted                                         bool     `json:"deleted"`
	RemediationEnabled                              bool     `json:"remediationEnabled"`
}

// Validate checks the fields the API requires: applicationId and tenantId
// (GUIDs), secretValue, name, tenantName, connectorAppInfos (at least one;
// names AI, CI or CSA, each once), orgRunFrequency and connectorRunFrequency
// (hours ≥ 0, 0 ≤ minutes < 60, not zero), connectorPrefixName (at most 30
// characters). The error lists every problem, each starting with the JSON
// field name; it never contains the secret.
func (in AzureOrgConnectorInput) Validate() error {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	show := func(v string) string { return clipQuote(redact(v, []string{in.SecretValue})) }

	checkGUID := func(field, v string) {
		switch {
		case strings.TrimSpace(v) == "":
			bad("%s is required (a GUID like 01234567-89ab-cdef-0123-456789abcdef)", field)
		case !isGUID(v):
			// The value is not repeated: it might be the secret pasted in
			// the wrong field.
			bad("%s must be a GUID like 01234567-89ab-cdef-0123-456789abcdef (got %d characters that are not one)", field, utf8.RuneCountInString(v))
		}
	}
	checkGUID("applicationId", in.ApplicationID)
	if in.SecretValue == "" {
		bad("secretValue is required (the client secret of the Azure application)")
	}
	checkGUID("tenantId", in.TenantID)
	if strings.TrimSpace(in.Name) == "" {
		bad("name is required")
	}
	if len(in.ConnectorAppInfos) == 0 {
		bad("connectorAppInfos must select at least one of %s", strings.Join(connectorApps, ", "))
	}
	seen := map[string]int{}
	for i, app := range in.ConnectorAppInfos {
		switch prev, dup := seen[app.Name]; {
		case !slices.Contains(connectorApps, app.Name):
			bad("connectorAppInfos[%d].name %s is not one of %s", i, show(app.Name), strings.Join(connectorApps, ", "))
		case dup:
			bad("connectorAppInfos[%d].name %s is already selected by connectorAppInfos[%d]", i, show(app.Name), prev)
		default:
			seen[app.Name] = i
		}
	}
	checkFrequency := func(field string, f RunFrequency) {
		switch {
		case f.Hours < 0:
			bad("%s.hours %d is negative", field, f.Hours)
		case f.Minutes < 0 || f.Minutes >= 60:
			bad("%s.minutes %d is outside 0-59", field, f.Minutes)
		case f.Hours == 0 && f.Minutes == 0:
			bad("%s is zero; the connector would never run", field)
		}
	}
	checkFrequency("orgRunFrequency", in.OrgRunFrequency)
	checkFrequency("connectorRunFrequency", in.ConnectorRunFrequency)
	switch n := utf8.RuneCountInString(in.ConnectorPrefixName); {
	case strings.TrimSpace(in.ConnectorPrefixName) == "":
		bad("connectorPrefixName is required (the name prefix of the member connectors)")
	case n > maxConnectorPrefix:
		bad("connectorPrefixName is %d characters long; at most %d are allowed", n, maxConnectorPrefix)
	}
	if strings.TrimSpace(in.TenantName) == "" {
		bad("tenantName is required")
	}
	if len(problems) > 0 {
		return fmt.Errorf("qualys: invalid Azure org connector: %s", redact(strings.Join(problems, "; "), []string{in.SecretValue}))
	}
	return nil
}

// isGUID reports whether s is a GUID in its 8-4-4-4-12 hex form.
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch b := s[i]; i {
		case 8, 13, 18, 23:
			if b != '-' {
				return false
			}
		default:
			if !('0' <= b && b <= '9' || 'a' <= b && b <= 'f' || 'A' <= b && b <= 'F') {
				return false
			}
		}
	}
	return true
}

// String shows in as its JSON body with secretValue replaced by
// [REDACTED], so %v and %s never print the secret (nor does any other
// field the secret was pasted into).
func (in AzureOrgConnectorInput) String() string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(in.redacted().wire()); err != nil {
		return "AzureOrgConnectorInput{?}"
	}
	return "AzureOrgConnectorInput" + strings.TrimSuffix(buf.String(), "\n")
}

// redacted returns a copy of in (sharing nothing with it) whose secretValue,
// and every occurrence of the secret in its other fields, is [REDACTED].
func (in AzureOrgConnectorInput) redacted() AzureOrgConnectorInput {
	secret := in.SecretValue
	if secret == "" {
		return in
	}
	r := func(v string) string { return redact(v, []string{secret}) }
	rs := func(vs []string) []string {
		if vs == nil {
			return nil
		}
		out := make([]string, len(vs))
		for i, v := range vs {
			out[i] = r(v)
		}
		return out
	}
	in.SecretValue = redactedText
	in.Name, in.Description, in.TenantName = r(in.Name), r(in.Description), r(in.TenantName)
	in.TenantID, in.ApplicationID, in.ConnectorPrefixName = r(in.TenantID), r(in.ApplicationID), r(in.ConnectorPrefixName)
	in.ExcludedMem, in.IncludedMem, in.DefaultTagIDs = rs(in.ExcludedMem), rs(in.IncludedMem), rs(in.DefaultTagIDs)
	if in.ConnectorAppInfos != nil {
		apps := make([]ConnectorAppInfo, len(in.ConnectorAppInfos))
		for i, a := range in.ConnectorAppInfos {
			apps[i] = ConnectorAppInfo{Identifier: r(a.Identifier), Name: r(a.Name)}
			if a.TagID != nil {
				t := r(*a.TagID)
				apps[i].TagID = &t
			}
		}
		in.ConnectorAppInfos = apps
	}
	return in
}

// GoString is String, so %#v does not print the secret either.
func (in AzureOrgConnectorInput) GoString() string { return in.String() }

// LogValue is String, so slog handlers (JSON ones included) do not log the
// secret.
func (in AzureOrgConnectorInput) LogValue() slog.Value { return slog.StringValue(in.String()) }

// wire returns in as sent: absent lists as [] rather than null, as the
// API's sample sends them.
func (in AzureOrgConnectorInput) wire() AzureOrgConnectorInput {
	for _, s := range []*[]string{&in.ExcludedMem, &in.IncludedMem, &in.DefaultTagIDs} {
		if *s == nil {
			*s = []string{}
		}
	}
	if in.ConnectorAppInfos == nil {
		in.ConnectorAppInfos = []ConnectorAppInfo{}
	}
	return in
}

// CreateAzureOrgConnector validates in and creates an Azure tenant (org)
// connector: POST /connectors/v1.0/org/azure/. It returns the connector the
// server created (state PENDING until its first sync). Like CreateException
// it is never sent twice once it may have reached the server, except after
// a 401, 409 or 429. Server refusals come back verbatim as *APIError, with
// the secret cut out should the server repeat it.
func (c *Client) CreateAzureOrgConnector(ctx context.Context, in AzureOrgConnectorInput) (Item[AzureOrgConnector], error) {
	const op = "create Azure org connector"
	if err := in.Validate(); err != nil {
		return Item[AzureOrgConnector]{}, err
	}
	body, err := json.Marshal(in.wire())
	if err != nil {
		return Item[AzureOrgConnector]{}, fmt.Errorf("qualys: %s: %w", op, redactErr(err, in.SecretValue))
	}
	return doObject[AzureOrgConnector](ctx, c, request{
		op:       op,
		method:   http.MethodPost,
		url:      c.endpoint(orgConnectorAzurePath, nil),
		json:     body,
		bearer:   true,
		conflict: true,
		want:     http.StatusCreated,
		want2:    http.StatusOK,
		once:     true,
		redact:   []string{in.SecretValue},
	}, "uuid")
}

// redactErr returns err, or a plain error with the secret cut out if err's
// text contains it.
func redactErr(err error, secret string) error {
	if secret == "" || !strings.Contains(err.Error(), secret) {
		return err
	}
	return fmt.Errorf("%s", redact(err.Error(), []string{secret}))
}
