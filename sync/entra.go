package sync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"unicode/utf8"

	"qtc/api/graph"
	"qtc/store"
	"qtc/sync/catalog"
	"qtc/sync/internal/jsonobj"
	"qtc/sync/relations"
)

// Entra ID connectors (seeds 002 and 003) pull Microsoft Graph.
const (
	KindEntra        = catalog.KindEntra
	KindEntraDevices = catalog.KindEntraDevices
)

// Settings of an Entra ID connector.
const (
	SettingTenantID     = "tenantId"
	SettingClientID     = "clientId"
	SettingCloud        = "cloud"
	SettingLoginURL     = "loginURL"
	SettingGraphURL     = "graphURL"
	SettingTokenVersion = "token" // "v1" (seed 003's endpoint, default) or "v2"
	SettingScope        = "scope" // "identities" (default) or "posture"
	SealedClientSecret  = "clientSecret"
)

// EntraConnector is what `connector add entra|entra-devices` needs.
type EntraConnector struct {
	Kind, Name         string
	TenantID, ClientID string
	ClientSecret       string
	Cloud              string // global (default), usgov, china
	LoginURL, GraphURL string // custom endpoints (a simulator, a proxy)
	Token              string // v1 (default) or v2
	Scope              string // identities (default) or posture; identity connector only
	Baseline           string // weekly (default), fortnightly, triweekly, monthly
	// RetainDelta keeps the change sets of the last RetainedChangeSets
	// runs (default: the last run's only).
	RetainDelta bool
	// Manual: never synced automatically, only when named (seed 003's
	// "Require Manual Sync").
	Manual bool
	// CABundle is a PEM file of CA certificates trusted besides the
	// system's (a TLS-inspecting proxy's root); empty for none.
	CABundle string
	// Description is free text shown with the connector (seed 003: at
	// most 180 characters; seed 002: at most 164).
	Description string
	// Schedule is when the connector syncs by itself (zero: only by hand).
	Schedule Schedule
	// AssetTags are the Qualys asset tags a host must all have to be
	// included (seed 002, devices connector only; empty: every host).
	AssetTags []string
}

var (
	guidRE   = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	domainRE = regexp.MustCompile(`^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$`)
)

// ValidTenantID reports whether s names a tenant: its Directory (tenant)
// ID, a GUID, or one of its verified domains.
func ValidTenantID(s string) bool { return guidRE.MatchString(s) || domainRE.MatchString(s) }

// notEchoed describes a refused identifier without showing it: a client
// secret pasted into the wrong flag or field must not appear on screen or
// in logs.
func notEchoed(v string) string {
	if v == "" {
		return "empty"
	}
	return fmt.Sprintf("%d characters given, not shown in case they are a secret", utf8.RuneCountInString(v))
}

// ValidClientID reports whether s is an Application (client) ID: a GUID.
func ValidClientID(s string) bool { return guidRE.MatchString(s) }

// Validate checks every field and names the first bad one.
func (c EntraConnector) Validate() error {
	if c.Kind != KindEntra && c.Kind != KindEntraDevices {
		return fmt.Errorf("connector kind %q is not entra or entra-devices", c.Kind)
	}
	if err := ValidateName(c.Name); err != nil {
		return err
	}
	if !ValidTenantID(c.TenantID) {
		return fmt.Errorf("--tenant-id is not a GUID (Directory (tenant) ID) or a verified domain (%s)", notEchoed(c.TenantID))
	}
	if !ValidClientID(c.ClientID) {
		return fmt.Errorf("--client-id is not a GUID (Application (client) ID) (%s)", notEchoed(c.ClientID))
	}
	if c.ClientSecret == "" {
		return errors.New("client secret is empty: set QTC_CLIENT_SECRET or type it at the prompt")
	}
	if _, err := c.cloud(); err != nil {
		return err
	}
	if c.Token != "" && c.Token != "v1" && c.Token != "v2" {
		return fmt.Errorf("--token is not v1 or v2 (%s)", notEchoed(c.Token))
	}
	if c.Scope != "" && c.Scope != "identities" && c.Scope != "posture" {
		return fmt.Errorf("--scope %q is not identities or posture", c.Scope)
	}
	if _, ok := Baselines[c.Baseline]; c.Baseline != "" && !ok {
		return fmt.Errorf("--baseline %q is not weekly, fortnightly, triweekly or monthly", c.Baseline)
	}
	if err := CheckCABundle(c.CABundle); err != nil {
		return err
	}
	if err := checkDescription(c.Kind, c.Description); err != nil {
		return err
	}
	if err := c.Schedule.Validate(); err != nil {
		return err
	}
	if len(c.AssetTags) > 0 && c.Kind != KindEntraDevices {
		return errors.New("--asset-tags applies to entra-devices connectors only (seed 002)")
	}
	return checkAssetTags(c.AssetTags)
}

