package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"time"

	bolt "go.etcd.io/bbolt"
)

// compactTxMaxSize is how many key and value bytes Compact copies per
// transaction of the new file, so memory stays bounded whatever the store.
const compactTxMaxSize = 64 << 20

// compactCheckEvery is how many keys Compact copies between context checks.
const compactCheckEvery = 4096

// Compact rewrites the store at path into a new file next to it, without the
// free pages bbolt keeps after deletions and with full pages, fsyncs it and
// renames it over the original, keeping the original's file mode. It holds
// the store's exclusive lock from start to end, so it is refused with
// ErrLocked while another process has the store open, and nothing can write
// the store while it runs. The store is opened as Open does first, so a file
// that is not a qtc store is refused with ErrNotStore, and an older schema
// is migrated. On any failure (disk full, ctx cancelled, a damaged page
// found while copying) the new file is removed and the original is left as
// it was. before and after are the file's sizes in bytes.
func Compact(ctx context.Context, path string, opt Options) (before, after int64, err error) {
	if opt.ReadOnly {
		return 0, 0, fmt.Errorf("compact store %s: cannot compact a store opened read-only", path)
	}
	if _, err := os.Stat(path); err != nil {
		// Open would create a missing store; there is nothing to compact.
		return 0, 0, fmt.Errorf("compact store: %w", err)
	}
	s, err := OpenContext(ctx, path, opt)
	if err != nil {
		return 0, 0, err
	}
	defer func() {
		if cerr := s.closeAsIs(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	info, err := os.Stat(path)
	if err != nil {
		return 0, 0, fmt.Errorf("compact store: %w", err)
	}
	before = info.Size()

	tmp, err := compactInto(ctx, s, path, info)
	if err != nil {
		return before, 0, fmt.Errorf("compact store %s (left unchanged): %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return before, 0, fmt.Errorf("compact store %s (left unchanged): replace it: %w", path, err)
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return before, 0, fmt.Errorf("compact store %s: the compacted file is in place but its directory was not synced: %w", path, err)
	}
	ninfo, err := os.Stat(path)
	if err != nil {
		return before, 0, fmt.Errorf("compact store: %w", err)
	}
	return before, ninfo.Size(), nil
}

// compactInto copies s into a new temporary file in path's directory and
// makes it durable; it returns the file's name. On failure the file is
// removed.
func compactInto(ctx context.Context, s *Store, path string, info os.FileInfo) (tmp string, err error) {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".compact-*")
	if err != nil {
		return "", fmt.Errorf("create the new file: %w", err)
	}
	tmp = f.Name()
	defer func() {
		if err != nil {
			_ = os.Remove(tmp)
		}
	}()
	if err := f.Close(); err != nil {
		return tmp, fmt.Errorf("create the new file: %w", err)
	}
	if err := os.Chmod(tmp, info.Mode().Perm()); err != nil {
		return tmp, fmt.Errorf("new file: %w", err)
	}
	dst, err := bolt.Open(tmp, info.Mode().Perm(), &bolt.Options{
		Timeout:        time.Second, // a file of our own: nobody else holds its lock
		FreelistType:   bolt.FreelistMapType,
		NoFreelistSync: true,
		NoSync:         true, // one fsync at the end instead of two per commit
	})
	if err != nil {
		return tmp, fmt.Errorf("open the new file: %w", err)
	}
	if err := compactCopy(ctx, dst, s.db, compactTxMaxSize); err != nil {
		_ = dst.Close()
		return tmp, err
	}
	if err := dst.Sync(); err != nil {
		_ = dst.Close()
		return tmp, fmt.Errorf("sync the new file: %w", err)
	}
	if err := dst.Close(); err != nil {
		return tmp, fmt.Errorf("close the new file: %w", err)
	}
	// bbolt grows a file ahead of its pages (to a power of two, or by 16
	// MiB); the pages past the last one in use hold nothing.
	used, err := boltUsedSize(tmp)
	if err != nil {
		return tmp, fmt.Errorf("the new file: %w", err)
	}
	if err := os.Truncate(tmp, used); err != nil {
		return tmp, fmt.Errorf("trim the new file: %w", err)
	}
	if err := syncFile(tmp); err != nil {
		return tmp, fmt.Errorf("sync the new file: %w", err)
	}
	if reason := checkBoltFile(tmp, used); reason != "" {
		return tmp, fmt.Errorf("the new file is not a valid bbolt database: %s", reason)
	}
	return tmp, ctx.Err()
}

// boltUsedSize returns the bytes of the bbolt file at path that its newest
// meta page says are in use: its high-water page count times the page size.
func boltUsedSize(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	page := make([]byte, 4096)
	n, err := f.ReadAt(page, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return 0, err
	}
	best, ok := parseBoltMeta(page[:n])
	if !ok {
		return 0, errors.New("no valid meta page")
	}
	n, err = f.ReadAt(page, int64(best.pageSize))
	if err != nil && !errors.Is(err, io.EOF) {
		return 0, err
	}
	if m1, ok := parseBoltMeta(page[:n]); ok && m1.txid > best.txid {
		best = m1
	}
	return int64(best.pgid) * int64(best.pageSize), nil
}

// compactCopy copies every bucket, key, value and bucket sequence of src
// into the empty dst, committing about every txMaxSize bytes, filling pages
// completely (what bolt.Compact does, with ctx checked as it goes). A panic
// of bbolt on a damaged page of src is returned as an error naming
// ErrNotStore.
func compactCopy(ctx context.Context, dst, src *bolt.DB, txMaxSize int64) (err error) {
	tx, err := dst.Begin(true)
	if err != nil {
		return fmt.Errorf("new file: %w", err)
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the store is %w (damaged bbolt database: %v); move it away or pass --db", ErrNotStore, r)
		}
		if tx != nil {
			_ = tx.Rollback()
		}
	}()
	var size int64
	keys := 0
	put := func(path [][]byte, k, v []byte, seq uint64) error {
		if keys++; keys%compactCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if sz := int64(len(k) + len(v)); size+sz > txMaxSize && size > 0 {
			if err := tx.Commit(); err != nil {
				tx = nil
				return fmt.Errorf("write the new file: %w", err)
			}
			if tx, err = dst.Begin(true); err != nil {
				tx = nil
				return fmt.Errorf("write the new file: %w", err)
			}
			size = 0
		}
		size += int64(len(k) + len(v))
		if len(path) == 0 { // a top-level bucket
			b, err := tx.CreateBucket(k)
			if err != nil {
				return fmt.Errorf("write the new file: bucket %q: %w", k, err)
			}
			return b.SetSequence(seq)
		}
		b := tx.Bucket(path[0])
		for _, name := range path[1:] {
			b = b.Bucket(name)
		}
		b.FillPercent = 1.0 // the keys come in order: fill every page
		if v == nil {
			nb, err := b.CreateBucket(k)
			if err != nil {
				return fmt.Errorf("write the new file: bucket %q: %w", k, err)
			}
			return nb.SetSequence(seq)
		}
		if err := b.Put(k, v); err != nil {
			return fmt.Errorf("write the new file: %w", err)
		}
		return nil
	}
	err = src.View(func(stx *bolt.Tx) error {
		return stx.ForEach(func(name []byte, b *bolt.Bucket) error {
			return copyBucket(b, nil, name, b.Sequence(), put)
		})
	})
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	err = tx.Commit()
	tx = nil
	if err != nil {
		return fmt.Errorf("write the new file: %w", err)
	}
	return nil
}

// copyBucket hands bucket b (named name, under path) and then everything in
// it to put, depth first in key order.
func copyBucket(b *bolt.Bucket, path [][]byte, name []byte, seq uint64, put func(path [][]byte, k, v []byte, seq uint64) error) error {
	if err := put(path, name, nil, seq); err != nil {
		return err
	}
	inner := append(path[:len(path):len(path)], name)
	return b.ForEach(func(k, v []byte) error {
		if v == nil {
			nb := b.Bucket(k)
			return copyBucket(nb, inner, k, nb.Sequence(), put)
		}
		return put(inner, k, v, 0)
	})
}

// syncFile fsyncs the file at path.
func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// syncDir fsyncs a directory, making a rename in it durable. Systems that
// cannot sync a directory (Windows) are not an error.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) && runtime.GOOS != "windows" {
		return err
	}
	return nil
}
