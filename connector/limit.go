package connector

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"sync"

	"golang.org/x/sync/semaphore"
)

// Limiter is the account-wide request limit: one slot of a semaphore of size N
// (NETSUITE_CONCURRENCY) for every request, token requests included, from send until its
// body is closed. NetSuite shares the account's concurrency slots with every other
// integration, so the limit adapts (AIMD): a 429 or CONCURRENCY_LIMIT_EXCEEDED halves it
// (down to 1), and each run of WithRaiseAfter consecutive 2xx answers (default N) raises it
// by one, up to N. Refusals of requests sent before the last decrease are not counted
// again: one crowded moment halves the limit once, not once per request then in flight.
//
// The limit is enforced with the same semaphore: the limiter itself holds ("parks")
// N − limit slots. Lowering the limit never blocks: the limiter takes the free slots at
// once and owes the rest, which it takes from the next requests that finish instead of
// handing them on. No request starts while a debt is owed (but for a waiter cancelled at
// the instant it is granted a slot, which the semaphore passes on by itself), so once the
// requests already in flight when the limit fell have finished, no more than limit are in
// flight; and never more than N.
type Limiter struct {
	sem        *semaphore.Weighted
	size       int // N
	raiseAfter int
	log        *slog.Logger

	mu        sync.Mutex
	limit     int    // current limit: size − parked − debt
	lowest    int    // lowest limit reached
	parked    int    // slots the limiter holds
	debt      int    // slots still to park, taken from the next releases
	streak    int    // consecutive 2xx since the limit last changed
	gen       uint64 // bumped when the limit is lowered
	throttled int64  // 429 / CONCURRENCY_LIMIT_EXCEEDED answers seen
}

// LimitOption configures a Limiter.
type LimitOption func(*Limiter)

// WithLimitLogger logs when the limit is lowered (warning) and restored.
func WithLimitLogger(log *slog.Logger) LimitOption {
	return func(l *Limiter) {
		if log != nil {
			l.log = log
		}
	}
}

// WithRaiseAfter sets how many consecutive 2xx answers raise the limit by one (default N).
func WithRaiseAfter(n int) LimitOption {
	return func(l *Limiter) {
		if n > 0 {
			l.raiseAfter = n
		}
	}
}

// NewLimiter returns an adaptive limit of at most n (< 1 counts as 1) requests in flight.
func NewLimiter(n int, opts ...LimitOption) *Limiter {
	n = max(n, 1)
	l := &Limiter{sem: semaphore.NewWeighted(int64(n)), size: n, raiseAfter: n, limit: n, lowest: n,
		log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(l)
	}
	return l
}

// Transport sends requests through base within the limit. Every transport of one Limiter
// shares its slots.
func (l *Limiter) Transport(base http.RoundTripper) http.RoundTripper {
	return &limitTransport{base: base, l: l}
}

// LimitStats is a snapshot of a Limiter.
type LimitStats struct {
	Max, Limit, Lowest int   // N, the current limit, the lowest reached
	Throttled          int64 // 429 / CONCURRENCY_LIMIT_EXCEEDED answers seen
}

// Stats returns a snapshot (zeros for a fixed LimitTransport).
func (l *Limiter) Stats() LimitStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return LimitStats{Max: l.size, Limit: l.limit, Lowest: l.lowest, Throttled: l.throttled}
}

// Limit is the current limit.
func (l *Limiter) Limit() int { return l.Stats().Limit }

type limitTransport struct {
	base http.RoundTripper
	l    *Limiter
}

func (t *limitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	l := t.l
	if err := l.sem.Acquire(req.Context(), 1); err != nil {
		// A waiter cancelled just as it was granted a slot hands the slot back without
		// release (semaphore internals); collect it if the limiter is owed one.
		l.collect()
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	gen := l.generation()
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		l.release()
		return nil, err
	}
	l.observe(resp, gen)
	resp.Body = &releasingBody{ReadCloser: resp.Body, release: l.release}
	return resp, nil
}

func (l *Limiter) generation() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.gen
}

// release returns a request's slot, or parks it while the limiter owes slots. It runs
// under mu so that a slot cannot slip to a waiting request while a decrease is booking debt.
func (l *Limiter) release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.debt > 0 {
		l.debt--
		l.parked++
		return
	}
	l.sem.Release(1)
}

// collect parks free slots while the limiter owes some.
func (l *Limiter) collect() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for l.debt > 0 && l.sem.TryAcquire(1) {
		l.debt--
		l.parked++
	}
}

// concurrencyCode is NetSuite's error code for "no free concurrency slot".
var concurrencyCode = []byte("CONCURRENCY_LIMIT_EXCEEDED")

// peekBytes bounds how much of an error body is read to look for concurrencyCode.
const peekBytes = 16 << 10

// observe adapts the limit to an answer sent under generation gen.
func (l *Limiter) observe(resp *http.Response, gen uint64) {
	code := resp.StatusCode
	throttled := code == http.StatusTooManyRequests
	if !throttled && code >= 400 {
		throttled = peekFor(resp, concurrencyCode)
	}
	switch {
	case throttled:
		l.lower(gen, code)
	case code >= 200 && code <= 299:
		l.succeeded()
	}
}

// lower halves the limit after a refusal, unless the request was sent before the last
// decrease: answers to requests sent under the old, higher limit say nothing new.
func (l *Limiter) lower(gen uint64, status int) {
	l.mu.Lock()
	l.throttled++
	l.streak = 0
	if gen != l.gen || l.limit <= 1 {
		l.mu.Unlock()
		return
	}
	was := l.limit
	l.limit = max(1, was/2)
	l.lowest = min(l.lowest, l.limit)
	l.gen++
	owe := was - l.limit
	for owe > 0 && l.sem.TryAcquire(1) {
		owe--
		l.parked++
	}
	l.debt += owe
	now := l.limit
	l.mu.Unlock()
	l.log.Warn("NetSuite refused a request for lack of concurrency slots (other integrations share the account's); lowering the request limit",
		"status", status, "limit", now, "previous", was, "max", l.size)
}

// succeeded counts a 2xx and raises the limit by one after a run of them.
func (l *Limiter) succeeded() {
	l.mu.Lock()
	l.streak++
	if l.streak < l.raiseAfter || l.limit >= l.size {
		l.mu.Unlock()
		return
	}
	l.streak = 0
	l.limit++
	if l.debt > 0 {
		l.debt--
	} else {
		l.parked--
		l.sem.Release(1)
	}
	now := l.limit
	l.mu.Unlock()
	if now == l.size {
		l.log.Info("request limit restored", "limit", now)
	} else {
		l.log.Debug("raising the request limit", "limit", now, "max", l.size)
	}
}

// peekFor reports whether the first peekBytes of resp's body contain s, leaving the body
// readable from its start.
func peekFor(resp *http.Response, s []byte) bool {
	head, _ := io.ReadAll(io.LimitReader(resp.Body, peekBytes))
	resp.Body = &peekedBody{Reader: io.MultiReader(bytes.NewReader(head), resp.Body), Closer: resp.Body}
	return bytes.Contains(head, s)
}

type peekedBody struct {
	io.Reader
	io.Closer
}

type releasingBody struct {
	io.ReadCloser
	once    sync.Once
	release func()
}

func (b *releasingBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.release)
	return err
}
