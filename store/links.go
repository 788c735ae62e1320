package store

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// Links are directed relations between objects of one connector: a group's
// members, an object's memberships, the app roles a service principal grants
// and to whom. Each relation has its own bucket under the connector's
// "l:" bucket; a key is from, 0, to, 0, id (id tells apart several links
// between the same two objects, such as two app role assignments), and a
// value is the generation the link was written in followed by its data.
//
// A relation may be paired with its inverse (members ↔ memberOf,
// appRoleAssignedTo ↔ appRoleAssignments): both are written and deleted
// together, so either side is one prefix scan. The pairing is stored, so
// dropping an object's links also removes them from the other side.

// Link is one relation link as read back.
type Link struct {
	From, To string
	ID       string // distinguishes links between the same two objects ("" if not needed)
	Data     []byte // what the writer attached (a type name, the link object's JSON)
}

// LinkOp changes the links of one object in one relation.
type LinkOp struct {
	Rel     string // relation name, e.g. "members"
	Inverse string // the paired relation, e.g. "memberOf" ("": none)
	From    string
	// FromData is the data of the inverse links (what From is, seen from
	// the other side); the forward links carry each Link's Data.
	FromData []byte
	// Reset drops From's links that were written in an earlier generation
	// before Add is applied: a full listing of From's links arriving in
	// one or more parts of the same generation replaces the old listing.
	Reset bool
	// Replace says Add is From's complete listing: links not in it are
	// deleted, links already stored with the same data are left as they
	// are (nothing is rewritten when nothing changed), the others are
	// written. Remove is ignored.
	Replace bool
	Add     []Link // To, ID and Data of each link (From is ignored)
	Remove  []Link // To and ID of each link to remove
	// DeferInverse writes only the forward side and marks the inverse
	// pending until RebuildInverse: a full listing of a large relation is
	// written in key order once at its end instead of scattering inverse
	// entries over the whole file page by page. Until then the inverse
	// keeps its previous contents (Check tolerates the difference).
	DeferInverse bool
}

const linksBucketName = "l:"

var keyPairs = []byte("pairs") // in the links bucket: rel 0 inverse, for every pair

// pendingKey marks a relation whose inverse waits for RebuildInverse.
func pendingKey(rel string) []byte { return []byte("pending\x00" + rel) }

// linkKey is from 0 to 0 id.
func linkKey(from, to, id string) []byte {
	k := make([]byte, 0, len(from)+len(to)+len(id)+2)
	k = append(k, from...)
	k = append(k, 0)
	k = append(k, to...)
	k = append(k, 0)
	return append(k, id...)
}

func splitLinkKey(k []byte) (from, to, id string, ok bool) {
	a := bytes.IndexByte(k, 0)
	if a < 0 {
		return "", "", "", false
	}
	b := bytes.IndexByte(k[a+1:], 0)
	if b < 0 {
		return "", "", "", false
	}
	return string(k[:a]), string(k[a+1 : a+1+b]), string(k[a+2+b:]), true
}

// A link value is uvarint generation, uvarint length of the data of the
// link's own end (From), that data, then the data of the other end (To).
// Each side of a pair stores both, mirrored, so either can be rebuilt from
// the other.
func linkValue(gen uint64, fromData, data []byte) []byte {
	v := binary.AppendUvarint(make([]byte, 0, len(fromData)+len(data)+8), gen)
	v = binary.AppendUvarint(v, uint64(len(fromData)))
	v = append(v, fromData...)
	return append(v, data...)
}

func splitLinkValue(v []byte) (gen uint64, fromData, data []byte, err error) {
	gen, n := binary.Uvarint(v)
	if n <= 0 {
		return 0, nil, nil, errors.New("bad link value")
	}
	l, m := binary.Uvarint(v[n:])
	if m <= 0 || uint64(len(v)-n-m) < l {
		return 0, nil, nil, errors.New("bad link value")
	}
	start := n + m
	return gen, v[start : start+int(l)], v[start+int(l):], nil
}

