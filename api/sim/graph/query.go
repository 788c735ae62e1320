package graphsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// gerr is a Graph error answer.
type gerr struct {
	status int
	code   string
	msg    string
	hdr    http.Header
}

func (e *gerr) Error() string { return e.code + ": " + e.msg }

func badRequest(code, format string, args ...any) *gerr {
	return &gerr{status: http.StatusBadRequest, code: code, msg: fmt.Sprintf(format, args...)}
}

func notFound(id string) *gerr {
	return &gerr{status: http.StatusNotFound, code: "Request_ResourceNotFound",
		msg: fmt.Sprintf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", clip(id))}
}

func unsupportedQuery(format string, args ...any) *gerr {
	return badRequest("Request_UnsupportedQuery", format, args...)
}

// query holds the OData system query options of a request. Names are
// matched without case and with or without the $ prefix.
type query struct {
	top        int
	hasTop     bool
	sel        []string
	hasSel     bool
	filter     string
	expand     string
	orderby    string
	search     string
	skip       string
	count      string
	skiptoken  string
	deltatoken string
	hasToken   bool
}

const (
	defaultPageSize = 100
	maxPageSize     = 999
)

var knownOptions = map[string]bool{
	"select": true, "filter": true, "top": true, "skip": true, "skiptoken": true, "deltatoken": true,
	"expand": true, "orderby": true, "search": true, "count": true, "format": true,
}

func parseQuery(raw string) (*query, *gerr) {
	vals, err := url.ParseQuery(raw)
	if err != nil {
		return nil, badRequest("BadRequest", "Invalid query string: %s", clip(err.Error()))
	}
	q := &query{top: defaultPageSize}
	for k, v := range vals {
		lk := strings.ToLower(k)
		name := strings.TrimPrefix(lk, "$")
		if !knownOptions[name] {
			if strings.HasPrefix(lk, "$") {
				return nil, badRequest("BadRequest", "Query option '%s' is not supported.", clip(k))
			}
			continue
		}
		if len(v) > 1 {
			return nil, badRequest("BadRequest", "Query option '$%s' was specified more than once, but it must be specified at most once.", name)
		}
		val := v[0]
		switch name {
		case "select":
			q.hasSel = true
			for _, p := range strings.Split(val, ",") {
				if p = strings.TrimSpace(p); p != "" {
					q.sel = append(q.sel, p)
				}
			}
		case "filter":
			q.filter = strings.TrimSpace(val)
		case "top":
			n, err := strconv.Atoi(strings.TrimSpace(val))
			if err != nil {
				return nil, badRequest("BadRequest", "Invalid value '%s' for query option '$top': the value must be an integer.", clip(val))
			}
			q.top, q.hasTop = n, true
		case "expand":
			q.expand = strings.TrimSpace(val)
		case "orderby":
			q.orderby = val
		case "search":
			q.search = val
		case "skip":
			q.skip = val
		case "count":
			q.count = strings.ToLower(strings.TrimSpace(val))
		case "skiptoken":
			q.skiptoken, q.hasToken = val, true
		case "deltatoken":
			q.deltatoken, q.hasToken = val, true
		}
	}
	return q, nil
}

// pageSize validates $top for a paged collection.
func (q *query) pageSize() (int, *gerr) {
	if !q.hasTop {
		return defaultPageSize, nil
	}
	if q.top < 1 || q.top > maxPageSize {
		return 0, unsupportedQuery("Invalid page size specified: '%d'. Must be between 1 and %d inclusive.", q.top, maxPageSize)
	}
	return q.top, nil
}

// selectView resolves $select against a schema: the chosen properties
// plus id, in schema order. nil means the default view.
func selectView(sch *schema, names []string) ([]int, *gerr) {
	if len(names) == 0 {
		return sch.def, nil
	}
	view := []int{sch.idIdx}
	for _, n := range names {
		if n == "*" {
			return sch.all, nil
		}
		i, ok := sch.index[strings.ToLower(n)]
		if !ok {
			return nil, badRequest("BadRequest", "Parsing OData Select and Expand failed: Could not find a property named '%s' on type 'microsoft.graph.%s'.", clip(n), sch.name)
		}
		view = append(view, i)
	}
	slices.Sort(view)
	return slices.Compact(view), nil
}

// dirObjectSchemas are the types a directoryObject collection can hold.
var dirObjectSchemas = []*schema{userSchema, groupSchema, deviceSchema, spSchema, roleSchema, auSchema}

// mixedView resolves $select for a directoryObject collection: each name
// must exist on at least one of the derived types; each type shows the
// names it has.
type mixedView struct {
	names []string
	views map[kind][]int
}

func newMixedView(names []string) (*mixedView, *gerr) {
	mv := &mixedView{names: names, views: map[kind][]int{}}
	for _, n := range names {
		if n == "*" {
			continue
		}
		found := false
		for _, sch := range dirObjectSchemas {
			if _, ok := sch.index[strings.ToLower(n)]; ok {
				found = true
				break
			}
		}
		if !found {
			return nil, badRequest("BadRequest", "Parsing OData Select and Expand failed: Could not find a property named '%s' on type 'microsoft.graph.directoryObject'.", clip(n))
		}
	}
	return mv, nil
}

func (mv *mixedView) view(k kind) []int {
	if v, ok := mv.views[k]; ok {
		return v
	}
	sch := schemas[k]
	var v []int
	if len(mv.names) == 0 {
		v = sch.def
	} else {
		v = []int{sch.idIdx}
		for _, n := range mv.names {
			if n == "*" {
				v = sch.all
				break
			}
			if i, ok := sch.index[strings.ToLower(n)]; ok {
				v = append(v, i)
			}
		}
		slices.Sort(v)
		v = slices.Compact(v)
	}
	mv.views[k] = v
	return v
}

// expandSpec is a parsed $expand: one navigation property, optionally with
// a nested $select.
type expandSpec struct {
	name string // as written
	rel  int
	sel  []string
}

func parseExpand(sch *schema, raw string) (*expandSpec, *gerr) {
	if raw == "" {
		return nil, nil
	}
	name, inner := raw, ""
	if i := strings.IndexByte(raw, '('); i >= 0 {
		if !strings.HasSuffix(raw, ")") {
			return nil, badRequest("BadRequest", "Parsing OData Select and Expand failed: ')' or ',' expected at position %d in '%s'.", len(raw), clip(raw))
		}
		name, inner = strings.TrimSpace(raw[:i]), raw[i+1:len(raw)-1]
	}
	if strings.Contains(name, ",") {
		return nil, unsupportedQuery("Only one relationship can be expanded in the same request.")
	}
	rel, ok := sch.nav[strings.ToLower(name)]
	if !ok {
		return nil, badRequest("BadRequest", "Parsing OData Select and Expand failed: Could not find a property named '%s' on type 'microsoft.graph.%s'.", clip(name), sch.name)
	}
	e := &expandSpec{name: name, rel: rel}
	if inner != "" {
		k, v, ok := strings.Cut(inner, "=")
		if !ok || strings.TrimPrefix(strings.ToLower(strings.TrimSpace(k)), "$") != "select" {
			return nil, unsupportedQuery("Only $select is supported inside $expand.")
		}
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				e.sel = append(e.sel, p)
			}
		}
	}
	return e, nil
}

