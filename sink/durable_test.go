package sink

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
)

// listDir returns the names in dir, sorted.
func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func assertNoFiles(t *testing.T, dir string) {
	t.Helper()
	if names := listDir(t, dir); len(names) != 0 {
		t.Errorf("%s contains %v, want nothing", dir, names)
	}
}

// finalFiles returns the names in dir that carry a final extension.
func finalFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	for _, n := range listDir(t, dir) {
		if strings.HasSuffix(n, ".parquet") || strings.HasSuffix(n, ".ndjson") {
			out = append(out, n)
		}
	}
	return out
}

var namePattern = regexp.MustCompile(`^part-\d{6}\.(parquet|ndjson)$`)

func TestLifecycle(t *testing.T) {
	for _, format := range []Format{Parquet, NDJSON} {
		t.Run(string(format), func(t *testing.T) {
			now := time.Date(2024, 3, 10, 9, 30, 0, 123456789, time.FixedZone("EST", -5*3600))
			s := newTestSink(t, format, func(o *Options) { o.Now = func() time.Time { return now } })
			dir := runDirOf(s, "task")
			f, err := s.Create(t.Context(), "task", testSchema())
			if err != nil {
				t.Fatal(err)
			}
			rec := buildRecord(t, testSchema(), genRows(10, true))
			defer rec.Release()
			if err := f.Write(rec); err != nil {
				t.Fatal(err)
			}

			// While open: only the hidden temp file exists, without the final extension.
			names := listDir(t, dir)
			if len(names) != 1 || !strings.HasPrefix(names[0], ".") || !strings.HasSuffix(names[0], ".tmp") {
				t.Fatalf("while open, dir has %v, want one .*.tmp file", names)
			}
			if ff := finalFiles(t, dir); len(ff) != 0 {
				t.Fatalf("final-extension files before Commit: %v", ff)
			}

			rc, err := f.Commit()
			if err != nil {
				t.Fatal(err)
			}
			names = listDir(t, dir)
			if len(names) != 1 || names[0] != filepath.Base(rc.Path) || filepath.Dir(rc.Path) != dir {
				t.Fatalf("after commit dir has %v, receipt path %s", names, rc.Path)
			}
			if "."+names[0]+".tmp" != f.temp[len(dir)+1:] {
				t.Errorf("temp name %s is not .<final>.tmp for %s", f.temp, names[0])
			}
			if !namePattern.MatchString(names[0]) {
				t.Errorf("name %s does not match %s", names[0], namePattern)
			}
			if want := "part-000001." + string(format); names[0] != want {
				t.Errorf("name %s, want %s", names[0], want)
			}
			info, err := os.Stat(rc.Path)
			if err != nil {
				t.Fatal(err)
			}
			key := "task/" + testDT + "/run=" + testRunID + "/part-000001." + string(format)
			abs, _ := filepath.Abs(rc.Path)
			want := Receipt{Stream: "task", Key: key, URL: abs, Path: filepath.Join(s.opts.Dir, filepath.FromSlash(key)),
				Rows: 10, Bytes: info.Size(), Fingerprint: Fingerprint(testSchema())}
			if rc != want || rc.Bytes == 0 {
				t.Errorf("receipt %+v, file size %d", rc, info.Size())
			}

			// After Commit the File is finished: writes fail, Abort does nothing.
			if err := f.Write(rec); err == nil {
				t.Error("Write after Commit succeeded")
			}
			if _, err := f.Commit(); err == nil {
				t.Error("second Commit succeeded")
			}
			if err := f.Abort(); err != nil {
				t.Errorf("Abort after Commit: %v", err)
			}
			if _, err := os.Stat(rc.Path); err != nil {
				t.Errorf("Abort after Commit removed the file: %v", err)
			}
		})
	}
}

