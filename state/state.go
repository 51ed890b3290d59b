// Package state keeps the connector's per-stream incremental checkpoints in
// one JSON file.
//
// The file is the only thing that tells the next cron run where to resume, so
// the package is defensive about it:
//
//   - a run holds an exclusive lock on "<path>.lock" for as long as its Store
//     is open, so two runs never interleave checkpoints;
//   - every Save rewrites the whole file atomically and durably (temp file,
//     fsync, rename, fsync of the directory), so after a crash the file holds
//     either the previous or the new checkpoints, never a mix or a fragment;
//   - a file that is unreadable, from a newer extract, or from another
//     NetSuite account is refused and never modified: losing or overwriting
//     checkpoints silently would turn into skipped or re-extracted data.
//
// Credentials never go in this file.
package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// Version is the state file format this build reads and writes.
const Version = 1

// File is the on-disk state file.
type File struct {
	Version   int               `json:"version"`
	AccountID string            `json:"account_id"`
	Streams   map[string]Stream `json:"streams"`
	UpdatedAt time.Time         `json:"updated_at"`
}

// Stream is one stream's checkpoint. All times are UTC.
type Stream struct {
	// Watermark: every record modified before this instant has been durably
	// written (the connector's rule).
	Watermark time.Time `json:"watermark,omitzero"`
	// Pass is the unfinished incremental pass, if a run stopped inside one;
	// nil when the last pass completed.
	Pass       *Pass `json:"pass,omitempty"`
	RowsTotal  int64 `json:"rows_total"`
	FilesTotal int64 `json:"files_total"`
	// UpdatedAt is when this entry was last saved. Save sets it; a value
	// passed in is ignored.
	UpdatedAt time.Time `json:"updated_at"`
}

// Pass is the position inside an unfinished incremental pass over the
// half-open interval [Lower, Upper) of last-modified times.
type Pass struct {
	Lower time.Time `json:"lower"` // inclusive, UTC
	Upper time.Time `json:"upper"` // exclusive, UTC
	// AfterCursor is the last durably written row's cursor value exactly as
	// NetSuite rendered it (e.g. "2024-11-03 01:30:00"); kept verbatim rather
	// than parsed so the next query can quote it back without a time zone
	// round trip.
	AfterCursor string `json:"after_cursor,omitempty"`
	AfterID     int64  `json:"after_id,omitempty"` // and its id: the keyset position
	Rows        int64  `json:"rows"`               // rows written in this pass so far
}

// Sentinel errors, matched with errors.Is. Returned errors wrap one of them
// and name the state file.
var (
	// ErrLocked: another process (or another Store in this process) holds
	// the state file's lock.
	ErrLocked = errors.New("state file locked")
	// ErrCorrupt: the file is not a valid state file.
	ErrCorrupt = errors.New("state file corrupt")
	// ErrVersion: the file was written by a newer extract.
	ErrVersion = errors.New("state file version unsupported")
	// ErrAccount: the file holds another NetSuite account's checkpoints.
	ErrAccount = errors.New("state file belongs to another account")
)

// stateError carries a complete, operator-facing message while still
// matching its sentinel (and its cause, if any) with errors.Is/As.
type stateError struct {
	msg   string
	kind  error
	cause error
}

func (e *stateError) Error() string { return e.msg }

func (e *stateError) Unwrap() []error {
	if e.cause == nil {
		return []error{e.kind}
	}
	return []error{e.kind, e.cause}
}

// Save steps at which a fault hook is called; see SetFaultHook.
const (
	stepTempWritten = "temp-written" // temp file written, not yet fsynced
	stepTempSynced  = "temp-synced"  // temp file fsynced and closed, not yet renamed
	stepRenamed     = "renamed"      // renamed over the state file, directory not yet fsynced
)

// Store is an open, locked state file. Its methods are safe for concurrent
// use: stream goroutines Save their own entries while others read.
type Store struct {
	path string
	lock *fileLock

	mu     sync.Mutex // serialises Saves so each write carries every stream's latest entry
	file   File       // what was last persisted (or loaded); never mutated in place
	closed bool
	hook   func(step string) error
	now    func() time.Time
}

