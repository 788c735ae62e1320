package graph

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"qtc/api/internal/text"
	"qtc/api/retries"
)

const (
	defaultTokenLifetime = time.Hour       // when the answer says nothing usable
	maxRefreshMargin     = 5 * time.Minute // refresh this long before expiry (at most a fifth of the lifetime)
)

// tokenCache holds the current access token. At most one token request is
// in flight; concurrent callers share its result.
type tokenCache struct {
	mu        sync.Mutex
	token     string
	refreshAt time.Time
	inflight  *tokenCall
}

type tokenCall struct {
	done     chan struct{}
	token    string
	err      error
	canceled bool // the caller that ran it gave up; waiters should try again
}

// Token returns an access token for Microsoft Graph, from the cache while
// it is valid for more than a few minutes, else from the token endpoint.
// Failures from the endpoint are *TokenError.
func (c *Client) Token(ctx context.Context) (string, error) {
	return c.acquireToken(ctx, "")
}

// acquireToken returns a token to send: the cached one unless it is due
// for refresh or is the one Graph just rejected.
// currentToken returns the cached access token ("" if none).
func (c *Client) currentToken() string {
	c.tok.mu.Lock()
	defer c.tok.mu.Unlock()
	return c.tok.token
}

func (c *Client) acquireToken(ctx context.Context, rejected string) (string, error) {
	tc := &c.tok
	for {
		tc.mu.Lock()
		if tc.token != "" && tc.token != rejected && c.clk.Now().Before(tc.refreshAt) {
			tok := tc.token
			tc.mu.Unlock()
			return tok, nil
		}
		if call := tc.inflight; call != nil {
			tc.mu.Unlock()
			select {
			case <-call.done:
			case <-ctx.Done():
				return "", fmt.Errorf("graph: getting a token: %w", ctx.Err())
			}
			if call.canceled && ctx.Err() == nil {
				continue // its caller gave up, not the server: try ourselves
			}
			return call.token, call.err
		}
		call := &tokenCall{done: make(chan struct{})}
		tc.inflight = call
		tc.mu.Unlock()

		tok, refreshAt, err := c.fetchToken(ctx)

		tc.mu.Lock()
		if err == nil {
			tc.token, tc.refreshAt = tok, refreshAt
		}
		tc.inflight = nil
		tc.mu.Unlock()
		call.token, call.err = tok, err
		call.canceled = err != nil && ctx.Err() != nil
		close(call.done)
		return tok, err
	}
}

// fetchToken runs the client-credentials grant, retrying 429 and 5xx
// answers and network errors like Graph requests.
func (c *Client) fetchToken(ctx context.Context) (string, time.Time, error) {
	hctx := context.WithValue(ctx, oauth2.HTTPClient, c.hc)
	r := retrier{c: c}
	for {
		c.st.tokenRequests.Add(1)
		t, err := c.cc.Token(hctx)
		if err == nil {
			if t.AccessToken == "" {
				return "", time.Time{}, fmt.Errorf("graph: the token endpoint %s answered without an access_token", c.tokenURL)
			}
			if tt := t.Type(); !strings.EqualFold(tt, "Bearer") {
				return "", time.Time{}, fmt.Errorf("graph: the token endpoint %s answered token_type %q, not Bearer", c.tokenURL, tt)
			}
			now := c.clk.Now()
			life := tokenLifetime(t, now)
			margin := min(maxRefreshMargin, life/5)
			c.log.Info("graph: got an access token", "token_url", c.tokenURL, "valid_for", life.Round(time.Second))
			return t.AccessToken, now.Add(life - margin), nil
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return "", time.Time{}, fmt.Errorf("graph: getting a token: %w", ctxErr)
		}
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.Response != nil {
			te := parseTokenError(re.Response.StatusCode, re.Body, c.tokenURL, c.secret)
			status := re.Response.StatusCode
			if status == http.StatusTooManyRequests || status >= 500 {
				_, hasRA := parseRetryAfter(re.Response.Header.Get("Retry-After"), c.clk.Now())
				if werr := r.wait(ctx, status, re.Response.Header, te, retries.OfStatus(status, hasRA)); werr != nil {
					return "", time.Time{}, werr
				}
				continue
			}
			return "", time.Time{}, te
		}
		if errors.As(err, &re) {
			return "", time.Time{}, parseTokenError(0, re.Body, c.tokenURL, c.secret)
		}
		if !isNetError(err) {
			// A 2xx answer that is not a token (HTML from a proxy, say).
			return "", time.Time{}, fmt.Errorf("graph: the token endpoint %s did not answer with a token: %s", c.tokenURL, redact(err.Error(), c.secret))
		}
		nerr := fmt.Errorf("graph: token request to %s: %s", c.tokenURL, redact(err.Error(), c.secret))
		if !retryable(err) {
			return "", time.Time{}, nerr
		}
		if werr := r.wait(ctx, 0, nil, nerr, retries.OfError(err)); werr != nil {
			return "", time.Time{}, werr
		}
	}
}

