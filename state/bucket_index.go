package state

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

// On a bucket a line index is objects under "_state/index/" (nothing can be appended
// to or truncated there, and nothing is overwritten):
//
//	<stream>.<gen>.idx              the generation, as in a file
//	<stream>.<gen>.partial.<n>      chunk n (from 1) of the generation being written:
//	                                each Sync uploads what was added since the last
//	                                one; a checkpoint records how many chunks count
//	<stream>.<gen>.journal.<n>      one object per Journal call
//
// Commit streams the chunks into the .idx object, then deletes them. A key is only
// used again after the object under it was deleted as garbage (chunks past a
// checkpoint, a generation no state names), and every write is "create only if
// absent", so a store that still showed the deleted object would fail the write
// rather than let two versions exist.

const indexPrefix = genPrefix + "index/"

// bucketIndex is the bucket side of LineIndex.
type bucketIndex struct {
	b       *blob.Bucket
	ctx     context.Context // without cancellation; requests add their own timeout
	display string

	mu          sync.Mutex
	journalNext map[string]int // by journal base key: the next object's number, once listed
}

func indexKey(stream string, gen int64, ext string) string {
	return indexPrefix + stream + "." + strconv.FormatInt(gen, 10) + "." + ext
}

func numbered(ext string, n int) string { return fmt.Sprintf("%s.%012d", ext, n) }

func (bi *bucketIndex) where(key string) string { return bi.display + "/" + key }

// open reads a generation, resuming the download if the connection drops: a reader
// may sit idle for a long time while the scan it feeds waits for NetSuite.
func (bi *bucketIndex) open(stream string, gen int64) (io.ReadCloser, string, error) {
	key := indexKey(stream, gen, "idx")
	r := &resumingReader{ctx: bi.ctx, b: bi.b, key: key}
	if err := r.reopen(); err != nil {
		return nil, "", fmt.Errorf("line index %s: %w", bi.where(key), err)
	}
	return r, bi.where(key), nil
}

type resumingReader struct {
	ctx     context.Context
	b       *blob.Bucket
	key     string
	r       *blob.Reader
	off     int64
	retries int
}

func (r *resumingReader) reopen() error {
	if r.r != nil {
		r.r.Close()
	}
	rr, err := r.b.NewRangeReader(r.ctx, r.key, r.off, -1, nil)
	r.r = rr
	return err
}

func (r *resumingReader) Read(p []byte) (int, error) {
	for {
		n, err := r.r.Read(p)
		r.off += int64(n)
		if err == nil || err == io.EOF || n > 0 || r.retries >= 3 {
			return n, err
		}
		r.retries++
		if rerr := r.reopen(); rerr != nil {
			return 0, fmt.Errorf("%w (resuming after: %v)", rerr, err)
		}
	}
}

func (r *resumingReader) Close() error {
	if r.r == nil {
		return nil
	}
	return r.r.Close()
}

// exists reports whether key is an object.
func (bi *bucketIndex) exists(key string) (bool, error) {
	ctx, cancel := context.WithTimeout(bi.ctx, opTimeout)
	defer cancel()
	ok, err := bi.b.Exists(ctx, key)
	if err != nil {
		return false, fmt.Errorf("line index %s: %w", bi.where(key), err)
	}
	return ok, nil
}

// chunk is one listed object of a partial generation.
type chunk struct {
	n    int
	size int64
}

// list returns the objects whose keys start with prefix, as key -> size.
func (bi *bucketIndex) list(prefix string) (map[string]int64, error) {
	ctx, cancel := context.WithTimeout(bi.ctx, opTimeout)
	defer cancel()
	out := map[string]int64{}
	it := bi.b.List(&blob.ListOptions{Prefix: prefix})
	for {
		obj, err := it.Next(ctx)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("line index %s: list: %w", bi.where(prefix), err)
		}
		if !obj.IsDir {
			out[obj.Key] = obj.Size
		}
	}
}

// numberedObjects lists "<base>.<n>" objects, by n ascending.
func (bi *bucketIndex) numberedObjects(base string) ([]chunk, error) {
	objs, err := bi.list(base + ".")
	if err != nil {
		return nil, err
	}
	var out []chunk
	for key, size := range objs {
		n, err := strconv.Atoi(strings.TrimPrefix(key, base+"."))
		if err == nil && n > 0 {
			out = append(out, chunk{n, size})
		}
	}
	slices.SortFunc(out, func(a, b chunk) int { return a.n - b.n })
	return out, nil
}

func (bi *bucketIndex) delete(key string) error {
	ctx, cancel := context.WithTimeout(bi.ctx, opTimeout)
	defer cancel()
	if err := bi.b.Delete(ctx, key); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
		return fmt.Errorf("line index %s: delete: %w", bi.where(key), err)
	}
	return nil
}

// create starts or resumes a partial generation: chunks past the checkpoint (synced by
// a run that crashed before recording them) are deleted; a fresh start also deletes a
// generation gen that no state names (left by a run that crashed after committing it).
func (bi *bucketIndex) create(stream string, gen int64, at IndexPosition) (*chunkSink, error) {
	base := indexKey(stream, gen, "partial")
	chunks, err := bi.numberedObjects(base)
	if err != nil {
		return nil, err
	}
	var size int64
	next := 1
	for _, c := range chunks {
		if c.n > at.Chunks {
			if err := bi.delete(numbered(base, c.n)); err != nil {
				return nil, err
			}
			continue
		}
		if c.n == next {
			size += c.size
			next++
		}
	}
	if at.Bytes > 0 && (next-1 != at.Chunks || size != at.Bytes) {
		return nil, fmt.Errorf("%w: line index %s holds %d bytes in chunks 1..%d, not the %d bytes of its checkpoint",
			ErrCorrupt, bi.where(base), size, at.Chunks, at.Bytes)
	}
	if at.Bytes == 0 {
		if err := bi.delete(indexKey(stream, gen, "idx")); err != nil {
			return nil, err
		}
	}
	return &chunkSink{bi: bi, base: base, final: indexKey(stream, gen, "idx"), chunks: at.Chunks}, nil
}

