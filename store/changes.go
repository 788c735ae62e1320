package store

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	bolt "go.etcd.io/bbolt"
)

// Change sets: what each sync run added, changed and removed, per record
// type, as record ids. They live in the connector's "x:changes" bucket, one
// nested bucket per run (key: the run id, uint64 big-endian) holding one
// JSON ChangeSet per type, apart from the record ("t:") and link ("l:")
// buckets, which Types, Check and the migrations walk by their prefixes.
// Only ids are kept: the records themselves are in their type buckets (or
// gone, when a later run deleted them).

const changesBucketName = "x:changes"

// ChangeSet is what one run changed in one record type. Records that a
// write found identical to the stored ones are not part of it.
type ChangeSet struct {
	Added   []string `json:"added,omitempty"`
	Changed []string `json:"changed,omitempty"` // restored records included
	Removed []string `json:"removed,omitempty"` // deleted or marked removed
	// Initial marks the first full pull of a type into an empty store:
	// every record it wrote was added, so only their number is kept in
	// InitialAdded, and Added is empty. (A first pull of 111,207 Entra ID
	// users would otherwise store four megabytes of ids per run that say
	// no more than "everything".)
	Initial      bool `json:"initial,omitempty"`
	InitialAdded int  `json:"initialAdded,omitempty"`
}

// Len is the number of records the change set covers.
func (cs ChangeSet) Len() int {
	return len(cs.Added) + len(cs.Changed) + len(cs.Removed) + cs.InitialAdded
}

// PutChanges stores the change sets of one run of the connector, by record
// type, in one transaction; it replaces any the run had. An empty map still
// records the run (a run that changed nothing), so retention counts it.
func (s *Store) PutChanges(ctx context.Context, connector string, runID uint64, sets map[string]ChangeSet) error {
	what := fmt.Sprintf("put changes of run %d of %q", runID, connector)
	if connector == "" || runID == 0 {
		return fmt.Errorf("%s: empty connector or run id", what)
	}
	if err := ctxErr(ctx, what); err != nil {
		return err
	}
	enc := make(map[string][]byte, len(sets))
	for typ, cs := range sets {
		if typ == "" {
			return fmt.Errorf("%s: empty type", what)
		}
		v, err := json.Marshal(cs)
		if err != nil {
			return fmt.Errorf("%s: %s: %w", what, typ, err)
		}
		enc[typ] = v
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		cb, err := connBucketRW(tx, connector)
		if err != nil {
			return err
		}
		xb, err := cb.CreateBucketIfNotExists([]byte(changesBucketName))
		if err != nil {
			return fmt.Errorf("changes bucket: %w", err)
		}
		key := u64(runID)
		if xb.Bucket(key) != nil {
			if err := xb.DeleteBucket(key); err != nil {
				return err
			}
		}
		rb, err := xb.CreateBucket(key)
		if err != nil {
			return err
		}
		for typ, v := range enc {
			if err := rb.Put([]byte(typ), v); err != nil {
				return fmt.Errorf("%s: %w", typ, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// Changes returns the change sets of one run of the connector by record
// type, or an error wrapping ErrNotFound if the run has none (it never
// finished a stream, or its change sets were pruned).
func (s *Store) Changes(ctx context.Context, connector string, runID uint64) (map[string]ChangeSet, error) {
	what := fmt.Sprintf("changes of run %d of %q", runID, connector)
	if err := ctxErr(ctx, what); err != nil {
		return nil, err
	}
	var out map[string]ChangeSet
	err := s.db.View(func(tx *bolt.Tx) error {
		xb := changesBucket(tx, connector)
		if xb == nil {
			return ErrNotFound
		}
		rb := xb.Bucket(u64(runID))
		if rb == nil {
			return ErrNotFound
		}
		out = map[string]ChangeSet{}
		return rb.ForEach(func(k, v []byte) error {
			var cs ChangeSet
			if err := json.Unmarshal(v, &cs); err != nil { // copies out of the tx
				return fmt.Errorf("type %q: %w", k, err)
			}
			out[string(k)] = cs
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}

// ChangeRuns returns the ids of the connector's runs that have change sets,
// newest first.
func (s *Store) ChangeRuns(ctx context.Context, connector string) ([]uint64, error) {
	what := fmt.Sprintf("change runs of %q", connector)
	if err := ctxErr(ctx, what); err != nil {
		return nil, err
	}
	var out []uint64
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		out, err = changeRunIDs(changesBucket(tx, connector))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}

// PruneChanges deletes the change sets of all but the connector's newest
// keep runs (keep < 0 counts as 0) and returns how many runs lost theirs.
func (s *Store) PruneChanges(ctx context.Context, connector string, keep int) (int, error) {
	what := fmt.Sprintf("prune changes of %q", connector)
	if err := ctxErr(ctx, what); err != nil {
		return 0, err
	}
	pruned := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		pruned = 0
		xb := changesBucket(tx, connector)
		ids, err := changeRunIDs(xb)
		if err != nil || len(ids) <= max(keep, 0) {
			return err
		}
		for _, id := range ids[max(keep, 0):] {
			if err := xb.DeleteBucket(u64(id)); err != nil {
				return fmt.Errorf("run %d: %w", id, err)
			}
			pruned++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	return pruned, nil
}

// changesBucket returns the connector's change-set bucket, or nil.
func changesBucket(tx *bolt.Tx, connector string) *bolt.Bucket {
	cb := connBucket(tx, connector)
	if cb == nil {
		return nil
	}
	return cb.Bucket([]byte(changesBucketName))
}

// changeRunIDs lists the run ids of a change-set bucket (nil: none),
// newest first.
func changeRunIDs(xb *bolt.Bucket) ([]uint64, error) {
	if xb == nil {
		return nil, nil
	}
	var ids []uint64
	err := xb.ForEach(func(k, v []byte) error {
		if v != nil || len(k) != 8 {
			return fmt.Errorf("%w: unexpected key %q in the changes bucket", errBadChanges, k)
		}
		ids = append(ids, binary.BigEndian.Uint64(k))
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Keys are big-endian, so ForEach gave them oldest first.
	sort.Slice(ids, func(i, j int) bool { return ids[i] > ids[j] })
	return ids, nil
}

// errBadChanges reports a damaged change-set bucket.
var errBadChanges = errors.New("malformed change sets")
