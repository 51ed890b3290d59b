// Package pipeline runs an extract: for each stream it fetches SuiteQL pages in keyset
// order, converts them to typed batches, writes them to the sink and checkpoints the state
// file only after the rows a checkpoint covers are durable.
//
// The cursor's guarantee: after a successful run that started at NetSuite time T, every
// record whose latest modification before T was visible to queries has been written at
// least once in its latest version as of the read, and every record deleted before T has
// a tombstone. A pass reads [watermark − lookback, T) in (lastmodifieddate, id) order with
// a keyset, never a strict ">" on a bare timestamp, so rows sharing a second are never
// skipped and no query pages toward NetSuite's 100,000-row cap; the watermark becomes T
// only when the pass is complete, and a checkpoint inside a pass names the last durable
// row. The look-back re-reads records stamped before they became visible. Bounds are kept
// off the repeated hour of an autumn clock change (whose wall times name two instants), so
// a run starting inside that hour promises only what came before it. Output is
// at-least-once; merged by id (latest lastmodifieddate, a tombstone winning a tie) it
// equals NetSuite.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"golang.org/x/sync/errgroup"

	"github.com/extract-dev/extract/connector"
	"github.com/extract-dev/extract/schema"
	"github.com/extract-dev/extract/sink"
	"github.com/extract-dev/extract/state"
)

// Source is the part of the SuiteQL client a run needs.
type Source interface {
	SuiteQL(ctx context.Context, q string, limit, offset int) (*connector.Page, error)
	ServerTime(ctx context.Context) (time.Time, error)
	SessionTimeZone(ctx context.Context) (*time.Location, string, error)
}

// Options tune a run. Zero values take the documented defaults.
type Options struct {
	Streams []string
	// Location is the NetSuite session time zone; nil asks NetSuite (SESSIONTIMEZONE).
	Location *time.Location
	// Lookback re-reads this much before the saved watermark on every incremental pass,
	// for records whose lastmodifieddate became visible after a previous pass read past it.
	Lookback time.Duration
	// StartDate is the lower bound of a stream's first pass; zero reads all history.
	StartDate time.Time
	// FullRefresh ignores the saved watermark and any unfinished pass: every stream is
	// read again from StartDate (or all history).
	FullRefresh bool
	// FileRows closes a file and checkpoints once it holds this many rows (default 100,000).
	FileRows int64
	// StreamConcurrency is how many streams run at once (default: all); the reader of the
	// record streams' deletions counts as one.
	StreamConcurrency int
	// Concurrency is how many SuiteQL pages the run has in flight at once (default 4; set
	// it to the account's permits, NETSUITE_CONCURRENCY). The streams share them fairly,
	// and a big pass is cut into id slices read concurrently to use them; 1 reads every
	// stream page by page. The account-wide limit that adapts to NetSuite's 429s lives in
	// the HTTP transport (connector.Limiter) underneath.
	Concurrency int
	// Columns is each stream's column selection (streams not named take every column).
	Columns map[string]connector.ColumnSelection
	// CustomFieldsTTL is how long the custom-field catalog read from NetSuite is reused
	// before it is read again (default one hour; a full refresh always reads it).
	CustomFieldsTTL time.Duration
	// FullScanInterval is how often child streams (address books, subsidiary
	// memberships) are read in full (default DefaultFullScanInterval).
	FullScanInterval time.Duration
	// RunID is written in every row's _run_id; empty: NewRunID at the start of Run.
	RunID  string
	Logger *slog.Logger
	Mem    memory.Allocator
	// Progress, if set, is told how far each stream has come after every batch its
	// writer hands to the sink, and when it finishes. Calls are serialised and come from
	// the writers: it must return quickly.
	Progress func(ProgressEvent)

	progress *progress

	// stepHook is for tests only: called at "page-fetched" and "batch-built", its error
	// stops the run as a crash there would.
	stepHook func(step string) error
	// pageSize (default connector.PageSize) and sliceMinPages (how many pages must remain
	// for a pass to be sliced; default slicePagesPerPermit per permit) let tests slice
	// small passes.
	pageSize, sliceMinPages int
	// feeds are the parent record streams' ids for the child streams of this run, and
	// deletedFeeds their deleted ids.
	feeds, deletedFeeds map[string]*parentFeed
	// startupEnded is when the session zone, the clock and the catalog had all come.
	startupEnded time.Time
}

// localClockMargin keeps a watermark taken from the local clock behind NetSuite's.
const localClockMargin = 2 * time.Minute

// DefaultConcurrency is Options.Concurrency's default, NETSUITE_CONCURRENCY's too.
const DefaultConcurrency = 4

// DefaultLookback covers records saved by long transactions whose lastmodifieddate is
// earlier than the moment they became visible to queries.
const DefaultLookback = 10 * time.Minute

// Runner wires a Source to a sink and a state store.
type Runner struct {
	Source Source
	Sink   *sink.Sink
	State  *state.Store
	Opts   Options
}