// tokenLifetime is how long t is valid from now: expires_in, else the
// expiry oauth2 computed, else the JWT's exp claim, else an hour.
func tokenLifetime(t *oauth2.Token, now time.Time) time.Duration {
	switch {
	case t.ExpiresIn > 0:
		return time.Duration(min(t.ExpiresIn, 86400)) * time.Second
	case !t.Expiry.IsZero():
		if d := time.Until(t.Expiry); d > 0 {
			return d
		}
	}
	if cl, err := decodeClaims(t.AccessToken); err == nil && cl.exp > 0 {
		if d := time.Unix(cl.exp, 0).Sub(now); d > 0 {
			return min(d, 24*time.Hour)
		}
	}
	return defaultTokenLifetime
}

// TokenError is a failure answer from the Entra ID token endpoint.
type TokenError struct {
	Code        int    // AADSTS number (error_codes[0], or from the description); 0 if none
	Description string // error_description, without its trace lines

	Status        int    // HTTP status of the answer
	ErrorCode     string // OAuth error, e.g. invalid_client
	TraceID       string // trace_id, for Microsoft support
	CorrelationID string // correlation_id
	URL           string // the token endpoint
}

func (e *TokenError) Error() string {
	var b strings.Builder
	b.WriteString("graph: getting a token")
	if e.URL != "" {
		b.WriteString(" from ")
		b.WriteString(e.URL)
	}
	b.WriteString(" failed")
	if e.Status != 0 {
		fmt.Fprintf(&b, ": HTTP %d", e.Status)
	}
	var tags []string
	if e.ErrorCode != "" {
		tags = append(tags, text.OneLine(e.ErrorCode, 60))
	}
	if e.Code != 0 {
		tags = append(tags, fmt.Sprintf("AADSTS%d", e.Code))
	}
	if len(tags) > 0 {
		b.WriteString(" (" + strings.Join(tags, ", ") + ")")
	}
	if m := e.Meaning(); m != "" {
		b.WriteString(": ")
		b.WriteString(text.OneLine(m, maxMessageInError))
		if d := text.OneLine(e.Description, maxMessageInError); d != "" && d != text.OneLine(m, maxMessageInError) {
			b.WriteString(" — Entra ID says: ")
			b.WriteString(d)
		}
	}
	if e.TraceID != "" {
		b.WriteString(" [trace-id " + text.OneLine(e.TraceID, 60) + "]")
	}
	return b.String()
}

// Meaning says what the AADSTS code means for the user and what to check.
func (e *TokenError) Meaning() string {
	switch e.Code {
	case 7000215:
		return "invalid client secret: check the Client Secret value (the secret's Value, not its Secret ID)"
	case 7000222:
		return "the client secret has expired: create a new one under Certificates & secrets and update the connector's Client Secret (Key Rotation)"
	case 700016:
		return "unknown client: check Client Id, and that the app is registered in this tenant"
	case 90002, 900023:
		return "unknown tenant: check Tenant (the Directory (tenant) ID, or a verified domain such as contoso.onmicrosoft.com)"
	case 7000218:
		return "no client secret was sent: set the Client Secret"
	case 500011:
		return "Microsoft Graph is not available in this tenant under that URL: check the cloud (global, usgov, china)"
	case 70011:
		return "invalid scope: check the cloud's Graph URL"
	case 53003:
		return "blocked by a Conditional Access policy: exclude the app (service principal) from the policy"
	}
	if e.Description != "" {
		return e.Description
	}
	switch {
	case e.Status == http.StatusTooManyRequests:
		return "the token endpoint throttled the client; retry later"
	case e.Status >= 500:
		return "Entra ID-side error; retry later"
	}
	return ""
}

