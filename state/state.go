// Package state keeps the connector's per-stream incremental checkpoints in
// one JSON file (Open), or as numbered generations of it on object storage
// (OpenBucket, see bucket.go).
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
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
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
	// Schemas is what the connector learnt about each stream's columns; CustomFields
	// its cached copy of the account's custom-field catalog. Neither covers rows, so
	// either may be saved at any time.
	Schemas      map[string]Schema `json:"schemas,omitempty"`
	CustomFields *CustomFields     `json:"custom_fields,omitempty"`
	// Run is the last run that wrote the state, so that the next one can find the files
	// of a run that did not finish.
	Run       *RunInfo  `json:"run,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
}

// RunInfo records a run (see Store.StageRun).
type RunInfo struct {
	ID       string    `json:"id"`
	Started  time.Time `json:"started"`
	Finished bool      `json:"finished,omitempty"`
}

// Schema is one stream's column history.
type Schema struct {
	// Columns are the stream's columns in the last file schema a run planned, to
	// report what changed in the next.
	Columns []Column `json:"columns,omitempty"`
	// Dropped are the NetSuite fields the account would not serve, by field id, so a
	// run does not pay to find them again; retried on a full refresh and by discover.
	Dropped map[string]Dropped `json:"dropped,omitempty"`
	// Kinds records, per custom field id, the kind its bare column name was first
	// written with: a column name never holds two types across a stream's files.
	Kinds map[string]string `json:"custom_kinds,omitempty"`
}

// Column is a column name and its kind (the connector's kind names).
type Column struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
}

// Dropped says why NetSuite refused a field and since when.
type Dropped struct {
	Reason string    `json:"reason"`
	Since  time.Time `json:"since"`
}

// CustomFields is the account's custom-field catalog as last read, kept so that runs
// read NetSuite's customfield table at most once per refresh interval.
type CustomFields struct {
	FetchedAt time.Time     `json:"fetched_at"`
	Fields    []CustomField `json:"fields"`
	// Unavailable says why the catalog could not be read at FetchedAt (Fields are then
	// those read earlier, if any).
	Unavailable string `json:"unavailable,omitempty"`
}

// CustomField is one row of NetSuite's customfield table.
type CustomField struct {
	ScriptID        string `json:"scriptid"`
	Label           string `json:"label,omitempty"`
	FieldType       string `json:"fieldtype,omitempty"`
	ValueType       string `json:"valuetype"`
	ValueTypeRecord string `json:"valuetyperecord,omitempty"`
	Stored          bool   `json:"stored"`
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
	// Child streams (address books, subsidiary memberships): IndexGen is the line index
	// generation that matches the output (see LineIndex), LastScan when they were last
	// read in full, Scan the full read in progress if a run stopped inside one.
	IndexGen int64         `json:"index_gen,omitempty"`
	LastScan time.Time     `json:"last_scan,omitzero"`
	Scan     *ScanProgress `json:"scan,omitempty"`
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
	// AfterTie is the last row's tie-breaker, for a query whose (cursor, id) is not
	// unique (the deletions of several streams read together: the record type); empty
	// means after every row with that cursor and id.
	AfterTie string `json:"after_tie,omitempty"`
	// Slices, once the pass is split for concurrent reading, cut the rest of it (every
	// row after the keyset position above) into id ranges that partition all ids; each is
	// read on its own and the pass is done when all of them are. Empty: one keyset read.
	Slices []Slice `json:"slices,omitempty"`
}

// Slice is one id range of a sliced pass and how far it has been durably read.
type Slice struct {
	From  int64 `json:"from"`  // inclusive; math.MinInt64: no lower bound
	Until int64 `json:"until"` // exclusive; math.MaxInt64: no upper bound
	// Lower and the keyset position are the slice's own, as a pass's are: rows of the
	// range in [Lower, pass upper) after (AfterCursor, AfterID) are still to be read.
	Lower       time.Time `json:"lower"`
	AfterCursor string    `json:"after_cursor,omitempty"`
	AfterID     int64     `json:"after_id,omitempty"`
	Done        bool      `json:"done,omitempty"`
}

// ScanProgress is where a full read of a child stream stands: every line up to After has
// been compared with the index, its rows are durable, and the next generation holds
// those lines up to Index.
type ScanProgress struct {
	Gen     int64         `json:"gen"`     // the generation being written
	Upper   time.Time     `json:"upper"`   // NetSuite's clock when the read began: the watermark it earns
	After   LineKey       `json:"after"`   // the last line read
	Index   IndexPosition `json:"index"`   // the partial generation's length at that point
	Rows    int64         `json:"rows"`    // rows written by this read so far
	Started bool          `json:"started"` // After is meaningful
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

// Store is an open, locked state: a local file (Open) or generations on a bucket
// (OpenBucket). Its methods are safe for concurrent use: stream goroutines Save their
// own entries while others read.
type Store struct {
	path  string // as given to Open, or the bucket's display name
	where string // how errors name the state: "state file <path>" or "state <display>"
	be    backend

	mu   sync.Mutex // serialises Saves so each write carries every stream's latest entry
	file File       // what was last persisted (or loaded); never mutated in place
	// staged are facts waiting for the next write (see StageSchema, StageRun).
	stagedSchemas map[string]Schema
	stagedFields  *CustomFields
	stagedRun     *RunInfo
	lastRun       *RunInfo // the run record as loaded, before anything was staged
	closed        bool
	hook          func(step string) error
	now           func() time.Time
}

// backend is where a Store's contents are kept. Store serialises the calls (s.mu).
type backend interface {
	// save persists f as the state's new contents, calling hook at each step.
	save(f *File, hook func(step string) error) error
	// release gives the state up; final is what the store holds.
	release(final *File, hook func(step string) error) error
	lineIndex(stream string) *LineIndex
	// stop ends background work (a bucket's heartbeat); called without s.mu.
	stop()
}

// localBackend is a state file under an flock: the file is rewritten atomically.
type localBackend struct {
	path string
	lock *fileLock
}

func (l *localBackend) save(f *File, hook func(string) error) error {
	data, err := encode(f)
	if err != nil {
		return err
	}
	return writeFileAtomic(l.path, data, hook)
}

func (l *localBackend) release(*File, func(string) error) error {
	if err := l.lock.release(); err != nil {
		return fmt.Errorf("release lock: %w", err)
	}
	return nil
}

func (l *localBackend) stop() {}

func (l *localBackend) lineIndex(stream string) *LineIndex {
	return &LineIndex{dir: l.path + ".index", stream: stream}
}

// newStore wraps a loaded, validated file.
func newStore(path, where string, be backend, f *File, now func() time.Time) *Store {
	s := &Store{path: path, where: where, be: be, file: *f, now: now}
	if f.Run != nil {
		r := *f.Run
		s.lastRun = &r
	}
	return s
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
	if err == nil {
		err = adoptAccount(f, "state file "+path, accountID)
	}
	if err != nil {
		lk.release()
		return nil, err
	}

	// Temp files from a run that crashed mid-Save are garbage: the state
	// file itself is intact. Only the lock holder writes temps, so it is safe
	// to remove them now.
	removeStaleTemps(path)

	return newStore(path, "state file "+path, &localBackend{path: path, lock: lk}, f, time.Now), nil
}

// adoptAccount checks that f belongs to accountID, or gives an account-less f to it.
// An empty accountID skips the check.
func adoptAccount(f *File, where, accountID string) error {
	switch f.AccountID {
	case accountID:
	case "":
		f.AccountID = accountID
	default:
		if accountID == "" {
			return nil
		}
		return &stateError{
			msg: fmt.Sprintf("%s holds checkpoints for NetSuite account %q, but this run is for account %q; "+
				"point --state at another file (one state file per account)", where, f.AccountID, accountID),
			kind: ErrAccount,
		}
	}
	return nil
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
		return fmt.Errorf("%s: save: empty stream name", s.where)
	}
	st = st.utc()
	if err := st.validate(); err != nil {
		// Writing it would produce a file the next run refuses to load.
		return fmt.Errorf("%s: save stream %q: %w", s.where, name, err)
	}

	return s.update("save stream "+strconv.Quote(name), func(next *File, now time.Time) error {
		st.UpdatedAt = now
		next.Streams[name] = st
		return nil
	})
}

// SaveAll replaces the checkpoints of several streams and persists the whole file
// atomically: after a crash the file holds all of them or none. It is Save for
// checkpoints that cover the same rows (the deletions of several streams read by one
// query) and must never be seen apart.
func (s *Store) SaveAll(entries map[string]Stream) error {
	if len(entries) == 0 {
		return nil
	}
	next := make(map[string]Stream, len(entries))
	names := make([]string, 0, len(entries))
	for name, st := range entries {
		if name == "" {
			return fmt.Errorf("%s: save: empty stream name", s.where)
		}
		st = st.utc()
		if err := st.validate(); err != nil {
			return fmt.Errorf("%s: save stream %q: %w", s.where, name, err)
		}
		next[name] = st
		names = append(names, name)
	}
	slices.Sort(names)
	return s.update(fmt.Sprintf("save streams %q", names), func(f *File, now time.Time) error {
		for name, st := range next {
			st.UpdatedAt = now
			f.Streams[name] = st
		}
		return nil
	})
}

// Schema returns the named stream's column history, if any, staged or saved. The
// result is a copy.
func (s *Store) Schema(name string) (Schema, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sc, ok := s.stagedSchemas[name]
	if !ok {
		sc, ok = s.file.Schemas[name]
	}
	return sc.clone(), ok
}

// StageSchema replaces the named stream's column history. It is written with the next
// checkpoint (Save, Reset or Flush), not before: a run that fails before it has made
// any progress leaves the state file exactly as it was.
func (s *Store) StageSchema(name string, sc Schema) error {
	if name == "" {
		return fmt.Errorf("%s: stage schema: empty stream name", s.where)
	}
	sc = sc.clone()
	sc.utc()
	if err := sc.validate(); err != nil {
		return fmt.Errorf("%s: stage schema of stream %q: %w", s.where, name, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stagedSchemas == nil {
		s.stagedSchemas = map[string]Schema{}
	}
	s.stagedSchemas[name] = sc
	return nil
}

// CustomFields returns the custom-field catalog, staged or saved, if any. The result is
// a copy.
func (s *Store) CustomFields() (CustomFields, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.stagedFields
	if c == nil {
		c = s.file.CustomFields
	}
	if c == nil {
		return CustomFields{}, false
	}
	return c.clone(), true
}

// StageCustomFields replaces the cached custom-field catalog; like StageSchema it is
// written with the next checkpoint.
func (s *Store) StageCustomFields(c CustomFields) error {
	c = c.clone()
	c.FetchedAt = c.FetchedAt.UTC()
	if err := c.validate(); err != nil {
		return fmt.Errorf("%s: stage custom fields: %w", s.where, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stagedFields = &c
	return nil
}

// StageRun records the run that is writing the state; like StageSchema it is written
// with the next checkpoint.
func (s *Store) StageRun(r RunInfo) error {
	r.Started = r.Started.UTC()
	if r.ID == "" {
		return fmt.Errorf("%s: stage run: empty run id", s.where)
	}
	if err := checkTime(r.Started); err != nil {
		return fmt.Errorf("%s: stage run %q: started: %w", s.where, r.ID, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stagedRun = &r
	return nil
}

// LastRun returns the run record the state held when it was opened, if any: the run
// before this one. Staging does not change it.
func (s *Store) LastRun() (RunInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lastRun == nil {
		return RunInfo{}, false
	}
	return *s.lastRun, true
}

// Flush writes what is staged, if anything.
func (s *Store) Flush() error {
	return s.update("flush", func(*File, time.Time) error {
		if s.stagedSchemas == nil && s.stagedFields == nil && s.stagedRun == nil {
			return errUnchanged
		}
		return nil
	})
}

// update applies change to a copy of the file and persists it; on any error the
// Store and the file stay as they were.
func (s *Store) update(what string, change func(next *File, now time.Time) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("%s: %s: %w", s.where, what, fs.ErrClosed)
	}
	now := s.now().UTC()
	next := s.file.clone()
	if err := change(&next, now); errors.Is(err, errUnchanged) {
		return nil
	} else if err != nil {
		return fmt.Errorf("%s: %s: %w", s.where, what, err)
	}
	for name, sc := range s.stagedSchemas {
		if next.Schemas == nil {
			next.Schemas = map[string]Schema{}
		}
		next.Schemas[name] = sc.clone()
	}
	if s.stagedFields != nil {
		c := s.stagedFields.clone()
		next.CustomFields = &c
	}
	if s.stagedRun != nil {
		r := *s.stagedRun
		next.Run = &r
	}
	next.UpdatedAt = now
	if err := s.persist(next); err != nil {
		return fmt.Errorf("%s: %s: %w", s.where, what, err)
	}
	s.stagedSchemas, s.stagedFields, s.stagedRun = nil, nil, nil
	return nil
}

// Reset deletes the named stream's checkpoint and persists the file, so the
// stream starts from scratch on the next run. Resetting a stream that has no
// checkpoint does nothing.
func (s *Store) Reset(name string) error {
	return s.update("reset stream "+strconv.Quote(name), func(next *File, _ time.Time) error {
		if _, ok := next.Streams[name]; !ok {
			return errUnchanged
		}
		delete(next.Streams, name)
		return nil
	})
}

// errUnchanged tells update that there is nothing to persist.
var errUnchanged = errors.New("unchanged")

// persist writes next and, only if that succeeded, makes it the Store's
// contents. s.mu must be held.
func (s *Store) persist(next File) error {
	if err := s.be.save(&next, s.hook); err != nil {
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

// Path returns the state file's path as given to Open, or the display name given to
// OpenBucket.
func (s *Store) Path() string { return s.path }

// LineIndex returns the line index of stream, kept with the state.
func (s *Store) LineIndex(stream string) *LineIndex { return s.be.lineIndex(stream) }

// Close releases the state (the lock, or the claim on a bucket). Later Saves and
// Resets fail; reads still work. Closing twice is harmless.
func (s *Store) Close() error {
	s.be.stop() // before s.mu: the heartbeat takes it
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if err := s.be.release(&s.file, s.hook); err != nil {
		return fmt.Errorf("%s: %w", s.where, err)
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
//
// On a bucket every generation written (saves, heartbeats, Close) calls it at
// "generation-uploading" (the bytes are handed to the upload, which is not yet
// complete; an error abandons it, so the object never appears) and
// "generation-written" (the upload completed: the generation is durable).
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
	Version      json.RawMessage   `json:"version"`
	AccountID    string            `json:"account_id"`
	Streams      map[string]Stream `json:"streams"`
	Schemas      map[string]Schema `json:"schemas"`
	CustomFields *CustomFields     `json:"custom_fields"`
	Run          *RunInfo          `json:"run"`
	UpdatedAt    time.Time         `json:"updated_at"`
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
	for name, sc := range w.Schemas {
		if name == "" {
			return nil, corrupt(path, nil, "has a schema with an empty stream name")
		}
		sc.utc()
		if err := sc.validate(); err != nil {
			return nil, corrupt(path, nil, "has an invalid schema for stream %q: %v", name, err)
		}
		if f.Schemas == nil {
			f.Schemas = map[string]Schema{}
		}
		f.Schemas[name] = sc
	}
	if c := w.CustomFields; c != nil {
		c.FetchedAt = c.FetchedAt.UTC()
		if err := c.validate(); err != nil {
			return nil, corrupt(path, nil, "has an invalid custom-field catalog: %v", err)
		}
		f.CustomFields = c
	}
	if r := w.Run; r != nil {
		r.Started = r.Started.UTC()
		if err := checkTime(r.Started); err != nil {
			return nil, corrupt(path, nil, "has an invalid run record: started: %v", err)
		}
		f.Run = r
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
	if st.IndexGen < 0 {
		return fmt.Errorf("negative index_gen %d", st.IndexGen)
	}
	if err := checkTime(st.LastScan); err != nil {
		return fmt.Errorf("last_scan: %w", err)
	}
	if sc := st.Scan; sc != nil {
		if sc.Gen <= st.IndexGen || sc.Index.Bytes < 0 || sc.Index.Entries < 0 || sc.Index.Chunks < 0 || sc.Rows < 0 {
			return fmt.Errorf("invalid scan progress %+v (index_gen %d)", *sc, st.IndexGen)
		}
		if err := checkTime(sc.Upper); err != nil {
			return fmt.Errorf("scan upper: %w", err)
		}
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
	return checkSlices(p.Slices)
}

// checkSlices refuses slices that do not partition the ids: a gap would lose rows.
func checkSlices(list []Slice) error {
	if len(list) == 0 {
		return nil
	}
	sorted := slices.Clone(list)
	slices.SortFunc(sorted, func(a, b Slice) int { return cmp.Compare(a.From, b.From) })
	next := int64(math.MinInt64)
	for _, sl := range sorted {
		if sl.From != next || sl.Until <= sl.From {
			return fmt.Errorf("pass slices do not partition the ids: [%d, %d) where %d was expected next", sl.From, sl.Until, next)
		}
		if sl.AfterID < 0 {
			return fmt.Errorf("negative slice after_id %d", sl.AfterID)
		}
		if err := checkTime(sl.Lower); err != nil {
			return fmt.Errorf("slice lower: %w", err)
		}
		next = sl.Until
	}
	if next != math.MaxInt64 {
		return fmt.Errorf("pass slices end at id %d, not at the last id", next)
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
	st.LastScan = st.LastScan.UTC()
	if st.Scan != nil {
		st.Scan.Upper = st.Scan.Upper.UTC()
	}
	if st.Pass != nil {
		st.Pass.Lower = st.Pass.Lower.UTC()
		st.Pass.Upper = st.Pass.Upper.UTC()
		for i := range st.Pass.Slices {
			st.Pass.Slices[i].Lower = st.Pass.Slices[i].Lower.UTC()
		}
	}
	return st
}

func (st Stream) clone() Stream {
	if st.Pass != nil {
		p := *st.Pass
		p.Slices = slices.Clone(p.Slices)
		st.Pass = &p
	}
	if st.Scan != nil {
		sc := *st.Scan
		st.Scan = &sc
	}
	return st
}

func (sc Schema) clone() Schema {
	sc.Columns = slices.Clone(sc.Columns)
	sc.Dropped = maps.Clone(sc.Dropped)
	sc.Kinds = maps.Clone(sc.Kinds)
	return sc
}

func (sc Schema) utc() {
	for k, d := range sc.Dropped {
		d.Since = d.Since.UTC()
		sc.Dropped[k] = d
	}
}

func (sc Schema) validate() error {
	for _, c := range sc.Columns {
		if c.Name == "" || c.Kind == "" {
			return fmt.Errorf("column %q without a name or kind", c.Name)
		}
	}
	for k, d := range sc.Dropped {
		if k == "" {
			return errors.New("a dropped column without a name")
		}
		if err := checkTime(d.Since); err != nil {
			return fmt.Errorf("dropped column %q: since: %w", k, err)
		}
	}
	for k, v := range sc.Kinds {
		if k == "" || v == "" {
			return fmt.Errorf("custom kind %q = %q: empty name or kind", k, v)
		}
	}
	return nil
}

func (c CustomFields) clone() CustomFields {
	c.Fields = slices.Clone(c.Fields)
	return c
}

func (c CustomFields) validate() error {
	if err := checkTime(c.FetchedAt); err != nil {
		return fmt.Errorf("fetched_at: %w", err)
	}
	for i, f := range c.Fields {
		if f.ScriptID == "" {
			return fmt.Errorf("field %d has no scriptid", i)
		}
	}
	return nil
}

func (f File) clone() File {
	f.Schemas = maps.Clone(f.Schemas)
	for name, sc := range f.Schemas {
		f.Schemas[name] = sc.clone()
	}
	if f.CustomFields != nil {
		c := f.CustomFields.clone()
		f.CustomFields = &c
	}
	if f.Run != nil {
		r := *f.Run
		f.Run = &r
	}
	f.Streams = maps.Clone(f.Streams)
	if f.Streams == nil {
		f.Streams = map[string]Stream{}
	}
	for name, st := range f.Streams {
		f.Streams[name] = st.clone()
	}
	return f
}
