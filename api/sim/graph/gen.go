package graphsim

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Tenant generation: a pure function of the options' seed, counts, tenant
// and client, and the UTC day of the clock at New.

const (
	tenantDisplayName = "QTC Simulated Corp"
	initialDomain     = "qtcsim.onmicrosoft.com"
	customDomain      = "qtcsim.example"
	onPremDomain      = "corp.qtcsim.example"
	intuneAppID       = "0000000a-0000-0000-c000-000000000000"
	userReadScopeID   = "e1fe6dd8-ba31-4d61-89e7-88639da4683d"
	defaultAccessRole = "00000000-0000-0000-0000-000000000000"
	sidDomain         = "S-1-5-21-3623811015-3361044348-30300820"
)

type generator struct {
	d       *directory
	opt     *Options
	day0    time.Time
	upns    map[string]int
	scratch rec
	slab    *slab // nil: records get their own allocation (mutations)
}

// newRec starts a record in the generator's reusable buffer.
func (g *generator) newRec(n int) *rec { return g.scratch.reset(g.slab) }

func newDirectory(opt *Options, now time.Time) *directory {
	d := &directory{
		seed:       opt.Seed,
		tenantID:   strings.ToLower(opt.TenantID),
		tenantName: tenantDisplayName,
		initialDom: initialDomain,
		defaultDom: customDomain,
		day0:       now.UTC().Truncate(24 * time.Hour),
		clientID:   strings.ToLower(opt.ClientID),
		byID:       make(map[string]*obj, opt.Users+opt.Groups+opt.Devices+opt.Applications+opt.ServicePrincipals+256),
		byUPN:      make(map[string]*obj, opt.Users),
		ids:        make(map[string]struct{}, opt.Users+opt.Groups+opt.Devices+opt.Applications+opt.ServicePrincipals+256),
		transCache: map[*obj]transEntry{},
		deltaCache: map[deltaKey]*changeSet{},
	}
	d.ids[d.tenantID] = struct{}{}
	d.ids[d.clientID] = struct{}{}
	g := &generator{d: d, opt: opt, day0: d.day0, upns: make(map[string]int, opt.Users), slab: &slab{}}
	g.organization()
	g.roleDefinitions()
	users := g.users(opt.Users)
	groups := g.groups(opt.Groups, users)
	devices := g.devices(opt.Devices, users)
	g.memberships(users, groups, devices)
	apps := g.applications(opt.Applications)
	sps := g.servicePrincipals(opt.ServicePrincipals, apps)
	g.directoryRoles(users, groups, sps)
	g.administrativeUnits(users, groups, devices)
	g.assignments(users, groups, sps)
	// Later ids (mutations) are checked against byID; ids of other kinds
	// (appId, deviceId) colliding with a random UUID is not a concern.
	d.ids = map[string]struct{}{}
	return d
}

// ago returns day0 minus a random duration in [lo, hi] days, to the second.
func (g *generator) ago(r *rng, lo, hi int) time.Time {
	secs := r.between(lo*86400, hi*86400)
	return g.day0.Add(-time.Duration(secs) * time.Second)
}

// id returns a new object id, unique in the tenant.
func (g *generator) id(r *rng) string {
	for {
		u := r.uuid()
		_, dup := g.d.ids[u]
		if !dup {
			_, dup = g.d.byID[u]
		}
		if !dup {
			g.d.ids[u] = struct{}{}
			return u
		}
	}
}

// cloudSID derives the cloud-only security identifier Entra ID gives an
// object from its id (S-1-12-1-a-b-c-d over the GUID's 16 bytes).
func cloudSID(id string) string {
	h, err := hex.DecodeString(strings.ReplaceAll(id, "-", ""))
	if err != nil || len(h) != 16 {
		return ""
	}
	// GUID byte order: the first three groups are little-endian.
	b := []byte{h[3], h[2], h[1], h[0], h[5], h[4], h[7], h[6], h[8], h[9], h[10], h[11], h[12], h[13], h[14], h[15]}
	return fmt.Sprintf("S-1-12-1-%d-%d-%d-%d", binary.LittleEndian.Uint32(b[0:]), binary.LittleEndian.Uint32(b[4:]),
		binary.LittleEndian.Uint32(b[8:]), binary.LittleEndian.Uint32(b[12:]))
}

func slug(s string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			b.WriteRune(c)
		case c == ' ' || c == '-' || c == '.':
			if b.Len() > 0 && !strings.HasSuffix(b.String(), "-") {
				b.WriteByte('-')
			}
		}
	}
	return strings.Trim(b.String(), "-")
}

func nickOf(first, last string) string {
	clean := func(s string) string {
		return strings.Map(func(r rune) rune {
			if r == '\'' || r == ' ' {
				return -1
			}
			return r
		}, strings.ToLower(s))
	}
	return clean(first) + "." + clean(last)
}

func (g *generator) organization() {
	r := newRNG(g.opt.Seed, "organization")
	created := g.day0.AddDate(-7, -3, -11).Add(9*time.Hour + 14*time.Minute + 7*time.Second)
	rc := g.newRec(len(orgSchema.props))
	rc.str("id", g.d.tenantID)
	rc.null("deletedDateTime")
	rc.strs("businessPhones", []string{"+1 425 555 0100"})
	rc.str("city", "Redmond")
	rc.str("country", "United States")
	rc.str("countryLetterCode", "US")
	rc.tm("createdDateTime", created)
	rc.str("defaultUsageLocation", "US")
	rc.str("displayName", tenantDisplayName)
	rc.null("isMultipleDataLocationsForServicesEnabled")
	rc.strs("marketingNotificationEmails", []string{})
	rc.tm("onPremisesLastSyncDateTime", g.day0.Add(-17*time.Minute))
	rc.boolean("onPremisesSyncEnabled", true)
	rc.null("partnerTenantType")
	rc.str("postalCode", "98052")
	rc.str("preferredLanguage", "en")
	rc.strs("securityComplianceNotificationMails", []string{"secops@" + customDomain})
	rc.strs("securityComplianceNotificationPhones", []string{})
	rc.str("state", "WA")
	rc.str("street", "1 Simulation Way")
	rc.strs("technicalNotificationMails", []string{"it-admins@" + customDomain})
	rc.str("tenantType", "AAD")
	total := g.opt.Users + g.opt.Groups + g.opt.Devices + g.opt.Applications + g.opt.ServicePrincipals
	rc.rawS("directorySizeQuota", fmt.Sprintf(`{"used":%d,"total":%d}`, total, max(300000, total*2)))
	var plans []byte
	plans = append(plans, '[')
	for i, p := range []struct{ svc, id string }{
		{"exchange", "efb87545-963c-4e0d-99df-69c6916d9eb0"}, {"SharePoint", "5dbe027f-2339-4123-9542-606e4d348a72"},
		{"MicrosoftCommunicationsOnline", "0feaeb32-d00e-4d66-bd5a-43b5b83db82c"}, {"AADPremiumService", "41781fb2-bc02-4b7c-bd55-b576c07bb09d"},
		{"SCO", "c1ec4a95-1f05-45b3-a911-aa3fa01094f5"},
	} {
		if i > 0 {
			plans = append(plans, ',')
		}
		plans = fmt.Appendf(plans, `{"assignedDateTime":%q,"capabilityStatus":"Enabled","service":%q,"servicePlanId":%q}`,
			fmtTime(created.AddDate(0, i, 3)), p.svc, p.id)
	}
	plans = append(plans, ']')
	rc.raw("assignedPlans", plans)
	rc.rawS("privacyProfile", `{"contactEmail":"privacy@`+customDomain+`","statementUrl":"https://`+customDomain+`/privacy"}`)
	rc.rawS("provisionedPlans", `[{"capabilityStatus":"Enabled","provisioningStatus":"Success","service":"exchange"},{"capabilityStatus":"Enabled","provisioningStatus":"Success","service":"SharePoint"}]`)
	rc.rawS("verifiedDomains", `[{"capabilities":"Email, OfficeCommunicationsOnline","isDefault":false,"isInitial":true,"name":"`+initialDomain+
		`","type":"Managed"},{"capabilities":"Email, OfficeCommunicationsOnline, Intune","isDefault":true,"isInitial":false,"name":"`+customDomain+`","type":"Managed"}]`)
	o := &obj{k: kOrg, id: g.d.tenantID, name: tenantDisplayName}
	o.raw, o.segs = rc.done()
	_ = r
	g.d.add(o)
}

