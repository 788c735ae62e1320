package graph

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"qtc/api/internal/text"
)

// ErrDeltaExpired reports that a delta link can no longer be used (Graph
// answered 410 Gone, or 400 with code syncStateNotFound or resyncRequired;
// identity delta links expire after 7 days). The caller must do a full
// pull and start over with a new delta query. Errors that match it with
// errors.Is are *Error values.
var ErrDeltaExpired = errors.New("graph: delta link expired; a full pull is needed")

// Error is an HTTP answer from Microsoft Graph that is not a success, with
// Graph's {"error":{"code","message","innerError":{"request-id"}}} body.
type Error struct {
	Method, URL string
	Status      int
	Code        string // Graph's error code, e.g. Authorization_RequestDenied
	Message     string // Graph's message verbatim
	RequestID   string // innerError.request-id (or the request-id header), for Microsoft support

	attempts   int           // attempts made, when retries ran out
	retryAfter time.Duration // the server's last Retry-After, if any
}

const maxMessageInError = 500

// Error returns one line: the request, the status, Graph's code and message
// and what to do about it.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("graph: ")
	if e.Method != "" {
		b.WriteString(e.Method)
		b.WriteString(" ")
	}
	b.WriteString(e.URL)
	fmt.Fprintf(&b, ": HTTP %d", e.Status)
	if t := http.StatusText(e.Status); t != "" {
		b.WriteString(" ")
		b.WriteString(t)
	}
	if msg := text.OneLine(e.Message, maxMessageInError); e.Code != "" || msg != "" {
		b.WriteString(" (")
		if e.Code != "" {
			b.WriteString(text.OneLine(e.Code, 100))
			if msg != "" {
				b.WriteString(": ")
			}
		}
		b.WriteString(msg)
		b.WriteString(")")
	}
	if e.attempts > 1 {
		fmt.Fprintf(&b, " after %d attempts", e.attempts)
	}
	if h := e.Hint(); h != "" {
		b.WriteString("; ")
		b.WriteString(h)
	}
	if e.RequestID != "" {
		b.WriteString(" [request-id ")
		b.WriteString(text.OneLine(e.RequestID, 100))
		b.WriteString("]")
	}
	return b.String()
}

// Is makes errors.Is(err, ErrDeltaExpired) true for an expired delta link.
func (e *Error) Is(target error) bool {
	return target == ErrDeltaExpired && e.DeltaExpired()
}

// DeltaExpired reports whether the error says a delta link expired: 410
// Gone, or 400 syncStateNotFound / resyncRequired.
func (e *Error) DeltaExpired() bool {
	if e.Status == http.StatusGone {
		return true
	}
	return e.Status == http.StatusBadRequest &&
		(strings.EqualFold(e.Code, "syncStateNotFound") || strings.EqualFold(e.Code, "resyncRequired"))
}

// Hint says what the user can do about the error, or "" when there is
// nothing specific to suggest.
func (e *Error) Hint() string {
	switch s := e.Status; {
	case e.DeltaExpired():
		return "the delta link expired (they last 7 days): run a full pull, then continue with the new delta link"
	case s == http.StatusUnauthorized:
		return "the access token was refused: check Tenant, Client Id and Client Secret, and create a new client secret if it expired (Key Rotation)"
	case s == http.StatusForbidden:
		perm := permissionFor(e.URL)
		if perm == "" {
			perm = "the Microsoft Graph application permission this call needs"
		}
		if strings.EqualFold(e.Code, "Authorization_RequestDenied") || e.Code == "" {
			return "the app lacks " + perm + ": add it under API permissions (Application permissions) and click Grant admin consent"
		}
		return "access denied: check that the app has " + perm + " with admin consent, and that no Conditional Access policy blocks it"
	case s == http.StatusNotFound:
		return "not found: the object may have been deleted since it was listed, or the path is wrong"
	case s == http.StatusTooManyRequests:
		if e.retryAfter > 0 {
			return fmt.Sprintf("throttled by Microsoft Graph (Retry-After %s); lower Concurrency or Budget, or run when the tenant is quieter", e.retryAfter.Round(time.Second))
		}
		return "throttled by Microsoft Graph; lower Concurrency or Budget, or run when the tenant is quieter"
	case s == http.StatusBadRequest && strings.HasPrefix(e.Code, "Request_UnsupportedQuery"):
		return "Graph does not support this query on this resource; check $select, $filter and $expand"
	case s == http.StatusServiceUnavailable || s == http.StatusGatewayTimeout:
		return "Microsoft Graph is busy or unavailable; retry later"
	case s >= 500:
		return "Microsoft Graph-side error; retry later"
	}
	return ""
}

// permissionFor names the application permissions Qualys's connectors
// document for the resource a URL reads, or "".
func permissionFor(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return ""
	}
	p := costPattern(u.Path)
	first, _, _ := strings.Cut(p, "/")
	switch first {
	case "users":
		if strings.Contains(p, "memberof") {
			return "GroupMember.Read.All (or Directory.Read.All)"
		}
		return "User.Read.All (or Directory.Read.All)"
	case "groups":
		return "GroupMember.Read.All (or Directory.Read.All)"
	case "devices":
		return "Device.Read.All"
	case "rolemanagement":
		return "RoleManagement.Read.Directory"
	case "directoryroles":
		return "RoleManagement.Read.Directory (or Directory.Read.All)"
	case "applications", "serviceprincipals":
		return "Application.Read.All (or Directory.Read.All)"
	case "organization":
		return "Directory.Read.All"
	case "policies":
		return "Policy.Read.All"
	}
	return ""
}

// errorBody is Graph's error shape.
type errorBody struct {
	Error *struct {
		Code       json.RawMessage `json:"code"`
		Message    json.RawMessage `json:"message"`
		InnerError *struct {
			RequestID json.RawMessage `json:"request-id"`
		} `json:"innerError"`
	} `json:"error"`
}

// parseError builds an *Error from an error answer's status, headers and
// body. A body that is not Graph's error object gives its start as Message.
func parseError(method, rawURL string, status int, h http.Header, body []byte) *Error {
	e := &Error{Method: method, URL: rawURL, Status: status}
	var eb errorBody
	if json.Unmarshal(body, &eb) == nil && eb.Error != nil {
		e.Code = text.JSON(eb.Error.Code)
		e.Message = text.JSON(eb.Error.Message)
		if eb.Error.InnerError != nil {
			e.RequestID = text.JSON(eb.Error.InnerError.RequestID)
		}
	} else if len(body) > 0 {
		e.Message = text.Snippet(body, 300)
	}
	if e.RequestID == "" && h != nil {
		e.RequestID = h.Get("request-id")
	}
	return e
}

// DecodeError reports a response body that is not the JSON expected: not
// JSON at all, truncated, or of the wrong shape.
type DecodeError struct {
	URL    string // the request URL ("" when decoding bytes directly)
	Offset int64  // byte offset in the body where decoding failed
	Err    error
}

func (e *DecodeError) Error() string {
	where := "response body"
	if e.URL != "" {
		where = "response from " + e.URL
	}
	return fmt.Sprintf("graph: cannot decode %s at byte %d: %v", where, e.Offset, e.Err)
}

func (e *DecodeError) Unwrap() error { return e.Err }