// StreamResult is what one stream did in a run. Requests counts the stream's own
// queries: the deletions of all record streams are read by one query, whose requests
// are Result.DeletionRequests (Deleted counts the stream's own tombstones).
type StreamResult struct {
	Stream   string    `json:"stream"`
	Rows     int64     `json:"rows"`
	Deleted  int64     `json:"deleted"` // tombstones written
	Files    int64     `json:"files"`
	Requests int64     `json:"requests"`
	From     time.Time `json:"from"` // watermark before the run (zero: first run)
	To       time.Time `json:"to"`   // watermark after the run
	Resumed  bool      `json:"resumed,omitempty"`
	// DeletionsUnavailable: the account lacks deletedrecord or the role may not read it.
	DeletionsUnavailable bool `json:"deletions_unavailable,omitempty"`
	// Columns is how many columns the stream's files have, CustomColumns how many of
	// them are custom fields.
	Columns       int `json:"columns"`
	CustomColumns int `json:"custom_columns"`
	// DroppedColumns are the fields NetSuite refused, found in this run (New) or
	// remembered from an earlier one; they are absent from the files, not NULL.
	DroppedColumns []DroppedColumn `json:"dropped_columns,omitempty"`
	// SkippedColumns are left out by the configuration or because they hold no value.
	SkippedColumns []connector.SkippedColumn `json:"skipped_columns,omitempty"`
	// SchemaChange lists the column changes since the previous run, e.g.
	// "+custentity_region (text), −custentity_notes"; empty when there were none.
	SchemaChange string `json:"schema_change,omitempty"`
	// Unavailable says why the stream was skipped: its table does not exist in the
	// account (customersubsidiaryrelationship without OneWorld) or the role may not read it.
	Unavailable string `json:"unavailable,omitempty"`
	// Warning is a problem worth a look that did not stop the stream.
	Warning string `json:"warning,omitempty"`
}

// DroppedColumn is a field NetSuite refused to serve.
type DroppedColumn struct {
	Column string `json:"column"`
	Reason string `json:"reason"`
	New    bool   `json:"new,omitempty"` // found in this run
}

// Result is the run summary.
type Result struct {
	ServerTime time.Time      `json:"server_time"`
	TimeZone   string         `json:"time_zone"`
	Streams    []StreamResult `json:"streams"`
	// CustomFields describes the custom-field catalog the run used.
	CustomFields CatalogResult `json:"custom_fields"`
	// DeletionRequests counts the SuiteQL requests of the one deletedrecord query that
	// reads the deletions of all the run's record streams together; they are in no
	// stream's Requests (each stream's Deleted counts its own tombstones).
	DeletionRequests int64 `json:"deletion_requests"`
}