// Open locks the state file at path and loads it. A missing file is an empty
// state (nothing has been written yet); Open itself never writes the state
// file. The parent directory is created (0700) if missing, because the lock
// file lives next to the state file.
//
// accountID is the NetSuite account this run extracts. A file recorded for a
// different account is refused with ErrAccount; a file without an account
// adopts accountID on the next Save. An empty accountID skips the check.
//
// The caller must Close the Store to release the lock; the operating system
// releases it anyway if the process dies.
func Open(path, accountID string) (*Store, error) {
	if path == "" {
		return nil, errors.New("state: empty state file path")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("state file %s: create directory: %w", path, err)
	}
	lockPath := path + ".lock"
	lk, err := acquireLock(lockPath)
	if errors.Is(err, errLockHeld) {
		return nil, &stateError{
			msg:  fmt.Sprintf("state file %s is in use by another extract run (lock %s)%s", path, lockPath, lockHeldHint),
			kind: ErrLocked,
		}
	}
	if err != nil {
		return nil, fmt.Errorf("state file %s: lock %s: %w", path, lockPath, err)
	}

	f, err := Load(path)
	if err == nil && accountID != "" {
		switch f.AccountID {
		case "":
			f.AccountID = accountID
		case accountID:
		default:
			err = &stateError{
				msg: fmt.Sprintf("state file %s holds checkpoints for NetSuite account %q, but this run is for account %q; "+
					"point --state at another file (one state file per account)", path, f.AccountID, accountID),
				kind: ErrAccount,
			}
		}
	}
	if err != nil {
		lk.release()
		return nil, err
	}

	// Temp files from a run that crashed mid-Save are garbage: the state
	// file itself is intact. Only the lock holder writes temps, so it is safe
	// to remove them now.
	removeStaleTemps(path)

	return &Store{path: path, lock: lk, file: *f, now: time.Now}, nil
}

// Load reads and validates the state file without locking it, for display
// (`extract state show`). It does not check the account. A missing file is
// an empty state with an empty AccountID.
func Load(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &File{Version: Version, Streams: map[string]Stream{}}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("state file %s: %w", path, err)
	}
	return decode(path, data)
}

// Stream returns the named stream's checkpoint, if there is one. The result
// is a copy: changing it does not change the Store.
func (s *Store) Stream(name string) (Stream, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.file.Streams[name]
	return st.clone(), ok
}

// Save replaces the named stream's checkpoint and persists the whole file
// atomically. Times are stored in UTC and st.UpdatedAt is set to now.
//
// A Save that returns an error leaves the Store's contents as they were. If
// the error happened before the rename the file on disk is also unchanged;
// if it happened after (only the directory fsync remains), the file already
// holds the new version, which is as valid a checkpoint as the old one
// because callers Save only what is already durable.
func (s *Store) Save(name string, st Stream) error {
	if name == "" {
		return fmt.Errorf("state file %s: save: empty stream name", s.path)
	}
	st = st.utc()
	if err := st.validate(); err != nil {
		// Writing it would produce a file the next run refuses to load.
		return fmt.Errorf("state file %s: save stream %q: %w", s.path, name, err)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("state file %s: save stream %q: %w", s.path, name, fs.ErrClosed)
	}
	now := s.now().UTC()
	st.UpdatedAt = now
	next := s.file.clone()
	next.Streams[name] = st
	next.UpdatedAt = now
	if err := s.persist(next); err != nil {
		return fmt.Errorf("state file %s: save stream %q: %w", s.path, name, err)
	}
	return nil
}

// Reset deletes the named stream's checkpoint and persists the file, so the
// stream starts from scratch on the next run. Resetting a stream that has no
// checkpoint does nothing.
func (s *Store) Reset(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("state file %s: reset stream %q: %w", s.path, name, fs.ErrClosed)
	}
	if _, ok := s.file.Streams[name]; !ok {
		return nil
	}
	next := s.file.clone()
	delete(next.Streams, name)
	next.UpdatedAt = s.now().UTC()
	if err := s.persist(next); err != nil {
		return fmt.Errorf("state file %s: reset stream %q: %w", s.path, name, err)
	}
	return nil
}

