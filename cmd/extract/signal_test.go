//go:build linux || darwin

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/extract-dev/extract/connector"
	"github.com/extract-dev/extract/schema"
	"github.com/extract-dev/extract/sink"
	"github.com/extract-dev/extract/sink/sinktest"
	"github.com/extract-dev/extract/state"
)

// buildExtract builds the real binary, as a user runs it, into dir.
func buildExtract(t testing.TB, dir string) string {
	t.Helper()
	goCmd, err := exec.LookPath("go")
	if err != nil {
		goCmd = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
		if _, err := os.Stat(goCmd); err != nil {
			t.Fatalf("no go command to build the binary with: %v", err)
		}
	}
	bin := filepath.Join(dir, "extract")
	args := []string{"build", "-o", bin}
	// Under -race, build the binary with it too: the packages are then already compiled
	// by this test's own build (a cold non-race build of the dependencies takes minutes),
	// and the subprocess's signal handling is race-checked as well.
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "-race" && s.Value == "true" {
				args = append(args, "-race")
			}
		}
	}
	start := time.Now()
	out, err := exec.Command(goCmd, append(args, ".")...).CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Logf("built %s (%v) in %s", bin, args[3:], time.Since(start).Round(time.Millisecond))
	return bin
}

// proc is a running extract.
type proc struct {
	t      testing.TB
	cmd    *exec.Cmd
	stderr bytes.Buffer // written by exec's copying goroutine; read only after wait
	done   chan struct{}
	start  time.Time
}

func startExtract(t testing.TB, bin string, env map[string]string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, cmd: exec.Command(bin, args...), done: make(chan struct{}), start: time.Now()}
	for k, v := range env { // only these: nothing of the test's own environment leaks in
		p.cmd.Env = append(p.cmd.Env, k+"="+v)
	}
	p.cmd.Stderr = &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

func (p *proc) signal(s os.Signal) time.Time {
	p.t.Helper()
	if err := p.cmd.Process.Signal(s); err != nil {
		p.t.Fatalf("signal: %v", err)
	}
	return time.Now()
}

// wait returns the exit code, failing the test if the process runs for longer than limit.
func (p *proc) wait(limit time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(limit):
		_ = p.cmd.Process.Kill()
		<-p.done
		p.t.Fatalf("extract did not exit within %s; stderr:\n%s", limit, p.stderr.String())
		return -1
	}
}

// lastLine is the last line of stderr (after wait).
func (p *proc) lastLine() string {
	lines := strings.Split(strings.TrimRight(p.stderr.String(), "\n"), "\n")
	return lines[len(lines)-1]
}

// pollFor waits until cond holds, failing after limit.
func pollFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(limit); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", limit, what)
		}
	}
}

// outputFiles lists the files under dir, failing on any hidden (temporary) file.
func outputFiles(t *testing.T, dir string) map[string][]string {
	t.Helper()
	byStream := map[string][]string{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if strings.HasPrefix(d.Name(), ".") {
			t.Errorf("a temporary file remains: %s", p)
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		if top, _, _ := strings.Cut(filepath.ToSlash(rel), "/"); top == "_manifests" || top == "_runs" || d.Name() == sink.SuccessName {
			return nil // the run's artifacts: see runManifests
		}
		if !strings.HasSuffix(d.Name(), ".ndjson") {
			t.Errorf("unexpected file %s", p)
			return nil
		}
		// <dir>/<stream>/dt=…/run=…/part-N.ndjson
		stream, _, _ := strings.Cut(filepath.ToSlash(rel), "/")
		byStream[stream] = append(byStream[stream], p)
		return nil
	})
	for _, files := range byStream {
		sort.Strings(files) // dt, run id and part number sort by the time they were written
	}
	return byStream
}

// readRows reads an NDJSON file completely: it must end with a newline and every line
// must be a JSON object with an id.
func readRows(t *testing.T, path string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) == 0 || b[len(b)-1] != '\n' {
		t.Fatalf("%s does not end with a complete line", path)
	}
	var rows []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		dec.UseNumber()
		var row map[string]any
		if err := dec.Decode(&row); err != nil || row["id"] == nil {
			t.Fatalf("%s: line %d is not a row: %v %q", path, len(rows)+1, err, sc.Text())
		}
		rows = append(rows, row)
	}
	return rows
}