// Run extracts every stream. It returns the per-stream results gathered so far together
// with the first error; streams that finished keep their checkpoints.
func (r *Runner) Run(ctx context.Context) (Result, error) {
	opts := r.Opts
	if opts.FileRows <= 0 {
		opts.FileRows = 100_000
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = DefaultConcurrency
	}
	if opts.pageSize <= 0 {
		opts.pageSize = connector.PageSize
	}
	if opts.sliceMinPages <= 0 {
		opts.sliceMinPages = max(3, slicePagesPerPermit*opts.Concurrency)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Mem == nil {
		opts.Mem = memory.DefaultAllocator
	}
	if opts.Lookback < 0 {
		return Result{}, fmt.Errorf("%w: --lookback must not be negative", connector.ErrConfig)
	}
	if opts.RunID == "" {
		opts.RunID = sink.NewRunID(time.Now())
	}
	opts.progress = newProgress(opts.Progress)
	var res Result
	// The session zone, NetSuite's clock and (when there is none to reuse) the
	// custom-field catalog do not depend on each other: ask at once. A cached catalog's
	// age is judged by NetSuite's clock, so it waits for the clock.
	var (
		loc     *time.Location
		zone    string
		zoneErr error
		pre     *catalogRead
		wg      sync.WaitGroup
	)
	if opts.Location == nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			loc, zone, zoneErr = r.Source.SessionTimeZone(ctx)
		}()
	}
	if _, cached := r.State.CustomFields(); wantsCustomFields(opts) && (!cached || opts.FullRefresh) {
		pre = &catalogRead{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			*pre = r.readCatalog(ctx)
		}()
	}
	startup := 1 // the clock
	if opts.Location == nil {
		startup++
	}
	if pre != nil {
		startup++
	}
	countCtx, stopCounts := context.WithCancel(ctx)
	defer stopCounts()
	sizes := r.sizeFirstPasses(countCtx, opts, opts.Concurrency-startup)
	now, err := r.Source.ServerTime(ctx)
	wg.Wait()
	opts.startupEnded = time.Now()
	if opts.Location == nil {
		if zoneErr != nil {
			return res, zoneErr
		}
		opts.Location = loc
		opts.Logger.Info("session time zone", "zone", zone)
	}
	res.TimeZone = opts.Location.String()
	switch {
	case errors.Is(err, connector.ErrConfig):
		// The endpoint is refused for this role or account. A local clock ahead of
		// NetSuite's could put the watermark past rows not yet visible, so stay behind it.
		now = time.Now().UTC().Add(-localClockMargin)
		opts.Logger.Warn("NetSuite's clock is unavailable; using the local clock less a margin as the watermark",
			"margin", localClockMargin.String(), "error", err.Error())
	case err != nil:
		return res, fmt.Errorf("reading NetSuite's clock: %w", err)
	}
	res.ServerTime = now
	catalog, err := r.catalog(ctx, opts, now, &res.CustomFields, pre)
	if err != nil {
		return res, err
	}

	gate := newFairGate(opts.Concurrency)
	opts.feeds, opts.deletedFeeds = map[string]*parentFeed{}, map[string]*parentFeed{}
	for _, name := range opts.Streams {
		if spec, child := connector.ChildOf(name); child && slices.Contains(opts.Streams, spec.Parent) && opts.feeds[spec.Parent] == nil {
			opts.feeds[spec.Parent], opts.deletedFeeds[spec.Parent] = newParentFeed(), newParentFeed()
		}
	}
	// Record streams are planned before any of them runs: the deletions reader writes
	// tombstones into their directories, with their columns.
	prepared := map[string]preparedStream{}
	var records []string
	for _, name := range opts.Streams {
		if _, child := connector.ChildOf(name); child {
			continue
		}
		cols, log, err := r.prepare(opts, name, catalog)
		if err != nil {
			return res, fmt.Errorf("stream %s: %w", name, err)
		}
		prepared[name] = preparedStream{cols: cols, log: log}
		records = append(records, name)
	}
	var deletions *deletionsRun
	if len(records) > 0 {
		src := newGatedSource(r.Source, gate, "deletedrecord", opts.Logger)
		if deletions, err = r.newDeletions(src, opts, now, records, prepared); err != nil {
			return res, err
		}
	}

	results := make([]StreamResult, len(opts.Streams))
	for i, name := range opts.Streams {
		results[i].Stream = name
	}
	g, gctx := errgroup.WithContext(ctx)
	if opts.StreamConcurrency > 0 {
		g.SetLimit(opts.StreamConcurrency)
	}
	// Record streams start first: a child stream may wait for its parent's ids, and with
	// StreamConcurrency set, a parent that has not started would never come.
	order := make([]int, 0, len(opts.Streams))
	for _, child := range []bool{false, true} {
		for i, name := range opts.Streams {
			if _, isChild := connector.ChildOf(name); isChild == child {
				order = append(order, i)
			}
		}
	}
	unavailable := false
	if deletions != nil {
		// Independent of the records: it runs beside them, first in line for a permit.
		g.Go(func() error {
			err := deletions.run(gctx)
			if errors.Is(err, connector.ErrConfig) {
				// The account lacks the table or the role its permission: records still flow.
				unavailable = true
				opts.Logger.Warn("deleted records cannot be read; continuing without deletions", "error", err.Error())
				return nil
			}
			if err != nil {
				return fmt.Errorf("deletions: %w", err)
			}
			return nil
		})
	}
	for _, i := range order {
		name := opts.Streams[i]
		g.Go(func() error {
			defer opts.progress.done(name)
			var err error
			src := newGatedSource(r.Source, gate, name, opts.Logger)
			if p, ok := prepared[name]; ok {
				err = r.runStream(gctx, src, opts, now, name, p, sizes[name], &results[i])
			} else {
				err = r.runChild(gctx, src, opts, now, name, catalog, &results[i])
			}
			if err != nil {
				return fmt.Errorf("stream %s: %w", name, err)
			}
			return nil
		})
	}
	err = g.Wait()
	if deletions != nil {
		deletions.report(results, unavailable)
		res.DeletionRequests = deletions.res.Requests
	}
	res.Streams = results
	return res, err
}

// fileContext carries a file's upload to object storage. The writer ends every upload,
// by committing or aborting its file, rather than the run's cancellation: a commit under
// way when a signal arrives completes and its checkpoint follows (the shutdown timeout
// bounds how long that may take); an interrupted run aborts the file it was filling.
var fileContext = context.Background()

// DeletionsKey is the state entry of a stream's deletions, beside the stream's own.
func DeletionsKey(stream string) string { return stream + ".deleted" }

