package main

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vbauerster/mpb/v8"

	"github.com/extract-dev/extract/connector/pipeline"
)

// TestProgressLogLines: one JSON line per stream and report, with the rate and ETA from
// the clock; a finished stream is logged once more, then no longer.
func TestProgressLogLines(t *testing.T) {
	var buf bytes.Buffer
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	p := newProgressLog(slog.New(slog.NewJSONHandler(&buf, nil)), func() time.Time { return now })
	p.update(pipeline.ProgressEvent{Stream: "task", Rows: 500, Pages: 1, Expected: 1000})
	p.update(pipeline.ProgressEvent{Stream: "customer", Rows: 200, Pages: 2})
	now = now.Add(10 * time.Second)
	p.report()
	p.update(pipeline.ProgressEvent{Stream: "task", Rows: 1000, Pages: 2, Expected: 1000, Done: true})
	now = now.Add(10 * time.Second)
	p.report()
	p.report()

	type line struct {
		Msg      string   `json:"msg"`
		Stream   string   `json:"stream"`
		Rows     int64    `json:"rows"`
		Pages    int64    `json:"pages"`
		Rate     float64  `json:"rows_per_second"`
		Expected *int64   `json:"expected_rows"`
		ETA      *float64 `json:"eta_seconds"`
		Done     bool     `json:"done"`
	}
	i64 := func(v int64) *int64 { return &v }
	f64 := func(v float64) *float64 { return &v }
	want := []line{
		{"progress", "customer", 200, 2, 20, nil, nil, false},
		{"progress", "task", 500, 1, 50, i64(1000), f64(10), false},
		{"progress", "customer", 200, 2, 10, nil, nil, false},
		{"progress", "task", 1000, 2, 50, i64(1000), nil, true},
		{"progress", "customer", 200, 2, 10, nil, nil, false},
	}
	var got []line
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var v line
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatalf("not JSON: %q", l)
		}
		got = append(got, v)
	}
	if len(got) != len(want) {
		t.Fatalf("%d lines, want %d:\n%s", len(got), len(want), buf.String())
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Msg != w.Msg || g.Stream != w.Stream || g.Rows != w.Rows || g.Pages != w.Pages || g.Rate != w.Rate || g.Done != w.Done ||
			(g.Expected == nil) != (w.Expected == nil) || (g.ETA == nil) != (w.ETA == nil) ||
			(g.Expected != nil && *g.Expected != *w.Expected) || (g.ETA != nil && *g.ETA != *w.ETA) {
			t.Errorf("line %d = %+v, want %+v", i, g, w)
		}
	}
}

func TestRateAndETA(t *testing.T) {
	for _, tc := range []struct {
		ev      pipeline.ProgressEvent
		elapsed time.Duration
		rate    float64
		eta     int64
	}{
		{pipeline.ProgressEvent{Rows: 100, Expected: 1000}, 10 * time.Second, 10, 90},
		{pipeline.ProgressEvent{Rows: 100}, 10 * time.Second, 10, -1},
		{pipeline.ProgressEvent{Rows: 0, Expected: 1000}, 10 * time.Second, 0, -1},
		{pipeline.ProgressEvent{Rows: 100, Expected: 1000}, 0, 0, -1},
		{pipeline.ProgressEvent{Rows: 1200, Expected: 1000}, 10 * time.Second, 120, 0},
		{pipeline.ProgressEvent{Rows: 1000, Expected: 1000, Done: true}, 10 * time.Second, 100, -1},
	} {
		if rate, eta := rateAndETA(tc.ev, tc.elapsed); rate != tc.rate || eta != tc.eta {
			t.Errorf("rateAndETA(%+v, %s) = %v, %d; want %v, %d", tc.ev, tc.elapsed, rate, eta, tc.rate, tc.eta)
		}
	}
}

// promLine is a line of the text exposition format: a comment, or a sample.
var promLine = regexp.MustCompile(`^(# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .+|[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\.)*"(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\.)*")*\})? -?[0-9.e+]+)$`)

