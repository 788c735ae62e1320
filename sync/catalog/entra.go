package catalog

import (
	"encoding/json"
	"strings"

	"qtc/sync/internal/jsonobj"
)

// Microsoft Entra ID types pulled from Graph by the identity connector
// (seed 003) and the devices connector (seed 002). Their names are the
// export TYPE names the issue fixes.

// Connector kinds of the Entra ID connectors.
const (
	KindEntra        = "entra"
	KindEntraDevices = "entra-devices"
)

// graphID reads the "id" every directory object carries.
func graphID(raw json.RawMessage) (string, error) { return jsonobj.ID(raw) }

// joinStrings renders a JSON string array as "a, b".
func joinStrings(v json.RawMessage) string {
	var a []string
	if json.Unmarshal(v, &a) != nil {
		return ""
	}
	return strings.Join(a, ", ")
}

func registerGraph(kind, name, title string, order int, cols []Column, cells func(raw json.RawMessage) ([]string, error)) {
	register(Type{
		Name: name, Title: title, ConnectorKind: kind, Order: order, Columns: cols, ID: graphID,
		Cells: func(raw json.RawMessage, _ Resolver) ([]string, error) { return cells(raw) },
	})
}

func init() {
	registerGraph(KindEntra, "users", "Users", 1,
		[]Column{colName("DISPLAY NAME"), colText("USER PRINCIPAL NAME", 18, 48), colText("TYPE", 6, 7), colBool("ENABLED"), colText("MAIL", 10, 40), colText("DEPARTMENT", 10, 24), colTime("CREATED")},
		func(raw json.RawMessage) ([]string, error) {
			c, _, err := fields(raw, "displayName", "userPrincipalName", "userType", "accountEnabled", "mail", "department", "createdDateTime")
			return c, err
		})
	registerGraph(KindEntra, "groups", "Groups", 2,
		[]Column{colName("DISPLAY NAME"), colBool("SECURITY"), colBool("MAIL ENABLED"), colText("GROUP TYPES", 11, 24), colText("MAIL", 10, 40), colTime("CREATED")},
		func(raw json.RawMessage) ([]string, error) {
			c, m, err := fields(raw, "displayName", "securityEnabled", "mailEnabled")
			if err != nil {
				return nil, err
			}
			return append(c, joinStrings(m.Get("groupTypes")), scalar(m.Get("mail")), scalar(m.Get("createdDateTime"))), nil
		})
	registerGraph(KindEntra, "roles", "Roles (role definitions)", 3,
		[]Column{colName("DISPLAY NAME"), colBool("BUILT-IN"), colBool("ENABLED"), colText("DESCRIPTION", 16, 80)},
		func(raw json.RawMessage) ([]string, error) {
			c, _, err := fields(raw, "displayName", "isBuiltIn", "isEnabled", "description")
			return c, err
		})
	registerGraph(KindEntra, "applications", "Applications", 4,
		[]Column{colName("DISPLAY NAME"), colText("APP ID", 12, 36), colText("AUDIENCE", 8, 34), colTime("NEXT CREDENTIAL EXPIRY")},
		func(raw json.RawMessage) ([]string, error) {
			c, m, err := fields(raw, "displayName", "appId", "signInAudience")
			if err != nil {
				return nil, err
			}
			return append(c, earliestEnd(m, "keyCredentials", "passwordCredentials")), nil
		})
	registerGraph(KindEntra, "servicePrincipals", "Service principals", 5,
		[]Column{colName("DISPLAY NAME"), colText("TYPE", 8, 16), colText("APP ID", 12, 36), colBool("ENABLED"), colTime("NEXT CREDENTIAL EXPIRY")},
		func(raw json.RawMessage) ([]string, error) {
			c, m, err := fields(raw, "displayName", "servicePrincipalType", "appId", "accountEnabled")
			if err != nil {
				return nil, err
			}
			return append(c, earliestEnd(m, "keyCredentials", "passwordCredentials")), nil
		})
	registerGraph(KindEntra, "organization", "Tenant", 6,
		[]Column{colName("DISPLAY NAME"), colText("TENANT TYPE", 11, 16), colText("COUNTRY", 7, 8), colTime("CREATED")},
		func(raw json.RawMessage) ([]string, error) {
			c, _, err := fields(raw, "displayName", "tenantType", "countryLetterCode", "createdDateTime")
			return c, err
		})
	// Relation targets: the directory roles users hold (activated roles,
	// with members), the administrative units objects are in (with
	// members) and the app role assignments of service principals.
	registerGraph(KindEntra, "directoryRoles", "Directory roles (activated)", 7,
		[]Column{colName("DISPLAY NAME"), colText("DESCRIPTION", 16, 80), colText("ROLE TEMPLATE ID", 16, 36)},
		func(raw json.RawMessage) ([]string, error) {
			c, _, err := fields(raw, "displayName", "description", "roleTemplateId")
			return c, err
		})
	registerGraph(KindEntra, "administrativeUnits", "Administrative units", 8,
		[]Column{colName("DISPLAY NAME"), colText("DESCRIPTION", 16, 80), colText("VISIBILITY", 10, 16), colText("MEMBERSHIP TYPE", 15, 15)},
		func(raw json.RawMessage) ([]string, error) {
			c, _, err := fields(raw, "displayName", "description", "visibility", "membershipType")
			if err != nil {
				return nil, err
			}
			// null is Graph's default: public, assigned members.
			if c[2] == "" {
				c[2] = "Public"
			}
			if c[3] == "" {
				c[3] = "Assigned"
			}
			return c, nil
		})
	registerGraph(KindEntra, "appRoleAssignments", "App role assignments", 9,
		[]Column{colName("PRINCIPAL"), colText("PRINCIPAL TYPE", 9, 16), colText("RESOURCE", 12, 40), colText("APP ROLE ID", 12, 36), colTime("CREATED")},
		func(raw json.RawMessage) ([]string, error) {
			c, _, err := fields(raw, "principalDisplayName", "principalType", "resourceDisplayName", "appRoleId", "createdDateTime")
			return c, err
		})
	registerGraph(KindEntra, "credentials", "Credentials (secrets and certificates by expiry)", 10,
		[]Column{colName("OWNER"), colText("OWNER TYPE", 10, 16), colText("KIND", 6, 11), colText("NAME", 10, 40), colTime("EXPIRES"), colText("KEY ID", 12, 36)},
		func(raw json.RawMessage) ([]string, error) {
			c, _, err := fields(raw, "ownerDisplayName", "ownerType", "credentialType", "displayName", "endDateTime", "keyId")
			return c, err
		})
	registerGraph(KindEntraDevices, "devices", "Devices", 1,
		[]Column{colName("DISPLAY NAME"), colText("OS", 6, 12), colText("OS VERSION", 10, 20), colBool("COMPLIANT"), colBool("MANAGED"), colText("TRUST TYPE", 10, 14), colTime("LAST SIGN-IN"), colText("DEVICE ID", 12, 36)},
		func(raw json.RawMessage) ([]string, error) {
			c, _, err := fields(raw, "displayName", "operatingSystem", "operatingSystemVersion", "isCompliant", "isManaged", "trustType", "approximateLastSignInDateTime", "deviceId")
			return c, err
		})
}