// runStream extracts one stream's records (its deletions are read for all record
// streams together: see deletions.go).
func (r *Runner) runStream(ctx context.Context, src Source, opts Options, now time.Time, name string, p preparedStream, size *firstSize, res *StreamResult) error {
	cols, log := p.cols, p.log
	defer cols.report(res)
	if size != nil {
		res.Requests++ // asked at startup
	}
	feed := opts.feeds[name]
	defer feed.close()
	records := streamRun{opts: opts, src: src, mu: &sync.Mutex{}, feed: feed, sink: r.Sink, state: r.State, now: now, res: res, log: log, stream: name, size: size,
		out: cols.table, query: connector.Query{Table: cols.table}, key: name, written: &res.Rows, cols: cols,
		toRow: func(row schema.RawRow) schema.RawRow {
			row[connector.DeletedColumn] = "F"
			return opts.stamp(row, time.Now())
		},
		fixed: schema.RawRow{connector.DeletedColumn: "F", connector.RunIDColumn: opts.RunID}}
	var err error
	res.From, res.To, err = records.sync(ctx)
	return err
}

// prepare plans a stream's columns and removes the unfinished files of an earlier run.
func (r *Runner) prepare(opts Options, name string, catalog []connector.CustomField) (*streamColumns, *slog.Logger, error) {
	log := opts.Logger.With("stream", name)
	cols, err := r.planColumns(opts, name, catalog, log)
	if err != nil {
		return nil, nil, err
	}
	if n, err := r.Sink.CleanTemp(name); err != nil {
		return nil, nil, err
	} else if n > 0 {
		log.Info("removed unfinished files of an earlier run", "files", n)
	}
	return cols, log, nil
}

// tombstone turns a deletedrecord row into a row of the stream saying the record is gone.
func (o Options) tombstone(row schema.RawRow, at time.Time) schema.RawRow {
	return o.stamp(schema.RawRow{"id": row["recordid"], "lastmodifieddate": row["deleteddate"], connector.DeletedColumn: "T"}, at)
}

// stamp sets the columns that say which run read the row, and when.
func (o Options) stamp(row schema.RawRow, at time.Time) schema.RawRow {
	row[connector.ExtractedAtColumn] = at.UTC().Format(time.RFC3339Nano)
	row[connector.RunIDColumn] = o.RunID
	return row
}

// streamRun reads one query of a stream (its records, or its deletions) into the stream's
// files, checkpointing under key.
type streamRun struct {
	opts  Options
	src   Source
	sink  *sink.Sink
	state *state.Store
	now   time.Time
	res   *StreamResult
	log   *slog.Logger

	stream  string                            // the output directory's name; out.Name, fixed for the writer
	out     schema.Table                      // the stream's output schema
	b       *schema.Builder                   // the fetcher's, for out; see builder
	query   connector.Query                   // what is selected
	cols    *streamColumns                    // the records' columns, which shrink as NetSuite refuses some; nil for deletions
	mu      *sync.Mutex                       // shared by the pass's readers: res.Requests, cols
	feed    *parentFeed                       // the child streams waiting for this stream's ids, if any
	collect *idCollector                      // the ids the pass in progress wrote, for feed
	key     string                            // state entry
	written *int64                            // the result counter this query's rows add to
	toRow   func(schema.RawRow) schema.RawRow // query row → output row
	fixed   schema.RawRow                     // or, for a record stream, the connector's columns added to every row
	size    *firstSize                        // how many rows the stream's first pass holds, if asked at startup
}

// sync finishes an unfinished pass, then runs a new one up to NetSuite's clock, and
// returns the watermark before and after.
func (s *streamRun) sync(ctx context.Context) (from, to time.Time, err error) {
	st, _ := s.state.Stream(s.key)
	from = st.Watermark
	if s.opts.FullRefresh {
		s.log.Info("full refresh: ignoring the saved watermark", "watermark", st.Watermark)
		st.Watermark, st.Pass = time.Time{}, nil
	}
	if st.Pass != nil {
		// An earlier run stopped inside a pass: finish it from its keyset position first.
		s.res.Resumed = true
		s.log.Info("resuming an unfinished pass", "lower", st.Pass.Lower, "upper", st.Pass.Upper, "after_id", st.Pass.AfterID)
		if st, err = s.pass(ctx, st); err != nil {
			return from, from, err
		}
	}
	if p, ok := s.newPass(st); ok {
		st.Pass = p
		if s.feed != nil {
			s.collect = &idCollector{}
		}
		if st, err = s.pass(ctx, st); err != nil {
			return from, from, err
		}
		if s.feed != nil && !s.collect.overflow {
			s.feed.lower, s.feed.upper, s.feed.ids, s.feed.ok = p.Lower, p.Upper, s.collect.ids, true
			s.feed.close() // the children need not wait for the deletions
		}
		s.collect = nil
	}
	return from, st.Watermark, nil
}

