package pipeline

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"slices"
	"strconv"
	"time"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/extract-dev/extract/connector"
	"github.com/extract-dev/extract/schema"
	"github.com/extract-dev/extract/sink"
	"github.com/extract-dev/extract/state"
)

// Child streams — address-book lines and subsidiary memberships — are read differently
// from records, because NetSuite neither stamps every change to them nor records their
// removal:
//
//   - A full scan reads every line in (parent, line) key order and compares it with the
//     stream's line index (state.LineIndex): a new or changed line is written, a line the
//     index holds but NetSuite no longer has gets a tombstone. The first run, a full
//     refresh, and every FullScanInterval are scans; a scan checkpoints after each file
//     and resumes where it stopped.
//   - An incremental pass reads three small windows since the watermark: lines whose own
//     lastmodifieddate moved (an address edited in place), the parents modified (a line
//     added, removed or relabelled is saved through its parent), and the parents deleted.
//     The lines of modified and deleted parents are compared with the index as in a scan.
//     A quiet day costs those three queries, or one with the parent stream in the run
//     (feed.go: the parent's pass and the run's deletions reader hand the parents over). The pass writes its files, then the next
//     index generation, then the checkpoint; stopped before, it is read again.
//
// Every row carries _extracted_at; merged by key, the latest _extracted_at wins and a
// tombstone wins a tie.

// DefaultFullScanInterval bounds how long a change NetSuite does not stamp (a line
// removed without its parent's lastmodifieddate moving) takes to show.
const DefaultFullScanInterval = 24 * time.Hour

// childBatchRows is how many rows are converted before they go to the file.
const childBatchRows = 1000

var errTooManyRows = errors.New("more than 100,000 rows in one window")

// childRun is one run of one child stream.
type childRun struct {
	opts  Options
	src   Source
	sink  *sink.Sink
	store *state.Store
	now   time.Time
	res   *StreamResult
	log   *slog.Logger
	spec  connector.Child
	cols  *streamColumns
	index *state.LineIndex

	b            *schema.Builder
	f            *sink.File
	fileSchema   *arrow.Schema
	fileKeys     []state.LineKey // keys of the live rows in the open file and batch
	fileRows     int64           // live rows in the open file and batch
	fileDead     int64           // tombstones in the open file and batch
	gen          int64           // the index generation the output matches at the start
	onCommit     func() error    // after each committed file (the scan's checkpoint)
	anyRows      bool
	counted      int64 // rows and tombstones already added to the state's totals
	countedFiles int64
}

// uncounted is what this run wrote that the state's totals do not hold yet.
func (c *childRun) uncounted() (rows, files int64) {
	rows, files = c.res.Rows+c.res.Deleted-c.counted, c.res.Files-c.countedFiles
	c.counted, c.countedFiles = c.res.Rows+c.res.Deleted, c.res.Files
	return rows, files
}

func (r *Runner) runChild(ctx context.Context, src Source, opts Options, now time.Time, name string, catalog []connector.CustomField, res *StreamResult) error {
	spec, _ := connector.ChildOf(name)
	cols, log, err := r.prepare(opts, name, catalog)
	if err != nil {
		return err
	}
	defer cols.report(res)
	c := &childRun{opts: opts, src: src, sink: r.Sink, store: r.State, now: now, res: res, log: log, spec: spec, cols: cols,
		index: r.State.LineIndex(name)}
	defer c.close()
	st, _ := r.State.Stream(name)
	res.From, res.To = st.Watermark, st.Watermark
	c.gen = st.IndexGen
	interval := opts.FullScanInterval
	if interval <= 0 {
		interval = DefaultFullScanInterval
	}
	switch {
	case st.Scan != nil:
		// Finish the full read that stopped, then catch up with what changed since it
		// began, as a record stream finishes its pass and starts a new one.
		res.Resumed = true
		if err = c.scan(ctx, st); err == nil {
			st, _ = r.State.Stream(name)
			c.gen = st.IndexGen
			err = c.incremental(ctx, st)
		}
	case st.Watermark.IsZero() || opts.FullRefresh || now.Sub(st.LastScan) >= interval:
		err = c.scan(ctx, st)
	default:
		err = c.incremental(ctx, st)
	}
	var unavailable *tableUnavailable
	if errors.As(err, &unavailable) {
		res.Unavailable = unavailable.Error()
		log.Warn("the stream's table cannot be read (a feature that is off, such as OneWorld, or a missing permission); skipping it", "error", unavailable.Error())
		return nil
	}
	if err == nil {
		if st, ok := r.State.Stream(name); ok {
			res.To = st.Watermark
		}
	}
	return err
}

