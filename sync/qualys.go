package sync

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"qtc/api/qualys"
	"qtc/store"
	"qtc/sync/catalog"
)

// KindQualys is the connector kind of a Qualys TotalCloud account.
const KindQualys = "qualys"

// Settings keys of a Qualys connector.
const (
	SettingGatewayURL = "gatewayURL"
	SettingAPIURL     = "apiURL"
	SettingUsername   = "username"
	SealedPassword    = "password"
)

// SecretAAD binds a sealed secret to its connector and field, so a sealed
// value copied onto another connector does not open.
func SecretAAD(connector, field string) string {
	return "connector/" + connector + "/" + field
}

// QualysClient builds the API client of a Qualys connector, opening its
// sealed password.
func (e *Engine) QualysClient(conn store.Connector) (*qualys.Client, error) {
	cfg, err := e.qualysConfig(conn)
	if err != nil {
		return nil, err
	}
	return qualys.New(cfg)
}

// qualysConfig is the client configuration of a Qualys connector: its
// opened password and an HTTP client that trusts its CA bundle, if any.
func (e *Engine) qualysConfig(conn store.Connector) (qualys.Config, error) {
	if conn.Kind != KindQualys {
		return qualys.Config{}, fmt.Errorf("connector %s is a %s connector, not qualys", conn.Name, conn.Kind)
	}
	sealed, ok := conn.Sealed[SealedPassword]
	if !ok {
		return qualys.Config{}, fmt.Errorf("connector %s has no password set; run: qtc connector add qualys %s …", conn.Name, conn.Name)
	}
	if e.Vault == nil {
		return qualys.Config{}, fmt.Errorf("connector %s: no secret vault configured", conn.Name)
	}
	pw, err := e.Vault.Open(sealed, SecretAAD(conn.Name, SealedPassword))
	if err != nil {
		return qualys.Config{}, fmt.Errorf("connector %s: open password: %w", conn.Name, err)
	}
	hc, err := e.httpClientFor(conn, qualysHTTPTimeout)
	if err != nil {
		return qualys.Config{}, err
	}
	return qualys.Config{
		GatewayURL: conn.Settings[SettingGatewayURL],
		Username:   conn.Settings[SettingUsername],
		Password:   string(pw),
		HTTPClient: hc,
		Logger:     e.logger(),
		Trace:      e.Trace,
	}, nil
}

func (e *Engine) qualysPlan(conn store.Connector, opt Options) (plan, error) {
	c, err := e.QualysClient(conn)
	if err != nil {
		return plan{}, err
	}
	fetchers := map[string]func(ctx context.Context, at cursor, window string, pageSize int) (rawPage, error){
		"policies": func(ctx context.Context, at cursor, _ string, pageSize int) (rawPage, error) {
			p, err := c.Policies(ctx, at.page, pageSize)
			if err != nil {
				return rawPage{}, err
			}
			return springRaw(p, at), nil
		},
		"exceptions": func(ctx context.Context, at cursor, _ string, pageSize int) (rawPage, error) {
			p, err := c.Exceptions(ctx, at.page, pageSize)
			if err != nil {
				return rawPage{}, err
			}
			return springRaw(p, at), nil
		},
	}
	var out []stream
	for _, name := range []string{"policies", "exceptions"} {
		t, _ := catalog.Lookup(name)
		if wanted(opt, name) {
			out = append(out, stream{typ: t, fetch: fetchers[name]})
		}
	}
	resources, err := e.resourceStreams(c, conn, opt)
	if err != nil {
		return plan{}, err
	}
	out = append(out, resources...)
	for i := range out {
		out[i].lane = laneGateway
	}
	hosts, api, err := e.hostStreams(conn, opt)
	if err != nil {
		return plan{}, err
	}
	for i := range hosts {
		hosts[i].lane = laneAPIServer
	}
	out = append(out, hosts...)
	gateway := conn.Settings[SettingGatewayURL]
	apiURL := conn.Settings[SettingAPIURL]
	p := plan{
		streams:  out,
		lanes:    qualysLanes,
		prepare:  c.Authenticate,
		requests: c.Requests,
		explain: func(err error) error {
			// The host streams' errors name the API server's URL.
			if apiURL != "" && err != nil && !strings.Contains(err.Error(), hostPart(gateway)) {
				return explainNetwork(err, apiURL)
			}
			return explainNetwork(err, gateway)
		},
	}
	if api != nil {
		p.requests = func() int64 { return c.Requests() + api.Requests() }
		p.throttled = api.Throttled
	}
	return p, nil
}

// The Qualys lanes: the gateway's streams (policies, exceptions, TotalCloud
// resources) are independent, two at a time — the two concurrent calls a
// Qualys account allows (X-Concurrency-Limit-Limit); the XML API server's
// (hosts, then their findings, then the CVEs derived from both) one after
// the other, beside them: the API server has its own limits, which its
// client obeys as it reads them.
const (
	laneGateway   = "gateway"
	laneAPIServer = "api"
)

var qualysLanes = map[string]int{laneGateway: 2, laneAPIServer: 1}

// hostPart is the host[:port] of a URL (s itself if it does not parse).
func hostPart(s string) string {
	if u, err := url.Parse(s); err == nil && u.Host != "" {
		return u.Host
	}
	return s
}

