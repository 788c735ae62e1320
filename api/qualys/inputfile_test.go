package qualys

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestDecodeInputErrors(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		line, col  int
		wantOffset int64
		want       string
	}{
		{"empty", "  \n", 1, 1, 0, "empty"},
		{"an array", "\n [1]", 2, 2, 2, "got a JSON array"},
		{"bad JSON", "{\n  \"name\": x}", 2, 12, 13, "not valid JSON"}, // encoding/json's offset: after the bad byte
		{"cut short", `{"name":"a"`, 1, 12, 11, "not valid JSON"},
		{"two objects", `{} {}`, 1, 5, 4, "after top-level value"},
		{"unknown field", "{\n \"name\": \"a\",\n \"colour\": 1}", 3, 2, 17, `unknown field "colour"`},
		{"unknown field inside a list", `{"connectorAppInfos":[{"name":"AI","tag":null}]}`, 1, 36, 35, `unknown field "tag"`},
		{"wrong type", `{"orgRunFrequency":{"hours":"1"}}`, 1, 32, 31, "orgRunFrequency.hours"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeAzureOrgConnectorInput([]byte(tt.body))
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("error %v (%T), want *InputError", err, err)
			}
			if ie.Line != tt.line || ie.Column != tt.col || ie.Offset != tt.wantOffset {
				t.Errorf("at line %d column %d byte %d, want %d %d %d", ie.Line, ie.Column, ie.Offset, tt.line, tt.col, tt.wantOffset)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "line ") {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
		})
	}
}

// checkInputErr fails unless err is an *InputError placed inside data.
func checkInputErr(t *testing.T, data []byte, err error) {
	t.Helper()
	var ie *InputError
	if !errors.As(err, &ie) {
		t.Fatalf("error %T is not *InputError: %v", err, err)
	}
	if ie.Offset < 0 || ie.Offset > int64(len(data)) || ie.Line < 1 || ie.Column < 1 || ie.Line > 1+bytes.Count(data, []byte{'\n'}) {
		t.Fatalf("error placed at byte %d, line %d, column %d of %d bytes", ie.Offset, ie.Line, ie.Column, len(data))
	}
}

// checkRoundTrip: what was decoded encodes to a body that decodes to the
// same input, and encoding/json reads data the same way.
func checkRoundTrip[T any](t *testing.T, data []byte, v T, decode func([]byte) (T, error)) {
	t.Helper()
	enc, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("re-encode: %v", err)
	}
	v2, err := decode(enc)
	if err != nil {
		t.Fatalf("the re-encoded input %s does not decode: %v", enc, err)
	}
	if enc2, _ := json.Marshal(v2); !bytes.Equal(enc, enc2) {
		t.Fatalf("round trip changed the input:\n%s\n%s", enc, enc2)
	}
	var ref T
	if err := json.Unmarshal(data, &ref); err != nil {
		t.Fatalf("accepted a body encoding/json rejects: %v", err)
	}
	if encRef, _ := json.Marshal(ref); !bytes.Equal(enc, encRef) {
		t.Fatalf("decoded differently from encoding/json:\n%s\n%s", enc, encRef)
	}
}

// FuzzDecodeAzureOrgConnectorInput: the body of qtc azure-org create --file.
func FuzzDecodeAzureOrgConnectorInput(f *testing.F) {
	f.Add(readFixture(f, fixtureOrgConnectorReq))
	for _, s := range []string{
		``, `{}`, `[]`, `null`, `{"name":"a"} x`, `{"secretValue":"s3cret-value-123","name":"s3cret-value-123"}`,
		`{"connectorAppInfos":[{"name":"AI","tagId":"7"},{"name":"XX"}],"orgRunFrequency":{"hours":-1,"minutes":75}}`,
		`{"Name":"case","NAME":"last"}`, `{"colour":1}`, `{"orgRunFrequency":{"hours":1e3}}`, "{\"name\":\"\xff\"}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		in, err := DecodeAzureOrgConnectorInput(data)
		if err != nil {
			checkInputErr(t, data, err)
			return
		}
		checkRoundTrip(t, data, in, DecodeAzureOrgConnectorInput)
		// The secret never shows, whatever the other fields hold.
		secret := in.SecretValue
		blank := in
		blank.SecretValue = ""
		if len(secret) < 8 || strings.Contains(blank.String(), secret) || strings.Contains(validateText(blank), secret) {
			return
		}
		if strings.Contains(in.String(), secret) {
			t.Fatalf("String shows the secret: %s", in.String())
		}
		if strings.Contains(validateText(in), secret) {
			t.Fatalf("Validate shows the secret: %s", validateText(in))
		}
	})
}

