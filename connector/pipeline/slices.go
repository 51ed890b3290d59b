package pipeline

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/extract-dev/extract/connector"
	"github.com/extract-dev/extract/state"
)

// A big pass is read by several readers at once. The head — the pass's own keyset read —
// reads the first page; when NetSuite's totalResults says that more than a few pages
// remain after it, one-row queries of the ids in order cut the rest of the window into
// id ranges, slices, of whole pages that together cover every id. A first pass whose
// table was counted at startup (sizeFirstPasses) is cut before its first page. Each
// slice is read with the same keyset, window and repeated-hour handling as the head, restricted to
// its range, from the head's last position. A reader that finishes its slice takes one
// nobody reads yet, or else splits the slice with the most rows left: the victim keeps the
// lower half of its range and the new slice reads the upper half from the victim's
// position, so no row is read twice and none is skipped. A page is requested only when
// its turn comes at the run's gate (fairGate), so slicing never exceeds the permits.
//
// Batches, the plan and every split reach the single writer of the stream in the order
// they happened (the scheduler sends them under its lock), and the writer applies them to
// the pass it checkpoints: the state records each slice's range, its durable position and
// whether it is done, and the watermark moves only when every slice is done and durable.
// A resumed pass reads only the slices not done, from where they stopped. A quiet pass
// never slices and costs one request.

// slicePagesPerPermit: a pass is sliced when at least this many pages per permit remain
// after the head's page. Slicing costs the one-row queries that cut it, each slice's last
// page and each slice's own reads of the repeated autumn hours in the window (a few
// queries per slice); a pass shorter than that is read faster enough by the head alone,
// the other streams keeping the permits busy.
const slicePagesPerPermit = 2

// scheduler hands out the slices of one pass to its readers and orders their events.
type scheduler struct {
	mu       sync.Mutex
	out      chan<- batch
	slices   []*sliceRead
	hi       int64 // the highest id the plan found (or, resumed, the slices show)
	pageSize int
	off      bool // slicing failed once in this pass: read the rest with the head alone
}

// sliceRead is a slice as the readers see it.
type sliceRead struct {
	ids      connector.IDRange
	w        connector.Window // where its next query starts: after its last emitted batch
	left     int64            // rows after w as of the last page (estimate), −1 unknown
	seen     [2]int64         // lowest and highest id of its last page, in its range; seen[0] > seen[1]: none
	taken    bool             // a reader has it
	done     bool
	inflight bool // its reader waits for a keyset page: the slice may be split now
}

func newScheduler(p state.Pass, out chan<- batch, pageSize int) *scheduler {
	sc := &scheduler{out: out, pageSize: pageSize}
	for _, sl := range p.Slices {
		sc.slices = append(sc.slices, &sliceRead{ids: connector.IDRange{From: sl.From, Until: sl.Until},
			w: sliceWindow(p, sl), left: -1, seen: noneSeen, done: sl.Done})
	}
	for _, sl := range p.Slices {
		if sl.From != math.MinInt64 {
			sc.hi = max(sc.hi, sl.From)
		}
	}
	return sc
}

var noneSeen = [2]int64{math.MaxInt64, math.MinInt64}

// tryAgain is take's answer when a slice worth splitting is between two pages.
const tryAgain = -2

func sliceWindow(p state.Pass, sl state.Slice) connector.Window {
	w := connector.Window{Lower: sl.Lower, Upper: p.Upper}
	if sl.AfterCursor != "" {
		w.After = &connector.Keyset{Cursor: sl.AfterCursor, ID: sl.AfterID}
	}
	return w
}

// send delivers an event to the writer; the caller holds mu, so events are in order.
func (sc *scheduler) send(ctx context.Context, bt batch) bool {
	select {
	case sc.out <- bt:
		return true
	case <-ctx.Done():
		if bt.rec != nil {
			bt.rec.Release()
		}
		return false
	}
}

// emit sends a reader's batch and records where its slice now stands: left rows after
// it (estimate, −1 unknown), seen the lowest and highest id of its rows.
func (sc *scheduler) emit(ctx context.Context, bt batch, left int64, seen [2]int64) bool {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if bt.slice >= 0 {
		sl := sc.slices[bt.slice]
		sl.w, sl.left, sl.seen, sl.done = bt.resume, left, seen, bt.final
	}
	return sc.send(ctx, bt)
}