// TestSIGTERMStopsCleanlyAndRerunCompletes is the operator's view of an interrupt: a run of
// the real binary is sent SIGTERM in the middle of its work. It exits promptly with code 6
// and a last line saying so; every file with a final name is complete, no temporary file
// remains, the state file is valid and accounts for exactly the files on disk; and a
// rerun finishes the job, so that the merged output equals NetSuite.
func TestSIGTERMStopsCleanlyAndRerunCompletes(t *testing.T) {
	t.Parallel()
	bin := buildExtract(t, t.TempDir())
	srv, env := fakeEnv(t, 3000) // 3,000 rows a stream: three pages, so three files, each
	srv.SetFault(func(r *http.Request) (int, string, bool) {
		if strings.HasSuffix(r.URL.Path, "/suiteql") {
			time.Sleep(150 * time.Millisecond) // 13 queries one at a time: a run of >2 s
		}
		return 0, "", false
	})
	dir := t.TempDir()
	out, statePath := filepath.Join(dir, "out"), filepath.Join(dir, "state.json")
	streams := []string{"customer", "contact", "task"}
	args := []string{"run", "--streams", strings.Join(streams, ","), "--format", "ndjson", "--file-rows", "500", "--concurrency", "1", "--state", statePath, "--output", out}

	p := startExtract(t, bin, env, args...)
	pollFor(t, 20*time.Second, "a first committed file", func() bool {
		files, _ := sinktest.Glob(out, "*", "*.ndjson")
		return len(files) > 0
	})
	if d := time.Second - time.Since(p.start); d > 0 {
		time.Sleep(d)
	}
	sent := p.signal(syscall.SIGTERM)
	code := p.wait(30 * time.Second) // the default --shutdown-timeout
	stopped := time.Since(sent)
	t.Logf("SIGTERM after %s; exited %d after %s more", sent.Sub(p.start).Round(time.Millisecond), code, stopped.Round(time.Millisecond))
	if code != exitInterrupted {
		t.Fatalf("exit code %d, want %d; stderr:\n%s", code, exitInterrupted, p.stderr.String())
	}
	if stopped > 10*time.Second {
		t.Errorf("took %s to stop", stopped)
	}
	if want := "extract: interrupted by SIGTERM; files on disk are complete and the state file matches them; rerun to continue"; p.lastLine() != want {
		t.Errorf("last stderr line %q, want %q", p.lastLine(), want)
	}

	// The interrupted run left complete files only, and the state file accounts for
	// exactly them: nothing is written that the state does not know, and vice versa.
	raw, err := os.ReadFile(statePath)
	if err != nil || !json.Valid(raw) {
		t.Fatalf("state file is not valid JSON: %v\n%s", err, raw)
	}
	st, err := state.Load(statePath)
	if err != nil {
		t.Fatal(err)
	}
	if temps, _ := filepath.Glob(filepath.Join(dir, ".state.json.tmp*")); len(temps) > 0 {
		t.Errorf("state temp files remain: %v", temps)
	}
	files := outputFiles(t, out)
	total, unfinished := 0, 0
	for _, stream := range streams {
		rows := 0
		for _, f := range files[stream] {
			rows += len(readRows(t, f))
		}
		total += rows
		rec, del := st.Streams[stream], st.Streams[stream+".deleted"]
		if int64(rows) != rec.RowsTotal+del.RowsTotal || int64(len(files[stream])) != rec.FilesTotal+del.FilesTotal {
			t.Errorf("%s: %d rows in %d files on disk, the state counts %d rows in %d files", stream, rows, len(files[stream]),
				rec.RowsTotal+del.RowsTotal, rec.FilesTotal+del.FilesTotal)
		}
		if rec.Watermark.IsZero() || del.Watermark.IsZero() {
			unfinished++
		}
	}
	if total == 0 || unfinished == 0 {
		t.Fatalf("the signal did not land mid-run (%d rows written, %d streams unfinished): the test proves nothing", total, unfinished)
	}
	t.Logf("interrupted run: %d rows in files, %d of %d streams unfinished", total, unfinished, len(streams))
	// Its manifest lists exactly those files, marked incomplete, and no directory says
	// the run succeeded.
	first := runManifests(t, out)
	if len(first) != 1 || first[0].Complete {
		t.Fatalf("manifests after the interrupted run: %+v, want one, incomplete", first)
	}
	assertManifestLists(t, first[0], files)
	if ok := successMarkers(t, out); len(ok) != 0 {
		t.Errorf("the interrupted run wrote %v", ok)
	}

	// The rerun completes, and the output merged by id equals NetSuite.
	srv.SetFault(nil)
	p2 := startExtract(t, bin, env, args...)
	if code := p2.wait(60 * time.Second); code != 0 {
		t.Fatalf("rerun: exit %d; stderr:\n%s", code, p2.stderr.String())
	}
	t.Logf("rerun took %s", time.Since(p2.start).Round(time.Millisecond))
	before := files
	files = outputFiles(t, out)
	ms := runManifests(t, out)
	if len(ms) != 2 || !ms[1].Complete || ms[0].RunID != first[0].RunID {
		t.Fatalf("manifests after the rerun: %+v", ms)
	}
	added := map[string][]string{}
	for stream, fs := range files {
		for _, f := range fs {
			if !slices.Contains(before[stream], f) {
				added[stream] = append(added[stream], f)
			}
		}
	}
	assertManifestLists(t, ms[1], added)
	var wantMarkers []string
	for stream, fs := range added {
		if len(fs) > 0 {
			wantMarkers = append(wantMarkers, filepath.Join(filepath.Dir(fs[0]), sink.SuccessName))
			if filepath.Base(filepath.Dir(fs[0])) != "run="+ms[1].RunID {
				t.Errorf("%s: the rerun's files are not under run=%s", stream, ms[1].RunID)
			}
		}
	}
	slices.Sort(wantMarkers)
	if got := successMarkers(t, out); !slices.Equal(got, wantMarkers) {
		t.Errorf("_SUCCESS markers %v, want %v", got, wantMarkers)
	}
	loc, _ := time.LoadLocation("America/Los_Angeles") // the fake's session zone
	compared := map[string]string{"customer": "companyname", "contact": "entityid", "task": "title"}
	for _, stream := range streams {
		merged := mergeByID(t, files[stream])
		truth := srv.Truth(stream)
		if len(merged) != len(truth) {
			t.Errorf("%s: %d ids in the merged output, %d in NetSuite", stream, len(merged), len(truth))
		}
		bad := 0
		for _, want := range truth {
			id := want["id"].(int64)
			got, ok := merged[id]
			if !ok {
				if bad++; bad <= 3 {
					t.Errorf("%s: id %d missing", stream, id)
				}
				continue
			}
			if !sameInstant(want["lastmodifieddate"].(time.Time), got.modified, loc) {
				if bad++; bad <= 3 {
					t.Errorf("%s id %d: lastmodifieddate %s, NetSuite %s", stream, id, got.modified, want["lastmodifieddate"])
				}
			}
			col := compared[stream]
			if w, _ := want[col].(string); fmt.Sprint(got.row[col]) != fmt.Sprint(orNil(w)) {
				if bad++; bad <= 3 {
					t.Errorf("%s id %d: %s = %v, NetSuite %q", stream, id, col, got.row[col], w)
				}
			}
		}
	}
}

