package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"

	"github.com/extract-dev/extract/connector"
	"github.com/extract-dev/extract/schema"
	"github.com/extract-dev/extract/sink"
	"github.com/extract-dev/extract/state"
)

// The deletions of every record stream of a run are read by one keyset query over
// deletedrecord, in (deleteddate, recordid, type) order (entity and activity ids can
// collide, the type cannot), so a quiet run pays one request for all of them rather
// than one per stream. Each row becomes a tombstone in its own stream's files — a row
// with the stream's schema carrying id, lastmodifieddate = the deletion time and
// _deleted = true — so a warehouse applies it with the stream's merge rule.
//
// Each stream keeps its own state entry (DeletionsKey): its watermark, and the shared
// pass while one is unfinished. The query reads from the lowest lower bound among the
// streams (watermark − look-back, or the start date, or all history); rows below a
// stream's own bound are not written for it. Files roll when FileRows rows (of all
// streams together) were read; at each roll every open file is committed and then all
// the entries are saved in one atomic write, so a crash anywhere resumes from rows that are
// durable for every stream.
//
// An unfinished pass is resumed when every stream's entry holds the same one (a crash
// of this reader). Anything else — entries of an earlier version that read each
// stream's deletions with its own query, one of them stopped inside its pass, or a
// stream new to the run — starts a fresh pass from the lowest bound, which covers every
// unfinished pass (rows are written again rather than skipped).

// deletionRow is what the reader's batches hold: one deletedrecord row, its cursor at
// its exact instant (in a repeated hour too: the overlap reader decides it).
var deletionRow = schema.Table{Name: "deletedrecord", PrimaryKey: "id", Cursor: "lastmodifieddate", Columns: []schema.Column{
	{Name: "id", Kind: schema.Integer}, {Name: "lastmodifieddate", Kind: schema.DateTime}, {Name: "type", Kind: schema.Text},
}}

// preparedStream is a record stream planned before the run's goroutines start: the
// deletions reader writes into its directory with its columns.
type preparedStream struct {
	cols *streamColumns
	log  *slog.Logger
}

// deletionsRun reads the deletions of the run's record streams.
type deletionsRun struct {
	opts    Options
	sink    *sink.Sink
	store   *state.Store
	log     *slog.Logger
	targets []*deletionTarget // in the run's stream order
	byName  map[string]*deletionTarget
	reader  streamRun    // the query; its batches are deletionRow records
	res     StreamResult // the reader's: only Requests is used

	pass       state.Pass // the pass being read
	collecting bool       // the pass is read whole in this run: feed the children
	// unsaved is how many rows were read since the last checkpoint: those in the open
	// files, and those below their stream's bound (a stream new to the run can make the
	// query read a long history that the others skip; its position is saved too).
	unsaved int64
}

// deletionTarget is one stream's share of the deletions.
type deletionTarget struct {
	name     string
	key      string
	cols     *streamColumns
	log      *slog.Logger
	st       state.Stream // the entry as last saved (or loaded)
	lower    time.Time    // rows deleted before it are not written for this stream
	passRows int64        // rows written in the current pass (with those of earlier runs)

	f *sink.File      // the open file, if any
	b *schema.Builder // its builder, for the schema the file was created with

	deleted, files int64
	resumed        bool

	feed     *parentFeed // the child streams waiting for this stream's deleted ids, if any
	feedFull bool        // more than the feed holds: the children ask NetSuite
}

// newDeletions plans the deletions of streams (record streams, prepared).
func (r *Runner) newDeletions(src Source, opts Options, now time.Time, streams []string, prepared map[string]preparedStream) (*deletionsRun, error) {
	q, err := connector.AllDeletions(streams)
	if err != nil {
		return nil, err
	}
	log := opts.Logger.With("part", "deletions")
	d := &deletionsRun{opts: opts, sink: r.Sink, store: r.State, log: log, byName: map[string]*deletionTarget{}}
	d.reader = streamRun{opts: opts, src: src, mu: &sync.Mutex{}, now: now, res: &d.res, log: log, stream: deletionRow.Name, out: deletionRow,
		query: q, toRow: func(row schema.RawRow) schema.RawRow {
			return schema.RawRow{"id": row["recordid"], "lastmodifieddate": row["deleteddate"], "type": row["type"]}
		}}
	for _, name := range streams {
		p := prepared[name]
		t := &deletionTarget{name: name, key: DeletionsKey(name), cols: p.cols, log: p.log.With("part", "deletions"),
			feed: opts.deletedFeeds[name]}
		t.st, _ = r.State.Stream(t.key)
		if opts.FullRefresh {
			if !t.st.Watermark.IsZero() || t.st.Pass != nil {
				t.log.Info("full refresh: ignoring the saved watermark", "watermark", t.st.Watermark)
			}
			t.st.Watermark, t.st.Pass = time.Time{}, nil
		}
		t.resumed = t.st.Pass != nil
		d.targets = append(d.targets, t)
		d.byName[name] = t
	}
	return d, nil
}