// appendMirror appends the inverse of forward value v to b.
func appendMirror(b, v []byte) ([]byte, error) {
	gen, fromData, data, err := splitLinkValue(v)
	if err != nil {
		return b, err
	}
	b = binary.AppendUvarint(b, gen)
	b = binary.AppendUvarint(b, uint64(len(data)))
	b = append(b, data...)
	return append(b, fromData...), nil
}

// linkBuckets are the link buckets of one connector inside a write
// transaction.
type linkBuckets struct {
	root  *bolt.Bucket
	pairs map[string]string // rel → inverse, both ways
	rels  map[string]*bolt.Bucket
	// pend, when not nil, holds the inverse entries to write (del: to
	// delete) until flush, which writes them in key order: the inverse
	// entries of a page arrive in no order, and bbolt inserts into a leaf
	// by shifting what follows, so a large page written as it came cost the
	// square of its size.
	pend map[*bolt.Bucket]map[string]pendingEntry
}

// pendingEntry is an inverse entry waiting for flush.
type pendingEntry struct {
	v   []byte
	del bool
}

// invPut and invDelete write an inverse entry, or note it for flush.
func (l *linkBuckets) invPut(inv *bolt.Bucket, k, v []byte) error {
	if l.pend == nil {
		return inv.Put(k, v)
	}
	l.pendFor(inv)[string(k)] = pendingEntry{v: v}
	return nil
}

func (l *linkBuckets) invDelete(inv *bolt.Bucket, k []byte) error {
	if l.pend == nil {
		return inv.Delete(k)
	}
	l.pendFor(inv)[string(k)] = pendingEntry{del: true}
	return nil
}

func (l *linkBuckets) pendFor(inv *bolt.Bucket) map[string]pendingEntry {
	m := l.pend[inv]
	if m == nil {
		m = map[string]pendingEntry{}
		l.pend[inv] = m
	}
	return m
}

// flush writes the noted inverse entries in key order.
func (l *linkBuckets) flush() error {
	for inv, m := range l.pend {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			e := m[k]
			var err error
			if e.del {
				err = inv.Delete([]byte(k))
			} else {
				err = inv.Put([]byte(k), e.v)
			}
			if err != nil {
				return err
			}
		}
	}
	l.pend = nil
	return nil
}

// openLinks opens the connector's links for writing; create makes the
// bucket if it is missing (else a missing one gives nil, nil).
func openLinks(tx *bolt.Tx, connector string, create bool) (*linkBuckets, error) {
	var root *bolt.Bucket
	if create {
		cb, err := connBucketRW(tx, connector)
		if err != nil {
			return nil, err
		}
		if root, err = cb.CreateBucketIfNotExists([]byte(linksBucketName)); err != nil {
			return nil, fmt.Errorf("links bucket: %w", err)
		}
	} else {
		cb := connBucket(tx, connector)
		if cb == nil {
			return nil, nil
		}
		if root = cb.Bucket([]byte(linksBucketName)); root == nil {
			return nil, nil
		}
	}
	l := &linkBuckets{root: root, pairs: map[string]string{}, rels: map[string]*bolt.Bucket{}}
	for _, p := range bytes.Split(root.Get(keyPairs), []byte{'\n'}) {
		if a, b, ok := bytes.Cut(p, []byte{0}); ok {
			l.pairs[string(a)], l.pairs[string(b)] = string(b), string(a)
		}
	}
	return l, nil
}

func (l *linkBuckets) rel(name string) (*bolt.Bucket, error) {
	if b := l.rels[name]; b != nil {
		return b, nil
	}
	if name == "" || bytes.IndexByte([]byte(name), 0) >= 0 || name == string(keyPairs) {
		return nil, fmt.Errorf("bad relation name %q", name)
	}
	b, err := l.root.CreateBucketIfNotExists([]byte(name))
	if err != nil {
		return nil, fmt.Errorf("relation %s: %w", name, err)
	}
	if err := touch(b); err != nil {
		return nil, fmt.Errorf("relation %s: %w", name, err)
	}
	l.rels[name] = b
	return b, nil
}

