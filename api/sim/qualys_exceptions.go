package sim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"
)

// Exceptions CRUD. The request body of create and update is
//
//	{"name", "description", "reason", "startingDate", "endingDate", "scope",
//	 "cloudType"?, "controlIds"?, "connectorUuids"?, "accountIds"?, "resourceIds"?}
//
// and the answer is the exception as the list shows it (same fields, same
// order). The optional selectors are checked for type but not kept: the
// list's records do not carry them.

// exceptionBook is the exceptions store plus a name index (unique names).
type exceptionBook struct {
	st    *store
	names map[string]string // name → uuid; guarded by st.mu
}

func newExceptionBook(recs [][]byte) *exceptionBook {
	b := &exceptionBook{names: make(map[string]string, len(recs))}
	entries := make([]*entry, len(recs))
	for i, raw := range recs {
		var e qualysException
		if err := json.Unmarshal(raw, &e); err != nil {
			panic("sim: decode own exception: " + err.Error())
		}
		updated, _ := time.Parse(qualysTimeLayout, e.UpdatedOn)
		entries[i] = &entry{id: e.UUID, raw: raw, updated: updated.UnixNano()}
		b.names[e.Name] = e.UUID
	}
	b.st = newStore(entries, false)
	return b
}

// exceptionEntry marshals e.
func exceptionEntry(e *qualysException, updated time.Time) *entry {
	return &entry{id: e.UUID, raw: marshalRecord(e), updated: updated.UnixNano()}
}

// putLocked stores e (new or replacing the same uuid), keeping the name
// index. Callers hold b.st.mu.
func (b *exceptionBook) putLocked(e *qualysException, updated time.Time) {
	if old := b.st.byID[e.UUID]; old != nil {
		var prev qualysException
		_ = json.Unmarshal(old.raw, &prev)
		delete(b.names, prev.Name)
	}
	b.names[e.Name] = e.UUID
	b.st.putLocked(exceptionEntry(e, updated))
}

// removeLocked deletes ids (all known). Callers hold b.st.mu.
func (b *exceptionBook) removeLocked(ids []string) {
	for _, id := range ids {
		if old := b.st.byID[id]; old != nil {
			var prev qualysException
			_ = json.Unmarshal(old.raw, &prev)
			delete(b.names, prev.Name)
		}
	}
	b.st.removeLocked(ids)
}

func (q *qualys) serveExceptionList(w http.ResponseWriter, r *http.Request, _ string) {
	p, ok := q.pageParams(w, r.URL.Query())
	if !ok {
		return
	}
	recs, total := q.exceptions.st.page(nil, p.from(), p.size)
	writeSpringPage(w, p, recs, total)
}

func exceptionNotFound(id string) string {
	return fmt.Sprintf("Exception with id '%s' not found", clip(id))
}

// serveExceptionGet implements GET /rest/v1/exceptions/{exceptionId}.
func (q *qualys) serveExceptionGet(w http.ResponseWriter, r *http.Request, _ string) {
	id := r.PathValue("exceptionId")
	e := q.exceptions.st.get(id)
	if e == nil {
		q.writeError(w, http.StatusNotFound, exceptionNotFound(id))
		return
	}
	writeJSON(w, http.StatusOK, e.raw)
}

// exceptionRequest is the body of create and update. Pointers tell a
// missing field from an empty one.
type exceptionRequest struct {
	Name           *string  `json:"name"`
	Description    *string  `json:"description"`
	Reason         *string  `json:"reason"`
	StartingDate   *string  `json:"startingDate"`
	EndingDate     *string  `json:"endingDate"`
	Scope          *string  `json:"scope"`
	CloudType      *string  `json:"cloudType"`
	ControlIDs     []int64  `json:"controlIds"`
	ConnectorUUIDs []string `json:"connectorUuids"`
	AccountIDs     []string `json:"accountIds"`
	ResourceIDs    []string `json:"resourceIds"`
}

// exceptionFieldTypes describes the expected JSON type of each field, for
// type-mismatch messages.
var exceptionFieldTypes = map[string]string{
	"name": "a string", "description": "a string", "reason": "a string", "startingDate": "a date-time string",
	"endingDate": "a date-time string", "scope": "a string", "cloudType": "a string",
	"controlIds": "an array of integers", "connectorUuids": "an array of strings",
	"accountIds": "an array of strings", "resourceIds": "an array of strings",
}

const exceptionMaxName = 255

var exceptionCloudTypes = []string{"AWS", "AZURE", "GCP", "OCI"}

// exceptionDateLayouts are the accepted forms of startingDate and
// endingDate (answers always use "2026-05-17T18:30:00.000Z").
var exceptionDateLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999Z0700"}