// waiting marks slot's keyset query as sent (on) or answered (off); answered, it returns
// the slot's range, which a split may have narrowed meanwhile (nil for the head).
func (sc *scheduler) waiting(slot int, on bool) *connector.IDRange {
	if slot < 0 {
		return nil
	}
	sc.mu.Lock()
	defer sc.mu.Unlock()
	sl := sc.slices[slot]
	sl.inflight = on
	r := sl.ids
	return &r
}

// plan replaces the head by slices starting at w; hi is the highest id to read.
func (sc *scheduler) plan(ctx context.Context, ranges []connector.IDRange, w connector.Window, hi int64) bool {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	sc.hi = hi
	plan := make([]state.Slice, len(ranges))
	for i, r := range ranges {
		sc.slices = append(sc.slices, &sliceRead{ids: r, w: w, left: -1, seen: noneSeen})
		plan[i] = toStateSlice(r, w, false)
	}
	return sc.send(ctx, batch{slice: -1, plan: plan})
}

func toStateSlice(r connector.IDRange, w connector.Window, done bool) state.Slice {
	sl := state.Slice{From: r.From, Until: r.Until, Lower: w.Lower, Done: done}
	if w.After != nil {
		sl.AfterCursor, sl.AfterID = w.After.Cursor, w.After.ID
	}
	return sl
}

// take gives a reader the next slice nobody reads, or splits the one with the most rows
// left; −1 when neither is worth it, and the reader stops, or tryAgain when the slice
// worth splitting is between two pages.
func (sc *scheduler) take(ctx context.Context) (int, connector.Window, error) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	for i, sl := range sc.slices {
		if !sl.taken && !sl.done {
			sl.taken = true
			return i, sl.w, nil
		}
	}
	victim, later := -1, false
	for i, sl := range sc.slices {
		// One more page than the one in flight must be left to halve, and only a slice
		// whose reader waits for a keyset page has a position a new slice can start from.
		if !sl.taken || sl.done || sl.left < 2*int64(sc.pageSize) {
			continue
		}
		if !sl.inflight {
			later = true // its reader is between two pages: ask again in a moment
			continue
		}
		if victim < 0 || sl.left > sc.slices[victim].left {
			victim = i
		}
	}
	if victim < 0 && later {
		return tryAgain, connector.Window{}, nil
	}
	if victim < 0 {
		return -1, connector.Window{}, nil
	}
	v := sc.slices[victim]
	at, ok := splitPoint(v, sc.hi)
	if !ok {
		return -1, connector.Window{}, nil
	}
	n := &sliceRead{ids: connector.IDRange{From: at, Until: v.ids.Until}, w: v.w, left: v.left / 2, seen: noneSeen, taken: true}
	v.ids.Until, v.left = at, v.left-n.left
	sc.slices = append(sc.slices, n)
	if !sc.send(ctx, batch{slice: victim, split: true, at: at}) {
		return -1, connector.Window{}, context.Cause(ctx)
	}
	return len(sc.slices) - 1, n.w, nil
}

// splitPoint halves what a slice has left. Its last page shows where its reader is: when
// ids grow with lastmodifieddate (a first run) the rows left are above the page's, when
// they do not they spread over the whole range, and the lowest id of the page is a fair
// start of what is left in both cases. The open end of the last slice holds no id beyond
// the highest one the plan found, or the page shows.
func splitPoint(v *sliceRead, hi int64) (int64, bool) {
	from, until := v.ids.From, v.ids.Until
	if v.seen[0] <= v.seen[1] {
		from = max(from, v.seen[0])
	}
	if until == math.MaxInt64 {
		until = max(hi, v.seen[1]) + 1
	}
	if from == math.MinInt64 || until <= from {
		return 0, false
	}
	at := from + (until-from)/2
	return at, at > v.ids.From && at < v.ids.Until
}

// cutIDs cuts the ids lo..hi into n ranges of equal width that together cover every id.
func cutIDs(lo, hi int64, n int) []connector.IDRange {
	width := (hi - lo + 1) / int64(n)
	if width < 1 {
		width = 1
	}
	out := []connector.IDRange{}
	from := int64(math.MinInt64)
	for i := 1; i < n; i++ {
		b := lo + int64(i)*width
		if b > hi || b <= from {
			break
		}
		out = append(out, connector.IDRange{From: from, Until: b})
		from = b
	}
	return append(out, connector.IDRange{From: from, Until: math.MaxInt64})
}