func springRaw[T any](p *qualys.SpringPage[T], at cursor) rawPage {
	items := make([][]byte, len(p.Items))
	for i, it := range p.Items {
		items[i] = it.Raw
	}
	return rawPage{items: items, last: p.Last || p.Empty || len(p.Items) == 0, total: p.TotalElements, next: cursor{page: at.page + 1}}
}

// QualysConnector is what `connector add qualys` needs.
type QualysConnector struct {
	Name string
	// Platform ("US1", "UK1", …) or APIURL (e.g. qualysapi.qg1.apps.qualys.co.uk,
	// seed 004) picks the platform's URLs; GatewayURL overrides the gateway.
	Platform   string
	APIURL     string
	GatewayURL string
	Username   string
	Password   string
	// Resources, Baseline and Retention shape the resource streams (see
	// SettingResources, SettingBaseline, SettingRetention); empty = default.
	Resources string
	Baseline  string
	Retention string
	// CABundle is a PEM file of CA certificates trusted besides the
	// system's (a TLS-inspecting proxy's root); empty for none.
	CABundle string
	// Description is free text shown with the connector (at most 180
	// characters, as seed 003's).
	Description string
	// Schedule is when the connector syncs by itself (zero: only by hand).
	Schedule Schedule
}

// Resolve fills GatewayURL (and APIURL) from Platform or APIURL. Explicit
// URLs win.
func (q *QualysConnector) Resolve() error {
	var p qualys.Platform
	switch {
	case q.Platform != "":
		var ok bool
		if p, ok = qualys.PlatformByID(q.Platform); !ok {
			ids := make([]string, len(qualys.Platforms))
			for i, pl := range qualys.Platforms {
				ids[i] = pl.ID
			}
			return fmt.Errorf("--platform %q is not one of %s", q.Platform, strings.Join(ids, ", "))
		}
	case q.APIURL != "" && q.GatewayURL == "":
		var err error
		if p, err = qualys.PlatformFromURL(q.APIURL); err != nil {
			return fmt.Errorf("--api-url: %w", err)
		}
	default:
		return nil
	}
	if q.GatewayURL == "" {
		q.GatewayURL = p.Gateway
	}
	if q.APIURL == "" {
		q.APIURL = p.APIServer
	}
	return nil
}

// Validate checks every field and names the first bad one.
func (q QualysConnector) Validate() error {
	if err := ValidateName(q.Name); err != nil {
		return err
	}
	if err := q.Resolve(); err != nil {
		return err
	}
	if q.GatewayURL == "" {
		return fmt.Errorf("--platform or --gateway-url is required (e.g. --platform US1, or --gateway-url https://gateway.qg1.apps.qualys.com)")
	}
	u, err := url.Parse(q.GatewayURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("--gateway-url %q is not an http(s) URL with a host (e.g. https://gateway.qg1.apps.qualys.com)", q.GatewayURL)
	}
	if q.APIURL != "" {
		// The classic API server (seed 004): a full http(s) URL or a bare
		// host; plain http for a loopback simulator only.
		if _, err := qualys.NewAPIClient(qualys.APIConfig{APIServerURL: q.APIURL, Username: "check"}); err != nil {
			return fmt.Errorf("--api-url %q: %w", q.APIURL, err)
		}
	}
	if q.Username == "" {
		return fmt.Errorf("--username is required")
	}
	if q.Password == "" {
		return fmt.Errorf("password is empty: set QTC_PASSWORD or type it at the prompt")
	}
	if _, err := ResourceScope(store.Connector{Settings: map[string]string{SettingResources: q.Resources}}); err != nil {
		return fmt.Errorf("--resources: %w", err)
	}
	if _, ok := Baselines[q.Baseline]; q.Baseline != "" && !ok {
		return fmt.Errorf("--baseline %q is not weekly, fortnightly, triweekly or monthly", q.Baseline)
	}
	if _, err := ParseRetention(q.Retention); err != nil {
		return err
	}
	if err := CheckCABundle(q.CABundle); err != nil {
		return err
	}
	if err := checkDescription(KindQualys, q.Description); err != nil {
		return err
	}
	return q.Schedule.Validate()
}

// settings are every stored (non-secret) setting of the connector, empty
// values included: they are the settings a Qualys connector owns.
func (q QualysConnector) settings() map[string]string {
	m := map[string]string{SettingGatewayURL: q.GatewayURL, SettingUsername: q.Username, SettingAPIURL: q.APIURL,
		SettingResources: q.Resources, SettingBaseline: q.Baseline, SettingRetention: q.Retention,
		SettingCABundle: q.CABundle, SettingDescription: q.Description}
	return withSchedule(m, q.Schedule)
}

// QualysConnectorOf reads a Qualys connector's configuration back from the
// store, without its password (Password is empty; Platform is empty, its
// URLs are set).
func QualysConnectorOf(conn store.Connector) (QualysConnector, error) {
	if conn.Kind != KindQualys {
		return QualysConnector{}, fmt.Errorf("connector %s is a %s connector, not qualys", conn.Name, conn.Kind)
	}
	set := conn.Settings
	q := QualysConnector{Name: conn.Name, APIURL: set[SettingAPIURL], GatewayURL: set[SettingGatewayURL], Username: set[SettingUsername],
		Resources: set[SettingResources], Baseline: set[SettingBaseline], Retention: set[SettingRetention],
		CABundle: set[SettingCABundle], Description: set[SettingDescription]}
	var err error
	q.Schedule, err = ScheduleOf(conn)
	return q, err
}
