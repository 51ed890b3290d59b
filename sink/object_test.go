package sink

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// objectTargets are the targets without the local dir (which TestCrashBetweenSteps covers).
func objectTargets(t testing.TB) []target {
	return slices.DeleteFunc(targets(t), func(tg target) bool { return tg.opts.Dir != "" })
}

// TestObjectCrash fails Commit after each object-storage step, and cancels the context
// mid-write, and checks that only committed objects are ever listed.
func TestObjectCrash(t *testing.T) {
	errCrash := errors.New("simulated crash")
	key := "task" + runPrefix + "part-000001.parquet"
	tests := []struct {
		name          string
		crashAfter    Step
		cancel        bool
		wantAfterFail []string // keys listed after the failed Commit, before Abort
	}{
		{"hook after written", StepWritten, false, nil},
		{"hook after uploaded", StepUploaded, false, []string{key}}, // durable; Abort deletes it
		{"context cancelled mid-write", "", true, nil},
	}
	for _, tg := range objectTargets(t) {
		for _, tt := range tests {
			t.Run(tg.name+"/"+tt.name, func(t *testing.T) {
				// Fresh buckets per case: leftovers of one case must not hide another's.
				tg := freshTarget(t, tg.name)
				var steps []Step
				s := tg.sink(t, func(o *Options) {
					o.Hook = func(step Step, path string) error {
						steps = append(steps, step)
						if path != key {
							t.Errorf("hook path %s, want %s", path, key)
						}
						if step == tt.crashAfter {
							return errCrash
						}
						return nil
					}
				})
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				f, err := s.Create(ctx, "task", testSchema())
				if err != nil {
					t.Fatal(err)
				}
				rec := buildRecord(t, testSchema(), genRows(50, false))
				defer rec.Release()
				if err := f.Write(rec); err != nil {
					t.Fatal(err)
				}
				if tt.cancel {
					cancel()
					if err := f.Write(rec); !errors.Is(err, context.Canceled) {
						t.Errorf("Write after cancel = %v, want context.Canceled", err)
					}
				}
				_, err = f.Commit()
				if err == nil {
					t.Fatal("Commit succeeded")
				}
				if !tt.cancel && !errors.Is(err, errCrash) {
					t.Fatalf("Commit error = %v, want the simulated crash", err)
				}
				if !strings.Contains(err.Error(), "task") {
					t.Errorf("error %q does not name the stream", err)
				}
				if got := tg.keys(t); !slices.Equal(got, tt.wantAfterFail) {
					t.Errorf("keys after failed Commit = %v, want %v", got, tt.wantAfterFail)
				}
				if err := f.Abort(); err != nil {
					t.Fatal(err)
				}
				if got := tg.keys(t); len(got) != 0 {
					t.Errorf("keys after Abort = %v, want none", got)
				}
				wantSteps := map[Step][]Step{StepWritten: {StepWritten}, StepUploaded: {StepWritten, StepUploaded}, "": nil}[tt.crashAfter]
				if !slices.Equal(steps, wantSteps) {
					t.Errorf("steps %v, want %v", steps, wantSteps)
				}
				if info, err := s.Finish(context.Background(), nil, false); err != nil || info.Files != 0 {
					t.Errorf("Finish = %+v, %v; want no files", info, err)
				}
			})
		}
	}
}

// freshTarget returns a new, empty target of the named kind.
func freshTarget(t testing.TB, name string) target {
	for _, tg := range targets(t) {
		if tg.name == name {
			return tg
		}
	}
	t.Fatalf("no target %s", name)
	return target{}
}

