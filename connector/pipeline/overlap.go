package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/extract-dev/extract/connector"
	"github.com/extract-dev/extract/schema"
)

// splitAtOverlap returns how many rows come before the first one whose cursor falls in a
// repeated hour, and that hour.
func (s *streamRun) splitAtOverlap(rows pageRows) (int, *connector.Overlap) {
	for i := range rows.Len() {
		if ov, ok := connector.OverlapOf(rows.cursor(i), s.opts.Location); ok {
			return i, &ov
		}
	}
	return rows.Len(), nil
}

// RecordSource is the optional part of a Source that reads one record's lastModifiedDate
// through NetSuite's REST record API, which gives instants in UTC (connector.Client has
// it). A Source without it still runs: in a repeated hour whose row order does not show
// where the second occurrence starts, cursor instants are then a documented guess.
type RecordSource interface {
	RecordLastModified(ctx context.Context, recordType string, id int64) (time.Time, error)
}

// maxOverlapRereads bounds how often an overlap is read again because rows left it.
const maxOverlapRereads = 5

// recordSlack is how far the record API's lastModifiedDate may lie from an instant SuiteQL
// shows and still name it: the REST value may be rounded to the minute. The two instants
// of a wall time are at least 30 minutes apart, so this cannot confuse them.
const recordSlack = time.Minute

// overlapRow is the key of one row of a repeated hour: the cursor as NetSuite rendered it,
// the id, and the two instants the cursor's wall time names.
type overlapRow struct {
	wall        string
	id          int64
	tie         string // the query's tie-breaker, if it has one
	first, last time.Time
}

// before orders keys as (wall text, id, tie); the fixed-width wall text sorts as time does.
func (a overlapRow) before(b overlapRow) bool {
	return connector.Keyset{Cursor: b.wall, ID: b.id, Tie: b.tie}.After(connector.Keyset{Cursor: a.wall, ID: a.id, Tie: a.tie})
}

// overlapSplit says which rows of a repeated hour, read in (instant, id) order, are in its
// second occurrence: rows[:at] are first-occurrence rows, rows[at:] second.
type overlapSplit struct {
	at    int
	exact bool
	why   string // when not exact: why the record API could not decide
}

// recordMismatch: the record API names neither instant of a row's wall time. Either the
// record changed after its key was read, or the API and SuiteQL disagree (a session zone
// other than the one assumed).
type recordMismatch struct {
	row overlapRow
	at  time.Time
}

func (e *recordMismatch) Error() string {
	return fmt.Sprintf("the REST record API says id %d was last modified at %s, neither %s nor %s (wall time %s)",
		e.row.id, e.at.Format(time.RFC3339), e.row.first.UTC().Format(time.RFC3339), e.row.last.UTC().Format(time.RFC3339), e.row.wall)
}

// rereadError asks for the overlap to be read again from its start; class is the error
// class reported when the rereads run out.
type rereadError struct {
	class  error
	reason string
}

func (e *rereadError) Error() string { return e.reason }

// splitOverlap finds where the second occurrence starts among rows, the keys of a repeated
// hour in (instant, id) order. Within each occurrence the keys increase, so the order
// shows the split exactly when the keys drop once. Without a drop any split fits the text,
// and the record API decides it by binary search: a row whose instant is its later one is
// in the second occurrence, and so is every row after it (O(log n) lookups).
//
// lookup returns a record's instant. When it fails with a configuration or data error (the
// role may not read the record type, the rows have no record API, an unreadable answer),
// the split is a guess — every row without a drop in the first occurrence — and why says
// so. A lookup naming neither instant is a *recordMismatch; keys that drop twice (or
// repeat) are a *rereadError.
func splitOverlap(ctx context.Context, rows []overlapRow, lookup func(context.Context, overlapRow) (time.Time, error)) (overlapSplit, error) {
	drop := -1
	for i := 1; i < len(rows); i++ {
		if rows[i-1].before(rows[i]) {
			continue
		}
		if drop >= 0 || !rows[i].before(rows[i-1]) {
			return overlapSplit{}, &rereadError{class: connector.ErrData, reason: fmt.Sprintf(
				"NetSuite did not return the repeated hour in (instant, id) order: (%s, id %d) follows (%s, id %d)",
				rows[i].wall, rows[i].id, rows[i-1].wall, rows[i-1].id)}
		}
		drop = i
	}
	if drop >= 0 {
		return overlapSplit{at: drop, exact: true}, nil
	}
	lo, hi := 0, len(rows)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		r := rows[mid]
		at, err := lookup(ctx, r)
		if err != nil {
			if errors.Is(err, connector.ErrConfig) || errors.Is(err, connector.ErrData) {
				return overlapSplit{at: len(rows), why: err.Error()}, nil
			}
			return overlapSplit{}, err
		}
		switch {
		case near(at, r.last):
			hi = mid
		case near(at, r.first):
			lo = mid + 1
		default:
			return overlapSplit{}, &recordMismatch{row: r, at: at}
		}
	}
	return overlapSplit{at: lo, exact: true}, nil
}

