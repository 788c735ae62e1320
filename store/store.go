package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Sentinel errors. They are always returned wrapped with context (the path,
// the connector, the record); test for them with errors.Is.
var (
	// ErrNotFound: the connector, record or run does not exist.
	ErrNotFound = errors.New("not found")
	// ErrLocked: another process holds the store's file lock.
	ErrLocked = errors.New("in use by another qtc process (locked)")
	// ErrNotStore: the file exists but is not a qtc store; it was not modified.
	ErrNotStore = errors.New("not a qtc store")
	// ErrNewerSchema: the store was written by a newer qtc; it was not modified.
	ErrNewerSchema = errors.New("store schema is newer than this build")
	// ErrLayoutChanged: a page was written with a Layout different from the
	// one the type's indexes were built with. Drop the type (DropType) and
	// pull it again in full.
	ErrLayoutChanged = errors.New("record layout changed")
)

// Options tune Open.
type Options struct {
	// Timeout is how long Open waits for another process to release the file
	// lock before failing with ErrLocked. Zero means 1s.
	Timeout time.Duration
	// ReadOnly opens the store with a shared lock and refuses all writes. A
	// read-only Open never creates or modifies the file.
	ReadOnly bool
	// InitialMmapSize is the size of the initial memory map. Zero means
	// 1 GiB on 64-bit Unix systems (address space only, the file does not
	// grow), so that readers rarely block the writer while the file grows.
	InitialMmapSize int
}

// Store is an open qtc store. It is safe for concurrent use: any number of
// goroutines may read while one writes (bbolt serialises writers).
type Store struct {
	db      *bolt.DB
	path    string
	anchors anchorCache
}

// Bucket names and keys of the on-disk layout (schema version 3):
//
//	meta        schema -> uint64 BE
//	            migrating -> uint64 BE target version, only while a chunked
//	            migration is unfinished (see prepareSchema)
//	connectors  name -> JSON Connector
//	c:NAME      per connector:
//	  streams   stream -> JSON StreamState
//	  runs      uint64 BE id -> JSON Run
//	  t:TYPE    per record type:
//	    rec     id -> raw JSON
//	    recref, blob  raw bytes written once by a staged pull (see blob.go)
//	    stage   an unmerged staged pull (see stage.go)
//	    row     id -> uint64 BE generation + uint64 BE removed mark + encoded
//	            cells (see rowHeader)
//	    ixN     SortKey(kind, cell N) + 0x00 + id -> empty
//	    meta    count -> uint64 BE number of records (removed ones included);
//	            removed -> uint64 BE number of records marked removed;
//	            maxgen -> uint64 BE highest generation ever stamped;
//	            layout -> one byte per column kind;
//	            mtx -> uint64 BE id of the last transaction that wrote the type;
//	            mig2 -> last row key converted, only while the 1 -> 2
//	            migration has not finished the type
//	  l:        relation links (see links.go)
//	  x:changes per run: uint64 BE run id -> bucket of type -> JSON
//	            ChangeSet (see changes.go)
//
// Schema version 1 had no removed mark in rows and no removed/maxgen keys;
// version 2 had no recref and blob buckets.
var (
	bucketMeta       = []byte("meta")
	bucketConnectors = []byte("connectors")
	bucketStreams    = []byte("streams")
	bucketRuns       = []byte("runs")
	bucketRec        = []byte("rec")
	bucketRow        = []byte("row")
	keySchema        = []byte("schema")
	keyMigrating     = []byte("migrating")
	keyCount         = []byte("count")
	keyRemoved       = []byte("removed")
	keyMaxGen        = []byte("maxgen")
	keyLayout        = []byte("layout")
	keyMtx           = []byte("mtx")
	keyMig2          = []byte("mig2")
)

const (
	connectorPrefix = "c:"
	typePrefix      = "t:"
)

// A migration upgrades a store at schema version v to v+1 (migrations[v]).
// A brand-new file is at version 0, so migrations[0] creates the version 1
// layout. len(migrations) must equal SchemaVersion.
//
// A migration either runs in one write transaction that also stores the new
// version (oneTx), or is chunked: its first transaction stores the new
// version together with meta "migrating" = v+1 (so an older qtc refuses the
// half-converted file with ErrNewerSchema instead of misreading it), the
// work is done in small resumable transactions, and the last one deletes
// "migrating". prepareSchema runs an unfinished chunked migration again on
// the next read-write open, so it must be idempotent.
type migration func(ctx context.Context, db *bolt.DB) error

var migrations = []migration{
	// 0 -> 1: top-level buckets.
	oneTx(1, func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketMeta, bucketConnectors} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("create bucket %s: %w", name, err)
			}
		}
		return nil
	}),
	// 1 -> 2: removed marks in row values, removed and maxgen counters.
	migrateRowsV2,
	// 2 -> 3: records may keep their bytes in blobs (recref). Nothing to
	// convert; the version keeps an older qtc, which would not find those
	// bytes, from opening the file.
	oneTx(3, func(*bolt.Tx) error { return nil }),
}

