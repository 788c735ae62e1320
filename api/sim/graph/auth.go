package graphsim

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Microsoft Graph's resource identifiers. Tokens are also issued for the
// simulator's own Graph URL (what a client configured with GraphURL asks
// for); their audience is still https://graph.microsoft.com.
const (
	graphResource = "https://graph.microsoft.com"
	maxFormBytes  = 64 << 10
)

// serveLogin serves the login host: POST /{tenant}/oauth2/token (v1) and
// POST /{tenant}/oauth2/v2.0/token (v2).
func (s *Server) serveLogin(w http.ResponseWriter, r *http.Request, rest string) {
	segs := strings.Split(strings.Trim(rest, "/"), "/")
	var v2 bool
	switch {
	case len(segs) == 3 && strings.EqualFold(segs[1], "oauth2") && strings.EqualFold(segs[2], "token"):
	case len(segs) == 4 && strings.EqualFold(segs[1], "oauth2") && strings.EqualFold(segs[2], "v2.0") && strings.EqualFold(segs[3], "token"):
		v2 = true
	default:
		s.count(func(st *Stats) { st.Requests["unknown"]++; st.Status[http.StatusNotFound]++ })
		body := []byte(`{"error":"not_found","error_description":"The simulator's login host serves POST /{tenant}/oauth2/token and POST /{tenant}/oauth2/v2.0/token."}`)
		writeJSON(w, http.StatusNotFound, nil, body)
		return
	}
	pattern := "POST " + LoginPath + "/{tenant}/oauth2/token"
	if v2 {
		pattern = "POST " + LoginPath + "/{tenant}/oauth2/v2.0/token"
	}
	status, hdr, body, ok := s.token(r, segs[0], v2)
	s.count(func(st *Stats) {
		st.Requests[pattern]++
		st.Status[status]++
		if ok {
			st.Tokens++
		} else {
			st.TokenErrors++
		}
	})
	writeJSON(w, status, hdr, body)
}

