package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/extract-dev/extract/connector"
	"github.com/extract-dev/extract/connector/netsuitetest"
	"github.com/extract-dev/extract/schema"
	"github.com/extract-dev/extract/sink"
	"github.com/extract-dev/extract/state"
)

var sliceRange = regexp.MustCompile(`\.id >= (-?\d+)|\.id < (-?\d+)`)

// sliceOf returns the id range a keyset query is restricted to, and whether it is one.
func sliceOf(q string) (connector.IDRange, bool) {
	r := connector.IDRange{From: math.MinInt64, Until: math.MaxInt64}
	m := sliceRange.FindAllStringSubmatch(q, -1)
	for _, g := range m {
		if g[1] != "" {
			r.From, _ = strconv.ParseInt(g[1], 10, 64)
		}
		if g[2] != "" {
			r.Until, _ = strconv.ParseInt(g[2], 10, 64)
		}
	}
	return r, len(m) > 0
}

// TestSlicedPassIsExact: a first run of a big stream is read in slices by several readers
// at once — in a session zone whose repeated autumn hours hold rows, and in UTC — and
// writes every row exactly once: no duplicate, no gap, every cell as NetSuite has it.
func TestSlicedPassIsExact(t *testing.T) {
	for zone, n := range map[string]int{"UTC": 5000, "America/Los_Angeles": 9000} {
		t.Run(zone, func(t *testing.T) {
			h := newHarness(t, netsuitetest.Options{Rows: map[string]int{connector.Customer: n}, Seed: 5, TimeZone: zone})
			res := h.mustRun([]string{connector.Customer}, Options{Concurrency: 4, FileRows: 3000, sliceMinPages: 3})
			s := res.Streams[0]
			if got := h.assertMatchesTruth(connector.Customer); got != n {
				t.Fatalf("%d rows match, want %d", got, n)
			}
			if _, total := h.outputRows(connector.Customer); total != n || s.Rows != int64(n) {
				t.Errorf("wrote %d rows (%d reported), want each of the %d once", total, s.Rows, n)
			}
			sliced := map[connector.IDRange]bool{}
			for _, q := range h.srv.Stats().Queries {
				if r, ok := sliceOf(q.Query); ok && q.Limit > 1 {
					sliced[r] = true
				}
			}
			if len(sliced) < 4 {
				t.Errorf("%d slices read, want at least the 4 the plan cuts", len(sliced))
			}
			// Pages plus the plan's three one-row queries and, per slice, a last page and
			// its own reads of the repeated hours.
			if most := int64(n/connector.PageSize + 3 + len(sliced)*(1+2*3)); s.Requests > most {
				t.Errorf("%d requests, want at most %d", s.Requests, most)
			}
			if st, _ := h.stateStream(connector.Customer); st.Pass != nil || !st.Watermark.Equal(res.ServerTime.Truncate(time.Second)) {
				t.Errorf("state after the run: pass %+v, watermark %v", st.Pass, st.Watermark)
			}
		})
	}
}

func (h *harness) stateStream(name string) (state.Stream, bool) {
	h.t.Helper()
	f, err := state.Load(h.statePath)
	if err != nil {
		h.t.Fatal(err)
	}
	st, ok := f.Streams[name]
	return st, ok
}

// TestQuietRunDoesNotSlice: a run with nothing new costs one query per stream, and a
// small change one page: slicing adds nothing to either.
func TestQuietRunDoesNotSlice(t *testing.T) {
	h := newHarness(t, netsuitetest.Options{Rows: map[string]int{connector.Customer: 6000}, Seed: 3, TimeZone: "UTC"})
	h.mustRun([]string{connector.Customer}, Options{})
	nextSecond()
	h.srv.ResetStats()
	h.mustRun([]string{connector.Customer}, Options{})
	if got := h.srv.Stats().SuiteQLRequests[connector.Customer]; got != 1 {
		t.Errorf("quiet run: %d customer queries, want 1", got)
	}
	for _, id := range []int64{10, 2000, 4000} {
		h.srv.Upsert(connector.Customer, change(connector.Customer, id, "edited"))
	}
	nextSecond()
	h.srv.ResetStats()
	res := h.mustRun([]string{connector.Customer}, Options{})
	if got := h.srv.Stats().SuiteQLRequests[connector.Customer]; got != 1 || res.Streams[0].Rows != 3 {
		t.Errorf("three changes: %d customer queries and %d rows, want 1 and 3", got, res.Streams[0].Rows)
	}
	h.assertMatchesTruth(connector.Customer)
}

