// Package sink turns Arrow record batches into durable Parquet or NDJSON files.
//
// A File is written under a hidden temporary name in its stream directory and only
// appears under its final name after Commit has flushed, fsynced, renamed it and fsynced
// the directory. A Receipt therefore means "these rows survive a crash", which is what
// the run loop needs before it may save a state checkpoint (design §2.1).
//
// Layout:
//
//	<Dir>/<stream>/<stream>-20240310T093000.123456Z-1a2b3c4d.parquet   committed
//	<Dir>/<stream>/.<stream>-20240310T093000.123456Z-1a2b3c4d.parquet.tmp  in progress
//
// Names sort by creation time, so a reader can process a stream's files in order.
//
// Columns may be int64, float64, bool, utf8, timestamp[us, tz=UTC], date32 or
// list<int64> (NetSuite multiple-select fields), nullable or not; see Sink.Create.
package sink

import (
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

	"github.com/apache/arrow/go/v17/arrow"
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

// Options configures a Sink.
type Options struct {
	Dir          string           // output root; files go to <Dir>/<stream>/
	Format       Format           // Parquet when empty
	RowGroupRows int              // parquet: max rows per row group (default 50_000); also bounds memory
	Now          func() time.Time // for file names; default time.Now

	// Hook, when set, is called after each durability step of Commit (see Step) with the
	// path the data currently lives at. A non-nil error aborts Commit at that point as if
	// the process had crashed there. For fault-injection tests only; leave nil.
	Hook func(step Step, path string) error
}

// Sink creates output files under one root directory. It is safe for concurrent use;
// each File it returns belongs to one goroutine.
type Sink struct {
	opts Options

	mu   sync.Mutex
	last time.Time // newest time used in a file name; keeps names strictly increasing
}

// New validates opts and creates opts.Dir (0o755) if it does not exist.
func New(opts Options) (*Sink, error) {
	if opts.Dir == "" {
		return nil, errors.New("sink: output directory is required")
	}
	switch opts.Format {
	case "":
		opts.Format = Parquet
	case Parquet, NDJSON:
	default:
		return nil, fmt.Errorf("sink: unknown format %q (want parquet or ndjson)", opts.Format)
	}
	switch {
	case opts.RowGroupRows == 0:
		opts.RowGroupRows = DefaultRowGroupRows
	case opts.RowGroupRows < 0:
		return nil, fmt.Errorf("sink: row group rows must be positive, got %d", opts.RowGroupRows)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if err := mkdirDurable(opts.Dir); err != nil {
		return nil, fmt.Errorf("sink: create output directory: %w", err)
	}
	return &Sink{opts: opts}, nil
}

// encoder is the format-specific half of a File. It writes into the open temp file.
type encoder interface {
	// write appends the rows of rec; the record is not retained after it returns.
	write(rec arrow.Record) error
	// finish flushes all buffered data (and the Parquet footer) to the file. It does not
	// sync or close the file.
	finish() error
}

// Create starts a new file for stream. The schema must use only supported types:
// int64, float64, bool, utf8, timestamp[us, tz=UTC], date32 and list<int64>, nullable or
// not. A list<int64> field may declare its element nullable or not, but a NULL element
// fails the Write that carries it: NULL is a property of the whole list (no value), and
// an empty list is a distinct, present value. In Parquet such a field is the standard
// three-level LIST (optional group <name> (LIST) { repeated group list { required int64
// element } }); in NDJSON it is an array of integers, [] or null.
func (s *Sink) Create(stream string, schema *arrow.Schema) (*File, error) {
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
	dir := filepath.Join(s.opts.Dir, stream)
	if err := mkdirDurable(dir); err != nil {
		return nil, fmt.Errorf("sink: stream %s: create directory: %w", stream, err)
	}
	f := &File{stream: stream, schema: schema, dir: dir, hook: s.opts.Hook}
	if err := f.open(s.fileBase(stream)); err != nil {
		return nil, err
	}
	switch s.opts.Format {
	case NDJSON:
		f.enc = newNDJSONEncoder(f.file, cols)
	default:
		f.enc, err = newParquetEncoder(f.file, stream, schema, cols, s.opts.RowGroupRows)
	}
	if err != nil {
		_ = f.Abort()
		return nil, fmt.Errorf("sink: stream %s: %w", stream, err)
	}
	return f, nil
}

// fileBase returns the final base name of a new file, without a collision check (open
// does that with O_EXCL).
func (s *Sink) fileBase(stream string) string {
	t := s.opts.Now().UTC().Truncate(time.Microsecond)
	s.mu.Lock()
	// A clock that stands still (tests) or steps back (NTP) must not reorder files: names
	// are the only ordering a downstream reader has.
	if !t.After(s.last) {
		t = s.last.Add(time.Microsecond)
	}
	s.last = t
	s.mu.Unlock()

	var b [4]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand crashes the program instead)
	return stream + "-" + t.Format(nameTimeLayout) + "-" + hex.EncodeToString(b[:]) + "." + string(s.opts.Format)
}

const (
	nameTimeLayout = "20060102T150405.000000Z"
	tempPrefix     = "."
	tempSuffix     = ".tmp"
)

// CleanTemp removes temp files (".*.tmp") left in stream's directory by a crashed run and
// reports how many it removed. Call it before creating files for the stream, while holding
// the state lock: it would also remove the temp file of a File that is still open.
func (s *Sink) CleanTemp(stream string) (removed int, err error) {
	if err := validStream(stream); err != nil {
		return 0, err
	}
	dir := filepath.Join(s.opts.Dir, stream)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("sink: stream %s: clean temp files: %w", stream, err)
	}
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || !strings.HasPrefix(name, tempPrefix) || !strings.HasSuffix(name, tempSuffix) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return removed, fmt.Errorf("sink: stream %s: clean temp files: %w", stream, err)
		}
		removed++
	}
	return removed, nil
}

// validStream accepts names that are a single, visible path element, so a stream can
// never escape Dir or be mistaken for a temp file.
func validStream(stream string) error {
	if stream == "" || stream[0] == '.' || stream[0] == '-' {
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
	Stream string
	Path   string // final path
	Rows   int64
	Bytes  int64 // file size
}

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