// pair records rel ↔ inverse (refusing a relation paired two ways).
func (l *linkBuckets) pair(rel, inverse string) error {
	if inverse == "" {
		if have, ok := l.pairs[rel]; ok {
			return fmt.Errorf("relation %s is paired with %s, written without it", rel, have)
		}
		return nil
	}
	if have, ok := l.pairs[rel]; ok {
		if have != inverse {
			return fmt.Errorf("relation %s is paired with %s, written with %s", rel, have, inverse)
		}
		return nil
	}
	if _, ok := l.pairs[inverse]; ok || rel == inverse {
		return fmt.Errorf("relation %s cannot pair with %s", rel, inverse)
	}
	l.pairs[rel], l.pairs[inverse] = inverse, rel
	v := slices.Clone(l.root.Get(keyPairs))
	if len(v) > 0 {
		v = append(v, '\n')
	}
	v = append(append(append(v, rel...), 0), inverse...)
	return l.root.Put(keyPairs, v)
}

// cmpLinkTarget orders links as their keys sort: by To, then ID (a To
// holds no NUL, so a shorter To sorts first, as its key does).
func cmpLinkTarget(a, b Link) int {
	if c := strings.Compare(a.To, b.To); c != 0 {
		return c
	}
	return strings.Compare(a.ID, b.ID)
}