// The $filter subset: eq (and ne as Graph refuses it without advanced
// queries), startswith, in, any on string collections, and, or, parentheses.

type fexpr interface{ eval(o *obj) bool }

type fAnd struct{ l, r fexpr }
type fOr struct{ l, r fexpr }
type fEq struct {
	k   int
	lit []byte // JSON
}
type fStarts struct {
	k      int
	prefix []byte // JSON string without the closing quote
}
type fIn struct {
	k    int
	lits [][]byte
}
type fAny struct {
	k   int
	lit string
}

func (f fAnd) eval(o *obj) bool { return f.l.eval(o) && f.r.eval(o) }
func (f fOr) eval(o *obj) bool  { return f.l.eval(o) || f.r.eval(o) }
func (f fEq) eval(o *obj) bool  { return jsonEqualFold(o.value(f.k), f.lit) }
func (f fStarts) eval(o *obj) bool {
	v := o.value(f.k)
	return len(v) >= len(f.prefix) && bytes.EqualFold(v[:len(f.prefix)], f.prefix)
}
func (f fIn) eval(o *obj) bool {
	v := o.value(f.k)
	for _, l := range f.lits {
		if jsonEqualFold(v, l) {
			return true
		}
	}
	return false
}
func (f fAny) eval(o *obj) bool {
	var xs []string
	if json.Unmarshal(o.value(f.k), &xs) != nil {
		return false
	}
	for _, x := range xs {
		if strings.EqualFold(x, f.lit) {
			return true
		}
	}
	return false
}

// jsonEqualFold compares JSON values; strings without case.
func jsonEqualFold(a, b []byte) bool {
	if len(a) > 0 && a[0] == '"' {
		return bytes.EqualFold(a, b)
	}
	return bytes.Equal(a, b)
}

type ftok struct {
	kind byte // 'i' ident, 's' string, 'n' number/literal, '(' ')' ','
	text string
}

