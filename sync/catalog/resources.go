package catalog

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"qtc/store"
	"qtc/sync/internal/jsonobj"
)

// TotalCloud resource types (seed 000): the eight Azure CIEM types and AWS
// EC2 inventory. Their names are "{cloud}/{RESOURCE_TYPE}" in lower-case
// cloud, as `qtc export --type` takes them.

// ResourceTypeName is the catalog name of a TotalCloud resource type.
func ResourceTypeName(cloud, resource string) string {
	return strings.ToLower(cloud) + "/" + strings.ToUpper(resource)
}

// Shared column shapes.
var (
	colName = func(t string) Column { return Column{Title: t, Kind: store.Text, MinWidth: 16, Flex: 4} }
	colText = func(t string, min, max int) Column {
		return Column{Title: t, Kind: store.Text, MinWidth: min, MaxWidth: max, Flex: 1}
	}
	colBool = func(t string) Column {
		return Column{Title: t, Kind: store.Text, MinWidth: len(t), MaxWidth: max(len(t), 5)}
	}
	colCount = func(t string) Column {
		return Column{Title: t, Kind: store.Number, MinWidth: len(t), MaxWidth: max(len(t), 7), Right: true}
	}
	colTime    = func(t string) Column { return Column{Title: t, Kind: store.Time, MinWidth: 10, MaxWidth: 16, Flex: 2} }
	roleLookup = ValueMap{Name: "roleName", Type: ResourceTypeName("Azure", "ROLE_DEFINITIONS"), Key: "resourceId", Value: "roleName"}
)

// fields decodes the named top-level fields of a record into strings:
// strings as they are, booleans and numbers as JSON text, null as "".
func fields(raw json.RawMessage, names ...string) ([]string, jsonobj.Object, error) {
	o, err := jsonobj.Scan(raw)
	if err != nil {
		return nil, nil, err
	}
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = scalar(o.Get(n))
	}
	return out, o, nil
}

func scalar(v json.RawMessage) string {
	if len(v) == 0 || string(v) == "null" {
		return ""
	}
	if s, ok := jsonobj.String(v); ok {
		return s
	}
	return string(v)
}

// earliestEnd returns the earliest endDateTime among the credential arrays
// (TotalCloud names them keyCredential / passwordCredential).
func earliestEnd(m jsonobj.Object, arrays ...string) string {
	best := ""
	bestKey := []byte(nil)
	for _, a := range arrays {
		var creds []struct {
			EndDateTime string `json:"endDateTime"`
		}
		if json.Unmarshal(m.Get(a), &creds) != nil {
			continue
		}
		for _, c := range creds {
			if c.EndDateTime == "" {
				continue
			}
			k := store.SortKey(store.Time, c.EndDateTime)
			if best == "" || string(k) < string(bestKey) {
				best, bestKey = c.EndDateTime, k
			}
		}
	}
	return best
}

func arrayLen(v json.RawMessage) int {
	var a []json.RawMessage
	if json.Unmarshal(v, &a) != nil {
		return 0
	}
	return len(a)
}

// firstAndMore shows the first string of an array and how many follow.
func firstAndMore(v json.RawMessage) string {
	var a []string
	if json.Unmarshal(v, &a) != nil || len(a) == 0 {
		return ""
	}
	if len(a) == 1 {
		return a[0]
	}
	return fmt.Sprintf("%s (+%d)", a[0], len(a)-1)
}

// tagList renders [{key,value}] as "k=v; k=v" sorted by key, the form the
// tag: and accountTag: filters match.
func tagList(v json.RawMessage) string {
	var tags []struct{ Key, Value string }
	if json.Unmarshal(v, &tags) != nil || len(tags) == 0 {
		return ""
	}
	parts := make([]string, len(tags))
	for i, t := range tags {
		parts[i] = t.Key + "=" + t.Value
	}
	sort.Strings(parts)
	return strings.Join(parts, "; ")
}

// lastSegment is the last path segment of an Azure resource id.
func lastSegment(id string) string {
	if i := strings.LastIndexByte(id, '/'); i >= 0 {
		return id[i+1:]
	}
	return id
}