// tableUnavailable is NetSuite refusing the stream's first query for a reason no column
// explains: the table is missing (no OneWorld) or the role may not read it.
type tableUnavailable struct{ err error }

func (e *tableUnavailable) Error() string { return e.err.Error() }
func (e *tableUnavailable) Unwrap() error { return e.err }

func (c *childRun) close() {
	if c.f != nil {
		c.f.Abort()
		c.f = nil
	}
	if c.b != nil {
		c.b.Release()
		c.b = nil
	}
}

func (c *childRun) table() schema.Table { return c.cols.table }

func (c *childRun) required(col schema.Column) bool {
	return col.Name == c.spec.ParentKey || col.Name == c.spec.LineKey
}

// query runs the first page of a query over the stream's columns, dropping the columns
// NetSuite refuses like a record stream does.
func (c *childRun) query(ctx context.Context, build func(cols []schema.Column) (string, error), limit int) (*connector.Page, error) {
	d := &connector.ColumnDropper{Querier: c.src, Build: build, Required: c.required}
	page, _, dropped, err := d.Run(ctx, c.table().Columns, limit)
	c.res.Requests += d.Requests
	for _, dc := range dropped {
		if serr := c.cols.drop(dc.Column, dc.Reason); serr != nil {
			return nil, serr
		}
	}
	if err != nil && errors.Is(err, connector.ErrConfig) && !c.anyRows {
		return nil, &tableUnavailable{err}
	}
	c.anyRows = true
	return page, err
}

// paged runs a query whose pages are read by offset: a window or a list of parents,
// never more than 100,000 rows. Rows can leave such a query while it is read (a record
// modified again moves past the window), which would shift later pages, so a page whose
// totalResults differs from the first page's starts the read over (rows handed to each
// twice are written twice, which the merge rule absorbs).
func (c *childRun) paged(ctx context.Context, build func(cols []schema.Column) (string, error), columns bool, each func(schema.RawRow) error) error {
	for attempt := 0; ; attempt++ {
		var first *connector.Page
		var err error
		if columns {
			first, err = c.query(ctx, build, connector.PageSize)
		} else {
			first, err = c.plain(ctx, build, 0)
		}
		if err != nil {
			return err
		}
		if first.TotalResults > 100_000 {
			return errTooManyRows
		}
		moved := false
		page := first
		for offset := 0; ; {
			for _, row := range page.Items {
				if err := each(row); err != nil {
					return err
				}
			}
			if !page.HasMore {
				break
			}
			offset += connector.PageSize
			if page, err = c.plain(ctx, build, offset); err != nil {
				return err
			}
			if page.TotalResults != first.TotalResults {
				moved = true
				break
			}
		}
		if !moved {
			return nil
		}
		if attempt >= 3 {
			return fmt.Errorf("%w: %s: rows kept changing while a window was read", connector.ErrTransient, c.spec.Name)
		}
		c.log.Info("rows changed while a window was read; reading it again")
	}
}

// plain runs a page of a query over the stream's current columns, as they are.
func (c *childRun) plain(ctx context.Context, build func(cols []schema.Column) (string, error), offset int) (*connector.Page, error) {
	q, err := build(c.table().Columns)
	if err != nil {
		return nil, err
	}
	c.res.Requests++
	p, err := c.src.SuiteQL(ctx, q, connector.PageSize, offset)
	if err == nil {
		c.opts.progress.add(c.spec.Name, 0, 1, -1)
	}
	if err == nil {
		err = c.step("page-fetched")
	}
	if err != nil && !c.anyRows && errors.Is(err, connector.ErrConfig) {
		return nil, &tableUnavailable{err}
	}
	c.anyRows = true
	return p, err
}