// TestSlicedKillAtEveryStep stops a sliced extract at each step of the data flow twice, while slices are planned, read, split and finished.
// After every kill the state file is valid; one clean rerun then produces output whose
// merge by id equals NetSuite exactly, and it does not read a finished slice again.
// With 3 permits the startup requests leave none idle and the pass is cut after its
// first page; with 5 the table is counted at startup and cut before its first page.
func TestSlicedKillAtEveryStep(t *testing.T) {
	for _, permits := range []int{3, 5} {
		t.Run(fmt.Sprint("permits=", permits), func(t *testing.T) {
			slicedKillAtEveryStep(t, Options{FileRows: 250, Concurrency: permits, pageSize: 100, sliceMinPages: 6})
		})
	}
}

func slicedKillAtEveryStep(t *testing.T, opts Options) {
	steps := []string{"page-fetched", "batch-built",
		string(sink.StepWritten), string(sink.StepFsynced), string(sink.StepRenamed), string(sink.StepDirSynced),
		"temp-written", "temp-synced", "state-renamed"}
	streams := []string{connector.Customer}
	// Count each step in a clean run, to kill at the second and the last but one.
	counts := map[string]int32{}
	var mu sync.Mutex
	count := func(step string) error {
		mu.Lock()
		counts[step]++
		mu.Unlock()
		return nil
	}
	h := newHarness(t, netsuitetest.Options{Rows: rowsPerStream(1200), Seed: 1})
	o := opts
	o.stepHook = count
	if _, err := h.run(streams, o, faults{sink: func(s sink.Step, _ string) error { return count(string(s)) },
		state: func(s string) error {
			if s == "renamed" {
				s = "state-renamed"
			}
			return count(s)
		}}); err != nil {
		t.Fatal(err)
	}
	counted := slices.ContainsFunc(h.srv.Stats().Queries, isCountQuery)
	if want := opts.Concurrency > 3; counted != want { // zone, clock and catalog take three
		t.Fatalf("counted at startup: %v, want %v", counted, want)
	}
	slicedKills, doneSlices := 0, 0
	for _, step := range steps {
		for _, nth := range []int32{2, counts[step] - 1} {
			t.Run(fmt.Sprintf("%s#%d", step, nth), func(t *testing.T) {
				h := newHarness(t, netsuitetest.Options{Rows: rowsPerStream(1200), Seed: 1})
				crash, at, f := killAt(step, nth)
				o := opts
				o.stepHook = at
				_, err := h.run(streams, o, f)
				switch {
				case err == nil && nth > 2:
					// Readers race, so a run may take a step once less than the counted one.
					t.Logf("the run ended before %s #%d", step, nth)
				case !errors.Is(err, crash):
					t.Fatalf("run was not killed at %s #%d: %v", step, nth, err)
				}
				file, err := state.Load(h.statePath)
				if err != nil {
					t.Fatalf("state file invalid after the kill: %v", err)
				}
				var done []connector.IDRange
				for _, s := range streams {
					if p := file.Streams[s].Pass; p != nil && len(p.Slices) > 0 {
						mu.Lock()
						slicedKills++
						mu.Unlock()
						for _, sl := range p.Slices {
							if sl.Done {
								done = append(done, connector.IDRange{From: sl.From, Until: sl.Until})
							}
						}
					}
				}
				h.srv.ResetStats()
				h.mustRun(streams, opts)
				for _, q := range h.srv.Stats().Queries {
					if r, ok := sliceOf(q.Query); ok && slices.Contains(done, r) && strings.Contains(q.Query, "ORDER BY "+q.Table+".lastmodifieddate") {
						t.Errorf("the rerun read the finished slice %+v again: %s", r, q.Query)
					}
				}
				mu.Lock()
				doneSlices += len(done)
				mu.Unlock()
				for _, s := range streams {
					h.assertMatchesTruth(s)
				}
			})
		}
	}
	if slicedKills == 0 || doneSlices == 0 {
		t.Errorf("%d kills left a sliced pass, with %d finished slices: the test does not cover resuming slices", slicedKills, doneSlices)
	}
}