// newPass plans the next pass: from the watermark less the look-back (or the start date)
// up to NetSuite's clock. Both bounds are moved off ambiguous wall times.
func (s *streamRun) newPass(st state.Stream) (*state.Pass, bool) {
	loc := s.opts.Location
	upper := connector.SafeBound(s.now, loc)
	var lower time.Time
	switch {
	case !st.Watermark.IsZero():
		lower = connector.SafeBound(st.Watermark.Add(-s.opts.Lookback), loc)
	case !s.opts.StartDate.IsZero():
		lower = connector.SafeBound(s.opts.StartDate, loc)
	}
	if !lower.IsZero() && !upper.After(lower) {
		return nil, false // NetSuite's clock is behind the watermark: nothing new can exist
	}
	return &state.Pass{Lower: lower, Upper: upper}, true
}

// batch is what a reader sends the writer: one converted page of the head (slice −1) or
// of a slice, with resume, where that part continues once this batch and all before it
// are durable, and final when the part is complete; or, without a record, the plan that
// replaces the head by slices, or the split of slice at id at.
type batch struct {
	rec    arrow.Record
	slice  int
	resume connector.Window
	final  bool
	plan   []state.Slice
	split  bool
	at     int64
	// left is how many rows of the part come after this batch by NetSuite's
	// totalResults, when hasLeft: the progress estimate.
	left    int64
	hasLeft bool
}

// pass reads st.Pass to its end, checkpointing after every durable file, and returns the
// stream state with the pass completed (watermark = upper, no pass).
func (s *streamRun) pass(ctx context.Context, st state.Stream) (state.Stream, error) {
	// Room for every reader's next page: readers fetch while the writer writes.
	err := s.readWrite(ctx, *st.Pass, max(s.opts.Concurrency, 1)+1, func(pages <-chan batch) error {
		var err error
		st, err = s.write(st, pages)
		return err
	})
	if err != nil {
		return st, err
	}
	if st.Pass != nil {
		return st, fmt.Errorf("%s: %w", s.out.Name, errNotFinished) // unreachable: a reader that stops early says why
	}
	return st, nil
}

// readWrite runs the readers of pass p beside write, its writer, until both end: a
// writer's failure cancels the readers, and batches still in flight are released. The
// writer's error comes first (the readers' is then the cancellation it caused).
func (s *streamRun) readWrite(ctx context.Context, p state.Pass, buffer int, write func(<-chan batch) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pages := make(chan batch, buffer)
	sc := newScheduler(p, pages, s.opts.pageSize)
	var fetchErr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(pages)
		fetchErr = s.fetch(ctx, sc, p)
	}()
	err := write(pages)
	if err != nil {
		cancel()
	}
	// Drain so the readers can exit, releasing any records still in flight.
	for b := range pages {
		if b.rec != nil {
			b.rec.Release()
		}
	}
	wg.Wait()
	if err != nil {
		return err
	}
	return fetchErr
}

// fetch reads the pass: the head until it ends or is sliced, then the slices.
func (s *streamRun) fetch(ctx context.Context, sc *scheduler, p state.Pass) error {
	if len(p.Slices) == 0 {
		w := connector.Window{Lower: p.Lower, Upper: p.Upper}
		if p.AfterCursor != "" {
			w.After = &connector.Keyset{Cursor: p.AfterCursor, ID: p.AfterID, Tie: p.AfterTie}
		}
		if rows, ok := s.size.rows(ctx, s.opts.startupEnded); ok && w.After == nil && w.Lower.IsZero() {
			// A first pass already sized: cut it before its first page.
			if n, ok := s.shouldSlice(sc, rows); ok {
				sliced, err := s.plan(ctx, sc, w, n, rows)
				if err != nil {
					return err
				}
				if sliced {
					return s.readSlices(ctx, sc)
				}
			}
		}
		head := s.reader()
		err := head.read(ctx, sc, -1, w)
		head.releaseBuilder()
		if err != nil || len(sc.slices) == 0 {
			return err
		}
	}
	return s.readSlices(ctx, sc)
}

