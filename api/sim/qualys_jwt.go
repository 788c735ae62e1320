package sim

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// jwtHeader is the fixed JOSE header of every token this server issues.
const jwtHeader = `{"alg":"HS256","typ":"JWT"}`

var jwtHeaderB64 = base64.RawURLEncoding.EncodeToString([]byte(jwtHeader))

// jwtClaims is the payload of a gateway token.
type jwtClaims struct {
	Sub string `json:"sub"`
	Iss string `json:"iss"`
	Iat int64  `json:"iat"`
	Exp int64  `json:"exp"`
}

const jwtIssuer = "qtc-sim"

// issue returns a signed HS256 JWT for user, valid for TokenTTL from now.
func (q *qualys) issue(user string, now time.Time) string {
	payload, _ := json.Marshal(jwtClaims{
		Sub: user, Iss: jwtIssuer,
		Iat: now.Unix(), Exp: now.Add(q.s.opt.TokenTTL).Unix(),
	})
	signing := jwtHeaderB64 + "." + base64.RawURLEncoding.EncodeToString(payload)
	return signing + "." + base64.RawURLEncoding.EncodeToString(q.sign(signing))
}

func (q *qualys) sign(signing string) []byte {
	m := hmac.New(sha256.New, q.key)
	m.Write([]byte(signing))
	return m.Sum(nil)
}

// authorize checks the Bearer token of r. It returns the token's user when
// the token is valid, else the 401 message (which says whether the token is
// missing, invalid or expired).
func (q *qualys) authorize(r *http.Request, now time.Time) (user, msg string) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", "Authentication required: the Authorization header is missing (send Authorization: Bearer <JWT from /auth>)"
	}
	scheme, tok, _ := strings.Cut(strings.TrimSpace(h), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", "Invalid authorization: the Authorization header is not a Bearer token"
	}
	if tok = strings.TrimSpace(tok); tok == "" {
		return "", "Authentication required: the Bearer token is missing"
	}
	claims, ok := q.verify(tok)
	if !ok {
		return "", "Invalid JWT token: malformed or bad signature"
	}
	if now.Unix() >= claims.Exp {
		return "", "JWT token has expired at " + time.Unix(claims.Exp, 0).UTC().Format(time.RFC3339) + ": authenticate again at /auth"
	}
	return claims.Sub, ""
}

// verify checks the token's shape, header and signature and decodes its
// claims.
func (q *qualys) verify(tok string) (jwtClaims, bool) {
	var c jwtClaims
	head, rest, ok := strings.Cut(tok, ".")
	if !ok || head != jwtHeaderB64 {
		return c, false
	}
	body, sig, ok := strings.Cut(rest, ".")
	if !ok || strings.Contains(sig, ".") {
		return c, false
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, q.sign(tok[:len(head)+1+len(body)])) {
		return c, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil || json.Unmarshal(payload, &c) != nil || c.Sub == "" || c.Exp == 0 {
		return c, false
	}
	return c, true
}