func validateText(in AzureOrgConnectorInput) string {
	if err := in.Validate(); err != nil {
		return err.Error()
	}
	return ""
}

// FuzzDecodeExceptionInput: the body of qtc exception create|update --file.
func FuzzDecodeExceptionInput(f *testing.F) {
	for _, s := range []string{
		sampleException,
		`{"name":"n","reason":"Risk Accepted","startingDate":"2026-05-17T18:30:00.000Z","endingDate":"2026-05-20T18:29:59.000Z","scope":"ACCOUNT","cloudType":"OCI","accountIds":["1"],"controlIds":[1,2]}`,
		``, `{}`, `{"controlIds":[1.5]}`, `{"controlIds":[]}`, `{"startingDate":"yesterday"}`, `{"scope":null}`,
	} {
		f.Add([]byte(s))
	}
	now := time.Date(2026, 5, 18, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, data []byte) {
		in, err := DecodeExceptionInput(data)
		if err != nil {
			checkInputErr(t, data, err)
			return
		}
		checkRoundTrip(t, data, in, DecodeExceptionInput)
		if err := in.Validate(now); err == nil {
			if _, err := in.wire(now); err != nil {
				t.Fatalf("valid input not sendable: %v", err)
			}
		}
	})
}

// FuzzDecodeObject: a single object answer (an exception, an AWS instance
// by uuid, a created Azure org connector) is a record kept byte-exact, an
// error object, or a *DecodeError placed in the body.
func FuzzDecodeObject(f *testing.F) {
	for _, name := range []string{fixtureOrgConnectorAnswer, fixtureAWSByUUID, fixtureAWSObject} {
		f.Add(readFixture(f, name))
	}
	for _, s := range []string{sampleException, ``, `[]`, `{}`, `{"errorCode":"X","message":"m"}`, `{"message":"m"}`, `{"message":"m","uuid":"u"}`, `{"uuid":1}`, `{} {}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		fuzzObject[AzureOrgConnector](t, body)
		fuzzObject[Exception](t, body)
		fuzzObject[json.RawMessage](t, body)
	})
}

func fuzzObject[T any](t *testing.T, body []byte) {
	it, apiErr, err := decodeObject[T](body, "uuid")
	switch {
	case err != nil:
		var de *DecodeError
		if !errors.As(err, &de) || de.Offset < 0 || de.Offset > int64(len(body)) {
			t.Fatalf("error %v: want *DecodeError with an offset in the body", err)
		}
		if apiErr != nil {
			t.Fatal("both an error and an API error")
		}
	case apiErr != nil:
		if apiErr.Code == "" && apiErr.Message == "" {
			t.Fatal("API error with neither code nor message")
		}
	default:
		if !json.Valid(it.Raw) || it.Raw[0] != '{' || !bytes.Contains(body, it.Raw) {
			t.Fatalf("Raw %q is not a JSON object sliced from the body", it.Raw)
		}
		var again T
		if err := json.Unmarshal(it.Raw, &again); err != nil {
			t.Fatalf("Raw does not decode again: %v", err)
		}
		a, _ := json.Marshal(it.Value)
		b, _ := json.Marshal(again)
		if !bytes.Equal(a, b) {
			t.Fatalf("Raw decodes to %s, Value is %s", b, a)
		}
	}
}
