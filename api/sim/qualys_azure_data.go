package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Azure CIEM records. Each struct has exactly the fields of the release
// notes' sample for its type, in the sample's order (see
// testdata/*_sample.json); arrays that are empty in every sample are
// served empty.

var (
	emptyList = []json.RawMessage{} // marshals as []
	emptyObj  = json.RawMessage(`{}`)
)

const azureRegion = "all-region"

// azureRecord is implemented by the CIEM record structs.
type azureRecord interface {
	// meta returns the record's uuid and subscription ("" for tenant-level).
	meta() (uuid, sub string)
	// touch applies a change seen by a scan at now: some attribute
	// changes and updated / lastDiscoveredOn become now.
	touch(r *rng, now time.Time)
}

// azureEntry marshals v into an entry. The entry's update time is read
// back from the served "updated" text, so that windows select exactly what
// a client comparing the served values would (some types serve
// milliseconds or 100 ns).
func azureEntry(v azureRecord) *entry {
	id, sub := v.meta()
	raw := marshalRecord(v)
	return &entry{id: id, raw: raw, updated: recordUpdated(raw), acct: sub}
}

// recordUpdated returns the time in the record's "updated" member (0 when
// there is none or it does not parse).
func recordUpdated(raw []byte) int64 {
	const key = `"updated":"`
	i := bytes.Index(raw, []byte(key))
	if i < 0 {
		return 0
	}
	rest := raw[i+len(key):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return 0
	}
	v := string(rest[:j])
	for _, l := range []string{time.RFC3339Nano, fmtMilliPlus, qualysTimeLayout} {
		if t, err := time.Parse(l, v); err == nil {
			return t.UnixNano()
		}
	}
	return 0
}

// changeAzure decodes raw as T, touches it and re-marshals it.
func changeAzure[T any, P interface {
	*T
	azureRecord
}](raw []byte, r *rng, now time.Time) *entry {
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		panic("sim: decode own record: " + err.Error())
	}
	P(&v).touch(r, now)
	return azureEntry(P(&v))
}

// ---- ENTRA_ID_USER ----

type entraUser struct {
	NotDiscoveredInLast7Days bool              `json:"notDiscoveredInLast7Days"`
	ResourceID               string            `json:"resourceId"`
	ConnectorID              string            `json:"connectorId"`
	Created                  string            `json:"created"`
	DisplayName              string            `json:"displayName"`
	ScanID                   string            `json:"scanId"`
	GroupNames               []string          `json:"groupNames"`
	GroupIDs                 []string          `json:"groupIds"`
	SubscriptionName         *string           `json:"subscriptionName"`
	CustomerID               string            `json:"customerId"`
	TenantID                 string            `json:"tenantId"`
	QualysTags               []json.RawMessage `json:"qualysTags"`
	Region                   string            `json:"region"`
	ResourceType             string            `json:"resourceType"`
	PreferredLanguage        string            `json:"preferredLanguage"`
	Mail                     string            `json:"mail"`
	JobTitle                 string            `json:"jobTitle"`
	GivenName                string            `json:"givenName"`
	AssociatedIdentities     []string          `json:"associatedIdentities"`
	FirstDiscoveredOn        string            `json:"firstDiscoveredOn"`
	UUID                     string            `json:"uuid"`
	LastDiscoveredOn         string            `json:"lastDiscoveredOn"`
	Tags                     []json.RawMessage `json:"tags"`
	Identities               string            `json:"identities"`
	OnPremisesSyncEnabled    string            `json:"onPremisesSyncEnabled"`
	MobilePhone              string            `json:"mobilePhone"`
	OfficeLocation           string            `json:"officeLocation"`
	Surname                  string            `json:"surname"`
	UserType                 string            `json:"userType"`
	Updated                  string            `json:"updated"`
	UserPrincipalName        string            `json:"userPrincipalName"`
}

func (u *entraUser) meta() (string, string) { return u.UUID, "" }

func (u *entraUser) touch(r *rng, now time.Time) {
	switch r.intn(4) {
	case 0:
		u.JobTitle = r.pick(jobTitles)
	case 1:
		u.OfficeLocation = r.pick(offices)
	case 2:
		u.MobilePhone = fmt.Sprintf("+1 425 555 %04d", r.intn(10000))
	default:
		if u.UserType == "Member" && u.OnPremisesSyncEnabled == "No" {
			u.OnPremisesSyncEnabled = "Yes"
		} else {
			u.PreferredLanguage = r.pick(languages)
		}
	}
	u.NotDiscoveredInLast7Days = false
	u.LastDiscoveredOn = nanoZ(now)
	u.Updated = nanoZ(now)
}

// userObjectID is the Entra object id (resourceId) of user i, the first
// draw of its stream.
func (g *azureGen) userObjectID(i int) string { return recRNG(g.base[TypeEntraIDUser], i).uuid() }

func (g *azureGen) genUser(i int, fresh bool, now time.Time) *entry {
	a := g.az
	r := recRNG(g.base[TypeEntraIDUser], i)
	u := entraUser{
		ResourceID: r.uuid(), ConnectorID: a.connectorID, ScanID: a.scanID,
		CustomerID: a.customerID, TenantID: a.tenantID, QualysTags: emptyList, Region: azureRegion,
		ResourceType: "entra_id_user", AssociatedIdentities: []string{a.domain}, Tags: emptyList,
		GroupNames: []string{}, GroupIDs: []string{},
	}
	u.UUID = nameUUID(a.customerID, u.ResourceType, u.ResourceID)
	tl := g.timeline(r, fresh, now, 6*365*day)
	first, last, n := personName(i)
	local := strings.ToLower(first + "." + last)
	if n > 0 {
		local += strconv.Itoa(n + 1)
	}
	u.DisplayName = first + " " + last
	if r.chance(0.14) {
		ext := r.pick(guestDomains)
		u.UserType = "Guest"
		u.Mail = local + "@" + ext
		u.UserPrincipalName = local + "_" + ext + "#EXT#@" + a.domain
		u.OnPremisesSyncEnabled = "No"
		if r.chance(0.3) {
			u.GivenName, u.Surname = first, last
		}
	} else {
		u.UserType = "Member"
		domain := a.mailDomain
		if r.chance(0.2) {
			domain = a.domain
		}
		u.UserPrincipalName = local + "@" + domain
		if r.chance(0.9) {
			u.Mail = local + "@" + a.mailDomain
		}
		u.GivenName, u.Surname = first, last
		u.OnPremisesSyncEnabled = "No"
		if r.chance(0.45) {
			u.OnPremisesSyncEnabled = "Yes"
		}
		if r.chance(0.75) {
			u.JobTitle = r.pick(jobTitles)
		}
		if r.chance(0.6) {
			u.OfficeLocation = r.pick(offices)
		}
		if r.chance(0.3) {
			u.MobilePhone = fmt.Sprintf("+1 425 555 %04d", r.intn(10000))
		}
		if r.chance(0.35) {
			u.PreferredLanguage = r.pick(languages)
		}
	}
	if groups := g.groups(); len(groups) > 0 {
		k := []int{0, 0, 1, 1, 1, 2, 3}[r.intn(7)]
		seen := map[int]bool{}
		for ; k > 0; k-- {
			j := r.intn(len(groups))
			if !seen[j] {
				seen[j] = true
				u.GroupNames = append(u.GroupNames, groups[j].name)
				u.GroupIDs = append(u.GroupIDs, groups[j].id)
			}
		}
	}
	u.Created = tfmt(tl.created, fmtSecZ)
	u.FirstDiscoveredOn = tfmt(tl.firstSeen, fmtMilliPlus)
	u.LastDiscoveredOn = nanoZ(tl.lastSeen)
	u.Updated = nanoZ(tl.updated)
	u.NotDiscoveredInLast7Days = tl.stale(g.day0)
	return azureEntry(&u)
}

