package pipeline

import "sync"

// ProgressEvent is how far one stream has come in this run. The numbers count what the
// writers have handed to the sink (records and tombstones), a little ahead of the
// checkpoints that follow each durable file.
type ProgressEvent struct {
	Stream string
	Rows   int64 // rows written so far in this run
	Pages  int64 // pages of rows written so far
	// Expected is the rows this run's pass of the stream is expected to write in all,
	// from NetSuite's totalResults of each part of the pass (the head, or its slices);
	// 0 when NetSuite has not said. An estimate: rows can enter or leave the window.
	Expected int64
	Done     bool // the stream has finished, well or not
}

// progress gathers the writers' counts per stream and reports them one at a time, so
// Options.Progress need not be safe for concurrent use. A nil *progress reports nothing.
type progress struct {
	mu     sync.Mutex
	fn     func(ProgressEvent)
	events map[string]*ProgressEvent
}

func newProgress(fn func(ProgressEvent)) *progress {
	if fn == nil {
		return nil
	}
	return &progress{fn: fn, events: map[string]*ProgressEvent{}}
}

// add counts rows and pages written for stream; expected ≥ 0 replaces the estimate.
func (p *progress) add(stream string, rows, pages, expected int64) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	ev := p.event(stream)
	ev.Rows += rows
	ev.Pages += pages
	if expected >= 0 {
		ev.Expected = expected
	}
	p.fn(*ev)
}

// done reports that stream has finished.
func (p *progress) done(stream string) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	ev := p.event(stream)
	ev.Done = true
	p.fn(*ev)
}

func (p *progress) event(stream string) *ProgressEvent {
	ev := p.events[stream]
	if ev == nil {
		ev = &ProgressEvent{Stream: stream}
		p.events[stream] = ev
	}
	return ev
}

// expectation estimates a pass's rows from what each of its parts has left: the rows
// written in the pass so far plus, for every part that NetSuite gave a totalResults for,
// the rows after its last page. When the head is cut into slices its last estimate
// stands for them until one of them has reported.
type expectation struct {
	written int64
	left    map[int]int64 // part (−1 the head) → rows after its last page
}

// batch records a data batch of part slot with rows rows and left rows after it
// (−1: unknown), and returns the estimate, or −1 when none is known.
func (e *expectation) batch(slot int, rows, left int64) int64 {
	if e.left == nil {
		e.left = map[int]int64{}
	}
	e.written += rows
	if slot >= 0 {
		delete(e.left, -1) // the slices report for themselves now
	}
	if left >= 0 {
		e.left[slot] = left
	} else {
		delete(e.left, slot)
	}
	if len(e.left) == 0 {
		return -1
	}
	total := e.written
	for _, n := range e.left {
		total += n
	}
	return total
}