// oneTx makes a migration to version to of a single transaction.
func oneTx(to uint64, fn func(tx *bolt.Tx) error) migration {
	return func(ctx context.Context, db *bolt.DB) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		return db.Update(func(tx *bolt.Tx) error {
			if err := fn(tx); err != nil {
				return err
			}
			mb, err := tx.CreateBucketIfNotExists(bucketMeta)
			if err != nil {
				return err
			}
			return mb.Put(keySchema, u64(to))
		})
	}
}

// DefaultPath returns where the store lives unless --db says otherwise:
// $XDG_DATA_HOME/qtc/qtc.db, else ~/.local/share/qtc/qtc.db.
func DefaultPath() (string, error) {
	if dir := os.Getenv("XDG_DATA_HOME"); dir != "" && filepath.IsAbs(dir) {
		return filepath.Join(dir, "qtc", "qtc.db"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("default store path: %w", err)
	}
	return filepath.Join(home, ".local", "share", "qtc", "qtc.db"), nil
}

// Open opens the store at path, creating it (directory 0700, file 0600) if it
// does not exist. A file that is not a bbolt database is refused with
// ErrNotStore before bbolt touches it; a store written by a newer qtc is
// refused with ErrNewerSchema; a store locked by another process is refused
// with ErrLocked after opt.Timeout. A store of an older schema is migrated
// (read-write opens only); see OpenContext.
func Open(path string, opt Options) (*Store, error) {
	return OpenContext(context.Background(), path, opt)
}

// OpenContext is Open with a context that can interrupt a schema migration
// (the 1 -> 2 migration rewrites every row, in transactions of at most 1000
// rows). An interrupted migration leaves a consistent store that an older
// qtc refuses and that the next read-write Open finishes.
func OpenContext(ctx context.Context, path string, opt Options) (*Store, error) {
	if path == "" {
		return nil, errors.New("open store: empty path")
	}
	if opt.Timeout <= 0 {
		opt.Timeout = time.Second
	}
	if opt.InitialMmapSize == 0 && strconv.IntSize == 64 && runtime.GOOS != "windows" {
		opt.InitialMmapSize = 1 << 30
	}

	info, err := os.Stat(path)
	switch {
	case err == nil:
		if !info.Mode().IsRegular() {
			return nil, fmt.Errorf("store %s is %w (not a regular file); move it away or pass --db", path, ErrNotStore)
		}
		if info.Size() == 0 && opt.ReadOnly {
			return nil, fmt.Errorf("store %s is empty, %w yet; open it read-write once or pass --db", path, ErrNotStore)
		}
		if info.Size() > 0 {
			if reason := checkBoltFile(path, info.Size()); reason != "" {
				return nil, fmt.Errorf("store %s is %w (not a bbolt database: %s); move it away or pass --db", path, ErrNotStore, reason)
			}
		}
	case errors.Is(err, os.ErrNotExist):
		if opt.ReadOnly {
			return nil, fmt.Errorf("open store %s read-only: %w", path, err)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("create store directory: %w", err)
		}
	default:
		return nil, fmt.Errorf("open store: %w", err)
	}

	db, err := openLocked(path, opt)
	if err != nil {
		return nil, err
	}
	s := &Store{db: db, path: path}
	if err := s.prepareSchema(ctx, opt.ReadOnly); err != nil {
		_ = db.Close()
		return nil, err
	}
	return s, nil
}

// openLocked is openBolt making sure that the file it locked is still the
// one at path: Compact renames a new file over the store while it holds the
// old file's lock, and a process that was waiting for that lock must open
// the new file, not the old one that is no longer anybody's store. The file
// is the same if path names the same file before and after bbolt opens and
// locks it (a file renamed away in between cannot come back).
func openLocked(path string, opt Options) (*bolt.DB, error) {
	for attempt := 1; ; attempt++ {
		pre, err := os.Stat(path)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("open store: %w", err)
		}
		db, err := openBolt(path, opt)
		if err != nil {
			return nil, err
		}
		post, err := os.Stat(path)
		if err != nil {
			_ = db.Close()
			return nil, fmt.Errorf("open store: %w", err)
		}
		if pre == nil || os.SameFile(pre, post) {
			return db, nil
		}
		_ = db.Close()
		if attempt == 3 {
			return nil, fmt.Errorf("open store %s: the file was replaced while it was being opened (3 times); try again", path)
		}
	}
}

