package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/extract-dev/extract/connector/pipeline"
)

// writeAtomic replaces path with data: a temporary file beside it, fsynced, renamed into
// place, so a reader (Airflow's xcom sidecar, node_exporter) never sees half a file.
func writeAtomic(path string, data []byte) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // a no-op once renamed
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// writeSummaryFile writes the summary as `extract run --json` prints it.
func writeSummaryFile(path string, sum *runSummary) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(sum); err != nil {
		return err
	}
	return writeAtomic(path, buf.Bytes())
}

// metric is one sample: a name, its labels as name/value pairs, and its value.
type metric struct {
	name   string
	labels [][2]string
	value  float64
}

// metricFamily is the HELP and TYPE of a metric name and its samples.
type metricFamily struct {
	name, help string
	samples    []metric
}

// runMetrics describes a finished run (sum may hold only what was known when it failed)
// for node_exporter's textfile collector. prevSuccess is the last success of an earlier
// run, kept when this one failed (zero: none known).
func runMetrics(sum *runSummary, start, end time.Time, prevSuccess time.Time) []metricFamily {
	ok := sum.ExitCode == exitOK
	success := prevSuccess
	if ok {
		success = end
	}
	gauge := func(name, help string, v float64) metricFamily {
		return metricFamily{name: name, help: help, samples: []metric{{name: name, value: v}}}
	}
	var fams []metricFamily
	if !success.IsZero() {
		fams = append(fams, gauge("extract_last_success_timestamp_seconds", "End of the last run that succeeded, Unix seconds.", unixSeconds(success)))
	}
	fams = append(fams,
		gauge("extract_last_run_timestamp_seconds", "End of the last run, Unix seconds.", unixSeconds(end)),
		gauge("extract_last_run_success", "1 if the last run succeeded, else 0.", boolValue(ok)),
		gauge("extract_last_run_exit_code", "Exit code of the last run (see the README).", float64(sum.ExitCode)),
		gauge("extract_run_duration_seconds", "Duration of the last run.", end.Sub(start).Seconds()))
	rows := metricFamily{name: "extract_rows_total", help: "Rows written by the last run, per stream."}
	deleted := metricFamily{name: "extract_deleted_total", help: "Tombstones written by the last run, per stream."}
	lag := metricFamily{name: "extract_cursor_lag_seconds", help: "End of the last run minus the stream's watermark after it."}
	if sum.Result != nil {
		streams := slices.Clone(sum.Streams)
		slices.SortFunc(streams, func(a, b pipeline.StreamResult) int { return strings.Compare(a.Stream, b.Stream) })
		for _, s := range streams {
			l := [][2]string{{"stream", s.Stream}}
			rows.samples = append(rows.samples, metric{name: rows.name, labels: l, value: float64(s.Rows)})
			deleted.samples = append(deleted.samples, metric{name: deleted.name, labels: l, value: float64(s.Deleted)})
			if !s.To.IsZero() {
				lag.samples = append(lag.samples, metric{name: lag.name, labels: l, value: end.Sub(s.To).Seconds()})
			}
		}
	}
	requests := metricFamily{name: "extract_requests_total", help: "Requests to NetSuite's REST API in the last run: first tries (ok) and retries (retried).",
		samples: []metric{
			{name: "extract_requests_total", labels: [][2]string{{"outcome", "ok"}}, value: float64(sum.Requests - sum.Retries)},
			{name: "extract_requests_total", labels: [][2]string{{"outcome", "retried"}}, value: float64(sum.Retries)},
		}}
	return append(fams, rows, deleted, requests, lag)
}

func unixSeconds(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// exposition renders families in Prometheus' text format, labels sorted by name.
func exposition(fams []metricFamily) []byte {
	var b bytes.Buffer
	for _, f := range fams {
		if len(f.samples) == 0 {
			continue
		}
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s gauge\n", f.name, escapeHelp(f.help), f.name)
		for _, m := range f.samples {
			b.WriteString(m.name)
			if len(m.labels) > 0 {
				labels := slices.Clone(m.labels)
				slices.SortFunc(labels, func(x, y [2]string) int { return strings.Compare(x[0], y[0]) })
				b.WriteByte('{')
				for i, l := range labels {
					if i > 0 {
						b.WriteByte(',')
					}
					fmt.Fprintf(&b, "%s=\"%s\"", l[0], escapeLabel(l[1]))
				}
				b.WriteByte('}')
			}
			b.WriteByte(' ')
			b.WriteString(strconv.FormatFloat(m.value, 'f', -1, 64))
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}

var (
	labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
)

func escapeLabel(s string) string { return labelEscaper.Replace(s) }
func escapeHelp(s string) string  { return helpEscaper.Replace(s) }

// previousSuccess reads extract_last_success_timestamp_seconds from an earlier metrics
// file, so that a failed run does not forget when the last good one ended.
func previousSuccess(path string) time.Time {
	f, err := os.Open(path)
	if err != nil {
		return time.Time{}
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		v, ok := strings.CutPrefix(sc.Text(), "extract_last_success_timestamp_seconds ")
		if !ok {
			continue
		}
		if s, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && s > 0 {
			return time.UnixMilli(int64(s * 1000)).UTC()
		}
	}
	return time.Time{}
}

// writeMetricsFile writes the run's metrics to path for the textfile collector.
func writeMetricsFile(path string, sum *runSummary, start, end time.Time) error {
	return writeAtomic(path, exposition(runMetrics(sum, start, end, previousSuccess(path))))
}
