package state

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// A line index is the set of child rows (an address-book line, a subsidiary membership)
// that a stream's output may hold alive, so that a run can write a tombstone for a row
// that disappeared from NetSuite — which keeps no deleted-record entry for such rows.
//
// It lives next to the state file, in <state>.index/, as generations and journals:
//
//	<stream>.<gen>.idx        every (parent, line, hash) the output holds alive, in key
//	                          order; the state entry's IndexGen names the current one
//	<stream>.<gen>.journal    keys written to output since that generation was made,
//	                          appended and fsynced before the file holding them is
//	                          committed, so that after a crash generation ∪ journal is
//	                          still a superset of what the output holds alive
//	<stream>.<gen>.partial    the next generation while a full scan writes it
//
// The rule that keeps it safe: a key is recorded before any row carrying it becomes
// durable, and forgotten only after its tombstone is durable. A key recorded for a row
// that never became durable costs at most one needless tombstone.
//
// Size: an entry is two varints and an 8-byte hash, about 15 bytes; a million lines
// take about 15 MB. Readers and writers stream; nothing loads a generation whole.

// LineKey identifies a child row: the record it belongs to and its own id.
type LineKey struct {
	Parent int64 `json:"parent"`
	Line   int64 `json:"line"`
}

// Compare orders keys by parent, then line.
func (k LineKey) Compare(o LineKey) int {
	if c := cmp.Compare(k.Parent, o.Parent); c != 0 {
		return c
	}
	return cmp.Compare(k.Line, o.Line)
}

// LineEntry is a key and the hash of the row last written for it (0: unknown, which
// makes the next full scan write the row again).
type LineEntry struct {
	LineKey
	Hash uint64
}

var (
	indexMagic   = []byte("EXTRACT-LINEINDEX-1\n")
	indexTrailer = []byte("END\n")
)

// LineIndex is one stream's index: a directory next to a state file, or objects under
// "_state/index/" on a bucket (see bucketIndex). Only the holder of the state lock uses it.
type LineIndex struct {
	dir, stream string
	bucket      *bucketIndex // nil: files in dir
}

func (x *LineIndex) name(gen int64, ext string) string {
	return filepath.Join(x.dir, x.stream+"."+strconv.FormatInt(gen, 10)+"."+ext)
}

// IndexReader reads a generation in key order.
type IndexReader struct {
	c     io.Closer
	r     *bufio.Reader
	crc   uint32
	n     int64
	path  string
	done  bool
	peek  *LineEntry
	empty bool
	buf   []byte
}

// Open opens generation gen for reading; gen 0 is the empty index.
func (x *LineIndex) Open(gen int64) (*IndexReader, error) {
	if gen == 0 {
		return &IndexReader{empty: true, done: true}, nil
	}
	var (
		rc   io.ReadCloser
		path string
		err  error
	)
	if x.bucket != nil {
		rc, path, err = x.bucket.open(x.stream, gen)
	} else {
		path = x.name(gen, "idx")
		rc, err = os.Open(path)
		if err != nil {
			err = fmt.Errorf("line index %s: %w", path, err)
		}
	}
	if err != nil {
		return nil, err
	}
	r := &IndexReader{c: rc, r: bufio.NewReaderSize(rc, 64<<10), path: path}
	magic := make([]byte, len(indexMagic))
	if _, err := io.ReadFull(r.r, magic); err != nil || !bytes.Equal(magic, indexMagic) {
		rc.Close()
		return nil, fmt.Errorf("%w: line index %s: not a line index file", ErrCorrupt, path)
	}
	return r, nil
}

// Next returns the next entry, or ok false at the end. An index cut short or altered is
// an error (ErrCorrupt): using it could resurrect or lose rows.
func (r *IndexReader) Next() (LineEntry, bool, error) {
	if r.peek != nil {
		e := *r.peek
		r.peek = nil
		return e, true, nil
	}
	if r.done {
		return LineEntry{}, false, nil
	}
	e, end, err := r.readEntry()
	if err != nil {
		return LineEntry{}, false, fmt.Errorf("%w: line index %s: entry %d: %v", ErrCorrupt, r.path, r.n, err)
	}
	if end {
		r.done = true
		var tail [12]byte
		if _, err := io.ReadFull(r.r, tail[:]); err != nil {
			return LineEntry{}, false, fmt.Errorf("%w: line index %s: truncated trailer", ErrCorrupt, r.path)
		}
		if n := int64(binary.LittleEndian.Uint64(tail[:8])); n != r.n || binary.LittleEndian.Uint32(tail[8:]) != r.crc {
			return LineEntry{}, false, fmt.Errorf("%w: line index %s: %d entries or checksum do not match the trailer", ErrCorrupt, r.path, r.n)
		}
		return LineEntry{}, false, nil
	}
	r.n++
	return e, true, nil
}