// ---- ENTRA_ID_GROUP ----

type entraGroup struct {
	NotDiscoveredInLast7Days      bool              `json:"notDiscoveredInLast7Days"`
	ResourceID                    string            `json:"resourceId"`
	ConnectorID                   string            `json:"connectorId"`
	Created                       string            `json:"created"`
	DisplayName                   string            `json:"displayName"`
	ScanID                        string            `json:"scanId"`
	GroupNames                    []string          `json:"groupNames"`
	GroupIDs                      []string          `json:"groupIds"`
	SubscriptionName              *string           `json:"subscriptionName"`
	CustomerID                    string            `json:"customerId"`
	TenantID                      string            `json:"tenantId"`
	QualysTags                    []json.RawMessage `json:"qualysTags"`
	Region                        string            `json:"region"`
	ResourceType                  string            `json:"resourceType"`
	PreferredLanguage             string            `json:"preferredLanguage"`
	MembershipRule                string            `json:"membershipRule"`
	ExpirationDateTime            string            `json:"expirationDateTime"`
	MembershipRuleProcessingState string            `json:"membershipRuleProcessingState"`
	Mail                          string            `json:"mail"`
	Visibility                    string            `json:"visibility"`
	MailEnabled                   bool              `json:"mailEnabled"`
	CreatedDateTime               string            `json:"createdDateTime"`
	Description                   string            `json:"description"`
	FirstDiscoveredOn             string            `json:"firstDiscoveredOn"`
	Classification                string            `json:"classification"`
	UUID                          string            `json:"uuid"`
	LastDiscoveredOn              string            `json:"lastDiscoveredOn"`
	Tags                          []json.RawMessage `json:"tags"`
	OnPremisesSyncEnabled         string            `json:"onPremisesSyncEnabled"`
	RenewedDateTime               string            `json:"renewedDateTime"`
	IsAssignableToRole            string            `json:"isAssignableToRole"`
	SecurityIdentifier            string            `json:"securityIdentifier"`
	SecurityEnabled               bool              `json:"securityEnabled"`
	Updated                       string            `json:"updated"`
	MailNickname                  string            `json:"mailNickname"`
}

func (v *entraGroup) meta() (string, string) { return v.UUID, "" }

func (v *entraGroup) touch(r *rng, now time.Time) {
	if v.MailEnabled && r.chance(0.5) {
		v.RenewedDateTime = tfmt(now, fmtSecZ)
	} else {
		v.Description = r.pick([]string{"Owned by " + r.pick(qualysTeams), "Access reviewed " + now.UTC().Format("2006-01-02"), ""})
	}
	v.NotDiscoveredInLast7Days = false
	v.LastDiscoveredOn = nanoZ(now)
	v.Updated = nanoZ(now)
}

var (
	groupSuffix  = []string{"Admins", "Engineers", "Readers", "Contributors", "On-Call", "Approvers", "Developers", "Operators"}
	departments  = []string{"Sales", "Engineering", "Finance", "Marketing", "Human Resources", "Legal", "Operations", "Support"}
	groupSpecial = []string{"All Employees", "AAD DC Administrators", "Break Glass Accounts", "Conditional Access Exclusions", "Guest Users", "Privileged Role Reviewers"}
)

type groupIdent struct{ id, name string }

// groupName is group i's display name and kind; it depends on i only.
func groupName(i int) (name, kind string) {
	if i < len(groupSpecial) {
		return groupSpecial[i], "security"
	}
	j := i - len(groupSpecial)
	team := qualysTeams[j%len(qualysTeams)]
	switch k := j / len(qualysTeams); {
	case j%5 == 3:
		return fmt.Sprintf("%s Team", team) + suffixN(k), "m365"
	case j%7 == 5:
		return fmt.Sprintf("Dynamic - %s", groupDepartment(i)) + suffixN(j/len(departments)), "dynamic"
	default:
		return fmt.Sprintf("sg-%s-%s", strings.ToLower(strings.ReplaceAll(team, " ", "-")),
			strings.ToLower(groupSuffix[(j+k)%len(groupSuffix)])) + suffixN(k/len(groupSuffix)), "security"
	}
}

// groupDepartment is the department a dynamic group i selects.
func groupDepartment(i int) string { return departments[(i-len(groupSpecial))%len(departments)] }

func suffixN(k int) string {
	if k == 0 {
		return ""
	}
	return fmt.Sprintf("-%d", k+1)
}

// groupIdentOf returns group i's object id and name without building it.
func (g *azureGen) groupIdentOf(i int) groupIdent {
	name, _ := groupName(i)
	return groupIdent{id: recRNG(g.base[TypeEntraIDGroup], i).uuid(), name: name}
}

func (g *azureGen) genGroup(i int, fresh bool, now time.Time) *entry {
	a := g.az
	r := recRNG(g.base[TypeEntraIDGroup], i)
	v := entraGroup{
		ResourceID: r.uuid(), ConnectorID: a.connectorID, ScanID: a.scanID,
		CustomerID: a.customerID, TenantID: a.tenantID, QualysTags: emptyList, Region: azureRegion,
		ResourceType: "entra_id_group", Tags: emptyList, GroupNames: []string{}, GroupIDs: []string{},
	}
	v.UUID = nameUUID(a.customerID, v.ResourceType, v.ResourceID)
	tl := g.timeline(r, fresh, now, 4*365*day)
	name, kind := groupName(i)
	v.DisplayName = name
	switch kind {
	case "m365":
		v.MailEnabled = true
		v.SecurityEnabled = r.chance(0.2)
		v.MailNickname = strings.ToLower(strings.NewReplacer(" ", "", "-", "").Replace(name))
		v.Mail = v.MailNickname + "@" + a.mailDomain
		v.Visibility = r.pick([]string{"Private", "Public"})
		if r.chance(0.4) {
			v.ExpirationDateTime = tfmt(g.day0.Add(r.dur(30*day, 365*day)), fmtSecZ)
		}
		v.Description = name + " collaboration group"
	case "dynamic":
		v.SecurityEnabled = true
		v.MailNickname = r.hex(8) + "-" + r.hex(1)
		v.MembershipRule = fmt.Sprintf(`(user.department -eq "%s")`, groupDepartment(i))
		v.MembershipRuleProcessingState = "On"
		if r.chance(0.15) {
			v.MembershipRuleProcessingState = "Paused"
		}
	default:
		v.SecurityEnabled = true
		v.MailNickname = r.hex(8) + "-" + r.hex(1)
		if r.chance(0.2) {
			v.IsAssignableToRole = "true"
		}
		if r.chance(0.2) {
			v.OnPremisesSyncEnabled = "Yes"
		}
	}
	if i > 0 && r.chance(0.15) { // nested in an earlier group
		p := g.groupIdentOf(r.intn(i))
		v.GroupNames, v.GroupIDs = []string{p.name}, []string{p.id}
	}
	v.SecurityIdentifier = fmt.Sprintf("S-1-12-1-%d-%d-%d-%d", uint32(r.next()), uint32(r.next()), uint32(r.next()), uint32(r.next()))
	v.Created = tfmt(tl.created, fmtSecZ)
	v.CreatedDateTime = v.Created
	v.RenewedDateTime = v.Created
	if v.MailEnabled && r.chance(0.5) {
		v.RenewedDateTime = tfmt(tl.created.Add(r.dur(0, tl.updated.Sub(tl.created)+time.Second)), fmtSecZ)
	}
	v.FirstDiscoveredOn = tfmt(tl.firstSeen, fmtMilliPlus)
	v.LastDiscoveredOn = nanoZ(tl.lastSeen)
	v.Updated = nanoZ(tl.updated)
	v.NotDiscoveredInLast7Days = tl.stale(g.day0)
	return azureEntry(&v)
}