func writeJSON(w http.ResponseWriter, status int, hdr http.Header, body []byte) {
	h := w.Header()
	for k, v := range hdr {
		h[k] = v
	}
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", "application/json; charset=utf-8")
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// token answers one token request: status, headers, body and whether a
// token was issued.
func (s *Server) token(r *http.Request, tenant string, v2 bool) (int, http.Header, []byte, bool) {
	now := s.now()
	hdr := http.Header{"Cache-Control": {"no-store, no-cache"}, "Pragma": {"no-cache"}}
	if r.Method != http.MethodPost {
		hdr.Set("Allow", "POST")
		return s.aadError(http.StatusMethodNotAllowed, hdr, now, "invalid_request", 900561,
			"The endpoint only accepts POST requests. Received a "+r.Method+" request.")
	}
	d := s.dir
	if !s.knownTenant(tenant) {
		return s.aadError(http.StatusBadRequest, hdr, now, "invalid_request", 90002,
			fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.", clip(tenant)))
	}
	ct := r.Header.Get("Content-Type")
	if !strings.HasPrefix(strings.ToLower(strings.TrimSpace(ct)), "application/x-www-form-urlencoded") {
		return s.aadError(http.StatusBadRequest, hdr, now, "invalid_request", 900144,
			"The request body must contain the following parameter: 'grant_type'.")
	}
	r.Body = http.MaxBytesReader(nil, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return s.aadError(http.StatusBadRequest, hdr, now, "invalid_request", 900144,
			"The request body must contain the following parameter: 'grant_type'.")
	}
	f := r.PostForm
	grant := f.Get("grant_type")
	switch {
	case grant == "":
		return s.aadError(http.StatusBadRequest, hdr, now, "invalid_request", 900144,
			"The request body must contain the following parameter: 'grant_type'.")
	case grant != "client_credentials":
		return s.aadError(http.StatusBadRequest, hdr, now, "unsupported_grant_type", 70003,
			fmt.Sprintf("The app requested an unsupported grant type '%s'.", clip(grant)))
	}
	clientID, secret := f.Get("client_id"), f.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok {
		// client_secret_basic: the identifiers are form-encoded (RFC 6749 2.3.1).
		if uu, err := url.QueryUnescape(u); err == nil {
			u = uu
		}
		if pp, err := url.QueryUnescape(p); err == nil {
			p = pp
		}
		if clientID == "" {
			clientID = u
		}
		if secret == "" {
			secret = p
		}
	}
	if clientID == "" {
		return s.aadError(http.StatusBadRequest, hdr, now, "invalid_request", 900144,
			"The request body must contain the following parameter: 'client_id'.")
	}
	if !strings.EqualFold(clientID, s.opt.ClientID) {
		return s.aadError(http.StatusBadRequest, hdr, now, "unauthorized_client", 700016,
			fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.", clip(clientID), d.tenantName))
	}
	if secret == "" {
		return s.aadError(http.StatusUnauthorized, hdr, now, "invalid_client", 7000216,
			"'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type.")
	}
	if subtle.ConstantTimeCompare([]byte(secret), []byte(s.opt.ClientSecret)) != 1 {
		return s.aadError(http.StatusUnauthorized, hdr, now, "invalid_client", 7000215,
			fmt.Sprintf("Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", s.opt.ClientID))
	}
	if s.opt.SecretExpired || !now.Before(d.secretExpiry) {
		return s.aadError(http.StatusUnauthorized, hdr, now, "invalid_client", 7000222,
			fmt.Sprintf("The provided client secret keys for app '%s' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.", s.opt.ClientID))
	}
	var resource string
	if v2 {
		scope := strings.TrimSpace(f.Get("scope"))
		if scope == "" {
			return s.aadError(http.StatusBadRequest, hdr, now, "invalid_request", 900144,
				"The request body must contain the following parameter: 'scope'.")
		}
		if !strings.HasSuffix(scope, "/.default") || strings.ContainsAny(scope, " \t") {
			return s.aadError(http.StatusBadRequest, hdr, now, "invalid_scope", 1002012,
				fmt.Sprintf("The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", clip(scope)))
		}
		resource = strings.TrimSuffix(scope, "/.default")
	} else {
		resource = strings.TrimSpace(f.Get("resource"))
		if resource == "" {
			return s.aadError(http.StatusBadRequest, hdr, now, "invalid_request", 900144,
				"The request body must contain the following parameter: 'resource'.")
		}
	}
	if !s.isGraphResource(r, resource) {
		return s.aadError(http.StatusBadRequest, hdr, now, "invalid_resource", 500011,
			fmt.Sprintf("The resource principal named %s was not found in the tenant named %s. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.", clip(resource), d.tenantName))
	}
	ttl := s.opt.TokenTTL
	jwt := s.issue(now, ttl)
	expiresIn := int64(ttl/time.Second) - 1
	var w jw
	w.open()
	w.str("token_type", "Bearer")
	if v2 {
		w.num("expires_in", expiresIn)
		w.num("ext_expires_in", expiresIn)
	} else {
		// The v1 endpoint sends its numbers as strings.
		w.str("expires_in", strconv.FormatInt(expiresIn, 10))
		w.str("ext_expires_in", strconv.FormatInt(expiresIn, 10))
		w.str("expires_on", strconv.FormatInt(now.Add(ttl).Unix(), 10))
		w.str("not_before", strconv.FormatInt(now.Add(-5*time.Minute).Unix(), 10))
		w.str("resource", resource)
	}
	w.str("access_token", jwt)
	w.close()
	return http.StatusOK, hdr, w.b, true
}

// knownTenant reports whether the path's tenant is ours: its id or one of
// its verified domains.
func (s *Server) knownTenant(t string) bool {
	t = strings.ToLower(strings.TrimSpace(t))
	return t == s.dir.tenantID || t == initialDomain || t == customDomain
}

// isGraphResource reports whether a v1 resource or v2 scope prefix names
// Microsoft Graph: its URI, its app id, or this simulator's Graph URL.
func (s *Server) isGraphResource(r *http.Request, res string) bool {
	res = strings.TrimRight(res, "/")
	if strings.EqualFold(res, graphResource) || strings.EqualFold(res, graphAppID) {
		return true
	}
	u, err := url.Parse(res)
	if err != nil || u.Host == "" {
		return false
	}
	return strings.EqualFold(u.Host, r.Host) && strings.TrimRight(u.Path, "/") == GraphPath
}

// aadError renders an Entra ID token error as Microsoft does.
func (s *Server) aadError(status int, hdr http.Header, now time.Time, code string, aadsts int, msg string) (int, http.Header, []byte, bool) {
	n := s.reqN.Add(1)
	trace, corr := uuidFrom(hashOf(uint64(s.opt.Seed), n, 1)), uuidFrom(hashOf(uint64(s.opt.Seed), n, 2))
	ts := now.UTC().Format("2006-01-02 15:04:05Z")
	desc := fmt.Sprintf("AADSTS%d: %s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: %s", aadsts, msg, trace, corr, ts)
	var w jw
	w.open()
	w.str("error", code)
	w.str("error_description", desc)
	w.raw("error_codes", []byte("["+strconv.Itoa(aadsts)+"]"))
	w.str("timestamp", ts)
	w.str("trace_id", trace)
	w.str("correlation_id", corr)
	w.str("error_uri", "https://login.microsoftonline.com/error?code="+strconv.Itoa(aadsts))
	w.close()
	return status, hdr, w.b, false
}

func clip(s string) string {
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return strings.ToValidUTF8(s, "?")
}

// claims are the access token claims the simulator issues and reads.
type claims struct {
	Aud      string   `json:"aud"`
	Iss      string   `json:"iss"`
	Iat      int64    `json:"iat"`
	Nbf      int64    `json:"nbf"`
	Exp      int64    `json:"exp"`
	Aio      string   `json:"aio,omitempty"`
	AppName  string   `json:"app_displayname,omitempty"`
	AppID    string   `json:"appid"`
	AppIDAcr string   `json:"appidacr,omitempty"`
	Idp      string   `json:"idp,omitempty"`
	Idtyp    string   `json:"idtyp,omitempty"`
	Oid      string   `json:"oid,omitempty"`
	Roles    []string `json:"roles,omitempty"`
	Sub      string   `json:"sub,omitempty"`
	Tid      string   `json:"tid"`
	Uti      string   `json:"uti,omitempty"`
	Ver      string   `json:"ver,omitempty"`
}

var jwtHeader = base64.RawURLEncoding.EncodeToString([]byte(`{"typ":"JWT","alg":"HS256","kid":"graphsim"}`))

// issue returns a signed access token for the app.
func (s *Server) issue(now time.Time, ttl time.Duration) string {
	d := s.dir
	n := s.reqN.Add(1)
	iss := "https://sts.windows.net/" + d.tenantID + "/"
	c := claims{
		Aud: graphResource, Iss: iss, Iat: now.Unix(), Nbf: now.Unix(), Exp: now.Add(ttl).Unix(),
		Aio:     base64.RawURLEncoding.EncodeToString([]byte(uuidFrom(hashOf(uint64(s.opt.Seed), n, 3)))),
		AppName: "qtc Entra ID connector", AppID: s.opt.ClientID, AppIDAcr: "1", Idp: iss, Idtyp: "app",
		Roles: s.opt.Roles, Tid: d.tenantID, Uti: randomish(hashOf(uint64(s.opt.Seed), n, 4)), Ver: "1.0",
	}
	if d.connectorSP != nil {
		c.Oid, c.Sub = d.connectorSP.id, d.connectorSP.id
	}
	payload, _ := json.Marshal(c)
	signing := jwtHeader + "." + base64.RawURLEncoding.EncodeToString(payload)
	mac := hmac.New(sha256.New, s.key)
	mac.Write([]byte(signing))
	return signing + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

func randomish(h uint64) string {
	r := rng{s: h}
	return r.token(22)
}

// authError is why a bearer token was refused.
type authError struct{ msg string }

// authenticate checks the Authorization header of a Graph request.
func (s *Server) authenticate(h http.Header, now time.Time) (*claims, *authError) {
	auth := h.Get("Authorization")
	if auth == "" {
		return nil, &authError{"Access token is empty."}
	}
	scheme, tok, ok := strings.Cut(auth, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return nil, &authError{"Access token is empty."}
	}
	tok = strings.TrimSpace(tok)
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, &authError{"IDX14100: JWT is not well formed, there are no dots (.).\nThe token needs to be in JWS or JWE Compact Serialization Format. (JWS): 'EncodedHeader.EndcodedPayload.EncodedSignature'. (JWE): 'EncodedProtectedHeader.EncodedEncryptedKey.EncodedInitializationVector.EncodedCiphertext.EncodedAuthenticationTag'."}
	}
	mac := hmac.New(sha256.New, s.key)
	mac.Write([]byte(parts[0] + "." + parts[1]))
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || !hmac.Equal(sig, mac.Sum(nil)) {
		return nil, &authError{"Access token validation failure. Invalid signature."}
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, &authError{"Access token validation failure."}
	}
	var c claims
	if json.Unmarshal(payload, &c) != nil {
		return nil, &authError{"Access token validation failure."}
	}
	switch {
	case c.Aud != graphResource && c.Aud != graphAppID:
		return nil, &authError{"Access token validation failure. Invalid audience."}
	case !strings.EqualFold(c.Tid, s.dir.tenantID):
		return nil, &authError{"Access token validation failure. Invalid issuer."}
	case now.Unix() >= c.Exp:
		return nil, &authError{"Lifetime validation failed, the token is expired."}
	case now.Unix() < c.Nbf:
		return nil, &authError{"Lifetime validation failed, the token is not yet valid."}
	}
	return &c, nil
}

// hasAny reports whether the token grants one of the permissions.
func (c *claims) hasAny(perms []string) bool {
	for _, have := range c.Roles {
		for _, want := range perms {
			if strings.EqualFold(have, want) {
				return true
			}
		}
	}
	return false
}