// Peek returns the next entry without consuming it.
func (r *IndexReader) Peek() (LineEntry, bool, error) {
	e, ok, err := r.Next()
	if ok {
		r.peek = &e
	}
	return e, ok, err
}

// Close closes the reader.
func (r *IndexReader) Close() error {
	if r.c == nil {
		return nil
	}
	return r.c.Close()
}

// An entry is a marker byte (1 entry, 0 end), uvarint parent, uvarint line and an
// 8-byte hash. Ids are positive; a negative one is written as its uint64 bits.
func appendEntry(b []byte, e LineEntry) []byte {
	b = append(b, 1)
	b = binary.AppendUvarint(b, uint64(e.Parent))
	b = binary.AppendUvarint(b, uint64(e.Line))
	return binary.LittleEndian.AppendUint64(b, e.Hash)
}

func (rd *IndexReader) readEntry() (LineEntry, bool, error) {
	r := rd.r
	marker, err := r.ReadByte()
	if err != nil {
		return LineEntry{}, false, fmt.Errorf("truncated: %v", err)
	}
	if marker == 0 {
		if !bytes.Equal(peekN(r, len(indexTrailer)), indexTrailer) {
			return LineEntry{}, false, errors.New("bad end marker")
		}
		_, _ = r.Discard(len(indexTrailer))
		return LineEntry{}, true, nil
	}
	if marker != 1 {
		return LineEntry{}, false, fmt.Errorf("bad marker %d", marker)
	}
	p, err := binary.ReadUvarint(r)
	if err != nil {
		return LineEntry{}, false, err
	}
	l, err := binary.ReadUvarint(r)
	if err != nil {
		return LineEntry{}, false, err
	}
	var h [8]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return LineEntry{}, false, err
	}
	e := LineEntry{LineKey{int64(p), int64(l)}, binary.LittleEndian.Uint64(h[:])}
	rd.buf = appendEntry(rd.buf[:0], e)
	rd.crc = crc32.Update(rd.crc, crc32.IEEETable, rd.buf)
	return e, false, nil
}

func peekN(r *bufio.Reader, n int) []byte {
	b, _ := r.Peek(n)
	return b
}

// IndexWriter writes the next generation as a partial one, in key order.
type IndexWriter struct {
	x    *LineIndex
	gen  int64
	sink indexSink
	w    *bufio.Writer
	n    int64 // entries
	size int64 // bytes written, buffered included
	crc  uint32
	last *LineKey
	buf  []byte
}

// indexSink is where a partial generation's bytes go.
type indexSink interface {
	io.Writer
	// sync makes every byte written so far durable and says how many chunks hold them
	// (0 for a file).
	sync() (chunks int, err error)
	// commit turns the synced partial generation into the generation.
	commit() error
	// abort gives up without committing; what was synced stays for a resume.
	abort()
}

// Create starts generation gen, or resumes it after a crash from the position an earlier
// Sync returned (the zero position starts afresh): bytes written after that checkpoint
// are cut off.
func (x *LineIndex) Create(gen int64, at IndexPosition) (*IndexWriter, error) {
	var (
		sink indexSink
		err  error
	)
	if x.bucket != nil {
		sink, err = x.bucket.create(x.stream, gen, at)
	} else {
		sink, err = x.createFile(gen, at)
	}
	if err != nil {
		return nil, err
	}
	w := &IndexWriter{x: x, gen: gen, sink: sink, w: bufio.NewWriterSize(sink, 64<<10)}
	if at.Bytes == 0 {
		w.w.Write(indexMagic) // buffered: an error shows at the next flush
		w.size = int64(len(indexMagic))
		return w, nil
	}
	w.size, w.n, w.crc = at.Bytes, at.Entries, at.CRC
	if at.Entries > 0 {
		last := at.Last
		w.last = &last
	}
	return w, nil
}

// Committed reports whether generation gen was committed. A checkpoint that still shows
// gen's write in progress then belongs to a run that stopped between Commit and its
// checkpoint: every row the generation covers is durable, and only the checkpoint is left.
func (x *LineIndex) Committed(gen int64) (bool, error) {
	if x.bucket != nil {
		return x.bucket.exists(indexKey(x.stream, gen, "idx"))
	}
	_, err := os.Stat(x.name(gen, "idx"))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("line index %s: %w", x.name(gen, "idx"), err)
	}
	return true, nil
}

