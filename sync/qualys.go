package sync

import (
	"context"
	"fmt"
	"net/url"

	"qtc/api/qualys"
	"qtc/store"
	"qtc/sync/catalog"
)

// KindQualys is the connector kind of a Qualys TotalCloud account.
const KindQualys = "qualys"

// Settings keys of a Qualys connector.
const (
	SettingGatewayURL = "gatewayURL"
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
	if conn.Kind != KindQualys {
		return nil, fmt.Errorf("connector %s is a %s connector, not qualys", conn.Name, conn.Kind)
	}
	sealed, ok := conn.Sealed[SealedPassword]
	if !ok {
		return nil, fmt.Errorf("connector %s has no password set; run: qtc connector add qualys %s …", conn.Name, conn.Name)
	}
	if e.Vault == nil {
		return nil, fmt.Errorf("connector %s: no secret vault configured", conn.Name)
	}
	pw, err := e.Vault.Open(sealed, SecretAAD(conn.Name, SealedPassword))
	if err != nil {
		return nil, fmt.Errorf("connector %s: open password: %w", conn.Name, err)
	}
	return qualys.New(qualys.Config{
		GatewayURL: conn.Settings[SettingGatewayURL],
		Username:   conn.Settings[SettingUsername],
		Password:   string(pw),
		HTTPClient: e.HTTPClient,
		Logger:     e.logger(),
	})
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
	for _, t := range catalog.ForKind(KindQualys) {
		f, ok := fetchers[t.Name]
		if !ok || !wanted(opt, t.Name) {
			continue
		}
		out = append(out, stream{typ: t, fetch: f})
	}
	gateway := conn.Settings[SettingGatewayURL]
	return plan{
		streams:  out,
		prepare:  c.Authenticate,
		requests: c.Requests,
		explain:  func(err error) error { return explainNetwork(err, gateway) },
	}, nil
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
	Name       string
	GatewayURL string
	Username   string
	Password   string
}

// Validate checks every field and names the first bad one.
func (q QualysConnector) Validate() error {
	if err := ValidateName(q.Name); err != nil {
		return err
	}
	if q.GatewayURL == "" {
		return fmt.Errorf("--gateway-url is required (e.g. https://gateway.qg1.apps.qualys.com)")
	}
	u, err := url.Parse(q.GatewayURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("--gateway-url %q is not an http(s) URL with a host (e.g. https://gateway.qg1.apps.qualys.com)", q.GatewayURL)
	}
	if q.Username == "" {
		return fmt.Errorf("--username is required")
	}
	if q.Password == "" {
		return fmt.Errorf("password is empty: set QTC_PASSWORD or type it at the prompt")
	}
	return nil
}