func (c *childRun) step(name string) error {
	if c.opts.stepHook == nil {
		return nil
	}
	return c.opts.stepHook(name)
}

// window reads a time window with paged, splitting it in halves while it holds more
// rows than one query can serve.
func (c *childRun) window(ctx context.Context, lower, upper time.Time, build func(cols []schema.Column, lower, upper time.Time) (string, error), columns bool, each func(schema.RawRow) error) error {
	err := c.paged(ctx, func(cols []schema.Column) (string, error) { return build(cols, lower, upper) }, columns, each)
	if !errors.Is(err, errTooManyRows) {
		return err
	}
	from := lower
	if from.IsZero() {
		from = time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC) // before any NetSuite account
	}
	mid := connector.SafeBound(from.Add(upper.Sub(from)/2), c.opts.Location)
	if !mid.After(from) || !upper.After(mid) {
		return fmt.Errorf("%w: %s: more than 100,000 rows share one second, which SuiteQL cannot page through", connector.ErrData, c.spec.Name)
	}
	if err := c.window(ctx, lower, mid, build, columns, each); err != nil {
		return err
	}
	return c.window(ctx, mid, upper, build, columns, each)
}

// keyOf reads a row's (parent, line) key.
func (c *childRun) keyOf(row schema.RawRow) (state.LineKey, error) {
	p, err1 := strconv.ParseInt(row[c.spec.ParentKey], 10, 64)
	l, err2 := strconv.ParseInt(row[c.spec.LineKey], 10, 64)
	if err1 != nil || err2 != nil {
		return state.LineKey{}, fmt.Errorf("%w: %s: a row's key (%s %q, %s %q) is not two whole numbers", connector.ErrData, c.spec.Name,
			c.spec.ParentKey, row[c.spec.ParentKey], c.spec.LineKey, row[c.spec.LineKey])
	}
	return state.LineKey{Parent: p, Line: l}, nil
}

// hashOf fingerprints a row's values in the current columns, to tell a changed line
// from an unchanged one. A column set that changes changes every hash: the next scan
// then writes every line again, with its new columns.
func (c *childRun) hashOf(row schema.RawRow) uint64 {
	h := fnv.New64a()
	for _, col := range c.table().Columns {
		if col.Derived {
			continue
		}
		h.Write([]byte(col.Name))
		if v, ok := row[col.Name]; ok {
			h.Write([]byte{0})
			h.Write([]byte(v))
		} else {
			h.Write([]byte{1})
		}
		h.Write([]byte{2})
	}
	if s := h.Sum64(); s != 0 {
		return s
	}
	return 1 // 0 means unknown
}

// emit adds a live row; tombstone adds a row saying key is gone.
func (c *childRun) emit(row schema.RawRow, key state.LineKey) error {
	row[connector.DeletedColumn] = "F"
	if err := c.append(row); err != nil {
		return err
	}
	c.fileKeys = append(c.fileKeys, key)
	c.fileRows++
	return c.flushIfFull()
}

func (c *childRun) tombstone(key state.LineKey) error {
	row := schema.RawRow{c.spec.ParentKey: strconv.FormatInt(key.Parent, 10), c.spec.LineKey: strconv.FormatInt(key.Line, 10),
		connector.DeletedColumn: "T"}
	if err := c.append(row); err != nil {
		return err
	}
	c.fileDead++
	return c.flushIfFull()
}

func (c *childRun) append(row schema.RawRow) error {
	c.opts.stamp(row, time.Now())
	if c.b != nil && len(c.b.Schema().Fields()) != len(c.table().Columns) {
		// NetSuite refused a column: what is batched goes to the file first.
		if err := c.toFile(); err != nil {
			return err
		}
		c.b.Release()
		c.b = nil
	}
	if c.b == nil {
		c.b = schema.NewBuilder(c.opts.Mem, c.table(), c.opts.Location)
	}
	if err := c.b.Append(row); err != nil {
		return fmt.Errorf("%w: %s: %w", connector.ErrData, c.spec.Name, err)
	}
	return nil
}

