package connector

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const concurrencyBody = `{"type":"https://www.rfc-editor.org/rfc/rfc6585.html#section-4","title":"Bad Request","status":429,"o:errorCode":"USER_ERROR","o:errorDetails":[{"detail":"Concurrent request limit exceeded. Request blocked.","o:errorCode":"CONCURRENCY_LIMIT_EXCEEDED"}]}`

// counting is a test server that counts the requests inside its handler at once. The
// count drops before the answer leaves (small answers are flushed after the handler
// returns), so a client never sees an answer while its request is still counted.
type counting struct {
	*httptest.Server
	inFlight, peak atomic.Int32
}

func newCounting(t *testing.T, h func(w http.ResponseWriter, r *http.Request, inFlight int32)) *counting {
	t.Helper()
	c := &counting{}
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := c.inFlight.Add(1)
		defer c.inFlight.Add(-1)
		for {
			p := c.peak.Load()
			if n <= p || c.peak.CompareAndSwap(p, n) {
				break
			}
		}
		h(w, r, n)
	}))
	t.Cleanup(c.Close)
	return c
}

// send makes one request through hc and reads and closes the body.
func send(ctx context.Context, hc *http.Client, url string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// quiet checks the limiter's books with nothing in flight: no debt, the parked slots
// are exactly N − limit, and exactly limit slots are free.
func quiet(t *testing.T, l *Limiter) {
	t.Helper()
	l.mu.Lock()
	limit, parked, debt := l.limit, l.parked, l.debt
	l.mu.Unlock()
	if debt != 0 || parked != l.size-limit {
		t.Fatalf("idle limiter: limit %d, parked %d, debt %d, size %d", limit, parked, debt, l.size)
	}
	if !l.sem.TryAcquire(int64(limit)) {
		t.Fatalf("idle limiter: fewer than %d free slots", limit)
	}
	defer l.sem.Release(int64(limit))
	if l.sem.TryAcquire(1) {
		l.sem.Release(1)
		t.Fatalf("idle limiter: more than %d free slots", limit)
	}
}

// TestLimiterHalvesOn429AndRecovers: every refusal sent under the current limit halves
// it down to 1 (a 429, or NetSuite's code under another status, whose body stays intact);
// each run of RaiseAfter successes adds one, back up to N.
func TestLimiterHalvesOn429AndRecovers(t *testing.T) {
	var refuse atomic.Int32
	var refuseAs atomic.Int32
	srv := newCounting(t, func(w http.ResponseWriter, r *http.Request, _ int32) {
		if refuse.Add(-1) >= 0 {
			status := int(refuseAs.Load())
			w.WriteHeader(status)
			if status == 500 {
				io.WriteString(w, `{"o:errorDetails":[{"detail":"An unexpected error occurred.","o:errorCode":"UNEXPECTED_ERROR"}]}`)
				return
			}
			io.WriteString(w, concurrencyBody)
			return
		}
		io.WriteString(w, "ok")
	})
	var logs bytes.Buffer
	l := NewLimiter(8, WithRaiseAfter(3), WithLimitLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	hc := &http.Client{Transport: l.Transport(http.DefaultTransport)}
	ctx := context.Background()

	refuse.Store(4)
	refuseAs.Store(429)
	for i, want := range []int{4, 2, 1, 1} {
		status, body, err := send(ctx, hc, srv.URL)
		if err != nil || status != 429 || body != concurrencyBody {
			t.Fatalf("refusal %d: %d %q %v", i, status, body, err)
		}
		if got := l.Limit(); got != want {
			t.Fatalf("after refusal %d: limit %d, want %d", i+1, got, want)
		}
	}
	if !strings.Contains(logs.String(), "lowering the request limit") || !strings.Contains(logs.String(), "limit=1 previous=2 max=8") {
		t.Errorf("warnings:\n%s", logs.String())
	}
	quiet(t, l)

	// Recovery: one step per 3 consecutive successes.
	for i := 1; i <= 3*7; i++ {
		if status, _, err := send(ctx, hc, srv.URL); err != nil || status != 200 {
			t.Fatalf("success %d: %d %v", i, status, err)
		}
		if got, want := l.Limit(), 1+i/3; got != want {
			t.Fatalf("after %d successes: limit %d, want %d", i, got, want)
		}
	}
	send(ctx, hc, srv.URL)
	if got := l.Limit(); got != 8 {
		t.Fatalf("limit %d above N", got)
	}
	quiet(t, l)

	// NetSuite's code under another status counts too; a plain 500 does not.
	refuse.Store(1)
	refuseAs.Store(400)
	if status, body, _ := send(ctx, hc, srv.URL); status != 400 || body != concurrencyBody {
		t.Fatalf("400 refusal: %d %q", status, body)
	}
	if got := l.Limit(); got != 4 {
		t.Fatalf("after a 400 CONCURRENCY_LIMIT_EXCEEDED: limit %d, want 4", got)
	}
	refuse.Store(1)
	refuseAs.Store(500)
	send(ctx, hc, srv.URL)
	if got := l.Limit(); got != 4 {
		t.Fatalf("after a 500: limit %d, want 4", got)
	}
	st := l.Stats()
	if st.Max != 8 || st.Lowest != 1 || st.Throttled != 5 {
		t.Errorf("stats = %+v, want max 8, lowest 1, throttled 5", st)
	}
	quiet(t, l)
}

// TestLimiterRefusalsOfOneWindowHalveOnce: refusals of requests that were all in flight
// under the same limit halve it once, not once each.
func TestLimiterRefusalsOfOneWindowHalveOnce(t *testing.T) {
	const n = 8
	var arrived sync.WaitGroup
	arrived.Add(n)
	srv := newCounting(t, func(w http.ResponseWriter, r *http.Request, _ int32) {
		arrived.Done()
		arrived.Wait()
		w.WriteHeader(429)
		io.WriteString(w, concurrencyBody)
	})
	l := NewLimiter(n)
	hc := &http.Client{Transport: l.Transport(http.DefaultTransport)}
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() { send(context.Background(), hc, srv.URL) })
	}
	wg.Wait()
	if got := l.Limit(); got != n/2 {
		t.Fatalf("limit %d after %d refusals of one window, want %d", got, n, n/2)
	}
	quiet(t, l)
}