type mergedRow struct {
	row      map[string]any
	modified time.Time
	deleted  bool
}

// mergeByID applies the README's rule: per id the row with the latest lastmodifieddate
// (a tombstone winning a tie), then tombstoned ids are dropped.
func mergeByID(t *testing.T, files []string) map[int64]mergedRow {
	t.Helper()
	merged := map[int64]mergedRow{}
	for _, f := range files {
		for _, row := range readRows(t, f) {
			id, err := row["id"].(json.Number).Int64()
			if err != nil {
				t.Fatalf("%s: id %v", f, row["id"])
			}
			modified, err := time.Parse(time.RFC3339, fmt.Sprint(row["lastmodifieddate"]))
			if err != nil {
				t.Fatalf("%s id %d: lastmodifieddate %v", f, id, row["lastmodifieddate"])
			}
			m := mergedRow{row: row, modified: modified, deleted: row[connector.DeletedColumn] == true}
			if old, ok := merged[id]; ok && (m.modified.Before(old.modified) || (m.modified.Equal(old.modified) && old.deleted)) {
				continue
			}
			merged[id] = m
		}
	}
	for id, m := range merged {
		if m.deleted {
			delete(merged, id)
		}
	}
	return merged
}

// sameInstant compares datetimes; one in the repeated autumn hour may read back as either
// of its instants (see the README's time-zone section).
func sameInstant(want, got time.Time, loc *time.Location) bool {
	if want.Equal(got) {
		return true
	}
	first, second, _ := schema.WallInstants(want.In(loc).Format(schema.DateTimeLayout), loc)
	return got.Equal(first) || got.Equal(second)
}