func near(a, b time.Time) bool {
	d := a.Sub(b)
	return d < recordSlack && d > -recordSlack
}

// readOverlap reads every row in the overlap ov with offset paging between two unambiguous
// bounds, in (instant, id) order, and gives each row's cursor its exact instant.
//
// Phase 1 collects the (wall, id) key of every row — the first page with the full query
// (when it is the only page it serves both phases), later pages with a query of the two
// key columns only — and splitOverlap finds where the second occurrence starts. Phase 2
// pages through the full query again and converts row i at its earlier instant if it is
// before the split, else at its later one.
//
// Rows can leave a past window (updated or deleted) but never enter it, so a totalResults
// that stays the same on every page of both phases proves that both read the same rows in
// the same order; otherwise the overlap is read again (duplicates are allowed, gaps are
// not). It returns the window after the overlap, or nil if ctx ended.
func (s *streamRun) readOverlap(ctx context.Context, w connector.Window, ov connector.Overlap, emit func(batch) bool) (*connector.Window, error) {
	log := s.log
	win := connector.Window{Lower: ov.Start, Upper: ov.End}
	if w.Upper.Before(win.Upper) {
		win.Upper = w.Upper
	}
	keys, err := connector.BuildQuery(s.keyQuery(), win, s.opts.Location)
	if err != nil {
		return nil, err
	}
	log.Info("reading the repeated hour of a clock change as one window", "from", ov.Start, "to", ov.End)
	r := &overlapRead{s: s, w: w, win: win, ov: ov, keys: keys, emit: emit, lookup: s.recordLookup()}
	for attempt := 0; ; attempt++ {
		// Built for each attempt: NetSuite may have refused a column in the last one.
		if r.full, err = connector.BuildQuery(s.query, win, s.opts.Location); err != nil {
			return nil, err
		}
		done, err := r.once(ctx)
		var again *rereadError
		if !errors.As(err, &again) {
			if err != nil || !done {
				return nil, err
			}
			if !r.split.exact {
				log.Warn("cursor instants in the repeated hour may be off by the clock change: neither the row order nor the REST record API tells its two occurrences apart; they are read as the earlier one",
					"from", ov.Start, "to", ov.End, "rows", r.rows, "reason", r.split.why)
			} else {
				log.Info("repeated hour read with exact instants", "rows", r.rows, "second_occurrence_from", r.split.at, "record_lookups", r.lookups)
			}
			return &connector.Window{Lower: win.Upper, Upper: w.Upper}, nil
		}
		if attempt+1 >= maxOverlapRereads {
			return nil, fmt.Errorf("%w: %s: rows in the repeated hour %s kept changing while being read: %s", again.class, s.out.Name, ov.Start.UTC().Format(time.RFC3339), again.reason)
		}
		log.Warn("rows in the repeated hour changed while being read; reading it again", "from", ov.Start, "reason", again.reason)
	}
}

// keyQuery selects only the key of the stream's query: the primary key, the cursor and
// the tie-breaker, if any.
func (s *streamRun) keyQuery() connector.Query {
	q := s.query
	t := q.Table
	pk, _ := t.Column(t.PrimaryKey)
	cur, _ := t.Column(t.Cursor)
	tie, hasTie := t.Column(q.Tie)
	t.Columns = []schema.Column{pk, cur}
	if hasTie {
		t.Columns = append(t.Columns, tie)
	}
	q.Table = t // and the filter and slice of the stream's query
	return q
}

