package graphsim

import (
	"slices"
	"strings"
)

// kind is the type of a directory object.
type kind uint8

const (
	kUser kind = iota
	kGroup
	kDevice
	kApp
	kSP
	kRole    // directoryRole (an activated role)
	kRoleDef // unifiedRoleDefinition
	kOrg
	kAU // administrativeUnit
	numKinds
)

// schema is the property list of one entity type, in Graph's order. Every
// record of the type has every property (null when unset), so a property's
// index is its segment index in the record.
type schema struct {
	kind      kind
	name      string // "user"
	odataType string // "#microsoft.graph.user"
	set       string // entity set, "users"
	props     []string
	index     map[string]int // lower-case name → index
	def       []int          // default view: the properties Graph returns without $select
	all       []int
	idIdx     int
	nameIdx   int            // displayName
	filter    map[int]bool   // properties that support eq / startswith
	anyFilter map[int]bool   // string collections that support any(x:x eq '…')
	nav       map[string]int // navigation properties that $expand accepts (lower case) → relation
}

func newSchema(k kind, name, set string, props []string, defaults []string, filterable, anyable []string) *schema {
	s := &schema{kind: k, name: name, odataType: "#microsoft.graph." + name, set: set, props: props,
		index: make(map[string]int, len(props)), filter: map[int]bool{}, anyFilter: map[int]bool{}, nav: map[string]int{}}
	for i, p := range props {
		s.index[strings.ToLower(p)] = i
		s.all = append(s.all, i)
	}
	s.idIdx = s.index["id"]
	s.nameIdx = -1
	if i, ok := s.index["displayname"]; ok {
		s.nameIdx = i
	}
	if defaults == nil {
		s.def = s.all
	} else {
		for _, p := range defaults {
			s.def = append(s.def, s.mustIndex(p))
		}
		slices.Sort(s.def)
	}
	for _, p := range filterable {
		s.filter[s.mustIndex(p)] = true
	}
	for _, p := range anyable {
		s.anyFilter[s.mustIndex(p)] = true
	}
	return s
}

func (s *schema) mustIndex(p string) int {
	i, ok := s.index[strings.ToLower(p)]
	if !ok {
		panic("graphsim: schema " + s.name + " has no property " + p)
	}
	return i
}

// Relations that $expand and the relation endpoints serve.
const (
	relMembers = iota
	relTransitiveMembers
	relMemberOf
	relAppRoleAssignments
	relAppRoleAssignedTo
)

