package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/extract-dev/extract/connector"
	"github.com/extract-dev/extract/connector/netsuitetest"
)

// TestRunSummaryCountsAttempts: `extract run` reports every request it sent (retries
// included), the retries, and how far the concurrency limit fell after NetSuite's 429s,
// in the JSON summary and on the last line of the table. NetSuite refuses the session
// time-zone query twice (4 → 2 → 1) and the clock request once (already at 1).
func TestRunSummaryCountsAttempts(t *testing.T) {
	retry := &connector.RetryPolicy{MaxAttempts: 5, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}
	srv, env := fakeEnv(t, 1500)
	var sent, zoneRefusals, clockRefusals atomic.Int64
	srv.SetFault(func(r *http.Request) (int, string, bool) {
		if strings.HasSuffix(r.URL.Path, "/token") {
			return 0, "", false
		}
		sent.Add(1)
		b, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(b))
		if strings.Contains(string(b), "SESSIONTIMEZONE") && zoneRefusals.Add(1) <= 2 ||
			strings.HasSuffix(r.URL.Path, "/serverTime") && clockRefusals.Add(1) <= 1 {
			return 429, netsuitetest.ConcurrencyLimitBody(), true
		}
		return 0, "", false
	})

	for _, asJSON := range []bool{true, false} {
		t.Run(fmt.Sprint("json=", asJSON), func(t *testing.T) {
			sent.Store(0)
			zoneRefusals.Store(0)
			clockRefusals.Store(0)
			dir := t.TempDir()
			args := []string{"run", "--state", filepath.Join(dir, "s.json"), "--output", filepath.Join(dir, "out"),
				"--streams", "customer,task", "--concurrency", "4"}
			if asJSON {
				args = append(args, "--json")
			}
			code, out, stderr := runCLIWith(t, runEnv{getenv: envOf(env), retry: retry}, args...)
			if code != 0 {
				t.Fatalf("run exit %d: %s", code, stderr)
			}
			if !strings.Contains(stderr, "lowering the request limit") {
				t.Errorf("no warning about the lowered limit on stderr:\n%s", stderr)
			}
			// Every request but the token's reached the fault hook: SESSIONTIMEZONE ×3,
			// serverTime ×2, per stream at least two pages (more where the data crosses an
			// autumn clock change), and one for the deletions of both.
			wantRequests := sent.Load()
			if wantRequests < 3+2+2*2+1 {
				t.Errorf("the fake saw %d requests, want at least 10", wantRequests)
			}
			if asJSON {
				var sum struct {
					Streams []struct {
						Stream string `json:"stream"`
						Rows   int64  `json:"rows"`
					} `json:"streams"`
					Requests          *int64 `json:"requests"`
					Retries           *int64 `json:"retries"`
					Concurrency       *int   `json:"concurrency"`
					ConcurrencyLowest *int   `json:"concurrency_lowest"`
				}
				if err := json.Unmarshal([]byte(out), &sum); err != nil {
					t.Fatalf("stdout is not one JSON summary: %v\n%s", err, out)
				}
				if sum.Requests == nil || sum.Retries == nil || sum.Concurrency == nil || sum.ConcurrencyLowest == nil {
					t.Fatalf("summary lacks the totals:\n%s", out)
				}
				if *sum.Requests != wantRequests || *sum.Retries != 3 || *sum.Concurrency != 4 || *sum.ConcurrencyLowest != 1 {
					t.Errorf("requests %d retries %d concurrency %d lowest %d, want %d, 3, 4, 1\n%s",
						*sum.Requests, *sum.Retries, *sum.Concurrency, *sum.ConcurrencyLowest, wantRequests, out)
				}
				if len(sum.Streams) != 2 || sum.Streams[0].Rows != 1500 || sum.Streams[1].Rows != 1500 {
					t.Errorf("streams = %+v", sum.Streams)
				}
				return
			}
			lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
			want := fmt.Sprintf("requests %d (retries 3), concurrency 4 (lowest 1)", wantRequests)
			if len(lines) != 7 || lines[5] != want || !strings.HasPrefix(lines[0], "STREAM") || !strings.HasPrefix(lines[6], "run ") ||
				!strings.Contains(lines[6], ": manifest ") ||
				lines[3] != "deleted records: 1 request for all record streams" || lines[4] != "custom fields: 0 (catalog read now: 1 request)" {
				t.Errorf("summary:\n%s\nwant 3 table lines, the deletions' requests, the custom-field catalog and %q", out, want)
			}
		})
	}
}
