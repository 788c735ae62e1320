package graph

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// refPage decodes a page the slow way (encoding/json tokens, exact keys,
// last key wins), for comparison with DecodePage. ok is false where
// DecodePage must fail.
func refPage(body []byte) (items []json.RawMessage, next, delta string, ok bool) {
	if !json.Valid(body) {
		return nil, "", "", false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, "", "", false
	}
	haveValue := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, "", "", false
		}
		key := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, "", "", false
		}
		switch key {
		case "value":
			var elems []json.RawMessage
			if raw[0] != '[' || json.Unmarshal(raw, &elems) != nil {
				return nil, "", "", false
			}
			for _, e := range elems {
				if string(e) == "null" {
					return nil, "", "", false
				}
			}
			if elems == nil {
				elems = []json.RawMessage{}
			}
			items, haveValue = elems, true
		case "@odata.nextLink", "@odata.deltaLink":
			var s *string
			if json.Unmarshal(raw, &s) != nil {
				return nil, "", "", false
			}
			v := ""
			if s != nil {
				v = *s
			}
			if key == "@odata.nextLink" {
				next = v
			} else {
				delta = v
			}
		}
	}
	return items, next, delta, haveValue
}

func FuzzDecodePage(f *testing.F) {
	for _, s := range []string{
		usersPage,
		groupsDeltaPage,
		`{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#devices","value":[{"id":"b1a2","deviceId":"d-1","displayName":"LAPTOP-01","operatingSystem":"Windows","operatingSystemVersion":"10.0.22631.3447","isCompliant":true,"isManaged":true,"trustType":"AzureAd","approximateLastSignInDateTime":"2026-05-01T08:00:00Z"}],"@odata.nextLink":"https://graph.microsoft.com/v1.0/devices?$skiptoken=RFNwdAIAAQAA"}`,
		`{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#users(id)","@odata.deltaLink":"https://graph.microsoft.com/v1.0/users/delta?$deltatoken=abc","value":[{"id":"u1","@removed":{"reason":"changed"}},{"id":"u2","@removed":{"reason":"deleted"}}]}`,
		`{"value":[],"@odata.nextLink":"https:\/\/graph.microsoft.com\/v1.0\/users?$skiptoken=x"}`,
		`{"value":[{"id":"1"}, null]}`,
		`{"error":{"code":"Request_BadRequest","message":"bad"}}`,
		`{"value":{}}`,
		`[]`,
		`{"value":[1,"two",[3],{"4":4},true,false]} `,
		`{"value":[{"a":"\u00e9\ud83d\ude00\"}"}],"value":[{"b":2}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		page, err := DecodePage(body)
		items, next, delta, ok := refPage(body)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %T, want *DecodeError", err)
			}
			if de.Offset < 0 || de.Offset > int64(len(body)) {
				t.Fatalf("offset %d outside a body of %d bytes", de.Offset, len(body))
			}
			if ok {
				t.Fatalf("DecodePage failed (%v) on a page the reference decodes", err)
			}
			return
		}
		if !ok {
			t.Fatalf("DecodePage accepted a body the reference rejects: %q", body)
		}
		if page.NextLink != next || page.DeltaLink != delta {
			t.Fatalf("links %q %q, reference %q %q", page.NextLink, page.DeltaLink, next, delta)
		}
		if len(page.Items) != len(items) {
			t.Fatalf("%d items, reference %d", len(page.Items), len(items))
		}
		for i := range items {
			if !bytes.Equal(page.Items[i], items[i]) {
				t.Fatalf("item %d = %q, reference %q", i, page.Items[i], items[i])
			}
			if !json.Valid(page.Items[i]) {
				t.Fatalf("item %d is not valid JSON", i)
			}
		}
	})
}

func FuzzBatchResponse(f *testing.F) {
	for _, s := range []string{
		`{"responses":[{"id":"1","status":200,"headers":{"Cache-Control":"no-cache","x-ms-resource-unit":"1","OData-Version":"4.0"},"body":{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#directoryObjects","@odata.nextLink":"https://graph.microsoft.com/v1.0/me/memberOf?$top=1&$skiptoken=RFNwdAoAAQ","value":[{"@odata.type":"#microsoft.graph.directoryRole","id":"21004afc"}]}},{"id":"2","status":429,"headers":{"Retry-After":"3"},"body":{"error":{"code":"TooManyRequests","message":"Too many requests"}}}]}`,
		`{"responses":[{"id":"3","status":403,"headers":{},"body":{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation.","innerError":{"request-id":"93b6f17e"}}}}]}`,
		`{"responses":[{"id":"4","status":204,"body":null},{"id":5,"status":200,"headers":{"n":5},"body":"aGVsbG8="}]}`,
		`{"responses":[]}`,
		`{"responses":null}`,
		`{"responses":[{"id":"1","status":"x"}]}`,
		`not json`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		resps, err := decodeBatchResponse(body)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) || de.Offset < 0 || de.Offset > int64(len(body)) {
				t.Fatalf("error %v: want *DecodeError with an offset in the body", err)
			}
			return
		}
		for i, r := range resps {
			if r.Body != nil && !json.Valid(r.Body) {
				t.Fatalf("response %d body is not valid JSON: %q", i, r.Body)
			}
			_ = r.Header("Retry-After")
		}
	})
}

func FuzzJWTClaims(f *testing.F) {
	for _, s := range []string{
		makeJWT(map[string]any{"aud": "https://graph.microsoft.com", "roles": []string{"User.Read.All", "Directory.Read.All"}, "exp": 1999999999, "tid": testTenant, "appid": testClientID}),
		makeJWT(map[string]any{"roles": "Device.Read.All", "exp": 1.5e9}),
		makeJWT(map[string]any{"roles": nil, "exp": "soon"}),
		"e30.e30.e30",
		"a.b",
		"a.b.c.d.e",
		"..",
		"x.eyJyb2xlcyI6WzEsMl19.y",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		cl, err := decodeClaims(tok)
		if err != nil {
			if len(tok) > 8 && strings.Contains(err.Error(), tok) {
				t.Fatalf("error repeats the token")
			}
			return
		}
		if cl.roles == nil {
			t.Fatal("roles is nil on success")
		}
		if cl.exp < 0 {
			t.Fatalf("exp %d", cl.exp)
		}
	})
}