var (
	userSchema = newSchema(kUser, "user", "users", []string{
		"businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone", "officeLocation",
		"preferredLanguage", "surname", "userPrincipalName", "id",
		"accountEnabled", "ageGroup", "city", "companyName", "country", "createdDateTime", "creationType",
		"department", "employeeHireDate", "employeeId", "employeeType", "externalUserState",
		"externalUserStateChangeDateTime", "faxNumber", "identities", "imAddresses", "lastPasswordChangeDateTime",
		"mailNickname", "onPremisesDistinguishedName", "onPremisesDomainName", "onPremisesImmutableId",
		"onPremisesLastSyncDateTime", "onPremisesSamAccountName", "onPremisesSecurityIdentifier",
		"onPremisesSyncEnabled", "onPremisesUserPrincipalName", "otherMails", "passwordPolicies", "postalCode",
		"proxyAddresses", "securityIdentifier", "showInAddressList", "signInSessionsValidFromDateTime", "state",
		"streetAddress", "usageLocation", "userType",
	}, []string{
		"businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone", "officeLocation",
		"preferredLanguage", "surname", "userPrincipalName", "id",
	}, []string{
		"id", "displayName", "givenName", "surname", "userPrincipalName", "mail", "jobTitle", "department",
		"accountEnabled", "userType", "city", "country", "state", "companyName", "employeeId", "employeeType",
		"onPremisesSyncEnabled", "usageLocation", "mailNickname", "creationType", "officeLocation",
		"preferredLanguage", "externalUserState", "onPremisesSamAccountName", "onPremisesImmutableId",
	}, []string{"otherMails", "proxyAddresses", "businessPhones", "imAddresses"})

	groupSchema = newSchema(kGroup, "group", "groups", []string{
		"id", "deletedDateTime", "classification", "createdDateTime", "creationOptions", "description",
		"displayName", "expirationDateTime", "groupTypes", "isAssignableToRole", "mail", "mailEnabled",
		"mailNickname", "membershipRule", "membershipRuleProcessingState", "onPremisesDomainName",
		"onPremisesLastSyncDateTime", "onPremisesNetBiosName", "onPremisesSamAccountName",
		"onPremisesSecurityIdentifier", "onPremisesSyncEnabled", "preferredDataLocation", "preferredLanguage",
		"proxyAddresses", "renewedDateTime", "resourceBehaviorOptions", "resourceProvisioningOptions",
		"securityEnabled", "securityIdentifier", "theme", "uniqueName", "visibility",
		"onPremisesProvisioningErrors", "serviceProvisioningErrors",
	}, nil, []string{
		"id", "displayName", "description", "mail", "mailEnabled", "mailNickname", "securityEnabled",
		"isAssignableToRole", "visibility", "onPremisesSyncEnabled", "classification", "uniqueName",
		"membershipRuleProcessingState", "onPremisesSamAccountName", "securityIdentifier",
	}, []string{"groupTypes", "proxyAddresses", "resourceProvisioningOptions"})

	deviceSchema = newSchema(kDevice, "device", "devices", []string{
		"id", "deletedDateTime", "accountEnabled", "approximateLastSignInDateTime", "complianceExpirationDateTime",
		"createdDateTime", "deviceCategory", "deviceId", "deviceMetadata", "deviceOwnership", "deviceVersion",
		"displayName", "domainName", "enrollmentProfileName", "enrollmentType", "externalSourceName",
		"isCompliant", "isManaged", "isRooted", "managementType", "manufacturer", "mdmAppId", "model",
		"onPremisesLastSyncDateTime", "onPremisesSecurityIdentifier", "onPremisesSyncEnabled", "operatingSystem",
		"operatingSystemVersion", "physicalIds", "profileType", "registrationDateTime", "sourceType",
		"systemLabels", "trustType", "extensionAttributes", "alternativeSecurityIds",
	}, nil, []string{
		"id", "deviceId", "displayName", "operatingSystem", "operatingSystemVersion", "trustType",
		"accountEnabled", "isCompliant", "isManaged", "profileType", "manufacturer", "model", "deviceOwnership",
		"managementType", "enrollmentType", "onPremisesSyncEnabled", "deviceCategory",
	}, []string{"physicalIds", "systemLabels"})

	appSchema = newSchema(kApp, "application", "applications", []string{
		"id", "deletedDateTime", "appId", "applicationTemplateId", "disabledByMicrosoftStatus", "createdDateTime",
		"displayName", "description", "groupMembershipClaims", "identifierUris", "isDeviceOnlyAuthSupported",
		"isFallbackPublicClient", "notes", "publisherDomain", "serviceManagementReference", "signInAudience",
		"tags", "tokenEncryptionKeyId", "uniqueName", "samlMetadataUrl", "defaultRedirectUri", "certification",
		"optionalClaims", "servicePrincipalLockConfiguration", "requestSignatureVerification", "addIns", "api",
		"appRoles", "info", "keyCredentials", "parentalControlSettings", "passwordCredentials", "publicClient",
		"requiredResourceAccess", "verifiedPublisher", "web", "spa",
	}, nil, []string{
		"id", "appId", "displayName", "signInAudience", "publisherDomain", "uniqueName",
	}, []string{"identifierUris", "tags"})

	spSchema = newSchema(kSP, "servicePrincipal", "servicePrincipals", []string{
		"id", "deletedDateTime", "accountEnabled", "alternativeNames", "appDisplayName", "appDescription", "appId",
		"applicationTemplateId", "appOwnerOrganizationId", "appRoleAssignmentRequired", "description",
		"disabledByMicrosoftStatus", "displayName", "homepage", "loginUrl", "logoutUrl", "notes",
		"notificationEmailAddresses", "preferredSingleSignOnMode", "preferredTokenSigningKeyThumbprint",
		"replyUrls", "servicePrincipalNames", "servicePrincipalType", "signInAudience", "tags",
		"tokenEncryptionKeyId", "samlSingleSignOnSettings", "addIns", "appRoles", "info", "keyCredentials",
		"oauth2PermissionScopes", "passwordCredentials", "resourceSpecificApplicationPermissions",
		"verifiedPublisher",
	}, nil, []string{
		"id", "appId", "displayName", "servicePrincipalType", "accountEnabled", "appOwnerOrganizationId",
		"preferredSingleSignOnMode", "appDisplayName",
	}, []string{"servicePrincipalNames", "tags", "alternativeNames"})

	roleSchema = newSchema(kRole, "directoryRole", "directoryRoles", []string{
		"id", "deletedDateTime", "description", "displayName", "roleTemplateId",
	}, nil, []string{"id", "displayName", "roleTemplateId"}, nil)

	roleDefSchema = newSchema(kRoleDef, "unifiedRoleDefinition", "roleManagement/directory/roleDefinitions", []string{
		"id", "description", "displayName", "isBuiltIn", "isEnabled", "resourceScopes", "templateId", "version",
		"rolePermissions",
	}, nil, []string{"id", "displayName", "isBuiltIn", "isEnabled", "templateId"}, nil)

	orgSchema = newSchema(kOrg, "organization", "organization", []string{
		"id", "deletedDateTime", "businessPhones", "city", "country", "countryLetterCode", "createdDateTime",
		"defaultUsageLocation", "displayName", "isMultipleDataLocationsForServicesEnabled",
		"marketingNotificationEmails", "onPremisesLastSyncDateTime", "onPremisesSyncEnabled", "partnerTenantType",
		"postalCode", "preferredLanguage", "securityComplianceNotificationMails",
		"securityComplianceNotificationPhones", "state", "street", "technicalNotificationMails", "tenantType",
		"directorySizeQuota", "assignedPlans", "privacyProfile", "provisionedPlans", "verifiedDomains",
	}, nil, []string{"id"}, nil)

	auSchema = newSchema(kAU, "administrativeUnit", "directory/administrativeUnits", []string{
		"id", "deletedDateTime", "displayName", "description", "isMemberManagementRestricted", "membershipRule",
		"membershipType", "membershipRuleProcessingState", "visibility",
	}, nil, []string{"id", "displayName", "description"}, nil)

	schemas = [numKinds]*schema{userSchema, groupSchema, deviceSchema, appSchema, spSchema, roleSchema, roleDefSchema, orgSchema, auSchema}
)

