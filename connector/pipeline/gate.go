package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/extract-dev/extract/connector"
)

// fairGate shares the run's request permits among its streams. When a permit frees it
// goes to an urgent request (withUrgent) if one waits, else to the waiting stream with
// the fewest requests in flight (the longest waiting of those), so a stream reading many
// slices at once cannot starve a small one: each stream gets an equal share of the
// permits while it wants them, and a stream that wants less leaves the rest to the others. The account-wide limit (connector.Limiter, which adapts
// to NetSuite's 429s) still applies underneath; this only decides whose turn it is.
type fairGate struct {
	mu       sync.Mutex
	free     int
	inflight map[string]int
	waiters  []*gateWaiter // in arrival order
}

type gateWaiter struct {
	stream string
	urgent bool          // others wait for it: it goes first
	ready  chan struct{} // closed when granted
}

type urgentKey struct{}

// withUrgent marks the requests made with ctx as ones a stream's readers all wait for
// (the queries that cut a pass into slices): the gate serves them before any page.
func withUrgent(ctx context.Context) context.Context {
	return context.WithValue(ctx, urgentKey{}, true)
}

func isUrgent(ctx context.Context) bool {
	u, _ := ctx.Value(urgentKey{}).(bool)
	return u
}

func newFairGate(permits int) *fairGate {
	return &fairGate{free: max(permits, 1), inflight: map[string]int{}}
}

func (g *fairGate) acquire(ctx context.Context, stream string) error {
	g.mu.Lock()
	if g.free > 0 && len(g.waiters) == 0 {
		g.free--
		g.inflight[stream]++
		g.mu.Unlock()
		return nil
	}
	w := &gateWaiter{stream: stream, urgent: isUrgent(ctx), ready: make(chan struct{})}
	g.waiters = append(g.waiters, w)
	g.mu.Unlock()
	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
		g.mu.Lock()
		if i := slices.Index(g.waiters, w); i >= 0 {
			g.waiters = slices.Delete(g.waiters, i, i+1)
			g.mu.Unlock()
			return context.Cause(ctx)
		}
		g.mu.Unlock()
		g.release(stream) // granted as ctx ended: hand it on
		return context.Cause(ctx)
	}
}

func (g *fairGate) release(stream string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.inflight[stream]--
	g.free++
	for g.free > 0 && len(g.waiters) > 0 {
		best := 0
		for i, w := range g.waiters {
			b := g.waiters[best]
			if w.urgent != b.urgent {
				if w.urgent {
					best = i
				}
				continue
			}
			if g.inflight[w.stream] < g.inflight[b.stream] {
				best = i
			}
		}
		w := g.waiters[best]
		g.waiters = slices.Delete(g.waiters, best, best+1)
		g.free--
		g.inflight[w.stream]++
		close(w.ready)
	}
}

// gatedSource is one stream's view of the run's Source: its queries wait for the
// stream's turn at the gate, and their retries are summarised in the stream's own
// warnings.
type gatedSource struct {
	Source
	gate    *fairGate
	stream  string
	retries *connector.RetryLog
}

func newGatedSource(src Source, gate *fairGate, stream string, log *slog.Logger) *gatedSource {
	return &gatedSource{Source: src, gate: gate, stream: stream, retries: connector.NewRetryLog(log.With("stream", stream))}
}

func (s *gatedSource) SuiteQL(ctx context.Context, q string, limit, offset int) (*connector.Page, error) {
	if err := s.gate.acquire(ctx, s.stream); err != nil {
		return nil, err
	}
	defer s.gate.release(s.stream)
	return s.Source.SuiteQL(connector.WithRetryLog(ctx, s.retries), q, limit, offset)
}

// RecordLastModified passes the REST record API through (not gated: a repeated hour's
// lookups are few, and they are not SuiteQL pages).
func (s *gatedSource) RecordLastModified(ctx context.Context, recordType string, id int64) (time.Time, error) {
	rs, ok := s.Source.(RecordSource)
	if !ok {
		return time.Time{}, fmt.Errorf("%w: the source cannot read records through the REST record API", connector.ErrConfig)
	}
	return rs.RecordLastModified(connector.WithRetryLog(ctx, s.retries), recordType, id)
}
