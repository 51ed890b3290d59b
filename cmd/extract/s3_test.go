//go:build linux || darwin

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"gocloud.dev/blob"

	"github.com/extract-dev/extract/connector/netsuitetest"
	"github.com/extract-dev/extract/sink"
	"github.com/extract-dev/extract/sink/s3test"
	"github.com/extract-dev/extract/state"
)

// s3Run is a fake NetSuite and a fake S3 with the environment that points a run at
// both: --output s3://lake/netsuite, state beside it by default.
type s3Run struct {
	s3     *s3test.Server
	bucket *blob.Bucket // the "netsuite/" root
	env    map[string]string
	out    string
}

func newS3Run(t *testing.T, rows int) (*s3Run, *netsuitetest.Server) {
	t.Helper()
	srv, env := fakeEnv(t, rows)
	fs3 := s3test.Start(t, "lake")
	for k, v := range fs3.Env() {
		env[k] = v
	}
	env["NETSUITE_S3_ENDPOINT"], env["NETSUITE_S3_PATH_STYLE"], env["NETSUITE_S3_REGION"] = fs3.URL, "true", s3test.Region
	return &s3Run{s3: fs3, bucket: fs3.Bucket(t, "lake", "netsuite/"), env: env, out: "s3://lake/netsuite"}, srv
}

// inProcess sets the AWS SDK's environment for runs in this process.
func (r *s3Run) inProcess(t *testing.T) {
	for k, v := range r.s3.Env() {
		t.Setenv(k, v)
	}
}

// objects lists every object under the root, key → size.
func (r *s3Run) objects(t *testing.T) map[string]int64 {
	t.Helper()
	got := map[string]int64{}
	it := r.bucket.List(nil)
	for {
		obj, err := it.Next(context.Background())
		if err == io.EOF {
			return got
		}
		if err != nil {
			t.Fatal(err)
		}
		got[obj.Key] = obj.Size
	}
}

// download copies the data objects of stream to dir, in key order, and returns their paths.
func (r *s3Run) download(t *testing.T, stream, dir string) []string {
	t.Helper()
	var files []string
	keys := slices.Sorted(maps.Keys(r.objects(t)))
	for _, k := range keys {
		if !strings.HasPrefix(k, stream+"/") || !strings.HasSuffix(k, ".ndjson") {
			continue
		}
		data, err := r.bucket.ReadAll(context.Background(), k)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, fmt.Sprintf("%s-%04d.ndjson", stream, len(files)))
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	return files
}