// slices reads the slices of the pass with up to Concurrency readers.
func (s *streamRun) readSlices(ctx context.Context, sc *scheduler) error {
	g, gctx := errgroup.WithContext(ctx)
	for range max(s.opts.Concurrency, 1) {
		r := s.reader()
		g.Go(func() error {
			defer r.releaseBuilder()
			for {
				slot, w, err := sc.take(gctx)
				if slot == tryAgain {
					select {
					case <-time.After(5 * time.Millisecond):
						continue
					case <-gctx.Done():
						return context.Cause(gctx)
					}
				}
				if err != nil || slot < 0 {
					return err
				}
				if err := r.read(gctx, sc, slot, w); err != nil {
					return err
				}
			}
		})
	}
	return g.Wait()
}

// reader is a copy of s for one more concurrent reader: its own builder and query.
func (s *streamRun) reader() *streamRun {
	r := *s
	r.b = nil
	return &r
}

// shouldSlice says whether the rest of the head's window, left rows, is worth cutting
// into slices, and into how many.
func (s *streamRun) shouldSlice(sc *scheduler, left int) (n int, ok bool) {
	if s.cols == nil || s.opts.Concurrency < 2 || sc.off {
		return 0, false // deletions are read by one reader
	}
	pages := (left + s.opts.pageSize - 1) / s.opts.pageSize
	if pages < s.opts.sliceMinPages {
		return 0, false
	}
	return min(pages, s.opts.Concurrency), true
}

// maxProbeOffset is the furthest a one-row query may start: NetSuite serves no row past
// the 100,000th of a query.
const maxProbeOffset = 100_000 - 1

