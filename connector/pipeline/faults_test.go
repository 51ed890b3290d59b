package pipeline

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/extract-dev/extract/connector"
	"github.com/extract-dev/extract/connector/auth"
	"github.com/extract-dev/extract/connector/netsuitetest"
)

var faultMixSeeds = flag.Int("faultmix.seeds", 3, "seeds of the fault sequence for TestFaultMixMatchesFaultFreeRun (make faultmix runs 100)")

// faultMix draws, per request, what a loaded account does to it: 25% refused for lack of
// concurrency slots (429), and 9% other failures: 5% UNEXPECTED_ERROR (500), 2% a proxy's
// 503 page, 2% connection dropped; else answered.
type faultMix struct {
	mu     sync.Mutex
	rng    *rand.Rand
	counts map[int]int // injected, by status
}

func newFaultMix(seed uint64) *faultMix {
	return &faultMix{rng: rand.New(rand.NewPCG(seed, seed^0x5eed)), counts: map[int]int{}}
}

func (f *faultMix) draw() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	x := f.rng.Float64()
	status := 0
	switch {
	case x < 0.25:
		status = http.StatusTooManyRequests
	case x < 0.30:
		status = http.StatusInternalServerError
	case x < 0.32:
		status = http.StatusServiceUnavailable
	case x < 0.34:
		status = netsuitetest.DropConnection
	}
	if status != 0 {
		f.counts[status]++
	}
	return status
}

func (f *faultMix) fault(r *http.Request) (int, string, bool) {
	p := r.URL.Path
	if !strings.HasSuffix(p, "/suiteql") && !strings.HasSuffix(p, "/token") && !strings.HasSuffix(p, "/serverTime") {
		return 0, "", false
	}
	return faultAnswer(f.draw())
}

// faultAnswer is what the fake NetSuite answers for a drawn status (0: no fault).
func faultAnswer(status int) (int, string, bool) {
	switch status {
	case http.StatusTooManyRequests:
		return status, netsuitetest.ConcurrencyLimitBody(), true
	case http.StatusInternalServerError:
		return status, netsuitetest.ErrorBody(status, "UNEXPECTED_ERROR", "An unexpected error occurred. Error ID: lx8f3k2a1b9c7d"), true
	case http.StatusServiceUnavailable:
		return status, "<html><body><h1>503 Service Unavailable</h1></body></html>", true
	case netsuitetest.DropConnection:
		return status, "", true
	}
	return 0, "", false
}

func (f *faultMix) injected() map[int]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[int]int{}
	for k, v := range f.counts {
		out[k] = v
	}
	return out
}

// virtualClock is the retry policy's clock and sleeper in these tests: a backoff advances
// it at once, so a storm that a real run waits out for minutes takes milliseconds. Every
// request's waits advance the one clock, so a request's elapsed time counts the waits of
// the requests beside it too: a stricter budget than real time gives.
type virtualClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *virtualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *virtualClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
	return ctx.Err()
}

// limitedClient is the harness's client with an adaptive limit of its own and the
// production retry policy (15 minutes per request, backoff up to 60 s) on a virtual clock:
// a third of all attempts fail here.
func limitedClient(t *testing.T, srv *netsuitetest.Server, l *connector.Limiter) *connector.Client {
	t.Helper()
	rt, err := auth.NewTransport(auth.Config{Method: auth.OAuth2Refresh, AccountID: account, TokenURL: srv.TokenURL(),
		ClientID: "demo-client-id", ClientSecret: "demo-client-secret", RefreshToken: srv.RefreshToken()}, l.Transport(http.DefaultTransport))
	if err != nil {
		t.Fatal(err)
	}
	clock := &virtualClock{now: time.Date(2025, 3, 26, 16, 21, 0, 0, time.UTC)}
	c, err := connector.NewClient(srv.URL(), &http.Client{Transport: rt, Timeout: time.Minute},
		connector.RetryPolicy{MaxElapsed: connector.DefaultRetryMaxElapsed, Now: clock.Now, Sleep: clock.Sleep}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.ReportLimiter(l)
	return c
}

// TestFaultMixMatchesFaultFreeRun: all five streams against an account that refuses a
// quarter of all requests for lack of concurrency slots and fails 9% otherwise (500
// UNEXPECTED_ERROR, a proxy's 503, dropped connections; SuiteQL, token and serverTime
// alike), while every stream is read in slices. The run completes, its merged output
// equals a fault-free run's and NetSuite's, and no more than the configured 3 requests
// are ever in flight. Each seed is another fault sequence: -faultmix.seeds=100 (make
// faultmix) runs a hundred.
func TestFaultMixMatchesFaultFreeRun(t *testing.T) {
	all := map[int]int{}
	for seed := 1; seed <= *faultMixSeeds; seed++ {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			for k, n := range faultMixRun(t, uint64(seed), nil) {
				all[k] += n
			}
		})
	}
	// One seed's couple of hundred draws may miss a 2% kind; the seeds together may not.
	if all[429] == 0 || all[500] == 0 || all[503] == 0 || all[netsuitetest.DropConnection] == 0 {
		t.Errorf("injected %v over %d seeds: not every fault kind occurred", all, *faultMixSeeds)
	}
}