// cloud resolves the cloud and any custom endpoints.
func (c EntraConnector) cloud() (graph.Cloud, error) {
	name := c.Cloud
	if name == "" {
		name = "global"
	}
	cl, err := graph.CloudByName(name)
	if err != nil {
		return cl, fmt.Errorf("--cloud: %w", err)
	}
	if (c.LoginURL == "") != (c.GraphURL == "") {
		return cl, errors.New("--login-url and --graph-url go together")
	}
	if c.LoginURL != "" {
		cl.LoginURL, cl.GraphURL = strings.TrimRight(c.LoginURL, "/"), strings.TrimRight(c.GraphURL, "/")
	}
	return cl, nil
}

// SaveEntra validates and stores an Entra ID connector, sealing its secret.
// An existing connector of the same name is updated in place (its synced
// data is kept).
func (e *Engine) SaveEntra(ctx context.Context, c EntraConnector) (store.Connector, error) {
	if err := c.Validate(); err != nil {
		return store.Connector{}, err
	}
	return e.saveConnector(ctx, c.Name, c.Kind, c.settings(), SealedClientSecret, c.ClientSecret, false)
}

// UpdateEntra changes an existing Entra ID connector (the CLI's `connector
// edit`, the TUI's edit form): an empty ClientSecret keeps the sealed one.
func (e *Engine) UpdateEntra(ctx context.Context, c EntraConnector) (store.Connector, error) {
	v := c
	if v.ClientSecret == "" {
		v.ClientSecret = "unchanged" // kept: only the other fields need checking
	}
	if err := v.Validate(); err != nil {
		return store.Connector{}, err
	}
	return e.saveConnector(ctx, c.Name, c.Kind, c.settings(), SealedClientSecret, c.ClientSecret, true)
}

// settings are every stored (non-secret) setting of the connector, empty
// values included: they are the settings an Entra ID connector owns.
func (c EntraConnector) settings() map[string]string {
	m := map[string]string{SettingTenantID: c.TenantID, SettingClientID: c.ClientID, SettingCloud: c.Cloud,
		SettingLoginURL: c.LoginURL, SettingGraphURL: c.GraphURL, SettingTokenVersion: c.Token, SettingScope: c.Scope,
		SettingBaseline: c.Baseline, SettingCABundle: c.CABundle, SettingDescription: c.Description,
		SettingAssetTags: strings.Join(c.AssetTags, ","), SettingRetainDelta: boolSetting(c.RetainDelta), SettingManual: boolSetting(c.Manual)}
	return withSchedule(m, c.Schedule)
}

// EntraConnectorOf reads an Entra ID connector's configuration back from
// the store, without its secret (ClientSecret is empty).
func EntraConnectorOf(conn store.Connector) (EntraConnector, error) {
	if conn.Kind != KindEntra && conn.Kind != KindEntraDevices {
		return EntraConnector{}, fmt.Errorf("connector %s is a %s connector, not entra or entra-devices", conn.Name, conn.Kind)
	}
	set := conn.Settings
	c := EntraConnector{Kind: conn.Kind, Name: conn.Name, TenantID: set[SettingTenantID], ClientID: set[SettingClientID],
		Cloud: set[SettingCloud], LoginURL: set[SettingLoginURL], GraphURL: set[SettingGraphURL], Token: set[SettingTokenVersion],
		Scope: set[SettingScope], Baseline: set[SettingBaseline], RetainDelta: RetainsDelta(conn), Manual: Manual(conn),
		CABundle: set[SettingCABundle], Description: set[SettingDescription], AssetTags: AssetTags(conn)}
	var err error
	c.Schedule, err = ScheduleOf(conn)
	return c, err
}

// GraphClient builds the Graph client of an Entra ID connector.
func (e *Engine) GraphClient(conn store.Connector) (*graph.Client, error) {
	cfg, err := e.graphConfig(conn)
	if err != nil {
		return nil, err
	}
	return graph.New(cfg)
}