func registerResource(cloud, resource, title string, cols []Column, cells func(raw json.RawMessage, r Resolver) ([]string, error), valueMaps ...ValueMap) {
	register(Type{
		Name:          ResourceTypeName(cloud, resource),
		Title:         title,
		ConnectorKind: "qualys",
		Cloud:         cloud,
		Resource:      resource,
		Order:         10,
		Columns:       cols,
		ID:            uuidID,
		Cells:         cells,
		ValueMaps:     valueMaps,
	})
}

func init() {
	registerResource("Azure", "ENTRA_ID_USER", "Entra ID users (TotalCloud)",
		[]Column{colName("DISPLAY NAME"), colText("USER PRINCIPAL NAME", 18, 48), colText("TYPE", 6, 7), colText("MAIL", 10, 40), colBool("ON-PREM")},
		func(raw json.RawMessage, _ Resolver) ([]string, error) {
			c, _, err := fields(raw, "displayName", "userPrincipalName", "userType", "mail", "onPremisesSyncEnabled")
			return c, err
		})
	registerResource("Azure", "ENTRA_ID_GROUP", "Entra ID groups (TotalCloud)",
		[]Column{colName("DISPLAY NAME"), colBool("SECURITY"), colBool("MAIL ENABLED"), colText("MAIL", 10, 40), colBool("ON-PREM")},
		func(raw json.RawMessage, _ Resolver) ([]string, error) {
			c, _, err := fields(raw, "displayName", "securityEnabled", "mailEnabled", "mail", "onPremisesSyncEnabled")
			return c, err
		})
	registerResource("Azure", "ENTRA_ID_SERVICE_PRINCIPAL", "Service principals (TotalCloud)",
		[]Column{colName("DISPLAY NAME"), colText("TYPE", 8, 16), colText("APP ID", 12, 36), colBool("ENABLED"), colTime("NEXT CREDENTIAL EXPIRY")},
		func(raw json.RawMessage, _ Resolver) ([]string, error) {
			c, m, err := fields(raw, "displayName", "servicePrincipalType", "appId", "accountEnabled")
			if err != nil {
				return nil, err
			}
			return append(c, earliestEnd(m, "keyCredential", "passwordCredential")), nil
		})
	registerResource("Azure", "ENTRA_ID_APPLICATION_REGISTRATION", "App registrations (TotalCloud)",
		[]Column{colName("DISPLAY NAME"), colText("TYPE", 8, 16), colText("APP ID", 12, 36), colText("AUDIENCE", 8, 20), colTime("NEXT CREDENTIAL EXPIRY")},
		func(raw json.RawMessage, _ Resolver) ([]string, error) {
			c, m, err := fields(raw, "displayName", "servicePrincipalType", "appId", "signInAudience")
			if err != nil {
				return nil, err
			}
			return append(c, earliestEnd(m, "keyCredential", "passwordCredential")), nil
		})
	registerResource("Azure", "ROLE_ASSIGNMENT", "Role assignments (TotalCloud)",
		[]Column{colText("ROLE", 12, 40), colText("PRINCIPAL TYPE", 14, 16), colText("PRINCIPAL ID", 12, 36), colName("SCOPE"), colText("SUBSCRIPTION", 8, 24)},
		func(raw json.RawMessage, r Resolver) ([]string, error) {
			c, _, err := fields(raw, "roleDefinitionId", "principalType", "principalId", "scope", "subscriptionName")
			if err != nil {
				return nil, err
			}
			if name, ok := r.resolve("roleName", c[0]); ok {
				c[0] = name
			} else if c[0] != "" {
				c[0] = "(" + lastSegment(c[0]) + ")" // definition not synced
			}
			return c, nil
		}, roleLookup)
	registerResource("Azure", "ROLE_DEFINITIONS", "Role definitions (TotalCloud)",
		[]Column{colName("ROLE NAME"), colText("ROLE TYPE", 9, 12), colCount("ACTIONS"), colText("ASSIGNABLE SCOPES", 16, 60), colText("SUBSCRIPTION", 8, 24)},
		func(raw json.RawMessage, _ Resolver) ([]string, error) {
			c, m, err := fields(raw, "roleName", "roleType")
			if err != nil {
				return nil, err
			}
			return append(c, itoa(arrayLen(m.Get("actions"))), firstAndMore(m.Get("assignableScopes")), scalar(m.Get("subscriptionName"))), nil
		})
	registerResource("Azure", "DENY_ASSIGNMENT", "Deny assignments (TotalCloud)",
		[]Column{colName("DENY ASSIGNMENT NAME"), colText("SCOPE", 16, 80), colBool("SYSTEM PROTECTED"), colText("SUBSCRIPTION", 8, 24)},
		func(raw json.RawMessage, _ Resolver) ([]string, error) {
			c, _, err := fields(raw, "denyAssignmentName", "scope", "isSystemProtected", "subscriptionName")
			return c, err
		})
	registerResource("Azure", "MANAGED_IDENTITIES", "Managed identities (TotalCloud)",
		[]Column{colName("DISPLAY NAME"), colText("RESOURCE GROUP", 14, 32), colText("LOCATION", 8, 16), colText("SUBSCRIPTION", 12, 32)},
		func(raw json.RawMessage, _ Resolver) ([]string, error) {
			c, _, err := fields(raw, "displayName", "resourceGroupName", "location", "subscriptionName")
			return c, err
		})
	registerResource("AWS", "EC2_INSTANCE", "EC2 instances (TotalCloud)",
		[]Column{colName("NAME"), colText("INSTANCE ID", 10, 20), colText("STATE", 7, 10), colText("TYPE", 8, 12), colText("REGION", 9, 14),
			colText("ACCOUNT", 12, 14), colText("TAGS", 8, 40), colText("ACCOUNT TAGS", 12, 40), colTime("UPDATED")},
		func(raw json.RawMessage, _ Resolver) ([]string, error) {
			c, m, err := fields(raw, "name", "instanceId", "instanceState", "instanceType", "region", "cloudAccountId")
			if err != nil {
				return nil, err
			}
			updated := scalar(m.Get("updated"))
			if updated == "" {
				updated = scalar(m.Get("lastUpdated"))
			}
			return append(c, tagList(m.Get("tags")), tagList(m.Get("accountTags")), updated), nil
		})
}