// run finishes the streams' unfinished pass, then reads a new one up to NetSuite's clock.
func (d *deletionsRun) run(ctx context.Context) error {
	defer func() {
		for _, t := range d.targets {
			t.feed.close()
		}
	}()
	if p, ok := d.shared(); ok {
		d.log.Info("resuming an unfinished pass", "lower", p.Lower, "upper", p.Upper, "after", p.AfterCursor, "after_id", p.AfterID, "after_type", p.AfterTie)
		if err := d.read(ctx, p); err != nil {
			return err
		}
	} else if d.resumedAny() {
		d.log.Info("unfinished deletion passes that differ between streams (or from an earlier version): reading again from the lowest bound")
	}
	if p, ok := d.newPass(); ok {
		d.collecting = true
		if err := d.read(ctx, p); err != nil {
			return err
		}
		for _, t := range d.targets {
			if t.feed != nil && !t.feedFull {
				t.feed.lower, t.feed.upper, t.feed.ok = p.Lower, p.Upper, true
				t.feed.close()
			}
		}
	}
	return nil
}

func (d *deletionsRun) resumedAny() bool {
	for _, t := range d.targets {
		if t.resumed {
			return true
		}
	}
	return false
}

// shared returns the unfinished pass every stream's entry holds, if they hold the same.
func (d *deletionsRun) shared() (state.Pass, bool) {
	var p *state.Pass
	for _, t := range d.targets {
		q := t.st.Pass
		if q == nil || (p != nil && !samePosition(*p, *q)) {
			return state.Pass{}, false
		}
		p = q
	}
	return *p, true
}

// samePosition: the same window and keyset position (the row counts are per stream).
func samePosition(a, b state.Pass) bool {
	a.Rows, b.Rows = 0, 0
	return a.Lower.Equal(b.Lower) && a.Upper.Equal(b.Upper) && a.AfterCursor == b.AfterCursor && a.AfterID == b.AfterID && a.AfterTie == b.AfterTie
}

// lowerOf is a stream's lower bound: its watermark less the look-back, else the start
// date, else none (all history). Like the record passes', it is kept off ambiguous
// wall times.
func (d *deletionsRun) lowerOf(st state.Stream) time.Time {
	loc := d.opts.Location
	switch {
	case !st.Watermark.IsZero():
		return connector.SafeBound(st.Watermark.Add(-d.opts.Lookback), loc)
	case !d.opts.StartDate.IsZero():
		return connector.SafeBound(d.opts.StartDate, loc)
	}
	return time.Time{}
}

// newPass plans a pass from the lowest of the streams' lower bounds up to NetSuite's clock.
func (d *deletionsRun) newPass() (state.Pass, bool) {
	upper := connector.SafeBound(d.reader.now, d.opts.Location)
	var lower time.Time
	for i, t := range d.targets {
		if l := d.lowerOf(t.st); i == 0 || l.Before(lower) {
			lower = l
		}
	}
	if !lower.IsZero() && !upper.After(lower) {
		return state.Pass{}, false // NetSuite's clock is behind every watermark: nothing new can exist
	}
	return state.Pass{Lower: lower, Upper: upper}, true
}

// read reads pass p to its end, checkpointing every stream after each roll of files.
func (d *deletionsRun) read(ctx context.Context, p state.Pass) error {
	d.pass = p
	for _, t := range d.targets {
		t.lower = d.lowerOf(t.st)
		t.passRows = 0
		if t.st.Pass != nil && samePosition(*t.st.Pass, p) {
			t.passRows = t.st.Pass.Rows
		}
	}
	// Never sliced (it has no columns to plan): one reader, batches of the head only, one
	// page fetched ahead as for records.
	return d.reader.readWrite(ctx, p, 2, d.write)
}

// write routes each batch's rows to their streams' files and commits them all (then
// the checkpoint) once FileRows rows were read or the pass ends.
func (d *deletionsRun) write(pages <-chan batch) error {
	defer d.abort()
	for b := range pages {
		d.unsaved += b.rec.NumRows()
		err := d.route(b.rec)
		b.rec.Release()
		if err != nil {
			return err
		}
		if !b.final && d.unsaved < d.opts.FileRows {
			continue
		}
		if err := d.commit(b.resume, b.final); err != nil {
			return err
		}
	}
	return nil
}