func lexFilter(s string) ([]ftok, error) {
	var out []ftok
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			i++
		case c == '(' || c == ')' || c == ',':
			out = append(out, ftok{kind: c})
			i++
		case c == '\'':
			var b strings.Builder
			i++
			closed := false
			for i < len(s) {
				if s[i] == '\'' {
					if i+1 < len(s) && s[i+1] == '\'' {
						b.WriteByte('\'')
						i += 2
						continue
					}
					i++
					closed = true
					break
				}
				b.WriteByte(s[i])
				i++
			}
			if !closed {
				return nil, fmt.Errorf("unterminated string literal")
			}
			out = append(out, ftok{kind: 's', text: b.String()})
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t(),'", rune(s[j])) {
				j++
			}
			out = append(out, ftok{kind: 'i', text: s[i:j]})
			i = j
		}
	}
	return out, nil
}

type fparser struct {
	sch  *schema
	toks []ftok
	pos  int
	ids  bool // delta scoping: only id eq / id in
}

func (p *fparser) peek() *ftok {
	if p.pos < len(p.toks) {
		return &p.toks[p.pos]
	}
	return nil
}

func (p *fparser) next() *ftok {
	t := p.peek()
	if t != nil {
		p.pos++
	}
	return t
}

func (p *fparser) keyword(w string) bool {
	t := p.peek()
	if t != nil && t.kind == 'i' && strings.EqualFold(t.text, w) {
		p.pos++
		return true
	}
	return false
}

func (p *fparser) invalid() *gerr {
	return badRequest("BadRequest", "Invalid filter clause: syntax error at position %d.", p.pos)
}

func parseFilter(sch *schema, s string, idsOnly bool) (fexpr, *gerr) {
	if s == "" {
		return nil, nil
	}
	toks, err := lexFilter(s)
	if err != nil {
		return nil, badRequest("BadRequest", "Invalid filter clause: %s.", err.Error())
	}
	p := &fparser{sch: sch, toks: toks, ids: idsOnly}
	e, ge := p.or()
	if ge != nil {
		return nil, ge
	}
	if p.pos != len(p.toks) {
		return nil, p.invalid()
	}
	return e, nil
}

func (p *fparser) or() (fexpr, *gerr) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.keyword("or") {
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		l = fOr{l, r}
	}
	return l, nil
}

func (p *fparser) and() (fexpr, *gerr) {
	l, err := p.primary()
	if err != nil {
		return nil, err
	}
	for p.keyword("and") {
		if p.ids {
			return nil, unsupportedQuery("Only 'id eq' clauses combined with 'or' are supported in a delta query filter.")
		}
		r, err := p.primary()
		if err != nil {
			return nil, err
		}
		l = fAnd{l, r}
	}
	return l, nil
}

func (p *fparser) prop(name string) (int, *gerr) {
	k, ok := p.sch.index[strings.ToLower(name)]
	if !ok {
		return 0, badRequest("BadRequest", "Could not find a property named '%s' on type 'microsoft.graph.%s'.", clip(name), p.sch.name)
	}
	if p.ids && k != p.sch.idIdx {
		return 0, unsupportedQuery("Unsupported or invalid query filter clause specified for property '%s' of resource '%s'. Delta queries can only be scoped by id.", p.sch.props[k], upperFirst(p.sch.name))
	}
	return k, nil
}