// orNil: NetSuite has no empty string; "" reads back as NULL.
func orNil(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// TestShutdownBound: a stop that cannot finish does not keep the process alive. A hung
// request is not such a stop (requests follow the run's context, so the run still stops
// at once); a state file on a stalled file system is (a FIFO nobody writes stands in for
// one: opening it blocks in the kernel, beyond any context). The process then exits with
// code 6 once --shutdown-timeout has passed, and a second signal exits at once.
func TestShutdownBound(t *testing.T) {
	t.Parallel()
	bin := buildExtract(t, t.TempDir())

	t.Run("hung request is cancelled", func(t *testing.T) {
		t.Parallel()
		srv, env := fakeEnv(t, 2000)
		release := make(chan struct{})
		t.Cleanup(func() { close(release) }) // before the fake closes: Close waits for handlers
		hung := make(chan struct{}, 100)
		srv.SetFault(func(r *http.Request) (int, string, bool) {
			if strings.HasSuffix(r.URL.Path, "/suiteql") {
				hung <- struct{}{}
				<-release // ignores r.Context(): only the client can give up
			}
			return 0, "", false
		})
		dir := t.TempDir()
		p := startExtract(t, bin, env, "run", "--shutdown-timeout", "2s", "--state", filepath.Join(dir, "s.json"), "--output", filepath.Join(dir, "out"))
		select {
		case <-hung:
		case <-time.After(20 * time.Second):
			t.Fatal("no SuiteQL request arrived")
		}
		sent := p.signal(syscall.SIGTERM)
		code := p.wait(10 * time.Second)
		t.Logf("exited %d %s after SIGTERM", code, time.Since(sent).Round(time.Millisecond))
		if code != exitInterrupted || time.Since(sent) > 2*time.Second || !strings.Contains(p.lastLine(), "extract: interrupted by SIGTERM; files on disk") {
			t.Errorf("exit %d after %s; last line %q", code, time.Since(sent), p.lastLine())
		}
	})

	// stalled starts a run whose state file blocks forever, and waits until it does.
	stalled := func(t *testing.T, bound string) *proc {
		_, env := fakeEnv(t, 10)
		dir := t.TempDir()
		statePath := filepath.Join(dir, "s.json")
		if err := syscall.Mkfifo(statePath, 0o600); err != nil {
			t.Fatal(err)
		}
		p := startExtract(t, bin, env, "run", "--shutdown-timeout", bound, "--state", statePath, "--output", filepath.Join(dir, "out"))
		pollFor(t, 20*time.Second, "the state lock", func() bool {
			_, err := os.Stat(statePath + ".lock")
			return err == nil
		})
		time.Sleep(100 * time.Millisecond) // into the blocking open
		return p
	}

	t.Run("stop that cannot finish", func(t *testing.T) {
		t.Parallel()
		p := stalled(t, "2s")
		sent := p.signal(syscall.SIGTERM)
		code := p.wait(10 * time.Second)
		took := time.Since(sent)
		t.Logf("exited %d %s after SIGTERM", code, took.Round(time.Millisecond))
		if code != exitInterrupted || took < 2*time.Second || took > 5*time.Second {
			t.Errorf("exit %d after %s, want %d after 2s", code, took, exitInterrupted)
		}
		if want := "extract: interrupted; did not stop within 2s, exiting"; p.lastLine() != want {
			t.Errorf("last line %q, want %q", p.lastLine(), want)
		}
	})

	t.Run("second signal", func(t *testing.T) {
		t.Parallel()
		p := stalled(t, "30s")
		p.signal(syscall.SIGTERM)
		time.Sleep(200 * time.Millisecond)
		sent := p.signal(syscall.SIGINT)
		code := p.wait(10 * time.Second)
		took := time.Since(sent)
		t.Logf("exited %d %s after the second signal", code, took.Round(time.Millisecond))
		if code != exitInterrupted || took > 2*time.Second {
			t.Errorf("exit %d after %s", code, took)
		}
		if want := "extract: interrupted again by SIGINT; exiting at once"; p.lastLine() != want {
			t.Errorf("last line %q, want %q", p.lastLine(), want)
		}
	})
}

// TestMaxDuration: the deadline stops a run like an interrupt, with the transient code.
func TestMaxDuration(t *testing.T) {
	t.Parallel()
	srv, env := fakeEnv(t, 3000)
	srv.SetFault(func(r *http.Request) (int, string, bool) {
		if strings.HasSuffix(r.URL.Path, "/suiteql") {
			time.Sleep(150 * time.Millisecond) // 9 queries one at a time: >1.3 s
		}
		return 0, "", false
	})
	dir := t.TempDir()
	args := []string{"run", "--streams", "customer,task", "--state", filepath.Join(dir, "s.json"), "--output", filepath.Join(dir, "out"), "--concurrency", "1", "--max-duration", "700ms"}
	start := time.Now()
	code, _, stderr := runCLI(t, env, args...)
	took := time.Since(start)
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if code != exitTransient || took > 5*time.Second {
		t.Fatalf("exit %d after %s, want %d soon after 700ms:\n%s", code, took, exitTransient, stderr)
	}
	if want := "extract: stopped after --max-duration 700ms; files on disk are complete and the state file matches them; rerun to continue"; lines[len(lines)-1] != want {
		t.Errorf("last line %q, want %q", lines[len(lines)-1], want)
	}
	srv.SetFault(nil)
	if code, _, stderr := runCLI(t, env, args[:len(args)-4]...); code != 0 {
		t.Fatalf("rerun: exit %d:\n%s", code, stderr)
	}
}

// TestInterruptedRunInProcess: run's own view of an interrupt (a cancelled context, as
// main's signal handler cancels it): exit 6 and one line, whatever error the pipeline
// returned on the way out.
func TestInterruptedRunInProcess(t *testing.T) {
	t.Parallel()
	srv, env := fakeEnv(t, 2000)
	ctx, cancel := context.WithCancelCause(context.Background())
	srv.SetFault(func(r *http.Request) (int, string, bool) {
		if strings.HasSuffix(r.URL.Path, "/suiteql") && strings.Contains(queryText(r), "FROM contact") {
			cancel(&interruption{signal: syscall.SIGTERM})
		}
		return 0, "", false
	})
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{"run", "--state", filepath.Join(dir, "s.json"), "--output", filepath.Join(dir, "out")}, runEnv{stdout: &stdout, stderr: &stderr, getenv: envOf(env)})
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	if code != exitInterrupted || lines[len(lines)-1] != "extract: interrupted by SIGTERM; files on disk are complete and the state file matches them; rerun to continue" {
		t.Fatalf("exit %d:\n%s", code, stderr.String())
	}
}