// route appends rec's rows as tombstones to their streams' open files.
func (d *deletionsRun) route(rec arrow.Record) error {
	if rec.NumRows() == 0 {
		return nil
	}
	ids, ok1 := rec.Column(0).(*array.Int64)
	ats, ok2 := rec.Column(1).(*array.Timestamp)
	types, ok3 := rec.Column(2).(*array.String)
	if !ok1 || !ok2 || !ok3 {
		return fmt.Errorf("deletions: unexpected batch schema %s", rec.Schema()) // unreachable: deletionRow
	}
	for i := 0; i < int(rec.NumRows()); i++ {
		typ := types.Value(i)
		name, _ := connector.DeletedStream(typ)
		t := d.byName[name]
		if t == nil {
			return fmt.Errorf("%w: deletedrecord: id %d has type %q, which the query did not ask for", connector.ErrData, ids.Value(i), typ)
		}
		at := time.UnixMicro(int64(ats.Value(i))).UTC()
		if d.collecting && t.feed != nil && !t.feedFull {
			t.feedFull = !t.feed.addDeleted(ids.Value(i), at)
		}
		if at.Before(t.lower) {
			continue // below the stream's own bound: read for another stream
		}
		if t.f == nil {
			if err := d.open(t); err != nil {
				return err
			}
		}
		wall := at.In(d.opts.Location).Format(schema.DateTimeLayout) // AppendAt takes at for it
		row := d.opts.tombstone(schema.RawRow{"recordid": strconv.FormatInt(ids.Value(i), 10), "deleteddate": wall}, time.Now())
		if err := t.b.AppendAt(row, at); err != nil {
			return fmt.Errorf("%w: %s: %w", connector.ErrData, t.name, err)
		}
	}
	for _, t := range d.targets {
		if t.b == nil || t.b.Len() == 0 {
			continue
		}
		out := t.b.NewRecord()
		rows := out.NumRows()
		err := t.f.Write(out)
		out.Release()
		if err != nil {
			return err
		}
		d.opts.progress.add(t.name, rows, 0, -1)
	}
	return nil
}

// open starts a tombstone file for t with the stream's columns as they are now: the
// records may lose a column NetSuite refuses while this file is open, but each file
// keeps the one schema it was created with.
func (d *deletionsRun) open(t *deletionTarget) error {
	b := schema.NewBuilder(d.opts.Mem, t.cols.current(), d.opts.Location)
	f, err := d.sink.Create(fileContext, t.name, b.Schema())
	if err != nil {
		b.Release()
		return err
	}
	t.f, t.b = f, b
	return nil
}

// commit makes every open file durable, then saves every stream's entry in one write:
// resume is where the pass continues, final ends it at its upper bound.
func (d *deletionsRun) commit(resume connector.Window, final bool) error {
	entries := make(map[string]state.Stream, len(d.targets))
	rows := map[string]int64{}
	for _, t := range d.targets {
		next := t.st
		if t.f != nil {
			rc, err := t.f.Commit()
			t.close()
			if err != nil {
				return err
			}
			t.log.Info("file written", "url", rc.URL, "rows", rc.Rows, "bytes", rc.Bytes)
			t.deleted += rc.Rows
			t.files++
			next.RowsTotal += rc.Rows
			next.FilesTotal++
			rows[t.name] = rc.Rows
			if err := d.reader.step("deletions-file-committed"); err != nil {
				return err
			}
		}
		p := d.pass
		p.Lower, p.AfterCursor, p.AfterID, p.AfterTie, p.Rows = resume.Lower, "", 0, "", t.passRows+rows[t.name]
		if resume.After != nil {
			p.AfterCursor, p.AfterID, p.AfterTie = resume.After.Cursor, resume.After.ID, resume.After.Tie
		}
		next.Pass = &p
		if final {
			if p.Upper.After(next.Watermark) {
				next.Watermark = p.Upper
			}
			next.Pass = nil
		}
		next.UpdatedAt = time.Now().UTC()
		entries[t.key] = next
	}
	d.unsaved = 0
	if err := d.store.SaveAll(entries); err != nil {
		return err
	}
	for _, t := range d.targets {
		t.st = entries[t.key]
		t.passRows += rows[t.name]
	}
	return nil
}

// close forgets t's file (committed or aborted) and releases its builder.
func (t *deletionTarget) close() {
	t.f = nil
	if t.b != nil {
		t.b.Release()
		t.b = nil
	}
}

// abort removes the files not committed (their rows are read again by the next run).
func (d *deletionsRun) abort() {
	for _, t := range d.targets {
		if t.f != nil {
			t.f.Abort()
		}
		t.close()
	}
	d.unsaved = 0
}

// report adds each stream's tombstones and files to its result; unavailable marks them
// all: the account lacks deletedrecord or the role may not read it.
func (d *deletionsRun) report(results []StreamResult, unavailable bool) {
	for i := range results {
		t := d.byName[results[i].Stream]
		if t == nil {
			continue
		}
		results[i].Deleted += t.deleted
		results[i].Files += t.files
		results[i].Resumed = results[i].Resumed || t.resumed
		results[i].DeletionsUnavailable = unavailable
	}
}