func (g *generator) roleDefinitions() {
	r := newRNG(g.opt.Seed, "roleDefinitions")
	for i, br := range builtInRoles {
		tmpl := br.template
		if tmpl == "" {
			tmpl = g.id(r)
		} else {
			g.d.ids[tmpl] = struct{}{}
		}
		rc := g.newRec(len(roleDefSchema.props))
		rc.str("id", tmpl)
		rc.str("description", "Built-in role: "+br.name+". Members can perform the tasks of this role in Microsoft Entra ID.")
		rc.str("displayName", br.name)
		rc.boolean("isBuiltIn", true)
		rc.boolean("isEnabled", true)
		rc.strs("resourceScopes", []string{"/"})
		rc.str("templateId", tmpl)
		rc.str("version", "1")
		n := r.between(2, 6)
		if br.name == "Global Administrator" {
			n = len(roleActions)
		}
		start := r.intn(len(roleActions))
		acts := make([]string, 0, n)
		for j := 0; j < n; j++ {
			acts = append(acts, roleActions[(start+j*7)%len(roleActions)])
		}
		var perms []byte
		perms = append(perms, `[{"allowedResourceActions":`...)
		perms = appendStrings(perms, dedupe(acts))
		perms = append(perms, `,"condition":null}]`...)
		rc.raw("rolePermissions", perms)
		o := &obj{k: kRoleDef, id: tmpl, name: br.name}
		o.raw, o.segs = rc.done()
		_ = i
		g.d.add(o)
	}
}

