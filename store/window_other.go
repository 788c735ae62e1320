//go:build !linux

package store

import bolt "go.etcd.io/bbolt"

// releaseMap is a no-op where the store does not bound its mapped pages.
func releaseMap(*bolt.Tx) {}

// mappedFileBytes is not measured here.
func mappedFileBytes() int64 { return 0 }