// openBolt hands the (pre-validated) file to bbolt, converting its lock
// timeout and corruption errors (and panics on a damaged file) to ours.
func openBolt(path string, opt Options) (db *bolt.DB, err error) {
	defer func() {
		if r := recover(); r != nil {
			db = nil
			err = fmt.Errorf("store %s is %w (damaged bbolt database: %v); move it away or pass --db", path, ErrNotStore, r)
		}
	}()
	db, err = bolt.Open(path, 0o600, &bolt.Options{
		Timeout:         opt.Timeout,
		ReadOnly:        opt.ReadOnly,
		FreelistType:    bolt.FreelistMapType,
		NoFreelistSync:  true,
		InitialMmapSize: opt.InitialMmapSize,
	})
	switch {
	case err == nil:
		return db, nil
	case errors.Is(err, berrors.ErrTimeout):
		return nil, fmt.Errorf("store %s is %w; close it or use --db", path, ErrLocked)
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrVersionMismatch), errors.Is(err, berrors.ErrChecksum):
		return nil, fmt.Errorf("store %s is %w (not a bbolt database: %v); move it away or pass --db", path, ErrNotStore, err)
	default:
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
}

// prepareSchema checks the schema version and runs pending migrations
// (first an unfinished chunked one, then the next ones). It reads first and
// writes only when something has to change, so a refused store is never
// modified.
func (s *Store) prepareSchema(ctx context.Context, readOnly bool) error {
	var version, migrating uint64
	var foreign string
	err := s.db.View(func(tx *bolt.Tx) error {
		mb := tx.Bucket(bucketMeta)
		if mb == nil {
			// No meta bucket: a fresh file, unless it holds someone else's data.
			return tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
				foreign = string(name)
				return errStop
			})
		}
		v := mb.Get(keySchema)
		if len(v) != 8 {
			return fmt.Errorf("store %s is %w (bad schema version record); move it away or pass --db", s.path, ErrNotStore)
		}
		version = binary.BigEndian.Uint64(v)
		if v := mb.Get(keyMigrating); v != nil {
			if len(v) != 8 {
				return fmt.Errorf("store %s is %w (bad migration record); move it away or pass --db", s.path, ErrNotStore)
			}
			migrating = binary.BigEndian.Uint64(v)
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return err
	}
	if foreign != "" {
		return fmt.Errorf("store %s is %w (a bbolt database of another program, bucket %q); move it away or pass --db", s.path, ErrNotStore, foreign)
	}
	if version > SchemaVersion {
		return fmt.Errorf("store %s has schema version %d but this qtc understands up to %d (%w); upgrade qtc or use another --db", s.path, version, SchemaVersion, ErrNewerSchema)
	}
	if migrating != 0 && (migrating != version || version == 0) {
		return fmt.Errorf("store %s is %w (migration to schema %d recorded at schema %d); move it away or pass --db", s.path, ErrNotStore, migrating, version)
	}
	if version == SchemaVersion && migrating == 0 {
		return nil
	}
	if readOnly {
		if version == 0 {
			return nil // an empty bbolt file: reads see an empty store
		}
		if migrating != 0 {
			return fmt.Errorf("store %s has an unfinished migration to schema %d; open it read-write once", s.path, migrating)
		}
		return fmt.Errorf("store %s has schema version %d and needs migrating to %d; open it read-write once", s.path, version, SchemaVersion)
	}
	from := version
	if migrating != 0 {
		from = migrating - 1 // finish it first
	}
	for v := from; v < SchemaVersion; v++ {
		if err := migrations[v](ctx, s.db); err != nil {
			return fmt.Errorf("migrate store %s from schema %d to %d: %w", s.path, v, v+1, err)
		}
	}
	return nil
}

// errStop ends a ForEach early.
var errStop = errors.New("stop")

// Close releases the store. It waits for running transactions to finish.
func (s *Store) Close() error {
	// Commits skip writing the free page list (NoFreelistSync: a big store
	// has a long one). Store it once now, so that the next open reads it
	// instead of walking every page of the file (seconds, and the whole
	// file mapped, on a store of a few GB). After a crash the next open
	// walks the file once.
	if !s.db.IsReadOnly() {
		s.db.NoFreelistSync = false
		if err := s.db.Update(func(*bolt.Tx) error { return nil }); err != nil {
			s.db.Close()
			return fmt.Errorf("close store %s: store the free page list: %w", s.path, err)
		}
	}
	return s.closeAsIs()
}

// closeAsIs closes the store without writing to it (Compact: the file is
// replaced, or must stay byte for byte as it was).
func (s *Store) closeAsIs() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close store %s: %w", s.path, err)
	}
	return nil
}

// Path returns the path the store was opened with.
func (s *Store) Path() string { return s.path }