func parseExceptionDate(s string) (time.Time, bool) {
	for _, l := range exceptionDateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// exceptionFields is a validated request.
type exceptionFields struct {
	name, description, reason, scope string
	start, end                       time.Time
}

// validate checks a request as the service does; it returns the 400
// message, or "".
func (req *exceptionRequest) validate(now time.Time) (exceptionFields, string) {
	var f exceptionFields
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return strings.TrimSpace(*p)
	}
	f.name = str(req.Name)
	switch n := utf8.RuneCountInString(f.name); {
	case f.name == "":
		return f, "name is required"
	case n > exceptionMaxName:
		return f, fmt.Sprintf("name must be at most %d characters (got %d)", exceptionMaxName, n)
	}
	f.description = str(req.Description)
	if f.reason = str(req.Reason); f.reason == "" {
		return f, "reason is required"
	}
	date := func(field string, p *string) (time.Time, string) {
		s := str(p)
		if s == "" {
			return time.Time{}, field + " is required"
		}
		t, ok := parseExceptionDate(s)
		if !ok {
			return t, fmt.Sprintf("Invalid %s '%s': expected an ISO 8601 date-time such as 2026-05-17T18:30:00.000Z", field, clip(s))
		}
		return t.UTC().Truncate(time.Millisecond), ""
	}
	var msg string
	if f.start, msg = date("startingDate", req.StartingDate); msg != "" {
		return f, msg
	}
	if f.end, msg = date("endingDate", req.EndingDate); msg != "" {
		return f, msg
	}
	if !f.start.Before(f.end) {
		return f, fmt.Sprintf("startingDate %s must be before endingDate %s", fmtQualysMilli(f.start), fmtQualysMilli(f.end))
	}
	if !f.end.After(now) {
		return f, fmt.Sprintf("endingDate %s is in the past: an exception must end in the future", fmtQualysMilli(f.end))
	}
	f.scope = str(req.Scope)
	switch {
	case f.scope == "":
		return f, "scope is required: one of " + strings.Join(exceptionScopes, ", ")
	case !containsString(exceptionScopes, f.scope):
		return f, fmt.Sprintf("Invalid scope '%s': must be one of %s", clip(f.scope), strings.Join(exceptionScopes, ", "))
	}
	if req.CloudType != nil && !containsString(exceptionCloudTypes, *req.CloudType) {
		return f, fmt.Sprintf("Invalid cloudType '%s': must be one of %s", clip(*req.CloudType), strings.Join(exceptionCloudTypes, ", "))
	}
	return f, ""
}

// state is the exception's state at now.
func (f exceptionFields) state(now time.Time) string {
	if f.start.After(now) {
		return "PENDING"
	}
	return "ACTIVE"
}

// readJSON decodes the JSON body of r into v. It writes the error (415,
// 400 naming the problem) and reports false when the body is not usable.
// Messages never quote the body (it may hold secrets).
func (q *qualys) readJSON(w http.ResponseWriter, r *http.Request, v any, fieldTypes map[string]string) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		q.writeError(w, http.StatusUnsupportedMediaType, fmt.Sprintf("Content-Type '%s' is not supported: send application/json", clip(r.Header.Get("Content-Type"))))
		return false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, qualysMaxBodyBytes))
	if err != nil {
		q.writeError(w, http.StatusBadRequest, fmt.Sprintf("Could not read the request body (at most %d bytes): %v", qualysMaxBodyBytes, err))
		return false
	}
	if len(bytes.TrimSpace(body)) == 0 {
		q.writeError(w, http.StatusBadRequest, "Required request body is missing")
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	err = dec.Decode(v)
	if err == nil && dec.More() {
		err = &json.SyntaxError{Offset: dec.InputOffset()}
	}
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			err = &json.SyntaxError{Offset: dec.InputOffset()}
		}
	}
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case err == nil:
		return true
	case errors.As(err, &te) && te.Field != "":
		want := fieldTypes[te.Field]
		if want == "" {
			want = "a value of another type"
		}
		q.writeError(w, http.StatusBadRequest, fmt.Sprintf("Malformed JSON request body: field '%s' must be %s", te.Field, want))
	case errors.As(err, &se):
		q.writeError(w, http.StatusBadRequest, fmt.Sprintf("Malformed JSON request body: syntax error at offset %d", se.Offset))
	case errors.As(err, &te):
		q.writeError(w, http.StatusBadRequest, "Malformed JSON request body: expected a JSON object")
	default:
		q.writeError(w, http.StatusBadRequest, "Malformed JSON request body: unexpected end of input")
	}
	return false
}