// ---- ENTRA_ID_APPLICATION_REGISTRATION and ENTRA_ID_SERVICE_PRINCIPAL ----

// keyCredential is a certificate credential, fields in the sample's order.
type keyCredential struct {
	CustomKeyIdentifier string `json:"customKeyIdentifier"`
	StartDateTime       string `json:"startDateTime"`
	DisplayName         string `json:"displayName"`
	Usage               string `json:"usage"`
	KeyID               string `json:"keyId"`
	EndDateTime         string `json:"endDateTime"`
	Type                string `json:"type"`
}

// passwordCredential is a client secret. No sample shows one; the fields
// are Microsoft Graph's (secretText is never returned), ordered like
// keyCredential's.
type passwordCredential struct {
	CustomKeyIdentifier *string `json:"customKeyIdentifier"`
	StartDateTime       string  `json:"startDateTime"`
	DisplayName         string  `json:"displayName"`
	Hint                string  `json:"hint"`
	KeyID               string  `json:"keyId"`
	EndDateTime         string  `json:"endDateTime"`
}

// entraApp is the record of both app registrations and service
// principals (their samples have the same fields in the same order).
type entraApp struct {
	NotDiscoveredInLast7Days               bool                 `json:"notDiscoveredInLast7Days"`
	ResourceID                             string               `json:"resourceId"`
	ConnectorID                            string               `json:"connectorId"`
	Created                                string               `json:"created"`
	DisplayName                            string               `json:"displayName"`
	ScanID                                 string               `json:"scanId"`
	GroupNames                             []string             `json:"groupNames"`
	GroupIDs                               []string             `json:"groupIds"`
	SubscriptionName                       *string              `json:"subscriptionName"`
	CustomerID                             string               `json:"customerId"`
	TenantID                               string               `json:"tenantId"`
	QualysTags                             []json.RawMessage    `json:"qualysTags"`
	Region                                 string               `json:"region"`
	ResourceType                           string               `json:"resourceType"`
	ApplicationTemplateID                  string               `json:"applicationTemplateId"`
	ReplyURL                               []string             `json:"replyUrl"`
	Notes                                  string               `json:"notes"`
	DisabledByMicrosoftStatus              string               `json:"disabledByMicrosoftStatus"`
	Description                            string               `json:"description"`
	DeletedDateTime                        string               `json:"deletedDateTime"`
	PreferredSingleSignOnMode              string               `json:"preferredSingleSignOnMode"`
	CreatedByAppID                         string               `json:"createdByAppId"`
	UUID                                   string               `json:"uuid"`
	LastDiscoveredOn                       string               `json:"lastDiscoveredOn"`
	AccountEnabled                         bool                 `json:"accountEnabled"`
	SamlSingleSignOnSetting                json.RawMessage      `json:"samlSingleSignOnSetting"`
	SignInAudience                         string               `json:"signInAudience"`
	OAuth2PermissionScope                  []json.RawMessage    `json:"oauth2PermissionScope"`
	ServicePrincipalName                   []string             `json:"servicePrincipalName"`
	LoginURL                               string               `json:"loginUrl"`
	AppID                                  string               `json:"appId"`
	TokenEncryptionKeyID                   string               `json:"tokenEncryptionKeyId"`
	ResourceSpecificApplicationPermissions []json.RawMessage    `json:"resourceSpecificApplicationPermissions"`
	Tag                                    []string             `json:"tag"`
	IsDisabled                             string               `json:"isDisabled"`
	AlternativeName                        []string             `json:"alternativeName"`
	KeyCredential                          []keyCredential      `json:"keyCredential"`
	ServicePrincipalType                   string               `json:"servicePrincipalType"`
	PreferredTokenSigningKeyThumbprint     string               `json:"preferredTokenSigningKeyThumbprint"`
	NotificationEmailAddresses             []string             `json:"notificationEmailAddresses"`
	AddIn                                  []json.RawMessage    `json:"addIn"`
	VerifiedPublisherDetails               json.RawMessage      `json:"verifiedPublisherDetails"`
	PasswordCredential                     []passwordCredential `json:"passwordCredential"`
	AppDisplayName                         string               `json:"appDisplayName"`
	AppDescription                         string               `json:"appDescription"`
	FirstDiscoveredOn                      string               `json:"firstDiscoveredOn"`
	AppOwnerOrganizationID                 string               `json:"appOwnerOrganizationId"`
	Tags                                   []json.RawMessage    `json:"tags"`
	AppRoleAssignmentRequired              bool                 `json:"appRoleAssignmentRequired"`
	Information                            json.RawMessage      `json:"information"`
	Updated                                string               `json:"updated"`
	AppRoles                               []json.RawMessage    `json:"appRoles"`
	Homepage                               string               `json:"homepage"`
}

func (v *entraApp) meta() (string, string) { return v.UUID, "" }

func (v *entraApp) touch(r *rng, now time.Time) {
	switch {
	case v.ServicePrincipalType == "ManagedIdentity" && len(v.KeyCredential) > 0:
		// Managed identity certificates rotate automatically.
		v.KeyCredential[0] = managedIdentityCert(r, now, v.KeyCredential[0].DisplayName)
	case v.ServicePrincipalType == "Application" && v.AppOwnerOrganizationID == v.TenantID && r.chance(0.6):
		// A new client secret.
		v.PasswordCredential = append(v.PasswordCredential, newPasswordCredential(r, now.Add(-r.dur(0, time.Hour)), 180*day))
	default:
		v.AppRoleAssignmentRequired = !v.AppRoleAssignmentRequired
	}
	v.NotDiscoveredInLast7Days = false
	v.LastDiscoveredOn = nanoZ(now)
	v.Updated = tfmt(now, fmtMilliPlus)
}

// Well-known first-party applications (real application ids).
var firstPartyApps = []struct{ name, appID string }{
	{"Microsoft Graph", "00000003-0000-0000-c000-000000000000"},
	{"Windows Azure Active Directory", "00000002-0000-0000-c000-000000000000"},
	{"Office 365 Exchange Online", "00000002-0000-0ff1-ce00-000000000000"},
	{"Office 365 SharePoint Online", "00000003-0000-0ff1-ce00-000000000000"},
	{"Windows Azure Service Management API", "797f4846-ba00-4fd7-ba43-dac1f8f63013"},
	{"Azure Key Vault", "cfa8b339-82a2-471a-a3c9-0fc0be7a4093"},
	{"Microsoft Azure CLI", "04b07795-8ddb-461a-bbee-02f9e1bf7b46"},
	{"Azure Portal", "c44b4083-3bb0-49c1-b47d-974e53cbdf3c"},
	{"Azure Storage", "e406a681-f3d4-42a8-90b6-c2b029497af1"},
	{"Power BI Service", "00000009-0000-0000-c000-000000000000"},
	{"Azure DevOps", "499b84ac-1321-427f-aa17-267ca6975798"},
	{"Microsoft Intune", "0000000a-0000-0000-c000-000000000000"},
	{"Graph Explorer", "de8bc8b5-d9f9-48b1-a8ad-b748da725064"},
}

// microsoftTenant owns the first-party applications.
const microsoftTenant = "f8cdef31-a31e-4b4a-93e4-5f571e91255a"