// fileSink is a partial generation in a local file, renamed into place on commit.
type fileSink struct {
	*os.File
	partial, final, dir string
}

func (x *LineIndex) createFile(gen int64, at IndexPosition) (*fileSink, error) {
	if err := os.MkdirAll(x.dir, 0o700); err != nil {
		return nil, fmt.Errorf("line index %s: %w", x.dir, err)
	}
	path := x.name(gen, "partial")
	flags := os.O_RDWR | os.O_CREATE
	if at.Bytes == 0 {
		flags |= os.O_TRUNC
		// A generation committed by a run that crashed before its checkpoint named it is
		// garbage now; it must not outlive this start, or Committed would vouch for it.
		if err := os.Remove(x.name(gen, "idx")); err == nil {
			if err := syncDir(x.dir); err != nil {
				return nil, err
			}
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("line index %s: %w", x.name(gen, "idx"), err)
		}
	}
	f, err := os.OpenFile(path, flags, 0o600)
	if err != nil {
		return nil, fmt.Errorf("line index %s: %w", path, err)
	}
	if at.Bytes > 0 {
		fi, err := f.Stat()
		if err != nil || fi.Size() < at.Bytes {
			f.Close()
			return nil, fmt.Errorf("%w: line index %s is shorter than its checkpoint (%d bytes)", ErrCorrupt, path, at.Bytes)
		}
		if err := f.Truncate(at.Bytes); err != nil {
			f.Close()
			return nil, err
		}
		if _, err := f.Seek(at.Bytes, io.SeekStart); err != nil {
			f.Close()
			return nil, err
		}
	}
	return &fileSink{File: f, partial: path, final: x.name(gen, "idx"), dir: x.dir}, nil
}

func (s *fileSink) sync() (int, error) { return 0, s.File.Sync() }

func (s *fileSink) commit() error {
	if err := s.File.Close(); err != nil {
		return err
	}
	if err := os.Rename(s.partial, s.final); err != nil {
		return err
	}
	return syncDir(s.dir)
}

func (s *fileSink) abort() { s.File.Close() }

// IndexPosition is where a partial generation stands at a checkpoint.
type IndexPosition struct {
	Bytes   int64   `json:"bytes"`
	Entries int64   `json:"entries"`
	CRC     uint32  `json:"crc"`
	Last    LineKey `json:"last"`             // the last entry's key, when Entries > 0
	Chunks  int     `json:"chunks,omitempty"` // on a bucket: the chunk objects holding Bytes
}

// Add appends an entry; keys must come in strictly increasing order.
func (w *IndexWriter) Add(e LineEntry) error {
	if w.last != nil && e.LineKey.Compare(*w.last) <= 0 {
		return fmt.Errorf("line index %s: key %v after %v: not in order", w.x.stream, e.LineKey, *w.last)
	}
	w.buf = appendEntry(w.buf[:0], e)
	w.crc = crc32.Update(w.crc, crc32.IEEETable, w.buf)
	if _, err := w.w.Write(w.buf); err != nil {
		return err
	}
	w.size += int64(len(w.buf))
	w.n++
	k := e.LineKey
	w.last = &k
	return nil
}

// Sync makes everything added so far durable and returns the position to record in a
// checkpoint.
func (w *IndexWriter) Sync() (IndexPosition, error) {
	if err := w.w.Flush(); err != nil {
		return IndexPosition{}, err
	}
	chunks, err := w.sink.sync()
	if err != nil {
		return IndexPosition{}, err
	}
	p := IndexPosition{Bytes: w.size, Entries: w.n, CRC: w.crc, Chunks: chunks}
	if w.last != nil {
		p.Last = *w.last
	}
	return p, nil
}

// Commit seals the generation and puts it into place.
func (w *IndexWriter) Commit() error {
	var tail []byte
	tail = append(tail, 0)
	tail = append(tail, indexTrailer...)
	tail = binary.LittleEndian.AppendUint64(tail, uint64(w.n))
	tail = binary.LittleEndian.AppendUint32(tail, w.crc)
	if _, err := w.w.Write(tail); err != nil {
		return err
	}
	if _, err := w.Sync(); err != nil {
		return err
	}
	sink := w.sink
	w.sink = nil
	return sink.commit()
}

// Abort closes the writer and leaves the partial generation for a resume.
func (w *IndexWriter) Abort() {
	if w.sink != nil {
		w.sink.abort()
		w.sink = nil
	}
}