// graphConfig is the client configuration of an Entra ID connector: its
// opened secret and an HTTP client that trusts its CA bundle, if any.
func (e *Engine) graphConfig(conn store.Connector) (graph.Config, error) {
	sealed, ok := conn.Sealed[SealedClientSecret]
	if !ok {
		return graph.Config{}, fmt.Errorf("connector %s has no client secret set", conn.Name)
	}
	secret, err := e.Vault.Open(sealed, SecretAAD(conn.Name, SealedClientSecret))
	if err != nil {
		return graph.Config{}, fmt.Errorf("connector %s: open client secret: %w", conn.Name, err)
	}
	ec := EntraConnector{Cloud: conn.Settings[SettingCloud], LoginURL: conn.Settings[SettingLoginURL], GraphURL: conn.Settings[SettingGraphURL]}
	cl, err := ec.cloud()
	if err != nil {
		return graph.Config{}, err
	}
	tok := graph.TokenV1
	if conn.Settings[SettingTokenVersion] == "v2" {
		tok = graph.TokenV2
	}
	hc, err := e.httpClientFor(conn, graphHTTPTimeout)
	if err != nil {
		return graph.Config{}, err
	}
	return graph.Config{
		TenantID: conn.Settings[SettingTenantID], ClientID: conn.Settings[SettingClientID], ClientSecret: string(secret),
		Cloud: cl, Token: tok, HTTPClient: hc, Logger: e.logger(), Trace: e.Trace,
	}, nil
}

// errStaleLink reports a saved next or delta link that no longer applies.
var errStaleLink = errors.New("the saved link no longer applies")

// entraStream says how one Graph entity is pulled.
type entraStream struct {
	typ   string
	first string // first request of a full pull
	delta bool   // first is a delta query: later runs follow its delta link
	perm  string // the permission seed 003 / 002 names for it
	// post turns a fetched page into what is stored: it may rewrite the
	// items and add relation links (fetching more through $batch).
	post func(ctx context.Context, c *graph.Client, p *rawPage) error
}

// deferredInverses are the relations whose inverse a full pull of the type
// rebuilds at its end (see stream.deferInverse).
var deferredInverses = map[string][]string{"groups": {relations.Members}}

// Select lists: the properties the screens and the transformation maps use.
const (
	userSelect   = "id,displayName,userPrincipalName,mail,userType,accountEnabled,onPremisesSyncEnabled,createdDateTime,jobTitle,department,givenName,surname,employeeId,officeLocation,companyName,country,city,mobilePhone,businessPhones,lastPasswordChangeDateTime,proxyAddresses,identities,onPremisesSamAccountName,onPremisesDomainName,onPremisesImmutableId,onPremisesLastSyncDateTime,onPremisesSecurityIdentifier,onPremisesDistinguishedName,usageLocation,preferredLanguage,creationType,externalUserState"
	groupSelect  = "id,displayName,description,mail,mailEnabled,mailNickname,securityEnabled,groupTypes,membershipRule,onPremisesSyncEnabled,onPremisesSecurityIdentifier,createdDateTime,visibility,isAssignableToRole,securityIdentifier,classification,expirationDateTime,renewedDateTime"
	deviceSelect = "id,deviceId,displayName,operatingSystem,operatingSystemVersion,isCompliant,isManaged,trustType,approximateLastSignInDateTime,accountEnabled,registrationDateTime,profileType,manufacturer,model,enrollmentType,managementType,deviceOwnership,onPremisesSyncEnabled,onPremisesLastSyncDateTime,physicalIds,systemLabels,createdDateTime"
)

var (
	identityStreams = []entraStream{
		{"users", "/v1.0/users/delta?$select=" + userSelect, true, "User.Read.All", nil},
		{"groups", "/v1.0/groups/delta?$select=" + groupSelect + ",members", true, "GroupMember.Read.All or Directory.Read.All", groupMembers},
		{"roles", "/v1.0/roleManagement/directory/roleDefinitions", false, "RoleManagement.Read.Directory", nil},
		{"directoryRoles", "/v1.0/directoryRoles?$select=" + directoryRoleSelect, false, "RoleManagement.Read.Directory or Directory.Read.All", directoryRoleMembers},
		{"administrativeUnits", "/v1.0/directory/administrativeUnits/delta?$select=" + adminUnitSelect + ",members", true, "AdministrativeUnit.Read.All or Directory.Read.All", adminUnitMembersDelta},
		{"appRoleAssignments", "/v1.0/servicePrincipals?$select=id&$top=999", false, "Application.Read.All or Directory.Read.All", appRoleAssignedTo},
	}
	postureStreams = []entraStream{
		{"applications", "/v1.0/applications?$top=999", false, "Directory.Read.All", nil},
		{"servicePrincipals", "/v1.0/servicePrincipals?$top=999", false, "Directory.Read.All", nil},
		{"organization", "/v1.0/organization", false, "Directory.Read.All", nil},
		// Derived from the two pulls above (first == ""): no request.
		{credentialsType, "", false, "Directory.Read.All", nil},
	}
	deviceStreams = []entraStream{
		{"devices", "/v1.0/devices/delta?$select=" + deviceSelect, true, "Device.Read.All", nil},
	}
)

