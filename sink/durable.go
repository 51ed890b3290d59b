package sink

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"

	"github.com/apache/arrow/go/v17/arrow"
)

// Step names a point in Commit after which Options.Hook is called.
type Step string

// Commit's durability steps, in order.
const (
	StepWritten   Step = "written"   // all data and the footer are in the temp file (not yet synced)
	StepFsynced   Step = "fsynced"   // the temp file is fsynced and closed
	StepRenamed   Step = "renamed"   // the file has its final name (directory not yet synced)
	StepDirSynced Step = "dirsynced" // the directory is fsynced: the file is durable
)

type fileState uint8

const (
	stateOpen      fileState = iota
	stateFailed              // a Write or Commit failed; only Abort is allowed
	stateCommitted           // durable under its final name
	stateAborted             // temp (or half-committed) file removed
)

// File is one output file in progress. It is not safe for concurrent use.
type File struct {
	stream string
	schema *arrow.Schema
	dir    string
	final  string // final path
	temp   string // temp path, where the data lives until rename
	file   *os.File
	enc    encoder
	rows   int64
	state  fileState
	err    error // why the file failed
	hook   func(Step, string) error

	renamed bool // the data now lives at final, but Commit has not finished
}

// open creates the temp file exclusively, so two Files can never share a name.
func (f *File) open(base string) error {
	f.final = filepath.Join(f.dir, base)
	f.temp = filepath.Join(f.dir, tempPrefix+base+tempSuffix)
	// The final name must not exist either: rename would silently replace it.
	if _, err := os.Lstat(f.final); err == nil {
		return fmt.Errorf("sink: stream %s: %s already exists", f.stream, f.final)
	}
	file, err := os.OpenFile(f.temp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("sink: stream %s: create temp file: %w", f.stream, err)
	}
	f.file = file
	return nil
}

// Write appends the rows of rec. rec.Schema() must equal the schema given to Create.
// rec is not retained. After an error the File is unusable: call Abort.
func (f *File) Write(rec arrow.Record) error {
	if err := f.usable("write"); err != nil {
		return err
	}
	if !rec.Schema().Equal(f.schema) {
		// Not a data error: the file stays usable for records of the right schema.
		return fmt.Errorf("sink: stream %s: %s: record schema differs from the file schema:\nrecord: %s\nfile: %s",
			f.stream, f.temp, rec.Schema(), f.schema)
	}
	if rec.NumRows() == 0 {
		return nil
	}
	if err := f.enc.write(rec); err != nil {
		return f.fail(fmt.Errorf("sink: stream %s: write %s: %w", f.stream, f.temp, err))
	}
	f.rows += rec.NumRows()
	return nil
}

// Rows returns the number of rows written so far.
func (f *File) Rows() int64 { return f.rows }

// Commit makes the file durable under its final name and returns what is now safe. The
// order is: flush the encoder, fsync the file, close it, rename it to its final name,
// fsync the directory. If Commit fails the file is unusable: call Abort, which also
// removes a file that was already renamed but not confirmed durable, so a rerun that
// re-emits the rows does not leave a duplicate behind.
func (f *File) Commit() (Receipt, error) {
	if err := f.usable("commit"); err != nil {
		return Receipt{}, err
	}
	size, err := f.commit()
	if err != nil {
		return Receipt{}, f.fail(fmt.Errorf("sink: stream %s: commit %s: %w", f.stream, f.final, err))
	}
	f.state = stateCommitted
	return Receipt{Stream: f.stream, Path: f.final, Rows: f.rows, Bytes: size}, nil
}

func (f *File) commit() (int64, error) {
	if err := f.enc.finish(); err != nil {
		return 0, fmt.Errorf("flush: %w", err)
	}
	if err := f.step(StepWritten, f.temp); err != nil {
		return 0, err
	}
	if err := f.file.Sync(); err != nil {
		return 0, fmt.Errorf("fsync: %w", err)
	}
	info, err := f.file.Stat()
	if err != nil {
		return 0, err
	}
	// Close errors matter: on some file systems (NFS) they are where write errors surface.
	file := f.file
	f.file = nil
	if err := file.Close(); err != nil {
		return 0, fmt.Errorf("close: %w", err)
	}
	if err := f.step(StepFsynced, f.temp); err != nil {
		return 0, err
	}
	if err := os.Rename(f.temp, f.final); err != nil {
		return 0, err
	}
	f.renamed = true
	if err := f.step(StepRenamed, f.final); err != nil {
		return 0, err
	}
	if err := syncDir(f.dir); err != nil {
		return 0, err
	}
	if err := f.step(StepDirSynced, f.final); err != nil {
		return 0, err
	}
	return info.Size(), nil
}

// Abort closes and removes the file. It is safe after a failed Write or Commit, may be
// called more than once, and does nothing after a successful Commit.
func (f *File) Abort() error {
	switch f.state {
	case stateCommitted, stateAborted:
		return nil
	}
	f.state = stateAborted
	var errs []error
	if f.file != nil {
		if err := f.file.Close(); err != nil && !errors.Is(err, fs.ErrClosed) {
			errs = append(errs, err)
		}
		f.file = nil
	}
	path := f.temp
	if f.renamed {
		path = f.final
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sink: stream %s: abort %s: %w", f.stream, path, err)
	}
	return nil
}

func (f *File) usable(op string) error {
	switch f.state {
	case stateOpen:
		return nil
	case stateFailed:
		return fmt.Errorf("sink: stream %s: %s after an earlier error (abort the file): %w", f.stream, op, f.err)
	case stateCommitted:
		return fmt.Errorf("sink: stream %s: %s after commit of %s", f.stream, op, f.final)
	default:
		return fmt.Errorf("sink: stream %s: %s after abort of %s", f.stream, op, f.temp)
	}
}

func (f *File) fail(err error) error {
	f.state = stateFailed
	f.err = err
	return err
}

func (f *File) step(s Step, path string) error {
	if f.hook == nil {
		return nil
	}
	if err := f.hook(s, path); err != nil {
		return fmt.Errorf("hook after %s: %w", s, err)
	}
	return nil
}

// syncDir fsyncs a directory so that entries created or renamed in it survive a crash.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		// Windows cannot fsync a directory handle; NTFS journals the rename itself.
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("fsync directory: %w", err)
	}
	if err := d.Sync(); err != nil {
		d.Close()
		return fmt.Errorf("fsync directory %s: %w", dir, err)
	}
	if err := d.Close(); err != nil {
		return fmt.Errorf("fsync directory %s: %w", dir, err)
	}
	return nil
}

// mkdirDurable creates dir and any missing parents (0o755) and fsyncs the parent of each
// directory it created; otherwise a crash could lose a new stream directory together
// with the committed files inside it.
func mkdirDurable(dir string) error {
	dir = filepath.Clean(dir)
	var created []string // deepest first
	for d := dir; ; d = filepath.Dir(d) {
		info, err := os.Stat(d)
		if err == nil {
			if !info.IsDir() {
				return fmt.Errorf("%s is not a directory", d)
			}
			break
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		created = append(created, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	if len(created) == 0 {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for i := len(created) - 1; i >= 0; i-- {
		if err := syncDir(filepath.Dir(created[i])); err != nil {
			return err
		}
	}
	return nil
}