// read pages through one part of the pass in keyset order from w: the head (slot −1)
// until its end or until it is sliced, or one slice to its end. Every query restarts at
// offset 0 after the last row seen, so no query ever pages towards NetSuite's
// 100,000-row cap and rows changing elsewhere in the table cannot shift a page boundary.
//
// The repeated hour when clocks go back is the exception: there a wall-time literal names
// two instants, so a keyset position cannot be written down. A keyset page stops before
// the first row in such an overlap; the overlap is read whole by readOverlap and the keyset
// resumes at its (unambiguous) end.
func (s *streamRun) read(ctx context.Context, sc *scheduler, slot int, w connector.Window) error {
	emit := func(bt batch) bool {
		bt.slice = slot
		return sc.emit(ctx, bt, -1, noneSeen)
	}
	for {
		s.refresh()
		if w.After != nil {
			if ov, ok := connector.OverlapOf(w.After.Cursor, s.opts.Location); ok {
				// A checkpoint inside an overlap: read the overlap again from its start.
				next, err := s.readOverlap(ctx, w, ov, emit)
				if err != nil {
					return err
				}
				if next == nil {
					return context.Cause(ctx)
				}
				if w, err = s.pastOverlap(ctx, emit, *next); err != nil {
					return err
				}
				s.refresh()
			}
		}
		s.query.IDs = sc.waiting(slot, true)
		fctx := ctx
		if s.fixed != nil {
			fctx = connector.ItemsContext(ctx) // every row is converted: no map per row
		}
		page, err := s.firstPage(fctx, w, s.opts.pageSize)
		// A split while the page was on its way narrowed the slice: rows past its new end
		// are the new slice's, which starts from the same position.
		ids := sc.waiting(slot, false)
		if err != nil {
			return err
		}
		s.query.IDs = ids
		b := s.builder()
		if err := s.step("page-fetched"); err != nil {
			return err
		}
		rows := s.rowsOf(page)
		n, overlap := s.splitAtOverlap(rows)
		last, err := s.convert(b, rows, n, w.After, ids)
		if err != nil {
			return fmt.Errorf("%w: %s: page after %s: %w", connector.ErrData, s.out.Name, describe(w.After), err)
		}
		if n > 0 {
			w.After = &last
		}
		final := !page.HasMore && overlap == nil
		rec := b.NewRecord()
		if err := s.step("batch-built"); err != nil {
			rec.Release()
			return err
		}
		left := int64(-1)
		if page.TotalResults > 0 {
			left = int64(page.TotalResults - rows.Len())
		} else if page.HasMore {
			left = 2 * int64(s.opts.pageSize)
		}
		bt := batch{rec: rec, slice: slot, resume: w, final: final}
		if page.TotalResults > 0 || final {
			bt.left, bt.hasLeft = max(int64(page.TotalResults-rows.Len()), 0), true
			if final {
				bt.left = 0
			}
		}
		if !sc.emit(ctx, bt, left, s.seen(rows, n, ids)) {
			// Not a success: the pass did not reach its end. If the writer failed, pass
			// reports the writer's error; otherwise this is the cancellation.
			return context.Cause(ctx)
		}
		if final {
			return nil
		}
		if overlap != nil {
			next, err := s.readOverlap(ctx, w, *overlap, emit)
			if err != nil {
				return err
			}
			if next == nil {
				return context.Cause(ctx)
			}
			if w, err = s.pastOverlap(ctx, emit, *next); err != nil {
				return err
			}
			continue
		}
		if left := page.TotalResults - rows.Len(); slot < 0 && page.TotalResults > rows.Len() {
			// (Without totalResults NetSuite did not say how much is left: read on.)
			if n, ok := s.shouldSlice(sc, left); ok {
				if sliced, err := s.plan(ctx, sc, w, n, left); err != nil || sliced {
					return err
				}
			}
		}
	}
}

// seen returns the lowest and highest id of rows in ids.
func (s *streamRun) seen(rows pageRows, n int, ids *connector.IDRange) [2]int64 {
	out := noneSeen
	for r := range n {
		id, err := strconv.ParseInt(rows.id(r), 10, 64)
		if err == nil && (ids == nil || ids.Contains(id)) {
			out[0], out[1] = min(out[0], id), max(out[1], id)
		}
	}
	return out
}

// pastOverlap records that the read continues at next, after a repeated hour: a split
// from then on starts the new slice there, not inside the hour, and a checkpoint need
// not read the hour again.
func (s *streamRun) pastOverlap(ctx context.Context, emit func(batch) bool, next connector.Window) (connector.Window, error) {
	if !emit(batch{rec: s.builder().NewRecord(), resume: next}) {
		return next, context.Cause(ctx)
	}
	return next, nil
}

// refresh takes the stream's current columns: another reader may have found one that
// NetSuite refuses.
func (s *streamRun) refresh() {
	if s.cols == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.out = s.cols.table
	s.query.Table = s.cols.table
}

func (s *streamRun) addRequests(n int64) {
	s.mu.Lock()
	s.res.Requests += n
	s.mu.Unlock()
}

func (s *streamRun) releaseBuilder() {
	if s.b != nil {
		s.b.Release()
		s.b = nil
	}
}

// builder returns the builder for the stream's current columns: a new one after NetSuite
// refused a column, so that the batches from then on have one column less.
func (s *streamRun) builder() *schema.Builder {
	if s.b != nil && len(s.b.Schema().Fields()) != len(s.out.Columns) {
		s.b.Release()
		s.b = nil
	}
	if s.b == nil {
		s.b = schema.NewBuilder(s.opts.Mem, s.out, s.opts.Location)
	}
	return s.b
}

