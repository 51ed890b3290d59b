package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/extract-dev/extract/connector"
	"github.com/extract-dev/extract/connector/netsuitetest"
	"github.com/extract-dev/extract/sink"
	"github.com/extract-dev/extract/sink/s3test"
	"github.com/extract-dev/extract/sink/sinktest"
	"github.com/extract-dev/extract/state"
)

// someCustomFields is a few of the standard custom fields, one of each shape that takes
// its own path (list, date, datetime, percent, refused by NetSuite, not stored), for tests
// that repeat a run many times.
func someCustomFields() []netsuitetest.CustomField {
	var out []netsuitetest.CustomField
	for _, f := range netsuitetest.StandardCustomFields() {
		switch f.ValueType {
		case "Multiple Select", "Date", "Date/Time", "Percent", "Check Box":
			out = append(out, f)
		default:
			if f.NotServed || f.NotStored {
				out = append(out, f)
			}
		}
	}
	return out
}

// killAt returns an error, a step hook and faults that fail the nth occurrence of step
// — a pipeline step, a sink step, or a state step ("state-renamed" for the state file's
// rename) — as a crash there would.
func killAt(step string, nth int32) (error, func(string) error, faults) {
	crash := errors.New("killed")
	var seen atomic.Int32
	at := func(s string) error {
		if s == step && seen.Add(1) == nth {
			return crash
		}
		return nil
	}
	return crash, at, faults{
		sink: func(s sink.Step, _ string) error { return at(string(s)) },
		state: func(s string) error {
			if s == "renamed" {
				s = "state-renamed"
			}
			return at(s)
		},
	}
}

// TestKillAtEveryStep stops a multi-stream, multi-file extract at each step of the data
// flow — page fetched, batch built, rows written, file fsynced, file renamed, directory
// synced, state temp written, state temp synced, state renamed — at the first and at a
// later occurrence. After every kill the state file is valid; one clean rerun then
// produces output whose merge by id equals NetSuite exactly.
func TestKillAtEveryStep(t *testing.T) {
	steps := []string{"page-fetched", "batch-built",
		string(sink.StepWritten), string(sink.StepFsynced), string(sink.StepRenamed), string(sink.StepDirSynced),
		"temp-written", "temp-synced", "state-renamed"}
	streams := []string{connector.Customer, connector.Task}
	kills := 0
	for _, step := range steps {
		for _, nth := range []int32{1, 4} {
			t.Run(fmt.Sprintf("%s#%d", step, nth), func(t *testing.T) {
				// 1,500 rows a stream: two pages and three files each, with custom fields of
				// every kind and a standard column the account refuses.
				h := newHarness(t, netsuitetest.Options{Rows: rowsPerStream(1500), Seed: int64(len(step)) + int64(nth),
					CustomFields: someCustomFields(),
					Rejections:   map[string]map[string]netsuitetest.Rejection{connector.Task: {"supportcase": netsuitetest.NotExposed}}})
				h.absent[connector.Task] = []string{"supportcase"}
				crash, at, f := killAt(step, nth)
				_, err := h.run(streams, Options{FileRows: 600, stepHook: at}, f)
				if !errors.Is(err, crash) {
					t.Fatalf("run was not killed at %s #%d: %v", step, nth, err)
				}
				kills++
				if _, err := state.Load(h.statePath); err != nil {
					t.Fatalf("state file invalid after the kill: %v", err)
				}
				h.mustRun(streams, Options{FileRows: 600})
				for _, s := range streams {
					h.assertMatchesTruth(s)
					if tmp, _ := sinktest.Glob(h.out, s, ".*"); len(tmp) != 0 {
						t.Errorf("%s: temporary files left: %v", s, tmp)
					}
				}
			})
		}
	}
	t.Logf("%d kills over %d steps", kills, len(steps))
}

// TestKillAtEveryStepOnS3 is TestKillAtEveryStep with the output and the state in one S3
// bucket: killed at each step — page fetched, batch built, file streamed to its upload,
// upload completed, state generation being uploaded, generation written — the bucket
// never shows a partial object (every listed file reads whole), and one clean rerun's
// merged output equals NetSuite.
func TestKillAtEveryStepOnS3(t *testing.T) {
	steps := []string{"page-fetched", "batch-built", string(sink.StepWritten), string(sink.StepUploaded),
		"generation-uploading", "generation-written"}
	streams := []string{connector.Customer, connector.Task}
	for _, step := range steps {
		for _, nth := range []int32{1, 4} {
			t.Run(fmt.Sprintf("%s#%d", step, nth), func(t *testing.T) {
				h := newHarness(t, netsuitetest.Options{Rows: rowsPerStream(1500), Seed: int64(len(step)) + int64(nth),
					CustomFields: someCustomFields()})
				h.bucket = s3test.Start(t, "lake").Bucket(t, "lake", "exports/")
				crash, at, f := killAt(step, nth)
				_, err := h.run(streams, Options{FileRows: 600, stepHook: at}, f)
				if !errors.Is(err, crash) {
					t.Fatalf("run was not killed at %s #%d: %v", step, nth, err)
				}
				for _, s := range streams {
					h.fileRows(s) // every object the kill left reads as a whole Parquet file
				}
				if _, err := state.LoadBucket(context.Background(), h.bucket, "s3://lake"); err != nil {
					t.Fatalf("state invalid after the kill: %v", err)
				}
				h.mustRun(streams, Options{FileRows: 600})
				for _, s := range streams {
					h.assertMatchesTruth(s)
				}
			})
		}
	}
}