// persist writes next and, only if that succeeded, makes it the Store's
// contents. s.mu must be held.
func (s *Store) persist(next File) error {
	data, err := encode(&next)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(s.path, data, s.hook); err != nil {
		return err
	}
	s.file = next
	return nil
}

// Snapshot returns a deep copy of the current state.
func (s *Store) Snapshot() File {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.file.clone()
}

// Path returns the state file's path as given to Open.
func (s *Store) Path() string { return s.path }

// Close releases the lock. Later Saves and Resets fail; reads still work.
// Closing twice is harmless.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if err := s.lock.release(); err != nil {
		return fmt.Errorf("state file %s: release lock: %w", s.path, err)
	}
	return nil
}

// SetFaultHook is for tests only, including other packages' tests. Save and
// Reset call hook at each step of the atomic write — "temp-written" (temp
// file written, not fsynced), "temp-synced" (fsynced and closed, not yet
// renamed) and "renamed" (renamed over the state file, directory not yet
// fsynced) — and fail with its error if it returns one, as if the process
// had crashed there. A hook may also exit the process to simulate a real
// crash. nil removes the hook.
func (s *Store) SetFaultHook(hook func(step string) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hook = hook
}

// encode renders f as the file's bytes: indented JSON (struct fields in
// declaration order, map keys sorted, so equal states give equal bytes) and a
// trailing newline.
func encode(f *File) ([]byte, error) {
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	return append(data, '\n'), nil
}

// wireFile is File as read from disk: the version is kept raw so that a
// non-integer version is refused rather than silently truncated or
// mis-typed, and so it can be checked before anything else is trusted.
// Unknown top-level fields are ignored, for forward compatibility within a
// version.
type wireFile struct {
	Version   json.RawMessage   `json:"version"`
	AccountID string            `json:"account_id"`
	Streams   map[string]Stream `json:"streams"`
	UpdatedAt time.Time         `json:"updated_at"`
}

// decode parses and validates the bytes of the state file at path (which
// is used only in error messages).
func decode(path string, data []byte) (*File, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, corrupt(path, nil, "is empty (%d bytes)", len(data))
	}
	var w wireFile
	err := json.Unmarshal(data, &w)
	if serr, ok := errors.AsType[*json.SyntaxError](err); ok {
		return nil, corrupt(path, err, "is not valid JSON (at byte %d): %v", serr.Offset, err)
	}
	if trimmed[0] != '{' {
		return nil, corrupt(path, err, "is not a JSON object (it holds %s)", jsonKind(trimmed[0]))
	}
	if err != nil {
		if terr, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
			return nil, corrupt(path, err, "is not a valid state file (at byte %d): %v", terr.Offset, err)
		}
		return nil, corrupt(path, err, "is not a valid state file: %v", err)
	}

	if len(w.Version) == 0 || string(w.Version) == "null" {
		return nil, corrupt(path, nil, "has no version")
	}
	version, err := strconv.ParseInt(string(w.Version), 10, 64)
	switch {
	case errors.Is(err, strconv.ErrRange) && w.Version[0] != '-':
		return nil, newerVersion(path, short(w.Version))
	case err != nil:
		return nil, corrupt(path, nil, "has version %s, want an integer", short(w.Version))
	case version > Version:
		return nil, newerVersion(path, short(w.Version))
	case version < 1:
		return nil, corrupt(path, nil, "has invalid version %d", version)
	}

	f := &File{
		Version:   int(version),
		AccountID: w.AccountID,
		Streams:   make(map[string]Stream, len(w.Streams)),
		UpdatedAt: w.UpdatedAt.UTC(),
	}
	if err := checkTime(f.UpdatedAt); err != nil {
		return nil, corrupt(path, nil, "has invalid updated_at: %v", err)
	}
	for name, st := range w.Streams {
		if name == "" {
			return nil, corrupt(path, nil, "has a stream with an empty name")
		}
		st = st.utc()
		if err := st.validate(); err != nil {
			return nil, corrupt(path, nil, "has an invalid checkpoint for stream %q: %v", name, err)
		}
		if err := checkTime(st.UpdatedAt); err != nil {
			return nil, corrupt(path, nil, "has an invalid checkpoint for stream %q: updated_at: %v", name, err)
		}
		f.Streams[name] = st
	}
	return f, nil
}

