package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// PutConnector creates or replaces the configuration of connector c.Name.
// It is stored exactly as given (the caller sets CreatedAt/UpdatedAt).
func (s *Store) PutConnector(ctx context.Context, c Connector) error {
	if c.Name == "" {
		return errors.New("put connector: empty name")
	}
	if err := ctxErr(ctx, "put connector "+c.Name); err != nil {
		return err
	}
	v, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("put connector %q: %w", c.Name, err)
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketConnectors)
		if err != nil {
			return err
		}
		return b.Put([]byte(c.Name), v)
	})
	if err != nil {
		return fmt.Errorf("put connector %q: %w", c.Name, err)
	}
	return nil
}

// Connector returns the configuration of the named connector, or an error
// wrapping ErrNotFound.
func (s *Store) Connector(ctx context.Context, name string) (Connector, error) {
	var c Connector
	if err := ctxErr(ctx, "connector "+name); err != nil {
		return c, err
	}
	var found bool
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketConnectors)
		if b == nil {
			return nil
		}
		v := b.Get([]byte(name))
		if v == nil {
			return nil
		}
		found = true
		return json.Unmarshal(v, &c) // Unmarshal copies out of the tx
	})
	if err != nil {
		return Connector{}, fmt.Errorf("connector %q: %w", name, err)
	}
	if !found {
		return Connector{}, fmt.Errorf("connector %q: %w", name, ErrNotFound)
	}
	return c, nil
}

// Connectors returns every configured connector, sorted by name.
func (s *Store) Connectors(ctx context.Context) ([]Connector, error) {
	if err := ctxErr(ctx, "list connectors"); err != nil {
		return nil, err
	}
	var out []Connector
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketConnectors)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			var c Connector
			if err := json.Unmarshal(v, &c); err != nil {
				return fmt.Errorf("connector %q: %w", k, err)
			}
			out = append(out, c)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list connectors: %w", err)
	}
	return out, nil
}

// DeleteConnector removes a connector's configuration together with all its
// records, stream states and runs, in one transaction. It returns an error
// wrapping ErrNotFound if there was neither configuration nor data.
func (s *Store) DeleteConnector(ctx context.Context, name string) error {
	if err := ctxErr(ctx, "delete connector "+name); err != nil {
		return err
	}
	var found bool
	err := s.db.Update(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketConnectors); b != nil && b.Get([]byte(name)) != nil {
			found = true
			if err := b.Delete([]byte(name)); err != nil {
				return err
			}
		}
		if connBucket(tx, name) != nil {
			found = true
			if err := tx.DeleteBucket([]byte(connectorPrefix + name)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete connector %q: %w", name, err)
	}
	s.anchors.dropConnector(name)
	if !found {
		return fmt.Errorf("delete connector %q: %w", name, ErrNotFound)
	}
	return nil
}

// BeginRun records the start of a sync run: it assigns r.ID (increasing per
// connector) and stores r. It returns r with its ID.
func (s *Store) BeginRun(ctx context.Context, r Run) (Run, error) {
	if r.Connector == "" {
		return r, errors.New("begin run: empty connector")
	}
	if err := ctxErr(ctx, "begin run"); err != nil {
		return r, err
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		cb, err := connBucketRW(tx, r.Connector)
		if err != nil {
			return err
		}
		rb, err := cb.CreateBucketIfNotExists(bucketRuns)
		if err != nil {
			return err
		}
		id, err := rb.NextSequence()
		if err != nil {
			return err
		}
		r.ID = id
		v, err := json.Marshal(r)
		if err != nil {
			return err
		}
		return rb.Put(u64(id), v)
	})
	if err != nil {
		return r, fmt.Errorf("begin run of %q: %w", r.Connector, err)
	}
	return r, nil
}

// FinishRun overwrites the stored run with the same connector and ID. The run
// must have been started with BeginRun (else ErrNotFound).
func (s *Store) FinishRun(ctx context.Context, r Run) error {
	if err := ctxErr(ctx, "finish run"); err != nil {
		return err
	}
	v, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("finish run %d of %q: %w", r.ID, r.Connector, err)
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		var rb *bolt.Bucket
		if cb := connBucket(tx, r.Connector); cb != nil {
			rb = cb.Bucket(bucketRuns)
		}
		key := u64(r.ID)
		if rb == nil || rb.Get(key) == nil {
			return ErrNotFound
		}
		return rb.Put(key, v)
	})
	if err != nil {
		return fmt.Errorf("finish run %d of %q: %w", r.ID, r.Connector, err)
	}
	return nil
}

// Runs returns the connector's runs, newest first; at most limit of them
// unless limit <= 0.
func (s *Store) Runs(ctx context.Context, connector string, limit int) ([]Run, error) {
	if err := ctxErr(ctx, "list runs"); err != nil {
		return nil, err
	}
	var out []Run
	err := s.db.View(func(tx *bolt.Tx) error {
		cb := connBucket(tx, connector)
		if cb == nil {
			return nil
		}
		rb := cb.Bucket(bucketRuns)
		if rb == nil {
			return nil
		}
		c := rb.Cursor()
		for k, v := c.Last(); k != nil && (limit <= 0 || len(out) < limit); k, v = c.Prev() {
			var r Run
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("run %x: %w", k, err)
			}
			out = append(out, r)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list runs of %q: %w", connector, err)
	}
	return out, nil
}

// StreamState returns the stored state of a stream, or the zero value if the
// stream has none yet.
func (s *Store) StreamState(ctx context.Context, connector, stream string) (StreamState, error) {
	var st StreamState
	if err := ctxErr(ctx, "stream state"); err != nil {
		return st, err
	}
	err := s.db.View(func(tx *bolt.Tx) error {
		cb := connBucket(tx, connector)
		if cb == nil {
			return nil
		}
		sb := cb.Bucket(bucketStreams)
		if sb == nil {
			return nil
		}
		if v := sb.Get([]byte(stream)); v != nil {
			return json.Unmarshal(v, &st)
		}
		return nil
	})
	if err != nil {
		return StreamState{}, fmt.Errorf("stream state %s/%s: %w", connector, stream, err)
	}
	return st, nil
}

// PutStreamState stores the state of a stream on its own (WritePage and
// Sweep store it together with the records they write).
func (s *Store) PutStreamState(ctx context.Context, connector, stream string, st StreamState) error {
	if connector == "" || stream == "" {
		return fmt.Errorf("put stream state %q/%q: empty connector or stream", connector, stream)
	}
	if err := ctxErr(ctx, "put stream state"); err != nil {
		return err
	}
	v, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("put stream state %s/%s: %w", connector, stream, err)
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		return putStream(tx, connector, stream, v)
	})
	if err != nil {
		return fmt.Errorf("put stream state %s/%s: %w", connector, stream, err)
	}
	return nil
}

// putStream writes an encoded stream state inside a write transaction.
func putStream(tx *bolt.Tx, connector, stream string, v []byte) error {
	cb, err := connBucketRW(tx, connector)
	if err != nil {
		return err
	}
	sb, err := cb.CreateBucketIfNotExists(bucketStreams)
	if err != nil {
		return err
	}
	return sb.Put([]byte(stream), v)
}
