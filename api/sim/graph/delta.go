package graphsim

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Delta page limits: Graph caps delta pages at 200 objects and 500
// directory links (members@delta entries); Prefer: odata.maxpagesize lowers
// both.
const (
	deltaMaxObjects = 200
	deltaMaxLinks   = 500
)

// deltaKey identifies a cached change set.
type deltaKey struct {
	k        kind
	from, to uint64
}

// changeItem is one object changed in a window: its own changed properties
// (0: none) and the members whose membership in it changed.
type changeItem struct {
	o       *obj
	props   uint64
	members []*obj
}

type changeSet struct{ items []changeItem } // by o.seq

// changes returns what changed in objects of kind k after change number
// from up to to. The log is append-only, so a window never changes and is
// cached. The caller holds the read lock.
func (d *directory) changes(k kind, from, to uint64) *changeSet {
	key := deltaKey{k, from, to}
	d.cacheMu.Lock()
	if cs, ok := d.deltaCache[key]; ok {
		d.cacheMu.Unlock()
		return cs
	}
	d.cacheMu.Unlock()
	log := d.logs[logIndex(k)]
	i, _ := slices.BinarySearchFunc(log, from+1, func(c change, cn uint64) int {
		switch {
		case c.cn < cn:
			return -1
		case c.cn > cn:
			return 1
		}
		return 0
	})
	idx := map[*obj]int{}
	var items []changeItem
	memberSeen := map[[2]*obj]bool{}
	for ; i < len(log) && log[i].cn <= to; i++ {
		c := log[i]
		j, ok := idx[c.o]
		if !ok {
			j = len(items)
			idx[c.o] = j
			items = append(items, changeItem{o: c.o})
		}
		if c.member == nil {
			items[j].props |= c.props
		} else if !memberSeen[[2]*obj{c.o, c.member}] {
			memberSeen[[2]*obj{c.o, c.member}] = true
			items[j].members = append(items[j].members, c.member)
		}
	}
	slices.SortFunc(items, func(a, b changeItem) int { return cmpU32(a.o.seq, b.o.seq) })
	for i := range items {
		sortBySeq(items[i].members)
	}
	cs := &changeSet{items: items}
	d.cacheMu.Lock()
	if len(d.deltaOrder) >= 16 {
		delete(d.deltaCache, d.deltaOrder[0])
		d.deltaOrder = d.deltaOrder[1:]
	}
	d.deltaCache[key] = cs
	d.deltaOrder = append(d.deltaOrder, key)
	d.cacheMu.Unlock()
	return cs
}

// deltaOptions are the query options of a first delta request.
type deltaOptions struct {
	view    []int
	selMask uint64
	members bool
}

func deltaView(sch *schema, sel string) (deltaOptions, *gerr) {
	tracksMembers := sch.kind == kGroup || sch.kind == kAU
	opt := deltaOptions{view: sch.def, selMask: allProps, members: tracksMembers}
	if sel == "" {
		return opt, nil
	}
	var names []string
	opt.members = false
	for _, p := range strings.Split(sel, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if tracksMembers && strings.EqualFold(p, "members") {
			opt.members = true
			continue
		}
		names = append(names, p)
	}
	view := []int{sch.idIdx}
	if len(names) > 0 {
		v, ge := selectView(sch, names)
		if ge != nil {
			return opt, ge
		}
		view = v
	}
	opt.view = view
	opt.selMask = 0
	for _, k := range view {
		if k != sch.idIdx {
			opt.selMask |= propBit(k)
		}
	}
	return opt, nil
}

// preferPageSize reads Prefer: odata.maxpagesize.
func preferPageSize(h http.Header) int {
	for _, v := range h.Values("Prefer") {
		for _, part := range strings.Split(v, ",") {
			k, val, ok := strings.Cut(strings.TrimSpace(part), "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "odata.maxpagesize") {
				if n, err := strconv.Atoi(strings.Trim(strings.TrimSpace(val), `"`)); err == nil && n > 0 {
					return n
				}
			}
		}
	}
	return 0
}