func init() {
	userSchema.nav = map[string]int{"memberof": relMemberOf, "approleassignments": relAppRoleAssignments}
	groupSchema.nav = map[string]int{"members": relMembers, "memberof": relMemberOf, "approleassignments": relAppRoleAssignments}
	spSchema.nav = map[string]int{"approleassignedto": relAppRoleAssignedTo, "approleassignments": relAppRoleAssignments, "memberof": relMemberOf}
	roleSchema.nav = map[string]int{"members": relMembers}
	auSchema.nav = map[string]int{"members": relMembers}
}

// Object states.
const (
	live uint8 = iota
	softDeleted
	hardDeleted
)

// obj is one directory object. raw is never modified in place: a change
// stores new slices, so bytes handed out (Truth, pages being written) stay
// valid.
type obj struct {
	k     kind
	state uint8
	seq   uint32 // creation order, unique across kinds: listing and paging order
	id    string
	name  string // displayName
	raw   []byte
	segs  []uint32

	members  []*obj // groups, directory roles and administrative units: direct members, by seq
	memberOf []*obj // groups, directory roles and administrative units this object is a direct member of, by seq
	asg      []*assignment
	asgTo    []*assignment // service principals: assignments to this resource

	saved *savedRels // relations removed by a soft delete, restored with the object

	unified  bool // group: Microsoft 365 group (soft-deleted; security groups are deleted for good)
	dynamic  bool // group, administrative unit: dynamic membership
	upn      string
	appRoles []appRole // service principals: the roles principals can be assigned
}

type savedRels struct {
	memberOf []*obj
	asg      []*assignment
}

type appRole struct {
	id, value, name string
}

// assignment is an appRoleAssignment: principal (user, group or service
// principal) granted appRoleID of resource (a service principal).
type assignment struct {
	seq       uint32
	id        string
	appRoleID string
	created   string
	principal *obj
	resource  *obj
}

func (o *obj) schema() *schema { return schemas[o.k] }

// seg returns property k's segment: `"name":value`.
func (o *obj) seg(k int) []byte { return o.raw[o.segs[k] : o.segs[k+1]-1] }

// value returns property k's JSON value.
func (o *obj) value(k int) []byte {
	s := o.seg(k)
	return s[len(o.schema().props[k])+3:]
}

// setProp replaces property k's value (JSON). The caller holds the write lock.
func (o *obj) setProp(k int, val []byte) {
	sch := o.schema()
	start, end := int(o.segs[k]), int(o.segs[k+1])-1
	seg := make([]byte, 0, len(sch.props[k])+3+len(val))
	seg = append(seg, '"')
	seg = append(seg, sch.props[k]...)
	seg = append(seg, '"', ':')
	seg = append(seg, val...)
	raw := make([]byte, 0, len(o.raw)-(end-start)+len(seg))
	raw = append(raw, o.raw[:start]...)
	raw = append(raw, seg...)
	raw = append(raw, o.raw[end:]...)
	d := len(seg) - (end - start)
	segs := slices.Clone(o.segs)
	for i := k + 1; i < len(segs); i++ {
		segs[i] = uint32(int(segs[i]) + d)
	}
	o.raw, o.segs = raw, segs
	if k == sch.nameIdx {
		o.name = unquote(val)
	}
}