const journalRecord = 16

// Journal appends keys to generation gen's journal and fsyncs them.
func (x *LineIndex) Journal(gen int64, keys []LineKey) error {
	if len(keys) == 0 {
		return nil
	}
	if x.bucket != nil {
		return x.bucket.journal(x.stream, gen, encodeJournal(keys))
	}
	if err := os.MkdirAll(x.dir, 0o700); err != nil {
		return fmt.Errorf("line index %s: %w", x.dir, err)
	}
	path := x.name(gen, "journal")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("line index journal %s: %w", path, err)
	}
	defer f.Close()
	// A torn record from a crash mid-append is cut off before appending.
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	end := fi.Size() - fi.Size()%journalRecord
	if _, err := f.WriteAt(encodeJournal(keys), end); err != nil {
		return fmt.Errorf("line index journal %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("line index journal %s: %w", path, err)
	}
	if fi.Size() == 0 {
		return syncDir(x.dir)
	}
	return nil
}

func encodeJournal(keys []LineKey) []byte {
	buf := make([]byte, 0, len(keys)*journalRecord)
	for _, k := range keys {
		buf = binary.LittleEndian.AppendUint64(buf, uint64(k.Parent))
		buf = binary.LittleEndian.AppendUint64(buf, uint64(k.Line))
	}
	return buf
}

// decodeJournal appends b's records to keys; a torn last record is ignored.
func decodeJournal(keys []LineKey, b []byte) []LineKey {
	for i := 0; i+journalRecord <= len(b); i += journalRecord {
		keys = append(keys, LineKey{int64(binary.LittleEndian.Uint64(b[i:])), int64(binary.LittleEndian.Uint64(b[i+8:]))})
	}
	return keys
}

// JournalKeys returns generation gen's journal, sorted and without repeats.
func (x *LineIndex) JournalKeys(gen int64) ([]LineKey, error) {
	var keys []LineKey
	if x.bucket != nil {
		var err error
		if keys, err = x.bucket.journalKeys(x.stream, gen); err != nil {
			return nil, err
		}
	} else {
		b, err := os.ReadFile(x.name(gen, "journal"))
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("line index journal: %w", err)
		}
		keys = decodeJournal(make([]LineKey, 0, len(b)/journalRecord), b)
	}
	slices.SortFunc(keys, LineKey.Compare)
	return slices.Compact(keys), nil
}

// Prune removes every file of the stream's index but generation keep and the partial
// generation partial (0 for none): what a committed state no longer names.
func (x *LineIndex) Prune(keep, partial int64) error {
	if x.bucket != nil {
		return x.bucket.prune(x.stream, keep, partial)
	}
	entries, err := os.ReadDir(x.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), x.stream+".")
		if !ok {
			continue
		}
		gen, ext, ok := parseIndexName(rest)
		if !ok || keepIndexObject(gen, ext, keep, partial) {
			continue
		}
		if err := os.Remove(filepath.Join(x.dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// parseIndexName splits "<gen>.<ext>" (what follows "<stream>.").
func parseIndexName(rest string) (int64, string, bool) {
	genText, ext, ok := strings.Cut(rest, ".")
	gen, err := strconv.ParseInt(genText, 10, 64)
	return gen, ext, ok && err == nil
}

// keepIndexObject says whether Prune(keep, partial) keeps a file or object of the
// generation gen with extension ext ("idx", "journal", "partial", or on a bucket
// "journal.<n>" and "partial.<n>").
func keepIndexObject(gen int64, ext string, keep, partial int64) bool {
	kind, _, _ := strings.Cut(ext, ".")
	return (gen == keep && (kind == "idx" || kind == "journal")) || (gen == partial && kind == "partial")
}

// Holds reports whether the index has what st names: the generation st.IndexGen (0 is
// always there) and, for a full read in progress, its partial generation. An index kept
// apart from the state (Singer mode) can be missing when the state is not.
func (x *LineIndex) Holds(st Stream) (bool, error) {
	if st.IndexGen > 0 {
		ok, err := x.Committed(st.IndexGen)
		if err != nil || !ok {
			return false, err
		}
	}
	if st.Scan != nil && x.bucket == nil {
		if ok, err := x.Committed(st.Scan.Gen); err != nil || ok {
			return ok, err
		}
		_, err := os.Stat(x.name(st.Scan.Gen, "partial"))
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("line index %s: %w", x.name(st.Scan.Gen, "partial"), err)
		}
	}
	return true, nil
}