var (
	appPrefixes = []string{"payments", "checkout", "orders", "inventory", "crm", "hr-portal", "reporting", "grafana",
		"jenkins", "github-actions", "terraform", "argocd", "backup", "datadog", "splunk", "servicenow", "salesforce-sso",
		"workday-sso", "okta-bridge", "qualys-cspm", "billing", "search", "notifications", "mobile-api", "partner-api"}
	appEnvs       = []string{"prod", "staging", "dev", "test", "sandbox"}
	secretNames   = []string{"prod-secret", "CI deploy", "terraform", "rotation-2025", "temp", "", "github-oidc-fallback", "key vault sync"}
	miPurposes    = []string{"aks-kubelet", "aks-agentpool", "disk-csi-driver-uami", "aro-operator-uami", "func-runtime", "logic-app", "data-factory", "keyvault-reader", "acr-pull", "backup-vault", "sql-auditing", "app-gateway-tls"}
	mi3Resources  = []string{"Microsoft.Compute/virtualMachines", "Microsoft.Web/sites", "Microsoft.Logic/workflows", "Microsoft.Automation/automationAccounts", "Microsoft.CognitiveServices/accounts", "Microsoft.DataFactory/factories", "Microsoft.Sql/servers"}
	signInWeights = []int{75, 20, 5}
	signIns       = []string{"AzureADMyOrg", "AzureADMultipleOrgs", "AzureADandPersonalMicrosoftAccount"}
	creatorApps   = []string{"c44b4083-3bb0-49c1-b47d-974e53cbdf3c", "04b07795-8ddb-461a-bbee-02f9e1bf7b46", "de8bc8b5-d9f9-48b1-a8ad-b748da725064"}
)

// appName is app registration i's display name (distinct for every i).
func appName(i int) string {
	p := appPrefixes[i%len(appPrefixes)]
	k := i / len(appPrefixes)
	name := p + "-" + appEnvs[k%len(appEnvs)]
	if k >= len(appEnvs) {
		name += fmt.Sprintf("-%02d", k/len(appEnvs)+1)
	}
	return name
}

// credentialEnd is a credential's end: spread from expired (a year ago)
// to years ahead.
func credentialEnd(r *rng, day0 time.Time) time.Time {
	switch r.weighted([]int{25, 15, 35, 25}) {
	case 0:
		return day0.Add(-r.dur(day, 365*day)) // expired
	case 1:
		return day0.Add(r.dur(0, 30*day)) // expiring soon
	case 2:
		return day0.Add(r.dur(30*day, 365*day))
	default:
		return day0.Add(r.dur(365*day, 3*365*day))
	}
}

func newPasswordCredential(r *rng, start time.Time, validity time.Duration) passwordCredential {
	return passwordCredential{
		StartDateTime: tfmt(start, fmtSecZ),
		DisplayName:   r.pick(secretNames),
		Hint:          r.b64(3)[:3],
		KeyID:         r.uuid(),
		EndDateTime:   tfmt(start.Add(validity), fmtSecZ),
	}
}

func newCertificate(r *rng, end time.Time, validity time.Duration, subject, usage string) keyCredential {
	return keyCredential{
		CustomKeyIdentifier: r.upperHex(40),
		StartDateTime:       tfmt(end.Add(-validity), fmtSecZ),
		DisplayName:         "CN=" + subject,
		Usage:               usage,
		KeyID:               r.uuid(),
		EndDateTime:         tfmt(end, fmtSecZ),
		Type:                "AsymmetricX509Cert",
	}
}

// managedIdentityCert is a managed identity's 90-day certificate, issued
// at t.
func managedIdentityCert(r *rng, t time.Time, subject string) keyCredential {
	start := t.Truncate(5 * time.Minute)
	return keyCredential{
		CustomKeyIdentifier: r.upperHex(40),
		StartDateTime:       tfmt(start, fmtSecZ),
		DisplayName:         subject,
		Usage:               "Verify",
		KeyID:               r.uuid(),
		EndDateTime:         tfmt(start.Add(90*day), fmtSecZ),
		Type:                "AsymmetricX509Cert",
	}
}

func (g *azureGen) newEntraApp(typ string, objID string) entraApp {
	a := g.az
	v := entraApp{
		ResourceID: objID, ConnectorID: a.connectorID, ScanID: a.scanID,
		GroupNames: []string{}, GroupIDs: []string{}, CustomerID: a.customerID, TenantID: a.tenantID,
		QualysTags: emptyList, Region: azureRegion, ResourceType: typ, ReplyURL: []string{},
		SamlSingleSignOnSetting: emptyObj, OAuth2PermissionScope: emptyList, ResourceSpecificApplicationPermissions: emptyList,
		Tag: []string{}, AlternativeName: []string{}, KeyCredential: []keyCredential{}, NotificationEmailAddresses: []string{},
		AddIn: emptyList, VerifiedPublisherDetails: emptyObj, PasswordCredential: []passwordCredential{}, Tags: emptyList,
		Information: emptyObj, AppRoles: emptyList, AccountEnabled: true,
	}
	v.UUID = nameUUID(a.customerID, typ, objID)
	return v
}

func (g *azureGen) setAppTimes(v *entraApp, tl timeline) {
	v.Created = tfmt(tl.created, fmtSecZ)
	v.LastDiscoveredOn = nanoZ(tl.lastSeen)
	v.FirstDiscoveredOn = tfmt(tl.firstSeen, fmtMilliPlus)
	v.Updated = tfmt(tl.updated, fmtMilliPlus)
	v.NotDiscoveredInLast7Days = tl.stale(g.day0)
}

// appIdent is what a service principal shares with its application.
type appIdent struct {
	appID, name, signIn string
}

// appRegIdent returns app registration i's application id and name.
func (g *azureGen) appRegIdent(i int) appIdent {
	r := recRNG(g.base[TypeEntraIDApplicationRegistration], i)
	r.uuid() // object id
	appID := r.uuid()
	return appIdent{appID: appID, name: appName(i), signIn: signIns[r.weighted(signInWeights)]}
}

func (g *azureGen) genAppRegistration(i int, fresh bool, now time.Time) *entry {
	a := g.az
	r := recRNG(g.base[TypeEntraIDApplicationRegistration], i)
	v := g.newEntraApp("entra_id_app_registration", r.uuid())
	v.AppID = r.uuid()
	v.SignInAudience = signIns[r.weighted(signInWeights)]
	tl := g.timeline(r, fresh, now, 5*365*day)
	name := appName(i)
	v.DisplayName, v.AppDisplayName = name, name
	v.ServicePrincipalType = "Application"
	v.AppOwnerOrganizationID = a.tenantID
	v.CreatedByAppID = creatorApps[r.weighted([]int{60, 25, 15})]
	v.ServicePrincipalName = []string{v.AppID}
	if r.chance(0.3) {
		v.ServicePrincipalName = append(v.ServicePrincipalName, "api://"+v.AppID)
	}
	if r.chance(0.5) {
		v.ReplyURL = []string{"https://" + name + "." + a.mailDomain + "/signin-oidc"}
		v.Homepage = "https://" + name + "." + a.mailDomain
	}
	switch r.intn(4) {
	case 0, 1:
		v.Tag = []string{"WindowsAzureActiveDirectoryIntegratedApp"}
	case 2:
		v.Tag = []string{name}
	}
	if r.chance(0.3) {
		v.Notes = "Owner: " + r.pick(qualysTeams) + " team"
	}
	v.AccountEnabled = r.chance(0.95)
	v.AppRoleAssignmentRequired = r.chance(0.2)
	for k := []int{0, 0, 1, 1, 1, 2, 3}[r.intn(7)]; k > 0; k-- {
		end := credentialEnd(r, g.day0)
		validity := []time.Duration{180 * day, 365 * day, 730 * day}[r.intn(3)]
		v.PasswordCredential = append(v.PasswordCredential, newPasswordCredential(r, end.Add(-validity), validity))
	}
	if r.chance(0.3) {
		end := credentialEnd(r, g.day0)
		v.KeyCredential = append(v.KeyCredential, newCertificate(r, end, 365*day, name+"."+a.mailDomain, "Verify"))
	}
	g.setAppTimes(&v, tl)
	return azureEntry(&v)
}

// Kinds of service principal, by index range.
const (
	spFirstParty = iota
	spApplication
	spUserAssigned
	spSystemAssigned
)