// initialDeltaURL rebuilds the first request of a delta query from a
// token's options (the Location of a 410).
func (rc *rctx) initialDeltaURL(sch *schema, t deltaTok) string {
	var parts []string
	if t.sel != "" {
		parts = append(parts, "$select="+url.QueryEscape(t.sel))
	}
	if t.expand {
		parts = append(parts, "$expand=members")
	}
	if t.filter != "" {
		parts = append(parts, "$filter="+url.QueryEscape(t.filter))
	}
	u := rc.base + "/v1.0/" + sch.set + "/delta"
	if len(parts) > 0 {
		u += "?" + strings.Join(parts, "&")
	}
	return u
}

func (rc *rctx) gone(sch *schema, t deltaTok, code, msg string) *gerr {
	return &gerr{status: http.StatusGone, code: code, msg: msg,
		hdr: http.Header{"Location": {rc.initialDeltaURL(sch, t)}}}
}

// serveDelta serves the delta queries of users, groups, devices and
// administrative units.
func (rc *rctx) serveDelta(q *query, k kind) (*resp, *gerr) {
	s := rc.s
	d := s.dir
	sch := schemas[k]
	tokStr := q.skiptoken
	if tokStr == "" {
		tokStr = q.deltatoken
	}
	var t deltaTok
	var hdr http.Header
	switch {
	case tokStr == "" || tokStr == "latest":
		switch {
		case q.hasTop:
			return nil, unsupportedQuery("$top is not supported on delta queries of %s.", sch.set)
		case q.orderby != "":
			return nil, unsupportedQuery("$orderby is not supported on delta queries of %s.", sch.set)
		case q.search != "" || q.skip != "" || q.count != "":
			return nil, unsupportedQuery("The query option is not supported on delta queries of %s.", sch.set)
		}
		if q.expand != "" {
			if k != kGroup || !strings.EqualFold(strings.TrimSpace(q.expand), "members") {
				return nil, unsupportedQuery("$expand is not supported on delta queries of %s (groups accept $expand=members).", sch.set)
			}
			t.expand = true
		}
		t.sel = strings.Join(q.sel, ",")
		if _, ge := deltaView(sch, t.sel); ge != nil {
			return nil, ge
		}
		if _, ge := parseFilter(sch, q.filter, true); ge != nil {
			return nil, ge
		}
		t.filter = q.filter
		t.res = k
		t.objCap, t.linkCap = deltaMaxObjects, deltaMaxLinks
		if n := preferPageSize(rc.hdr); n > 0 {
			t.objCap, t.linkCap = uint32(min(n, deltaMaxObjects)), uint32(min(n, deltaMaxLinks))
			hdr = http.Header{"Preference-Applied": {"odata.maxpagesize=" + strconv.Itoa(int(t.objCap))}}
		}
		d.mu.RLock()
		cn := d.cn
		d.mu.RUnlock()
		t.issued = rc.now.UnixNano()
		if tokStr == "latest" {
			t.phase, t.from, t.prev = phaseLink, cn, cn
			var b []byte
			b = append(b, `{"@odata.context":`...)
			b = appendJSONString(b, rc.context(sch.set+selectSuffixOf(t.sel)))
			b = append(b, `,"@odata.deltaLink":`...)
			b = appendJSONString(b, rc.base+"/v1.0/"+sch.set+"/delta?$deltatoken="+s.encodeDelta(t))
			b = append(b, `,"value":[]}`...)
			return &resp{status: http.StatusOK, hdr: hdr, body: b}, nil
		}
		t.phase, t.to, t.prev = phaseInitial, cn, cn
	default:
		var err error
		t, err = s.decodeDelta(tokStr)
		switch {
		case err == errStaleToken && t.res == k:
			return nil, rc.gone(sch, t, "resyncRequired", "The delta token is no longer valid: the directory's sync state was reset. Start a full synchronization with the URL in the Location header.")
		case err != nil || t.res != k:
			return nil, badRequest("Request_BadRequest", "The delta token or skip token is malformed or was issued for another resource.")
		}
		if rc.now.UnixNano()-t.issued > int64(s.opt.DeltaTokenTTL) {
			return nil, rc.gone(sch, t, "syncStateNotFound", "The sync state generation is not found. The delta token is expired and data must be synchronized again.")
		}
		if s.fault(rc.n, faultDeltaGone, s.opt.Faults.DeltaGone) {
			rc.countFault("410")
			return nil, rc.gone(sch, t, "resyncRequired", "The delta token is no longer valid: the directory's sync state was reset. Start a full synchronization with the URL in the Location header.")
		}
		if t.phase == phaseLink {
			d.mu.RLock()
			cn := d.cn
			d.mu.RUnlock()
			from := t.from
			if t.prev < from && s.fault(rc.n, faultReplay, s.opt.Faults.DeltaReplay) {
				rc.countFault("replay")
				from = t.prev
			}
			t = deltaTok{res: k, phase: phaseChanges, from: from, to: cn, prev: t.from, issued: rc.now.UnixNano(),
				objCap: t.objCap, linkCap: t.linkCap, members: t.members, expand: t.expand, sel: t.sel, filter: t.filter}
		}
	}
	opt, ge := deltaView(sch, t.sel)
	if ge != nil {
		return nil, ge
	}
	track := opt.members || t.expand
	scope, ge := parseFilter(sch, t.filter, true)
	if ge != nil {
		return nil, ge
	}
	b := rc.deltaPage(sch, t, opt, track, scope)
	return &resp{status: http.StatusOK, hdr: hdr, body: b}, nil
}