// firstPage runs the first page (limit rows at offset 0) of the keyset query of window w.
// Columns NetSuite refuses are dropped (remembered in the state, reported, and absent
// from the files from this page on: a missing column is not a column of NULLs); the key
// and the cursor cannot be dropped.
func (s *streamRun) firstPage(ctx context.Context, w connector.Window, limit int) (*connector.Page, error) {
	t := s.query.Table
	d := &connector.ColumnDropper{
		Querier: s.src,
		Build: func(cols []schema.Column) (string, error) {
			q := s.query
			q.Table.Columns = cols
			return connector.BuildQuery(q, w, s.opts.Location)
		},
		Required: func(c schema.Column) bool { return c.Name == t.PrimaryKey || c.Name == t.Cursor },
	}
	page, _, dropped, err := d.Run(ctx, t.Columns, limit)
	s.addRequests(d.Requests)
	if len(dropped) > 0 && s.cols == nil {
		// Deletions select only what a tombstone needs.
		dc := dropped[0]
		return nil, fmt.Errorf("%w: NetSuite refuses %s.%s: %s", connector.ErrConfig, t.Name, dc.Column.Name, dc.Reason)
	}
	for _, dc := range dropped {
		if serr := s.dropColumn(dc); serr != nil {
			return nil, serr
		}
	}
	s.refresh()
	return page, err
}

// dropColumn drops a column NetSuite refused, unless another reader of the stream has
// dropped it already.
func (s *streamRun) dropColumn(dc connector.Dropped) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.cols.table.Column(dc.Column.Name); !ok {
		return nil
	}
	return s.cols.drop(dc.Column, dc.Reason)
}

func (s *streamRun) step(name string) error {
	if s.opts.stepHook == nil {
		return nil
	}
	return s.opts.stepHook(name)
}

// pageRows are a page's rows column by column, with the keyset's columns found.
type pageRows struct {
	*schema.Items
	idKey, cursorKey, tieKey int
}

// rowsOf returns page's rows column by column (a Source that ignored ItemsContext, or a
// query that did not ask for it, filled Items).
func (s *streamRun) rowsOf(page *connector.Page) pageRows {
	it := page.Cols
	if it == nil {
		it = schema.ItemsOf(page.Items)
	}
	t := s.query.Table
	rows := pageRows{Items: it, idKey: it.Index(t.PrimaryKey), cursorKey: it.Index(t.Cursor), tieKey: -1}
	if s.query.Tie != "" {
		rows.tieKey = it.Index(s.query.Tie)
	}
	return rows
}

func (r pageRows) id(i int) string     { v, _ := r.Get(i, r.idKey); return v }
func (r pageRows) cursor(i int) string { v, _ := r.Get(i, r.cursorKey); return v }
func (r pageRows) tie(i int) string    { v, _ := r.Get(i, r.tieKey); return v }

// convert appends the first n keyset-ordered rows (none in a repeated hour:
// splitAtOverlap cut them off) to b and returns the keyset position of the last one. Rows
// outside ids (a slice narrowed by a split while its page was on the way) belong to
// another slice: they move the position but are not appended.
func (s *streamRun) convert(b *schema.Builder, rows pageRows, n int, after *connector.Keyset, ids *connector.IDRange) (connector.Keyset, error) {
	var last connector.Keyset
	if after != nil {
		last = *after
	}
	fixed := s.fixed
	if fixed != nil {
		// The page's rows were read together: one extraction instant for all of them.
		fixed = maps.Clone(fixed)
		fixed[connector.ExtractedAtColumn] = time.Now().UTC().Format(time.RFC3339Nano)
	}
	for i := range n {
		id, cursor := rows.id(i), rows.cursor(i)
		at, _, ok := schema.WallInstants(cursor, s.opts.Location)
		if !ok {
			// Append names the stream, id and column of a cursor that does not parse.
			if err := b.Append(s.toRow(rows.RawRow(i))); err != nil {
				return last, err
			}
			return last, fmt.Errorf("row %d (id %s) has no %s although the query filters on it", i, id, s.query.Table.Cursor)
		}
		num, perr := strconv.ParseInt(id, 10, 64)
		if perr != nil || ids == nil || ids.Contains(num) {
			// Append names the stream and column of an id that does not parse.
			var err error
			if fixed != nil {
				err = b.AppendItemAt(rows.Items, i, at, fixed)
			} else {
				err = b.AppendAt(s.toRow(rows.RawRow(i)), at)
			}
			if err != nil {
				return last, err
			}
		}
		k := connector.Keyset{Cursor: cursor, ID: num, Tie: rows.tie(i)}
		// Outside a repeated hour the cursor text is fixed-width and unambiguous, so keyset
		// order is text order: every row must come strictly after the one before, or a page
		// that NetSuite repeated would be read again and again.
		if (after != nil || i > 0) && !k.After(last) {
			return last, fmt.Errorf("row %d %s does not come after the keyset position %s: NetSuite repeated a page or did not honour the ORDER BY", i, describe(&k), describe(&last))
		}
		last = k
	}
	return last, nil
}

func describe(k *connector.Keyset) string {
	if k == nil {
		return "the start of the window"
	}
	if k.Tie != "" {
		return fmt.Sprintf("(%s, id %d, %s)", k.Cursor, k.ID, k.Tie)
	}
	return fmt.Sprintf("(%s, id %d)", k.Cursor, k.ID)
}

