// Package sink turns Arrow record batches into durable Parquet or NDJSON files, on a
// local disk or in object storage (gocloud.dev/blob: S3, GCS, Azure, memory).
//
// A Receipt means "these rows survive a crash", which is what the run loop needs before
// it may save a state checkpoint (design §2.1, §2.7):
//
//   - Local: a File is written under a hidden temporary name in its run directory and
//     only appears under its final name after Commit has flushed, fsynced, closed,
//     renamed it and fsynced the directory.
//   - Object storage: the encoder streams into an upload opened with "create only if
//     absent"; the object becomes visible only when the upload's Close returns nil.
//     Abort cancels the upload, so nothing appears under the final name.
//
// Layout (the same for both targets; keys are relative to the root):
//
//	<stream>/dt=<run start, UTC date>/run=<run id>/part-000001.parquet   committed files, numbered per stream per run
//	<stream>/dt=…/run=<run id>/.part-000001.parquet.tmp                 local only: in progress
//	<stream>/dt=…/run=<run id>/_SUCCESS                                  written last, only by a successful run
//	_manifests/<run id>.json                                              every file of the run (Redshift COPY … MANIFEST shape)
//	_runs/<run id>.json                                                   the run summary
//
// Every object is written once and never overwritten: a rerun uses a new run id.
//
// Object storage and SIGKILL: a process killed during a multipart upload (S3 uploads
// larger than UploadPartSize) leaves an incomplete upload that is invisible but billed.
// Abort cleans it up when the process lives; for kills, configure the bucket with a
// lifecycle rule such as
//
//	{"Rules":[{"ID":"abort-incomplete-uploads","Status":"Enabled","Filter":{},
//	  "AbortIncompleteMultipartUpload":{"DaysAfterInitiation":1}}]}
//
// Columns may be int64, float64, bool, utf8, timestamp[us, tz=UTC], date32 or
// list<int64> (NetSuite multiple-select fields), nullable or not; see Sink.Create.
package sink

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/apache/arrow/go/v17/arrow"
	"gocloud.dev/blob"
)

// Format is an output file format.
type Format string

// Supported formats.
const (
	Parquet Format = "parquet"
	NDJSON  Format = "ndjson"
)

// ParseFormat parses the value of the --format setting.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(strings.TrimSpace(s))); f {
	case Parquet, NDJSON:
		return f, nil
	}
	return "", fmt.Errorf("--format: unknown format %q (want parquet or ndjson)", s)
}

// DefaultRowGroupRows is the Parquet row-group size used when Options.RowGroupRows is 0.
const DefaultRowGroupRows = 50_000

// DefaultUploadPartSize is the object-storage upload part size used when
// Options.UploadPartSize is 0: the S3 minimum. The S3 uploader holds
// (UploadConcurrency+1) parts per open file, so the default keeps one file's upload
// buffers at about 10 MiB: five streams writing at once stay well inside a 150 MB budget.
const DefaultUploadPartSize = 5 << 20

// Options configures a Sink.
type Options struct {
	Dir     string       // local output root; exactly one of Dir and Bucket
	Bucket  *blob.Bucket // object-storage output root; the Sink never closes it
	Display string       // the root in messages and manifest URLs (e.g. "s3://bucket/prefix"); default Dir

	RunID    string    // required: names the run's directories and artifacts, e.g. "20261202T063202Z-1a2b3c4d"
	RunStart time.Time // required: its UTC date is the dt= partition

	Format       Format           // Parquet when empty
	RowGroupRows int              // parquet: max rows per row group (default 50_000); also bounds memory
	Now          func() time.Time // for the manifest's finish time; default time.Now

	UploadPartSize    int // object storage: bytes per upload part (default DefaultUploadPartSize)
	UploadConcurrency int // object storage: parts uploaded at once per file (default 1)

	// Singer, when set, is the target instead of Dir or Bucket: each File buffers its rows
	// as Singer RECORD messages and Commit writes them there (see SingerWriter). Format,
	// RowGroupRows and the upload settings do not apply; Finish and Recover are not for
	// such a Sink (there are no files to list).
	Singer *SingerWriter

	// Hook, when set, is called after each durability step of Commit (see Step) with the
	// local path the data currently lives at, or the object key. A non-nil error aborts
	// Commit at that point as if the process had crashed there. For fault-injection
	// tests only; leave nil.
	Hook func(step Step, path string) error
}

