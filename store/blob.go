package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// Record bodies written once.
//
// A staged first pull (see Staged loading) appends every record's raw
// bytes to the type's blob bucket as its page arrives, and the merge only
// points each record at its blob (recref) instead of copying the bytes into
// rec: the largest part of a record is written once, in arrival order.
// Records written any other way (a delta, PutRecord, a merge into a type
// that already had records) keep their bytes in rec as before; putting or
// removing a record whose bytes are a blob deletes that blob.
//
// Inside the type bucket (schema version 3):
//
//	blob    uint64 BE -> raw bytes (keys ascending in arrival order)
//	recref  id -> uint64 BE blob key; an id is in rec or in recref, never
//	        both
//
// A blob is referenced by exactly one recref entry, or by a put in the
// stage while a staged pull is unmerged; Check verifies both directions.
var (
	bucketBlob   = []byte("blob")
	bucketRecRef = []byte("recref")
)

// errMissingBlob: a recref entry points at a blob that is not there.
var errMissingBlob = errors.New("record body missing (its blob is gone)")

// raw returns a record's raw bytes (valid until the transaction ends or
// the buckets change), or nil if it has none.
func (t *typeBuckets) raw(id []byte) []byte {
	if v := t.rec.Get(id); v != nil {
		return v
	}
	if t.recref == nil || t.blob == nil {
		return nil
	}
	ref := t.recref.Get(id)
	if len(ref) != 8 {
		return nil
	}
	return t.blob.Get(ref)
}

// hasRaw reports whether id has raw bytes stored (in rec or as a ref).
func (t *typeBuckets) hasRaw(id []byte) bool {
	return t.rec.Get(id) != nil || t.recref != nil && t.recref.Get(id) != nil
}

// putRaw stores a record's raw bytes in rec, dropping a blob it had.
func (t *typeBuckets) putRaw(id, raw []byte) error {
	if err := t.dropRef(id, 0); err != nil {
		return err
	}
	return t.rec.Put(id, raw)
}

// putRef points a record at blob key, dropping the bytes it had in rec and
// any other blob it had.
func (t *typeBuckets) putRef(tb *bolt.Bucket, id []byte, key uint64) error {
	if err := t.refBuckets(tb); err != nil {
		return err
	}
	if err := t.dropRef(id, key); err != nil {
		return err
	}
	if t.rec.Get(id) != nil {
		if err := t.rec.Delete(id); err != nil {
			return err
		}
	}
	return t.recref.Put(id, u64(key))
}

// refBuckets opens the recref bucket, creating it if need be (in a write
// transaction), and the blob bucket if there is one.
func (t *typeBuckets) refBuckets(tb *bolt.Bucket) error {
	if t.recref == nil {
		var err error
		if t.recref, err = tb.CreateBucketIfNotExists(bucketRecRef); err != nil {
			return err
		}
	}
	if t.blob == nil {
		t.blob = tb.Bucket(bucketBlob)
	}
	return nil
}

// deleteRaw deletes a record's raw bytes, wherever they are.
func (t *typeBuckets) deleteRaw(id []byte) error {
	if err := t.dropRef(id, 0); err != nil {
		return err
	}
	return t.rec.Delete(id)
}

// dropRef deletes id's recref entry and its blob, unless it points at keep.
func (t *typeBuckets) dropRef(id []byte, keep uint64) error {
	if t.recref == nil {
		return nil
	}
	ref := t.recref.Get(id)
	if ref == nil {
		return nil
	}
	if len(ref) == 8 && binary.BigEndian.Uint64(ref) == keep {
		return nil
	}
	if t.blob != nil && len(ref) == 8 {
		if err := t.blob.Delete(ref); err != nil {
			return err
		}
	}
	return t.recref.Delete(id)
}

// appendBlobs appends raws to a type's blob bucket and returns their keys.
func appendBlobs(tb *bolt.Bucket, raws [][]byte) ([]uint64, error) {
	bb, err := tb.CreateBucketIfNotExists(bucketBlob)
	if err != nil {
		return nil, err
	}
	bb.FillPercent = 1 // appended in key order: pack pages full
	next := uint64(1)
	if k, _ := bb.Cursor().Last(); len(k) == 8 {
		next = binary.BigEndian.Uint64(k) + 1
	}
	keys := make([]uint64, len(raws))
	for i, raw := range raws {
		keys[i] = next
		if err := bb.Put(u64(next), raw); err != nil {
			return nil, err
		}
		next++
	}
	return keys, nil
}

// checkBlobs verifies a type's recref and blob buckets: every ref has its
// row (rows are checked against their bytes elsewhere), no id is in both
// rec and recref, and every blob is referenced by a ref or by a staged put.
// It returns how many refs there are.
func checkBlobs(tb *bolt.Bucket, t *typeBuckets, tick func() error) (int, error) {
	var used []uint64
	refs := 0
	if t.recref != nil {
		c := t.recref.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if err := tick(); err != nil {
				return 0, err
			}
			if len(v) != 8 {
				return 0, fmt.Errorf("record %q: malformed blob reference %x", k, v)
			}
			if t.row.Get(k) == nil {
				return 0, fmt.Errorf("record %q has a blob reference but no row", k)
			}
			if t.rec.Get(k) != nil {
				return 0, fmt.Errorf("record %q has both raw bytes and a blob reference", k)
			}
			if t.blob == nil || t.blob.Get(v) == nil {
				return 0, fmt.Errorf("record %q: %w (blob %d)", k, errMissingBlob, binary.BigEndian.Uint64(v))
			}
			refs++
			used = append(used, binary.BigEndian.Uint64(v))
		}
	}
	if sb := tb.Bucket(bucketStage); sb != nil {
		c := sb.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			e, err := decodeStaged(v)
			if err != nil {
				return 0, fmt.Errorf("staged entry %x: %w", k, err)
			}
			if e.op != stageBlobPut {
				continue
			}
			if t.blob == nil || t.blob.Get(u64(e.blob)) == nil {
				return 0, fmt.Errorf("staged record %q: %w (blob %d)", e.id, errMissingBlob, e.blob)
			}
			used = append(used, e.blob)
		}
	}
	if t.blob == nil {
		return refs, nil
	}
	slices.Sort(used)
	c := t.blob.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		if err := tick(); err != nil {
			return 0, err
		}
		if len(k) != 8 {
			return 0, fmt.Errorf("malformed blob key %x", k)
		}
		if _, ok := slices.BinarySearch(used, binary.BigEndian.Uint64(k)); !ok {
			return 0, fmt.Errorf("blob %d is referenced by no record", binary.BigEndian.Uint64(k))
		}
	}
	return refs, nil
}