// write consumes batches, rolling files at FileRows and checkpointing after each commit.
// It keeps the pass as the batches it has written describe it — the head's or each
// slice's position, the plan, the splits — and a checkpoint saves that pass once the
// file holding those rows is durable, so a crash at any point resumes from rows that are
// already durable. A batch whose schema differs from the open file's (NetSuite refused a
// column mid-pass) starts a new file: each file has one schema.
func (s *streamRun) write(st state.Stream, pages <-chan batch) (state.Stream, error) {
	var f *sink.File
	var fileSchema *arrow.Schema
	defer func() {
		if f != nil {
			f.Abort()
		}
	}()
	pend := *st.Pass
	pend.Slices = slices.Clone(pend.Slices)
	headDone := false
	var expect expectation
	for b := range pages {
		if b.rec != nil && f != nil && b.rec.NumRows() > 0 && !b.rec.Schema().Equal(fileSchema) {
			// The open file holds every row the pending positions cover.
			next, err := s.commit(st, f, pend, false)
			f = nil
			if err != nil {
				b.rec.Release()
				return st, err
			}
			st = next
		}
		if b.rec != nil && b.rec.NumRows() > 0 {
			if f == nil {
				var err error
				if f, err = s.sink.Create(fileContext, s.stream, b.rec.Schema()); err != nil {
					b.rec.Release()
					return st, err
				}
				fileSchema = b.rec.Schema()
			}
			s.collect.add(b.rec, s.query.Table.PrimaryKey)
			rows := b.rec.NumRows()
			err := f.Write(b.rec)
			b.rec.Release()
			if err != nil {
				return st, err
			}
			left := int64(-1)
			if b.hasLeft {
				left = b.left
			}
			s.opts.progress.add(s.stream, rows, 1, expect.batch(b.slice, rows, left))
		} else if b.rec != nil {
			b.rec.Release()
		}
		if err := apply(&pend, b); err != nil {
			return st, fmt.Errorf("%s: %w", s.out.Name, err)
		}
		headDone = headDone || (b.slice < 0 && b.final)
		final := headDone
		if len(pend.Slices) > 0 {
			final = !slices.ContainsFunc(pend.Slices, func(sl state.Slice) bool { return !sl.Done })
		}
		if !final && (f == nil || f.Rows() < s.opts.FileRows) {
			continue
		}
		next, err := s.commit(st, f, pend, final)
		f = nil
		if err != nil {
			return st, err
		}
		st = next
		if final {
			return st, nil
		}
	}
	return st, nil
}

// apply records in p what batch b says about the pass.
func apply(p *state.Pass, b batch) error {
	switch {
	case b.plan != nil:
		p.Slices = slices.Clone(b.plan)
	case b.split:
		if b.slice >= len(p.Slices) {
			return fmt.Errorf("split of slice %d of %d", b.slice, len(p.Slices))
		}
		v := &p.Slices[b.slice]
		n := *v
		n.From, n.Done = b.at, false
		v.Until = b.at
		p.Slices = append(p.Slices, n)
	case b.slice < 0:
		p.Lower, p.AfterCursor, p.AfterID, p.AfterTie = b.resume.Lower, "", 0, ""
		if b.resume.After != nil {
			p.AfterCursor, p.AfterID, p.AfterTie = b.resume.After.Cursor, b.resume.After.ID, b.resume.After.Tie
		}
	default:
		if b.slice >= len(p.Slices) {
			return fmt.Errorf("batch of slice %d of %d", b.slice, len(p.Slices))
		}
		sl := &p.Slices[b.slice]
		sl.Lower, sl.AfterCursor, sl.AfterID, sl.Done = b.resume.Lower, "", 0, b.final
		if b.resume.After != nil {
			sl.AfterCursor, sl.AfterID = b.resume.After.Cursor, b.resume.After.ID
		}
	}
	return nil
}

// commit makes f durable (if there is one) and then saves the checkpoint: pend is the
// pass as the written batches left it, final ends the pass at its upper bound.
func (s *streamRun) commit(st state.Stream, f *sink.File, pend state.Pass, final bool) (state.Stream, error) {
	next := st
	p := pend
	p.Slices = slices.Clone(pend.Slices)
	p.Rows = st.Pass.Rows
	if f != nil {
		rc, err := f.Commit()
		if err != nil {
			return st, err
		}
		s.log.Info("file written", "url", rc.URL, "rows", rc.Rows, "bytes", rc.Bytes)
		p.Rows += rc.Rows
		next.RowsTotal += rc.Rows
		next.FilesTotal++
		*s.written += rc.Rows
		s.res.Files++
	}
	next.Pass = &p
	if final {
		next.Watermark = next.Pass.Upper
		next.Pass = nil
	}
	next.UpdatedAt = time.Now().UTC()
	if err := s.state.Save(s.key, next); err != nil {
		return st, err
	}
	return next, nil
}