func dedupe(xs []string) []string {
	seen := map[string]bool{}
	out := xs[:0]
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// userSpec is what a user record is built from.
type userSpec struct {
	id, first, last, upn, mail, nick string
	guest, synced, enabled           bool
	pl                               place
	dept, title, employeeType        string
	created, pwdChanged              time.Time
	phone, mobile, lang, employeeID  string
	partner                          string
}

func (g *generator) newUserSpec(r *rng) userSpec {
	var u userSpec
	u.id = g.id(r)
	u.first, u.last = r.pick(firstNames), r.pick(lastNames)
	u.guest = r.chance(0.08)
	u.pl = places[r.intn(len(places))]
	u.created = g.ago(r, 1, 6*365)
	u.pwdChanged = u.created.Add(time.Duration(r.intn(int(g.day0.Sub(u.created)/time.Second)+1)) * time.Second)
	u.enabled = r.chance(0.94)
	base := nickOf(u.first, u.last)
	if u.guest {
		u.partner = r.pick(partnerDomains)
	}
	// The first free userPrincipalName: nick, nick2, nick3, …
	for n := g.upns[base]; ; n++ {
		nick := base
		if n > 0 {
			nick += strconv.Itoa(n + 1)
		}
		if u.guest {
			u.mail = nick + "@" + u.partner
			u.upn = strings.ReplaceAll(u.mail, "@", "_") + "#EXT#@" + initialDomain
		} else {
			u.upn = nick + "@" + customDomain
			u.mail = u.upn
		}
		if _, taken := g.d.byUPN[strings.ToLower(u.upn)]; !taken {
			g.upns[base] = n + 1
			u.nick = nick
			break
		}
	}
	if u.guest {
		return u
	}
	u.synced = r.chance(0.6)
	u.dept = r.pick(departments)
	u.title = r.pick(jobTitles)
	u.employeeType = []string{"Employee", "Employee", "Employee", "Contractor", ""}[r.intn(5)]
	if r.chance(0.85) {
		u.phone = fmt.Sprintf("+1 425 555 %04d", r.intn(10000))
	}
	if r.chance(0.5) {
		u.mobile = fmt.Sprintf("+1 206 555 %04d", r.intn(10000))
	}
	u.lang = []string{"en-US", "en-GB", "de-DE", "fr-FR", "ja-JP", "es-ES", ""}[r.intn(7)]
	u.employeeID = fmt.Sprintf("E%06d", r.intn(1000000))
	return u
}

func (g *generator) userObj(u userSpec) *obj {
	rc := g.newRec(len(userSchema.props))
	if u.phone != "" {
		rc.strs("businessPhones", []string{u.phone})
	} else {
		rc.strs("businessPhones", []string{})
	}
	display := u.first + " " + u.last
	if u.guest {
		display += " (" + strings.SplitN(u.partner, ".", 2)[0] + ")"
	}
	rc.str("displayName", display)
	rc.str("givenName", u.first)
	rc.strN("jobTitle", u.title)
	rc.str("mail", u.mail)
	rc.strN("mobilePhone", u.mobile)
	if u.guest {
		rc.null("officeLocation")
	} else {
		rc.str("officeLocation", u.pl.office)
	}
	rc.strN("preferredLanguage", u.lang)
	rc.str("surname", u.last)
	rc.str("userPrincipalName", u.upn)
	rc.str("id", u.id)
	rc.boolean("accountEnabled", u.enabled)
	rc.null("ageGroup")
	if u.guest {
		rc.null("city")
		rc.null("companyName")
		rc.null("country")
	} else {
		rc.str("city", u.pl.city)
		rc.str("companyName", tenantDisplayName)
		rc.str("country", u.pl.country)
	}
	rc.tm("createdDateTime", u.created)
	if u.guest {
		rc.str("creationType", "Invitation")
	} else {
		rc.null("creationType")
	}
	rc.strN("department", u.dept)
	if u.guest {
		rc.null("employeeHireDate")
		rc.null("employeeId")
	} else {
		rc.tm("employeeHireDate", u.created.Truncate(24*time.Hour))
		rc.str("employeeId", u.employeeID)
	}
	rc.strN("employeeType", u.employeeType)
	if u.guest {
		state := "Accepted"
		if u.pwdChanged.Second()%7 == 0 {
			state = "PendingAcceptance"
		}
		rc.str("externalUserState", state)
		rc.tm("externalUserStateChangeDateTime", u.created.Add(26*time.Hour))
	} else {
		rc.null("externalUserState")
		rc.null("externalUserStateChangeDateTime")
	}
	rc.null("faxNumber")
	if u.guest {
		rc.rawS("identities", `[{"signInType":"federated","issuer":"ExternalAzureAD","issuerAssignedId":null}]`)
	} else {
		rc.rawS("identities", `[{"signInType":"userPrincipalName","issuer":"`+initialDomain+`","issuerAssignedId":`+string(jsonString(u.upn))+`}]`)
	}
	rc.strs("imAddresses", []string{})
	rc.tm("lastPasswordChangeDateTime", u.pwdChanged)
	rc.str("mailNickname", strings.ReplaceAll(u.nick, ".", ""))
	if u.synced {
		ou := slug(u.pl.city)
		rc.str("onPremisesDistinguishedName", "CN="+u.first+" "+u.last+",OU=Users,OU="+ou+",DC=corp,DC=qtcsim,DC=example")
		rc.str("onPremisesDomainName", onPremDomain)
		sum := fnv(u.id)
		var imm [16]byte
		binary.LittleEndian.PutUint64(imm[:8], sum)
		binary.LittleEndian.PutUint64(imm[8:], mix64(sum))
		rc.str("onPremisesImmutableId", base64.StdEncoding.EncodeToString(imm[:]))
		rc.tm("onPremisesLastSyncDateTime", g.day0.Add(-time.Duration(sum%3600)*time.Second))
		sam := strings.ToLower(u.first[:1] + strings.ReplaceAll(u.last, "'", ""))
		if len(sam) > 20 {
			sam = sam[:20]
		}
		rc.str("onPremisesSamAccountName", sam)
		rc.str("onPremisesSecurityIdentifier", fmt.Sprintf("%s-%d", sidDomain, 1100+sum%900000))
		rc.boolean("onPremisesSyncEnabled", true)
		rc.str("onPremisesUserPrincipalName", strings.Replace(u.upn, customDomain, onPremDomain, 1))
	} else {
		rc.null("onPremisesDistinguishedName")
		rc.null("onPremisesDomainName")
		rc.null("onPremisesImmutableId")
		rc.null("onPremisesLastSyncDateTime")
		rc.null("onPremisesSamAccountName")
		rc.null("onPremisesSecurityIdentifier")
		rc.null("onPremisesSyncEnabled")
		rc.null("onPremisesUserPrincipalName")
	}
	rc.strs("otherMails", []string{})
	if u.synced {
		rc.str("passwordPolicies", "DisablePasswordExpiration")
	} else {
		rc.null("passwordPolicies")
	}
	if u.guest {
		rc.null("postalCode")
		rc.strs("proxyAddresses", []string{"SMTP:" + u.mail})
	} else {
		rc.str("postalCode", u.pl.postal)
		rc.strs("proxyAddresses", []string{"SMTP:" + u.upn, "smtp:" + strings.ReplaceAll(u.nick, ".", "") + "@" + initialDomain})
	}
	rc.str("securityIdentifier", cloudSID(u.id))
	rc.null("showInAddressList")
	rc.tm("signInSessionsValidFromDateTime", u.pwdChanged)
	if u.guest {
		rc.null("state")
		rc.null("streetAddress")
		rc.null("usageLocation")
		rc.str("userType", "Guest")
	} else {
		rc.strN("state", u.pl.state)
		rc.str("streetAddress", u.pl.street)
		rc.str("usageLocation", u.pl.cc)
		rc.str("userType", "Member")
	}
	o := &obj{k: kUser, id: u.id, name: display, upn: u.upn}
	o.raw, o.segs = rc.done()
	return o
}

func (g *generator) users(n int) []*obj {
	r := newRNG(g.opt.Seed, "users")
	out := make([]*obj, 0, n)
	for i := 0; i < n; i++ {
		o := g.userObj(g.newUserSpec(r))
		g.d.add(o)
		out = append(out, o)
	}
	return out
}

// groupSpec is what a group record is built from.
type groupSpec struct {
	id, name, desc, nick          string
	unified, security, mail       bool
	dynamic, roleAssignable, sync bool
	deviceGroup, team             bool
	rule, visibility, class       string
	unique                        string
	created                       time.Time
}

func (g *generator) groupObj(s groupSpec) *obj {
	rc := g.newRec(len(groupSchema.props))
	rc.str("id", s.id)
	rc.null("deletedDateTime")
	rc.strN("classification", s.class)
	rc.tm("createdDateTime", s.created)
	if s.team {
		rc.strs("creationOptions", []string{"Team", "ExchangeProvisioningFlags:3552"})
	} else {
		rc.strs("creationOptions", []string{})
	}
	rc.strN("description", s.desc)
	rc.str("displayName", s.name)
	rc.null("expirationDateTime")
	var types []string
	if s.unified {
		types = append(types, "Unified")
	}
	if s.dynamic {
		types = append(types, "DynamicMembership")
	}
	if types == nil {
		types = []string{}
	}
	rc.strs("groupTypes", types)
	if s.roleAssignable {
		rc.boolean("isAssignableToRole", true)
	} else {
		rc.null("isAssignableToRole")
	}
	if s.mail {
		rc.str("mail", s.nick+"@"+customDomain)
	} else {
		rc.null("mail")
	}
	rc.boolean("mailEnabled", s.mail)
	rc.str("mailNickname", s.nick)
	if s.dynamic {
		rc.str("membershipRule", s.rule)
		rc.str("membershipRuleProcessingState", "On")
	} else {
		rc.null("membershipRule")
		rc.null("membershipRuleProcessingState")
	}
	if s.sync {
		sum := fnv(s.id)
		rc.str("onPremisesDomainName", onPremDomain)
		rc.tm("onPremisesLastSyncDateTime", g.day0.Add(-time.Duration(sum%3600)*time.Second))
		rc.str("onPremisesNetBiosName", "CORP")
		rc.str("onPremisesSamAccountName", s.nick)
		rc.str("onPremisesSecurityIdentifier", fmt.Sprintf("%s-%d", sidDomain, 2100+sum%900000))
		rc.boolean("onPremisesSyncEnabled", true)
	} else {
		rc.null("onPremisesDomainName")
		rc.null("onPremisesLastSyncDateTime")
		rc.null("onPremisesNetBiosName")
		rc.null("onPremisesSamAccountName")
		rc.null("onPremisesSecurityIdentifier")
		rc.null("onPremisesSyncEnabled")
	}
	rc.null("preferredDataLocation")
	rc.null("preferredLanguage")
	if s.mail {
		rc.strs("proxyAddresses", []string{"SMTP:" + s.nick + "@" + customDomain, "smtp:" + s.nick + "@" + initialDomain})
	} else {
		rc.strs("proxyAddresses", []string{})
	}
	if s.unified {
		rc.tm("renewedDateTime", s.created)
	} else {
		rc.tm("renewedDateTime", s.created)
	}
	rc.strs("resourceBehaviorOptions", []string{})
	if s.team {
		rc.strs("resourceProvisioningOptions", []string{"Team"})
	} else {
		rc.strs("resourceProvisioningOptions", []string{})
	}
	rc.boolean("securityEnabled", s.security)
	rc.str("securityIdentifier", cloudSID(s.id))
	rc.null("theme")
	rc.strN("uniqueName", s.unique)
	rc.strN("visibility", s.visibility)
	rc.strs("onPremisesProvisioningErrors", []string{})
	rc.strs("serviceProvisioningErrors", []string{})
	o := &obj{k: kGroup, id: s.id, name: s.name, unified: s.unified, dynamic: s.dynamic}
	o.raw, o.segs = rc.done()
	return o
}

func (g *generator) newGroupSpec(r *rng, i int, names map[string]int, deviceGroup bool) groupSpec {
	s := groupSpec{id: g.id(r), created: g.ago(r, 1, 5*365)}
	switch {
	case i == 0 && !deviceGroup:
		s.name, s.desc = "All Employees", "Every member user of the organisation (dynamic)"
		s.security, s.dynamic, s.rule = true, true, `(user.userType -eq "Member")`
	case deviceGroup:
		osName := []string{"Windows", "iOS", "Android", "MacMDM"}[i%4]
		s.name = "Devices - " + osName + " " + strconv.Itoa(i/4+1)
		s.desc = "Dynamic device group for " + osName
		s.security, s.dynamic, s.rule = true, true, `(device.deviceOSType -eq "`+osName+`")`
		s.deviceGroup = true
	default:
		s.name = r.pick(groupTopics) + " " + r.pick(groupSuffixes)
		switch x := r.intn(100); {
		case x < 35:
			s.unified, s.mail, s.security = true, true, r.chance(0.3)
			s.visibility = []string{"Private", "Public", "Private"}[r.intn(3)]
			s.team = r.chance(0.6)
			s.class = []string{"", "General", "Confidential"}[r.intn(3)]
		case x < 40:
			s.mail, s.security = true, false // distribution list
		case x < 45:
			s.mail, s.security = true, true // mail-enabled security group
		default:
			s.security = true
			s.sync = r.chance(0.35)
			s.roleAssignable = !s.sync && r.chance(0.05)
		}
		if !s.roleAssignable && !s.sync && r.chance(0.08) {
			s.dynamic = true
			s.rule = `(user.department -eq "` + r.pick(departments) + `")`
		}
		s.desc = []string{"", "Members of " + s.name, s.name + " (managed by IT)"}[r.intn(3)]
	}
	if n := names[s.name]; n > 0 {
		names[s.name] = n + 1
		s.name += " " + strconv.Itoa(n+1)
	} else {
		names[s.name] = 1
	}
	s.nick = slug(s.name)
	if s.nick == "" {
		s.nick = "group" + strconv.Itoa(i)
	}
	if r.chance(0.2) {
		s.unique = "grp-" + s.nick
	}
	return s
}

func (g *generator) groups(n int, users []*obj) []*obj {
	r := newRNG(g.opt.Seed, "groups")
	names := map[string]int{}
	deviceGroups := 0
	if g.opt.Devices > 0 && n >= 4 {
		deviceGroups = max(1, n/20)
	}
	out := make([]*obj, 0, n)
	for i := 0; i < n; i++ {
		dg := i >= n-deviceGroups
		idx := i
		if dg {
			idx = i - (n - deviceGroups)
		}
		s := g.newGroupSpec(r, idx, names, dg)
		o := g.groupObj(s)
		if s.deviceGroup {
			o.dynamic = true
		}
		g.d.add(o)
		out = append(out, o)
	}
	return out
}

func (g *generator) deviceObj(r *rng, owner *obj) *obj {
	id := g.id(r)
	m := deviceModels[r.weighted(deviceWeights)]
	trust := "Workplace"
	switch m.os {
	case "Windows":
		trust = []string{"AzureAd", "AzureAd", "ServerAd", "ServerAd", "Workplace"}[r.intn(5)]
	case "MacMDM":
		if r.chance(0.3) {
			trust = "AzureAd"
		}
	}
	managed := false
	switch {
	case m.os == "Windows" && trust != "Workplace":
		managed = r.chance(0.85)
	case m.os == "Linux":
	default:
		managed = r.chance(0.7)
	}
	first := "user"
	if owner != nil {
		first = strings.SplitN(owner.name, " ", 2)[0]
	}
	var display string
	switch {
	case m.os == "Windows" && trust == "ServerAd":
		display = fmt.Sprintf("QTC-WS-%05d", r.intn(100000))
	case m.os == "Windows":
		display = []string{"DESKTOP-", "LAPTOP-"}[r.intn(2)] + r.hexString(7)
	case m.os == "iOS":
		display = first + "'s iPhone"
	case m.os == "IPad":
		display = first + "'s iPad"
	case m.os == "Android":
		display = m.model
	case m.os == "MacMDM":
		display = first + "'s MacBook Pro"
	default:
		display = "ubuntu-" + strings.ToLower(r.hexString(6))
	}
	registered := g.ago(r, 20, 4*365)
	lastSignIn := g.day0.Add(-time.Duration(r.intn(int(min(g.day0.Sub(registered), 200*24*time.Hour)/time.Second)+1)) * time.Second)
	if r.chance(0.15) {
		lastSignIn = registered.Add(time.Duration(r.intn(86400*30)) * time.Second) // stale device
	}
	rc := g.newRec(len(deviceSchema.props))
	rc.str("id", id)
	rc.null("deletedDateTime")
	rc.boolean("accountEnabled", r.chance(0.97))
	rc.tm("approximateLastSignInDateTime", lastSignIn)
	rc.null("complianceExpirationDateTime")
	rc.tm("createdDateTime", registered)
	rc.null("deviceCategory")
	rc.str("deviceId", g.id(r))
	rc.null("deviceMetadata")
	if m.os == "iOS" || m.os == "Android" || m.os == "IPad" {
		rc.str("deviceOwnership", []string{"Personal", "Company"}[r.intn(2)])
	} else {
		rc.str("deviceOwnership", "Company")
	}
	rc.integer("deviceVersion", 2)
	rc.str("displayName", display)
	rc.null("domainName")
	rc.null("enrollmentProfileName")
	switch {
	case managed && trust == "ServerAd":
		rc.str("enrollmentType", "AzureDomainJoined")
	case managed && trust == "AzureAd":
		rc.str("enrollmentType", "AzureADJoinUsingWhiteGlove")
	case managed:
		rc.str("enrollmentType", "UserEnrollment")
	default:
		rc.null("enrollmentType")
	}
	rc.null("externalSourceName")
	if managed {
		rc.boolean("isCompliant", r.chance(0.88))
		rc.boolean("isManaged", true)
	} else {
		rc.null("isCompliant")
		rc.boolean("isManaged", false)
	}
	rc.boolean("isRooted", false)
	if managed {
		rc.str("managementType", "MDM")
	} else {
		rc.null("managementType")
	}
	rc.str("manufacturer", m.manufacturer)
	if managed {
		rc.str("mdmAppId", intuneAppID)
	} else {
		rc.null("mdmAppId")
	}
	rc.str("model", m.model)
	if trust == "ServerAd" {
		sum := fnv(id)
		rc.tm("onPremisesLastSyncDateTime", g.day0.Add(-time.Duration(sum%7200)*time.Second))
		rc.str("onPremisesSecurityIdentifier", fmt.Sprintf("%s-%d", sidDomain, 5100+sum%900000))
		rc.boolean("onPremisesSyncEnabled", true)
	} else {
		rc.null("onPremisesLastSyncDateTime")
		rc.null("onPremisesSecurityIdentifier")
		rc.null("onPremisesSyncEnabled")
	}
	rc.str("operatingSystem", m.os)
	rc.str("operatingSystemVersion", m.versions[r.intn(len(m.versions))])
	if owner != nil {
		rc.strs("physicalIds", []string{"[USER-GID]:" + owner.id + ":" + strconv.FormatUint(r.next()%1e16, 10), "[GID]:g:" + strconv.FormatUint(r.next()%1e16, 10)})
	} else {
		rc.strs("physicalIds", []string{})
	}
	rc.str("profileType", []string{"RegisteredDevice", "RegisteredDevice", "RegisteredDevice", "RegisteredDevice", "Shared"}[r.intn(5)])
	rc.tm("registrationDateTime", registered)
	rc.null("sourceType")
	rc.strs("systemLabels", []string{})
	rc.str("trustType", trust)
	rc.raw("extensionAttributes", extensionAttributesJSON)
	var key [24]byte
	binary.LittleEndian.PutUint64(key[:], r.next())
	binary.LittleEndian.PutUint64(key[8:], r.next())
	binary.LittleEndian.PutUint64(key[16:], r.next())
	rc.rawS("alternativeSecurityIds", `[{"type":2,"identityProvider":null,"key":"`+base64.StdEncoding.EncodeToString(key[:])+`"}]`)
	o := &obj{k: kDevice, id: id, name: display}
	o.raw, o.segs = rc.done()
	return o
}

// deviceWeights favours Windows as real fleets do.
var deviceWeights = func() []int {
	ws := make([]int, len(deviceModels))
	for i, m := range deviceModels {
		switch m.os {
		case "Windows":
			ws[i] = 14
		case "Linux":
			ws[i] = 1
		default:
			ws[i] = 4
		}
	}
	return ws
}()

var extensionAttributesJSON = func() []byte {
	b := []byte{'{'}
	for i := 1; i <= 15; i++ {
		if i > 1 {
			b = append(b, ',')
		}
		b = fmt.Appendf(b, `"extensionAttribute%d":null`, i)
	}
	return append(b, '}')
}()

func (g *generator) devices(n int, users []*obj) []*obj {
	r := newRNG(g.opt.Seed, "devices")
	out := make([]*obj, 0, n)
	for i := 0; i < n; i++ {
		var owner *obj
		if len(users) > 0 {
			owner = users[r.intn(len(users))]
		}
		o := g.deviceObj(r, owner)
		g.d.add(o)
		out = append(out, o)
	}
	return out
}

// memberships gives most users 3–15 groups drawn with a heavy-tailed
// popularity (so a few groups hold 10k+ members at seed scale), fills the
// "All Employees" group, nests about a tenth of the groups, and puts
// devices into the device groups.
func (g *generator) memberships(users, groups, devices []*obj) {
	if len(groups) == 0 {
		return
	}
	r := newRNG(g.opt.Seed, "memberships")
	var userGroups, deviceGroups []*obj
	var all *obj
	for _, gr := range groups {
		switch {
		case strings.HasPrefix(gr.name, "Devices - "):
			deviceGroups = append(deviceGroups, gr)
		case gr.name == "All Employees":
			all = gr
		default:
			userGroups = append(userGroups, gr)
		}
	}
	memberType := userSchema.mustIndex("userType")
	for _, u := range users {
		if all != nil && string(u.value(memberType)) == `"Member"` {
			all.members = append(all.members, u)
			u.memberOf = append(u.memberOf, all)
		}
	}
	if len(userGroups) > 0 {
		// Popularity ranks are a permutation of the groups, so the biggest
		// groups are not simply the first ones created.
		perm := make([]int, len(userGroups))
		for i := range perm {
			perm[i] = i
		}
		for i := len(perm) - 1; i > 0; i-- {
			j := r.intn(i + 1)
			perm[i], perm[j] = perm[j], perm[i]
		}
		z := newZipf(len(userGroups), 3, 1.05)
		maxK := min(15, max(3, len(userGroups)/3))
		chosen := make([]int, 0, 40)
		for _, u := range users {
			var k int
			switch x := r.intn(100); {
			case x < 10:
				k = r.between(0, 2)
			case x < 95:
				k = r.between(3, maxK)
			default:
				k = r.between(maxK, min(40, len(userGroups)))
			}
			k = min(k, len(userGroups))
			chosen = chosen[:0]
			for tries := 0; len(chosen) < k && tries < k*8; tries++ {
				gi := perm[z.draw(r)]
				dup := false
				for _, c := range chosen {
					if c == gi {
						dup = true
						break
					}
				}
				if !dup {
					chosen = append(chosen, gi)
				}
			}
			for _, gi := range chosen {
				gr := userGroups[gi]
				gr.members = append(gr.members, u) // users are visited by seq: stays sorted
				u.memberOf = append(u.memberOf, gr)
			}
		}
	}
	// Nested groups: a child joins a parent created before it (no cycles).
	for i := 1; i < len(userGroups); i++ {
		if !r.chance(0.1) {
			continue
		}
		child, parent := userGroups[i], userGroups[r.intn(i)]
		if parent.dynamic {
			continue
		}
		parent.members = append(parent.members, child)
		child.memberOf = append(child.memberOf, parent)
	}
	for _, dg := range deviceGroups {
		share := 0.02 + unit(r.next())*0.10
		for _, dv := range devices {
			if r.chance(share) {
				dg.members = append(dg.members, dv)
				dv.memberOf = append(dv.memberOf, dg)
			}
		}
	}
	for _, gr := range groups {
		sortBySeq(gr.members)
	}
	for _, u := range users {
		sortBySeq(u.memberOf)
	}
	for _, gr := range groups {
		sortBySeq(gr.memberOf)
	}
}

// credentials returns keyCredentials and passwordCredentials JSON with
// end dates spread from the past to the future.
func (g *generator) credentials(r *rng, name string, certs, secrets int, certUsage []string) ([]byte, []byte) {
	var kc, pc []byte
	kc = append(kc, '[')
	for i := 0; i < certs; i++ {
		start := g.ago(r, 0, 900)
		end := start.AddDate(r.between(1, 2), 0, 0)
		for j, usage := range certUsage {
			if i > 0 || j > 0 {
				kc = append(kc, ',')
			}
			kc = fmt.Appendf(kc, `{"customKeyIdentifier":%q,"displayName":%s,"endDateTime":%q,"key":null,"keyId":%q,"startDateTime":%q,"type":"AsymmetricX509Cert","usage":%q}`,
				r.hexString(40), jsonString("CN="+name), fmtTime(end), g.id(r), fmtTime(start), usage)
		}
	}
	kc = append(kc, ']')
	pc = append(pc, '[')
	for i := 0; i < secrets; i++ {
		if i > 0 {
			pc = append(pc, ',')
		}
		start := g.ago(r, 0, 900)
		end := start.AddDate(0, []int{6, 12, 24}[r.intn(3)], 0)
		pc = fmt.Appendf(pc, `{"customKeyIdentifier":null,"displayName":%q,"endDateTime":%q,"hint":%q,"keyId":%q,"secretText":null,"startDateTime":%q}`,
			"secret-"+start.Format("2006-01"), fmtTime(end), r.token(3), g.id(r), fmtTime(start))
	}
	pc = append(pc, ']')
	return kc, pc
}

// appRolesJSON renders app roles (allowedMemberTypes as given).
func appRolesJSON(roles []appRole, memberTypes string) []byte {
	var b []byte
	b = append(b, '[')
	for i, ar := range roles {
		if i > 0 {
			b = append(b, ',')
		}
		b = fmt.Appendf(b, `{"allowedMemberTypes":[%s],"description":%s,"displayName":%s,"id":%q,"isEnabled":true,"origin":"Application","value":%s}`,
			memberTypes, jsonString(ar.name), jsonString(ar.name), ar.id, jsonString(ar.value))
	}
	return append(b, ']')
}

// appSpec keeps what a service principal needs from its application.
type appSpec struct {
	o        *obj
	appID    string
	name     string
	roles    []appRole // roles users and groups can be assigned
	graphPms []string  // Microsoft Graph application permissions it requests
	audience string
}

func (g *generator) applications(n int) []*appSpec {
	r := newRNG(g.opt.Seed, "applications")
	names := map[string]int{}
	out := make([]*appSpec, 0, n)
	for i := 0; i < n; i++ {
		a := &appSpec{}
		id := g.id(r)
		created := g.ago(r, 1, 5*365)
		if i == 0 {
			a.appID, a.name = g.d.clientID, "qtc Entra ID connector"
			a.graphPms = g.opt.Roles
			a.audience = "AzureADMyOrg"
		} else {
			a.appID = g.id(r)
			a.name = r.pick(ownAppNames)
			if c := names[a.name]; c > 0 {
				a.name += []string{" (Dev)", " (Test)", " (Staging)", " v2", " Legacy"}[c%5]
				if c >= 5 {
					a.name += " " + strconv.Itoa(c)
				}
			}
			names[strings.TrimSpace(a.name)]++
			a.audience = []string{"AzureADMyOrg", "AzureADMyOrg", "AzureADMyOrg", "AzureADMultipleOrgs", "AzureADandPersonalMicrosoftAccount"}[r.weighted([]int{50, 15, 10, 20, 5})]
			if r.chance(0.3) {
				for j, v := range []string{"Reader", "Writer", "Admin"}[:r.between(1, 3)] {
					a.roles = append(a.roles, appRole{id: g.id(r), value: "App." + v, name: v})
					_ = j
				}
			}
			if r.chance(0.35) {
				for k := r.between(1, 4); k > 0; k-- {
					a.graphPms = append(a.graphPms, graphPermissions[r.intn(len(graphPermissions))].value)
				}
				a.graphPms = dedupe(a.graphPms)
			}
		}
		names[a.name]++
		rc := g.newRec(len(appSchema.props))
		rc.str("id", id)
		rc.null("deletedDateTime")
		rc.str("appId", a.appID)
		rc.null("applicationTemplateId")
		rc.null("disabledByMicrosoftStatus")
		rc.tm("createdDateTime", created)
		rc.str("displayName", a.name)
		rc.null("description")
		if r.chance(0.2) {
			rc.str("groupMembershipClaims", "SecurityGroup")
		} else {
			rc.null("groupMembershipClaims")
		}
		if i > 0 && r.chance(0.4) {
			rc.strs("identifierUris", []string{"api://" + a.appID})
		} else {
			rc.strs("identifierUris", []string{})
		}
		rc.null("isDeviceOnlyAuthSupported")
		rc.null("isFallbackPublicClient")
		rc.null("notes")
		rc.str("publisherDomain", customDomain)
		rc.null("serviceManagementReference")
		rc.str("signInAudience", a.audience)
		rc.strs("tags", []string{})
		rc.null("tokenEncryptionKeyId")
		rc.null("uniqueName")
		rc.null("samlMetadataUrl")
		rc.null("defaultRedirectUri")
		rc.null("certification")
		rc.null("optionalClaims")
		rc.null("servicePrincipalLockConfiguration")
		rc.null("requestSignatureVerification")
		rc.rawS("addIns", "[]")
		rc.rawS("api", `{"acceptMappedClaims":null,"knownClientApplications":[],"requestedAccessTokenVersion":null,"oauth2PermissionScopes":[],"preAuthorizedApplications":[]}`)
		rc.raw("appRoles", appRolesJSON(a.roles, `"User"`))
		rc.rawS("info", `{"logoUrl":null,"marketingUrl":null,"privacyStatementUrl":null,"supportUrl":null,"termsOfServiceUrl":null}`)
		var kc, pc []byte
		if i == 0 {
			_, pc0 := g.credentials(r, a.name, 0, 0, nil)
			_ = pc0
			start := g.day0.AddDate(0, -6, 0)
			end := g.day0.AddDate(0, 18, 0)
			if g.opt.SecretExpired {
				end = g.day0.AddDate(0, 0, -3)
			}
			g.d.secretExpiry = end
			kc = []byte("[]")
			pc = fmt.Appendf(nil, `[{"customKeyIdentifier":null,"displayName":"qtc","endDateTime":%q,"hint":%q,"keyId":%q,"secretText":null,"startDateTime":%q}]`,
				fmtTime(end), hintOf(g.opt.ClientSecret), g.id(r), fmtTime(start))
		} else {
			certs, secrets := 0, 0
			if r.chance(0.3) {
				certs = r.between(1, 2)
			}
			if r.chance(0.65) {
				secrets = r.between(1, 3)
			}
			kc, pc = g.credentials(r, a.name, certs, secrets, []string{"Verify"})
		}
		rc.raw("keyCredentials", kc)
		rc.rawS("parentalControlSettings", `{"countriesBlockedForMinors":[],"legalAgeGroupRule":"Allow"}`)
		rc.raw("passwordCredentials", pc)
		rc.rawS("publicClient", `{"redirectUris":[]}`)
		var rra []byte
		rra = fmt.Appendf(rra, `[{"resourceAppId":%q,"resourceAccess":[{"id":%q,"type":"Scope"}`, graphAppID, userReadScopeID)
		for _, p := range a.graphPms {
			rra = fmt.Appendf(rra, `,{"id":%q,"type":"Role"}`, g.graphPermissionID(p))
		}
		rra = append(rra, "]}]"...)
		rc.raw("requiredResourceAccess", rra)
		rc.rawS("verifiedPublisher", `{"displayName":null,"verifiedPublisherId":null,"addedDateTime":null}`)
		if i > 0 && r.chance(0.6) {
			rc.rawS("web", `{"homePageUrl":null,"logoutUrl":null,"redirectUris":["https://`+slug(a.name)+`.`+customDomain+`/signin-oidc"],"implicitGrantSettings":{"enableAccessTokenIssuance":false,"enableIdTokenIssuance":true}}`)
		} else {
			rc.rawS("web", `{"homePageUrl":null,"logoutUrl":null,"redirectUris":[],"implicitGrantSettings":{"enableAccessTokenIssuance":false,"enableIdTokenIssuance":false}}`)
		}
		rc.rawS("spa", `{"redirectUris":[]}`)
		o := &obj{k: kApp, id: id, name: a.name}
		o.raw, o.segs = rc.done()
		g.d.add(o)
		if i == 0 {
			g.d.connector = o
		}
		a.o = o
		out = append(out, a)
	}
	return out
}

func hintOf(secret string) string {
	if len(secret) < 3 {
		return secret
	}
	return secret[:3]
}

// graphPermissionID returns the id of a Microsoft Graph application
// permission: Microsoft's where known, otherwise derived from the name.
func (g *generator) graphPermissionID(value string) string {
	for _, p := range graphPermissions {
		if strings.EqualFold(p.value, value) && p.id != "" {
			return p.id
		}
	}
	r := newRNG(0, "graph-permission/"+strings.ToLower(value))
	return r.uuid()
}

// spSpec is what a service principal record is built from.
type spSpec struct {
	id, appID, name, owner, spType, sso, audience string
	alt, names, tags, replyURLs                   []string
	roles                                         []appRole
	roleTypes                                     string
	keyCreds, pwdCreds                            []byte
	enabled, assignmentRequired                   bool
	homepage, description                         string
}

func (g *generator) spObj(s spSpec) *obj {
	rc := g.newRec(len(spSchema.props))
	rc.str("id", s.id)
	rc.null("deletedDateTime")
	rc.boolean("accountEnabled", s.enabled)
	rc.strs("alternativeNames", s.alt)
	rc.str("appDisplayName", s.name)
	rc.null("appDescription")
	rc.str("appId", s.appID)
	rc.null("applicationTemplateId")
	rc.strN("appOwnerOrganizationId", s.owner)
	rc.boolean("appRoleAssignmentRequired", s.assignmentRequired)
	rc.strN("description", s.description)
	rc.null("disabledByMicrosoftStatus")
	rc.str("displayName", s.name)
	rc.strN("homepage", s.homepage)
	rc.null("loginUrl")
	rc.null("logoutUrl")
	rc.null("notes")
	rc.strs("notificationEmailAddresses", []string{})
	rc.strN("preferredSingleSignOnMode", s.sso)
	rc.null("preferredTokenSigningKeyThumbprint")
	rc.strs("replyUrls", s.replyURLs)
	rc.strs("servicePrincipalNames", s.names)
	rc.str("servicePrincipalType", s.spType)
	rc.strN("signInAudience", s.audience)
	rc.strs("tags", s.tags)
	rc.null("tokenEncryptionKeyId")
	rc.null("samlSingleSignOnSettings")
	rc.rawS("addIns", "[]")
	rc.raw("appRoles", appRolesJSON(s.roles, s.roleTypes))
	rc.rawS("info", `{"logoUrl":null,"marketingUrl":null,"privacyStatementUrl":null,"supportUrl":null,"termsOfServiceUrl":null}`)
	rc.raw("keyCredentials", s.keyCreds)
	if s.appID == graphAppID {
		rc.rawS("oauth2PermissionScopes", `[{"adminConsentDescription":"Allows users to sign-in to the app, and allows the app to read the profile of signed-in users.","adminConsentDisplayName":"Sign in and read user profile","id":"`+userReadScopeID+`","isEnabled":true,"type":"User","userConsentDescription":"Allows you to sign in to the app with your organizational account and let the app read your profile.","userConsentDisplayName":"Sign in and read your profile","value":"User.Read"}]`)
	} else {
		rc.rawS("oauth2PermissionScopes", "[]")
	}
	rc.raw("passwordCredentials", s.pwdCreds)
	rc.rawS("resourceSpecificApplicationPermissions", "[]")
	rc.rawS("verifiedPublisher", `{"displayName":null,"verifiedPublisherId":null,"addedDateTime":null}`)
	o := &obj{k: kSP, id: s.id, name: s.name, appRoles: s.roles}
	o.raw, o.segs = rc.done()
	return o
}

func (g *generator) servicePrincipals(n int, apps []*appSpec) []*obj {
	r := newRNG(g.opt.Seed, "servicePrincipals")
	out := make([]*obj, 0, n)
	if n <= 0 {
		return out
	}
	// Microsoft Graph: its app roles are the application permissions.
	var roles []appRole
	seen := map[string]bool{}
	for _, p := range graphPermissions {
		roles = append(roles, appRole{id: g.graphPermissionID(p.value), value: p.value, name: p.display})
		seen[strings.ToLower(p.value)] = true
	}
	for _, v := range g.opt.Roles {
		if !seen[strings.ToLower(v)] {
			roles = append(roles, appRole{id: g.graphPermissionID(v), value: v, name: v})
			seen[strings.ToLower(v)] = true
		}
	}
	graph := g.spObj(spSpec{id: g.id(r), appID: graphAppID, name: "Microsoft Graph", owner: microsoftTenantID,
		spType: "Application", audience: "AzureADMultipleOrgs", names: []string{graphAppID, "https://graph.microsoft.com", "https://graph.microsoft.com/", "https://canary.graph.microsoft.com"},
		tags: []string{}, replyURLs: []string{}, alt: []string{}, roles: roles, roleTypes: `"Application"`,
		keyCreds: []byte("[]"), pwdCreds: []byte("[]"), enabled: true})
	g.d.add(graph)
	g.d.graphSP = graph
	out = append(out, graph)
	appSPs := min(len(apps), n-1)
	for i := 0; i < appSPs; i++ {
		a := apps[i]
		sp := g.spObj(spSpec{id: g.id(r), appID: a.appID, name: a.name, owner: g.d.tenantID, spType: "Application",
			audience: a.audience, names: []string{a.appID}, tags: []string{"WindowsAzureActiveDirectoryIntegratedApp"},
			replyURLs: []string{}, alt: []string{}, roles: a.roles, roleTypes: `"User"`, keyCreds: []byte("[]"), pwdCreds: []byte("[]"),
			enabled: true, assignmentRequired: len(a.roles) > 0 && r.chance(0.5)})
		g.d.add(sp)
		if i == 0 {
			g.d.connectorSP = sp
		}
		out = append(out, sp)
	}
	rest := n - 1 - appSPs
	fp, fs, tp := 0, 0, 0
	for i := 0; i < rest; i++ {
		var s spSpec
		s.id, s.enabled, s.alt, s.tags, s.replyURLs = g.id(r), r.chance(0.97), []string{}, []string{}, []string{}
		s.keyCreds, s.pwdCreds, s.roleTypes = []byte("[]"), []byte("[]"), `"User"`
		switch x := r.intn(100); {
		case x < 62:
			s.spType, s.owner, s.audience = "Application", microsoftTenantID, "AzureADMultipleOrgs"
			if fp < len(firstPartySPs) {
				s.name, s.appID = firstPartySPs[fp].name, firstPartySPs[fp].appID
				g.d.ids[s.appID] = struct{}{}
			} else {
				k := fs % len(firstPartyServices)
				s.name = firstPartyServices[k]
				if fs >= len(firstPartyServices) {
					s.name += " " + strconv.Itoa(fs/len(firstPartyServices)+1)
				}
				s.appID = g.id(r)
				fs++
			}
			fp++
			s.names = []string{s.appID}
		case x < 88:
			t := thirdPartyApps[tp%len(thirdPartyApps)]
			s.name = t.name
			if tp >= len(thirdPartyApps) {
				s.name += " " + strconv.Itoa(tp/len(thirdPartyApps)+1)
			}
			tp++
			s.spType, s.owner, s.audience, s.sso = "Application", g.id(r), "AzureADMultipleOrgs", t.sso
			s.appID = g.id(r)
			s.homepage = "https://" + t.domain + "/"
			s.names = []string{s.appID, "https://" + t.domain}
			s.replyURLs = []string{"https://" + t.domain + "/sso/saml"}
			s.tags = []string{"WindowsAzureActiveDirectoryGalleryApplicationNonPrimaryV1", "WindowsAzureActiveDirectoryIntegratedApp"}
			s.roles = []appRole{{id: "18d14569-c3bd-439b-9a66-3a2aee01d14f", value: "", name: "User"}, {id: g.id(r), value: "msiam_access", name: "msiam_access"}}
			s.assignmentRequired = r.chance(0.7)
			if t.sso == "saml" {
				s.keyCreds, s.pwdCreds = g.credentials(r, t.domain, 1, 1, []string{"Sign", "Verify"})
			}
		default:
			s.spType, s.audience = "ManagedIdentity", "AzureADMyOrg"
			s.name = []string{"func-", "app-", "vm-", "aks-", "logic-"}[r.intn(5)] + strings.ToLower(r.hexString(8))
			s.appID = g.id(r)
			sub := g.id(r)
			s.alt = []string{"isExplicit=False", "/subscriptions/" + sub + "/resourcegroups/rg-" + slug(s.name) + "/providers/Microsoft.Web/sites/" + s.name}
			s.names = []string{s.appID, "https://identity.azure.net/" + r.token(43)}
			start := g.ago(r, 0, 80)
			s.keyCreds = fmt.Appendf(nil, `[{"customKeyIdentifier":%q,"displayName":%q,"endDateTime":%q,"key":null,"keyId":%q,"startDateTime":%q,"type":"AsymmetricX509Cert","usage":"Verify"}]`,
				r.hexString(40), "CN="+s.appID, fmtTime(start.AddDate(0, 0, 90)), g.id(r), fmtTime(start))
		}
		sp := g.spObj(s)
		g.d.add(sp)
		out = append(out, sp)
	}
	return out
}

func (g *generator) directoryRoles(users, groups, sps []*obj) {
	r := newRNG(g.opt.Seed, "directoryRoles")
	defs := map[string]*obj{}
	for _, rd := range g.d.lists[kRoleDef] {
		defs[rd.name] = rd
	}
	n := min(len(activatedRoles), 8+len(users)/4000)
	var enabled []*obj
	en := userSchema.mustIndex("accountEnabled")
	ut := userSchema.mustIndex("userType")
	for _, u := range users {
		if string(u.value(en)) == "true" && string(u.value(ut)) == `"Member"` {
			enabled = append(enabled, u)
		}
	}
	var assignable []*obj
	for _, gr := range groups {
		if string(gr.value(groupSchema.mustIndex("isAssignableToRole"))) == "true" {
			assignable = append(assignable, gr)
		}
	}
	var roles []*obj
	for i := 0; i < n; i++ {
		name := activatedRoles[i]
		def := defs[name]
		rc := g.newRec(len(roleSchema.props))
		id := g.id(r)
		rc.str("id", id)
		rc.null("deletedDateTime")
		rc.str("description", "Members of this role can perform the tasks of the "+name+" role.")
		rc.str("displayName", name)
		rc.str("roleTemplateId", def.id)
		o := &obj{k: kRole, id: id, name: name}
		o.raw, o.segs = rc.done()
		g.d.add(o)
		roles = append(roles, o)
	}
	for i, role := range roles {
		var k int
		switch role.name {
		case "Global Administrator":
			k = r.between(2, 5)
		case "Directory Synchronization Accounts":
			k = 1
		default:
			k = r.between(1, max(2, len(users)/2000))
		}
		if len(enabled) > 0 {
			for j := 0; j < k; j++ {
				u := enabled[r.intn(len(enabled))]
				role.members, _ = insertBySeq(role.members, u)
			}
		}
		if role.name == "Directory Readers" && len(sps) > 1 {
			for j := 0; j < min(5, len(sps)-1); j++ {
				role.members, _ = insertBySeq(role.members, sps[1+r.intn(len(sps)-1)])
			}
		}
		if len(assignable) > 0 && i > 0 && r.chance(0.4) {
			role.members, _ = insertBySeq(role.members, assignable[r.intn(len(assignable))])
		}
	}
	for _, role := range roles {
		for _, m := range role.members {
			m.memberOf, _ = insertBySeq(m.memberOf, role)
		}
	}
}

// assignments grants application permissions (Microsoft Graph's app roles)
// to app service principals, the connector's roles included, and assigns
// users and groups to enterprise applications.
func (g *generator) assignments(users, groups, sps []*obj) {
	d := g.d
	if d.graphSP == nil {
		return
	}
	r := newRNG(g.opt.Seed, "assignments")
	created := func() time.Time { return g.ago(r, 1, 3*365) }
	// Application permissions of app SPs, read from their application's
	// requiredResourceAccess (Role entries).
	appsByID := map[string]*obj{}
	for _, a := range d.lists[kApp] {
		appsByID[strings.Trim(string(a.value(appSchema.mustIndex("appId"))), `"`)] = a
	}
	ai := spSchema.mustIndex("appId")
	rra := appSchema.mustIndex("requiredResourceAccess")
	for _, sp := range sps {
		appID := strings.Trim(string(sp.value(ai)), `"`)
		app := appsByID[appID]
		if app == nil {
			continue
		}
		raw := string(app.value(rra))
		for _, role := range d.graphSP.appRoles {
			if strings.Contains(raw, `"id":"`+role.id+`","type":"Role"`) {
				d.newAssignment(r, sp, d.graphSP, role.id, created())
			}
		}
	}
	// Users and groups assigned to enterprise applications and to app SPs
	// that define roles.
	var targets []*obj
	for _, sp := range sps {
		if sp != d.graphSP && len(sp.appRoles) > 0 {
			targets = append(targets, sp)
		}
	}
	if len(targets) == 0 || len(users) == 0 {
		return
	}
	perUser := max(1, len(users)*3/10/len(targets))
	for _, sp := range targets {
		nu := r.between(0, 2*perUser)
		for j := 0; j < nu; j++ {
			u := users[r.intn(len(users))]
			role := sp.appRoles[r.intn(len(sp.appRoles))].id
			dup := false
			for _, a := range u.asg {
				if a.resource == sp {
					dup = true
					break
				}
			}
			if !dup {
				d.newAssignment(r, u, sp, role, created())
			}
		}
		if len(groups) > 0 {
			for j := r.between(0, 3); j > 0; j-- {
				gr := groups[r.intn(len(groups))]
				dup := false
				for _, a := range gr.asg {
					if a.resource == sp {
						dup = true
						break
					}
				}
				if !dup {
					d.newAssignment(r, gr, sp, sp.appRoles[0].id, created())
				}
			}
		}
	}
	// Assignments were appended in creation (seq) order on both sides.
	_ = defaultAccessRole
}

// adminUnitSpec is one administrative unit of the catalog and who its
// members are.
type adminUnitSpec struct {
	name, desc string
	countries  []string // dynamic: the users of these countries
	dept       string   // the users of this department and the groups of its topic
	members    string   // otherwise: "contractors", "devices", "groups", "guests" or "privileged"
	public     bool     // visibility "Public" (null otherwise: public by default)
	restricted bool     // isMemberManagementRestricted
}

// adminUnitSpecs lists the administrative units a tenant may have, the
// ones every tenant has first: regions, kinds of accounts, countries and
// departments (41: seed scale has the first 40).
func adminUnitSpecs() []adminUnitSpec {
	region := func(i int) adminUnitSpec {
		return adminUnitSpec{name: regions[i].name + " Users", desc: "Users based in " + regions[i].name + " (dynamic, by country)",
			countries: regions[i].countries, public: true}
	}
	dept := func(d string) adminUnitSpec {
		return adminUnitSpec{name: d + " Department", desc: "Users and groups of the " + d + " department", dept: d}
	}
	out := []adminUnitSpec{
		region(0),
		{name: "Contractors", desc: "Contractor accounts, managed by the service desk", members: "contractors"},
		{name: "Shared Devices", desc: "Kiosk and shared devices", members: "devices"},
		{name: "Managed Groups", desc: "Groups whose membership the service desk manages", members: "groups"},
		region(1),
		region(2),
		{name: "Guest Accounts", desc: "Invited external users", members: "guests"},
		{name: "Privileged Accounts", desc: "Administrators' accounts: only Privileged Role Administrators manage them", members: "privileged", restricted: true},
	}
	for _, rg := range regions {
		for _, c := range rg.countries {
			out = append(out, adminUnitSpec{name: c, desc: "Users in " + c + " (dynamic)", countries: []string{c}})
		}
	}
	for _, d := range departments {
		out = append(out, dept(d))
	}
	return out
}

// adminUnitRule is the membership rule of a dynamic unit of countries.
func adminUnitRule(countries []string) string {
	if len(countries) == 1 {
		return `(user.country -eq ` + string(jsonString(countries[0])) + `)`
	}
	var b strings.Builder
	b.WriteString(`(user.country -in [`)
	for i, c := range countries {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(jsonString(c))
	}
	b.WriteString(`])`)
	return b.String()
}

// administrativeUnits creates 4 units at the default scale and up to 40 at
// seed scale, with users (most members), groups and devices as members.
func (g *generator) administrativeUnits(users, groups, devices []*obj) {
	r := newRNG(g.opt.Seed, "administrativeUnits")
	specs := adminUnitSpecs()
	n := min(len(specs), 4+len(users)/3075)
	ci := userSchema.mustIndex("country")
	di := userSchema.mustIndex("department")
	ei := userSchema.mustIndex("employeeType")
	ti := userSchema.mustIndex("userType")
	var privileged []*obj
	for _, role := range g.d.lists[kRole] {
		if role.name == "Global Administrator" || role.name == "Privileged Role Administrator" {
			for _, m := range role.members {
				if m.k == kUser {
					privileged, _ = insertBySeq(privileged, m)
				}
			}
		}
	}
	for _, s := range specs[:n] {
		rc := g.newRec(len(auSchema.props))
		id := g.id(r)
		rc.str("id", id)
		rc.null("deletedDateTime")
		rc.str("displayName", s.name)
		rc.str("description", s.desc)
		if s.restricted {
			rc.boolean("isMemberManagementRestricted", true)
		} else {
			rc.null("isMemberManagementRestricted")
		}
		dynamic := len(s.countries) > 0
		if dynamic {
			rc.str("membershipRule", adminUnitRule(s.countries))
			rc.str("membershipType", "Dynamic")
			rc.str("membershipRuleProcessingState", "On")
		} else {
			rc.null("membershipRule")
			rc.null("membershipType")
			rc.null("membershipRuleProcessingState")
		}
		if s.public {
			rc.str("visibility", "Public")
		} else {
			rc.null("visibility")
		}
		o := &obj{k: kAU, id: id, name: s.name, dynamic: dynamic}
		o.raw, o.segs = rc.done()
		g.d.add(o)

		// Members in seq order: users, then groups, then devices (created
		// in that order, all before the unit).
		var keep func(u *obj) bool
		switch {
		case dynamic:
			in := map[string]bool{}
			for _, c := range s.countries {
				in[string(jsonString(c))] = true
			}
			keep = func(u *obj) bool { return in[string(u.value(ci))] }
		case s.dept != "":
			dept := jsonString(s.dept)
			keep = func(u *obj) bool { return string(u.value(di)) == string(dept) }
		case s.members == "contractors":
			keep = func(u *obj) bool { return string(u.value(ei)) == `"Contractor"` }
		case s.members == "guests":
			keep = func(u *obj) bool { return string(u.value(ti)) == `"Guest"` }
		case s.members == "privileged":
			keep = func(u *obj) bool { return containsBySeq(privileged, u) }
		}
		if keep != nil {
			for _, u := range users {
				if keep(u) {
					o.members = append(o.members, u)
				}
			}
		}
		if s.dept != "" {
			topic, ok := departmentTopics[s.dept]
			if !ok {
				topic, _, _ = strings.Cut(s.dept, " ")
			}
			for _, gr := range groups {
				if topic != "" && strings.HasPrefix(gr.name, topic+" ") && r.chance(0.8) {
					o.members = append(o.members, gr)
				}
			}
		}
		if s.members == "groups" {
			for _, gr := range groups {
				if r.chance(0.15) {
					o.members = append(o.members, gr)
				}
			}
			if len(o.members) == 0 && len(groups) > 0 {
				o.members = append(o.members, groups[r.intn(len(groups))])
			}
		}
		if s.members == "devices" {
			for _, dv := range devices {
				if r.chance(0.08) {
					o.members = append(o.members, dv)
				}
			}
		}
		for _, m := range o.members {
			m.memberOf = append(m.memberOf, o) // units are created after every member: stays sorted
		}
	}
}

// adminUnitMatches reports whether user u satisfies the rule of dynamic
// unit au (a rule on the user's country).
func adminUnitMatches(au, u *obj) bool {
	if au.k != kAU || !au.dynamic || u.k != kUser {
		return false
	}
	country := unquote(u.value(userSchema.mustIndex("country")))
	if country == "" {
		return false
	}
	return strings.Contains(unquote(au.value(auSchema.mustIndex("membershipRule"))), string(jsonString(country)))
}