func queryText(r *http.Request) string {
	var b bytes.Buffer
	_, _ = b.ReadFrom(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(b.Bytes()))
	return b.String()
}

func TestStopSettingsAreValidated(t *testing.T) {
	t.Parallel()
	_, env := fakeEnv(t, 1)
	dir := t.TempDir()
	for _, tc := range []struct{ args []string }{
		{[]string{"--shutdown-timeout", "0s"}},
		{[]string{"--shutdown-timeout", "soon"}},
		{[]string{"--max-duration", "-1m"}},
		{[]string{"--max-duration", "forever"}},
	} {
		args := append([]string{"run", "--state", filepath.Join(dir, "s.json"), "--output", filepath.Join(dir, "out")}, tc.args...)
		code, _, stderr := runCLI(t, env, args...)
		if code != exitConfig || !strings.Contains(stderr, tc.args[0]) {
			t.Errorf("%v: exit %d: %s", tc.args, code, stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "s.json")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a configuration error touched the state file: %v", err)
	}
}

// TestStopDecidesTheExitCode: once a run was stopped, whatever error came back on the way
// out — a cancelled request, a sink or state error that lost the cancellation from its
// chain, or none at all — ends as the stop's code with one line; configuration,
// authentication and data errors are not caused by a stop and keep their own code.
func TestStopDecidesTheExitCode(t *testing.T) {
	t.Parallel()
	canceledState := fmt.Errorf("state file s.json: %w", errors.Join(errors.New("write"), context.Canceled))
	cases := []struct {
		name  string
		stop  func(s *session, cancelParent context.CancelCauseFunc)
		err   error
		code  int
		line  string // the last line's start
		extra string // and what it must contain besides
	}{
		{"no stop, cancelled", nil, context.Canceled, exitInterrupted, "extract: context canceled", ""},
		{"no stop, ok", nil, nil, exitOK, "", ""},
		{"signal, clean return", sigterm, nil, exitInterrupted, "extract: interrupted by SIGTERM; files on disk", ""},
		{"signal, request cancelled", sigterm, fmt.Errorf("stream task: %w: POST x: %w", connector.ErrInterrupted, &interruption{syscall.SIGTERM}), exitInterrupted, "extract: interrupted by SIGTERM; files on disk", ""},
		{"signal, state error with cancellation", sigterm, canceledState, exitInterrupted, "extract: interrupted by SIGTERM; files", ""},
		{"signal, sink error without it", sigterm, errors.New("sink: stream task: file already closed"), exitInterrupted, "extract: interrupted by SIGTERM; files", "(while stopping: sink: stream task: file already closed)"},
		{"signal, transient", sigterm, fmt.Errorf("%w: reset", connector.ErrTransient), exitInterrupted, "extract: interrupted by SIGTERM", "while stopping"},
		{"signal, data error", sigterm, fmt.Errorf("%w: bad value", connector.ErrData), exitData, "extract: data error: bad value", ""},
		{"signal, auth error", sigterm, fmt.Errorf("%w: invalid_grant", connector.ErrAuth), exitAuth, "extract: authentication error", ""},
		{"caller cancelled", func(_ *session, c context.CancelCauseFunc) { c(nil) }, nil, exitInterrupted, "extract: interrupted; files on disk", ""},
		{"max duration", maxDuration, fmt.Errorf("stream task: %w: POST x: %w", connector.ErrInterrupted, &deadlineStop{time.Minute}), exitTransient, "extract: stopped after --max-duration 1m0s; files on disk", ""},
		{"max duration, clean return", maxDuration, nil, exitTransient, "extract: stopped after --max-duration 1m0s", ""},
		{"max duration, config error", maxDuration, fmt.Errorf("%w: x", connector.ErrConfig), exitConfig, "extract: configuration error: x", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			parent, cancelParent := context.WithCancelCause(context.Background())
			defer cancelParent(nil)
			var stdout, stderr bytes.Buffer
			s := newSession(parent, runEnv{stdout: &stdout, stderr: &stderr, getenv: envOf(nil)})
			if tc.stop != nil {
				tc.stop(s, cancelParent)
			}
			code := s.finish([]string{"run"}, tc.err)
			if code != tc.code {
				t.Errorf("exit code %d, want %d", code, tc.code)
			}
			out := stderr.String()
			if strings.Count(out, "\n") > 1 || !strings.HasPrefix(out, tc.line) || !strings.Contains(out, tc.extra) {
				t.Errorf("stderr %q, want one line starting %q containing %q", out, tc.line, tc.extra)
			}
		})
	}
}