// plan cuts the rest of the head's window (after w, left rows) into n slices and hands
// them to the scheduler. When every cut is within 100,000 rows of one end, one-row
// queries of the ids in order find the n−1 ids that cut it into slices of equal size in
// whole pages (from the nearer end, so no offset passes the 100,000-row cap); otherwise
// the lowest and highest id cut it into ranges of equal width. The queries run at once,
// before other streams' pages. It returns false when the head should read on alone:
// nothing is left, or the queries failed (logged; slicing is not tried again in this
// pass).
func (s *streamRun) plan(ctx context.Context, sc *scheduler, w connector.Window, n, left int) (bool, error) {
	type probe struct {
		offset int
		last   bool
	}
	var probes []probe
	exact := true
	for _, k := range pageCuts(left, n, s.opts.pageSize) {
		switch {
		case k <= left-1-k && k <= maxProbeOffset:
			probes = append(probes, probe{offset: k})
		case left-1-k <= maxProbeOffset:
			probes = append(probes, probe{offset: left - 1 - k, last: true})
		default:
			exact = false
		}
	}
	if !exact {
		probes = []probe{{offset: 0}, {offset: 0, last: true}}
	}
	ids := make([]int64, len(probes))
	found := make([]bool, len(probes))
	// Every reader of the stream waits for these.
	g, gctx := errgroup.WithContext(withUrgent(ctx))
	for i, p := range probes {
		g.Go(func() error {
			q, err := connector.IDBoundQuery(s.query, w, s.opts.Location, p.last)
			if err != nil {
				return err
			}
			s.addRequests(1)
			page, err := s.src.SuiteQL(gctx, q, 1, p.offset)
			if err != nil {
				return err
			}
			if len(page.Items) == 0 {
				return nil // rows left the window meanwhile
			}
			raw := page.Items[0][s.query.Table.PrimaryKey]
			if ids[i], err = strconv.ParseInt(raw, 10, 64); err != nil {
				return fmt.Errorf("%w: %s: the id %q is not a whole number", connector.ErrData, s.out.Name, raw)
			}
			found[i] = true
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		if ctx.Err() != nil {
			return false, context.Cause(ctx)
		}
		sc.off = true
		s.log.Warn("could not find where to cut the pass into slices; reading it with one reader", "error", err.Error())
		return false, nil
	}
	var ranges []connector.IDRange
	var hi int64
	if exact {
		var cuts []int64
		for i, id := range ids {
			if found[i] {
				cuts = append(cuts, id)
			}
		}
		slices.Sort(cuts)
		cuts = slices.Compact(cuts)
		from := int64(math.MinInt64)
		for _, c := range cuts {
			ranges = append(ranges, connector.IDRange{From: from, Until: c})
			from = c
		}
		ranges = append(ranges, connector.IDRange{From: from, Until: math.MaxInt64})
		if len(cuts) > 0 {
			hi = cuts[len(cuts)-1]
		}
	} else {
		if !found[0] || !found[1] || ids[1] < ids[0] {
			return false, nil
		}
		ranges, hi = cutIDs(ids[0], ids[1], n), ids[1]
	}
	if len(ranges) < 2 {
		return false, nil
	}
	s.log.Info("reading the rest of the pass in slices", "slices", len(ranges), "rows", left)
	if !sc.plan(ctx, ranges, w, hi) {
		return false, context.Cause(ctx)
	}
	return true, nil
}

// pageCuts returns where, counted in rows from the start of what is left (left rows), the
// n slices of a pass begin after the first: as near equal as whole pages allow, so that
// each slice's last page is full and NetSuite says it is the last (hasMore false), and the
// slices together cost one request per page, with only the last slice's page partial.
func pageCuts(left, n, pageSize int) []int {
	var cuts []int
	for i := 1; i < n; i++ {
		k := (i*left/n + pageSize/2) / pageSize * pageSize
		if k > 0 && k < left && (len(cuts) == 0 || k > cuts[len(cuts)-1]) {
			cuts = append(cuts, k)
		}
	}
	return cuts
}

var errNotFinished = errors.New("the pass's readers stopped before its end")

// firstSize is how many rows a stream's table holds, asked while the run starts: what its
// first pass will read, so that the pass can be cut into slices before its first page.
type firstSize struct {
	done chan struct{} // closed when n and ok are set
	n    int
	ok   bool
	sent time.Time
}

// rows waits for the count as long again as it has been in flight when the startup it
// was sent with ended (it is one round trip like them; longer, it is being retried and
// the pass sizes itself from its first page instead), and returns it.
func (f *firstSize) rows(ctx context.Context, startupEnded time.Time) (int, bool) {
	if f == nil {
		return 0, false
	}
	t := time.NewTimer(time.Until(startupEnded.Add(startupEnded.Sub(f.sent))))
	defer t.Stop()
	select {
	case <-f.done:
	case <-t.C:
		select {
		case <-f.done: // just in time
		default:
			return 0, false
		}
	case <-ctx.Done():
		return 0, false
	}
	return f.n, f.ok
}

// sizeFirstPasses asks, beside the session zone, the clock and the custom-field catalog,
// how many rows the tables of the streams about to make their first pass hold (a full
// refresh is one), with one one-row query each, in the order of the streams, for as many
// streams as spare permits allow: the startup requests leave them idle, so the answer
// costs no time, and it saves each big stream the round trip of a head page before its
// slices start. A stream with a start date is not asked: its window needs the session
// zone to be written down. The run does not wait for the answers; a stream that has none
// in time sizes its pass from its first page, as every other stream does.
func (r *Runner) sizeFirstPasses(ctx context.Context, opts Options, spare int) map[string]*firstSize {
	sizes := map[string]*firstSize{}
	if opts.Concurrency < 2 || !opts.StartDate.IsZero() {
		return sizes
	}
	for _, name := range opts.Streams {
		if len(sizes) >= spare {
			break
		}
		if _, child := connector.ChildOf(name); child {
			continue
		}
		if st, _ := r.State.Stream(name); !opts.FullRefresh && (!st.Watermark.IsZero() || st.Pass != nil) {
			continue
		}
		table, err := connector.Table(name)
		if err != nil {
			continue
		}
		f := &firstSize{done: make(chan struct{}), sent: time.Now()}
		sizes[name] = f
		go func() {
			defer close(f.done)
			page, err := r.Source.SuiteQL(ctx, connector.CountQuery(connector.Query{Table: table}), 1, 0)
			if err != nil {
				opts.Logger.Debug("could not count the rows of a first pass; its first page will tell", "stream", name, "error", err.Error())
				return
			}
			f.n, f.ok = page.TotalResults, true
		}()
	}
	return sizes
}
