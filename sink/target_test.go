package sink

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"
	"gocloud.dev/blob/memblob"

	"github.com/extract-dev/extract/sink/s3test"
)

// target is one place a Sink can write to, with test access to what is stored there.
type target struct {
	name   string
	opts   Options    // Dir or Bucket and Display
	client *s3.Client // gofakes3 only
}

// keys lists every stored key under the root, sorted. Local temp files are included, so
// a leftover shows up.
func (tg target) keys(t testing.TB) []string {
	t.Helper()
	var out []string
	if tg.opts.Dir != "" {
		err := filepath.WalkDir(tg.opts.Dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(tg.opts.Dir, p)
			out = append(out, filepath.ToSlash(rel))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	it := tg.opts.Bucket.List(nil)
	for {
		obj, err := it.Next(context.Background())
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, obj.Key)
	}
	slices.Sort(out)
	return out
}

func (tg target) read(t testing.TB, key string) []byte {
	t.Helper()
	var data []byte
	var err error
	if tg.opts.Dir != "" {
		data, err = os.ReadFile(keyPath(tg.opts.Dir, key))
	} else {
		data, err = tg.opts.Bucket.ReadAll(context.Background(), key)
	}
	if err != nil {
		t.Fatalf("%s: read %s: %v", tg.name, key, err)
	}
	return data
}

func (tg target) put(t testing.TB, key string, data []byte) {
	t.Helper()
	if tg.opts.Dir != "" {
		if err := os.MkdirAll(filepath.Dir(keyPath(tg.opts.Dir, key)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(keyPath(tg.opts.Dir, key), data, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if err := tg.opts.Bucket.WriteAll(context.Background(), key, data, nil); err != nil {
		t.Fatal(err)
	}
}

// targets opens each kind of root: a local dir, memblob, fileblob and S3 (gofakes3),
// the buckets scoped to a prefix like location.Open does.
func targets(t testing.TB) []target {
	t.Helper()
	mem := blob.PrefixedBucket(memblob.OpenBucket(nil), "exports/")
	fdir := t.TempDir()
	fb, err := fileblob.OpenBucket(fdir, &fileblob.Options{Metadata: fileblob.MetadataDontWrite})
	if err != nil {
		t.Fatal(err)
	}
	fs3 := s3test.Start(t, "lake")
	client := fs3.Client
	sb := fs3.Bucket(t, "lake", "exports/netsuite/")
	t.Cleanup(func() { mem.Close(); fb.Close() })
	return []target{
		{name: "local", opts: Options{Dir: t.TempDir()}},
		{name: "memblob", opts: Options{Bucket: mem, Display: "mem://exports"}},
		{name: "fileblob", opts: Options{Bucket: fb, Display: "file://" + filepath.ToSlash(fdir)}},
		{name: "s3", opts: Options{Bucket: sb, Display: "s3://lake/exports/netsuite?region=us-east-1"}, client: client},
	}
}

func (tg target) sink(t testing.TB, mod func(*Options)) *Sink {
	t.Helper()
	opts := tg.opts
	opts.RunID, opts.RunStart, opts.RowGroupRows = testRunID, testRunStart, 64
	if mod != nil {
		mod(&opts)
	}
	s, err := New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// compareParquetBytes writes data to a temp file and compares it with rows.
func compareParquetBytes(t *testing.T, schema *arrow.Schema, data []byte, rows []row) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "f.parquet")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	_, tbl := readParquet(t, p)
	compareTable(t, schema, tbl, rows)
}

const runPrefix = "/" + testDT + "/run=" + testRunID + "/"

func TestTargetsWriteAndFinish(t *testing.T) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			s := tg.sink(t, func(o *Options) { o.Now = func() time.Time { return testRunStart.Add(90 * time.Second) } })
			schema := testSchema()
			all := genRows(180, false)
			parts := []struct {
				stream string
				rows   []row
			}{{"customer", all[:100]}, {"contact", all[100:130]}, {"customer", all[130:]}}
			var rcs []Receipt
			for _, p := range parts {
				rcs = append(rcs, writeBatches(t, s, p.stream, schema, p.rows, 40))
			}
			wantKeys := []string{
				"contact" + runPrefix + "part-000001.parquet",
				"customer" + runPrefix + "part-000001.parquet",
				"customer" + runPrefix + "part-000002.parquet",
			}
			if got := tg.keys(t); !slices.Equal(got, wantKeys) {
				t.Fatalf("keys after commit:\n%v\nwant\n%v", got, wantKeys)
			}
			for i, rc := range rcs {
				data := tg.read(t, rc.Key)
				wantURL := strings.TrimSuffix(tg.opts.Display, "?region=us-east-1") + "/" + rc.Key
				wantPath := ""
				if tg.opts.Dir != "" {
					wantPath = keyPath(tg.opts.Dir, rc.Key)
					wantURL, _ = filepath.Abs(wantPath)
				}
				want := Receipt{Stream: parts[i].stream, Key: rc.Key, URL: wantURL, Path: wantPath,
					Rows: int64(len(parts[i].rows)), Bytes: int64(len(data)), Fingerprint: Fingerprint(schema)}
				if rc != want {
					t.Errorf("receipt %d = %+v\nwant %+v", i, rc, want)
				}
				compareParquetBytes(t, schema, data, parts[i].rows)
			}

			info, err := s.Finish(context.Background(), map[string]any{"rows": 180}, true)
			if err != nil {
				t.Fatal(err)
			}
			if info.Key != "_manifests/"+testRunID+".json" || info.Files != 3 || info.Rows != 180 || !info.Complete {
				t.Errorf("manifest info %+v", info)
			}
			wantKeys = append(wantKeys,
				"contact"+runPrefix+"_SUCCESS", "customer"+runPrefix+"_SUCCESS",
				"_manifests/"+testRunID+".json", "_runs/"+testRunID+".json")
			slices.Sort(wantKeys)
			if got := tg.keys(t); !slices.Equal(got, wantKeys) {
				t.Fatalf("keys after Finish:\n%v\nwant\n%v", got, wantKeys)
			}
			if n := len(tg.read(t, "customer"+runPrefix+"_SUCCESS")); n != 0 {
				t.Errorf("_SUCCESS has %d bytes, want 0", n)
			}
			var m Manifest
			if err := json.Unmarshal(tg.read(t, info.Key), &m); err != nil {
				t.Fatal(err)
			}
			var wantEntries []ManifestEntry
			for _, i := range []int{1, 0, 2} { // streams sorted, then commit order
				rc := rcs[i]
				rows := rc.Rows
				wantEntries = append(wantEntries, ManifestEntry{URL: rc.URL, Mandatory: true,
					Meta: EntryMeta{ContentLength: rc.Bytes, RecordCount: &rows}, Stream: rc.Stream, Rows: &rows,
					Bytes: rc.Bytes, Fingerprint: rc.Fingerprint})
			}
			if m.RunID != testRunID || m.Started != "2026-12-02T03:32:02Z" || m.Finished != "2026-12-02T03:33:32Z" ||
				!m.Complete || m.Recovered || m.Format != Parquet || !entriesEqual(m.Entries, wantEntries) {
				t.Errorf("manifest %s", tg.read(t, info.Key))
			}
			var rr RunRecord
			if err := json.Unmarshal(tg.read(t, "_runs/"+testRunID+".json"), &rr); err != nil {
				t.Fatal(err)
			}
			if rr.RunID != testRunID || !rr.Complete || rr.Finished != m.Finished || rr.Summary.(map[string]any)["rows"] != 180.0 {
				t.Errorf("run record %+v", rr)
			}
			if _, err := s.Finish(context.Background(), nil, true); err == nil {
				t.Error("second Finish succeeded")
			}

			// A failed run: manifest with complete=false, no _SUCCESS.
			s2 := tg.sink(t, func(o *Options) { o.RunID = "run-2" })
			rc := writeBatches(t, s2, "customer", schema, all[:5], 5)
			if _, err := s2.Finish(context.Background(), "failed", false); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(tg.read(t, "_manifests/run-2.json"), &m); err != nil {
				t.Fatal(err)
			}
			if m.Complete || len(m.Entries) != 1 || m.Entries[0].URL != rc.URL || *m.Entries[0].Rows != 5 {
				t.Errorf("failed run manifest %s", tg.read(t, "_manifests/run-2.json"))
			}
			for _, k := range tg.keys(t) {
				if strings.Contains(k, "run=run-2/_SUCCESS") {
					t.Errorf("failed run wrote %s", k)
				}
			}
		})
	}
}

func entriesEqual(a, b []ManifestEntry) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}

var _ = errors.New