func sigterm(_ *session, cancel context.CancelCauseFunc) { cancel(&interruption{syscall.SIGTERM}) }

func maxDuration(s *session, _ context.CancelCauseFunc) { s.cancel(&deadlineStop{time.Minute}) }

// runManifests reads every manifest under out, oldest run first.
func runManifests(t *testing.T, out string) []sink.Manifest {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join(out, "_manifests", "*.json"))
	slices.Sort(paths)
	var ms []sink.Manifest
	for _, p := range paths {
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var m sink.Manifest
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if want := m.RunID + ".json"; filepath.Base(p) != want {
			t.Errorf("%s holds the manifest of run %s", p, m.RunID)
		}
		ms = append(ms, m)
	}
	return ms
}

// assertManifestLists checks that m lists exactly the files, with their sizes and rows.
func assertManifestLists(t *testing.T, m sink.Manifest, files map[string][]string) {
	t.Helper()
	var want, got []string
	for _, fs := range files {
		for _, f := range fs {
			abs, _ := filepath.Abs(f)
			want = append(want, abs)
		}
	}
	for _, e := range m.Entries {
		got = append(got, e.URL)
		info, err := os.Stat(e.URL)
		if err != nil || info.Size() != e.Bytes || e.Meta.ContentLength != e.Bytes || !e.Mandatory {
			t.Errorf("manifest entry %+v: file %v", e, err)
			continue
		}
		if rows := len(readRows(t, e.URL)); e.Rows == nil || int64(rows) != *e.Rows {
			t.Errorf("manifest entry %s: rows %v, the file has %d", e.URL, e.Rows, rows)
		}
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("run %s: manifest lists\n%v\nwant the files written\n%v", m.RunID, got, want)
	}
}

// successMarkers lists the _SUCCESS markers under out, sorted.
func successMarkers(t *testing.T, out string) []string {
	t.Helper()
	var got []string
	filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Name() == sink.SuccessName {
			got = append(got, p)
		}
		return err
	})
	slices.Sort(got)
	return got
}