func TestAbort(t *testing.T) {
	s := newTestSink(t, Parquet, nil)
	dir := runDirOf(s, "task")
	f, err := s.Create(t.Context(), "task", testSchema())
	if err != nil {
		t.Fatal(err)
	}
	rec := buildRecord(t, testSchema(), genRows(5, false))
	defer rec.Release()
	if err := f.Write(rec); err != nil {
		t.Fatal(err)
	}
	for i := range 3 { // idempotent
		if err := f.Abort(); err != nil {
			t.Fatalf("Abort #%d: %v", i+1, err)
		}
	}
	assertNoFiles(t, dir)
	if err := f.Write(rec); err == nil {
		t.Error("Write after Abort succeeded")
	}
	if _, err := f.Commit(); err == nil {
		t.Error("Commit after Abort succeeded")
	}
}

// TestCrashBetweenSteps injects a failure after each durability step, as if the process
// died there, and checks what a restart would find.
func TestCrashBetweenSteps(t *testing.T) {
	errCrash := errors.New("simulated crash")
	tests := []struct {
		crashAfter Step
		wantFinal  bool // a final-extension file exists after the crash
		wantSteps  []Step
	}{
		{StepWritten, false, []Step{StepWritten}},
		{StepFsynced, false, []Step{StepWritten, StepFsynced}},
		// Renamed but Commit failed: the caller saves no checkpoint, so Abort removes the
		// file and the rerun's copy of these rows does not become a duplicate.
		{StepRenamed, true, []Step{StepWritten, StepFsynced, StepRenamed}},
		{StepDirSynced, true, []Step{StepWritten, StepFsynced, StepRenamed, StepDirSynced}},
	}
	for _, tt := range tests {
		t.Run(string(tt.crashAfter), func(t *testing.T) {
			var steps []Step
			var paths []string
			s := newTestSink(t, Parquet, func(o *Options) {
				o.Hook = func(step Step, path string) error {
					steps, paths = append(steps, step), append(paths, path)
					if step == tt.crashAfter {
						return errCrash
					}
					return nil
				}
			})
			dir := runDirOf(s, "task")
			f, err := s.Create(t.Context(), "task", testSchema())
			if err != nil {
				t.Fatal(err)
			}
			rec := buildRecord(t, testSchema(), genRows(20, false))
			defer rec.Release()
			if err := f.Write(rec); err != nil {
				t.Fatal(err)
			}
			_, err = f.Commit()
			if !errors.Is(err, errCrash) {
				t.Fatalf("Commit error = %v, want the simulated crash", err)
			}
			if !strings.Contains(err.Error(), "task") {
				t.Errorf("error %q does not name the stream", err)
			}
			if !slices.Equal(steps, tt.wantSteps) {
				t.Errorf("steps = %v, want %v", steps, tt.wantSteps)
			}
			for i, st := range steps {
				wantPath := f.temp
				if st == StepRenamed || st == StepDirSynced {
					wantPath = f.final
				}
				if paths[i] != wantPath {
					t.Errorf("step %s path %s, want %s", st, paths[i], wantPath)
				}
			}
			if got := len(finalFiles(t, dir)) > 0; got != tt.wantFinal {
				t.Fatalf("final file exists = %v, want %v (dir: %v)", got, tt.wantFinal, listDir(t, dir))
			}
			if !tt.wantFinal {
				// The data is only in the temp file, which a restart cleans up.
				if names := listDir(t, dir); len(names) != 1 || !strings.HasSuffix(names[0], ".tmp") {
					t.Fatalf("dir has %v, want only the temp file", names)
				}
			}
			if err := f.Write(rec); err == nil {
				t.Error("Write after failed Commit succeeded")
			}
			if err := f.Abort(); err != nil {
				t.Fatal(err)
			}
			assertNoFiles(t, dir)
		})
	}
}

