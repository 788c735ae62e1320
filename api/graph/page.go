package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"qtc/api/internal/text"
)

// Page is one page of a Graph collection.
type Page struct {
	// Items are the elements of "value" byte for byte as the server sent
	// them (sub-slices of Raw), including @removed and members@delta
	// annotations of delta pages.
	Items []json.RawMessage
	// NextLink is @odata.nextLink: more pages follow, whatever the number
	// of items on this one (a page may be short or empty).
	NextLink string
	// DeltaLink is @odata.deltaLink, on the last page of a delta round.
	DeltaLink string
	// Raw is the whole body.
	Raw []byte
}

// DecodePage decodes a collection page: a JSON object with a "value" array.
// Errors are *DecodeError with the byte offset where decoding failed (URL
// is empty). An element that is null is an error: a record must have a body.
func DecodePage(body []byte) (*Page, error) {
	if !json.Valid(body) {
		return nil, &DecodeError{Offset: syntaxOffset(body), Err: errNotJSON}
	}
	i := skipWS(body, 0)
	if body[i] != '{' {
		return nil, &DecodeError{Offset: int64(i), Err: errors.New("not a JSON object")}
	}
	page := &Page{Raw: body}
	var (
		haveValue bool
		errStart  = -1
		errEnd    int
	)
	i = skipWS(body, i+1)
	for body[i] != '}' {
		keyStart := i
		keyEnd := skipString(body, i)
		key, err := unquote(body[keyStart:keyEnd])
		if err != nil {
			return nil, &DecodeError{Offset: int64(keyStart), Err: err}
		}
		i = skipWS(body, keyEnd)
		i = skipWS(body, i+1) // ':'
		valStart := i
		valEnd := skipValue(body, i)
		switch key {
		case "value":
			if body[valStart] != '[' {
				return nil, &DecodeError{Offset: int64(valStart), Err: errors.New(`"value" is not an array`)}
			}
			items, err := arrayElements(body, valStart)
			if err != nil {
				return nil, err
			}
			page.Items, haveValue = items, true
		case "@odata.nextLink", "@odata.deltaLink":
			var link string
			switch body[valStart] {
			case '"':
				s, err := unquote(body[valStart:valEnd])
				if err != nil {
					return nil, &DecodeError{Offset: int64(valStart), Err: err}
				}
				link = s
			case 'n': // null: no link
			default:
				return nil, &DecodeError{Offset: int64(valStart), Err: fmt.Errorf("%q is not a string", key)}
			}
			if key == "@odata.nextLink" {
				page.NextLink = link
			} else {
				page.DeltaLink = link
			}
		case "error":
			errStart, errEnd = valStart, valEnd
		}
		i = skipWS(body, valEnd)
		if body[i] == ',' {
			i = skipWS(body, i+1)
		}
	}
	if !haveValue {
		if errStart >= 0 {
			e := parseError("", "", 0, nil, append(append([]byte(`{"error":`), body[errStart:errEnd]...), '}'))
			return nil, &DecodeError{Offset: int64(errStart), Err: fmt.Errorf("the body is an error, not a page: %s: %s", e.Code, text.OneLine(e.Message, maxMessageInError))}
		}
		return nil, &DecodeError{Offset: 0, Err: errors.New(`not a collection page: no "value" array`)}
	}
	if page.Items == nil {
		page.Items = []json.RawMessage{}
	}
	return page, nil
}

// arrayElements returns the elements of the array starting at body[start]
// as sub-slices of body (capacity-limited, so appending to one cannot
// overwrite the next). body must be valid JSON.
func arrayElements(body []byte, start int) ([]json.RawMessage, error) {
	var items []json.RawMessage
	i := skipWS(body, start+1)
	for body[i] != ']' {
		end := skipValue(body, i)
		if body[i] == 'n' {
			return nil, &DecodeError{Offset: int64(i), Err: fmt.Errorf("value[%d] is null", len(items))}
		}
		items = append(items, json.RawMessage(body[i:end:end]))
		i = skipWS(body, end)
		if body[i] == ',' {
			i = skipWS(body, i+1)
		}
	}
	if items == nil {
		items = []json.RawMessage{}
	}
	return items, nil
}

// errNotJSON is the error of a body that is not valid JSON at all (what a
// cut-off or garbled transfer leaves), as opposed to JSON of the wrong
// shape: only the former is fetched again.
var errNotJSON = errors.New("not valid JSON")