// sortedByTarget returns links in key order (cmpLinkTarget), links of
// the same target in the order given; links itself if already sorted. (A
// stable sort of the Link values themselves cost a second per million.)
func sortedByTarget(links []Link) []Link {
	if slices.IsSortedFunc(links, cmpLinkTarget) {
		return links
	}
	idx := make([]int32, len(links))
	for i := range idx {
		idx[i] = int32(i)
	}
	slices.SortFunc(idx, func(a, b int32) int {
		if c := cmpLinkTarget(links[a], links[b]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	out := make([]Link, len(links))
	for i, j := range idx {
		out[i] = links[j]
	}
	return out
}

// apply runs one LinkOp stamped with gen.
func (l *linkBuckets) apply(op LinkOp, gen uint64) error {
	if op.From == "" {
		return fmt.Errorf("relation %s: link op with empty from", op.Rel)
	}
	if err := l.pair(op.Rel, op.Inverse); err != nil {
		return err
	}
	fw, err := l.rel(op.Rel)
	if err != nil {
		return err
	}
	var inv *bolt.Bucket
	if op.Inverse != "" {
		if inv, err = l.rel(op.Inverse); err != nil {
			return err
		}
	}
	if op.DeferInverse && inv != nil {
		if l.root.Get(pendingKey(op.Rel)) == nil {
			if err := l.root.Put(pendingKey(op.Rel), []byte{1}); err != nil {
				return err
			}
		}
		inv = nil
	}
	if op.Reset {
		prefix := append([]byte(op.From), 0)
		var stale [][]byte
		c := fw.Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			if g, _, _, err := splitLinkValue(v); err != nil || g != gen {
				stale = append(stale, slices.Clone(k))
			}
		}
		for _, k := range stale {
			if err := l.deleteLink(fw, inv, k); err != nil {
				return err
			}
		}
	}
	if op.Replace {
		return l.replace(op, gen, fw, inv)
	}
	for _, r := range op.Remove {
		if err := l.deleteLink(fw, inv, linkKey(op.From, r.To, r.ID)); err != nil {
			return err
		}
	}
	// Put in key order: bbolt inserts into a leaf by shifting what
	// follows, so unordered inserts into one leaf cost the square of
	// their number (a group's thousands of members arrive unordered).
	add := sortedByTarget(op.Add)
	for _, a := range add {
		if a.To == "" || bytes.IndexByte([]byte(a.To), 0) >= 0 || bytes.IndexByte([]byte(a.ID), 0) >= 0 {
			return fmt.Errorf("relation %s of %q: bad link target %q", op.Rel, op.From, a.To)
		}
		if err := fw.Put(linkKey(op.From, a.To, a.ID), linkValue(gen, op.FromData, a.Data)); err != nil {
			return fmt.Errorf("relation %s: %w", op.Rel, err)
		}
		if inv != nil {
			if err := l.invPut(inv, linkKey(a.To, op.From, a.ID), linkValue(gen, a.Data, op.FromData)); err != nil {
				return fmt.Errorf("relation %s: %w", op.Inverse, err)
			}
		}
	}
	return nil
}

// replace makes From's links exactly op.Add, writing only what differs.
func (l *linkBuckets) replace(op LinkOp, gen uint64, fw, inv *bolt.Bucket) error {
	// The listing and the stored links, both in key order, walked side by
	// side (the listing's last entry wins for a repeated target).
	add := sortedByTarget(op.Add)
	keys := make([][]byte, 0, len(add))
	links := make([]Link, 0, len(add))
	for _, a := range add {
		if a.To == "" || bytes.IndexByte([]byte(a.To), 0) >= 0 || bytes.IndexByte([]byte(a.ID), 0) >= 0 {
			return fmt.Errorf("relation %s of %q: bad link target %q", op.Rel, op.From, a.To)
		}
		k := linkKey(op.From, a.To, a.ID)
		if n := len(keys); n > 0 && bytes.Equal(keys[n-1], k) {
			links[n-1] = a
			continue
		}
		keys, links = append(keys, k), append(links, a)
	}
	prefix := append([]byte(op.From), 0)
	var stale [][]byte
	put := make([]bool, len(keys))
	c := fw.Cursor()
	k, v := c.Seek(prefix)
	for i := 0; ; {
		stored := k != nil && bytes.HasPrefix(k, prefix)
		if !stored && i == len(keys) {
			break
		}
		cmp := 1 // only the listing is left
		switch {
		case stored && i == len(keys):
			cmp = -1
		case stored:
			cmp = bytes.Compare(k, keys[i])
		}
		switch {
		case cmp < 0: // stored, not listed any more
			stale = append(stale, slices.Clone(k))
			k, v = c.Next()
		case cmp > 0: // listed, not stored
			put[i] = true
			i++
		default:
			_, fromData, data, err := splitLinkValue(v)
			put[i] = err != nil || !bytes.Equal(fromData, op.FromData) || !bytes.Equal(data, links[i].Data)
			i++
			k, v = c.Next()
		}
	}
	for _, k := range stale {
		if err := l.deleteLink(fw, inv, k); err != nil {
			return err
		}
	}
	for i, k := range keys {
		if !put[i] {
			continue // stored as it is
		}
		a := links[i]
		if err := fw.Put(k, linkValue(gen, op.FromData, a.Data)); err != nil {
			return fmt.Errorf("relation %s: %w", op.Rel, err)
		}
		if inv != nil {
			if err := l.invPut(inv, linkKey(a.To, op.From, a.ID), linkValue(gen, a.Data, op.FromData)); err != nil {
				return fmt.Errorf("relation %s: %w", op.Inverse, err)
			}
		}
	}
	return nil
}

// deleteLink deletes one forward key and its inverse entry.
func (l *linkBuckets) deleteLink(fw, inv *bolt.Bucket, k []byte) error {
	if err := fw.Delete(k); err != nil {
		return err
	}
	if inv == nil {
		return nil
	}
	from, to, id, ok := splitLinkKey(k)
	if !ok {
		return nil
	}
	return l.invDelete(inv, linkKey(to, from, id))
}

// drop deletes every link of id, in every relation, with the inverse
// entries on the other side.
func (l *linkBuckets) drop(id []byte) error {
	prefix := append(slices.Clone(id), 0)
	var names []string
	if err := l.root.ForEachBucket(func(name []byte) error {
		names = append(names, string(name))
		return nil
	}); err != nil {
		return err
	}
	for _, name := range names {
		if strings.IndexByte(name, 0) >= 0 {
			continue // not a relation (an inverse being rebuilt)
		}
		fw := l.root.Bucket([]byte(name))
		var inv *bolt.Bucket
		if other, ok := l.pairs[name]; ok {
			inv = l.root.Bucket([]byte(other))
		}
		var keys [][]byte
		c := fw.Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			keys = append(keys, slices.Clone(k))
		}
		if len(keys) > 0 {
			if err := touch(fw); err != nil {
				return err
			}
			if inv != nil {
				if err := touch(inv); err != nil {
					return err
				}
			}
		}
		for _, k := range keys {
			if err := l.deleteLink(fw, inv, k); err != nil {
				return err
			}
		}
	}
	return nil
}

// dropLinksOf deletes the links of ids in the connector (no-op if it has
// none).
func dropLinksOf(tx *bolt.Tx, connector string, ids [][]byte) error {
	if len(ids) == 0 {
		return nil
	}
	l, err := openLinks(tx, connector, false)
	if err != nil || l == nil {
		return err
	}
	for _, id := range ids {
		if err := l.drop(id); err != nil {
			return fmt.Errorf("drop links of %q: %w", id, err)
		}
	}
	return nil
}

// WriteLinks applies link operations stamped with gen in one transaction.
func (s *Store) WriteLinks(ctx context.Context, connector string, gen uint64, ops []LinkOp) error {
	what := fmt.Sprintf("write links %s", connector)
	if err := ctxErr(ctx, what); err != nil {
		return err
	}
	err := s.db.Update(func(tx *bolt.Tx) error { return applyLinks(tx, connector, gen, ops) })
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

func applyLinks(tx *bolt.Tx, connector string, gen uint64, ops []LinkOp) error {
	if len(ops) == 0 {
		return nil
	}
	l, err := openLinks(tx, connector, true)
	if err != nil {
		return err
	}
	// Forward keys in key order (see pend): ops sorted by relation and
	// owner (stable: one owner's ops keep their order; ops of different
	// owners never touch the same forward key), each op's targets sorted
	// by apply; inverse entries sorted by flush.
	// Both sides of one relation written in the same page would see each
	// other's entries: then everything is written as it comes.
	rels := map[string]bool{}
	for _, op := range ops {
		rels[op.Rel] = true
	}
	mixed := false
	for _, op := range ops {
		mixed = mixed || op.Inverse != "" && rels[op.Inverse]
	}
	if !mixed {
		if !slices.IsSortedFunc(ops, cmpLinkOwner) {
			ops = slices.Clone(ops)
			slices.SortStableFunc(ops, cmpLinkOwner)
		}
		l.pend = map[*bolt.Bucket]map[string]pendingEntry{}
	}
	for _, op := range ops {
		if err := l.apply(op, gen); err != nil {
			return err
		}
	}
	return l.flush()
}

func cmpLinkOwner(a, b LinkOp) int {
	if c := strings.Compare(a.Rel, b.Rel); c != 0 {
		return c
	}
	return strings.Compare(a.From, b.From)
}

// Links returns the links of from in relation rel, ordered by target.
func (s *Store) Links(ctx context.Context, connector, rel, from string) ([]Link, error) {
	what := fmt.Sprintf("links %s/%s of %q", connector, rel, from)
	if err := ctxErr(ctx, what); err != nil {
		return nil, err
	}
	var out []Link
	err := s.db.View(func(tx *bolt.Tx) error {
		cb := connBucket(tx, connector)
		if cb == nil {
			return nil
		}
		root := cb.Bucket([]byte(linksBucketName))
		if root == nil {
			return nil
		}
		b := root.Bucket([]byte(rel))
		if b == nil {
			return nil
		}
		prefix := append([]byte(from), 0)
		c := b.Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			f, to, id, ok := splitLinkKey(k)
			if !ok {
				return fmt.Errorf("bad link key %q", k)
			}
			_, _, data, err := splitLinkValue(v)
			if err != nil {
				return fmt.Errorf("link %s→%s: %w", f, to, err)
			}
			out = append(out, Link{From: f, To: to, ID: id, Data: slices.Clone(data)})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}

// EachLink calls fn for every link of rel in key order (from, then to).
func (s *Store) EachLink(ctx context.Context, connector, rel string, fn func(Link) error) error {
	what := fmt.Sprintf("links %s/%s", connector, rel)
	return s.db.View(func(tx *bolt.Tx) error {
		cb := connBucket(tx, connector)
		if cb == nil {
			return nil
		}
		root := cb.Bucket([]byte(linksBucketName))
		if root == nil {
			return nil
		}
		b := root.Bucket([]byte(rel))
		if b == nil {
			return nil
		}
		n := 0
		return b.ForEach(func(k, v []byte) error {
			if n++; n%4096 == 0 {
				if err := ctxErr(ctx, what); err != nil {
					return err
				}
			}
			f, to, id, ok := splitLinkKey(k)
			if !ok {
				return fmt.Errorf("%s: bad link key %q", what, k)
			}
			_, _, data, err := splitLinkValue(v)
			if err != nil {
				return fmt.Errorf("%s: link %s→%s: %w", what, f, to, err)
			}
			return fn(Link{From: f, To: to, ID: id, Data: data})
		})
	})
}

// checkLinks verifies that every paired link has its inverse.
func checkLinks(tx *bolt.Tx, connector string) error {
	l, err := openLinks(tx, connector, false)
	if err != nil || l == nil {
		return err
	}
	for rel, inverse := range l.pairs {
		if l.root.Get(pendingKey(rel)) != nil || l.root.Get(pendingKey(inverse)) != nil {
			continue // a full listing in progress: the inverse is rebuilt at its end
		}
		fw, inv := l.root.Bucket([]byte(rel)), l.root.Bucket([]byte(inverse))
		if fw == nil {
			continue
		}
		err := fw.ForEach(func(k, _ []byte) error {
			from, to, id, ok := splitLinkKey(k)
			if !ok {
				return fmt.Errorf("relation %s: bad key %q", rel, k)
			}
			if inv == nil || inv.Get(linkKey(to, from, id)) == nil {
				return fmt.Errorf("relation %s: link %s→%s has no %s entry", rel, from, to, inverse)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// touch counts a write to a relation bucket in its sequence, which
// RebuildInverse compares to know that nobody wrote the relation while it
// read and rebuilt it. (Counted once per relation opened for writing in a
// transaction, or more: only a change of the number matters.)
func touch(b *bolt.Bucket) error {
	return b.SetSequence(b.Sequence() + 1)
}

// rebuildSide is the bucket, inside the links bucket, under which
// RebuildInverse builds a new inverse before it takes the old one's place.
func rebuildSide(inverse string) []byte { return []byte("rebuild\x00" + inverse) }

// rebuildChunk is how many inverse entries one RebuildInverse transaction
// puts (a variable for tests).
var rebuildChunk = 200_000

// afterInverseRead, if set (by tests), runs once RebuildInverse has read
// the relation.
var afterInverseRead func()

// RebuildInverse rewrites the inverse of rel from rel's links, in key
// order, and clears rel's pending mark (see LinkOp.DeferInverse). It does
// nothing if rel is not pending.
//
// It reads rel in one snapshot, builds the new inverse beside the old one
// (rebuildSide) in transactions of rebuildChunk entries — bbolt splits a
// bucket's pages only at commit, so one transaction of a million entries
// held them all in one growing node — and swaps it in with the pending
// mark cleared in a last transaction, which also checks that neither side
// of the relation was written meanwhile (their sequences); if one was, the
// inverse is rebuilt in one transaction instead. Until the swap, readers
// see the old inverse; a crash leaves the pending mark, and the side
// bucket, which the next rebuild drops.
func (s *Store) RebuildInverse(ctx context.Context, connector, rel string) error {
	what := fmt.Sprintf("rebuild inverse of %s/%s", connector, rel)
	if err := ctxErr(ctx, what); err != nil {
		return err
	}
	var (
		inverse       string
		pending       bool
		seqFw, seqInv uint64
		entries       invEntries
	)
	err := s.db.View(func(tx *bolt.Tx) error {
		l, err := openLinks(tx, connector, false)
		if err != nil || l == nil || l.root.Get(pendingKey(rel)) == nil {
			return err
		}
		pending = true
		var ok bool
		if inverse, ok = l.pairs[rel]; !ok {
			return nil
		}
		if inv := l.root.Bucket([]byte(inverse)); inv != nil {
			seqInv = inv.Sequence()
		}
		if fw := l.root.Bucket([]byte(rel)); fw != nil {
			seqFw = fw.Sequence()
			return entries.collect(ctx, fw, rel)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if !pending {
		return nil
	}
	if afterInverseRead != nil {
		afterInverseRead()
	}
	if inverse == "" {
		return s.rebuildInverseInOneTx(ctx, what, connector, rel)
	}
	entries.sort()

	side := rebuildSide(inverse)
	err = s.db.Update(func(tx *bolt.Tx) error {
		l, err := openLinks(tx, connector, false)
		if err != nil || l == nil {
			return err
		}
		if l.root.Bucket(side) != nil {
			if err := l.root.DeleteBucket(side); err != nil {
				return err
			}
		}
		sb, err := l.root.CreateBucket(side)
		if err != nil {
			return err
		}
		_, err = sb.CreateBucket([]byte(inverse))
		return err
	})
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	for start := 0; start < len(entries.e); start += rebuildChunk {
		err := s.db.Update(func(tx *bolt.Tx) error {
			l, err := openLinks(tx, connector, false)
			if err != nil || l == nil || l.root.Bucket(side) == nil {
				return fmt.Errorf("links bucket changed under the rebuild (%v)", err)
			}
			return entries.put(ctx, l.root.Bucket(side).Bucket([]byte(inverse)), start, min(start+rebuildChunk, len(entries.e)))
		})
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		s.trimMap()
	}
	swapped := false
	err = s.db.Update(func(tx *bolt.Tx) error {
		l, err := openLinks(tx, connector, false)
		if err != nil || l == nil {
			return fmt.Errorf("links bucket gone (%v)", err)
		}
		sb := l.root.Bucket(side)
		var fwSeq, invSeq uint64
		if fw := l.root.Bucket([]byte(rel)); fw != nil {
			fwSeq = fw.Sequence()
		}
		if inv := l.root.Bucket([]byte(inverse)); inv != nil {
			invSeq = inv.Sequence()
		}
		if l.root.Get(pendingKey(rel)) == nil || fwSeq != seqFw || invSeq != seqInv || sb == nil {
			// Written meanwhile: drop the side bucket.
			if sb != nil {
				return l.root.DeleteBucket(side)
			}
			return nil
		}
		if l.root.Bucket([]byte(inverse)) != nil {
			if err := l.root.DeleteBucket([]byte(inverse)); err != nil {
				return err
			}
		}
		if err := tx.MoveBucket([]byte(inverse), sb, l.root); err != nil {
			return err
		}
		if err := l.root.DeleteBucket(side); err != nil {
			return err
		}
		swapped = true
		return l.root.Delete(pendingKey(rel))
	})
	s.trimMap()
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if !swapped {
		return s.rebuildInverseInOneTx(ctx, what, connector, rel)
	}
	return nil
}

// invEntries are the inverse entries of a relation: each key and value
// written one after the other into large blocks (a million small
// allocations, or one buffer grown by copying, cost more than the
// rebuild's writes).
type invEntries struct {
	blocks [][]byte
	e      []invEntry
}

// invEntry is one entry: block, offset, key and value lengths.
type invEntry struct{ blk, off, klen, vlen int32 }

// invBlock is the size of an invEntries block.
const invBlock = 4 << 20

func (x *invEntries) key(e invEntry) []byte {
	return x.blocks[e.blk][e.off : e.off+e.klen]
}

func (x *invEntries) value(e invEntry) []byte {
	return x.blocks[e.blk][e.off+e.klen : e.off+e.klen+e.vlen]
}

// collect reads every link of relation bucket fw (rel) as its inverse
// entry.
func (x *invEntries) collect(ctx context.Context, fw *bolt.Bucket, rel string) error {
	n := 0
	return fw.ForEach(func(k, v []byte) error {
		if n++; n%65536 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		from, to, id, ok := splitLinkKey(k)
		if !ok {
			return fmt.Errorf("relation %s: bad key %q", rel, k)
		}
		// The inverse key and value are as long as the forward ones.
		if need := len(k) + len(v); len(x.blocks) == 0 || cap(x.blocks[len(x.blocks)-1])-len(x.blocks[len(x.blocks)-1]) < need {
			x.blocks = append(x.blocks, make([]byte, 0, max(invBlock, need)))
		}
		b := x.blocks[len(x.blocks)-1]
		e := invEntry{blk: int32(len(x.blocks) - 1), off: int32(len(b))}
		b = append(append(append(append(append(b, to...), 0), from...), 0), id...)
		e.klen = int32(len(b)) - e.off
		var err error
		if b, err = appendMirror(b, v); err != nil {
			return fmt.Errorf("relation %s: link %s→%s: %w", rel, from, to, err)
		}
		e.vlen = int32(len(b)) - e.off - e.klen
		x.blocks[len(x.blocks)-1] = b
		x.e = append(x.e, e)
		return nil
	})
}

// sort puts the entries in key order.
func (x *invEntries) sort() {
	slices.SortFunc(x.e, func(a, b invEntry) int { return bytes.Compare(x.key(a), x.key(b)) })
}

// put writes entries from up to to (sorted) into b.
func (x *invEntries) put(ctx context.Context, b *bolt.Bucket, from, to int) error {
	b.FillPercent = 0.9 // appended in order: pack the pages
	for i, e := range x.e[from:to] {
		if i%65536 == 65535 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if err := b.Put(x.key(e), x.value(e)); err != nil {
			return err
		}
	}
	return nil
}

// rebuildInverseInOneTx is RebuildInverse in one transaction: what it
// falls back to when the relation was written while it rebuilt.
func (s *Store) rebuildInverseInOneTx(ctx context.Context, what, connector, rel string) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		l, err := openLinks(tx, connector, false)
		if err != nil || l == nil || l.root.Get(pendingKey(rel)) == nil {
			return err
		}
		inverse, ok := l.pairs[rel]
		if !ok {
			return l.root.Delete(pendingKey(rel))
		}
		if l.root.Bucket(rebuildSide(inverse)) != nil {
			if err := l.root.DeleteBucket(rebuildSide(inverse)); err != nil {
				return err
			}
		}
		var entries invEntries
		if fw := l.root.Bucket([]byte(rel)); fw != nil {
			if err := entries.collect(ctx, fw, rel); err != nil {
				return err
			}
		}
		entries.sort()
		if l.root.Bucket([]byte(inverse)) != nil {
			if err := l.root.DeleteBucket([]byte(inverse)); err != nil {
				return err
			}
		}
		inv, err := l.root.CreateBucket([]byte(inverse))
		if err != nil {
			return err
		}
		if err := entries.put(ctx, inv, 0, len(entries.e)); err != nil {
			return err
		}
		return l.root.Delete(pendingKey(rel))
	})
	s.trimMap()
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}