// flushIfFull moves a full batch to the file and commits the file once it holds
// FileRows rows.
func (c *childRun) flushIfFull() error {
	if int64(c.b.Len()) < min(childBatchRows, c.opts.FileRows) {
		return nil
	}
	if err := c.toFile(); err != nil {
		return err
	}
	if c.f != nil && c.f.Rows() >= c.opts.FileRows {
		return c.commit()
	}
	return nil
}

// toFile writes the batch to the open file, starting a new one after a schema change.
func (c *childRun) toFile() error {
	if c.b == nil || c.b.Len() == 0 {
		return nil
	}
	rec := c.b.NewRecord()
	defer rec.Release()
	if c.f != nil && !rec.Schema().Equal(c.fileSchema) {
		if err := c.commitFile(); err != nil {
			return err
		}
	}
	if c.f == nil {
		f, err := c.sink.Create(fileContext, c.spec.Name, rec.Schema())
		if err != nil {
			return err
		}
		c.f, c.fileSchema = f, rec.Schema()
	}
	if err := c.f.Write(rec); err != nil {
		return err
	}
	c.opts.progress.add(c.spec.Name, rec.NumRows(), 0, -1)
	return nil
}

// commit writes what is batched and commits the file, then lets the scan checkpoint.
func (c *childRun) commit() error {
	if err := c.toFile(); err != nil {
		return err
	}
	if err := c.commitFile(); err != nil {
		return err
	}
	if c.onCommit != nil {
		return c.onCommit()
	}
	return nil
}

// commitFile makes the open file durable. The keys of its live rows go to the index
// journal first: the output never holds a live row the index cannot name.
func (c *childRun) commitFile() error {
	if c.f == nil {
		return nil
	}
	if err := c.index.Journal(c.gen, c.fileKeys); err != nil {
		return err
	}
	rc, err := c.f.Commit()
	c.f = nil
	if err != nil {
		return err
	}
	c.log.Info("file written", "url", rc.URL, "rows", rc.Rows, "bytes", rc.Bytes)
	c.res.Files++
	c.res.Rows += c.fileRows
	c.res.Deleted += c.fileDead
	c.fileKeys, c.fileRows, c.fileDead = c.fileKeys[:0], 0, 0
	return nil
}

// baseIndex is the index the output matched when the run began — the generation and the
// keys journalled since — as one stream in key order. A journalled key's row may not have
// become durable, so its hash is kept from the generation (or unknown).
type baseIndex struct {
	r       *state.IndexReader
	journal []state.LineKey
	next    *state.LineEntry
	fromGen *state.LineEntry
}

func (c *childRun) openBase(gen int64) (*baseIndex, error) {
	r, err := c.index.Open(gen)
	if err != nil {
		return nil, err
	}
	j, err := c.index.JournalKeys(gen)
	if err != nil {
		r.Close()
		return nil, err
	}
	return &baseIndex{r: r, journal: j}, nil
}

func (x *baseIndex) peek() (*state.LineEntry, error) {
	if x.next != nil {
		return x.next, nil
	}
	if x.fromGen == nil {
		e, ok, err := x.r.Next()
		if err != nil {
			return nil, err
		}
		if ok {
			x.fromGen = &e
		}
	}
	switch {
	case x.fromGen == nil && len(x.journal) == 0:
		return nil, nil
	case x.fromGen == nil || (len(x.journal) > 0 && x.journal[0].Compare(x.fromGen.LineKey) < 0):
		x.next = &state.LineEntry{LineKey: x.journal[0]}
		x.journal = x.journal[1:]
	default:
		x.next = x.fromGen
		x.fromGen = nil
		for len(x.journal) > 0 && x.journal[0] == x.next.LineKey {
			x.journal = x.journal[1:]
		}
	}
	return x.next, nil
}

// take consumes the entry peek returned.
func (x *baseIndex) take() { x.next = nil }

func (x *baseIndex) close() { x.r.Close() }