// spKind maps service principal i to its kind and the index of what it
// belongs to (first-party app, app registration, managed identity).
func (g *azureGen) spKind(i int) (kind, j int) {
	n := g.counts[TypeEntraIDServicePrincipal]
	nFirst := min(len(firstPartyApps), n/4)
	nApps := min(g.counts[TypeEntraIDApplicationRegistration], (n-nFirst)/2)
	nMI := min(g.counts[TypeManagedIdentities], n-nFirst-nApps)
	switch {
	case i >= n: // added later
		return spSystemAssigned, i
	case i < nFirst:
		return spFirstParty, i
	case i < nFirst+nApps:
		return spApplication, i - nFirst
	case i < nFirst+nApps+nMI:
		return spUserAssigned, i - nFirst - nApps
	}
	return spSystemAssigned, i
}

// spObjectID returns service principal i's object id without building it.
func (g *azureGen) spObjectID(i int) string {
	if kind, j := g.spKind(i); kind == spUserAssigned {
		return g.managedIdentityIdent(j).principalID
	}
	return recRNG(g.base[TypeEntraIDServicePrincipal], i).uuid()
}

func (g *azureGen) genServicePrincipal(i int, fresh bool, now time.Time) *entry {
	a := g.az
	r := recRNG(g.base[TypeEntraIDServicePrincipal], i)
	objID := r.uuid()
	kind, j := g.spKind(i)
	var mi miIdent
	if kind == spUserAssigned {
		mi = g.managedIdentityIdent(j)
		objID = mi.principalID
	}
	v := g.newEntraApp("entra_id_service_principal", objID)
	tl := g.timeline(r, fresh, now, 4*365*day)
	switch kind {
	case spFirstParty:
		app := firstPartyApps[j]
		v.DisplayName, v.AppDisplayName, v.AppID = app.name, app.name, app.appID
		v.ServicePrincipalType = "Application"
		v.AppOwnerOrganizationID = microsoftTenant
		v.SignInAudience = "AzureADMultipleOrgs"
		v.ServicePrincipalName = []string{app.appID}
		v.CreatedByAppID = ""
	case spApplication:
		app := g.appRegIdent(j)
		v.DisplayName, v.AppDisplayName, v.AppID = app.name, app.name, app.appID
		v.ServicePrincipalType = "Application"
		v.AppOwnerOrganizationID = a.tenantID
		v.SignInAudience = app.signIn
		v.ServicePrincipalName = []string{app.appID}
		v.CreatedByAppID = creatorApps[0]
		v.Tag = []string{"WindowsAzureActiveDirectoryIntegratedApp"}
		v.AppRoleAssignmentRequired = r.chance(0.3)
		if r.chance(0.15) { // SAML signing certificate
			v.PreferredSingleSignOnMode = "saml"
			v.KeyCredential = append(v.KeyCredential, newCertificate(r, credentialEnd(r, g.day0), 3*365*day, "Microsoft Azure Federated SSO Certificate", "Verify"))
		}
	default:
		sub := a.sub(r)
		var path, name string
		if kind == spUserAssigned {
			name = mi.name
			path = mi.resourceID
			sub = mi.sub
		} else {
			name = fmt.Sprintf("%s-%s-%02d", r.pick([]string{"vm", "func", "app", "logic", "ai", "adf", "sql"}), r.pick(appPrefixes), r.intn(100))
			path = fmt.Sprintf("/subscriptions/%s/resourcegroups/%s/providers/%s/%s", sub.id, r.pick(azureRGs), r.pick(mi3Resources), name)
		}
		v.DisplayName = name
		v.AppID = r.uuid()
		v.ServicePrincipalType = "ManagedIdentity"
		v.ServicePrincipalName = []string{v.AppID, "https://identity.azure.net/" + r.b64(32)}
		v.AlternativeName = []string{"isExplicit=" + map[bool]string{true: "True", false: "False"}[kind == spUserAssigned], path}
		v.CreatedByAppID = r.uuid()
		// The certificate rotates about every 45 days: issued within the
		// last 45 days of the last scan (stale records have expired ones).
		v.KeyCredential = append(v.KeyCredential, managedIdentityCert(r, tl.lastSeen.Add(-r.dur(0, 45*day)), "CN="+v.AppID))
		if r.chance(0.05) {
			v.Tag = []string{"AgentCreatedBy:Foundry", "AgenticInstance"}
		}
	}
	g.setAppTimes(&v, tl)
	return azureEntry(&v)
}

// ---- MANAGED_IDENTITIES ----

type managedIdentity struct {
	NotDiscoveredInLast7Days bool              `json:"notDiscoveredInLast7Days"`
	ResourceID               string            `json:"resourceId"`
	ConnectorID              string            `json:"connectorId"`
	Created                  string            `json:"created"`
	DisplayName              string            `json:"displayName"`
	ScanID                   string            `json:"scanId"`
	SubscriptionName         string            `json:"subscriptionName"`
	CustomerID               string            `json:"customerId"`
	QualysTags               []json.RawMessage `json:"qualysTags"`
	Region                   string            `json:"region"`
	SubscriptionID           string            `json:"subscriptionId"`
	ResourceType             string            `json:"resourceType"`
	ResourceGroupName        string            `json:"resourceGroupName"`
	ClientID                 string            `json:"clientId"`
	IsolationScope           string            `json:"isolationScope"`
	TenantID                 string            `json:"tenantId"`
	PrincipalID              string            `json:"principalId"`
	Location                 string            `json:"location"`
	FirstDiscoveredOn        string            `json:"firstDiscoveredOn"`
	Updated                  string            `json:"updated"`
	UUID                     string            `json:"uuid"`
	LastDiscoveredOn         string            `json:"lastDiscoveredOn"`
	Tags                     []json.RawMessage `json:"tags"`
}

func (v *managedIdentity) meta() (string, string) { return v.UUID, v.SubscriptionID }

func (v *managedIdentity) touch(r *rng, now time.Time) {
	if v.IsolationScope == "None" && r.chance(0.3) {
		v.IsolationScope = "Regional"
	} else {
		v.IsolationScope = "None"
	}
	v.NotDiscoveredInLast7Days = false
	v.LastDiscoveredOn = nanoZ(now)
	v.Updated = nanoZ(now)
}

type miIdent struct {
	principalID, clientID, name, rg, resourceID string
	sub                                         azureSub
}

// managedIdentityIdent returns managed identity i's identity without
// building the record.
func (g *azureGen) managedIdentityIdent(i int) miIdent {
	r := recRNG(g.base[TypeManagedIdentities], i)
	var m miIdent
	m.principalID = r.uuid()
	m.clientID = r.uuid()
	m.sub = g.az.sub(r)
	m.rg = r.pick(azureRGs)
	m.name = fmt.Sprintf("%s-%d", miPurposes[i%len(miPurposes)], 1775627459327+int64(r.intn(1e9)))
	if r.chance(0.5) {
		m.name = fmt.Sprintf("id-%s-%s", r.pick(appPrefixes), r.pick(appEnvs))
		if i >= len(appPrefixes) {
			m.name += fmt.Sprintf("-%02d", i)
		}
	}
	m.resourceID = fmt.Sprintf("/subscriptions/%s/resourcegroups/%s/providers/Microsoft.ManagedIdentity/userAssignedIdentities/%s", m.sub.id, m.rg, m.name)
	return m
}