// serveExceptionCreate implements POST /rest/v1/exceptions/create → 201.
func (q *qualys) serveExceptionCreate(w http.ResponseWriter, r *http.Request, user string) {
	var req exceptionRequest
	if !q.readJSON(w, r, &req, exceptionFieldTypes) {
		return
	}
	now := q.s.now()
	f, msg := req.validate(now)
	if msg != "" {
		q.writeError(w, http.StatusBadRequest, msg)
		return
	}
	b := q.exceptions
	b.st.mu.Lock()
	if _, dup := b.names[f.name]; dup {
		b.st.mu.Unlock()
		q.writeError(w, http.StatusConflict, fmt.Sprintf("An exception named '%s' already exists", clip(f.name)))
		return
	}
	e := &qualysException{
		UUID: q.newID(func(u string) bool { return b.st.byID[u] != nil }), Name: f.name, Description: f.description, Reason: f.reason,
		State: f.state(now), StartingDate: fmtQualysMilli(f.start), EndingDate: fmtQualysMilli(f.end),
		CreatedBy: user, UpdatedBy: user, CreatedOn: fmtQualysTime(now), UpdatedOn: fmtQualysTime(now), Scope: f.scope,
	}
	b.putLocked(e, now)
	raw := b.st.byID[e.UUID].raw
	b.st.mu.Unlock()
	writeJSON(w, http.StatusCreated, raw)
}

// newID returns a fresh uuid for a created object, not in used. Ids come
// from a seeded stream, so the same sequence of requests creates the same
// ids.
func (q *qualys) newID(used func(string) bool) string {
	q.idMu.Lock()
	defer q.idMu.Unlock()
	for {
		if u := q.idRNG.uuid(); !used(u) {
			return u
		}
	}
}

// serveExceptionUpdate implements PUT /rest/v1/exceptions/{exceptionId}.
func (q *qualys) serveExceptionUpdate(w http.ResponseWriter, r *http.Request, user string) {
	var req exceptionRequest
	if !q.readJSON(w, r, &req, exceptionFieldTypes) {
		return
	}
	now := q.s.now()
	f, msg := req.validate(now)
	if msg != "" {
		q.writeError(w, http.StatusBadRequest, msg)
		return
	}
	id := r.PathValue("exceptionId")
	b := q.exceptions
	b.st.mu.Lock()
	old := b.st.byID[id]
	if old == nil {
		b.st.mu.Unlock()
		q.writeError(w, http.StatusNotFound, exceptionNotFound(id))
		return
	}
	if other, dup := b.names[f.name]; dup && other != id {
		b.st.mu.Unlock()
		q.writeError(w, http.StatusConflict, fmt.Sprintf("An exception named '%s' already exists", clip(f.name)))
		return
	}
	var e qualysException
	if err := json.Unmarshal(old.raw, &e); err != nil {
		panic("sim: decode own exception: " + err.Error())
	}
	e.Name, e.Description, e.Reason, e.Scope = f.name, f.description, f.reason, f.scope
	e.State = f.state(now)
	e.StartingDate, e.EndingDate = fmtQualysMilli(f.start), fmtQualysMilli(f.end)
	e.UpdatedBy, e.UpdatedOn = user, fmtQualysTime(now)
	b.putLocked(&e, now)
	raw := b.st.byID[id].raw
	b.st.mu.Unlock()
	writeJSON(w, http.StatusOK, raw)
}

// serveExceptionDelete implements DELETE /rest/v1/exceptions/delete with
// body {"exceptionIds": [...]} → {"deletedIds": [...]}. One unknown id
// deletes nothing.
func (q *qualys) serveExceptionDelete(w http.ResponseWriter, r *http.Request, _ string) {
	var req struct {
		ExceptionIDs []string `json:"exceptionIds"`
	}
	if !q.readJSON(w, r, &req, map[string]string{"exceptionIds": "an array of strings"}) {
		return
	}
	var ids []string
	seen := map[string]bool{}
	for _, id := range req.ExceptionIDs {
		if id = strings.TrimSpace(id); id != "" && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		q.writeError(w, http.StatusBadRequest, "exceptionIds is required: a non-empty array of exception ids")
		return
	}
	b := q.exceptions
	b.st.mu.Lock()
	for _, id := range ids {
		if b.st.byID[id] == nil {
			b.st.mu.Unlock()
			q.writeError(w, http.StatusNotFound, exceptionNotFound(id))
			return
		}
	}
	b.removeLocked(ids)
	b.st.mu.Unlock()
	body, _ := json.Marshal(struct {
		DeletedIDs []string `json:"deletedIds"`
	}{ids})
	writeJSON(w, http.StatusOK, body)
}