// TestNeverOverwrite pre-creates the key a Create will use, and lets a "second writer"
// create it between the sink's check and the upload's close: both Commits fail with
// ErrExists and the original bytes stay.
func TestNeverOverwrite(t *testing.T) {
	key := "customer" + runPrefix + "part-000001.parquet"
	original := []byte("original bytes")
	for _, race := range []bool{false, true} {
		for _, tg := range targets(t) {
			name := tg.name + "/pre-created"
			if race {
				name = tg.name + "/created during commit"
			}
			t.Run(name, func(t *testing.T) {
				tg := freshTarget(t, tg.name)
				s := tg.sink(t, func(o *Options) {
					o.Hook = func(step Step, _ string) error {
						if race && step == StepWritten {
							tg.put(t, key, original)
						}
						return nil
					}
				})
				if !race {
					tg.put(t, key, original)
				}
				f, err := s.Create(context.Background(), "customer", testSchema())
				if tg.opts.Dir != "" && !race {
					// Local checks at Create already.
					if !errors.Is(err, ErrExists) || !strings.Contains(err.Error(), "customer") {
						t.Fatalf("Create = %v, want ErrExists naming the stream", err)
					}
					if got := tg.read(t, key); string(got) != string(original) {
						t.Errorf("bytes now %q", got)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				rec := buildRecord(t, testSchema(), genRows(20, false))
				defer rec.Release()
				if err := f.Write(rec); err != nil {
					t.Fatal(err)
				}
				_, err = f.Commit()
				if !errors.Is(err, ErrExists) || !strings.Contains(err.Error(), "stream customer") || !strings.Contains(err.Error(), key) {
					t.Fatalf("Commit = %v, want ErrExists naming stream and key", err)
				}
				if err := f.Abort(); err != nil {
					t.Fatal(err)
				}
				if got := tg.read(t, key); string(got) != string(original) {
					t.Errorf("bytes now %q, want the original", got)
				}
				if got := tg.keys(t); !slices.Equal(got, []string{key}) {
					t.Errorf("keys %v", got)
				}
			})
		}
	}
}

// TestS3MultipartAbort aborts a file larger than one upload part on gofakes3: the S3
// uploader cannot abort the multipart upload with its cancelled context, so the sink
// does it; afterwards no upload is left and nothing is visible.
func TestS3MultipartAbort(t *testing.T) {
	tg := freshTarget(t, "s3")
	var listed int
	s := tg.sink(t, func(o *Options) {
		o.Format = NDJSON // uncompressed: a few thousand rows fill two 5 MiB parts
		o.Hook = func(step Step, _ string) error {
			if step == StepWritten {
				out, err := tg.client.ListMultipartUploads(context.Background(), &s3.ListMultipartUploadsInput{Bucket: aws.String("lake")})
				if err != nil {
					t.Errorf("list uploads: %v", err)
				} else {
					listed = len(out.Uploads)
				}
				return errors.New("crash")
			}
			return nil
		}
	})
	f, err := s.Create(context.Background(), "task", testSchema())
	if err != nil {
		t.Fatal(err)
	}
	rows := genRows(4000, true)
	for i := 0; i < len(rows); i += 500 {
		rec := buildRecord(t, testSchema(), rows[i:i+500])
		if err := f.Write(rec); err != nil {
			t.Fatal(err)
		}
		rec.Release()
	}
	if f.obj.n < 2*DefaultUploadPartSize {
		t.Fatalf("only %d bytes written; the test needs more than two parts", f.obj.n)
	}
	if _, err := f.Commit(); err == nil {
		t.Fatal("Commit succeeded")
	}
	if listed != 1 {
		t.Fatalf("%d multipart uploads in progress at StepWritten, want 1", listed)
	}
	if err := f.Abort(); err != nil {
		t.Fatal(err)
	}
	out, err := tg.client.ListMultipartUploads(context.Background(), &s3.ListMultipartUploadsInput{Bucket: aws.String("lake")})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Uploads) != 0 {
		t.Errorf("%d multipart uploads left after Abort, want 0 (key %s)", len(out.Uploads), aws.ToString(out.Uploads[0].Key))
	}
	if got := tg.keys(t); len(got) != 0 {
		t.Errorf("keys after Abort %v", got)
	}
}

// TestAbortMultipartUploads checks the clean-up on its own: only uploads of exactly the
// key (under the bucket's prefix) are aborted.
func TestAbortMultipartUploads(t *testing.T) {
	tg := freshTarget(t, "s3")
	ctx := context.Background()
	key := "task" + runPrefix + "part-000001.parquet"
	for _, k := range []string{key, key + ".other", "exports/other/" + key} {
		full := k
		if !strings.HasPrefix(k, "exports/") {
			full = "exports/netsuite/" + k
		}
		if _, err := tg.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("lake"), Key: aws.String(full)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := abortMultipartUploads(ctx, tg.client, tg.opts.Bucket, key); err != nil {
		t.Fatal(err)
	}
	out, err := tg.client.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String("lake")})
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, u := range out.Uploads {
		left = append(left, aws.ToString(u.Key))
	}
	slices.Sort(left)
	want := []string{"exports/netsuite/" + key + ".other", "exports/other/" + key}
	if !slices.Equal(left, want) {
		t.Errorf("uploads left %v, want %v", left, want)
	}
}