// recordLookup returns how to ask the record API for a row's instant, or a lookup that
// explains (as a configuration error) why it cannot be asked.
func (s *streamRun) recordLookup() func(context.Context, overlapRow) (time.Time, error) {
	table := s.query.Table.Name
	recordType, ok := connector.RecordType(table)
	rs, can := s.src.(RecordSource)
	if !ok || !can {
		reason := fmt.Errorf("%w: %s rows have no REST record API to ask", connector.ErrConfig, table)
		if ok {
			reason = fmt.Errorf("%w: the source cannot read records through the REST record API", connector.ErrConfig)
		}
		return func(context.Context, overlapRow) (time.Time, error) { return time.Time{}, reason }
	}
	// Lookups are not counted in StreamResult.Requests, which counts SuiteQL queries; the
	// client's own counters (logged at the end of a run) include them.
	return func(ctx context.Context, r overlapRow) (time.Time, error) {
		return rs.RecordLastModified(ctx, recordType, r.id)
	}
}

// overlapRead is one readOverlap in progress.
type overlapRead struct {
	s          *streamRun
	w          connector.Window // the pass window; batches resume from it
	win        connector.Window // the overlap's
	ov         connector.Overlap
	full, keys string // the overlap's query and its key-only twin
	emit       func(batch) bool
	lookup     func(context.Context, overlapRow) (time.Time, error)

	distrust bool // the record API named neither instant once already: do not reread for it again

	// The last attempt's outcome.
	split   overlapSplit
	rows    int
	lookups int
}

// once reads the overlap: phase 1 (keys, split), then phase 2 (rows, emitted). It returns
// false with a nil error if ctx ended, and a *rereadError if rows changed meanwhile.
func (r *overlapRead) once(ctx context.Context) (bool, error) {
	s := r.s
	first, err := r.page(ctx, r.full, 0)
	if err != nil {
		return false, err
	}
	total := first.TotalResults
	keys, err := r.keysOf(make([]overlapRow, 0, len(first.Items)), first.Items, 0)
	if err != nil {
		return false, err
	}
	for more, offset := first.HasMore, connector.PageSize; more; offset += connector.PageSize {
		p, err := r.page(ctx, r.keys, offset)
		if err != nil {
			return false, err
		}
		if p.TotalResults != total {
			return false, moved(total, p.TotalResults)
		}
		if keys, err = r.keysOf(keys, p.Items, offset); err != nil {
			return false, err
		}
		more = p.HasMore
	}

	lookups := 0
	counted := func(ctx context.Context, row overlapRow) (time.Time, error) {
		lookups++
		return r.lookup(ctx, row)
	}
	split, err := splitOverlap(ctx, keys, counted)
	var mismatch *recordMismatch
	switch {
	case errors.As(err, &mismatch) && !r.distrust:
		// Most likely the record changed after its key was read: it has left the overlap,
		// and a fresh read no longer sees it.
		r.distrust = true
		return false, &rereadError{class: connector.ErrTransient, reason: mismatch.Error()}
	case errors.As(err, &mismatch):
		// Twice: the API and SuiteQL disagree, which a reread will not change.
		split = overlapSplit{at: len(keys), why: mismatch.Error() + "; if this persists, check that NetSuite's session time zone is " + s.opts.Location.String()}
	case err != nil:
		return false, err
	}
	r.split, r.rows, r.lookups = split, len(keys), lookups

	items, more := first.Items, first.HasMore
	for offset := 0; ; offset += connector.PageSize {
		if offset > 0 {
			p, err := r.page(ctx, r.full, offset)
			if err != nil {
				return false, err
			}
			if p.TotalResults != total {
				return false, moved(total, p.TotalResults)
			}
			items, more = p.Items, p.HasMore
		}
		last, err := r.convert(items, keys, offset)
		if err != nil {
			return false, err
		}
		resume := r.w
		if len(items) > 0 {
			resume.After = &last // ambiguous: a rerun reads this overlap again from its start
		}
		if !r.emit(batch{rec: s.builder().NewRecord(), resume: resume}) {
			return false, nil
		}
		if !more {
			if n := offset + len(items); n != len(keys) {
				return false, &rereadError{class: connector.ErrTransient, reason: fmt.Sprintf("the second read of the repeated hour ended after %d rows, the first after %d", n, len(keys))}
			}
			return true, nil
		}
	}
}

