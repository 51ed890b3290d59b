package sink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"time"

	"github.com/parquet-go/parquet-go"
	"gocloud.dev/blob"
)

// Manifest is the JSON of _manifests/<run id>.json. Its entries have the shape Redshift's
// COPY … MANIFEST reads (url, mandatory, meta.content_length); the other fields are ours.
type Manifest struct {
	RunID     string          `json:"run_id"`
	Started   string          `json:"started"`            // RFC 3339, UTC
	Finished  string          `json:"finished,omitempty"` // RFC 3339, UTC; absent when recovered
	Complete  bool            `json:"complete"`           // the run succeeded and wrote _SUCCESS markers
	Recovered bool            `json:"recovered,omitempty"`
	Format    Format          `json:"format"`
	Entries   []ManifestEntry `json:"entries"` // streams sorted, each stream's files in commit order
}

// ManifestEntry is one committed file.
type ManifestEntry struct {
	URL         string    `json:"url"`
	Mandatory   bool      `json:"mandatory"`
	Meta        EntryMeta `json:"meta"`
	Stream      string    `json:"stream"`
	Rows        *int64    `json:"rows,omitempty"` // absent when unknown (recovered NDJSON)
	Bytes       int64     `json:"bytes"`
	Fingerprint string    `json:"schema_fingerprint,omitempty"`
}

// EntryMeta is the "meta" object Redshift reads; content_length is required for Parquet.
type EntryMeta struct {
	ContentLength int64  `json:"content_length"`
	RecordCount   *int64 `json:"record_count,omitempty"`
}

// RunRecord is the JSON of _runs/<run id>.json.
type RunRecord struct {
	RunID    string `json:"run_id"`
	Started  string `json:"started"`
	Finished string `json:"finished"`
	Complete bool   `json:"complete"`
	Summary  any    `json:"summary"`
}

// ManifestInfo describes the manifest Finish wrote.
type ManifestInfo struct {
	Key      string // relative to the root, "_manifests/<run id>.json"
	URL      string
	Files    int
	Rows     int64
	Bytes    int64
	Complete bool
}

// Artifact keys, relative to the root.
func manifestKey(runID string) string { return "_manifests/" + runID + ".json" }
func runKey(runID string) string      { return "_runs/" + runID + ".json" }

// SuccessName is the marker written last into each run directory of a successful run.
const SuccessName = "_SUCCESS"

// Finish ends the run: it writes the manifest of every committed file, then the run
// record (summary is any JSON-marshalable value, written as is under "summary"), then,
// only if ok, an empty _SUCCESS in every run directory that received files, last. A
// loader that sees _SUCCESS can trust the manifest to be complete. Each artifact is
// created only if absent, durably. With ok set, every File must be committed or
// aborted first. Finish may be called once.
func (s *Sink) Finish(ctx context.Context, summary any, ok bool) (ManifestInfo, error) {
	s.mu.Lock()
	if s.finished {
		s.mu.Unlock()
		return ManifestInfo{}, fmt.Errorf("sink: run %s: already finished", s.opts.RunID)
	}
	if ok && s.open > 0 {
		n := s.open
		s.mu.Unlock()
		return ManifestInfo{}, fmt.Errorf("sink: run %s: %d files still open; commit or abort them before finishing", s.opts.RunID, n)
	}
	s.finished = true
	streams := make([]string, 0, len(s.receipts))
	for st := range s.receipts {
		streams = append(streams, st)
	}
	slices.Sort(streams)
	var rcs []Receipt
	for _, st := range streams {
		rcs = append(rcs, s.receipts[st]...)
	}
	s.mu.Unlock()

	finished := s.opts.Now().UTC().Format(time.RFC3339)
	m := Manifest{
		RunID:    s.opts.RunID,
		Started:  s.opts.RunStart.UTC().Format(time.RFC3339),
		Finished: finished,
		Complete: ok,
		Format:   s.opts.Format,
		Entries:  []ManifestEntry{},
	}
	info := ManifestInfo{Key: manifestKey(s.opts.RunID), URL: s.url(manifestKey(s.opts.RunID)), Complete: ok}
	for _, rc := range rcs {
		rows := rc.Rows
		m.Entries = append(m.Entries, ManifestEntry{
			URL: rc.URL, Mandatory: true, Meta: EntryMeta{ContentLength: rc.Bytes, RecordCount: &rows},
			Stream: rc.Stream, Rows: &rows, Bytes: rc.Bytes, Fingerprint: rc.Fingerprint,
		})
		info.Files++
		info.Rows += rc.Rows
		info.Bytes += rc.Bytes
	}
	if err := s.put(ctx, info.Key, m); err != nil {
		return ManifestInfo{}, err
	}
	rr := RunRecord{RunID: m.RunID, Started: m.Started, Finished: finished, Complete: ok, Summary: summary}
	if err := s.put(ctx, runKey(s.opts.RunID), rr); err != nil {
		return info, err
	}
	if !ok {
		return info, nil
	}
	// Streams with files only: an empty run directory does not exist on object storage.
	for _, st := range streams {
		if len(s.receipts[st]) == 0 {
			continue
		}
		if err := s.putRaw(ctx, s.runDir(st)+"/"+SuccessName, nil, "application/octet-stream"); err != nil {
			return info, err
		}
	}
	return info, nil
}

// put writes v as indented JSON under key, once.
func (s *Sink) put(ctx context.Context, key string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("sink: run %s: encode %s: %w", s.opts.RunID, key, err)
	}
	return s.putRaw(ctx, key, append(data, '\n'), "application/json")
}