func selectSuffixOf(sel string) string {
	if sel == "" {
		return ""
	}
	return "(" + sel + ")"
}

// dpage writes one delta page.
type dpage struct {
	b              []byte
	nobj, nlinks   int
	objCap, lnkCap int
}

func (p *dpage) sep() {
	if p.nobj > 0 {
		p.b = append(p.b, ',')
	}
}

// emit writes an object entry: removed, or the view with members@delta.
func (p *dpage) emit(o *obj, view []int, removed string, members []*obj, isRemoved func(*obj) bool) {
	p.sep()
	p.nobj++
	if removed != "" {
		p.b = append(p.b, `{"id":`...)
		p.b = appendJSONString(p.b, o.id)
		p.b = append(p.b, `,"@removed":{"reason":"`...)
		p.b = append(p.b, removed...)
		p.b = append(p.b, `"}}`...)
		return
	}
	if members == nil {
		p.b = o.appendView(p.b, view, false)
		return
	}
	var md []byte
	md = append(md, `"members@delta":[`...)
	for i, m := range members {
		if i > 0 {
			md = append(md, ',')
		}
		md = append(md, `{"@odata.type":"`...)
		md = append(md, m.schema().odataType...)
		md = append(md, `","id":`...)
		md = appendJSONString(md, m.id)
		if isRemoved != nil && isRemoved(m) {
			md = append(md, `,"@removed":{"reason":"deleted"}`...)
		}
		md = append(md, '}')
	}
	md = append(md, ']')
	p.nlinks += len(members)
	p.b = o.appendView(p.b, view, false, md)
}

func removedReason(o *obj) string {
	switch o.state {
	case softDeleted:
		return "changed"
	case hardDeleted:
		return "deleted"
	}
	return ""
}

// membersAfter returns the members of list with seq > after.
func membersAfter(list []*obj, after uint32) []*obj {
	if after == 0 {
		return list
	}
	i, found := slices.BinarySearchFunc(list, after, func(e *obj, s uint32) int { return cmpU32(e.seq, s) })
	if found {
		i++
	}
	return list[i:]
}

