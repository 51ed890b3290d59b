package sink

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"

	"github.com/apache/arrow/go/v17/arrow"
)

// ErrExists is wrapped by errors for a file or run artifact whose name is already taken:
// the sink never overwrites (design §2.7). It usually means a run id was reused.
var ErrExists = errors.New("already exists (never overwritten; was the run id reused?)")

// Step names a point in Commit after which Options.Hook is called.
type Step string

// Commit's durability steps, in order. A local file goes through Written, Fsynced,
// Renamed and DirSynced; an object through Written and Uploaded.
const (
	StepWritten   Step = "written"   // all data and the footer are in the temp file or the open upload (not yet durable)
	StepFsynced   Step = "fsynced"   // local: the temp file is fsynced and closed
	StepRenamed   Step = "renamed"   // local: the file has its final name (directory not yet synced)
	StepDirSynced Step = "dirsynced" // local: the directory is fsynced: the file is durable
	StepUploaded  Step = "uploaded"  // object storage: the upload closed without error: durable and visible
)

type fileState uint8

const (
	stateOpen      fileState = iota
	stateFailed              // a Write or Commit failed; only Abort is allowed
	stateCommitted           // durable under its final name
	stateAborted             // temp file, upload or half-committed file removed
)

// File is one output file in progress. It is not safe for concurrent use.
type File struct {
	sink        *Sink
	stream      string
	schema      *arrow.Schema
	fingerprint string
	key         string    // final key, relative to the root
	out         io.Writer // what the encoder writes into
	enc         encoder
	rows        int64
	state       fileState
	err         error // why the file failed
	hook        func(Step, string) error

	// Local root.
	dir     string // run directory
	final   string // final path
	temp    string // temp path, where the data lives until rename
	file    *os.File
	renamed bool // the data now lives at final, but Commit has not finished

	// Object storage.
	obj *upload

	// Singer: the RECORD lines, until Commit writes them to Options.Singer.
	singer *bytes.Buffer
}

// name is where the file is, for messages: the temp path while local and open, else the key.
func (f *File) name() string {
	if f.obj == nil && !f.renamed && f.state != stateCommitted {
		return f.temp
	}
	if f.obj == nil {
		return f.final
	}
	return f.key
}

// openLocal creates the run directory durably and the temp file exclusively, so two
// Files can never share a name.
func (f *File) openLocal() error {
	f.final = keyPath(f.sink.opts.Dir, f.key)
	f.dir = filepath.Dir(f.final)
	f.temp = filepath.Join(f.dir, tempPrefix+filepath.Base(f.final)+tempSuffix)
	if err := mkdirDurable(f.dir); err != nil {
		return fmt.Errorf("sink: stream %s: create directory: %w", f.stream, err)
	}
	// The final name must not exist either: rename would silently replace it.
	if _, err := os.Lstat(f.final); err == nil {
		return fmt.Errorf("sink: stream %s: %s: %w", f.stream, f.final, ErrExists)
	}
	file, err := os.OpenFile(f.temp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("sink: stream %s: create temp file: %w", f.stream, err)
	}
	f.file = file
	f.out = file
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
			f.stream, f.name(), rec.Schema(), f.schema)
	}
	if rec.NumRows() == 0 {
		return nil
	}
	if f.obj != nil {
		// Some drivers buffer without looking at the context; fail as soon as it is done.
		if err := f.obj.ctx.Err(); err != nil {
			return f.fail(fmt.Errorf("sink: stream %s: write %s: %w", f.stream, f.name(), err))
		}
	}
	if err := f.enc.write(rec); err != nil {
		return f.fail(fmt.Errorf("sink: stream %s: write %s: %w", f.stream, f.name(), err))
	}
	f.rows += rec.NumRows()
	return nil
}

// Rows returns the number of rows written so far.
func (f *File) Rows() int64 { return f.rows }

// Key returns the file's final key relative to the root.
func (f *File) Key() string { return f.key }