func (s *Sink) putRaw(ctx context.Context, key string, data []byte, ct string) error {
	var err error
	if s.opts.Bucket != nil {
		err = putOnce(ctx, s.opts.Bucket, key, data, ct)
	} else {
		err = writeLocalOnce(keyPath(s.opts.Dir, key), data)
	}
	if err != nil {
		return fmt.Errorf("sink: run %s: write %s: %w", s.opts.RunID, key, err)
	}
	return nil
}

// partName matches committed files; temp files, markers and foreign objects are skipped.
var partName = regexp.MustCompile(`^part-\d{6,}\.(parquet|ndjson)$`)

// Recover writes the manifest of a previous run that ended without one (killed, or its
// Finish failed before the manifest): opts.RunID and opts.RunStart name that run. If
// _manifests/<run id>.json exists it does nothing and returns false. Otherwise it lists
// the committed files of each stream in that run and writes the manifest with
// "complete": false and "recovered": true; rows come from Parquet footers (absent for
// NDJSON), schema fingerprints are left empty. It writes no run record and no _SUCCESS.
// Call it while holding the state lock, so the run in question cannot still be writing.
func Recover(ctx context.Context, opts Options, streams []string) (recovered bool, err error) {
	s, err := New(ctx, opts)
	if err != nil {
		return false, err
	}
	key := manifestKey(s.opts.RunID)
	if exists, err := s.exists(ctx, key); err != nil {
		return false, fmt.Errorf("sink: run %s: recover: %w", s.opts.RunID, err)
	} else if exists {
		return false, nil
	}
	m := Manifest{
		RunID:     s.opts.RunID,
		Started:   s.opts.RunStart.UTC().Format(time.RFC3339),
		Recovered: true,
		Format:    s.opts.Format,
		Entries:   []ManifestEntry{},
	}
	streams = slices.Clone(streams)
	slices.Sort(streams)
	for _, st := range slices.Compact(streams) {
		if err := validStream(st); err != nil {
			return false, err
		}
		files, err := s.listRun(ctx, st)
		if err != nil {
			return false, fmt.Errorf("sink: run %s: stream %s: recover: %w", s.opts.RunID, st, err)
		}
		for _, fl := range files {
			e := ManifestEntry{URL: s.url(fl.key), Mandatory: true, Meta: EntryMeta{ContentLength: fl.size}, Stream: st, Bytes: fl.size}
			if filepath.Ext(fl.key) == ".parquet" {
				rows, err := s.parquetRows(ctx, fl.key, fl.size)
				if err != nil {
					return false, fmt.Errorf("sink: run %s: stream %s: recover: read footer of %s: %w", s.opts.RunID, st, fl.key, err)
				}
				e.Rows, e.Meta.RecordCount = &rows, &rows
			}
			m.Entries = append(m.Entries, e)
		}
	}
	if err := s.put(ctx, key, m); err != nil {
		return false, err
	}
	return true, nil
}

type listed struct {
	key  string
	size int64
}

// listRun returns the committed files of stream in this run, in name (= commit) order.
func (s *Sink) listRun(ctx context.Context, stream string) ([]listed, error) {
	dir := s.runDir(stream)
	var out []listed
	if s.opts.Bucket != nil {
		it := s.opts.Bucket.List(&blob.ListOptions{Prefix: dir + "/", Delimiter: "/"})
		for {
			obj, err := it.Next(ctx)
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, err
			}
			if !obj.IsDir && partName.MatchString(obj.Key[len(dir)+1:]) {
				out = append(out, listed{obj.Key, obj.Size})
			}
		}
	} else {
		entries, err := os.ReadDir(keyPath(s.opts.Dir, dir))
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if !e.Type().IsRegular() || !partName.MatchString(e.Name()) {
				continue
			}
			fi, err := e.Info()
			if err != nil {
				return nil, err
			}
			out = append(out, listed{dir + "/" + e.Name(), fi.Size()})
		}
	}
	// Numbers have at least 6 digits; a 7-digit one sorts after all 6-digit ones.
	slices.SortFunc(out, func(a, b listed) int {
		if d := len(a.key) - len(b.key); d != 0 {
			return d
		}
		return compareStrings(a.key, b.key)
	})
	return out, nil
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (s *Sink) exists(ctx context.Context, key string) (bool, error) {
	if s.opts.Bucket != nil {
		return s.opts.Bucket.Exists(ctx, key)
	}
	_, err := os.Lstat(keyPath(s.opts.Dir, key))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

// parquetRows reads the row count from a Parquet footer: a few ranged reads at the end.
func (s *Sink) parquetRows(ctx context.Context, key string, size int64) (int64, error) {
	var r io.ReaderAt
	if s.opts.Bucket != nil {
		r = &blobReaderAt{ctx: ctx, b: s.opts.Bucket, key: key}
	} else {
		f, err := os.Open(keyPath(s.opts.Dir, key))
		if err != nil {
			return 0, err
		}
		defer f.Close()
		r = f
	}
	pf, err := parquet.OpenFile(r, size, parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return 0, err
	}
	return pf.NumRows(), nil
}

// blobReaderAt reads ranges of an object.
type blobReaderAt struct {
	ctx context.Context
	b   *blob.Bucket
	key string
}

func (r *blobReaderAt) ReadAt(p []byte, off int64) (int, error) {
	rd, err := r.b.NewRangeReader(r.ctx, r.key, off, int64(len(p)), nil)
	if err != nil {
		return 0, err
	}
	defer rd.Close()
	return io.ReadFull(rd, p)
}