func (g *azureGen) genManagedIdentity(i int, fresh bool, now time.Time) *entry {
	a := g.az
	m := g.managedIdentityIdent(i)
	r := recRNG(g.base[TypeManagedIdentities]^0x5bd1e995, i)
	tl := g.timeline(r, fresh, now, 3*365*day)
	v := managedIdentity{
		ResourceID: m.resourceID, ConnectorID: m.sub.connectorID, DisplayName: m.name, ScanID: m.sub.scanID,
		SubscriptionName: m.sub.name, CustomerID: a.customerID, QualysTags: emptyList, Region: azureRegion,
		SubscriptionID: m.sub.id, ResourceType: "managed_identities", ResourceGroupName: m.rg,
		ClientID: m.clientID, IsolationScope: "None", TenantID: a.tenantID, PrincipalID: m.principalID,
		Location: r.location(), Tags: emptyList,
	}
	if r.chance(0.08) {
		v.IsolationScope = "Regional"
	}
	v.UUID = nameUUID(a.customerID, v.ResourceType, v.ResourceID)
	// Qualys stamps "created" when it first sees the identity.
	v.Created = tfmt(tl.firstSeen, fmtMilliPlus)
	v.FirstDiscoveredOn = v.Created
	v.Updated = nanoZ(tl.updated)
	v.LastDiscoveredOn = nanoZ(tl.lastSeen)
	v.NotDiscoveredInLast7Days = tl.stale(g.day0)
	return azureEntry(&v)
}

// ---- ROLE_DEFINITIONS ----

type roleDefinition struct {
	NotDiscoveredInLast7Days bool              `json:"notDiscoveredInLast7Days"`
	ResourceID               string            `json:"resourceId"`
	ConnectorID              string            `json:"connectorId"`
	Created                  string            `json:"created"`
	DisplayName              string            `json:"displayName"`
	ScanID                   string            `json:"scanId"`
	SubscriptionName         string            `json:"subscriptionName"`
	CustomerID               string            `json:"customerId"`
	QualysTags               []json.RawMessage `json:"qualysTags"`
	Region                   string            `json:"region"`
	SubscriptionID           string            `json:"subscriptionId"`
	ResourceType             string            `json:"resourceType"`
	UpdatedBy                *string           `json:"updatedBy"`
	DataActions              []string          `json:"dataActions"`
	Description              string            `json:"description"`
	RoleType                 string            `json:"roleType"`
	FirstDiscoveredOn        string            `json:"firstDiscoveredOn"`
	UUID                     string            `json:"uuid"`
	LastDiscoveredOn         string            `json:"lastDiscoveredOn"`
	Tags                     []json.RawMessage `json:"tags"`
	NotActions               []string          `json:"notActions"`
	CreatedBy                *string           `json:"createdBy"`
	RoleName                 string            `json:"roleName"`
	NotDataActions           []string          `json:"notDataActions"`
	Updated                  string            `json:"updated"`
	Actions                  []string          `json:"actions"`
	AssignableScopes         []string          `json:"assignableScopes"`
}

func (v *roleDefinition) meta() (string, string) { return v.UUID, v.SubscriptionID }

func (v *roleDefinition) touch(r *rng, now time.Time) {
	if v.RoleType == "CustomRole" {
		extra := r.pick(customExtraActions)
		if !containsString(v.Actions, extra) {
			v.Actions = append(v.Actions, extra)
		}
	} else {
		v.Description = strings.TrimSuffix(v.Description, ".") + "."
	}
	v.Updated = tfmt(now, fmt7Z)
	v.NotDiscoveredInLast7Days = false
	v.LastDiscoveredOn = nanoZ(now)
}

func containsString(xs []string, x string) bool {
	for _, s := range xs {
		if s == x {
			return true
		}
	}
	return false
}

// rdLayout is how the role definitions split: each subscription lists the
// same perSub built-in roles, then custom roles follow.
type rdLayout struct{ subs, perSub, builtIn, custom int }

func (g *azureGen) rdLayout() rdLayout {
	n := g.counts[TypeRoleDefinitions]
	s := len(g.az.subs)
	custom := min(n, max(10, n/40))
	per := min(len(builtInRoles), (n-custom)/s)
	return rdLayout{subs: s, perSub: per, builtIn: per * s, custom: n - per*s}
}

// rdResourceID returns role definition i's resourceId without building it.
func (g *azureGen) rdResourceID(i int) string {
	l := g.rdLayout()
	if i < l.builtIn {
		sub, role := g.az.subs[i%l.subs], builtInRoles[i/l.subs]
		return "/subscriptions/" + sub.id + "/providers/Microsoft.Authorization/roleDefinitions/" + role.guid
	}
	r := recRNG(g.base[TypeRoleDefinitions], i)
	guid := r.uuid()
	sub := g.az.sub(r)
	return "/subscriptions/" + sub.id + "/providers/Microsoft.Authorization/roleDefinitions/" + guid
}

var customRoleNames = []string{"qualys_snapshot_scanner_role", "VM Start Stop Operator", "Network Read and Join",
	"DNS Zone Record Manager", "Key Vault Secret Rotator", "AKS Cluster Operator", "Cost Management Reader Plus",
	"Storage Lifecycle Manager", "Backup Restore Operator", "App Service Deployer", "Log Analytics Query Reader",
	"Tag Contributor (custom)", "Policy Exemption Writer", "Private Endpoint Approver", "SQL Firewall Manager"}

var customExtraActions = []string{"Microsoft.Resources/tags/write", "Microsoft.Insights/diagnosticSettings/write",
	"Microsoft.Network/networkInterfaces/join/action", "Microsoft.Compute/virtualMachines/restart/action",
	"Microsoft.KeyVault/vaults/secrets/write"}

func (g *azureGen) genRoleDefinition(i int, fresh bool, now time.Time) *entry {
	a := g.az
	l := g.rdLayout()
	var v roleDefinition
	var tl timeline
	if i < l.builtIn && !fresh {
		sub, role := a.subs[i%l.subs], builtInRoles[i/l.subs]
		// A built-in role is the same in every subscription: its dates
		// come from the role, the discovery times from the record.
		rr := recRNG(g.base[TypeRoleDefinitions]^0x9e3779b9, i/l.subs)
		r := recRNG(g.base[TypeRoleDefinitions], i)
		tl = newTimeline(r, g.day0, 0)
		tl.updated = rr.recentUpdate(g.day0)
		tl.created = time.Date(2015+rr.intn(10), time.Month(1+rr.intn(12)), 1+rr.intn(28), rr.intn(24), rr.intn(60), rr.intn(60), rr.intn(1e7)*100, time.UTC)
		if tl.created.After(tl.updated) {
			tl.created = tl.updated.Add(-rr.dur(day, 2*365*day))
		}
		if tl.lastSeen.Before(tl.updated) {
			tl.lastSeen = tl.updated.Add(time.Minute)
		}
		v = roleDefinition{
			ResourceID:  "/subscriptions/" + sub.id + "/providers/Microsoft.Authorization/roleDefinitions/" + role.guid,
			ConnectorID: sub.connectorID, DisplayName: role.guid, ScanID: sub.scanID, SubscriptionName: sub.name,
			SubscriptionID: sub.id, RoleType: "BuiltInRole", RoleName: role.name, Description: role.description,
			Actions: role.actions, NotActions: role.notActions, DataActions: role.dataActions, NotDataActions: []string{},
			AssignableScopes: []string{"/"},
		}
	} else {
		r := recRNG(g.base[TypeRoleDefinitions], i)
		guid := r.uuid()
		sub := a.sub(r)
		tl = g.timeline(r, fresh, now, 3*365*day)
		c := i - l.builtIn
		name := customRoleNames[max(0, c)%len(customRoleNames)]
		if c >= len(customRoleNames) || c < 0 {
			name += fmt.Sprintf(" (%s)", r.pick(azureSubs))
			if c >= len(customRoleNames)*len(azureSubs) || c < 0 {
				name += fmt.Sprintf(" %d", i)
			}
		}
		scope := "/subscriptions/" + sub.id
		if r.chance(0.3) {
			scope = "/providers/Microsoft.Management/managementGroups/" + r.pick(a.mgs)
		}
		by := g.userObjectID(r.intn(max(1, g.counts[TypeEntraIDUser])))
		v = roleDefinition{
			ResourceID:  "/subscriptions/" + sub.id + "/providers/Microsoft.Authorization/roleDefinitions/" + guid,
			ConnectorID: sub.connectorID, DisplayName: guid, ScanID: sub.scanID, SubscriptionName: sub.name,
			SubscriptionID: sub.id, RoleType: "CustomRole", RoleName: name, CreatedBy: &by, UpdatedBy: &by,
			Description: "Custom role maintained by the " + r.pick(qualysTeams) + " team.",
			Actions:     []string{r.pick(customExtraActions), "Microsoft.Resources/subscriptions/resourceGroups/read"},
			NotActions:  []string{}, DataActions: []string{}, NotDataActions: []string{},
			AssignableScopes: []string{scope},
		}
		if c == 0 {
			v.Description = "Qualys custom role to discover and scan VMs across all subscriptions in the tenant."
			v.Actions = []string{"Microsoft.Compute/disks/beginGetAccess/action", "Microsoft.Compute/disks/endGetAccess/action", "Microsoft.Compute/snapshots/write"}
		}
	}
	v.CustomerID, v.QualysTags, v.Region, v.Tags = a.customerID, emptyList, azureRegion, emptyList
	v.ResourceType = "role_definitions"
	v.UUID = nameUUID(a.customerID, v.ResourceType, v.ResourceID)
	v.Created = tfmt(tl.created, fmt7Z)
	v.Updated = tfmt(tl.updated, fmt7Z)
	v.FirstDiscoveredOn = tfmt(tl.firstSeen, fmtMilliPlus)
	v.LastDiscoveredOn = nanoZ(tl.lastSeen)
	v.NotDiscoveredInLast7Days = tl.stale(g.day0)
	return azureEntry(&v)
}