// TestCrashThenRestart simulates a process that dies before rename without calling
// Abort; the next run's CleanTemp removes the leftover in the old run's directory, and
// nothing was ever visible under a final name.
func TestCrashThenRestart(t *testing.T) {
	dir := t.TempDir()
	crash := func(step Step, _ string) error {
		if step == StepFsynced {
			return errors.New("killed")
		}
		return nil
	}
	s1, err := New(t.Context(), Options{Dir: dir, Hook: crash, RunID: testRunID, RunStart: testRunStart})
	if err != nil {
		t.Fatal(err)
	}
	f, err := s1.Create(t.Context(), "customer", testSchema())
	if err != nil {
		t.Fatal(err)
	}
	rec := buildRecord(t, testSchema(), genRows(3, false))
	defer rec.Release()
	if err := f.Write(rec); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Commit(); err == nil {
		t.Fatal("Commit succeeded despite the crash hook")
	}
	runDir := runDirOf(s1, "customer")
	if ff := finalFiles(t, runDir); len(ff) != 0 {
		t.Fatalf("final files after crash before rename: %v", ff)
	}

	s2, err := New(t.Context(), Options{Dir: dir, RunID: "run2", RunStart: testRunStart.Add(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	n, err := s2.CleanTemp("customer")
	if err != nil || n != 1 {
		t.Fatalf("CleanTemp = %d, %v; want 1, nil", n, err)
	}
	assertNoFiles(t, runDir)
	rc := writeBatches(t, s2, "customer", testSchema(), genRows(3, false), 3)
	if want := "customer/dt=2026-12-03/run=run2/part-000001.parquet"; rc.Key != want {
		t.Errorf("rerun key %s, want %s", rc.Key, want)
	}
	if names := listDir(t, filepath.Dir(rc.Path)); len(names) != 1 || names[0] != filepath.Base(rc.Path) {
		t.Errorf("after rerun dir has %v", names)
	}
}

func TestCleanTemp(t *testing.T) {
	s := newTestSink(t, Parquet, nil)
	if n, err := s.CleanTemp("nothing_yet"); n != 0 || err != nil {
		t.Errorf("CleanTemp on a missing dir = %d, %v", n, err)
	}
	streamDir := filepath.Join(s.opts.Dir, "contact")
	dir := runDirOf(s, "contact")
	oldRun := filepath.Join(streamDir, "dt=2026-11-30", "run=old")
	keep := writeBatches(t, s, "contact", testSchema(), genRows(2, false), 2)
	if err := os.MkdirAll(oldRun, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{
		filepath.Join(dir, ".part-000002.parquet.tmp"),
		filepath.Join(oldRun, ".part-000007.ndjson.tmp"),
		filepath.Join(streamDir, ".contact-1.parquet.tmp"), // the old flat layout
		filepath.Join(dir, "notes.tmp"),
		filepath.Join(dir, ".hidden"),
		filepath.Join(oldRun, "part-000001.parquet"),
	} {
		if err := os.WriteFile(p, []byte("partial"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, ".adir.tmp"), 0o755); err != nil {
		t.Fatal(err)
	}
	n, err := s.CleanTemp("contact")
	if err != nil || n != 3 {
		t.Fatalf("CleanTemp = %d, %v; want 3, nil", n, err)
	}
	want := []string{".adir.tmp", ".hidden", "notes.tmp", filepath.Base(keep.Path)}
	if got := listDir(t, dir); !slices.Equal(got, want) {
		t.Errorf("after CleanTemp run dir has %v, want %v", got, want)
	}
	if got := listDir(t, oldRun); !slices.Equal(got, []string{"part-000001.parquet"}) {
		t.Errorf("after CleanTemp old run dir has %v", got)
	}
	if got := listDir(t, streamDir); !slices.Equal(got, []string{"dt=2026-11-30", testDT}) {
		t.Errorf("after CleanTemp stream dir has %v", got)
	}
}

func TestNamesNumberedAndNeverCollide(t *testing.T) {
	t.Run("sequential", func(t *testing.T) {
		s := newTestSink(t, NDJSON, nil)
		var created []string
		for i := range 12 {
			stream := "task"
			if i%3 == 2 {
				stream = "contact" // numbered separately
			}
			f, err := s.Create(t.Context(), stream, testSchema())
			if err != nil {
				t.Fatal(err)
			}
			rc, err := f.Commit() // zero-row files are allowed
			if err != nil {
				t.Fatal(err)
			}
			created = append(created, rc.Key)
		}
		prefix := "/" + testDT + "/run=" + testRunID + "/part-"
		want := []string{"task" + prefix + "000001.ndjson", "task" + prefix + "000002.ndjson", "contact" + prefix + "000001.ndjson",
			"task" + prefix + "000003.ndjson", "task" + prefix + "000004.ndjson", "contact" + prefix + "000002.ndjson"}
		if !slices.Equal(created[:6], want) {
			t.Errorf("keys %v, want %v", created[:6], want)
		}
		names := listDir(t, runDirOf(s, "task"))
		if len(names) != 8 || names[7] != "part-000008.ndjson" {
			t.Errorf("task run dir has %v, want part-000001 … part-000008", names)
		}
	})
	t.Run("concurrent creates", func(t *testing.T) {
		s := newTestSink(t, NDJSON, nil)
		var wg sync.WaitGroup
		var mu sync.Mutex
		seen := map[string]bool{}
		for g := range 8 {
			wg.Go(func() {
				for range 20 {
					f, err := s.Create(t.Context(), "task", testSchema())
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					if seen[f.final] {
						t.Errorf("goroutine %d: duplicate name %s", g, f.final)
					}
					seen[f.final] = true
					mu.Unlock()
					_ = f.Abort()
				}
			})
		}
		wg.Wait()
		if len(seen) != 160 || !seen[filepath.Join(runDirOf(s, "task"), "part-000160.ndjson")] {
			t.Errorf("%d distinct names, want 160 ending at part-000160", len(seen))
		}
	})
}

func TestCreateRejects(t *testing.T) {
	good := testSchema().Fields()
	withField := func(f arrow.Field) *arrow.Schema {
		return arrow.NewSchema(append(slices.Clone(good), f), nil)
	}
	tests := []struct {
		name    string
		stream  string
		schema  *arrow.Schema
		wantErr []string
	}{
		{"int32", "task", withField(arrow.Field{Name: "priority", Type: arrow.PrimitiveTypes.Int32}), []string{`"priority"`, "int32"}},
		{"float32", "task", withField(arrow.Field{Name: "pct", Type: arrow.PrimitiveTypes.Float32, Nullable: true}), []string{`"pct"`, "float32"}},
		{"large string", "task", withField(arrow.Field{Name: "big", Type: arrow.BinaryTypes.LargeString}), []string{`"big"`, "large_utf8"}},
		{"binary", "task", withField(arrow.Field{Name: "blob", Type: arrow.BinaryTypes.Binary}), []string{`"blob"`, "binary"}},
		{"timestamp ms", "task", withField(arrow.Field{Name: "ts_ms", Type: &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}}), []string{`"ts_ms"`, "timestamp[ms"}},
		{"timestamp no zone", "task", withField(arrow.Field{Name: "naive", Type: &arrow.TimestampType{Unit: arrow.Microsecond}}), []string{`"naive"`, "timestamp[us]"}},
		{"timestamp other zone", "task", withField(arrow.Field{Name: "local", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "America/New_York"}}), []string{`"local"`, "America/New_York"}},
		{"date64", "task", withField(arrow.Field{Name: "d64", Type: arrow.FixedWidthTypes.Date64}), []string{`"d64"`, "date64"}},
		{"decimal", "task", withField(arrow.Field{Name: "money", Type: &arrow.Decimal128Type{Precision: 18, Scale: 2}}), []string{`"money"`, "decimal"}},
		{"list", "task", withField(arrow.Field{Name: "tags", Type: arrow.ListOf(arrow.BinaryTypes.String)}), []string{`"tags"`, "list<item: utf8"}},
		{"list of float64", "task", withField(arrow.Field{Name: "weights", Type: arrow.ListOfNonNullable(arrow.PrimitiveTypes.Float64), Nullable: true}), []string{`"weights"`, "list<item: float64"}},
		{"list of int32", "task", withField(arrow.Field{Name: "small", Type: arrow.ListOfNonNullable(arrow.PrimitiveTypes.Int32)}), []string{`"small"`, "list<item: int32"}},
		{"list of lists", "task", withField(arrow.Field{Name: "nested", Type: arrow.ListOf(listOfInt64)}), []string{`"nested"`, "list<item: list"}},
		{"large list", "task", withField(arrow.Field{Name: "big_ids", Type: arrow.LargeListOfNonNullable(arrow.PrimitiveTypes.Int64)}), []string{`"big_ids"`, "large_list"}},
		{"fixed size list", "task", withField(arrow.Field{Name: "pair", Type: arrow.FixedSizeListOfNonNullable(2, arrow.PrimitiveTypes.Int64)}), []string{`"pair"`, "fixed_size_list"}},
		{"map", "task", withField(arrow.Field{Name: "kv", Type: arrow.MapOf(arrow.PrimitiveTypes.Int64, arrow.PrimitiveTypes.Int64)}), []string{`"kv"`, "map"}},
		{"list among lists", "task", arrow.NewSchema(append(slices.Clone(listSchema().Fields()),
			arrow.Field{Name: "custbody_rates", Type: arrow.ListOf(arrow.PrimitiveTypes.Float64), Nullable: true}), nil), []string{`"custbody_rates"`, "float64"}},
		{"duplicate field", "task", withField(arrow.Field{Name: "id", Type: arrow.PrimitiveTypes.Int64}), []string{`"id"`, "twice"}},
		{"no fields", "task", arrow.NewSchema(nil, nil), []string{"no fields"}},
		{"nil schema", "task", nil, []string{"nil schema"}},
		{"empty stream", "", testSchema(), []string{"invalid stream"}},
		{"path stream", "../etc", testSchema(), []string{"invalid stream"}},
		{"slash stream", "a/b", testSchema(), []string{"invalid stream"}},
		{"hidden stream", ".task", testSchema(), []string{"invalid stream"}},
	}
	s := newTestSink(t, Parquet, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := s.Create(t.Context(), tt.stream, tt.schema)
			if err == nil {
				_ = f.Abort()
				t.Fatal("Create succeeded")
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if tt.stream == "task" && !strings.Contains(err.Error(), "stream task") {
				t.Errorf("error %q does not name the stream", err)
			}
		})
	}
	// Rejected Creates leave nothing behind.
	if _, err := os.Stat(filepath.Join(s.opts.Dir, "task")); err == nil {
		assertNoFiles(t, runDirOf(s, "task"))
	}
}

func TestWriteRejects(t *testing.T) {
	for _, format := range []Format{Parquet, NDJSON} {
		t.Run(string(format)+"/schema mismatch", func(t *testing.T) {
			s := newTestSink(t, format, nil)
			f, err := s.Create(t.Context(), "task", testSchema())
			if err != nil {
				t.Fatal(err)
			}
			defer f.Abort()
			other := arrow.NewSchema(slices.Clone(testSchema().Fields()[:3]), nil)
			rec := buildRecord(t, other, []row{{int64(1), nil, 1.5}})
			defer rec.Release()
			if err := f.Write(rec); err == nil || !strings.Contains(err.Error(), "schema") || !strings.Contains(err.Error(), "task") {
				t.Fatalf("Write with another schema: %v", err)
			}
			// A rejected record does not poison the file.
			good := buildRecord(t, testSchema(), genRows(2, true))
			defer good.Release()
			if err := f.Write(good); err != nil {
				t.Fatal(err)
			}
			if rc, err := f.Commit(); err != nil || rc.Rows != 2 {
				t.Fatalf("Commit = %+v, %v", rc, err)
			}
		})
		t.Run(string(format)+"/null in required column", func(t *testing.T) {
			// Arrow does not enforce nullability, so the sink must.
			s := newTestSink(t, format, nil)
			schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}, nil)
			f, err := s.Create(t.Context(), "task", schema)
			if err != nil {
				t.Fatal(err)
			}
			rec := buildRecord(t, schema, []row{{int64(1)}, {nil}})
			defer rec.Release()
			err = f.Write(rec)
			if err == nil || !strings.Contains(err.Error(), `"id"`) || !strings.Contains(err.Error(), "row 1") {
				t.Fatalf("Write = %v, want error naming column id, row 1", err)
			}
			if err := f.Abort(); err != nil {
				t.Fatal(err)
			}
			assertNoFiles(t, runDirOf(s, "task"))
		})
	}
}

