package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
	"golang.org/x/term"

	"github.com/extract-dev/extract/connector/pipeline"
)

// startProgress shows the run's progress on stderr, never on stdout: bars when stderr is
// a terminal, else a log line per stream every interval. It returns the pipeline's hook
// (nil when interval is 0) and a stop that ends the display before the summary prints.
func startProgress(ctx context.Context, stderr io.Writer, interval time.Duration, log *slog.Logger) (func(pipeline.ProgressEvent), func()) {
	if interval <= 0 {
		return nil, func() {}
	}
	if f, ok := terminal(stderr); ok {
		b := newProgressBars(f, time.Now)
		return b.update, b.stop
	}
	p := newProgressLog(log, time.Now)
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				p.report()
			}
		}
	}()
	return p.update, func() { cancel(); <-done }
}

// terminal returns the file behind a command's stderr when it is a terminal.
func terminal(stderr io.Writer) (*os.File, bool) {
	out := stderr
	if con, ok := stderr.(*console); ok {
		out = con.w // the bars hold stream names and counts only: nothing to redact
	}
	f, ok := out.(*os.File)
	return f, ok && term.IsTerminal(int(f.Fd()))
}

// streamProgress is a stream's last event and what was logged of it.
type streamProgress struct {
	ev       pipeline.ProgressEvent
	reported bool // its last event (done) was logged
}

// rate and eta from the rows written since start; eta is −1 when unknown.
func rateAndETA(ev pipeline.ProgressEvent, elapsed time.Duration) (rate float64, eta int64) {
	eta = -1
	if s := elapsed.Seconds(); s > 0 {
		rate = float64(ev.Rows) / s
	}
	if ev.Expected > 0 && rate > 0 && !ev.Done {
		eta = int64(math.Ceil(float64(max(ev.Expected-ev.Rows, 0)) / rate))
	}
	return rate, eta
}

// progressLog keeps each stream's last event for the periodic log line.
type progressLog struct {
	log   *slog.Logger
	now   func() time.Time
	start time.Time

	mu      sync.Mutex
	streams map[string]*streamProgress
}

func newProgressLog(log *slog.Logger, now func() time.Time) *progressLog {
	return &progressLog{log: log, now: now, start: now(), streams: map[string]*streamProgress{}}
}

func (p *progressLog) update(ev pipeline.ProgressEvent) {
	p.mu.Lock()
	defer p.mu.Unlock()
	sp := p.streams[ev.Stream]
	if sp == nil {
		sp = &streamProgress{}
		p.streams[ev.Stream] = sp
	}
	sp.ev = ev
}

// report logs one line per stream, in name order; a finished stream is logged once more
// and then no longer.
func (p *progressLog) report() {
	p.mu.Lock()
	defer p.mu.Unlock()
	elapsed := p.now().Sub(p.start)
	names := make([]string, 0, len(p.streams))
	for name := range p.streams {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		sp := p.streams[name]
		if sp.reported {
			continue
		}
		sp.reported = sp.ev.Done
		rate, eta := rateAndETA(sp.ev, elapsed)
		attrs := []any{"stream", name, "rows", sp.ev.Rows, "pages", sp.ev.Pages, "rows_per_second", math.Round(rate*10) / 10}
		if sp.ev.Expected > 0 {
			attrs = append(attrs, "expected_rows", sp.ev.Expected)
		}
		if eta >= 0 {
			attrs = append(attrs, "eta_seconds", eta)
		}
		if sp.ev.Done {
			attrs = append(attrs, "done", true)
		}
		p.log.Info("progress", attrs...)
	}
}

// progressBars draws one bar per stream with mpb; its total is the expected rows once
// NetSuite has said.
type progressBars struct {
	p     *mpb.Progress
	now   func() time.Time
	start time.Time

	mu   sync.Mutex // bars; held while a bar is updated
	bars map[string]*mpb.Bar
	// evs has a lock of its own: the legends read it while mpb renders, and an update
	// waits for mpb under mu.
	evMu sync.Mutex
	evs  map[string]pipeline.ProgressEvent
}

func newProgressBars(w io.Writer, now func() time.Time, opts ...mpb.ContainerOption) *progressBars {
	return &progressBars{p: mpb.New(append([]mpb.ContainerOption{mpb.WithOutput(w)}, opts...)...), now: now, start: now(),
		bars: map[string]*mpb.Bar{}, evs: map[string]pipeline.ProgressEvent{}}
}

func (b *progressBars) update(ev pipeline.ProgressEvent) {
	b.evMu.Lock()
	b.evs[ev.Stream] = ev
	b.evMu.Unlock()
	b.mu.Lock()
	defer b.mu.Unlock()
	bar := b.bars[ev.Stream]
	if bar == nil {
		name := ev.Stream
		bar = b.p.AddBar(0,
			mpb.PrependDecorators(decor.Name(name, decor.WCSyncSpaceR)),
			mpb.AppendDecorators(decor.Any(func(decor.Statistics) string { return b.text(name) })))
		b.bars[name] = bar
	}
	if ev.Done {
		bar.SetCurrent(ev.Rows)
		bar.SetTotal(-1, true)
		return
	}
	if ev.Expected > 0 {
		bar.SetTotal(max(ev.Expected, ev.Rows+1), false) // complete only when done
	}
	bar.SetCurrent(ev.Rows)
}

// text is the bar's legend: rows, pages, rate and ETA.
func (b *progressBars) text(stream string) string {
	b.evMu.Lock()
	ev := b.evs[stream]
	b.evMu.Unlock()
	rate, eta := rateAndETA(ev, b.now().Sub(b.start))
	s := fmt.Sprintf("%d rows, %d pages, %.0f rows/s", ev.Rows, ev.Pages, rate)
	if ev.Expected > 0 {
		s = fmt.Sprintf("%d/%d rows, %d pages, %.0f rows/s", ev.Rows, ev.Expected, ev.Pages, rate)
	}
	if eta >= 0 {
		s += ", ETA " + (time.Duration(eta) * time.Second).String()
	}
	return s
}

// stop ends the bars: streams that did not finish (the run failed) are left as they are.
func (b *progressBars) stop() {
	b.mu.Lock()
	for name, bar := range b.bars {
		b.evMu.Lock()
		done := b.evs[name].Done
		b.evMu.Unlock()
		if !done {
			bar.Abort(false)
		}
	}
	b.mu.Unlock()
	b.p.Wait()
}