// clouds are the TotalCloud clouds a resource type name may start with.
var clouds = map[string]string{"aws": "AWS", "azure": "Azure", "gcp": "GCP", "oci": "OCI"}

// genericColumns are the columns of a resource type qtc has no columns for:
// what every TotalCloud resource record carries.
var genericColumns = []Column{colName("NAME"), colText("RESOURCE ID", 16, 60), colText("REGION", 8, 16), colText("ACCOUNT", 10, 36), colTime("UPDATED")}

// Generic makes the type of any "{cloud}/{RESOURCE_TYPE}" the user adds to a
// connector's scope, so new resource types need no code.
func Generic(name string) (Type, bool) {
	c, res, ok := strings.Cut(name, "/")
	cloud, known := clouds[strings.ToLower(c)]
	if !ok || !known || res == "" || strings.ContainsAny(res, "/ ?#%") {
		return Type{}, false
	}
	return Type{
		Name:          ResourceTypeName(cloud, res),
		Title:         cloud + " " + strings.ToUpper(res) + " (TotalCloud)",
		ConnectorKind: "qualys",
		Cloud:         cloud,
		Resource:      strings.ToUpper(res),
		Columns:       genericColumns,
		ID:            uuidID,
		Cells: func(raw json.RawMessage, _ Resolver) ([]string, error) {
			_, m, err := fields(raw)
			if err != nil {
				return nil, err
			}
			first := func(keys ...string) string {
				for _, k := range keys {
					if v := scalar(m.Get(k)); v != "" {
						return v
					}
				}
				return ""
			}
			return []string{
				first("name", "displayName", "resourceId"), first("resourceId", "arn", "id"), first("region", "location"),
				first("cloudAccountId", "accountId", "subscriptionId", "projectId", "compartmentId"), first("updated", "lastUpdated"),
			}, nil
		},
	}, true
}