// TestSlicedPassUnderChanges: records change, arrive and go while passes are sliced at
// every size, across the repeated autumn hour; the merged output equals NetSuite.
func TestSlicedPassUnderChanges(t *testing.T) {
	for seed := uint64(1); seed <= 2; seed++ {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			propertyRunWith(t, seed, Options{Concurrency: 4, pageSize: 40, sliceMinPages: 1})
		})
	}
}

// TestSliceSplitsPartition: however a pass is planned and split, its slices cover every
// id exactly once, and the state file accepts the result.
func TestSliceSplitsPartition(t *testing.T) {
	store, err := state.Open(t.TempDir()+"/state.json", account)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	for _, c := range []struct {
		lo, hi int64
		n      int
	}{{1, 10_000, 4}, {5, 6, 8}, {1, 1, 4}, {-100, 100, 3}, {1, math.MaxInt64 - 1, 8}} {
		ranges := cutIDs(c.lo, c.hi, c.n)
		p := state.Pass{Lower: time.Unix(0, 0).UTC(), Upper: time.Unix(10, 0).UTC()}
		plan := make([]state.Slice, len(ranges))
		for i, r := range ranges {
			plan[i] = toStateSlice(r, connector.Window{}, false)
		}
		if err := apply(&p, batch{slice: -1, plan: plan}); err != nil {
			t.Fatal(err)
		}
		events := make(chan batch, 100)
		sc := &scheduler{out: events, pageSize: 1000, hi: c.hi}
		for _, r := range ranges {
			sc.slices = append(sc.slices, &sliceRead{ids: r, left: 1 << 20, seen: noneSeen, taken: true, inflight: true})
		}
		for range 20 {
			slot, _, err := sc.take(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if slot < 0 {
				break
			}
			b := <-events
			if err := apply(&p, b); err != nil {
				t.Fatal(err)
			}
			sc.slices[slot].left = 1 << 20
		}
		if err := store.Save("customer", state.Stream{Pass: &p}); err != nil {
			t.Errorf("%+v: the state refuses the slices: %v: %+v", c, err, p.Slices)
		}
		if len(p.Slices) != len(sc.slices) {
			t.Errorf("%+v: the writer has %d slices, the scheduler %d", c, len(p.Slices), len(sc.slices))
		}
		for i, sl := range p.Slices {
			if r := sc.slices[i].ids; r.From != sl.From || r.Until != sl.Until {
				t.Errorf("%+v: slice %d is %+v to the scheduler, [%d, %d) to the writer", c, i, r, sl.From, sl.Until)
			}
		}
	}
}

// TestFairGateServesTheLeastServedStream: with every permit held by a big stream and more
// of its requests waiting, the next free permit goes to a small stream that asks later.
func TestFairGateServesTheLeastServedStream(t *testing.T) {
	g, ctx := heldGate(t), context.Background()
	order := make(chan string, 4)
	var wg sync.WaitGroup
	for _, s := range []string{"big", "big", "small"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := g.acquire(ctx, s); err == nil {
				order <- s
			}
		}()
		time.Sleep(20 * time.Millisecond) // arrive in this order
	}
	g.release("big")
	if first := <-order; first != "small" {
		t.Errorf("the first free permit went to %s, want the small stream", first)
	}
	g.release("big")
	g.release("small")
	wg.Wait()
	close(order)
	if n := len(order); n != 2 {
		t.Errorf("%d more grants, want the two big requests", n)
	}
	// A waiter whose context ends leaves the queue and takes nothing.
	g = newFairGate(1)
	if err := g.acquire(ctx, "big"); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	if err := g.acquire(cctx, "small"); err == nil {
		t.Fatal("acquired a held permit")
	}
	g.release("big")
	if err := g.acquire(ctx, "big"); err != nil || g.free != 0 || len(g.waiters) != 0 {
		t.Errorf("after a waiter gave up: %v, %d free, %d waiting", err, g.free, len(g.waiters))
	}
}