func TestParseFormat(t *testing.T) {
	tests := []struct {
		in      string
		want    Format
		wantErr string
	}{
		{"parquet", Parquet, ""},
		{"ndjson", NDJSON, ""},
		{" NDJSON ", NDJSON, ""},
		{"x", "", `--format: unknown format "x" (want parquet or ndjson)`},
		{"", "", `--format: unknown format "" (want parquet or ndjson)`},
		{"json", "", `--format: unknown format "json" (want parquet or ndjson)`},
	}
	for _, tt := range tests {
		got, err := ParseFormat(tt.in)
		errText := ""
		if err != nil {
			errText = err.Error()
		}
		if got != tt.want || errText != tt.wantErr {
			t.Errorf("ParseFormat(%q) = %q, %q; want %q, %q", tt.in, got, errText, tt.want, tt.wantErr)
		}
	}
}

func TestNew(t *testing.T) {
	base := t.TempDir()
	notDir := filepath.Join(base, "file")
	if err := os.WriteFile(notDir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(o Options) Options {
		if o.RunID == "" {
			o.RunID = testRunID
		}
		if o.RunStart.IsZero() {
			o.RunStart = testRunStart
		}
		return o
	}
	tests := []struct {
		name    string
		opts    Options
		wantErr string
	}{
		{"defaults", run(Options{Dir: filepath.Join(base, "a")}), ""},
		{"creates parents", run(Options{Dir: filepath.Join(base, "b", "c", "d"), Format: NDJSON}), ""},
		{"no dir", run(Options{}), "directory or bucket is required"},
		{"bad format", run(Options{Dir: base, Format: "csv"}), `unknown format "csv"`},
		{"negative row group", run(Options{Dir: base, RowGroupRows: -1}), "row group rows"},
		{"negative part size", run(Options{Dir: base, UploadPartSize: -1}), "upload part size"},
		{"dir is a file", run(Options{Dir: notDir}), "not a directory"},
		{"no run id", Options{Dir: base, RunStart: testRunStart}, "run id is required"},
		{"run id with slash", run(Options{Dir: base, RunID: "a/b"}), `invalid run id "a/b"`},
		{"run id with space", run(Options{Dir: base, RunID: "a b"}), `invalid run id "a b"`},
		{"hidden run id", run(Options{Dir: base, RunID: ".r"}), `invalid run id ".r"`},
		{"run id with control", run(Options{Dir: base, RunID: "r\x00"}), "invalid run id"},
		{"no run start", Options{Dir: base, RunID: "r"}, "run start time is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(t.Context(), tt.opts)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("New error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if info, err := os.Stat(tt.opts.Dir); err != nil || !info.IsDir() {
				t.Fatalf("Dir not created: %v", err)
			}
			wantFormat := tt.opts.Format
			if wantFormat == "" {
				wantFormat = Parquet
			}
			if s.opts.Format != wantFormat || s.opts.RowGroupRows != DefaultRowGroupRows || s.opts.Now == nil ||
				s.opts.UploadPartSize != DefaultUploadPartSize || s.opts.UploadConcurrency != 1 || s.opts.Display != tt.opts.Dir {
				t.Errorf("defaults not applied: %+v", s.opts)
			}
		})
	}
}

// TestConcurrentStreams writes several streams at once through one Sink (run with -race).
func TestConcurrentStreams(t *testing.T) {
	s := newTestSink(t, Parquet, func(o *Options) { o.RowGroupRows = 64 })
	schema := testSchema()
	rows := genRows(300, false)
	receipts := make([]Receipt, 4)
	t.Run("write", func(t *testing.T) {
		for g := range receipts {
			t.Run(fmt.Sprint(g), func(t *testing.T) {
				t.Parallel()
				receipts[g] = writeBatches(t, s, fmt.Sprintf("stream%d", g), schema, rows, 100)
			})
		}
	})
	if t.Failed() {
		t.FailNow()
	}
	for _, rc := range receipts {
		_, tbl := readParquet(t, rc.Path)
		compareTable(t, schema, tbl, rows)
	}
}