// TestRecover writes files without Finish (a killed run), then recovers its manifest.
func TestRecover(t *testing.T) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			s := tg.sink(t, nil)
			rcs := []Receipt{
				writeBatches(t, s, "customer", testSchema(), genRows(70, false), 30),
				writeBatches(t, s, "customer", testSchema(), genRows(5, false), 5),
			}
			// An unfinished file must not be listed (local: a temp file).
			f, err := s.Create(context.Background(), "customer", testSchema())
			if err != nil {
				t.Fatal(err)
			}
			defer f.Abort()
			opts := tg.opts
			opts.RunID, opts.RunStart = testRunID, testRunStart
			ok, err := Recover(context.Background(), opts, []string{"customer", "contact"})
			if err != nil || !ok {
				t.Fatalf("Recover = %v, %v; want true", ok, err)
			}
			var m Manifest
			if err := json.Unmarshal(tg.read(t, "_manifests/"+testRunID+".json"), &m); err != nil {
				t.Fatal(err)
			}
			if m.Complete || !m.Recovered || m.Finished != "" || m.Started != "2026-12-02T03:32:02Z" || len(m.Entries) != 2 {
				t.Fatalf("manifest %+v", m)
			}
			for i, e := range m.Entries {
				rc := rcs[i]
				if e.URL != rc.URL || e.Bytes != rc.Bytes || e.Meta.ContentLength != rc.Bytes || e.Rows == nil || *e.Rows != rc.Rows ||
					*e.Meta.RecordCount != rc.Rows || e.Stream != "customer" || !e.Mandatory {
					t.Errorf("entry %d = %+v, want receipt %+v", i, e, rc)
				}
			}
			if ok, err := Recover(context.Background(), opts, []string{"customer"}); ok || err != nil {
				t.Errorf("second Recover = %v, %v; want false, nil", ok, err)
			}
			for _, k := range tg.keys(t) {
				if strings.HasSuffix(k, SuccessName) || strings.HasPrefix(k, "_runs/") {
					t.Errorf("Recover wrote %s", k)
				}
			}
		})
	}
}

// TestRecoverOverAManifestLeftHalfWritten: a run killed while writing its manifest
// locally leaves the manifest's temp file; the manifest Recover then writes is not
// refused by it, or no later run could ever write it.
func TestRecoverOverAManifestLeftHalfWritten(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Dir: dir, RunID: testRunID, RunStart: testRunStart}
	s, err := New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	writeBatches(t, s, "customer", testSchema(), genRows(10, false), 10)
	temp := filepath.Join(dir, "_manifests", "."+testRunID+".json.tmp")
	if err := os.MkdirAll(filepath.Dir(temp), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(temp, []byte(`{"run_id":`), 0o644); err != nil {
		t.Fatal(err)
	}
	if ok, err := Recover(context.Background(), opts, []string{"customer"}); !ok || err != nil {
		t.Fatalf("Recover = %v, %v; want true", ok, err)
	}
	var m Manifest
	raw, err := os.ReadFile(filepath.Join(dir, "_manifests", testRunID+".json"))
	if err != nil || json.Unmarshal(raw, &m) != nil || len(m.Entries) != 1 {
		t.Fatalf("manifest %s: %v", raw, err)
	}
	if _, err := os.Stat(temp); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the temp file remains: %v", err)
	}
}