// deltaPage cuts the page at t's position and returns the body.
func (rc *rctx) deltaPage(sch *schema, t deltaTok, opt deltaOptions, track bool, scope fexpr) []byte {
	s := rc.s
	d := s.dir
	d.mu.RLock()
	defer d.mu.RUnlock()
	p := &dpage{objCap: s.pageLen(int(t.objCap), t.pos, t.page, uint64(0xde17a)<<8|uint64(sch.kind)), lnkCap: int(t.linkCap)}
	p.b = append(p.b, `{"@odata.context":`...)
	p.b = appendJSONString(p.b, rc.context(sch.set+selectSuffixOf(t.sel)))
	body := make([]byte, 0, 1024)
	p.b, body = body, p.b // write the value array first, the envelope after
	newPos, newMpos := t.pos, t.mpos
	more := false

	// step handles one object; it reports whether the page is full.
	step := func(o *obj, removed string, members []*obj, isRemoved func(*obj) bool, show bool) bool {
		if p.nobj >= p.objCap {
			more = true
			return true
		}
		if o.seq == t.pos && t.mpos != 0 {
			members = membersAfter(members, t.mpos)
		}
		if removed == "" && track && len(members) > 0 {
			room := p.lnkCap - p.nlinks
			if room <= 0 {
				more = true
				return true
			}
			chunk := members[:min(room, len(members))]
			p.emit(o, opt.view, "", chunk, isRemoved)
			if len(chunk) < len(members) {
				newPos, newMpos = o.seq, chunk[len(chunk)-1].seq
				more = true
				return true
			}
		} else if show || removed != "" {
			p.emit(o, opt.view, removed, nil, nil)
		}
		newPos, newMpos = o.seq, 0
		return false
	}

	if t.phase == phaseInitial {
		list := d.lists[sch.kind]
		i, found := slices.BinarySearchFunc(list, t.pos, func(e *obj, s uint32) int { return cmpU32(e.seq, s) })
		if found && t.mpos == 0 {
			i++
		}
		for ; i < len(list); i++ {
			o := list[i]
			if scope != nil && !scope.eval(o) {
				continue
			}
			var members []*obj
			if track {
				members = o.members
			}
			if step(o, "", members, nil, true) {
				break
			}
		}
	} else {
		cs := d.changes(sch.kind, t.from, t.to)
		items := cs.items
		i, _ := slices.BinarySearchFunc(items, t.pos, func(e changeItem, s uint32) int { return cmpU32(e.o.seq, s) })
		if i < len(items) && items[i].o.seq == t.pos && t.mpos == 0 {
			i++
		}
		for ; i < len(items); i++ {
			it := items[i]
			o := it.o
			if scope != nil && !scope.eval(o) {
				continue
			}
			removed := removedReason(o)
			show := it.props != 0 && (it.props == allProps || it.props&opt.selMask != 0)
			var members []*obj
			if track && removed == "" {
				members = it.members
			}
			if !show && removed == "" && len(members) == 0 {
				continue // nothing this query tracks changed
			}
			g := o
			isRemoved := func(m *obj) bool { return !containsBySeq(g.members, m) }
			if step(o, removed, members, isRemoved, show) {
				break
			}
		}
	}
	value := p.b
	p.b = body
	if more {
		next := t
		next.pos, next.mpos, next.page = newPos, newMpos, t.page+1
		p.b = append(p.b, `,"@odata.nextLink":`...)
		p.b = appendJSONString(p.b, rc.base+"/v1.0/"+sch.set+"/delta?$skiptoken="+s.encodeDelta(next))
	} else {
		link := deltaTok{res: sch.kind, phase: phaseLink, from: t.to, prev: t.from, issued: rc.now.UnixNano(),
			objCap: t.objCap, linkCap: t.linkCap, members: t.members, expand: t.expand, sel: t.sel, filter: t.filter}
		if t.phase == phaseInitial {
			link.prev = t.to
		}
		p.b = append(p.b, `,"@odata.deltaLink":`...)
		p.b = appendJSONString(p.b, rc.base+"/v1.0/"+sch.set+"/delta?$deltatoken="+s.encodeDelta(link))
	}
	p.b = append(p.b, `,"value":[`...)
	p.b = append(p.b, value...)
	p.b = append(p.b, "]}"...)
	return p.b
}
