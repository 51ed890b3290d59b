package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/extract-dev/extract/connector"
	"github.com/extract-dev/extract/connector/auth"
	"github.com/extract-dev/extract/connector/netsuitetest"
	"github.com/extract-dev/extract/schema"
	"github.com/extract-dev/extract/sink"
	"github.com/extract-dev/extract/sink/sinktest"
	"github.com/extract-dev/extract/state"
)

// BenchmarkRun extracts one stream end to end through the fake NetSuite over loopback
// (client, conversion, Parquet, checkpoints). Its throughput is bounded by the in-process
// fake; real NetSuite serves about one page a second.
// The custom case adds the 18 custom fields of every kind a customer has in the demo.
func BenchmarkRun(b *testing.B) {
	for _, custom := range []bool{false, true} {
		b.Run(fmt.Sprintf("custom=%v", custom), func(b *testing.B) {
			t := &testing.T{}
			opts := netsuitetest.Options{Rows: map[string]int{connector.Customer: 20_000}, Seed: 9}
			if custom {
				opts.CustomFields = netsuitetest.StandardCustomFields()
			}
			h := newHarness(t, opts)
			defer h.srv.Close()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				os.RemoveAll(h.out)
				os.Remove(h.statePath)
				if _, err := h.run([]string{connector.Customer}, Options{}, faults{}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(20_000*b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// BenchmarkNetworkBound runs first extracts against the fake NetSuite answering every
// SuiteQL page and serverTime after a fixed latency (EXTRACT_BENCH_LATENCY, default
// 800ms), with the account's permits shared by the run, and reports the wall time, the
// floor — data pages × latency ÷ permits, what a run that kept every permit busy with
// data pages from its first instant to its last would take — and their ratio. The
// session zone is UTC so that the generated rows hold no repeated autumn hour, whose
// extra reads are not data pages.
func BenchmarkNetworkBound(b *testing.B) {
	latency := 800 * time.Millisecond
	if v := os.Getenv("EXTRACT_BENCH_LATENCY"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			b.Fatal(err)
		}
		latency = d
	}
	for _, c := range []struct {
		name    string
		rows    map[string]int
		permits int
	}{
		{"40k+4x2k/permits=4", map[string]int{connector.Customer: 40_000, connector.Contact: 2000, connector.CalendarEvent: 2000,
			connector.Task: 2000, connector.PhoneCall: 2000}, 4},
		{"200k/permits=8", map[string]int{connector.Customer: 200_000}, 8},
	} {
		b.Run(c.name, func(b *testing.B) {
			t := &testing.T{}
			// Every custom field the account serves; the one it refuses would cost each
			// stream one more request on its first run only (the refusal is remembered).
			var fields []netsuitetest.CustomField
			for _, f := range netsuitetest.StandardCustomFields() {
				if !f.NotServed {
					fields = append(fields, f)
				}
			}
			h := newHarness(t, netsuitetest.Options{Rows: c.rows, Seed: 9, TimeZone: "UTC", CustomFields: fields})
			defer h.srv.Close()
			tl := &timeline{on: os.Getenv("EXTRACT_BENCH_TIMELINE") != ""}
			h.client = newBenchClient(b, h.srv, c.permits, tl)
			h.srv.SetLatency(latency)
			var streams []string
			pages := 0
			for _, s := range connector.StreamNames {
				if n := c.rows[s]; n > 0 {
					streams = append(streams, s)
					pages += (n + connector.PageSize - 1) / connector.PageSize
				}
			}
			floor := time.Duration(pages) * latency / time.Duration(c.permits)
			var wall time.Duration
			for i := 0; i < b.N; i++ {
				os.RemoveAll(h.out)
				os.Remove(h.statePath)
				start := time.Now()
				tl.reset(start)
				res, err := h.run(streams, Options{Concurrency: c.permits}, faults{})
				wall += time.Since(start)
				tl.print(b)
				if err != nil {
					b.Fatal(err)
				}
				for _, s := range res.Streams {
					if s.Rows != int64(c.rows[s.Stream]) {
						b.Fatalf("%s: %d rows, want %d", s.Stream, s.Rows, c.rows[s.Stream])
					}
				}
			}
			wall /= time.Duration(b.N)
			b.ReportMetric(wall.Seconds(), "wall-s")
			b.ReportMetric(floor.Seconds(), "floor-s")
			b.ReportMetric(wall.Seconds()/floor.Seconds(), "x-floor")
			b.ReportMetric(float64(pages), "pages")
		})
	}
}

// BenchmarkQuietRun reports what an incremental run with nothing new costs in SuiteQL
// requests: per record stream, per child stream (as each stream counts its own), and in
// all (as the fake NetSuite counts them), after a first run of every stream.
func BenchmarkQuietRun(b *testing.B) {
	t := &testing.T{}
	h := newHarness(t, netsuitetest.Options{Rows: rowsPerStream(3000), Seed: 9, CustomFields: netsuitetest.StandardCustomFields()})
	defer h.srv.Close()
	streams := connector.AllStreams()
	if _, err := h.run(streams, Options{}, faults{}); err != nil {
		b.Fatal(err)
	}
	var records, children, total int
	for i := 0; i < b.N; i++ {
		nextSecond()
		h.srv.ResetStats()
		res, err := h.run(streams, Options{}, faults{})
		if err != nil {
			b.Fatal(err)
		}
		for _, s := range res.Streams {
			if s.Rows != 0 {
				b.Fatalf("%s: a quiet run wrote %d rows", s.Stream, s.Rows)
			}
			if slices.Contains(connector.StreamNames, s.Stream) {
				records += int(s.Requests)
			} else {
				children += int(s.Requests)
			}
		}
		for _, n := range h.srv.Stats().SuiteQLRequests {
			total += n
		}
	}
	b.ReportMetric(float64(records)/float64(b.N)/float64(len(connector.StreamNames)), "requests/record-stream")
	b.ReportMetric(float64(children)/float64(b.N)/float64(len(connector.ChildStreamNames)), "requests/child-stream")
	b.ReportMetric(float64(total)/float64(b.N), "requests/run")
}

// newBenchClient is a client of srv with permits requests in flight at most, whose
// requests go through tl.
func newBenchClient(b *testing.B, srv *netsuitetest.Server, permits int, tl *timeline) *connector.Client {
	tl.next = &http.Transport{MaxIdleConnsPerHost: permits}
	limited := connector.NewLimiter(permits).Transport(tl)
	rt, err := auth.NewTransport(auth.Config{Method: auth.OAuth2Refresh, AccountID: account, TokenURL: srv.TokenURL(),
		ClientID: "demo-client-id", ClientSecret: "demo-client-secret", RefreshToken: srv.RefreshToken()}, limited)
	if err != nil {
		b.Fatal(err)
	}
	client, err := connector.NewClient(srv.URL(), &http.Client{Transport: rt, Timeout: time.Minute},
		connector.RetryPolicy{MaxAttempts: 5, BaseDelay: time.Millisecond, MaxDelay: 10 * time.Millisecond}, nil)
	if err != nil {
		b.Fatal(err)
	}
	return client
}

// timeline records when each request of a run was on the wire, and what it asked, for
// EXTRACT_BENCH_TIMELINE=1: where a network-bound run loses time to idle permits.
type timeline struct {
	on      bool
	next    http.RoundTripper
	mu      sync.Mutex
	t0      time.Time
	entries []string
}

var fromTable = regexp.MustCompile(`FROM (\w+)(?: WHERE (\w+\.id [<>=]+ \d+(?: AND \w+\.id < \d+)?))?`)

func (tl *timeline) RoundTrip(r *http.Request) (*http.Response, error) {
	if !tl.on {
		return tl.next.RoundTrip(r)
	}
	what := r.URL.Path
	if strings.HasSuffix(r.URL.Path, "/suiteql") && r.GetBody != nil {
		if body, err := r.GetBody(); err == nil {
			var q struct{ Q string }
			_ = json.NewDecoder(body).Decode(&q)
			what = "suiteql"
			if m := fromTable.FindStringSubmatch(q.Q); m != nil {
				what = m[1] + " " + m[2]
			}
			if strings.HasPrefix(q.Q, "SELECT ") && strings.Contains(q.Q[:min(len(q.Q), 60)], ".id FROM") {
				what += " (one-row id query, offset " + r.URL.Query().Get("offset") + ")"
			}
		}
	}
	tl.mu.Lock()
	t0 := tl.t0
	tl.mu.Unlock()
	start := time.Since(t0)
	resp, err := tl.next.RoundTrip(r)
	tl.mu.Lock()
	tl.entries = append(tl.entries, fmt.Sprintf("%6.2f %6.2f %s", start.Seconds(), time.Since(t0).Seconds(), what))
	tl.mu.Unlock()
	return resp, err
}

func (tl *timeline) reset(t0 time.Time) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	tl.t0, tl.entries = t0, nil
}

func (tl *timeline) print(b *testing.B) {
	if !tl.on {
		return
	}
	tl.mu.Lock()
	defer tl.mu.Unlock()
	slices.Sort(tl.entries) // by start: the times are fixed-width
	b.Logf("requests (start s, end s, what):\n%s", strings.Join(tl.entries, "\n"))
}

// memSource serves synthetic customer pages in keyset order without HTTP, so that a
// benchmark measures only the pipeline: conversion, Parquet, checkpoints.
type memSource struct {
	rows, next int
}

func (m *memSource) SuiteQL(_ context.Context, q string, limit, _ int) (*connector.Page, error) {
	p := &connector.Page{}
	if !strings.Contains(q, " FROM customer ") {
		return p, nil // the custom-field catalog and deletions: none
	}
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for ; m.next < m.rows && len(p.Items) < limit; m.next++ {
		id := m.next + 1
		p.Items = append(p.Items, schema.RawRow{
			"id": strconv.Itoa(id), "entityid": "CUST" + strconv.Itoa(id), "companyname": "Company number " + strconv.Itoa(id),
			"email": "c" + strconv.Itoa(id) + "@example.com", "isinactive": "F", "isperson": "T", "currency": "1",
			"subsidiary": "3", "firstorderdate": "2023-05-01",
			"datecreated":      base.Add(time.Duration(id) * time.Second).Format(schema.DateTimeLayout),
			"lastmodifieddate": base.Add(time.Duration(id) * time.Second).Format(schema.DateTimeLayout),
		})
	}
	p.HasMore = m.next < m.rows
	return p, nil
}

func (m *memSource) ServerTime(context.Context) (time.Time, error) {
	return time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), nil
}

func (m *memSource) SessionTimeZone(context.Context) (*time.Location, string, error) {
	return time.UTC, "UTC", nil
}

// BenchmarkPipelineMemory shows that the pipeline streams: its peak heap stays the same
// whether a stream has 50 thousand or a million rows.
func BenchmarkPipelineMemory(b *testing.B) {
	for _, rows := range []int{50_000, 250_000, 1_000_000} {
		b.Run(fmt.Sprintf("rows=%dk", rows/1000), func(b *testing.B) {
			dir := b.TempDir()
			runtime.GC()
			var base runtime.MemStats
			runtime.ReadMemStats(&base)
			var peak atomic.Uint64
			stop := make(chan struct{})
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				var ms runtime.MemStats
				for {
					select {
					case <-stop:
						return
					case <-time.After(10 * time.Millisecond):
						runtime.ReadMemStats(&ms)
						if ms.HeapInuse > peak.Load() {
							peak.Store(ms.HeapInuse)
						}
					}
				}
			}()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				out := filepath.Join(dir, strconv.Itoa(i))
				st, err := state.Open(filepath.Join(out, "state.json"), "")
				if err != nil {
					b.Fatal(err)
				}
				sk, err := sink.New(context.Background(), sink.Options{Dir: out, RunID: sinktest.RunID(), RunStart: time.Now()})
				if err != nil {
					b.Fatal(err)
				}
				r := &Runner{Source: &memSource{rows: rows}, Sink: sk, State: st, Opts: Options{Streams: []string{connector.Customer}, Concurrency: 1}}
				res, err := r.Run(context.Background())
				st.Close()
				if err != nil || res.Streams[0].Rows != int64(rows) {
					b.Fatalf("run: %v %+v", err, res)
				}
				os.RemoveAll(out)
			}
			b.StopTimer()
			close(stop)
			wg.Wait()
			b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric((float64(peak.Load())-float64(base.HeapInuse))/(1<<20), "peak-heap-MiB")
		})
	}
}