// tokenErrorBody is Entra ID's error answer.
type tokenErrorBody struct {
	Error         json.RawMessage `json:"error"`
	Description   json.RawMessage `json:"error_description"`
	Codes         []json.Number   `json:"error_codes"`
	TraceID       json.RawMessage `json:"trace_id"`
	CorrelationID json.RawMessage `json:"correlation_id"`
}

var aadstsRE = regexp.MustCompile(`AADSTS(\d{1,9})`)

// parseTokenError reads Entra ID's error answer. The secret is removed
// from anything kept, in case an endpoint ever echoes it.
func parseTokenError(status int, body []byte, tokenURL, secret string) *TokenError {
	e := &TokenError{Status: status, URL: tokenURL}
	var tb tokenErrorBody
	if err := json.Unmarshal(body, &tb); err == nil {
		e.ErrorCode = redact(text.JSON(tb.Error), secret)
		e.Description = redact(firstLine(text.JSON(tb.Description)), secret)
		e.TraceID = text.JSON(tb.TraceID)
		e.CorrelationID = text.JSON(tb.CorrelationID)
		if len(tb.Codes) > 0 {
			if n, err := strconv.ParseInt(string(tb.Codes[0]), 10, 64); err == nil && n > 0 && n <= math.MaxInt32 {
				e.Code = int(n)
			}
		}
	} else if len(body) > 0 {
		e.Description = redact(text.Snippet(body, 300), secret)
	}
	if e.Code == 0 {
		if m := aadstsRE.FindStringSubmatch(e.Description); m != nil {
			if n, err := strconv.Atoi(m[1]); err == nil {
				e.Code = n
			}
		}
	}
	return e
}

// firstLine drops the "Trace ID: … Correlation ID: … Timestamp: …" lines
// Entra ID appends to error_description.
func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = strings.TrimSpace(s[:i])
	}
	return s
}

// redact removes secret from s.
func redact(s, secret string) string {
	if len(secret) < 4 {
		return s
	}
	return strings.ReplaceAll(s, secret, "***")
}

// Roles returns the access token's "roles" claim: the application
// permissions granted to the app with admin consent (e.g. User.Read.All).
// An app without any granted permission gets an empty list.
func (c *Client) Roles(ctx context.Context) ([]string, error) {
	tok, err := c.Token(ctx)
	if err != nil {
		return nil, err
	}
	cl, err := decodeClaims(tok)
	if err != nil {
		return nil, err
	}
	return cl.roles, nil
}

// claims is what qtc reads from an access token.
type claims struct {
	roles    []string
	exp      int64
	tenantID string
	appID    string
}

type rawClaims struct {
	Roles json.RawMessage `json:"roles"`
	Exp   json.RawMessage `json:"exp"`
	Tid   json.RawMessage `json:"tid"`
	AppID json.RawMessage `json:"appid"`
	Azp   json.RawMessage `json:"azp"`
}

// decodeClaims decodes a JWT's payload, without checking its signature
// (the token comes straight from the token endpoint over TLS). Errors never
// contain the token.
func decodeClaims(tok string) (*claims, error) {
	parts := strings.Split(tok, ".")
	switch len(parts) {
	case 3:
	case 5:
		return nil, errors.New("graph: the access token is encrypted (JWE); its claims cannot be read")
	default:
		return nil, fmt.Errorf("graph: the access token is not a JWT (%d parts, want 3)", len(parts))
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil, fmt.Errorf("graph: the access token's payload is not base64url: %v", err)
	}
	var rc rawClaims
	if err := json.Unmarshal(payload, &rc); err != nil {
		return nil, fmt.Errorf("graph: the access token's payload is not a JSON object: %v", err)
	}
	cl := &claims{roles: []string{}, tenantID: text.JSON(rc.Tid), appID: text.JSON(rc.AppID)}
	if cl.appID == "" {
		cl.appID = text.JSON(rc.Azp)
	}
	if len(rc.Roles) > 0 && string(rc.Roles) != "null" {
		var roles []string
		if err := json.Unmarshal(rc.Roles, &roles); err != nil {
			var one string
			if err2 := json.Unmarshal(rc.Roles, &one); err2 != nil {
				return nil, errors.New("graph: the access token's roles claim is not a list of strings")
			}
			roles = []string{one}
		}
		cl.roles = roles
	}
	if len(rc.Exp) > 0 {
		var f float64
		if json.Unmarshal(rc.Exp, &f) == nil && f > 0 && f < 1e11 {
			cl.exp = int64(f)
		}
	}
	return cl, nil
}