// scan reads every line in key order against the base index, writing new and changed
// lines and tombstones for lines gone, and builds the next index generation as it goes.
func (c *childRun) scan(ctx context.Context, st state.Stream) error {
	sc := st.Scan
	if sc == nil {
		sc = &state.ScanProgress{Gen: st.IndexGen + 1, Upper: connector.SafeBound(c.now, c.opts.Location)}
		if c.opts.FullRefresh {
			c.log.Info("full refresh: reading every line and writing each again")
		}
	} else {
		committed, err := c.index.Committed(sc.Gen)
		if err != nil {
			return err
		}
		if committed {
			// The read finished and its index generation is in place; the run stopped
			// before the checkpoint that names it.
			c.log.Info("finishing a full read that stopped after its last file")
			return c.finishScan(st, sc)
		}
		c.log.Info("resuming an unfinished full read", "after_parent", sc.After.Parent, "after_line", sc.After.Line)
	}
	base, err := c.openBase(st.IndexGen)
	if err != nil {
		return err
	}
	defer base.close()
	next, err := c.index.Create(sc.Gen, sc.Index)
	if err != nil {
		return err
	}
	defer next.Abort()
	if sc.Started {
		for {
			e, err := base.peek()
			if err != nil {
				return err
			}
			if e == nil || e.Compare(sc.After) > 0 {
				break
			}
			base.take()
		}
	}
	c.onCommit = func() error {
		pos, err := next.Sync()
		if err != nil {
			return err
		}
		sc.Index = pos
		upd := st
		p := *sc
		upd.Scan = &p
		upd.UpdatedAt = time.Now().UTC()
		if err := c.store.Save(c.spec.Name, upd); err != nil {
			return err
		}
		st = upd
		return nil
	}
	rewriteAll := c.opts.FullRefresh && !sc.Started
	// tombstonesBefore writes tombstones for the base lines before key (nil: all).
	tombstonesBefore := func(key *state.LineKey) (*state.LineEntry, error) {
		for {
			e, err := base.peek()
			if err != nil || e == nil {
				return nil, err
			}
			if key != nil && e.Compare(*key) >= 0 {
				return e, nil
			}
			base.take()
			if err := c.tombstone(e.LineKey); err != nil {
				return nil, err
			}
		}
	}
	lines := 0
	for {
		var after *[2]int64
		if sc.Started {
			after = &[2]int64{sc.After.Parent, sc.After.Line}
		}
		page, err := c.query(ctx, func(cols []schema.Column) (string, error) { return c.spec.ScanQuery(cols, after), nil }, connector.PageSize)
		if err != nil {
			return err
		}
		if err := c.step("page-fetched"); err != nil {
			return err
		}
		for _, row := range page.Items {
			key, err := c.keyOf(row)
			if err != nil {
				return err
			}
			if sc.Started && key.Compare(sc.After) <= 0 {
				return fmt.Errorf("%w: %s: line %v does not come after %v: NetSuite did not honour the ORDER BY", connector.ErrData, c.spec.Name, key, sc.After)
			}
			lines++
			e, err := tombstonesBefore(&key)
			if err != nil {
				return err
			}
			h := c.hashOf(row)
			same := e != nil && e.LineKey == key && e.Hash == h
			if e != nil && e.LineKey == key {
				base.take()
			}
			if !same || rewriteAll {
				if err := c.emit(row, key); err != nil {
					return err
				}
			}
			if err := next.Add(state.LineEntry{LineKey: key, Hash: h}); err != nil {
				return err
			}
			sc.After, sc.Started = key, true
		}
		if !page.HasMore {
			break
		}
	}
	if _, err := tombstonesBefore(nil); err != nil {
		return err
	}
	c.onCommit = nil
	if err := c.commit(); err != nil {
		return err
	}
	if err := next.Commit(); err != nil {
		return err
	}
	if err := c.finishScan(st, sc); err != nil {
		return err
	}
	if lines == 0 {
		c.noLinesCheck(ctx)
	}
	return nil
}

// finishScan saves the checkpoint of a full read whose files and index generation are
// durable: the generation becomes the stream's index and the read's bound its watermark.
func (c *childRun) finishScan(st state.Stream, sc *state.ScanProgress) error {
	done := st
	done.Scan, done.IndexGen, done.Watermark, done.LastScan = nil, sc.Gen, sc.Upper, sc.Upper
	rows, files := c.uncounted()
	done.RowsTotal += rows
	done.FilesTotal += files
	done.UpdatedAt = time.Now().UTC()
	if err := c.store.Save(c.spec.Name, done); err != nil {
		return err
	}
	if err := c.index.Prune(sc.Gen, 0); err != nil {
		c.log.Warn("could not remove an old line index generation", "error", err.Error())
	}
	return nil
}