// TestPageCuts: the cuts of a pass fall on whole pages, as near equal shares as pages
// allow, strictly inside what is left.
func TestPageCuts(t *testing.T) {
	for _, c := range []struct {
		left, n int
		want    []int
	}{
		{39_000, 4, []int{10_000, 20_000, 29_000}},
		{200_000, 8, []int{25_000, 50_000, 75_000, 100_000, 125_000, 150_000, 175_000}},
		{2_500, 4, []int{1_000, 2_000}}, // two shares round to the same page: one cut
		{5_000, 5, []int{1_000, 2_000, 3_000, 4_000}},
		{400, 4, nil}, // less than a page: nothing to cut
		{10_000, 1, nil},
	} {
		got := pageCuts(c.left, c.n, 1000)
		if !slices.Equal(got, c.want) {
			t.Errorf("pageCuts(%d, %d) = %v, want %v", c.left, c.n, got, c.want)
		}
	}
}

// heldGate is a gate of two permits, both held by the stream "big".
func heldGate(t *testing.T) *fairGate {
	g := newFairGate(2)
	for range 2 {
		if err := g.acquire(context.Background(), "big"); err != nil {
			t.Fatal(err)
		}
	}
	return g
}

// TestFairGateServesUrgentFirst: the queries that cut a pass, which all of its readers
// wait for, get the next free permit before pages that asked earlier, even of a stream
// with fewer requests in flight.
func TestFairGateServesUrgentFirst(t *testing.T) {
	g, ctx := heldGate(t), context.Background()
	order := make(chan string, 2)
	var wg sync.WaitGroup
	for _, w := range []struct {
		stream string
		ctx    context.Context
	}{{"small", ctx}, {"big", withUrgent(ctx)}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if g.acquire(w.ctx, w.stream) == nil {
				order <- w.stream
				g.release(w.stream)
			}
		}()
		time.Sleep(20 * time.Millisecond) // arrive in this order
	}
	g.release("big") // big still has one in flight, small none: fairness alone would pick small
	wg.Wait()
	g.release("big")
	close(order)
	var got []string
	for s := range order {
		got = append(got, s)
	}
	if !slices.Equal(got, []string{"big", "small"}) {
		t.Errorf("grants in the order %v, want the urgent request of big first", got)
	}
}

