package httplog

import (
	"bytes"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

const jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJkZW1vIn0.c2lnbmF0dXJlLXNlY3JldA"

func TestRedactHeader(t *testing.T) {
	for _, tc := range []struct {
		name, value, want string
	}{
		{"Authorization", "Bearer abc", redacted},
		{"authorization", "Basic ZGVtbzpwdw==", redacted},
		{"Proxy-Authorization", "Basic x", redacted},
		{"Cookie", "session=1", redacted},
		{"Set-Cookie", "session=1; HttpOnly", redacted},
		{"X-Api-Key", "k", redacted},
		{"X-Auth-Token", "t", redacted},
		{"X-Client-Secret", "s", redacted},
		{"X-Password", "p", redacted},
		{"Content-Type", "application/json", "application/json"},
		{"X-Echo", "got " + jwt + " back", "got " + redactedJWT + " back"},
		{"X-RateLimit-Remaining", "299", "299"},
	} {
		if got := RedactHeader(tc.name, tc.value); got != tc.want {
			t.Errorf("RedactHeader(%q, %q) = %q, want %q", tc.name, tc.value, got, tc.want)
		}
	}
}

func TestRedactURL(t *testing.T) {
	for _, tc := range []struct {
		in, want string
	}{
		{"https://user:pw@host.example/a?b=1", "https://host.example/a?b=1"},
		{"https://h.example/cb?code=abc&state=s", "https://h.example/cb?code=[redacted]&state=s"},
		{"https://h.example/x?access_token=" + jwt, "https://h.example/x?access_token=[redacted]"},
		{"https://h.example/t/" + jwt + "/x", "https://h.example/t/" + redactedJWT + "/x"},
		{"https://graph.example/v1.0/users?$skiptoken=X1&$top=5", "https://graph.example/v1.0/users?$skiptoken=X1&$top=5"},
	} {
		u, err := url.Parse(tc.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := RedactURL(u); got != tc.want {
			t.Errorf("RedactURL(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestRedactBody(t *testing.T) {
	const form = "application/x-www-form-urlencoded"
	for _, tc := range []struct {
		name, ct, in string
		truncated    bool
		want         string
	}{
		{"client credentials form", form,
			"grant_type=client_credentials&client_id=abc&client_secret=s%26cret&resource=https%3A%2F%2Fgraph",
			false, "grant_type=client_credentials&client_id=abc&client_secret=[redacted]&resource=https%3A%2F%2Fgraph"},
		{"qualys auth form", form, "username=demo&password=demo-pass&token=true", false, "username=demo&password=[redacted]&token=true"},
		{"form fields by escaped name", form, "pass%77ord=x&CODE=y&refresh_token=z&client_assertion=" + jwt,
			false, "pass%77ord=[redacted]&CODE=[redacted]&refresh_token=[redacted]&client_assertion=[redacted]"},
		{"token answer", "application/json; charset=utf-8",
			`{"token_type":"Bearer","expires_in":"3599","access_token":"` + jwt + `"}`, false,
			`{"token_type":"Bearer","expires_in":"3599","access_token":"[redacted]"}`},
		{"nested and composite secrets", "application/json",
			`{"a":[{"secretValue":"s1"},{"passwordCredentials":[{"hint":"ab"}]}],"Token":{"x":1},"n":null,"b":true,"id_token":7}`, false,
			`{"a":[{"secretValue":"[redacted]"},{"passwordCredentials":"[redacted]"}],"Token":"[redacted]","n":null,"b":true,"id_token":"[redacted]"}`},
		{"escaped key", "application/json", `{"access\u005ftoken":"abc","x":"<b>"}`, false, `{"access_token":"[redacted]","x":"<b>"}`},
		{"graph error keeps its code", "application/json", `{"error":{"code":"InvalidAuthenticationToken","message":"Access token has expired."}}`, false,
			`{"error":{"code":"InvalidAuthenticationToken","message":"Access token has expired."}}`},
		{"truncated inside the secret", "application/json", `{"token_type":"Bearer","access_token":"eyJhbGciOiJIUzI1Ni`, true,
			`{"token_type":"Bearer","access_token":…`},
		{"truncated JWT in text", "text/plain", "eyJhbGciOiJIUzI1NiJ9.eyJzdW", true, redactedJWT + "…"},
		{"qualys token body", "text/plain;charset=UTF-8", jwt, false, redactedJWT},
		{"json sent as text", "text/plain", `{"password":"pw1"}`, false, `{"password":"[redacted]"}`},
		{"not json though labelled so", "application/json", `<html>password=hunter2 "client_secret": "abc" Bearer xyz</html>`, false,
			`<html>password=[redacted] "client_secret": "[redacted]" Bearer [redacted]</html>`},
		{"xml", "application/xml", "<ServiceRequest><password>pw</password><id>1</id></ServiceRequest>", false,
			"<ServiceRequest><password>[redacted]</password><id>1</id></ServiceRequest>"},
		{"a value cannot hide the next pair", "text/html", `"token":"password": "s3" x`, false, `"token":"[redacted]": "[redacted]" x`},
		{"xml error code kept", "text/xml", "<SIMPLE_RETURN><CODE>1965</CODE><TEXT>rate limit</TEXT></SIMPLE_RETURN>", false,
			"<SIMPLE_RETURN><CODE>1965</CODE><TEXT>rate limit</TEXT></SIMPLE_RETURN>"},
		{"binary type is text when asked", "", "client_secret=abc code=1", false, "client_secret=[redacted] code=[redacted]"},
		{"ndjson stream", "application/x-ndjson", `{"a":1}` + "\n" + `{"token":"t"}`, false, `{"a":1}` + "\n" + `{"token":"[redacted]"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := RedactBody(tc.ct, []byte(tc.in), tc.truncated); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

// logBuffer is a debug-level text logger into a buffer.
func logBuffer(level slog.Level) (*slog.Logger, *bytes.Buffer) {
	var buf bytes.Buffer
	return slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: level})), &buf
}

// TestTransport: an exchange is logged (request, response, body) with its
// secrets redacted, and both bodies pass through unchanged — the response
// one far beyond the logged bytes.
func TestTransport(t *testing.T) {
	big := bytes.Repeat([]byte(`{"id":"0123456789","access_token":"`+jwt+`"},`), 2000)
	var gotReq []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotReq, _ = io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Set-Cookie", "session=cookie-secret-1")
		w.Write(big)
	}))
	defer srv.Close()

	log, buf := logBuffer(slog.LevelDebug)
	hc := Client(&http.Client{}, log)
	const form = "client_id=c&client_secret=form-secret-1&grant_type=client_credentials"
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/token?code=query-secret-1", strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("demo", "basic-secret-1")
	req.URL.User = url.UserPassword("u", "userinfo-secret-1")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, big) {
		t.Fatalf("response body changed: %d bytes, want %d", len(got), len(big))
	}
	if string(gotReq) != form {
		t.Fatalf("request body changed: %q", gotReq)
	}
	logs := buf.String()
	for _, w := range []string{"http request", "method=POST", "/token?code=[redacted]", "headers.Authorization=[redacted]",
		"client_secret=[redacted]", "http response", "status=\"200 OK\"", "headers.Set-Cookie=[redacted]",
		"http response body", "bytes_read=" + strconv.Itoa(len(big)), "eof=true", "access_token", "…"} {
		if !strings.Contains(logs, w) {
			t.Errorf("log lacks %q:\n%s", w, logs)
		}
	}
	for _, secret := range []string{"form-secret-1", "query-secret-1", "basic-secret-1", base64.StdEncoding.EncodeToString([]byte("demo:basic-secret-1")), "cookie-secret-1", "userinfo-secret-1", "eyJ"} {
		if strings.Contains(logs, secret) {
			t.Errorf("log contains %q:\n%s", secret, logs)
		}
	}
	if n := len(logs); n > 3*DefaultBodyLimit+2000 {
		t.Errorf("log is %d bytes: the body snippet is not bounded", n)
	}
}

// TestTransportEarlyClose: a body closed before its end is logged once, as
// a truncated snippet.
func TestTransportEarlyClose(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, strings.Repeat("x", 10000))
	}))
	defer srv.Close()
	log, buf := logBuffer(slog.LevelDebug)
	resp, err := Client(&http.Client{}, log).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	p := make([]byte, 10)
	if _, err := io.ReadFull(resp.Body, p); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	resp.Body.Close()
	logs := buf.String()
	if n := strings.Count(logs, "http response body"); n != 1 {
		t.Fatalf("%d body lines, want 1:\n%s", n, logs)
	}
	if !strings.Contains(logs, "eof=false") || !strings.Contains(logs, "xxxxxxxxxx…") {
		t.Errorf("early close not logged as truncated:\n%s", logs)
	}
}

// TestTransportQuietAboveDebug: a logger above debug level gets nothing,
// and a nil logger leaves the client as it was.
func TestTransportQuietAboveDebug(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer srv.Close()
	log, buf := logBuffer(slog.LevelInfo)
	resp, err := Client(&http.Client{}, log).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "ok" || buf.Len() != 0 {
		t.Errorf("body %q, log %q", b, buf.String())
	}
	hc := &http.Client{}
	if Client(hc, nil) != hc {
		t.Error("Client with a nil logger did not return the client itself")
	}
}

// TestTransportError: a failed exchange is logged without the URL's
// credentials.
func TestTransportError(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	u := srv.URL
	srv.Close()
	log, buf := logBuffer(slog.LevelDebug)
	_, err := Client(&http.Client{}, log).Get(strings.Replace(u, "http://", "http://u:userinfo-secret-2@", 1) + "/?password=query-secret-2")
	if err == nil {
		t.Fatal("no error from a closed server")
	}
	logs := buf.String()
	if !strings.Contains(logs, "http error") {
		t.Errorf("error not logged:\n%s", logs)
	}
	for _, s := range []string{"userinfo-secret-2", "query-secret-2"} {
		if strings.Contains(logs, s) {
			t.Errorf("log contains %q:\n%s", s, logs)
		}
	}
}

// TestLoginAnswerHidden: the successful text answer to a form carrying a
// password — a bare token, which no pattern may recognise — is not shown;
// a refusal, or the answer to a form without secrets, is.
func TestLoginAnswerHidden(t *testing.T) {
	const token = "opaque-token-0123456789"
	for _, tc := range []struct {
		name, form string
		status     int
		answer     string
		shown      bool
	}{
		{"login", "username=demo&password=pw&token=true", http.StatusCreated, token, false},
		{"refused login", "username=demo&password=pw&token=true", http.StatusUnauthorized, "Authentication failed", true},
		{"form without secrets", "a=1&b=2", http.StatusOK, "plain answer", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/plain;charset=UTF-8")
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.answer)
			}))
			defer srv.Close()
			log, buf := logBuffer(slog.LevelDebug)
			resp, err := Client(&http.Client{}, log).Post(srv.URL, "application/x-www-form-urlencoded", strings.NewReader(tc.form))
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(got) != tc.answer {
				t.Fatalf("the caller got %q, want %q", got, tc.answer)
			}
			if shown := strings.Contains(buf.String(), tc.answer); shown != tc.shown {
				t.Errorf("answer shown in the log: %v, want %v\n%s", shown, tc.shown, buf.String())
			}
		})
	}
}