// noLinesCheck warns when an address book is empty although its parents name default
// addresses: a role without the address permission sees no rows rather than an error.
func (c *childRun) noLinesCheck(ctx context.Context) {
	if c.spec.Detail == "" {
		return
	}
	q := fmt.Sprintf("SELECT %s.id FROM %s WHERE %s.defaultbillingaddress IS NOT NULL", c.spec.Parent, c.spec.Parent, c.spec.Parent)
	c.res.Requests++
	p, err := c.src.SuiteQL(ctx, q, 1, 0)
	if err == nil && len(p.Items) > 0 {
		c.res.Warning = "no address-book lines, although " + c.spec.Parent + " records name default addresses: the role probably lacks the permission to read addresses"
		c.log.Warn(c.res.Warning)
	}
}

// incremental reads what changed since the watermark: lines changed in place, and the
// lines of parents modified or deleted, compared with the index.
func (c *childRun) incremental(ctx context.Context, st state.Stream) error {
	loc := c.opts.Location
	lower := connector.SafeBound(st.Watermark.Add(-c.opts.Lookback), loc)
	upper := connector.SafeBound(c.now, loc)
	if !upper.After(lower) {
		return nil
	}
	updates := map[state.LineKey]uint64{}
	removed := map[state.LineKey]bool{}
	if c.spec.HasStamp(c.table().Columns) {
		err := c.window(ctx, lower, upper, func(cols []schema.Column, lo, up time.Time) (string, error) {
			return c.spec.StampedQuery(cols, lo, up, loc)
		}, true, func(row schema.RawRow) error {
			key, err := c.keyOf(row)
			if err != nil {
				return err
			}
			updates[key] = c.hashOf(row)
			return c.emit(row, key)
		})
		if err != nil {
			return err
		}
	}
	var parents []int64
	collect := func(column string) func(schema.RawRow) error {
		return func(row schema.RawRow) error {
			id, err := strconv.ParseInt(row[column], 10, 64)
			if err != nil {
				return fmt.Errorf("%w: %s: parent id %q is not a whole number", connector.ErrData, c.spec.Name, row[column])
			}
			parents = append(parents, id)
			return nil
		}
	}
	if ids, ok := c.opts.feeds[c.spec.Parent].parents(ctx, lower, upper); ok {
		// The parent stream's pass of this run read them.
		parents = append(parents, ids...)
	} else if ctx.Err() != nil {
		return context.Cause(ctx)
	} else {
		changed := c.spec.ChangedParents()
		if err := c.window(ctx, lower, upper, func(_ []schema.Column, lo, up time.Time) (string, error) {
			return connector.BuildQuery(changed, connector.Window{Lower: lo, Upper: up}, loc)
		}, false, collect("id")); err != nil {
			return err
		}
	}
	var err error
	if ids, ok := c.opts.deletedFeeds[c.spec.Parent].deleted(ctx, lower, upper); ok {
		// The run's deletions reader read them.
		parents = append(parents, ids...)
	} else if ctx.Err() != nil {
		return context.Cause(ctx)
	} else {
		deletions, derr := connector.Deletions(c.spec.Parent)
		if derr != nil {
			return derr
		}
		err = c.window(ctx, lower, upper, func(_ []schema.Column, lo, up time.Time) (string, error) {
			return connector.BuildQuery(deletions, connector.Window{Lower: lo, Upper: up}, loc)
		}, false, collect("recordid"))
	}
	var unavailable *tableUnavailable
	if errors.As(err, &unavailable) || errors.Is(err, connector.ErrConfig) {
		c.res.DeletionsUnavailable = true
		c.log.Warn("deleted records cannot be read; lines of deleted parents get their tombstones at the next full read", "error", err.Error())
	} else if err != nil {
		return err
	}
	slices.Sort(parents)
	parents = slices.Compact(parents)
	if err := c.reconcileParents(ctx, parents, updates, removed); err != nil {
		return err
	}
	if err := c.commit(); err != nil {
		return err
	}
	return c.finishIncremental(st, upper, updates, removed)
}