// Sink creates output files for one run under one root. It is safe for concurrent use;
// each File it returns belongs to one goroutine.
type Sink struct {
	opts Options
	base string // URL base for receipts: Display without any query

	mu       sync.Mutex
	seq      map[string]int       // per stream: number of the last file created
	receipts map[string][]Receipt // per stream, in commit order
	open     int                  // Files neither committed nor aborted
	finished bool
}

// New validates opts and, for a local root, creates opts.Dir (0o755) if it does not exist.
func New(ctx context.Context, opts Options) (*Sink, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	if opts.Dir != "" {
		if err := mkdirDurable(opts.Dir); err != nil {
			return nil, fmt.Errorf("sink: create output directory: %w", err)
		}
	} else if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sink: %w", err)
	}
	base, _, _ := strings.Cut(opts.Display, "?")
	return &Sink{
		opts:     opts,
		base:     strings.TrimSuffix(base, "/"),
		seq:      map[string]int{},
		receipts: map[string][]Receipt{},
	}, nil
}

// validate checks opts and fills in defaults.
func (o *Options) validate() error {
	switch {
	case o.Singer != nil && (o.Dir != "" || o.Bucket != nil):
		return errors.New("sink: a Singer target takes no output directory or bucket")
	case o.Singer != nil:
		if o.Display == "" {
			o.Display = "stdout"
		}
	case o.Dir == "" && o.Bucket == nil:
		return errors.New("sink: output directory or bucket is required")
	case o.Dir != "" && o.Bucket != nil:
		return errors.New("sink: set either an output directory or a bucket, not both")
	}
	if o.Display == "" {
		o.Display = o.Dir
	}
	if err := validRunID(o.RunID); err != nil {
		return err
	}
	if o.RunStart.IsZero() {
		return fmt.Errorf("sink: run %s: run start time is required", o.RunID)
	}
	switch o.Format {
	case "":
		o.Format = Parquet
	case Parquet, NDJSON:
	default:
		return fmt.Errorf("sink: unknown format %q (want parquet or ndjson)", o.Format)
	}
	switch {
	case o.RowGroupRows == 0:
		o.RowGroupRows = DefaultRowGroupRows
	case o.RowGroupRows < 0:
		return fmt.Errorf("sink: row group rows must be positive, got %d", o.RowGroupRows)
	}
	switch {
	case o.UploadPartSize == 0:
		o.UploadPartSize = DefaultUploadPartSize
	case o.UploadPartSize < 0:
		return fmt.Errorf("sink: upload part size must be positive, got %d", o.UploadPartSize)
	}
	switch {
	case o.UploadConcurrency == 0:
		o.UploadConcurrency = 1
	case o.UploadConcurrency < 0:
		return fmt.Errorf("sink: upload concurrency must be positive, got %d", o.UploadConcurrency)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return nil
}

// validRunID accepts visible characters only, no path separator and no leading '.', so
// a run id is a single path element that cannot be mistaken for a temp file.
func validRunID(id string) error {
	if id == "" {
		return errors.New("sink: run id is required")
	}
	if len(id) > 128 || id[0] == '.' || strings.ContainsAny(id, `/\`) {
		return fmt.Errorf("sink: invalid run id %q (want up to 128 visible characters, no '/', '\\' or leading '.')", id)
	}
	for _, r := range id {
		if !unicode.IsGraphic(r) || unicode.IsSpace(r) {
			return fmt.Errorf("sink: invalid run id %q (want up to 128 visible characters, no '/', '\\' or leading '.')", id)
		}
	}
	return nil
}

// runDir is the key of stream's directory for this run, relative to the root.
func (s *Sink) runDir(stream string) string {
	return runDirKey(stream, s.opts.RunStart, s.opts.RunID)
}

func runDirKey(stream string, start time.Time, runID string) string {
	return stream + "/dt=" + start.UTC().Format(time.DateOnly) + "/run=" + runID
}

// url returns where key is for a reader: Display + "/" + key, or the absolute local path.
func (s *Sink) url(key string) string {
	if s.opts.Singer != nil {
		return s.opts.Display
	}
	if s.opts.Dir != "" {
		p := filepath.Join(s.opts.Dir, filepath.FromSlash(key))
		if abs, err := filepath.Abs(p); err == nil {
			return abs
		}
		return p
	}
	return s.base + "/" + key
}

// encoder is the format-specific half of a File. It writes into the temp file or upload.
type encoder interface {
	// write appends the rows of rec; the record is not retained after it returns.
	write(rec arrow.Record) error
	// finish flushes all buffered data (and the Parquet footer) to the output. It does
	// not sync or close it.
	finish() error
}

// Create starts the next file of stream in this run. ctx bounds an object-storage
// upload: cancelling it aborts the file. The schema must use only supported types:
// int64, float64, bool, utf8, timestamp[us, tz=UTC], date32 and list<int64>, nullable or
// not. A list<int64> field may declare its element nullable or not, but a NULL element
// fails the Write that carries it: NULL is a property of the whole list (no value), and
// an empty list is a distinct, present value. In Parquet such a field is the standard
// three-level LIST (optional group <name> (LIST) { repeated group list { required int64
// element } }); in NDJSON it is an array of integers, [] or null.
func (s *Sink) Create(ctx context.Context, stream string, schema *arrow.Schema) (*File, error) {
	if err := validStream(stream); err != nil {
		return nil, err
	}
	if schema == nil {
		return nil, fmt.Errorf("sink: stream %s: nil schema", stream)
	}
	cols, err := compileColumns(schema)
	if err != nil {
		return nil, fmt.Errorf("sink: stream %s: %w", stream, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sink: stream %s: %w", stream, err)
	}
	s.mu.Lock()
	if s.finished {
		s.mu.Unlock()
		return nil, fmt.Errorf("sink: stream %s: create after the run %s finished", stream, s.opts.RunID)
	}
	s.seq[stream]++
	n := s.seq[stream]
	s.open++
	s.mu.Unlock()

	f := &File{
		sink:        s,
		stream:      stream,
		schema:      schema,
		fingerprint: Fingerprint(schema),
		key:         fmt.Sprintf("%s/part-%06d.%s", s.runDir(stream), n, s.opts.Format),
		hook:        s.opts.Hook,
	}
	if s.opts.Singer != nil {
		f.singer = &bytes.Buffer{}
		f.enc = newSingerEncoder(f.singer, stream, schema, cols, s.opts.Now)
		return f, nil
	}
	if s.opts.Bucket != nil {
		err = f.openObject(ctx)
	} else {
		err = f.openLocal()
	}
	if err != nil {
		s.closed(f)
		return nil, err
	}
	switch s.opts.Format {
	case NDJSON:
		f.enc = newNDJSONEncoder(f.out, cols)
	default:
		f.enc, err = newParquetEncoder(f.out, stream, schema, cols, s.opts.RowGroupRows)
	}
	if err != nil {
		_ = f.Abort()
		return nil, fmt.Errorf("sink: stream %s: %w", stream, err)
	}
	return f, nil
}

// closed records that f was committed (rc != nil) or aborted.
func (s *Sink) closed(f *File, rc ...Receipt) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.open--
	if len(rc) > 0 {
		s.receipts[f.stream] = append(s.receipts[f.stream], rc[0])
	}
}

const (
	tempPrefix = "."
	tempSuffix = ".tmp"
)

// CleanTemp removes temp files (".*.tmp") left anywhere under stream's local directory
// (its run directories included) by a crashed run and reports how many it removed. Call
// it before creating files for the stream, while holding the state lock: it would also
// remove the temp file of a File that is still open. On object storage there are no temp
// objects (an unfinished upload is invisible), so it removes nothing.
func (s *Sink) CleanTemp(stream string) (removed int, err error) {
	if err := validStream(stream); err != nil {
		return 0, err
	}
	if s.opts.Dir == "" {
		return 0, nil
	}
	root := filepath.Join(s.opts.Dir, stream)
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == root && errors.Is(err, fs.ErrNotExist) {
				return fs.SkipAll
			}
			return err
		}
		name := d.Name()
		if !d.Type().IsRegular() || !strings.HasPrefix(name, tempPrefix) || !strings.HasSuffix(name, tempSuffix) {
			return nil
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		removed++
		return nil
	})
	if err != nil {
		return removed, fmt.Errorf("sink: stream %s: clean temp files: %w", stream, err)
	}
	return removed, nil
}

// validStream accepts names that are a single, visible path element, so a stream can
// never escape the root or be mistaken for a temp file or a run artifact ("_runs").
func validStream(stream string) error {
	if stream == "" || stream[0] == '.' || stream[0] == '-' || stream[0] == '_' {
		return fmt.Errorf("sink: invalid stream name %q", stream)
	}
	for _, r := range stream {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.') {
			return fmt.Errorf("sink: invalid stream name %q (want letters, digits, '_', '-', '.')", stream)
		}
	}
	return nil
}

// Receipt describes a committed, durable file.
type Receipt struct {
	Stream      string
	Key         string // relative to the root, e.g. "customer/dt=2026-12-02/run=R/part-000001.parquet"
	URL         string // Display + "/" + Key; the absolute path for a local root
	Path        string // the local path; empty on object storage (there is nothing to open)
	Rows        int64
	Bytes       int64  // file size
	Fingerprint string // Fingerprint of the file's schema
}

// keyPath joins a slash-separated key onto a local root.
func keyPath(dir, key string) string { return filepath.Join(dir, filepath.FromSlash(key)) }

// column is one compiled output column, shared by both encoders.
type column struct {
	name     string
	kind     kind
	nullable bool
}

type kind uint8

const (
	kindInt64 kind = iota + 1
	kindFloat64
	kindBool
	kindString
	kindTimestamp // microseconds since the epoch, UTC
	kindDate32    // days since the epoch
	kindInt64List // list<int64>; elements are never NULL (see bindInt64List)
)

// compileColumns maps each Arrow field to a kind and rejects anything else by name.
func compileColumns(schema *arrow.Schema) ([]column, error) {
	fields := schema.Fields()
	if len(fields) == 0 {
		return nil, errors.New("schema has no fields")
	}
	cols := make([]column, len(fields))
	seen := make(map[string]bool, len(fields))
	for i, fd := range fields {
		if fd.Name == "" {
			return nil, fmt.Errorf("field %d has an empty name", i)
		}
		if seen[fd.Name] {
			return nil, fmt.Errorf("field %q appears twice", fd.Name)
		}
		seen[fd.Name] = true
		var k kind
		switch t := fd.Type.(type) {
		case *arrow.Int64Type:
			k = kindInt64
		case *arrow.Float64Type:
			k = kindFloat64
		case *arrow.BooleanType:
			k = kindBool
		case *arrow.StringType:
			k = kindString
		case *arrow.Date32Type:
			k = kindDate32
		case *arrow.TimestampType:
			// Other units or zones would need a conversion we would rather do once, in
			// package schema, than silently here.
			if t.Unit == arrow.Microsecond && t.TimeZone == "UTC" {
				k = kindTimestamp
			}
		case *arrow.ListType:
			// NetSuite multiple-select fields: lists of internal ids. Large, fixed-size
			// and nested lists, maps and other element types are refused below.
			if _, ok := t.Elem().(*arrow.Int64Type); ok {
				k = kindInt64List
			}
		}
		if k == 0 {
			return nil, fmt.Errorf("field %q has unsupported type %s (want int64, float64, bool, utf8, timestamp[us, tz=UTC], date32 or list<int64>)", fd.Name, fd.Type)
		}
		cols[i] = column{name: fd.Name, kind: k, nullable: fd.Nullable}
	}
	return cols, nil
}

// NewRunID returns a run id for a run that started at start: its UTC time to the second
// and 8 random hex digits, e.g. "20261202T063202Z-1a2b3c4d". Ids sort by start time.
func NewRunID(start time.Time) string {
	var b [4]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand crashes the program instead)
	return start.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}