// TestLimiterInFlightNeverExceedsLimit: with N requests in flight, one refusal lowers the
// limit; requests waiting meanwhile start only as the old ones finish, so that in flight
// never exceeds the new limit once it has drained to it, and never exceeds N.
func TestLimiterInFlightNeverExceedsLimit(t *testing.T) {
	const n = 8
	release := make(chan struct{})
	var firstArrived sync.WaitGroup
	firstArrived.Add(n)
	var late atomic.Bool  // the first N have been let go
	var over atomic.Int32 // a later request arrived with more than the limit in flight
	l := NewLimiter(n, WithRaiseAfter(1_000_000))
	srv := newCounting(t, func(w http.ResponseWriter, r *http.Request, inFlight int32) {
		if r.URL.Path == "/first" {
			firstArrived.Done()
			<-release
			if r.URL.Query().Get("i") == "0" {
				w.WriteHeader(429)
				io.WriteString(w, concurrencyBody)
				return
			}
			// The others finish once the client has seen the refusal, in any order.
			for l.Limit() == n {
				time.Sleep(100 * time.Microsecond)
			}
			time.Sleep(time.Duration(rand.IntN(3)) * time.Millisecond)
			io.WriteString(w, "ok")
			return
		}
		if !late.Load() || inFlight > n/2 {
			over.Store(inFlight)
		}
		time.Sleep(time.Millisecond)
		io.WriteString(w, "ok")
	})
	hc := &http.Client{Transport: l.Transport(http.DefaultTransport)}
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { send(ctx, hc, srv.URL+"/first?i="+strconv.Itoa(i)) })
	}
	firstArrived.Wait()
	// All N slots are in use; 40 more requests queue up behind them.
	var later sync.WaitGroup
	for range 40 {
		later.Go(func() {
			if status, _, err := send(ctx, hc, srv.URL+"/later"); err != nil || status != 200 {
				t.Errorf("later request: %d %v", status, err)
			}
		})
	}
	time.Sleep(20 * time.Millisecond)
	if p := srv.peak.Load(); p != n {
		t.Fatalf("peak %d before the refusal, want %d", p, n)
	}
	late.Store(true)
	close(release)
	wg.Wait()
	later.Wait()
	if got := l.Limit(); got != n/2 {
		t.Fatalf("limit %d, want %d", got, n/2)
	}
	if v := over.Load(); v != 0 {
		t.Fatalf("a waiting request started with %d in flight, limit %d", v, n/2)
	}
	if p := srv.peak.Load(); p > n {
		t.Fatalf("peak %d > N", p)
	}
	quiet(t, l)
}