func (p *fparser) unsupportedProp(k int) *gerr {
	return unsupportedQuery("Unsupported or invalid query filter clause specified for property '%s' of resource '%s'.", p.sch.props[k], upperFirst(p.sch.name))
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func (p *fparser) literal() ([]byte, *gerr) {
	t := p.next()
	if t == nil {
		return nil, p.invalid()
	}
	switch t.kind {
	case 's':
		return jsonString(t.text), nil
	case 'i':
		switch lt := strings.ToLower(t.text); lt {
		case "true", "false", "null":
			return []byte(lt), nil
		default:
			if _, err := strconv.ParseFloat(t.text, 64); err == nil {
				return []byte(t.text), nil
			}
		}
	}
	return nil, p.invalid()
}

func (p *fparser) primary() (fexpr, *gerr) {
	t := p.next()
	if t == nil {
		return nil, p.invalid()
	}
	if t.kind == '(' {
		e, err := p.or()
		if err != nil {
			return nil, err
		}
		if c := p.next(); c == nil || c.kind != ')' {
			return nil, p.invalid()
		}
		return e, nil
	}
	if t.kind != 'i' {
		return nil, p.invalid()
	}
	if strings.EqualFold(t.text, "not") {
		return nil, unsupportedQuery("Operator 'not' is not supported because the required parameters might be missing. Try adding $count=true query parameter and ConsistencyLevel:eventual header.")
	}
	if strings.EqualFold(t.text, "startswith") {
		if p.ids {
			return nil, unsupportedQuery("Only 'id eq' clauses combined with 'or' are supported in a delta query filter.")
		}
		if c := p.next(); c == nil || c.kind != '(' {
			return nil, p.invalid()
		}
		pt := p.next()
		if pt == nil || pt.kind != 'i' {
			return nil, p.invalid()
		}
		k, err := p.prop(pt.text)
		if err != nil {
			return nil, err
		}
		if c := p.next(); c == nil || c.kind != ',' {
			return nil, p.invalid()
		}
		lt := p.next()
		if lt == nil || lt.kind != 's' {
			return nil, p.invalid()
		}
		if c := p.next(); c == nil || c.kind != ')' {
			return nil, p.invalid()
		}
		if !p.sch.filter[k] {
			return nil, p.unsupportedProp(k)
		}
		lit := jsonString(lt.text)
		return fStarts{k: k, prefix: lit[:len(lit)-1]}, nil
	}
	// prop/any(x:x eq 'v')
	if i := strings.Index(strings.ToLower(t.text), "/any"); i > 0 {
		if p.ids {
			return nil, unsupportedQuery("Only 'id eq' clauses combined with 'or' are supported in a delta query filter.")
		}
		k, err := p.prop(t.text[:i])
		if err != nil {
			return nil, err
		}
		if !p.sch.anyFilter[k] {
			return nil, p.unsupportedProp(k)
		}
		if c := p.next(); c == nil || c.kind != '(' {
			return nil, p.invalid()
		}
		vt := p.next() // "c:c"
		if vt == nil || vt.kind != 'i' {
			return nil, p.invalid()
		}
		v1, v2, ok := strings.Cut(vt.text, ":")
		if !ok || v1 != v2 {
			return nil, p.invalid()
		}
		if !p.keyword("eq") {
			return nil, unsupportedQuery("Only 'eq' is supported inside any().")
		}
		lt := p.next()
		if lt == nil || lt.kind != 's' {
			return nil, p.invalid()
		}
		if c := p.next(); c == nil || c.kind != ')' {
			return nil, p.invalid()
		}
		return fAny{k: k, lit: lt.text}, nil
	}
	k, err := p.prop(t.text)
	if err != nil {
		return nil, err
	}
	op := p.next()
	if op == nil || op.kind != 'i' {
		return nil, p.invalid()
	}
	switch strings.ToLower(op.text) {
	case "eq":
		if !p.sch.filter[k] {
			return nil, p.unsupportedProp(k)
		}
		lit, err := p.literal()
		if err != nil {
			return nil, err
		}
		return fEq{k: k, lit: lit}, nil
	case "in":
		if !p.sch.filter[k] {
			return nil, p.unsupportedProp(k)
		}
		if c := p.next(); c == nil || c.kind != '(' {
			return nil, p.invalid()
		}
		var lits [][]byte
		for {
			lit, err := p.literal()
			if err != nil {
				return nil, err
			}
			lits = append(lits, lit)
			c := p.next()
			if c == nil {
				return nil, p.invalid()
			}
			if c.kind == ')' {
				break
			}
			if c.kind != ',' {
				return nil, p.invalid()
			}
		}
		if p.ids && len(lits) > 50 {
			return nil, unsupportedQuery("Too many ids in the delta query filter.")
		}
		return fIn{k: k, lits: lits}, nil
	case "ne", "gt", "ge", "lt", "le", "endswith":
		return nil, unsupportedQuery("Operator '%s' is not supported because the required parameters might be missing. Try adding $count=true query parameter and ConsistencyLevel:eventual header. Refer to https://aka.ms/graph-docs/advanced-queries for more information", strings.ToLower(op.text))
	}
	return nil, p.invalid()
}

// checkUnsupported refuses the options a plain (non-advanced) directory
// query does not support.
func (q *query) checkUnsupported(h http.Header, countable bool) *gerr {
	advanced := strings.EqualFold(h.Get("ConsistencyLevel"), "eventual")
	switch {
	case q.skip != "":
		return badRequest("Request_BadRequest", "'$skip' is not supported by the service.")
	case q.search != "":
		return badRequest("Request_BadRequest", "Request with $search query parameter only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'")
	case q.orderby != "":
		return unsupportedQuery("Sorting not supported for current query.")
	case q.count != "" && q.count != "true" && q.count != "false":
		return badRequest("BadRequest", "Invalid value '%s' for query option '$count'.", clip(q.count))
	case q.count == "true" && !advanced:
		return badRequest("Request_BadRequest", "$count is not currently supported without the ConsistencyLevel: eventual header.")
	case q.count == "true" && !countable:
		return unsupportedQuery("$count is not supported on this collection.")
	}
	return nil
}
