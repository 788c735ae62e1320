package qualys

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
)

// maxTokenBody bounds the /auth answer; a JWT is a few KiB.
const maxTokenBody = 1 << 20

// authCall is one authentication in flight; concurrent callers wait for it
// instead of starting their own.
type authCall struct {
	done     chan struct{}
	token    string
	err      error
	canceled bool // the caller that ran it gave up; waiters should try again
}

// Authenticate gets a new token from POST {gateway}/auth, replacing the one
// held (if an authentication is already in flight, it waits for that one).
// A wrong username or password is an *APIError with status 401. Other calls
// authenticate on their own when needed; Authenticate is for checking the
// credentials up front.
func (c *Client) Authenticate(ctx context.Context) error {
	_, err := c.acquireToken(ctx, "", true)
	return err
}

// acquireToken returns a token to send. It reuses the held token while more
// than refreshMargin of its life remains, unless force is set or the token
// is the one the server just rejected. At most one authentication runs at a
// time; concurrent callers share its result.
func (c *Client) acquireToken(ctx context.Context, rejected string, force bool) (string, error) {
	for {
		c.mu.Lock()
		if !force && c.token != "" && c.token != rejected && c.now().Before(c.expiry.Add(-refreshMargin)) {
			tok := c.token
			c.mu.Unlock()
			return tok, nil
		}
		if call := c.inflight; call != nil {
			c.mu.Unlock()
			select {
			case <-call.done:
			case <-ctx.Done():
				return "", c.ctxError("authenticate", ctx.Err())
			}
			if call.canceled && ctx.Err() == nil {
				continue // its caller gave up, not the server: try ourselves
			}
			return call.token, call.err
		}
		call := &authCall{done: make(chan struct{})}
		c.inflight = call
		c.mu.Unlock()

		tok, exp, err := c.fetchToken(ctx)

		c.mu.Lock()
		if err == nil {
			c.token, c.expiry = tok, exp
		}
		c.inflight = nil
		c.mu.Unlock()
		call.token, call.err = tok, err
		call.canceled = err != nil && ctx.Err() != nil
		close(call.done)
		return tok, err
	}
}

// fetchToken performs POST {gateway}/auth and returns the token and when to
// consider it expired.
func (c *Client) fetchToken(ctx context.Context) (string, time.Time, error) {
	u := c.endpoint("/auth", nil)
	form := url.Values{
		"username": {c.username},
		"password": {c.password},
		"token":    {"true"},
	}
	body, _, err := c.do(ctx, request{
		op:      "authenticate",
		method:  http.MethodPost,
		url:     u,
		form:    form,
		want:    http.StatusCreated,
		maxBody: maxTokenBody,
	})
	if err != nil {
		return "", time.Time{}, err
	}
	tok := strings.TrimSpace(string(body))
	if tok == "" {
		return "", time.Time{}, fmt.Errorf("qualys: authenticate: the gateway answered 201 with an empty body instead of a token [%s]", u)
	}
	if strings.IndexFunc(tok, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) || r > unicode.MaxASCII }) >= 0 {
		// Not a token (an HTML page, say). Its content is not shown: it
		// could be a token after all.
		return "", time.Time{}, fmt.Errorf("qualys: authenticate: the gateway answered 201 but the body (%d bytes) is not a token; check the gateway URL [%s]", len(tok), u)
	}
	now := c.now()
	exp := tokenExpiry(tok, now)
	c.log.Info("qualys: authenticated", "url", u, "expires", exp.UTC().Format(time.RFC3339), "valid_for", exp.Sub(now).Round(time.Second))
	return tok, exp, nil
}

// tokenExpiry returns the JWT's exp claim when the token decodes as a JWT
// with one, else issued plus the documented 4-hour lifetime.
func tokenExpiry(tok string, issued time.Time) time.Time {
	parts := strings.Split(tok, ".")
	if len(parts) == 3 {
		payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
		if err == nil {
			var claims struct {
				Exp json.Number `json:"exp"`
			}
			if json.Unmarshal(payload, &claims) == nil && claims.Exp != "" {
				if f, err := claims.Exp.Float64(); err == nil && f > 0 && f < 1e11 {
					sec, frac := math.Modf(f)
					return time.Unix(int64(sec), int64(frac*1e9))
				}
			}
		}
	}
	return issued.Add(tokenLifetime)
}
