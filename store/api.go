// Package store keeps everything qtc has synced in one bbolt file: connector
// configurations, the raw JSON of every record exactly as the API returned it,
// per-column index buckets that let a screen read one window of rows through a
// cursor, the per-stream sync state, and the log of sync runs.
//
// The store knows nothing about Qualys or Microsoft Graph: callers hand it
// records with their ID, raw bytes and the cells (column values) to index.
package store

import (
	"encoding/json"
	"time"
)

// SchemaVersion is the on-disk layout version this build reads and writes.
const SchemaVersion = 3

// ColumnKind tells the store how to order a column's cells in its index.
type ColumnKind int

const (
	// Text orders case-insensitively by the cell's bytes.
	Text ColumnKind = iota
	// Number orders numerically; a cell that is not an integer sorts first.
	Number
	// Time orders chronologically; cells are RFC 3339-like timestamps as the
	// APIs send them ("2020-07-09T11:33:36+0000", "2026-05-17T18:30:00.000Z").
	Time
)

// Layout describes the indexed columns of one record type. Cells passed with
// each record must have exactly len(Columns) entries.
type Layout struct {
	Columns []ColumnKind
}

// Record is one API object as stored: its ID, the raw JSON exactly as
// received, and its indexed cells (one per Layout column).
//
// Removed is when a baseline pull (MarkRemoved) found the record gone from
// the source (read back in UTC, nanosecond precision); the zero time means
// the record is present. Records are written present: WritePage and
// PutRecord ignore Removed.
type Record struct {
	ID      string
	Raw     json.RawMessage
	Cells   []string
	Removed time.Time
}

// Row is what a list screen shows: an ID, its cells and whether (since when)
// the record is marked removed (zero: present). Rows never carry the raw
// JSON, so reading a window is cheap.
type Row struct {
	ID      string
	Cells   []string
	Removed time.Time
}

// Connector is a configured data source. Secrets are kept sealed (see package
// vault); the store never sees plaintext.
type Connector struct {
	Name      string            `json:"name"`
	Kind      string            `json:"kind"` // "qualys", later "entra", ...
	Settings  map[string]string `json:"settings,omitempty"`
	Sealed    map[string]string `json:"sealed,omitempty"` // field -> sealed secret
	CreatedAt time.Time         `json:"createdAt"`
	UpdatedAt time.Time         `json:"updatedAt"`
}

// Phase is where a stream's current pull stands.
type Phase string

const (
	PhaseIdle     Phase = ""         // no pull in progress
	PhasePaging   Phase = "paging"   // pages being written; NextPage/Marker say where to resume
	PhaseSweeping Phase = "sweeping" // all pages written; older generations being removed
	PhaseMarking  Phase = "marking"  // all pages of a baseline written; older generations being marked removed
)

// StreamState is the resumable cursor of one stream (one record type pulled
// from one endpoint). It is written in the same transaction as each page.
type StreamState struct {
	Phase       Phase     `json:"phase,omitempty"`
	Generation  uint64    `json:"generation"`          // stamp of the current (or last) full pull
	NextPage    int       `json:"nextPage,omitempty"`  // Spring paging: next pageNo to fetch
	Marker      string    `json:"marker,omitempty"`    // marker paging: next marker
	DeltaLink   string    `json:"deltaLink,omitempty"` // Graph delta link
	Total       int       `json:"total,omitempty"`     // total the server announced, if any
	LastSuccess time.Time `json:"lastSuccess,omitempty"`
	// Mode is the kind of the pull in progress or last done: "full" (a
	// baseline that sweeps what it did not see) or "delta" (changes only).
	Mode string `json:"mode,omitempty"`
	// Window is the delta pull's `updated` filter, kept so a resumed pull
	// asks the same question.
	Window string `json:"window,omitempty"`
	// LastFull is when the last full pull (baseline) completed.
	LastFull  time.Time `json:"lastFull,omitempty"`
	LastError string    `json:"lastError,omitempty"`
	// Staged: the pull in progress stages its pages (PageWrite.Stage) and
	// merges them when its last page is in.
	Staged bool `json:"staged,omitempty"`
}