// reconcileParents reads the lines of the given parents (sorted) and compares them with
// the base index: lines new or changed are written, lines gone get tombstones.
func (c *childRun) reconcileParents(ctx context.Context, parents []int64, updates map[state.LineKey]uint64, removed map[state.LineKey]bool) error {
	if len(parents) == 0 {
		return nil
	}
	base, err := c.openBase(c.gen)
	if err != nil {
		return err
	}
	defer base.close()
	for start := 0; start < len(parents); start += 1000 {
		chunk := parents[start:min(start+1000, len(parents))]
		var rows []schema.RawRow
		current := map[state.LineKey]int{}
		err := c.paged(ctx, func(cols []schema.Column) (string, error) { return c.spec.LinesOfQuery(cols, chunk) }, true, func(row schema.RawRow) error {
			key, err := c.keyOf(row)
			if err != nil {
				return err
			}
			current[key] = len(rows)
			rows = append(rows, row)
			return nil
		})
		if err != nil {
			return err
		}
		known := map[state.LineKey]uint64{}
		for {
			e, err := base.peek()
			if err != nil {
				return err
			}
			if e == nil || e.Parent > chunk[len(chunk)-1] {
				break
			}
			base.take()
			if _, ok := slices.BinarySearch(chunk, e.Parent); !ok {
				continue
			}
			known[e.LineKey] = e.Hash
			if _, ok := current[e.LineKey]; !ok {
				removed[e.LineKey] = true
				if err := c.tombstone(e.LineKey); err != nil {
					return err
				}
			}
		}
		for _, row := range rows {
			key, _ := c.keyOf(row)
			h := c.hashOf(row)
			if old, ok := known[key]; ok && old == h {
				continue
			}
			if _, done := updates[key]; done {
				updates[key] = h
				continue // written already, as changed in place
			}
			updates[key] = h
			if err := c.emit(row, key); err != nil {
				return err
			}
		}
	}
	return nil
}

// finishIncremental writes the next index generation — the base with the pass's changes
// — and then the checkpoint. The files are durable already.
func (c *childRun) finishIncremental(st state.Stream, upper time.Time, updates map[state.LineKey]uint64, removed map[state.LineKey]bool) error {
	if len(updates) > 0 || len(removed) > 0 {
		base, err := c.openBase(c.gen)
		if err != nil {
			return err
		}
		defer base.close()
		gen := c.gen + 1
		next, err := c.index.Create(gen, state.IndexPosition{})
		if err != nil {
			return err
		}
		defer next.Abort()
		keys := make([]state.LineKey, 0, len(updates))
		for k := range updates {
			if !removed[k] {
				keys = append(keys, k)
			}
		}
		slices.SortFunc(keys, state.LineKey.Compare)
		for {
			e, err := base.peek()
			if err != nil {
				return err
			}
			for len(keys) > 0 && (e == nil || keys[0].Compare(e.LineKey) < 0) {
				if err := next.Add(state.LineEntry{LineKey: keys[0], Hash: updates[keys[0]]}); err != nil {
					return err
				}
				keys = keys[1:]
			}
			if e == nil {
				break
			}
			base.take()
			entry := *e
			if h, ok := updates[entry.LineKey]; ok {
				entry.Hash = h
				if len(keys) > 0 && keys[0] == entry.LineKey {
					keys = keys[1:] // every key before it was added above
				}
			}
			if removed[entry.LineKey] {
				continue
			}
			if err := next.Add(entry); err != nil {
				return err
			}
		}
		if err := next.Commit(); err != nil {
			return err
		}
		st.IndexGen = gen
	}
	st.Watermark = upper
	rows, files := c.uncounted()
	st.RowsTotal += rows
	st.FilesTotal += files
	st.UpdatedAt = time.Now().UTC()
	if err := c.store.Save(c.spec.Name, st); err != nil {
		return err
	}
	if st.IndexGen != c.gen {
		if err := c.index.Prune(st.IndexGen, 0); err != nil {
			c.log.Warn("could not remove an old line index generation", "error", err.Error())
		}
	}
	return nil
}