// Commit makes the file durable under its final name and returns what is now safe.
//
// Local: flush the encoder, fsync the file, close it, rename it to its final name (never
// over an existing file), fsync the directory. Object storage: flush the encoder into
// the upload and close it with "create only if absent".
//
// If Commit fails the file is unusable: call Abort, which also removes a file that was
// already renamed or uploaded but not confirmed to the caller, so a rerun that re-emits
// the rows does not leave a duplicate behind.
func (f *File) Commit() (Receipt, error) {
	if err := f.usable("commit"); err != nil {
		return Receipt{}, err
	}
	var size int64
	var err error
	switch {
	case f.singer != nil:
		size, err = f.commitSinger()
	case f.obj != nil:
		size, err = f.commitObject()
	default:
		size, err = f.commitLocal()
	}
	if err != nil {
		return Receipt{}, f.fail(fmt.Errorf("sink: stream %s: commit %s: %w", f.stream, f.key, err))
	}
	f.state = stateCommitted
	rc := Receipt{
		Stream:      f.stream,
		Key:         f.key,
		URL:         f.sink.url(f.key),
		Path:        f.final,
		Rows:        f.rows,
		Bytes:       size,
		Fingerprint: f.fingerprint,
	}
	f.sink.closed(f, rc)
	return rc, nil
}

// commitSinger writes the buffered RECORD messages (after a SCHEMA message when the
// stream's schema is new) and flushes them: on the Singer output is the durable point.
func (f *File) commitSinger() (int64, error) {
	if err := f.enc.finish(); err != nil {
		return 0, fmt.Errorf("flush: %w", err)
	}
	size := int64(f.singer.Len())
	if err := f.sink.opts.Singer.emit(f.stream, f.schema, f.fingerprint, f.singer.Bytes(), f.rows); err != nil {
		return 0, err
	}
	f.singer = &bytes.Buffer{} // release the rows
	return size, f.step(StepWritten, f.key)
}

func (f *File) commitLocal() (int64, error) {
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
	if err := renameNew(f.temp, f.final); err != nil {
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

// renameNew renames temp to final unless final exists. The check and the rename are two
// steps: only a second writer using the same run id could race here.
func renameNew(temp, final string) error {
	if _, err := os.Lstat(final); err == nil {
		return fmt.Errorf("%s: %w", final, ErrExists)
	}
	return os.Rename(temp, final)
}

// Abort closes and removes the file. It is safe after a failed Write or Commit, may be
// called more than once, and does nothing after a successful Commit.
func (f *File) Abort() error {
	switch f.state {
	case stateCommitted, stateAborted:
		return nil
	}
	f.state = stateAborted
	defer f.sink.closed(f)
	if f.singer != nil {
		f.singer = nil // nothing was written
		return nil
	}
	if f.obj != nil {
		if err := f.abortObject(); err != nil {
			return fmt.Errorf("sink: stream %s: abort %s: %w", f.stream, f.key, err)
		}
		return nil
	}
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
		return fmt.Errorf("sink: stream %s: %s after commit of %s", f.stream, op, f.key)
	default:
		return fmt.Errorf("sink: stream %s: %s after abort of %s", f.stream, op, f.key)
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

// writeLocalOnce writes data to path durably and only if path does not exist yet: temp
// file (exclusive), fsync, close, rename, fsync the directory.
func writeLocalOnce(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	if err := mkdirDurable(dir); err != nil {
		return err
	}
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("%s: %w", path, ErrExists)
	}
	temp := filepath.Join(dir, tempPrefix+filepath.Base(path)+tempSuffix)
	// A temp file left by a run killed while writing this artifact is garbage: the
	// state lock means no one else writes it now, and refusing it would stop every later
	// run from writing the artifact (the manifest that Recover owes that run).
	file, err := os.OpenFile(temp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			file.Close()
			os.Remove(temp)
		}
	}()
	if _, err := file.Write(data); err != nil {
		return err
	}
	if err := file.Sync(); err != nil {
		return fmt.Errorf("fsync: %w", err)
	}
	if err := file.Close(); err != nil {
		return fmt.Errorf("close: %w", err)
	}
	if err := renameNew(temp, path); err != nil {
		return err
	}
	return syncDir(dir)
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
// directory it created; otherwise a crash could lose a new stream or run directory
// together with the committed files inside it.
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