// PageWrite is one API page to commit atomically together with its stream
// state.
type PageWrite struct {
	Connector  string
	Type       string
	Layout     Layout
	Stream     string
	Generation uint64 // records are stamped with it (for the sweep)
	Records    []Record
	State      StreamState
	// Delete lists records the source reports gone for good (a Graph delta
	// "@removed": {"reason": "deleted"}); they are deleted in the same
	// transaction. Unknown ids are ignored.
	Delete []string
	// SoftDelete lists records the source reports removed but restorable
	// ("reason": "changed"); they are kept, marked removed at RemovedAt.
	SoftDelete []string
	RemovedAt  time.Time
	// Links are relation changes applied after the records, stamped with
	// Generation. Deleted and soft-deleted records lose their links.
	Links []LinkOp
	// Stage appends the records, Delete and SoftDelete to the type's stage
	// instead of writing them into it (the first full pull of an empty
	// type; see MergeStaged). Links and State are written as usual. Every
	// staged record is reported Added.
	Stage bool
}

// WriteStats counts what a page write did. Added+Changed+Unchanged is the
// number of records written.
type WriteStats struct {
	Added, Changed, Unchanged int
	// Restored counts records that were marked removed and are present
	// again; each of them is also counted in Changed.
	Restored    int
	Deleted     int // records deleted (PageWrite.Delete)
	SoftDeleted int // records newly marked removed (PageWrite.SoftDelete)
}

// PageChanges lists the ids of the records one page write changed (see
// WritePageChanges); unchanged records are not listed.
type PageChanges struct {
	Added   []string // new records
	Changed []string // records with new contents, and records restored
	// Deleted are the ids of PageWrite.Delete that existed; SoftDeleted
	// those of PageWrite.SoftDelete that were newly marked removed.
	Deleted, SoftDeleted []string
}

// Counts are per-type totals of one run.
type Counts struct {
	Added     int `json:"added"`
	Changed   int `json:"changed"`
	Unchanged int `json:"unchanged"`
	Removed   int `json:"removed"`
	Pages     int `json:"pages"`
	Restored  int `json:"restored,omitempty"`  // marked-removed records seen again (also in Changed)
	Purged    int `json:"purged,omitempty"`    // removed records dropped after the retention
	Fallbacks int `json:"fallbacks,omitempty"` // delta links refused, full pulls done instead
}

// Run is one sync run of one connector, kept for the connector's log.
type Run struct {
	ID        uint64            `json:"id"`
	Connector string            `json:"connector"`
	Kind      string            `json:"kind"` // "full", "delta", "baseline"
	Start     time.Time         `json:"start"`
	End       time.Time         `json:"end,omitempty"`
	State     string            `json:"state"` // "Processing", "Processed", "Partially Processed", "Errored"
	Counts    map[string]Counts `json:"counts,omitempty"`
	Requests  int64             `json:"requests"` // HTTP requests the run sent
	// Throttled is how many limit answers (HTTP 409 codes 1960/1965 of the
	// Qualys API server) the run waited out before going on.
	Throttled int64 `json:"throttled,omitempty"`
	// Retries counts the requests the run sent again, by cause: "429",
	// "409", "503", "503-no-retry-after", "504", "5xx", "reset",
	// "truncated", "malformed", "timeout", "network", "expired-token",
	// "410-resync" (a query listed again), and "batch-…" for requests
	// inside Graph $batch calls (see package api/retries).
	Retries map[string]int `json:"retries,omitempty"`
	Error   string         `json:"error,omitempty"`
}

// Order selects the index a window is read through.
type Order struct {
	Column int  // index of the Layout column
	Desc   bool // descending
}