// checkBoltFile verifies, reading only, that a non-empty file looks like a
// complete bbolt database: a meta page with the right magic, version and
// checksum, and a file long enough for the pages that meta page claims. It
// returns "" if so, else the reason. This mirrors what bbolt checks and lets
// Open refuse a foreign or truncated file without bbolt ever writing to it.
func checkBoltFile(path string, size int64) string {
	f, err := os.Open(path)
	if err != nil {
		return err.Error()
	}
	defer f.Close()

	read := func(off int64) []byte {
		buf := make([]byte, 4096)
		n, err := f.ReadAt(buf, off)
		if err != nil && !errors.Is(err, io.EOF) {
			return nil
		}
		return buf[:n]
	}
	var metas []boltMeta
	m0, ok0 := parseBoltMeta(read(0))
	if ok0 {
		metas = append(metas, m0)
		if m1, ok := parseBoltMeta(read(int64(m0.pageSize))); ok {
			metas = append(metas, m1)
		}
	} else {
		// Page 0 is damaged: look for page 1 at every plausible page size,
		// as bbolt does.
		for i := 0; i <= 14; i++ {
			off := int64(1024) << i
			if off >= size-1024 {
				break
			}
			if m1, ok := parseBoltMeta(read(off)); ok && int64(m1.pageSize) == off {
				metas = append(metas, m1)
				break
			}
		}
	}
	if len(metas) == 0 {
		return "no valid meta page"
	}
	best := metas[0]
	for _, m := range metas[1:] {
		if m.txid > best.txid {
			best = m
		}
	}
	ps := int64(best.pageSize)
	if ps < 512 || ps&(ps-1) != 0 {
		return fmt.Sprintf("implausible page size %d", ps)
	}
	if size < 2*ps {
		return fmt.Sprintf("file is %d bytes, shorter than its two meta pages", size)
	}
	if best.pgid < 4 || best.root >= best.pgid || (best.freelist >= best.pgid && best.freelist != noFreelist) {
		return "meta page points outside the file"
	}
	if need := int64(best.pgid) * ps; size < need {
		return fmt.Sprintf("file is truncated (%d bytes, its meta page needs %d)", size, need)
	}
	return ""
}

// boltMeta is the part of a bbolt meta page checkBoltFile looks at.
type boltMeta struct {
	pageSize uint32
	root     uint64
	freelist uint64
	pgid     uint64
	txid     uint64
}

const (
	boltMagic       = 0xED0CDAED
	boltVersion     = 2
	boltPageHeader  = 16 // id u64, flags u16, count u16, overflow u32
	boltMetaSumSize = 56 // meta fields before the checksum
	noFreelist      = ^uint64(0)
)

// parseBoltMeta decodes and validates the meta page at the start of page
// (magic, version and FNV-64a checksum, in the machine's byte order like
// bbolt itself).
func parseBoltMeta(page []byte) (boltMeta, bool) {
	if len(page) < boltPageHeader+boltMetaSumSize+8 {
		return boltMeta{}, false
	}
	m := page[boltPageHeader:]
	e := binary.NativeEndian
	if e.Uint32(m[0:]) != boltMagic || e.Uint32(m[4:]) != boltVersion {
		return boltMeta{}, false
	}
	h := fnv.New64a()
	h.Write(m[:boltMetaSumSize])
	if h.Sum64() != e.Uint64(m[boltMetaSumSize:]) {
		return boltMeta{}, false
	}
	return boltMeta{
		pageSize: e.Uint32(m[8:]),
		root:     e.Uint64(m[16:]),
		freelist: e.Uint64(m[32:]),
		pgid:     e.Uint64(m[40:]),
		txid:     e.Uint64(m[48:]),
	}, true
}

// u64 encodes v as 8 bytes big-endian (a fresh slice, safe to Put).
func u64(v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b
}

// ctxErr returns ctx's error wrapped with what was interrupted, or nil.
func ctxErr(ctx context.Context, what string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// connBucket returns the data bucket of a connector, or nil.
func connBucket(tx *bolt.Tx, connector string) *bolt.Bucket {
	return tx.Bucket([]byte(connectorPrefix + connector))
}

// connBucketRW returns the data bucket of a connector, creating it.
func connBucketRW(tx *bolt.Tx, connector string) (*bolt.Bucket, error) {
	b, err := tx.CreateBucketIfNotExists([]byte(connectorPrefix + connector))
	if err != nil {
		return nil, fmt.Errorf("connector %q bucket: %w", connector, err)
	}
	return b, nil
}

// typeBucket returns the bucket of one record type, or nil.
func typeBucket(tx *bolt.Tx, connector, typ string) *bolt.Bucket {
	cb := connBucket(tx, connector)
	if cb == nil {
		return nil
	}
	return cb.Bucket([]byte(typePrefix + typ))
}
