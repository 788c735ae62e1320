// Package relations reads the links between Entra ID objects that a sync
// stores (a group's members, an object's memberships, app role
// assignments) and renders them the way Microsoft Graph names them: the
// navigation properties memberOf, members, appRoleAssignments and
// appRoleAssignedTo, each a list of the related objects.
package relations

import "strings"

// Relation names, as Graph names the navigation properties. Each pair is
// stored together (store.LinkOp.Inverse).
const (
	Members            = "members"            // group, directory role or administrative unit → member
	MemberOf           = "memberOf"           // member → group, directory role or administrative unit
	AppRoleAssignedTo  = "appRoleAssignedTo"  // resource service principal → principal (link ID: the assignment)
	AppRoleAssignments = "appRoleAssignments" // principal → resource service principal (link ID: the assignment)

	// Qualys (seed 004): a CVE's affected hosts and a host's CVEs, derived
	// from the hosts' open findings.
	AffectedHosts = "affectedHosts" // cve → host asset
	HostCVEs      = "cves"          // host asset → cve
)

// Record types the relations point at.
const (
	TypeUsers               = "users"
	TypeGroups              = "groups"
	TypeDirectoryRoles      = "directoryRoles"
	TypeAdministrativeUnits = "administrativeUnits"
	TypeServicePrincipals   = "servicePrincipals"
	TypeDevices             = "devices"
	TypeApplications        = "applications"
	TypeAppRoleAssignments  = "appRoleAssignments"
	TypeHosts               = "hosts" // Qualys host assets
	TypeCVEs                = "cves"  // Qualys CVEs
)

// kinds maps the short kind stored on a link ("user") to its record type.
var kinds = map[string]string{
	"user":               TypeUsers,
	"group":              TypeGroups,
	"directoryRole":      TypeDirectoryRoles,
	"administrativeUnit": TypeAdministrativeUnits,
	"servicePrincipal":   TypeServicePrincipals,
	"device":             TypeDevices,
	"application":        TypeApplications,
	"host":               TypeHosts,
	"cve":                TypeCVEs,
}

// Kind turns an @odata.type ("#microsoft.graph.user") into the short kind
// stored on links ("user").
func Kind(odataType string) string {
	return strings.TrimPrefix(odataType, "#microsoft.graph.")
}

// TypeOfKind returns the record type of a short kind ("" if qtc does not
// sync that kind of object).
func TypeOfKind(kind string) string { return kinds[kind] }

// ODataType is the @odata.type of a short kind.
func ODataType(kind string) string { return "#microsoft.graph." + kind }