// TestFirstPassSizedAtStartup: on a first run, permits the startup requests leave idle
// count the tables of the first streams; a big one is cut into slices of whole pages
// before its first page, so it costs one request per page, the count and the cuts, and
// nothing more. A stream that has a watermark, or a start date, is not counted.
func TestFirstPassSizedAtStartup(t *testing.T) {
	const n = 5000
	h := newHarness(t, netsuitetest.Options{Rows: map[string]int{connector.Customer: n, connector.Contact: n}, Seed: 4, TimeZone: "UTC"})
	streams := []string{connector.Customer, connector.Contact}
	res := h.mustRun(streams, Options{Concurrency: 8, sliceMinPages: 3})
	counted := map[string]int{}
	firstPage := map[string]string{}
	for _, q := range h.srv.Stats().Queries {
		if isCountQuery(q) {
			counted[q.Table]++
		} else if _, seen := firstPage[q.Table]; !seen && q.Limit > 1 {
			firstPage[q.Table] = q.Query
		}
	}
	for i, s := range streams {
		if counted[s] != 1 {
			t.Errorf("%s: counted %d times at startup, want once", s, counted[s])
		}
		if _, ok := sliceOf(firstPage[s]); !ok {
			t.Errorf("%s: the first page was not a slice's: %s", s, firstPage[s])
		}
		// 5 slices of one whole page each: the count, 4 cuts and 5 pages.
		if got := res.Streams[i].Requests; got != 1+4+n/connector.PageSize {
			t.Errorf("%s: %d requests, want %d", s, got, 1+4+n/connector.PageSize)
		}
		if got := h.assertMatchesTruth(s); got != n {
			t.Errorf("%s: %d rows match, want %d", s, got, n)
		}
	}

	// An incremental run reads from its watermark: nothing to count.
	nextSecond()
	h.srv.ResetStats()
	h.mustRun(streams, Options{Concurrency: 8, sliceMinPages: 3})
	for _, q := range h.srv.Stats().Queries {
		if isCountQuery(q) {
			t.Errorf("an incremental run counted %s", q.Table)
		}
	}

	// A first run with a start date sizes its pass from its first page.
	h2 := newHarness(t, netsuitetest.Options{Rows: map[string]int{connector.Customer: n}, Seed: 4, TimeZone: "UTC"})
	h2.mustRun([]string{connector.Customer}, Options{Concurrency: 8, sliceMinPages: 3, StartDate: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)})
	if slices.ContainsFunc(h2.srv.Stats().Queries, isCountQuery) {
		t.Error("a first run with a start date counted its table")
	}
	if heads, sliced := pagesRead(h2.srv.Stats().Queries, connector.Customer); heads != 1 || sliced < 4 {
		t.Errorf("a first run with a start date read %d head pages and %d slice pages, want the one head page, then slices", heads, sliced)
	}
	h2.assertMatchesTruth(connector.Customer)
}

// pagesRead counts the pages of table's passes read by their heads and by slices.
func pagesRead(queries []netsuitetest.QueryLog, table string) (heads, sliced int) {
	for _, q := range queries {
		if q.Table != table || q.Limit <= 1 {
			continue
		}
		if _, ok := sliceOf(q.Query); ok {
			sliced++
		} else {
			heads++
		}
	}
	return heads, sliced
}

// isCountQuery says whether q counted a stream's table at startup.
func isCountQuery(q netsuitetest.QueryLog) bool {
	tb, err := connector.Table(q.Table)
	return err == nil && q.Limit == 1 && q.Query == connector.CountQuery(connector.Query{Table: tb})
}

// TestUnansweredCountDoesNotHoldTheRun: a count NetSuite does not answer (here, not until
// the run has ended) neither delays the run nor changes what it writes: the stream sizes
// its pass from its first page, as when nothing was counted.
func TestUnansweredCountDoesNotHoldTheRun(t *testing.T) {
	const n = 5000
	h := newHarness(t, netsuitetest.Options{Rows: map[string]int{connector.Customer: n}, Seed: 6, TimeZone: "UTC"})
	count := connector.CountQuery(connector.Query{Table: mustTable(t, connector.Customer)})
	release := make(chan struct{})
	var asked atomic.Bool
	h.srv.SetFault(func(r *http.Request) (int, string, bool) {
		body, _ := io.ReadAll(r.Body)
		if strings.Contains(string(body), count) {
			asked.Store(true)
			<-release // answered after the run, if ever
			return http.StatusServiceUnavailable, "", true
		}
		return 0, "", false
	})
	res, err := h.run([]string{connector.Customer}, Options{Concurrency: 8, sliceMinPages: 3}, faults{})
	close(release)
	if err != nil {
		t.Fatal(err)
	}
	if !asked.Load() {
		t.Fatal("the table was not counted at startup: the test shows nothing")
	}
	if heads, sliced := pagesRead(h.srv.Stats().Queries, connector.Customer); heads != 1 || sliced < 4 {
		t.Errorf("%d head pages and %d slice pages, want the one head page, then slices", heads, sliced)
	}
	if got := h.assertMatchesTruth(connector.Customer); got != n || res.Streams[0].Rows != n {
		t.Errorf("%d rows match (%d written), want %d", got, res.Streams[0].Rows, n)
	}
}

func mustTable(t *testing.T, name string) schema.Table {
	t.Helper()
	tb, err := connector.Table(name)
	if err != nil {
		t.Fatal(err)
	}
	return tb
}