func checkExposition(t *testing.T, text string) {
	t.Helper()
	for _, l := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		if !promLine.MatchString(l) {
			t.Errorf("not a comment or a sample: %q", l)
		}
	}
}

func TestMetricsExposition(t *testing.T) {
	start := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	end := start.Add(90*time.Second + 500*time.Millisecond)
	sum := &runSummary{Result: &pipeline.Result{Streams: []pipeline.StreamResult{
		{Stream: "task", Rows: 10, Deleted: 1, To: end.Add(-2 * time.Minute)},
		{Stream: `we"ird\`, Rows: 3},
	}}, Requests: 12, Retries: 2}
	got := string(exposition(runMetrics(sum, start, end, time.Time{})))
	want := `# HELP extract_last_success_timestamp_seconds End of the last run that succeeded, Unix seconds.
# TYPE extract_last_success_timestamp_seconds gauge
extract_last_success_timestamp_seconds 1740830490.5
# HELP extract_last_run_timestamp_seconds End of the last run, Unix seconds.
# TYPE extract_last_run_timestamp_seconds gauge
extract_last_run_timestamp_seconds 1740830490.5
# HELP extract_last_run_success 1 if the last run succeeded, else 0.
# TYPE extract_last_run_success gauge
extract_last_run_success 1
# HELP extract_last_run_exit_code Exit code of the last run (see the README).
# TYPE extract_last_run_exit_code gauge
extract_last_run_exit_code 0
# HELP extract_run_duration_seconds Duration of the last run.
# TYPE extract_run_duration_seconds gauge
extract_run_duration_seconds 90.5
# HELP extract_rows_total Rows written by the last run, per stream.
# TYPE extract_rows_total gauge
extract_rows_total{stream="task"} 10
extract_rows_total{stream="we\"ird\\"} 3
# HELP extract_deleted_total Tombstones written by the last run, per stream.
# TYPE extract_deleted_total gauge
extract_deleted_total{stream="task"} 1
extract_deleted_total{stream="we\"ird\\"} 0
# HELP extract_requests_total Requests to NetSuite's REST API in the last run: first tries (ok) and retries (retried).
# TYPE extract_requests_total gauge
extract_requests_total{outcome="ok"} 10
extract_requests_total{outcome="retried"} 2
# HELP extract_cursor_lag_seconds End of the last run minus the stream's watermark after it.
# TYPE extract_cursor_lag_seconds gauge
extract_cursor_lag_seconds{stream="task"} 120
`
	if got != want {
		t.Errorf("exposition:\n%s\nwant:\n%s", got, want)
	}
	checkExposition(t, got)
}

// TestMetricsFileKeepsLastSuccess: a failed run writes its own outcome but keeps the
// success timestamp of the run before it.
func TestMetricsFileKeepsLastSuccess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "extract.prom")
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	if err := writeMetricsFile(path, &runSummary{}, t0, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := writeMetricsFile(path, &runSummary{ExitCode: exitAuth, Error: "auth"}, t0.Add(time.Hour), t0.Add(time.Hour+time.Second)); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	checkExposition(t, text)
	for _, line := range []string{
		"extract_last_success_timestamp_seconds 1740830460\n",
		"extract_last_run_timestamp_seconds 1740834001\n",
		"extract_last_run_success 0\n",
		"extract_last_run_exit_code 3\n",
		"extract_run_duration_seconds 1\n",
	} {
		if !strings.Contains(text, line) {
			t.Errorf("metrics lack %q:\n%s", line, text)
		}
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
}

// TestSummaryAndMetricsFiles: the summary file holds exactly what --json prints (so
// progress, on at every millisecond, left stdout alone), and a failed run still writes
// both files with its exit code and error.
func TestSummaryAndMetricsFiles(t *testing.T) {
	_, env := fakeEnv(t, 1500)
	dir := t.TempDir()
	summary, metrics := filepath.Join(dir, "return.json"), filepath.Join(dir, "extract.prom")
	args := []string{"run", "--json", "--state", filepath.Join(dir, "s.json"), "--output", filepath.Join(dir, "out"), "--streams", "customer,task",
		"--summary-file", summary, "--metrics-textfile", metrics, "--progress-interval", "1ms"}
	code, out, stderr := runCLI(t, env, args...)
	if code != 0 {
		t.Fatalf("run exit %d: %s", code, stderr)
	}
	b, err := os.ReadFile(summary)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != out {
		t.Errorf("summary file differs from stdout:\n%s\nstdout:\n%s", b, out)
	}
	var sum struct {
		ExitCode *int    `json:"exit_code"`
		Error    *string `json:"error"`
		Streams  []struct {
			Rows int64 `json:"rows"`
		} `json:"streams"`
	}
	if err := json.Unmarshal(b, &sum); err != nil || sum.ExitCode == nil || *sum.ExitCode != 0 || sum.Error != nil || len(sum.Streams) != 2 {
		t.Fatalf("summary %s (%v)", b, err)
	}
	m, _ := os.ReadFile(metrics)
	checkExposition(t, string(m))
	for _, line := range []string{"extract_last_run_success 1\n", `extract_rows_total{stream="customer"} 1500` + "\n", `extract_rows_total{stream="task"} 1500` + "\n"} {
		if !strings.Contains(string(m), line) {
			t.Errorf("metrics lack %q:\n%s", line, m)
		}
	}

	// A wrong client secret: exit 3, and both files say so.
	env["NETSUITE_CLIENT_SECRET"] = "not-the-secret"
	code, out, stderr = runCLI(t, env, args...)
	if code != exitAuth {
		t.Fatalf("exit %d, want %d: %s", code, exitAuth, stderr)
	}
	if b, _ = os.ReadFile(summary); string(b) != out {
		t.Errorf("summary file differs from stdout:\n%s\nstdout:\n%s", b, out)
	}
	if err := json.Unmarshal(b, &sum); err != nil || *sum.ExitCode != exitAuth || sum.Error == nil || *sum.Error == "" {
		t.Fatalf("summary after failure %s (%v)", b, err)
	}
	if strings.Contains(string(b), "not-the-secret") {
		t.Errorf("summary leaks the secret: %s", b)
	}
	m, _ = os.ReadFile(metrics)
	for _, line := range []string{"extract_last_run_success 0\n", "extract_last_run_exit_code 3\n", "extract_last_success_timestamp_seconds "} {
		if !strings.Contains(string(m), line) {
			t.Errorf("metrics after failure lack %q:\n%s", line, m)
		}
	}
}

// TestProgressBars draws the bars into a buffer (auto refresh: it is no terminal) and
// checks each stream's legend as the bars end.
func TestProgressBars(t *testing.T) {
	var buf bytes.Buffer
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	b := newProgressBars(&buf, func() time.Time { return now }, mpb.WithAutoRefresh(), mpb.WithWidth(200))
	b.update(pipeline.ProgressEvent{Stream: "task", Rows: 500, Pages: 1, Expected: 1000})
	b.update(pipeline.ProgressEvent{Stream: "customer", Rows: 200, Pages: 2})
	now = now.Add(10 * time.Second)
	b.update(pipeline.ProgressEvent{Stream: "customer", Rows: 300, Pages: 3, Done: true})
	b.stop()
	for _, want := range []string{"task", "500/1000 rows, 1 pages, 50 rows/s, ETA 10s", "customer", "300 rows, 3 pages, 30 rows/s"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("bars lack %q:\n%s", want, buf.String())
		}
	}
}

func TestHelpListsTheReportFlags(t *testing.T) {
	_, out, _ := runCLI(t, nil, "--help")
	for _, f := range []string{"--progress-interval", "--summary-file", "--metrics-textfile", "_FILE"} {
		if !strings.Contains(out, f) {
			t.Errorf("extract --help lacks %s", f)
		}
	}
}
