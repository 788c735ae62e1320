package transform

// The transformation maps of seeds 002 (Devices) and 003 (Users, Groups,
// Roles; Tenant, Applications and Service Principals pass through), row by
// row as the seeds print them. Keys are the record type names.
var Maps = map[string]Map{
	"devices": {Name: "Devices", Rules: []Rule{
		{Source: "id", Target: "asset.assetHeader.externalAssetId", Required: true},
		{Source: "id", Target: "asset.assetHeader.vendorAssetId", Required: true},
		{Source: "displayName", Target: "asset.assetDetail.name", Required: true},
		{Source: "operatingSystem", Target: "asset.assetDetail.hostAssetClass.operatingSystem"},
		{Source: "operatingSystemVersion", Target: "asset.assetDetail.hostAssetClass.operatingSystemVersion"},
		{Source: "isCompliant", Target: "asset.assetDetail.untypedAttributes.entraDeviceIsCompliant"},
		{Source: "isManaged", Target: "asset.assetDetail.untypedAttributes.entraDeviceIsManaged"},
		{Source: "deviceId", Target: "asset.assetDetail.typedAttributes.entraDeviceId"},
		{Source: "trustType", Target: "asset.assetDetail.typedAttributes.entraDeviceTrustType"},
		{Source: "approximateLastSignInDateTime", Target: "asset.assetDetail.typedAttributes.entraDeviceLastSignIn"},
	}},
	"groups": {Name: "Groups", Rules: []Rule{
		{Source: "id", Target: "asset.assetHeader.externalAssetId", Required: true},
		{Source: "id", Target: "asset.assetHeader.vendorAssetId", Required: true},
		{Source: "displayName", Target: "asset.assetDetail.name"},
		{Source: "id", Target: "asset.assetDetail.groupAssetClass.id"},
		{Source: "displayName", Target: "asset.assetDetail.groupAssetClass.name"},
		{Source: "displayName", Target: "asset.assetDetail.groupAssetClass.displayName"},
		{Source: "visibility", Target: "asset.assetDetail.groupAssetClass.visibility"},
		{Source: "description", Target: "asset.assetDetail.groupAssetClass.description"},
		{Source: "appRoleAssignments.value[].id", Target: "asset.assetDetail.groupAssetClass.permissions[].id"},
		{Source: "appRoleAssignments.value[].principalDisplayName", Target: "asset.assetDetail.groupAssetClass.permissions[].name"},
		{Source: "appRoleAssignments.value[].resourceDisplayName", Target: "asset.assetDetail.groupAssetClass.permissions[].resource"},
		{Source: "memberOf.value[].id", Target: "asset.assetRelations[].assetHeader.externalAssetId"},
		{Source: "memberOf.value[].id", Target: "asset.assetRelations[].assetHeader.vendorAssetId"},
		{Source: "memberOf.value[].displayName", Target: "asset.assetRelations[].assetDetail.name"},
		{Source: "memberOf.value[].id", Target: "asset.assetRelations[].assetDetail.roleAssetClass.id"},
		{Source: "memberOf.value[].description", Target: "asset.assetRelations[].assetDetail.roleAssetClass.description"},
		{Source: "memberOf.value[].displayName", Target: "asset.assetRelations[].assetDetail.roleAssetClass.displayName"},
		{Source: "memberOf.value[].displayName", Target: "asset.assetRelations[].assetDetail.roleAssetClass.name"},
		{Source: "securityIdentifier", Target: "asset.assetDetail.typedAttributes.entraGroupSecurityIdentifier"},
		{Source: "securityEnabled", Target: "asset.assetDetail.untypedAttributes.entraGroupSecurityEnabled"},
	}},
	"users": {Name: "Users", Rules: []Rule{
		{Source: "userPrincipalName", Target: "asset.assetHeader.externalAssetId", Required: true},
		{Source: "id", Target: "asset.assetHeader.vendorAssetId", Required: true},
		{Source: "accountEnabled", Target: "asset.assetHeader.status", Picker: activeInactive},
		{Source: "id", Target: "asset.assetDetail.userAssetClass.id"},
		{Source: "displayName", Target: "asset.assetDetail.userAssetClass.name"},
		{Source: "displayName", Target: "asset.assetDetail.name"},
		{Source: "accountEnabled", Target: "asset.assetDetail.userAssetClass.status", Picker: activeInactive},
		{Source: "mail", Target: "asset.assetDetail.userAssetClass.email"},
		{Source: "givenName", Target: "asset.assetDetail.userAssetClass.firstName"},
		{Source: "surname", Target: "asset.assetDetail.userAssetClass.lastName"},
		{Source: "displayName", Target: "asset.assetDetail.userAssetClass.displayName"},
		{Source: "mobilePhone", Target: "asset.assetDetail.userAssetClass.phone"},
		{Source: "jobTitle", Target: "asset.assetDetail.userAssetClass.jobTitle"},
		{Source: "lastPasswordChangeDateTime", Target: "asset.assetDetail.userAssetClass.passwordLastChangedAt"},
		{Source: "streetAddress", Target: "asset.assetDetail.userAssetClass.currentAddress.streetAddress"},
		{Source: "state", Target: "asset.assetDetail.userAssetClass.currentAddress.state"},
		{Source: "city", Target: "asset.assetDetail.userAssetClass.currentAddress.city"},
		{Source: "country", Target: "asset.assetDetail.userAssetClass.currentAddress.country"},
		{Source: "postalCode", Target: "asset.assetDetail.userAssetClass.currentAddress.isoCode"},
		{Source: "appRoleAssignments.value[].id", Target: "asset.assetDetail.userAssetClass.permissions[].id"},
		{Source: "appRoleAssignments.value[].principalDisplayName", Target: "asset.assetDetail.userAssetClass.permissions[].name"},
		{Source: "appRoleAssignments.value[].resourceDisplayName", Target: "asset.assetDetail.userAssetClass.permissions[].resource"},
		{Source: "memberOf.value[].id", Target: "asset.assetRelations[].assetHeader.externalAssetId"},
		{Source: "memberOf.value[].id", Target: "asset.assetRelations[].assetHeader.vendorAssetId"},
		{Source: "memberOf.value[].uniqueName", Target: "asset.assetRelations[].assetHeader.name"},
		{Source: "memberOf.value[].id", Target: "asset.assetRelations[].assetDetail.groupAssetClass.id"},
		{Source: "memberOf.value[].uniqueName", Target: "asset.assetRelations[].assetDetail.groupAssetClass.name"},
		{Source: "memberOf.value[].displayName", Target: "asset.assetRelations[].assetDetail.groupAssetClass.displayName"},
		{Source: "memberOf.value[].visibility", Target: "asset.assetRelations[].assetDetail.groupAssetClass.visibility"},
		{Source: "memberOf.value[].description", Target: "asset.assetRelations[].assetDetail.groupAssetClass.description"},
		{Source: "accountEnabled", Target: "asset.assetDetail.untypedAttributes.entraUserAccountEnabled"},
		{Source: "department", Target: "asset.assetDetail.typedAttributes.entraUserDepartment"},
	}},
	"roles": {Name: "Roles", Rules: []Rule{
		{Source: "id", Target: "asset.assetHeader.externalAssetId", Required: true},
		{Source: "id", Target: "asset.assetHeader.vendorAssetId", Required: true},
		{Source: "accountEnabled", Target: "asset.assetHeader.status", Picker: activeUnknown},
		{Source: "displayName", Target: "asset.assetDetail.name"},
		{Source: "id", Target: "asset.assetDetail.roleAssetClass.id"},
		{Source: "displayName", Target: "asset.assetDetail.roleAssetClass.name"},
		{Source: "displayName", Target: "asset.assetDetail.roleAssetClass.displayName"},
		{Source: "description", Target: "asset.assetDetail.roleAssetClass.description"},
		{Source: "resourceScopes", Target: "asset.assetDetail.roleAssetClass.resourceScopes"},
		{Source: "templateId", Target: "asset.assetDetail.typedAttributes.entraRoleTemplateId"},
	}},
	"organization":      passThrough("Tenant"),
	"applications":      passThrough("Applications"),
	"servicePrincipals": passThrough("Service Principal"),
}

// The FUNCTION_PICKER lookups of seed 003.
var (
	// Users: ACTIVE if true, INACTIVE if false, UNKNOWN if not present.
	activeInactive = &Picker{True: "ACTIVE", False: "INACTIVE", Absent: "UNKNOWN"}
	// Roles: ACTIVE if true, UNKNOWN if false or not present.
	activeUnknown = &Picker{True: "ACTIVE", False: "UNKNOWN", Absent: "UNKNOWN"}
)

// passThrough is the "* → thirdPartyObject.content.&" map.
func passThrough(name string) Map {
	return Map{Name: name, Rules: []Rule{{Source: "*", Target: "thirdPartyObject.content.&"}}}
}