// unquote returns a JSON string value's text (the simulator's own strings
// need no unescaping beyond quotes and backslashes).
func unquote(v []byte) string {
	if len(v) < 2 || v[0] != '"' {
		return ""
	}
	s := string(v[1 : len(v)-1])
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// viewLen returns the length of appendView's output without annotation
// or extras.
func (o *obj) viewLen(view []int) int {
	n := 1 + len(view)
	for _, k := range view {
		n += int(o.segs[k+1]) - 1 - int(o.segs[k])
	}
	return n
}

// appendView appends the object with the given properties (schema indexes,
// ascending), an optional @odata.type annotation first, and extra members
// (already JSON, each `"name":value`) last.
func (o *obj) appendView(dst []byte, view []int, annotate bool, extra ...[]byte) []byte {
	dst = append(dst, '{')
	first := true
	if annotate {
		dst = append(dst, `"@odata.type":"`...)
		dst = append(dst, o.schema().odataType...)
		dst = append(dst, '"')
		first = false
	}
	for _, k := range view {
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = append(dst, o.seg(k)...)
	}
	for _, e := range extra {
		if len(e) == 0 {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = append(dst, e...)
	}
	return append(dst, '}')
}

// insertBySeq inserts o into a list ordered by seq (no duplicates).
func insertBySeq(list []*obj, o *obj) ([]*obj, bool) {
	i, found := slices.BinarySearchFunc(list, o.seq, func(e *obj, s uint32) int { return cmpU32(e.seq, s) })
	if found {
		return list, false
	}
	return slices.Insert(list, i, o), true
}

// removeBySeq removes o from a list ordered by seq.
func removeBySeq(list []*obj, o *obj) ([]*obj, bool) {
	i, found := slices.BinarySearchFunc(list, o.seq, func(e *obj, s uint32) int { return cmpU32(e.seq, s) })
	if !found {
		return list, false
	}
	return slices.Delete(list, i, i+1), true
}

func containsBySeq(list []*obj, o *obj) bool {
	_, found := slices.BinarySearchFunc(list, o.seq, func(e *obj, s uint32) int { return cmpU32(e.seq, s) })
	return found
}

func cmpU32(a, b uint32) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func sortBySeq(list []*obj) {
	slices.SortFunc(list, func(a, b *obj) int { return cmpU32(a.seq, b.seq) })
}

func removeAssignment(list []*assignment, a *assignment) []*assignment {
	i, found := slices.BinarySearchFunc(list, a.seq, func(e *assignment, s uint32) int { return cmpU32(e.seq, s) })
	if !found {
		return list
	}
	return slices.Delete(list, i, i+1)
}

func insertAssignment(list []*assignment, a *assignment) []*assignment {
	i, found := slices.BinarySearchFunc(list, a.seq, func(e *assignment, s uint32) int { return cmpU32(e.seq, s) })
	if found {
		return list
	}
	return slices.Insert(list, i, a)
}

// principalType names an assignment principal's kind as Graph does.
func principalType(o *obj) string {
	switch o.k {
	case kUser:
		return "User"
	case kGroup:
		return "Group"
	}
	return "ServicePrincipal"
}

// appendAssignment appends an appRoleAssignment as Graph serialises it.
func appendAssignment(dst []byte, a *assignment, view map[string]bool) []byte {
	var w jw
	w.b = dst
	w.open()
	want := func(p string) bool { return view == nil || view[p] }
	w.str("id", a.id)
	if want("deletedDateTime") {
		w.raw("deletedDateTime", []byte("null"))
	}
	if want("appRoleId") {
		w.str("appRoleId", a.appRoleID)
	}
	if want("createdDateTime") {
		w.str("createdDateTime", a.created)
	}
	if want("principalDisplayName") {
		w.str("principalDisplayName", a.principal.name)
	}
	if want("principalId") {
		w.str("principalId", a.principal.id)
	}
	if want("principalType") {
		w.str("principalType", principalType(a.principal))
	}
	if want("resourceDisplayName") {
		w.str("resourceDisplayName", a.resource.name)
	}
	if want("resourceId") {
		w.str("resourceId", a.resource.id)
	}
	w.close()
	return w.b
}

var assignmentProps = []string{"id", "deletedDateTime", "appRoleId", "createdDateTime", "principalDisplayName", "principalId", "principalType", "resourceDisplayName", "resourceId"}
