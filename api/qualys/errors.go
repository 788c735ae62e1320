package qualys

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"qtc/api/internal/text"
)

// APIError is an HTTP answer from Qualys that is not the expected success:
// a non-2xx status, or an error body in place of the data.
type APIError struct {
	Op         string // what was attempted, e.g. "list policies"
	URL        string // the request URL (never carries credentials)
	StatusCode int    // HTTP status
	Code       string // the body's errorCode, if any
	Message    string // the server's message verbatim (or the start of a non-JSON body)

	wait   time.Duration // wait the server asked for (409/429), if known
	waited time.Duration // total time this call already waited on rate limits

	maybeApplied bool   // a request that must not be repeated got a 5xx: it may have taken effect
	hint         string // replaces the status-based hint when set
}

// maxMessageInError bounds how much of Message Error() repeats.
const maxMessageInError = 500

// Error returns one line: what failed, the status, the server's message and
// what to do about it.
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("qualys: ")
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(" failed")
	} else {
		b.WriteString("request failed")
	}
	fmt.Fprintf(&b, ": HTTP %d", e.StatusCode)
	if t := http.StatusText(e.StatusCode); t != "" {
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
	if e.waited > 0 {
		fmt.Fprintf(&b, " after waiting %s on rate limits", e.waited.Round(time.Second))
	}
	if h := e.Hint(); h != "" {
		b.WriteString("; ")
		b.WriteString(h)
	}
	if e.URL != "" {
		b.WriteString(" [")
		b.WriteString(e.URL)
		b.WriteString("]")
	}
	return b.String()
}

// Hint says what the user can do about the error, or "" when there is
// nothing specific to suggest.
func (e *APIError) Hint() string {
	if e.hint != "" {
		return e.hint
	}
	switch s := e.StatusCode; {
	case s == http.StatusUnauthorized:
		return "check the username and password, and that the account has API access"
	case s == http.StatusForbidden:
		return "the user lacks the TotalCloud permission; ask a Qualys administrator to grant TotalCloud (CloudView) API access"
	case s == http.StatusNotFound:
		return "check the gateway URL and platform (e.g. https://gateway.qg1.apps.qualys.com for US1)"
	case s == http.StatusConflict || s == http.StatusTooManyRequests:
		if e.wait > 0 {
			return fmt.Sprintf("rate or concurrency limit reached; the server asks to wait %s (X-RateLimit-ToWait-Sec) before retrying", e.wait.Round(time.Second))
		}
		return "rate or concurrency limit reached; wait the time given in X-RateLimit-ToWait-Sec before retrying"
	case s >= 500 && e.maybeApplied:
		return "Qualys-side error; the change may have been applied anyway, so it was not sent again: check whether it took effect before retrying"
	case s >= 500:
		return "Qualys-side error; retry later"
	case s >= 200 && s < 300:
		return "unexpected answer from the gateway; check the gateway URL"
	}
	return ""
}

// DecodeError reports a response body that is not the JSON expected: not
// JSON at all, truncated, or of the wrong shape.
type DecodeError struct {
	URL    string // the request URL ("" when decoding bytes directly)
	Offset int64  // byte offset in the body where decoding failed
	Err    error  // underlying error
}

func (e *DecodeError) Error() string {
	where := "response body"
	if e.URL != "" {
		where = "response from " + e.URL
	}
	return fmt.Sprintf("qualys: cannot decode %s at byte %d: %v", where, e.Offset, e.Err)
}

func (e *DecodeError) Unwrap() error { return e.Err }

// errorBody is the gateway's JSON error shape: {"errorCode","message",
// "timestamp"}, some with Spring's "status", "error", "path".
type errorBody struct {
	ErrorCode json.RawMessage `json:"errorCode"`
	Message   json.RawMessage `json:"message"`
	Error     json.RawMessage `json:"error"`
}

// parseErrorBody extracts Code and Message from an error body. For a body
// that is not a JSON error object, the message is the start of the body.
func parseErrorBody(body []byte) (code, msg string) {
	var eb errorBody
	if err := json.Unmarshal(body, &eb); err == nil {
		code = text.JSON(eb.ErrorCode)
		msg = text.JSON(eb.Message)
		if msg == "" {
			msg = text.JSON(eb.Error)
		}
		if code != "" || msg != "" {
			return code, msg
		}
	}
	// Not a JSON error object (an HTML page from a proxy, plain text...):
	// show its start.
	return "", text.Snippet(body, 300)
}

// atoiHeader parses a non-negative integer header value.
func atoiHeader(h http.Header, name string) (int, bool) {
	v := strings.TrimSpace(h.Get(name))
	if v == "" {
		return 0, false
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}
