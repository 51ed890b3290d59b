//go:build linux

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/extract-dev/extract/connector/netsuitetest"
	"github.com/extract-dev/extract/sink/s3test"
)

// BenchmarkRunPeakRSS runs the real binary over five record streams writing at once —
// to local disk and to S3 (an in-process gofakes3, outside the measured process) — and
// reports its wall time, rows/s and peak RSS, the figure the 150 MB memory goal is about.
// EXTRACT_BENCH_ROWS sets the rows per stream (default 60,000: more than a Parquet row
// group, so every writer holds a full one); EXTRACT_BENCH_GOMEMLIMIT is passed to the
// child as GOMEMLIMIT.
//
// Peak RSS is the child's VmHWM, polled from /proc every 20 ms (it only grows, so the last
// reading misses at most the final moments). Not ru_maxrss: Linux charges the child with
// the parent's resident memory between fork and exec, and the parent holds the fake
// NetSuite and S3.
func BenchmarkRunPeakRSS(b *testing.B) {
	rows := 60_000
	if v, err := strconv.Atoi(os.Getenv("EXTRACT_BENCH_ROWS")); err == nil && v > 0 {
		rows = v
	}
	bin := buildExtract(b, b.TempDir())
	streams := []string{"customer", "contact", "calendarevent", "task", "phonecall"}
	per := map[string]int{}
	for _, s := range streams {
		per[s] = rows
	}
	_, env := fakeEnvWith(b, netsuitetest.Options{Seed: 4, Rows: per, CustomFields: netsuitetest.StandardCustomFields()})
	fs3 := s3test.Start(b, "lake")
	for k, v := range fs3.Env() {
		env[k] = v
	}
	env["NETSUITE_S3_ENDPOINT"], env["NETSUITE_S3_PATH_STYLE"] = fs3.URL, "true"
	if v := os.Getenv("EXTRACT_BENCH_GOMEMLIMIT"); v != "" {
		env["GOMEMLIMIT"] = v
	}
	for _, target := range []string{"local", "s3"} {
		b.Run(target, func(b *testing.B) {
			var peak int64
			var wall time.Duration
			for i := range b.N {
				dir := b.TempDir()
				out, statePath := filepath.Join(dir, "out"), filepath.Join(dir, "state.json")
				if target == "s3" {
					out, statePath = fmt.Sprintf("s3://lake/run%d-%d", b.N, i), fmt.Sprintf("s3://lake/run%d-%d", b.N, i)
				}
				p := startExtract(b, bin, env, "run", "--streams", strings.Join(streams, ","), "--output", out, "--state", statePath,
					"--concurrency", "4", "--log-level", "warn")
				hwm := pollHWM(p)
				if code := p.wait(30 * time.Minute); code != 0 {
					b.Fatalf("exit %d:\n%s", code, p.stderr.String())
				}
				wall += time.Since(p.start)
				peak = max(peak, <-hwm)
			}
			total := float64(rows * len(streams))
			b.ReportMetric(wall.Seconds()/float64(b.N), "s/run")
			b.ReportMetric(total*float64(b.N)/wall.Seconds(), "rows/s")
			b.ReportMetric(float64(peak)/(1<<20), "peak-RSS-MiB")
			b.Logf("%s: 5 streams × %d rows, peak RSS %.0f MiB", target, rows, float64(peak)/(1<<20))
		})
	}
}

// pollHWM reads the peak RSS (VmHWM) of p until it exits, and sends the last reading.
func pollHWM(p *proc) <-chan int64 {
	out := make(chan int64, 1)
	go func() {
		var last int64
		defer func() { out <- last }()
		path := fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid)
		for {
			select {
			case <-p.done:
				return
			case <-time.After(20 * time.Millisecond):
			}
			raw, err := os.ReadFile(path)
			if err != nil {
				return
			}
			for line := range strings.Lines(string(raw)) {
				if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
					if kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64); err == nil {
						last = kb << 10
					}
				}
			}
		}
	}()
	return out
}