// validJSON is a call.check: a body that is not valid JSON is a
// *DecodeError wrapping errNotJSON, at the offset where it breaks.
func validJSON(body []byte) error {
	if !json.Valid(body) {
		return &DecodeError{Offset: syntaxOffset(body), Err: errNotJSON}
	}
	return nil
}

// syntaxOffset returns where encoding/json finds body invalid.
func syntaxOffset(body []byte) int64 {
	var v json.RawMessage
	err := json.Unmarshal(body, &v)
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return se.Offset
	}
	return int64(len(body))
}

// The scanners below assume valid JSON (checked with json.Valid first).

func skipWS(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// skipString returns the index after the string starting at b[i] ('"').
func skipString(b []byte, i int) int {
	i++
	for i < len(b) {
		switch b[i] {
		case '\\':
			i += 2
		case '"':
			return i + 1
		default:
			i++
		}
	}
	return i
}

// skipValue returns the index after the value starting at b[i].
func skipValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = skipString(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return i
	default: // number, true, false, null
		for i < len(b) {
			switch b[i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return i
			}
			i++
		}
		return i
	}
}

// unquote decodes a JSON string literal.
func unquote(lit []byte) (string, error) {
	if len(lit) >= 2 && lit[0] == '"' && lit[len(lit)-1] == '"' {
		plain := true
		for _, ch := range lit[1 : len(lit)-1] {
			if ch == '\\' || ch < 0x20 || ch >= 0x80 {
				plain = false
				break
			}
		}
		if plain {
			return string(lit[1 : len(lit)-1]), nil
		}
	}
	var s string
	err := json.Unmarshal(lit, &s)
	return s, err
}

// Get fetches one page of a collection. pathOrURL is a path relative to the
// Graph URL ("/v1.0/users?$select=id,displayName&$top=999") or an absolute
// nextLink/deltaLink on the Graph host. Errors are *Error (matching
// ErrDeltaExpired for an expired delta link), *DecodeError, *TokenError or
// network errors. A page whose body is cut off or is not valid JSON is
// fetched again (a few times); if it stays broken the *DecodeError names
// the URL and the byte offset where it breaks.
func (c *Client) Get(ctx context.Context, pathOrURL string) (*Page, error) {
	u, err := c.resolve(pathOrURL)
	if err != nil {
		return nil, err
	}
	var (
		page     *Page
		shapeErr error // valid JSON of the wrong shape: not fetched again
	)
	_, err = c.get(ctx, u, func(body []byte) error {
		page, shapeErr = DecodePage(body)
		if shapeErr != nil && errors.Is(shapeErr, errNotJSON) {
			err := shapeErr
			shapeErr = nil
			return err
		}
		return nil
	})
	if err == nil {
		err = shapeErr
	}
	if err != nil {
		var de *DecodeError
		if errors.As(err, &de) {
			de.URL = u
		}
		return nil, err
	}
	return page, nil
}

// GetObject fetches a single object (a non-collection GET) and returns its
// body byte for byte.
func (c *Client) GetObject(ctx context.Context, pathOrURL string) (json.RawMessage, error) {
	u, err := c.resolve(pathOrURL)
	if err != nil {
		return nil, err
	}
	ans, err := c.get(ctx, u, validJSON)
	if err != nil {
		return nil, err
	}
	return json.RawMessage(ans.body), nil
}

// get sends a GET; check vets the body (see call.check).
func (c *Client) get(ctx context.Context, u string, check func([]byte) error) (*answer, error) {
	key, table := requestCost(http.MethodGet, u)
	return c.do(ctx, &call{
		method:     http.MethodGet,
		url:        u,
		key:        key,
		cost:       c.pace.estimate(key, table),
		idempotent: true,
		check:      check,
	})
}

// Pages fetches first and every page after it by following @odata.nextLink
// exactly as given until a page has none, calling fn with each page in
// order. It returns the last page's @odata.deltaLink ("" for a collection
// that is not a delta query). An error from fn stops paging and is
// returned as is. A page that cannot be fetched is an error: paging never
// ends early without one.
func (c *Client) Pages(ctx context.Context, first string, fn func(*Page) error) (deltaLink string, err error) {
	next := first
	for n := 1; ; n++ {
		page, err := c.Get(ctx, next)
		if err != nil {
			if n > 1 {
				return "", fmt.Errorf("graph: page %d: %w", n, err)
			}
			return "", err
		}
		if err := fn(page); err != nil {
			return "", err
		}
		if page.NextLink == "" {
			return page.DeltaLink, nil
		}
		if page.NextLink == next {
			return "", fmt.Errorf("graph: page %d of %s links to itself; stopping", n, first)
		}
		next = page.NextLink
	}
}