// TestLimiterStressKeepsItsBooks: many clients, random refusals and recoveries; in flight
// never exceeds N, and when all is done no slot is lost or left over.
func TestLimiterStressKeepsItsBooks(t *testing.T) {
	const n = 6
	srv := newCounting(t, func(w http.ResponseWriter, r *http.Request, _ int32) {
		time.Sleep(time.Duration(rand.IntN(500)) * time.Microsecond)
		if rand.IntN(5) == 0 {
			w.WriteHeader(429)
			io.WriteString(w, concurrencyBody)
			return
		}
		io.WriteString(w, "ok")
	})
	l := NewLimiter(n, WithRaiseAfter(2))
	hc := &http.Client{Transport: l.Transport(http.DefaultTransport)}
	var wg sync.WaitGroup
	for range 24 {
		wg.Go(func() {
			for range 40 {
				if _, _, err := send(context.Background(), hc, srv.URL); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if p := srv.peak.Load(); p > n {
		t.Fatalf("peak %d > N = %d", p, n)
	}
	st := l.Stats()
	if st.Lowest >= n || st.Throttled == 0 {
		t.Errorf("stats %+v: the limit never moved", st)
	}
	quiet(t, l)
}

// TestLimiterNoDeadlockWhenAllSlotsParkedOrBusy: at limit 1 (N−1 slots parked, the last in
// use, requests waiting) a refusal changes nothing and everything still completes; with
// every slot busy, a refusal books a debt instead of blocking.
func TestLimiterNoDeadlockWhenAllSlotsParkedOrBusy(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var refuse atomic.Int32
	srv := newCounting(t, func(w http.ResponseWriter, r *http.Request, _ int32) {
		time.Sleep(time.Millisecond)
		if refuse.Add(-1) >= 0 {
			w.WriteHeader(429)
			io.WriteString(w, concurrencyBody)
			return
		}
		io.WriteString(w, "ok")
	})
	l := NewLimiter(4, WithRaiseAfter(1_000_000))
	hc := &http.Client{Transport: l.Transport(http.DefaultTransport)}
	refuse.Store(2)
	send(ctx, hc, srv.URL)
	send(ctx, hc, srv.URL)
	if l.Limit() != 1 {
		t.Fatalf("limit %d, want 1", l.Limit())
	}
	// Three slots parked; 10 requests contend for the last, 5 of them refused.
	refuse.Store(5)
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			if _, _, err := send(ctx, hc, srv.URL); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		t.Fatal("deadlock: requests did not finish")
	}
	if p := srv.peak.Load(); p != 1 {
		t.Fatalf("peak %d at limit 1", p)
	}
	quiet(t, l)

	// Every slot busy (N = 2, both in flight) when both are refused: one halving, a debt
	// of one paid by the first to finish, then the waiting requests run one at a time.
	var both sync.WaitGroup
	both.Add(2)
	answer := make(chan struct{})
	srv2 := newCounting(t, func(w http.ResponseWriter, r *http.Request, _ int32) {
		if r.URL.Path == "/busy" {
			both.Done()
			<-answer
			w.WriteHeader(429)
			io.WriteString(w, concurrencyBody)
			return
		}
		io.WriteString(w, "ok")
	})
	l2 := NewLimiter(2, WithRaiseAfter(1_000_000))
	hc2 := &http.Client{Transport: l2.Transport(http.DefaultTransport)}
	for range 2 {
		wg.Go(func() { send(ctx, hc2, srv2.URL+"/busy") })
	}
	both.Wait()
	for range 6 {
		wg.Go(func() {
			if _, _, err := send(ctx, hc2, srv2.URL+"/ok"); err != nil {
				t.Error(err)
			}
		})
	}
	time.Sleep(10 * time.Millisecond)
	close(answer)
	wg.Wait()
	if ctx.Err() != nil {
		t.Fatal("deadlock with every slot busy")
	}
	if l2.Limit() != 1 {
		t.Fatalf("limit %d, want 1", l2.Limit())
	}
	quiet(t, l2)
}

// TestLimiterContextCancellation: a request waiting for a slot gives up when its context
// ends and takes no slot; a request in flight whose context ends frees its slot.
func TestLimiterContextCancellation(t *testing.T) {
	hold := make(chan struct{})
	srv := newCounting(t, func(w http.ResponseWriter, r *http.Request, _ int32) {
		switch r.URL.Path {
		case "/hold":
			select {
			case <-hold:
			case <-r.Context().Done():
				return
			}
		case "/forever":
			<-r.Context().Done()
			return
		}
		io.WriteString(w, "ok")
	})
	l := NewLimiter(2)
	hc := &http.Client{Transport: l.Transport(http.DefaultTransport)}
	bg := context.Background()

	// Both slots held.
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() { send(bg, hc, srv.URL+"/hold") })
	}
	for srv.inFlight.Load() != 2 {
		time.Sleep(time.Millisecond)
	}
	// A waiter gives up.
	ctx, cancel := context.WithTimeout(bg, 30*time.Millisecond)
	start := time.Now()
	_, _, err := send(ctx, hc, srv.URL)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
		t.Fatalf("waiting request: %v after %v", err, time.Since(start))
	}
	close(hold)
	wg.Wait()
	quiet(t, l)

	// A request in flight is cancelled: its slot comes back.
	ctx, cancel = context.WithCancel(bg)
	done := make(chan error)
	go func() {
		_, _, err := send(ctx, hc, srv.URL+"/forever")
		done <- err
	}()
	for srv.inFlight.Load() != 1 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled request: %v", err)
	}
	quiet(t, l)
	for range 4 {
		if status, _, err := send(bg, hc, srv.URL); err != nil || status != 200 {
			t.Fatalf("after cancellations: %d %v", status, err)
		}
	}
	quiet(t, l)
}