func (e *Engine) entraPlan(conn store.Connector, opt Options) (plan, error) {
	c, err := e.GraphClient(conn)
	if err != nil {
		return plan{}, err
	}
	var specs []entraStream
	switch conn.Kind {
	case KindEntraDevices:
		specs = deviceStreams
	default:
		specs = identityStreams
		if conn.Settings[SettingScope] == "posture" {
			specs = append(append([]entraStream(nil), specs...), postureStreams...)
		}
	}
	baseline := Baselines[defaultBaseline]
	if b, ok := Baselines[conn.Settings[SettingBaseline]]; ok {
		baseline = b
	}
	perms := map[string]string{}
	var out []stream
	for _, sp := range specs {
		if !wanted(opt, sp.typ) {
			continue
		}
		t, _ := catalog.Lookup(sp.typ)
		perms[sp.typ] = sp.perm
		fetch := graphFetcher(c, sp)
		if sp.first == "" {
			name := conn.Name
			fetch = func(ctx context.Context, _ cursor, _ string, _ int) (rawPage, error) {
				return e.deriveCredentials(ctx, name)
			}
		}
		out = append(out, stream{
			typ: t, fetch: fetch, last: sp.first == "", deferInverse: deferredInverses[sp.typ], incremental: sp.delta, deltaLinks: sp.delta, baseline: baseline,
			expired:     func(err error) bool { return errors.Is(err, graph.ErrDeltaExpired) || errors.Is(err, errStaleLink) },
			staleResume: func(err error) bool { return errors.Is(err, errStaleLink) || errors.Is(err, graph.ErrDeltaExpired) },
		})
	}
	return plan{
		streams: out, concurrent: true,
		prepare: func(ctx context.Context) error { _, err := c.Token(ctx); return err },
		requests: func() int64 {
			return int64(c.Stats().Requests)
		},
		explain: func(err error) error { return explainGraph(err, perms, conn.Settings[SettingGraphURL]) },
	}, nil
}

// fullListing is how a full pull of a delta entity lists it: the plain
// collection query, in pages of 999 (a delta round's pages hold at most 200
// objects and must be fetched one after another), with a page's relations
// listed through $batch, all of them at once. Before the first page, the
// delta query with $deltatoken=latest gives the link the next delta round
// follows: changes made while the pull lists are replayed by that round.
type fullListing struct {
	list string
	post func(ctx context.Context, c *graph.Client, p *rawPage) error
}

var fullListings = map[string]fullListing{
	"users":               {"/v1.0/users?$select=" + userSelect + "&$top=999", nil},
	"groups":              {"/v1.0/groups?$select=" + groupSelect + "&$top=200", groupMembersListed},
	"devices":             {"/v1.0/devices?$select=" + deviceSelect + "&$top=999", nil},
	"administrativeUnits": {"/v1.0/directory/administrativeUnits?$select=" + adminUnitSelect + "&$top=999", adminUnitMembers},
}

// graphFetcher pages one entity: the first request, or the delta link of a
// delta round, then each @odata.nextLink exactly as given. A full pull of
// an entity with a fullListing lists it instead.
func graphFetcher(c *graph.Client, sp entraStream) func(ctx context.Context, at cursor, window string, _ int) (rawPage, error) {
	if fl, ok := fullListings[sp.typ]; ok && sp.delta {
		delta := deltaFetcher(c, sp)
		return func(ctx context.Context, at cursor, window string, n int) (rawPage, error) {
			if window != "" {
				return delta(ctx, at, window, n)
			}
			return listFull(ctx, c, sp, fl, at)
		}
	}
	return deltaFetcher(c, sp)
}