// TestClockSurvivesAStormOfRefusals is the run that failed under the old 8-attempt limit:
// the same storm, and the very first request of the run, NetSuite's clock, refused 12
// times in a row (429s, a 500, a 503, a dropped connection). It is retried, and the run
// completes with the same output. (With MaxAttempts 8 it fails reading the clock.)
func TestClockSurvivesAStormOfRefusals(t *testing.T) {
	first := []int{429, 429, 500, 429, netsuitetest.DropConnection, 429, 503, 429, 429, 500, 429, 429}
	faultMixRun(t, 7, first)
}

// faultMixRun runs the fault-mix property for one seed; the first len(clock) requests for
// NetSuite's clock answer those statuses whatever the draw. It returns the faults drawn.
func faultMixRun(t *testing.T, seed uint64, clock []int) map[int]int {
	const rows, limit = 2500, 3
	h := newHarness(t, netsuitetest.Options{Rows: rowsPerStream(rows), Seed: 11})

	h.mustRun(connector.StreamNames, Options{})
	clean := map[string]map[int64]map[string]any{}
	for _, s := range connector.StreamNames {
		clean[s], _ = h.outputRows(s)
		if len(clean[s]) < rows {
			t.Fatalf("fault-free run: %s has %d rows, want ≥ %d", s, len(clean[s]), rows)
		}
	}

	dir := t.TempDir()
	h.out, h.statePath = filepath.Join(dir, "out"), filepath.Join(dir, "state.json")
	limiter := connector.NewLimiter(limit)
	h.client = limitedClient(t, h.srv, limiter)
	mix := newFaultMix(seed)
	var clockMu sync.Mutex
	clockRefused := 0
	h.srv.ResetStats()
	h.srv.SetFault(func(r *http.Request) (int, string, bool) {
		if strings.HasSuffix(r.URL.Path, "/serverTime") {
			clockMu.Lock()
			n := clockRefused
			if n < len(clock) {
				clockRefused++
			}
			clockMu.Unlock()
			if n < len(clock) {
				return faultAnswer(clock[n])
			}
		}
		return mix.fault(r)
	})
	start := time.Now()
	// Pages of 250 rows: every stream's pass is cut into slices read at once.
	var logs syncBuffer
	res := h.mustRun(connector.StreamNames, Options{Concurrency: limit, pageSize: 250, Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	h.srv.SetFault(nil)
	elapsed := time.Since(start)
	sliced := map[string]bool{}
	for _, q := range h.srv.Stats().Queries {
		if _, ok := sliceOf(q.Query); ok && q.Status == 200 {
			sliced[q.Table] = true
		}
	}
	if len(sliced) != len(connector.StreamNames) {
		t.Errorf("streams read in slices: %v, want all of them", sliced)
	}

	for i, s := range connector.StreamNames {
		if res.Streams[i].Rows < rows {
			t.Errorf("%s: %d rows written, want ≥ %d", s, res.Streams[i].Rows, rows)
		}
		got, _ := h.outputRows(s)
		if !reflect.DeepEqual(got, clean[s]) {
			t.Errorf("%s: merged output differs from the fault-free run's (%d vs %d ids)", s, len(got), len(clean[s]))
		}
		h.assertMatchesTruth(s)
	}
	if p := h.srv.Stats().MaxInFlight; p > limit {
		t.Errorf("%d requests in flight at once, limit %d", p, limit)
	}
	cs, ls := h.client.Stats(), limiter.Stats()
	inj := mix.injected()
	t.Logf("seed %d: %v: %d requests, %d retries; injected %d×429, %d×500, %d×503, %d dropped; limit %d, lowest %d, now %d",
		seed, elapsed.Round(time.Millisecond), cs.Requests, cs.Retries, inj[429], inj[500], inj[503], inj[netsuitetest.DropConnection], ls.Max, ls.Lowest, ls.Limit)
	if cs.Retries < int64(len(clock)) || cs.Retries == 0 {
		t.Errorf("%d retries counted, want at least %d and one", cs.Retries, len(clock))
	}
	// The retries of the streams' queries are summarised per stream.
	warned := 0
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, "NetSuite is refusing requests") {
			warned++
			if !strings.Contains(line, `"stream":`) {
				t.Errorf("retry warning without its stream: %s", line)
			}
		}
	}
	if warned == 0 {
		t.Error("no stream warned of NetSuite's refusals")
	}
	clockMu.Lock()
	if clockRefused != len(clock) {
		t.Errorf("the clock was refused %d times, want %d", clockRefused, len(clock))
	}
	clockMu.Unlock()
	if inj[429] == 0 || inj[500]+inj[503]+inj[netsuitetest.DropConnection] == 0 {
		t.Errorf("injected %v: no 429 or no other failure", inj)
	}
	if ls.Lowest >= limit || ls.Throttled == 0 || cs.ConcurrencyLowest != ls.Lowest || cs.Concurrency != limit {
		t.Errorf("limiter %+v, client %+v: the 429s did not lower the limit", ls, cs)
	}
	return inj
}
