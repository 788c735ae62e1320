package store

import (
	"bytes"
	"os"
	"strconv"
	"syscall"

	bolt "go.etcd.io/bbolt"
)

// releaseMap drops this process's page-table entries for the store's
// memory map (madvise MADV_DONTNEED over the file's pages). bbolt maps the
// file read-only and shared, so nothing is lost: the pages stay in the
// kernel's page cache and the next read maps them again with a minor
// fault. tx must be an open read transaction: it holds bbolt's remap lock,
// so the range is the live map.
func releaseMap(tx *bolt.Tx) {
	if size := tx.Size(); size > 0 {
		_, _, _ = syscall.Syscall(syscall.SYS_MADVISE, tx.DB().Info().Data, uintptr(size), syscall.MADV_DONTNEED)
	}
}

// mappedFileBytes is how much of the process's resident set is file pages
// (the "shared" field of /proc/self/statm: file-backed and shared memory),
// or 0 if it cannot be read.
func mappedFileBytes() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := bytes.Fields(b)
	if len(f) < 3 {
		return 0
	}
	pages, err := strconv.ParseInt(string(f[2]), 10, 64)
	if err != nil {
		return 0
	}
	return pages * int64(os.Getpagesize())
}