func corrupt(path string, cause error, format string, args ...any) error {
	return &stateError{
		msg: fmt.Sprintf("state file %s %s; it was left untouched: repair it, restore a backup, "+
			"or move it aside to start every stream from scratch", path, fmt.Sprintf(format, args...)),
		kind:  ErrCorrupt,
		cause: cause,
	}
}

func newerVersion(path, v string) error {
	return &stateError{
		msg: fmt.Sprintf("state file %s was written by a newer extract (version %s; this extract understands version %d); "+
			"upgrade extract or point --state at another file", path, v, Version),
		kind: ErrVersion,
	}
}

// short quotes at most a few dozen bytes of a raw JSON value in a message.
func short(raw []byte) string {
	const max = 40
	if len(raw) > max {
		return string(raw[:max]) + "..."
	}
	return string(raw)
}

func jsonKind(first byte) string {
	switch first {
	case 'n':
		return "null"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	default:
		return "a number"
	}
}

// validate reports a checkpoint that cannot be right: resuming from it
// would skip or repeat data in ways the connector cannot reason about.
func (st Stream) validate() error {
	if st.RowsTotal < 0 {
		return fmt.Errorf("negative rows_total %d", st.RowsTotal)
	}
	if st.FilesTotal < 0 {
		return fmt.Errorf("negative files_total %d", st.FilesTotal)
	}
	if err := checkTime(st.Watermark); err != nil {
		return fmt.Errorf("watermark: %w", err)
	}
	p := st.Pass
	if p == nil {
		return nil
	}
	if !p.Upper.After(p.Lower) {
		return fmt.Errorf("pass upper %s is not after lower %s",
			p.Upper.Format(time.RFC3339Nano), p.Lower.Format(time.RFC3339Nano))
	}
	if p.Rows < 0 {
		return fmt.Errorf("negative pass rows %d", p.Rows)
	}
	if p.AfterID < 0 {
		return fmt.Errorf("negative pass after_id %d", p.AfterID)
	}
	if err := checkTime(p.Lower); err != nil {
		return fmt.Errorf("pass lower: %w", err)
	}
	if err := checkTime(p.Upper); err != nil {
		return fmt.Errorf("pass upper: %w", err)
	}
	return nil
}

// checkTime refuses instants that JSON (RFC 3339) cannot represent in UTC.
// A file may hold e.g. "0000-01-01T00:00:00+01:00", which parses but is
// year -1 in UTC; accepting it would make every later Save fail.
func checkTime(t time.Time) error {
	if y := t.UTC().Year(); y < 0 || y > 9999 {
		return fmt.Errorf("year %d outside 0..9999", y)
	}
	return nil
}

// utc returns st with every time in UTC and its own copy of Pass.
func (st Stream) utc() Stream {
	st = st.clone()
	st.Watermark = st.Watermark.UTC()
	st.UpdatedAt = st.UpdatedAt.UTC()
	if st.Pass != nil {
		st.Pass.Lower = st.Pass.Lower.UTC()
		st.Pass.Upper = st.Pass.Upper.UTC()
	}
	return st
}

func (st Stream) clone() Stream {
	if st.Pass != nil {
		p := *st.Pass
		st.Pass = &p
	}
	return st
}

func (f File) clone() File {
	f.Streams = maps.Clone(f.Streams)
	if f.Streams == nil {
		f.Streams = map[string]Stream{}
	}
	for name, st := range f.Streams {
		f.Streams[name] = st.clone()
	}
	return f
}