// ---- ROLE_ASSIGNMENT ----

type roleAssignment struct {
	NotDiscoveredInLast7Days bool              `json:"notDiscoveredInLast7Days"`
	ControlsFailed           int               `json:"controlsFailed"`
	ResourceID               string            `json:"resourceId"`
	ConnectorID              string            `json:"connectorId"`
	Created                  string            `json:"created"`
	DisplayName              string            `json:"displayName"`
	ScanID                   string            `json:"scanId"`
	SubscriptionName         string            `json:"subscriptionName"`
	CustomerID               string            `json:"customerId"`
	QualysTags               []json.RawMessage `json:"qualysTags"`
	Region                   string            `json:"region"`
	SubscriptionID           string            `json:"subscriptionId"`
	ResourceType             string            `json:"resourceType"`
	UpdatedBy                string            `json:"updatedBy"`
	Description              string            `json:"description"`
	PrincipalID              string            `json:"principalId"`
	FirstDiscoveredOn        string            `json:"firstDiscoveredOn"`
	UUID                     string            `json:"uuid"`
	LastDiscoveredOn         string            `json:"lastDiscoveredOn"`
	Tags                     []json.RawMessage `json:"tags"`
	RoleDefinitionID         string            `json:"roleDefinitionId"`
	CreatedBy                string            `json:"createdBy"`
	Scope                    string            `json:"scope"`
	Updated                  string            `json:"updated"`
	PrincipalType            string            `json:"principalType"`
}

func (v *roleAssignment) meta() (string, string) { return v.UUID, v.SubscriptionID }

func (v *roleAssignment) touch(r *rng, now time.Time) {
	// Only the description of an assignment can change.
	v.Description = "Reviewed " + now.UTC().Format("2006-01-02") + " (" + fmt.Sprintf("%s-%d", r.pick(qualysTicketPrefixes), r.between(1000, 9999)) + ")"
	v.ControlsFailed = r.intn(3)
	v.Updated = tfmt(now, fmt7Z)
	v.NotDiscoveredInLast7Days = false
	v.LastDiscoveredOn = nanoZ(now)
}

// pickRoleDefinition returns the resourceId of a served (initial) role
// definition, preferring the common built-in roles of sub.
func (g *azureGen) pickRoleDefinition(r *rng, subIdx int) string {
	l := g.rdLayout()
	if l.builtIn+l.custom == 0 {
		return ""
	}
	if l.perSub > 0 && (l.custom == 0 || r.chance(0.95)) {
		k := r.intn(min(6, l.perSub)) // Owner, Contributor, Reader, ...
		if r.chance(0.4) {
			k = r.intn(l.perSub)
		}
		return g.rdResourceID(k*l.subs + subIdx)
	}
	return g.rdResourceID(l.builtIn + r.intn(l.custom))
}

func (g *azureGen) genRoleAssignment(i int, fresh bool, now time.Time) *entry {
	a := g.az
	r := recRNG(g.base[TypeRoleAssignment], i)
	name := r.uuid()
	subIdx := r.intn(len(a.subs))
	if r.chance(0.5) {
		subIdx = r.intn(min(3, len(a.subs)))
	}
	sub := a.subs[subIdx]
	tl := g.timeline(r, fresh, now, 3*365*day)
	var scope string
	switch r.weighted([]int{45, 35, 10, 10}) {
	case 0:
		scope = "/subscriptions/" + sub.id
	case 1:
		scope = "/subscriptions/" + sub.id + "/resourceGroups/" + r.pick(azureRGs)
	case 2:
		scope = "/providers/Microsoft.Management/managementGroups/" + r.pick(a.mgs)
	default:
		scope = fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.KeyVault/vaults/kv-%s-%s", sub.id, r.pick(azureRGs), r.pick(appPrefixes), r.pick(appEnvs))
	}
	v := roleAssignment{
		ResourceID: scope + "/providers/Microsoft.Authorization/roleAssignments/" + name, ConnectorID: sub.connectorID,
		DisplayName: name, ScanID: sub.scanID, SubscriptionName: sub.name, CustomerID: a.customerID,
		QualysTags: emptyList, Region: azureRegion, SubscriptionID: sub.id, ResourceType: "role_assignment",
		Tags: emptyList, Scope: scope, RoleDefinitionID: g.pickRoleDefinition(r, subIdx),
	}
	// An assignment made now uses a role definition that exists now.
	for try := 0; fresh && g.rdServed != nil && !g.rdServed(v.RoleDefinitionID) && try < 100; try++ {
		v.RoleDefinitionID = g.pickRoleDefinition(r, subIdx)
	}
	switch r.weighted([]int{55, 20, 25}) {
	case 0:
		v.PrincipalType = "User"
		v.PrincipalID = g.pickID(r, TypeEntraIDUser, g.userObjectID)
	case 1:
		v.PrincipalType = "Group"
		v.PrincipalID = g.pickID(r, TypeEntraIDGroup, func(j int) string { return g.groupIdentOf(j).id })
	default:
		v.PrincipalType = "ServicePrincipal"
		v.PrincipalID = g.pickID(r, TypeEntraIDServicePrincipal, g.spObjectID)
	}
	v.CreatedBy = g.pickID(r, TypeEntraIDUser, g.userObjectID)
	v.UpdatedBy = v.CreatedBy
	if r.chance(0.15) {
		v.Description = "Granted for " + fmt.Sprintf("%s-%d", r.pick(qualysTicketPrefixes), r.between(1000, 9999))
	}
	if r.chance(0.1) {
		v.ControlsFailed = r.between(1, 3)
	}
	v.UUID = nameUUID(a.customerID, v.ResourceType, v.ResourceID)
	v.Created = tfmt(tl.created, fmt7Z)
	v.Updated = v.Created
	if r.chance(0.3) || fresh {
		v.Updated = tfmt(tl.updated, fmt7Z)
	} else {
		tl.updated = tl.created
	}
	v.FirstDiscoveredOn = tfmt(tl.firstSeen, fmtMilliPlus)
	v.LastDiscoveredOn = nanoZ(tl.lastSeen)
	v.NotDiscoveredInLast7Days = tl.stale(g.day0)
	return azureEntry(&v)
}