// listFull fetches one page of a fullListing. The cursor's marker is the
// next link and, after a space, the delta link to keep for the end.
func listFull(ctx context.Context, c *graph.Client, sp entraStream, fl fullListing, at cursor) (rawPage, error) {
	u, latest, _ := strings.Cut(at.marker, " ")
	if at.marker == "" {
		p, err := c.Get(ctx, sp.first+"&$deltatoken=latest")
		if err != nil {
			return rawPage{}, err
		}
		if p.DeltaLink == "" {
			return rawPage{}, fmt.Errorf("%s: the delta query with $deltatoken=latest answered without a delta link", sp.typ)
		}
		u, latest = fl.list, p.DeltaLink
	}
	for _, link := range []string{u, latest} {
		if link != fl.list && !strings.HasPrefix(link, c.Cloud().GraphURL+"/") {
			return rawPage{}, fmt.Errorf("%s: saved link is not on %s: %w", sp.typ, c.Cloud().GraphURL, errStaleLink)
		}
	}
	rp, err := getPage(ctx, c, sp.typ, u, fl.post)
	if err != nil {
		return rawPage{}, err
	}
	if !rp.last {
		rp.next = cursor{marker: rp.next.marker + " " + latest}
	} else {
		rp.deltaLink = latest
	}
	return rp, nil
}

// getPage fetches the Graph page at u as a rawPage of typ, post applied
// (if not nil).
func getPage(ctx context.Context, c *graph.Client, typ, u string, post func(ctx context.Context, c *graph.Client, p *rawPage) error) (rawPage, error) {
	p, err := c.Get(ctx, u)
	if err != nil {
		return rawPage{}, err
	}
	rp, err := graphRawPage(typ, p)
	if err != nil {
		return rawPage{}, err
	}
	if post != nil {
		if err := post(ctx, c, &rp); err != nil {
			return rawPage{}, fmt.Errorf("%s: %w", typ, err)
		}
	}
	return rp, nil
}

// deltaFetcher pages a delta query (or a plain collection).
func deltaFetcher(c *graph.Client, sp entraStream) func(ctx context.Context, at cursor, window string, _ int) (rawPage, error) {
	return func(ctx context.Context, at cursor, window string, _ int) (rawPage, error) {
		u := sp.first
		switch {
		case at.marker != "":
			u = at.marker
		case window != "":
			u = window
		}
		if u != sp.first && !strings.HasPrefix(u, c.Cloud().GraphURL+"/") {
			// A link saved from another Graph endpoint (the connector's
			// URL changed): it cannot be followed, so start over.
			return rawPage{}, fmt.Errorf("%s: saved link is not on %s: %w", sp.typ, c.Cloud().GraphURL, errStaleLink)
		}
		return getPage(ctx, c, sp.typ, u, sp.post)
	}
}

// graphRawPage sorts a Graph page's items into records to write, objects
// deleted for good and objects soft-deleted (@removed), and keeps its links.
func graphRawPage(typ string, p *graph.Page) (rawPage, error) {
	rp := rawPage{last: p.NextLink == "", next: cursor{marker: p.NextLink}, deltaLink: p.DeltaLink}
	for _, it := range p.Items {
		o, err := jsonobj.Scan(it)
		if err != nil {
			return rawPage{}, fmt.Errorf("%s: item: %w", typ, err)
		}
		removed := o.Get("@removed")
		if removed == nil || string(removed) == "null" {
			rp.items = append(rp.items, it)
			continue
		}
		id, _ := jsonobj.String(o.Get("id"))
		var why struct {
			Reason string `json:"reason"`
		}
		if err := json.Unmarshal(removed, &why); err != nil {
			return rawPage{}, fmt.Errorf("%s: item %s: @removed: %w", typ, id, err)
		}
		if why.Reason == "deleted" {
			rp.deletes = append(rp.deletes, id)
		} else { // "changed": soft-deleted, restorable
			rp.softDeletes = append(rp.softDeletes, id)
		}
	}
	return rp, nil
}

// explainGraph names the missing permission on a 403 (seed 003's table)
// and adds the network advice to connection errors.
func explainGraph(err error, perms map[string]string, endpoint string) error {
	var ge *graph.Error
	if errors.As(err, &ge) && ge.Status == http.StatusForbidden {
		for typ, perm := range perms {
			if strings.HasPrefix(err.Error(), typ+" ") {
				return fmt.Errorf("%w — grant the application permission %s and admin consent", err, perm)
			}
		}
	}
	if endpoint == "" {
		endpoint = "login.microsoftonline.com and graph.microsoft.com"
	}
	return explainNetwork(err, endpoint)
}