func (r *s3Run) manifest(t *testing.T, runID string) sink.Manifest {
	t.Helper()
	raw, err := r.bucket.ReadAll(context.Background(), "_manifests/"+runID+".json")
	if err != nil {
		t.Fatalf("manifest of run %s: %v", runID, err)
	}
	var m sink.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

var dataKey = regexp.MustCompile(`^([a-z]+)/dt=(\d{4}-\d\d-\d\d)/run=([0-9TZ]+-[0-9a-f]{8})/part-\d{6}\.ndjson$`)

// runKeys are the data objects of one run, by key.
func runKeys(objects map[string]int64, runID string) map[string]int64 {
	out := map[string]int64{}
	for k, size := range objects {
		if m := dataKey.FindStringSubmatch(k); m != nil && m[3] == runID {
			out[k] = size
		}
	}
	return out
}

// assertManifestIsRun checks that m lists exactly the run's data objects, with their sizes.
func assertManifestIsRun(t *testing.T, m sink.Manifest, objects map[string]int64) {
	t.Helper()
	want := runKeys(objects, m.RunID)
	got := map[string]int64{}
	for _, e := range m.Entries {
		key, ok := strings.CutPrefix(e.URL, "s3://lake/netsuite/")
		if !ok || !e.Mandatory || e.Meta.ContentLength != e.Bytes {
			t.Errorf("manifest entry %+v", e)
		}
		got[key] = e.Bytes
	}
	if len(want) == 0 || !maps.Equal(got, want) {
		t.Errorf("run %s: manifest lists %v, the bucket holds %v", m.RunID, got, want)
	}
}

func runSummaryOf(t *testing.T, out string) runSummary {
	t.Helper()
	var sum runSummary
	if err := json.Unmarshal([]byte(out), &sum); err != nil {
		t.Fatalf("summary: %v\n%s", err, out)
	}
	return sum
}

// TestRunToObjectStorage: a full and an incremental run to S3 write the documented
// layout — data under <stream>/dt=/run=/part-N, each run's manifest listing exactly its
// files, its run record, _SUCCESS in each of its directories, the state as generations
// under _state/ — and the files merged by id equal NetSuite after the second run.
func TestRunToObjectStorage(t *testing.T) {
	r, srv := newS3Run(t, 1200)
	r.inProcess(t)
	args := []string{"run", "--json", "--format", "ndjson", "--file-rows", "500", "--output", r.out, "--streams", "customer,task"}
	code, out, stderr := runCLI(t, r.env, args...)
	if code != 0 {
		t.Fatalf("first run: exit %d: %s", code, stderr)
	}
	first := runSummaryOf(t, out)
	objects := r.objects(t)
	var listing []string
	for _, k := range slices.Sorted(maps.Keys(objects)) {
		listing = append(listing, fmt.Sprintf("%10d  %s", objects[k], k))
	}
	t.Logf("s3://lake/netsuite/ after the first run:\n%s", strings.Join(listing, "\n"))
	today := time.Now().UTC().Format(time.DateOnly)
	dirs := map[string]bool{}
	for k := range objects {
		switch m := dataKey.FindStringSubmatch(k); {
		case m != nil:
			if m[2] != today || m[3] != first.RunID {
				t.Errorf("%s: not in dt=%s/run=%s", k, today, first.RunID)
			}
			dirs[k[:strings.LastIndex(k, "/")]] = true
		case k == "_manifests/"+first.RunID+".json", k == "_runs/"+first.RunID+".json",
			strings.HasSuffix(k, "/"+sink.SuccessName), regexp.MustCompile(`^_state/(\d{12}\.json|token/\d+\.json)$`).MatchString(k):
		default:
			t.Errorf("unexpected object %s", k)
		}
	}
	for d := range dirs {
		if _, ok := objects[d+"/"+sink.SuccessName]; !ok {
			t.Errorf("%s has no %s", d, sink.SuccessName)
		}
	}
	if len(dirs) != 2 {
		t.Errorf("run directories %v, want one per stream", dirs)
	}
	m := r.manifest(t, first.RunID)
	if !m.Complete || first.Manifest != "s3://lake/netsuite/_manifests/"+first.RunID+".json" {
		t.Errorf("manifest complete=%v, summary names %q", m.Complete, first.Manifest)
	}
	assertManifestIsRun(t, m, objects)
	var record sink.RunRecord
	if raw, err := r.bucket.ReadAll(context.Background(), "_runs/"+first.RunID+".json"); err != nil || json.Unmarshal(raw, &record) != nil || !record.Complete {
		t.Errorf("run record: %v %+v", err, record)
	}

	// The incremental run writes under its own run id; NetSuite's changes arrive.
	customers := srv.Truth("customer")
	for _, row := range customers[:7] {
		srv.Upsert("customer", map[string]any{"id": row["id"], "companyname": fmt.Sprintf("Renamed %d", row["id"])})
	}
	for _, row := range customers[7:10] {
		srv.Delete("customer", row["id"].(int64))
	}
	time.Sleep(1100 * time.Millisecond) // NetSuite's clock passes the changes
	code, out, stderr = runCLI(t, r.env, args...)
	if code != 0 {
		t.Fatalf("second run: exit %d: %s", code, stderr)
	}
	second := runSummaryOf(t, out)
	if second.RunID == first.RunID || second.Streams[0].From.IsZero() {
		t.Fatalf("second run %s did not continue from the first's checkpoint: %+v", second.RunID, second.Streams[0])
	}
	objects = r.objects(t)
	m2 := r.manifest(t, second.RunID)
	if !m2.Complete || second.Streams[0].Rows != 7 || second.Streams[0].Deleted != 3 {
		t.Errorf("second run: manifest complete=%v, customer rows %d deleted %d, want 7 and 3", m2.Complete, second.Streams[0].Rows, second.Streams[0].Deleted)
	}
	assertManifestIsRun(t, m2, objects)
	gens := 0
	for k := range objects {
		if regexp.MustCompile(`^_state/\d{12}\.json$`).MatchString(k) {
			gens++
		}
	}
	if gens < 2 || gens > 10 {
		// Pruning runs every few writes and keeps 5: up to 9 between two prunes.
		t.Errorf("%d state generations kept, want 2–9", gens)
	}
	st, err := state.LoadBucket(context.Background(), r.bucket, r.out)
	if err != nil || st.Run == nil || st.Run.ID != second.RunID || !st.Run.Finished {
		t.Fatalf("state after the second run: %v, run %+v", err, st.Run)
	}
	for _, stream := range []string{"customer", "task"} {
		merged := mergeByID(t, r.download(t, stream, t.TempDir()))
		if want := srv.Truth(stream); len(merged) != len(want) {
			t.Errorf("%s: %d ids merged from the bucket, NetSuite has %d", stream, len(merged), len(want))
		}
	}
}

// TestOverlappingRunOnObjectStorageExits4: while another run holds the state in the
// bucket, a run stops with exit code 4 before it writes anything; once the other run
// has finished, the same command succeeds.
func TestOverlappingRunOnObjectStorageExits4(t *testing.T) {
	r, _ := newS3Run(t, 300)
	r.inProcess(t)
	holder, err := state.OpenBucket(context.Background(), r.bucket, r.out, "TSTDRV1", state.BucketOptions{RunID: "20261202T000000Z-0000beef"})
	if err != nil {
		t.Fatal(err)
	}
	before := r.objects(t)
	args := []string{"run", "--format", "ndjson", "--output", r.out, "--streams", "customer"}
	code, _, stderr := runCLI(t, r.env, args...)
	if code != exitTransient || !strings.Contains(stderr, "20261202T000000Z-0000beef") {
		t.Fatalf("overlapping run: exit %d, want %d naming the run that holds the state:\n%s", code, exitTransient, stderr)
	}
	if after := r.objects(t); !maps.Equal(after, before) {
		t.Errorf("the refused run wrote objects: %v", slices.Sorted(maps.Keys(after)))
	}
	if err := holder.Close(); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runCLI(t, r.env, args...); code != 0 {
		t.Fatalf("run after the other finished: exit %d: %s", code, stderr)
	}
}

// TestManifestOfAKilledRunIsRecovered: a run killed after committing files (and a
// checkpoint naming it) wrote no manifest; the next run writes one for it, marked
// incomplete and recovered, listing exactly those files, before doing its own work.
func TestManifestOfAKilledRunIsRecovered(t *testing.T) {
	r, _ := newS3Run(t, 300)
	r.inProcess(t)
	args := []string{"run", "--format", "ndjson", "--output", r.out, "--streams", "customer"}
	if code, _, stderr := runCLI(t, r.env, args...); code != 0 {
		t.Fatalf("first run: exit %d: %s", code, stderr)
	}
	// What a run killed after its first file leaves: a data object under its run id and
	// a checkpoint that names the run, unfinished; no manifest.
	killed := "20261202T000001Z-0000dead"
	ctx := context.Background()
	var some string
	for k := range r.objects(t) {
		if dataKey.MatchString(k) {
			some = k
		}
	}
	data, _ := r.bucket.ReadAll(ctx, some)
	killedKey := "customer/dt=2026-12-02/run=" + killed + "/part-000001.ndjson"
	if err := r.bucket.WriteAll(ctx, killedKey, data, nil); err != nil {
		t.Fatal(err)
	}
	st, err := state.OpenBucket(ctx, r.bucket, r.out, "TSTDRV1", state.BucketOptions{RunID: killed})
	if err != nil {
		t.Fatal(err)
	}
	started, _ := time.Parse(time.RFC3339, "2026-12-02T00:00:01Z")
	if err := st.StageRun(state.RunInfo{ID: killed, Started: started}); err != nil {
		t.Fatal(err)
	}
	if err := st.Flush(); err != nil {
		t.Fatal(err)
	}
	st.Close()

	code, _, stderr := runCLI(t, r.env, args...)
	if code != 0 {
		t.Fatalf("next run: exit %d: %s", code, stderr)
	}
	m := r.manifest(t, killed)
	if m.Complete || !m.Recovered || len(m.Entries) != 1 || m.Entries[0].URL != "s3://lake/netsuite/"+killedKey ||
		m.Entries[0].Bytes != int64(len(data)) {
		t.Errorf("recovered manifest %+v", m)
	}
	if !strings.Contains(stderr, killed) {
		t.Errorf("the run did not say it wrote the manifest of %s:\n%s", killed, stderr)
	}
}

// TestSIGTERMWithObjectStorage: the real binary writing to S3 is sent SIGTERM mid-run.
// It exits with code 6; every object under a final key is complete, no multipart upload
// is left behind, its manifest lists exactly its files and is marked incomplete, no
// _SUCCESS exists; the rerun completes and the merged output equals NetSuite.
func TestSIGTERMWithObjectStorage(t *testing.T) {
	t.Parallel()
	bin := buildExtract(t, t.TempDir())
	r, srv := newS3Run(t, 3000)
	args := []string{"run", "--json", "--streams", "customer,task", "--format", "ndjson", "--file-rows", "500", "--concurrency", "1", "--output", r.out}
	srv.SetFault(func(r *http.Request) (int, string, bool) {
		if strings.HasSuffix(r.URL.Path, "/suiteql") {
			time.Sleep(150 * time.Millisecond) // a run of a few seconds, one query at a time
		}
		return 0, "", false
	})
	p := startExtract(t, bin, r.env, args...)
	pollFor(t, 30*time.Second, "a first object", func() bool {
		for k := range r.objects(t) {
			if dataKey.MatchString(k) {
				return true
			}
		}
		return false
	})
	p.signal(syscall.SIGTERM)
	if code := p.wait(30 * time.Second); code != exitInterrupted {
		t.Fatalf("exit %d, want %d:\n%s", code, exitInterrupted, p.stderr.String())
	}
	objects := r.objects(t)
	var runID string
	for k := range objects {
		if m := dataKey.FindStringSubmatch(k); m != nil {
			runID = m[3]
		}
		if strings.HasSuffix(k, sink.SuccessName) {
			t.Errorf("an interrupted run wrote %s", k)
		}
	}
	m := r.manifest(t, runID)
	if m.Complete {
		t.Error("the interrupted run's manifest says complete")
	}
	assertManifestIsRun(t, m, objects)
	uploads, err := r.s3.Client.ListMultipartUploads(context.Background(), &s3.ListMultipartUploadsInput{Bucket: aws.String("lake"), Prefix: aws.String("netsuite/")})
	if apiErr := smithy.APIError(nil); errors.As(err, &apiErr) && apiErr.ErrorCode() == "NoSuchUpload" {
		err, uploads = nil, &s3.ListMultipartUploadsOutput{} // gofakes3's answer before any multipart upload
	}
	if err != nil || len(uploads.Uploads) != 0 {
		t.Errorf("multipart uploads left: %v %+v", err, uploads)
	}
	for _, stream := range []string{"customer", "task"} {
		r.download(t, stream, t.TempDir()) // readRows fails on a partial object
	}

	srv.SetFault(nil)
	p2 := startExtract(t, bin, r.env, args...)
	if code := p2.wait(60 * time.Second); code != 0 {
		t.Fatalf("rerun: exit %d:\n%s", code, p2.stderr.String())
	}
	for _, stream := range []string{"customer", "task"} {
		merged := mergeByID(t, r.download(t, stream, t.TempDir()))
		if want := srv.Truth(stream); len(merged) != len(want) {
			t.Errorf("%s: %d ids merged from the bucket, NetSuite has %d", stream, len(merged), len(want))
		}
	}
}

// TestURLCredentialsNeverEchoed: credentials written into an output URL are refused,
// and neither the error nor the logs repeat them.
func TestURLCredentialsNeverEchoed(t *testing.T) {
	_, env := fakeEnv(t, 10)
	dir := t.TempDir()
	code, out, stderr := runCLI(t, env, "run", "--state", filepath.Join(dir, "s.json"), "--output", "s3://AKIAEXAMPLEKEY:hunter2secretvalue@bucket/p")
	if code != exitConfig || !strings.Contains(stderr, "--output") {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	if strings.Contains(stderr+out, "hunter2secretvalue") || strings.Contains(stderr+out, "AKIAEXAMPLEKEY") {
		t.Errorf("the URL's credentials were echoed:\n%s", stderr)
	}
}