func moved(before, now int) error {
	return &rereadError{class: connector.ErrTransient, reason: fmt.Sprintf("totalResults went from %d to %d", before, now)}
}

// page fetches one page of the overlap at offset.
func (r *overlapRead) page(ctx context.Context, q string, offset int) (*connector.Page, error) {
	s := r.s
	if offset+connector.PageSize > 100_000 {
		return nil, fmt.Errorf("%w: %s: more than 100,000 rows were modified in the repeated hour %s–%s (UTC), which SuiteQL cannot page through", connector.ErrData, s.out.Name, r.ov.Start.UTC().Format(time.RFC3339), r.ov.End.UTC().Format(time.RFC3339))
	}
	s.addRequests(1)
	p, err := s.src.SuiteQL(ctx, q, connector.PageSize, offset)
	if err == nil {
		err = s.step("page-fetched")
	}
	if q == r.full && connector.ColumnFault(err) {
		// Perhaps a column NetSuite now refuses: find it as the keyset path would, then
		// read the overlap again without it.
		before := len(s.out.Columns)
		if _, perr := s.firstPage(ctx, r.win, 1); perr == nil && len(s.out.Columns) < before {
			return nil, &rereadError{class: connector.ErrTransient, reason: "NetSuite refused a column"}
		}
	}
	return p, err
}

// keysOf appends the keys of rows (read at offset) to keys.
func (r *overlapRead) keysOf(keys []overlapRow, rows []schema.RawRow, offset int) ([]overlapRow, error) {
	s := r.s
	for _, row := range rows {
		k, err := s.keyOf(row)
		if err != nil {
			return keys, fmt.Errorf("%w: %s: repeated-hour page at offset %d: %w", connector.ErrData, s.out.Name, offset, err)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// keyOf reads a row's key, or says which value does not parse, as a conversion would.
func (s *streamRun) keyOf(row schema.RawRow) (overlapRow, error) {
	t := s.query.Table
	rawID, wall := row[t.PrimaryKey], row[t.Cursor]
	id, err := strconv.ParseInt(rawID, 10, 64)
	if err != nil {
		return overlapRow{}, &schema.ConversionError{Stream: s.out.Name, ID: rawID, Column: t.PrimaryKey, Kind: schema.Integer, Value: rawID, Reason: "not a whole number"}
	}
	first, last, ok := schema.WallInstants(wall, s.opts.Location)
	if !ok {
		return overlapRow{}, &schema.ConversionError{Stream: s.out.Name, ID: rawID, Column: t.Cursor, Kind: schema.DateTime, Value: wall, Reason: "want YYYY-MM-DD HH:MM:SS"}
	}
	return overlapRow{wall: wall, id: id, tie: s.query.TieOf(row), first: first, last: last}, nil
}

// convert appends rows (phase 2, read at offset) to the builder, each cursor at the
// instant the split gives it, and returns the keyset position of the last one. The rows
// must be those phase 1 read there; if not, nothing is appended and the overlap is read
// again.
func (r *overlapRead) convert(rows []schema.RawRow, keys []overlapRow, offset int) (connector.Keyset, error) {
	s := r.s
	for i, row := range rows {
		k, err := s.keyOf(row)
		if j := offset + i; err != nil || j >= len(keys) || k.wall != keys[j].wall || k.id != keys[j].id || k.tie != keys[j].tie {
			return connector.Keyset{}, &rereadError{class: connector.ErrTransient, reason: fmt.Sprintf("row %d of the repeated hour differs between its two reads", j)}
		}
	}
	var last connector.Keyset
	for i, row := range rows {
		k := keys[offset+i]
		at := k.first
		if offset+i >= r.split.at {
			at = k.last
		}
		if err := s.builder().AppendAt(s.toRow(row), at); err != nil {
			return last, fmt.Errorf("%w: %s: repeated-hour page at offset %d: %w", connector.ErrData, s.out.Name, offset, err)
		}
		last = connector.Keyset{Cursor: k.wall, ID: k.id, Tie: k.tie}
	}
	return last, nil
}