// chunkSink uploads a partial generation as chunk objects, streaming: the chunk being
// written is an upload that Sync completes.
type chunkSink struct {
	bi          *bucketIndex
	base, final string
	chunks      int // completed
	w           *blob.Writer
	cancel      context.CancelFunc
	err         error // sticky: after a failed upload the byte count no longer matches
}

func (s *chunkSink) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	if s.w == nil {
		ctx, cancel := context.WithCancel(s.bi.ctx)
		key := numbered(s.base, s.chunks+1)
		w, err := s.bi.b.NewWriter(ctx, key, &blob.WriterOptions{IfNotExist: true, ContentType: "application/octet-stream"})
		if err != nil {
			cancel()
			s.err = fmt.Errorf("line index %s: %w", s.bi.where(key), err)
			return 0, s.err
		}
		s.w, s.cancel = w, cancel
	}
	n, err := s.w.Write(p)
	if err != nil {
		s.discard()
		s.err = fmt.Errorf("line index %s: %w", s.bi.where(s.base), err)
	}
	return n, s.err
}

func (s *chunkSink) sync() (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	if s.w == nil {
		return s.chunks, nil // nothing new: no empty chunk
	}
	err := s.w.Close()
	s.cancel()
	s.w = nil
	if err != nil {
		s.err = fmt.Errorf("line index %s: %w", s.bi.where(numbered(s.base, s.chunks+1)), err)
		return 0, s.err
	}
	s.chunks++
	return s.chunks, nil
}

// discard abandons the chunk being uploaded: it never appears.
func (s *chunkSink) discard() {
	if s.w != nil {
		s.cancel()
		s.w.Close()
		s.w = nil
	}
}

func (s *chunkSink) abort() { s.discard() }

// commit streams the chunks, in order, into the generation object, then deletes them.
func (s *chunkSink) commit() error {
	if s.err != nil {
		return s.err
	}
	ctx, cancel := context.WithCancel(s.bi.ctx)
	defer cancel()
	w, err := s.bi.b.NewWriter(ctx, s.final, &blob.WriterOptions{IfNotExist: true, ContentType: "application/octet-stream"})
	if err != nil {
		return fmt.Errorf("line index %s: %w", s.bi.where(s.final), err)
	}
	for n := 1; n <= s.chunks; n++ {
		key := numbered(s.base, n)
		r, err := s.bi.b.NewReader(ctx, key, nil)
		if err == nil {
			_, err = io.Copy(w, r)
			r.Close()
		}
		if err != nil {
			cancel() // abandons the generation object
			w.Close()
			return fmt.Errorf("line index %s: commit from %s: %w", s.bi.where(s.final), key, err)
		}
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("line index %s: %w", s.bi.where(s.final), err)
	}
	for n := 1; n <= s.chunks; n++ {
		_ = s.bi.delete(numbered(s.base, n)) // best effort: Prune removes leftovers
	}
	return nil
}

// journal stores one journal record batch as the next numbered object.
func (bi *bucketIndex) journal(stream string, gen int64, data []byte) error {
	bi.mu.Lock()
	defer bi.mu.Unlock()
	base := indexKey(stream, gen, "journal")
	for attempt := 0; ; attempt++ {
		next, ok := bi.journalNext[base]
		if !ok {
			objs, err := bi.numberedObjects(base)
			if err != nil {
				return err
			}
			next = 1
			if len(objs) > 0 {
				next = objs[len(objs)-1].n + 1
			}
		}
		key := numbered(base, next)
		err := putNew(bi.ctx, bi.b, key, data, nil)
		if gcerrors.Code(err) == gcerrors.FailedPrecondition && attempt == 0 {
			delete(bi.journalNext, base) // listed too early: list again
			continue
		}
		if err != nil {
			return fmt.Errorf("line index journal %s: %w", bi.where(key), err)
		}
		if bi.journalNext == nil {
			bi.journalNext = map[string]int{}
		}
		bi.journalNext[base] = next + 1
		return nil
	}
}

// journalKeys reads every journal object of gen, in order.
func (bi *bucketIndex) journalKeys(stream string, gen int64) ([]LineKey, error) {
	base := indexKey(stream, gen, "journal")
	objs, err := bi.numberedObjects(base)
	if err != nil {
		return nil, err
	}
	var keys []LineKey
	for _, o := range objs {
		key := numbered(base, o.n)
		b, err := readObject(bi.ctx, bi.b, key)
		if err != nil {
			return nil, fmt.Errorf("line index journal %s: %w", bi.where(key), err)
		}
		keys = decodeJournal(keys, b)
	}
	return keys, nil
}

// prune deletes every object of the stream's index but generation keep and the partial
// generation partial.
func (bi *bucketIndex) prune(stream string, keep, partial int64) error {
	prefix := indexPrefix + stream + "."
	objs, err := bi.list(prefix)
	if err != nil {
		return err
	}
	var errs []error
	for key := range objs {
		gen, ext, ok := parseIndexName(strings.TrimPrefix(key, prefix))
		if !ok || keepIndexObject(gen, ext, keep, partial) {
			continue
		}
		errs = append(errs, bi.delete(key))
	}
	return errors.Join(errs...)
}
