package qualys

import (
	"fmt"
	"net/url"
	"strings"
)

// Platform is one Qualys shared platform (a POD) and its three hosts, as
// https URLs without a trailing slash: the classic API server (qualysapi.*,
// basic auth), the gateway (gateway.*, JWT; what Config.GatewayURL wants)
// and the platform host (qualysguard.*, the web UI and basic-auth TotalCloud
// paths).
type Platform struct {
	ID, APIServer, Gateway, PlatformURL string
}

// Platforms is the published platform table, in Qualys's order.
var Platforms = []Platform{
	{"US1", "https://qualysapi.qualys.com", "https://gateway.qg1.apps.qualys.com", "https://qualysguard.qualys.com"},
	{"US2", "https://qualysapi.qg2.apps.qualys.com", "https://gateway.qg2.apps.qualys.com", "https://qualysguard.qg2.apps.qualys.com"},
	{"US3", "https://qualysapi.qg3.apps.qualys.com", "https://gateway.qg3.apps.qualys.com", "https://qualysguard.qg3.apps.qualys.com"},
	{"US4", "https://qualysapi.qg4.apps.qualys.com", "https://gateway.qg4.apps.qualys.com", "https://qualysguard.qg4.apps.qualys.com"},
	{"EU1", "https://qualysapi.qualys.eu", "https://gateway.qg1.apps.qualys.eu", "https://qualysguard.qualys.eu"},
	{"EU2", "https://qualysapi.qg2.apps.qualys.eu", "https://gateway.qg2.apps.qualys.eu", "https://qualysguard.qg2.apps.qualys.eu"},
	{"EU3", "https://qualysapi.qg3.apps.qualys.it", "https://gateway.qg3.apps.qualys.it", "https://qualysguard.qg3.apps.qualys.it"},
	{"IN1", "https://qualysapi.qg1.apps.qualys.in", "https://gateway.qg1.apps.qualys.in", "https://qualysguard.qg1.apps.qualys.in"},
	{"CA1", "https://qualysapi.qg1.apps.qualys.ca", "https://gateway.qg1.apps.qualys.ca", "https://qualysguard.qg1.apps.qualys.ca"},
	{"AE1", "https://qualysapi.qg1.apps.qualys.ae", "https://gateway.qg1.apps.qualys.ae", "https://qualysguard.qg1.apps.qualys.ae"},
	{"UK1", "https://qualysapi.qg1.apps.qualys.co.uk", "https://gateway.qg1.apps.qualys.co.uk", "https://qualysguard.qg1.apps.qualys.co.uk"},
	{"AU1", "https://qualysapi.qg1.apps.qualys.com.au", "https://gateway.qg1.apps.qualys.com.au", "https://qualysguard.qg1.apps.qualys.com.au"},
	{"KSA1", "https://qualysapi.qg1.apps.qualysksa.com", "https://gateway.qg1.apps.qualysksa.com", "https://qualysguard.qg1.apps.qualysksa.com"},
}

// PlatformByID returns the platform with the given ID ("US1", "uk1", ...;
// case-insensitive, surrounding spaces ignored).
func PlatformByID(id string) (Platform, bool) {
	id = strings.TrimSpace(id)
	for _, p := range Platforms {
		if strings.EqualFold(p.ID, id) {
			return p, true
		}
	}
	return Platform{}, false
}

// PlatformFromURL returns the platform one of whose three hosts s names. s
// may be a bare host ("qualysapi.qg1.apps.qualys.co.uk"), a host and port,
// or a URL with any scheme, path or query; case does not matter. Only the
// host is looked at (credentials typed into s are ignored and never
// repeated). An unknown host is an error naming it and listing the
// platform IDs.
func PlatformFromURL(s string) (Platform, error) {
	host, err := hostOf(s)
	if err != nil {
		return Platform{}, err
	}
	for _, p := range Platforms {
		for _, u := range []string{p.APIServer, p.Gateway, p.PlatformURL} {
			if h, err := hostOf(u); err == nil && h == host {
				return p, nil
			}
		}
	}
	return Platform{}, fmt.Errorf("qualys: %q is not a host of a known Qualys platform (known platforms: %s; each has a qualysapi.*, gateway.* and qualysguard.* host)",
		host, strings.Join(platformIDs(), ", "))
}

func platformIDs() []string {
	ids := make([]string, len(Platforms))
	for i, p := range Platforms {
		ids[i] = p.ID
	}
	return ids
}

// hostOf extracts the lower-case host name (no port, no trailing dot) from a
// URL or a bare host.
func hostOf(s string) (string, error) {
	raw := strings.TrimSpace(s)
	if raw == "" {
		return "", fmt.Errorf("qualys: empty platform URL (e.g. https://gateway.qg1.apps.qualys.com, or one of %s)", strings.Join(platformIDs(), ", "))
	}
	withScheme := raw
	if !strings.Contains(raw, "://") && !strings.HasPrefix(raw, "//") {
		withScheme = "https://" + raw
	}
	u, err := url.Parse(withScheme)
	if err != nil {
		return "", fmt.Errorf("qualys: platform URL %q does not parse: %w", redactUserinfo(raw), unwrapURLError(err))
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if host == "" {
		return "", fmt.Errorf("qualys: platform URL %q has no host", redactUserinfo(raw))
	}
	return host, nil
}