// pickID returns the id of one of the initial records of typ (a random
// GUID when there are none).
func (g *azureGen) pickID(r *rng, typ string, id func(int) string) string {
	if n := g.counts[typ]; n > 0 {
		return id(r.intn(n))
	}
	return r.uuid()
}

// ---- DENY_ASSIGNMENT ----

type denyPrincipal struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

type denyAssignment struct {
	NotDiscoveredInLast7Days bool              `json:"notDiscoveredInLast7Days"`
	ControlsFailed           int               `json:"controlsFailed"`
	ResourceID               string            `json:"resourceId"`
	ConnectorID              string            `json:"connectorId"`
	Created                  string            `json:"created"`
	DisplayName              string            `json:"displayName"`
	ScanID                   string            `json:"scanId"`
	SubscriptionName         string            `json:"subscriptionName"`
	CustomerID               string            `json:"customerId"`
	QualysTags               []json.RawMessage `json:"qualysTags"`
	Region                   string            `json:"region"`
	SubscriptionID           string            `json:"subscriptionId"`
	ResourceType             string            `json:"resourceType"`
	ConditionVersion         string            `json:"conditionVersion"`
	UpdatedBy                string            `json:"updatedBy"`
	IsSystemProtected        bool              `json:"isSystemProtected"`
	DataActions              []string          `json:"dataActions"`
	Description              string            `json:"description"`
	Principals               []denyPrincipal   `json:"principals"`
	FirstDiscoveredOn        string            `json:"firstDiscoveredOn"`
	ExcludePrincipals        []denyPrincipal   `json:"excludePrincipals"`
	UUID                     string            `json:"uuid"`
	LastDiscoveredOn         string            `json:"lastDiscoveredOn"`
	Tags                     []json.RawMessage `json:"tags"`
	NotActions               []string          `json:"notActions"`
	Condition                string            `json:"condition"`
	DenyAssignmentName       string            `json:"denyAssignmentName"`
	CreatedBy                string            `json:"createdBy"`
	Scope                    string            `json:"scope"`
	NotDataActions           []string          `json:"notDataActions"`
	Updated                  string            `json:"updated"`
	Actions                  []string          `json:"actions"`
	DoNotApplyToChildScopes  bool              `json:"doNotApplyToChildScopes"`
}

func (v *denyAssignment) meta() (string, string) { return v.UUID, v.SubscriptionID }

func (v *denyAssignment) touch(r *rng, now time.Time) {
	// A stack update re-applies the deny assignment, maybe excluding an
	// extra principal.
	if len(v.ExcludePrincipals) == 0 || r.chance(0.5) {
		v.ExcludePrincipals = append(v.ExcludePrincipals, denyPrincipal{ID: r.uuid(), Type: "ServicePrincipal"})
	} else {
		v.ExcludePrincipals = v.ExcludePrincipals[:len(v.ExcludePrincipals)-1]
	}
	v.Updated = tfmt(now, fmt7Z)
	v.NotDiscoveredInLast7Days = false
	v.LastDiscoveredOn = nanoZ(now)
}

var denyTargets = []struct{ provider, prefix string }{
	{"Microsoft.Network/networkSecurityGroups", "nsg"}, {"Microsoft.Network/publicIPAddresses", "pip"},
	{"Microsoft.Storage/storageAccounts", "st"}, {"Microsoft.KeyVault/vaults", "kv"},
	{"Microsoft.Network/virtualNetworks", "vnet"}, {"Microsoft.Compute/virtualMachines", "vm"},
}

func (g *azureGen) genDenyAssignment(i int, fresh bool, now time.Time) *entry {
	a := g.az
	r := recRNG(g.base[TypeDenyAssignment], i)
	name := r.uuid()
	sub := a.sub(r)
	tl := g.timeline(r, fresh, now, 2*365*day)
	rg := r.pick(azureRGs)
	v := denyAssignment{
		ConnectorID: sub.connectorID, DisplayName: name, ScanID: sub.scanID, SubscriptionName: sub.name,
		CustomerID: a.customerID, QualysTags: emptyList, Region: azureRegion, SubscriptionID: sub.id,
		ResourceType: "deny_assignment", IsSystemProtected: true, DataActions: []string{}, NotDataActions: []string{},
		Principals:        []denyPrincipal{{ID: "00000000-0000-0000-0000-000000000000", Type: "SystemDefined"}},
		ExcludePrincipals: []denyPrincipal{}, Tags: emptyList, Actions: []string{"*"},
	}
	v.CreatedBy = g.pickID(r, TypeEntraIDServicePrincipal, g.spObjectID)
	v.UpdatedBy = v.CreatedBy
	if r.chance(0.75) { // deployment stack with denySettings
		stack := fmt.Sprintf("/subscriptions/%s/providers/Microsoft.Resources/deploymentStacks/%s", sub.id,
			r.pick([]string{"denyDeploymentStack", "platform-guardrails", "landing-zone-stack", "network-baseline"}))
		t := denyTargets[r.intn(len(denyTargets))]
		v.Scope = fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/%s/%s-%s-%02d", sub.id, rg, t.provider, t.prefix, r.pick(appPrefixes), r.intn(100))
		v.DenyAssignmentName = fmt.Sprintf("Deny assignment '%s' created by Deployment Stack '%s'.", name, stack)
		v.Description = fmt.Sprintf("Created by Deployment Stack '%s'.", stack)
		v.ConditionVersion = "2.0"
		v.Condition = fmt.Sprintf("@Environment[Microsoft.Resources/TokenClaims:ApplicationId] GuidNotEquals %s || "+
			"@Request[Microsoft.Resources/headers:deploymentStacksResourceId] StringNotEqualsIgnoreCase '%s'", a.stackAppID(), stack)
		v.NotActions = []string{"*/read"}
		v.DoNotApplyToChildScopes = true
		if r.chance(0.3) {
			v.ExcludePrincipals = append(v.ExcludePrincipals, denyPrincipal{ID: g.pickID(r, TypeEntraIDServicePrincipal, g.spObjectID), Type: "ServicePrincipal"})
		}
	} else { // managed application
		app := fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Solutions/applications/%s", sub.id, rg, r.pick(appPrefixes)+"-managed-app")
		v.Scope = fmt.Sprintf("/subscriptions/%s/resourceGroups/mrg-%s-%d", sub.id, r.pick(appPrefixes), 20240000000000+int64(r.intn(1e9)))
		v.DenyAssignmentName = "System deny assignment created by managed application " + app
		v.Description = "Created by managed application " + app + "."
		v.NotActions = []string{"*/read", "Microsoft.Authorization/*/read", "Microsoft.Resources/deployments/*"}
		v.ExcludePrincipals = append(v.ExcludePrincipals, denyPrincipal{ID: r.uuid(), Type: "ServicePrincipal"})
	}
	v.ResourceID = v.Scope + "/providers/Microsoft.Authorization/denyAssignments/" + name
	v.UUID = nameUUID(a.customerID, v.ResourceType, v.ResourceID)
	v.Created = tfmt(tl.created, fmt7Z)
	v.Updated = tfmt(tl.updated, fmt7Z)
	v.FirstDiscoveredOn = tfmt(tl.firstSeen, fmtMilliPlus)
	v.LastDiscoveredOn = nanoZ(tl.lastSeen)
	v.NotDiscoveredInLast7Days = tl.stale(g.day0)
	return azureEntry(&v)
}

// stackAppID is the application the deployment stacks service acts as.
func (a *azureTenant) stackAppID() string {
	return nameUUID(a.tenantID, "Microsoft.Resources/deploymentStacks")
}
