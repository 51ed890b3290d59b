//go:build linux || darwin

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/extract-dev/extract/connector/netsuitetest"
	"github.com/extract-dev/extract/sink/s3test"
)

// BenchmarkRunPeakRSS runs the real binary over five record streams writing at once —
// to local disk and to S3 (an in-process gofakes3, outside the measured process) — and
// reports its wall time, rows/s and peak RSS (the kernel's maxrss of the child), the
// figure the 150 MB memory goal is about. EXTRACT_BENCH_ROWS sets the rows per stream
// (default 60,000: more than a Parquet row group, so every writer holds a full one).
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
				if code := p.wait(30 * time.Minute); code != 0 {
					b.Fatalf("exit %d:\n%s", code, p.stderr.String())
				}
				wall += time.Since(p.start)
				if ru, ok := p.cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
					peak = max(peak, maxrssBytes(ru))
				}
			}
			total := float64(rows * len(streams))
			b.ReportMetric(wall.Seconds()/float64(b.N), "s/run")
			b.ReportMetric(total*float64(b.N)/wall.Seconds(), "rows/s")
			b.ReportMetric(float64(peak)/(1<<20), "peak-RSS-MiB")
			b.Logf("%s: 5 streams × %d rows, peak RSS %.0f MiB", target, rows, float64(peak)/(1<<20))
		})
	}
}
