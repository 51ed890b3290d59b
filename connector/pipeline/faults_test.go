package pipeline

import (
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

// faultMix draws, per request, what a loaded account does to it: 25% refused for lack of
// concurrency slots (429), 5% UNEXPECTED_ERROR (500), 2% connection dropped, else answered.
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
	switch status := f.draw(); status {
	case http.StatusTooManyRequests:
		return status, netsuitetest.ConcurrencyLimitBody(), true
	case http.StatusInternalServerError:
		return status, netsuitetest.ErrorBody(status, "UNEXPECTED_ERROR", "An unexpected error occurred. Error ID: lx8f3k2a1b9c7d"), true
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

// limitedClient is the harness's client with an adaptive limit of its own and retries of
// a few milliseconds, many of them: a third of all attempts fail here.
func limitedClient(t *testing.T, srv *netsuitetest.Server, l *connector.Limiter) *connector.Client {
	t.Helper()
	rt, err := auth.NewTransport(auth.Config{Method: auth.OAuth2Refresh, AccountID: account, TokenURL: srv.TokenURL(),
		ClientID: "demo-client-id", ClientSecret: "demo-client-secret", RefreshToken: srv.RefreshToken()}, l.Transport(http.DefaultTransport))
	if err != nil {
		t.Fatal(err)
	}
	c, err := connector.NewClient(srv.URL(), &http.Client{Transport: rt, Timeout: time.Minute},
		connector.RetryPolicy{MaxAttempts: 20, BaseDelay: time.Millisecond, MaxDelay: 4 * time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.ReportLimiter(l)
	return c
}

// TestFaultMixMatchesFaultFreeRun: all five streams against an account that refuses a
// quarter of all requests for lack of concurrency slots, fails 5% with UNEXPECTED_ERROR
// and drops 2% of connections (SuiteQL, token and serverTime alike), while every stream is
// read in slices. The run completes, its merged output equals a fault-free run's and
// NetSuite's, and no more than the configured 3 requests are ever in flight.
func TestFaultMixMatchesFaultFreeRun(t *testing.T) {
	const rows, limit, seed = 2500, 3, 24 // seed 24: two drops and three 500s in the first 40 draws
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
	h.srv.ResetStats()
	h.srv.SetFault(mix.fault)
	start := time.Now()
	// Pages of 250 rows: every stream's pass is cut into slices read at once.
	res := h.mustRun(connector.StreamNames, Options{Concurrency: limit, pageSize: 250})
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
	t.Logf("%v: %d requests, %d retries; injected %d×429, %d×500, %d dropped; limit %d, lowest %d, now %d",
		elapsed.Round(time.Millisecond), cs.Requests, cs.Retries, inj[429], inj[500], inj[netsuitetest.DropConnection], ls.Max, ls.Lowest, ls.Limit)
	if cs.Retries == 0 {
		t.Error("no retries counted")
	}
	if inj[429] == 0 || inj[500] == 0 || inj[netsuitetest.DropConnection] == 0 {
		t.Errorf("injected %v: not every fault kind occurred; choose another seed", inj)
	}
	if ls.Lowest >= limit || ls.Throttled == 0 || cs.ConcurrencyLowest != ls.Lowest || cs.Concurrency != limit {
		t.Errorf("limiter %+v, client %+v: the 429s did not lower the limit", ls, cs)
	}
}
