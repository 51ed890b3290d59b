package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/extract-dev/extract/connector"
	"github.com/extract-dev/extract/schema"
	"github.com/extract-dev/extract/state"
)

// DefaultCustomFieldsTTL is how long a run reuses the custom-field catalog it read: new
// custom fields appear in the output at most this long after they were created.
const DefaultCustomFieldsTTL = time.Hour

// CatalogResult says where a run's custom-field catalog came from.
type CatalogResult struct {
	Fields    int       `json:"fields"` // custom fields of the streams' records
	FetchedAt time.Time `json:"fetched_at,omitzero"`
	Cached    bool      `json:"cached,omitempty"` // reused from the state file
	Requests  int64     `json:"requests"`         // sent to read it in this run
	// Unavailable says why NetSuite's customfield table could not be read.
	Unavailable string `json:"unavailable,omitempty"`
}

// catalog returns the account's custom fields: from the state if they were read less
// than CustomFieldsTTL ago (and this is no full refresh), else from NetSuite, saving
// them for the next runs. A table the role may not read leaves the run with the catalog
// it last saw (or none); any other failure fails the run, because rows written without
// their custom columns would read as NULLs where NetSuite holds values.
// catalogRead is one reading of NetSuite's custom-field catalog.
type catalogRead struct {
	fields   []connector.CustomField
	dropped  []connector.Dropped
	requests int64
	err      error
}

func (r *Runner) readCatalog(ctx context.Context) catalogRead {
	var c catalogRead
	c.fields, c.dropped, c.requests, c.err = connector.ReadCustomFields(ctx, r.Source)
	return c
}

// catalogStale says whether the run must read the catalog at NetSuite time now: the run
// wants custom fields and the state holds none younger than the TTL (a full refresh
// always reads it).
func (r *Runner) catalogStale(opts Options, now time.Time) bool {
	if !wantsCustomFields(opts) {
		return false
	}
	ttl := opts.CustomFieldsTTL
	if ttl <= 0 {
		ttl = DefaultCustomFieldsTTL
	}
	cached, haveCache := r.State.CustomFields()
	return !haveCache || opts.FullRefresh || now.Sub(cached.FetchedAt) >= ttl || !cached.FetchedAt.Before(now.Add(time.Minute))
}

func (r *Runner) catalog(ctx context.Context, opts Options, now time.Time, out *CatalogResult, pre *catalogRead) ([]connector.CustomField, error) {
	if !wantsCustomFields(opts) {
		return nil, nil
	}
	cached, _ := r.State.CustomFields()
	if !r.catalogStale(opts, now) {
		fields := fromState(cached.Fields)
		*out = CatalogResult{Fields: len(fields), FetchedAt: cached.FetchedAt, Cached: true, Unavailable: cached.Unavailable}
		if cached.Unavailable != "" {
			opts.Logger.Warn("the customfield table could not be read when last asked; asking again after custom_fields_ttl",
				"asked_at", cached.FetchedAt, "error", cached.Unavailable, "fields_from_earlier", len(fields))
		}
		return fields, nil
	}
	if pre == nil {
		read := r.readCatalog(ctx)
		pre = &read
	}
	fields, dropped, requests, err := pre.fields, pre.dropped, pre.requests, pre.err
	out.Requests = requests
	for _, d := range dropped {
		opts.Logger.Warn("NetSuite's customfield table does not serve a column; reading the catalog without it", "column", d.Column.Name, "reason", d.Reason)
	}
	next := state.CustomFields{FetchedAt: now, Fields: toState(fields)}
	if err != nil {
		if !errors.Is(err, connector.ErrConfig) {
			return nil, err
		}
		// The role may not read it, or the account lacks it: keep what was read before
		// (if anything), and do not ask again before the TTL.
		next = state.CustomFields{FetchedAt: now, Fields: cached.Fields, Unavailable: err.Error()}
		fields = fromState(cached.Fields)
		out.Unavailable, out.Cached = err.Error(), len(fields) > 0
		opts.Logger.Warn("cannot read the customfield table (permission or feature); custom fields known from earlier runs are used",
			"error", err.Error(), "fields_from_earlier", len(fields))
	}
	if err := r.State.StageCustomFields(next); err != nil {
		return nil, err
	}
	out.Fields, out.FetchedAt = len(fields), now
	return fields, nil
}

// wantsCustomFields is false when every stream of the run is configured without them:
// then the catalog is not read at all.
func wantsCustomFields(opts Options) bool {
	for _, s := range opts.Streams {
		if !opts.Columns[s].CustomFields.None {
			return true
		}
	}
	return false
}

// The catalog's two types have the same fields: the state keeps what the connector read.
func fromState(in []state.CustomField) []connector.CustomField {
	out := make([]connector.CustomField, len(in))
	for i, f := range in {
		out[i] = connector.CustomField(f)
	}
	return out
}

func toState(in []connector.CustomField) []state.CustomField {
	out := make([]state.CustomField, len(in))
	for i, f := range in {
		out[i] = state.CustomField(f)
	}
	return out
}

// streamColumns are a stream's columns during a run: planned at its start, shrinking when
// NetSuite refuses one, and remembered in the state so the next run neither pays to find
// a refused column again nor misses a change.
type streamColumns struct {
	store  *state.Store
	stream string
	log    *slog.Logger

	// mu guards table for readers outside the stream's own goroutine (current); the
	// stream reads it directly, and only drop changes it.
	mu      sync.Mutex
	table   schema.Table
	saved   state.Schema   // as last staged in the state
	prev    []state.Column // the previous run's columns, for the change line
	dropped []DroppedColumn
	skipped []connector.SkippedColumn
}

// planColumns plans a stream's columns for this run, logs what changed since the last
// run, and stages the plan in the state (written with the next checkpoint).
func (r *Runner) planColumns(opts Options, name string, catalog []connector.CustomField, log *slog.Logger) (*streamColumns, error) {
	saved, _ := r.State.Schema(name)
	remembered := map[string]string{}
	known := map[string]bool{}
	for _, f := range catalog {
		known[f.ScriptID] = true
	}
	next := state.Schema{Dropped: map[string]state.Dropped{}, Kinds: saved.Kinds}
	for field, d := range saved.Dropped {
		switch {
		case opts.FullRefresh:
			// A full refresh asks NetSuite again about every column.
		case strings.HasPrefix(field, "cust") && catalog != nil && !known[field]:
			// The custom field is gone; should it come back, it deserves a new try.
		default:
			remembered[field] = d.Reason
			next.Dropped[field] = d
		}
	}
	if opts.FullRefresh && len(saved.Dropped) > 0 {
		log.Info("full refresh: asking NetSuite again for the columns it refused before", "columns", len(saved.Dropped))
	}
	plan, err := connector.PlanStream(connector.PlanInput{Stream: name, CustomFields: catalog, Dropped: remembered, Kinds: saved.Kinds,
		Selection: opts.Columns[name]})
	if err != nil {
		return nil, err
	}
	for _, note := range plan.Notes {
		log.Warn("custom field: " + note)
	}
	c := &streamColumns{store: r.State, stream: name, log: log, table: plan.Table, prev: saved.Columns, skipped: plan.Skipped}
	var names []string
	for _, rc := range plan.Refused {
		c.dropped = append(c.dropped, DroppedColumn{Column: rc.Name, Reason: rc.Reason})
		names = append(names, rc.Name)
	}
	if len(names) > 0 {
		log.Warn("not extracting columns NetSuite refused in an earlier run; `extract discover` or `extract run --full-refresh` asks again",
			"columns", strings.Join(names, ","))
	}
	if change := schemaChange(saved.Columns, plan.Table); change != "" {
		log.Warn("schema change: " + name + " " + change)
	}
	next.Columns = stateColumns(plan.Table)
	next.Kinds = plan.Kinds
	if err := c.stage(next); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *streamColumns) stage(sc state.Schema) error {
	if err := c.store.StageSchema(c.stream, sc); err != nil {
		return err
	}
	c.saved = sc
	return nil
}

// drop removes a column NetSuite refused from this run's files and remembers it.
func (c *streamColumns) drop(col schema.Column, reason string) error {
	c.log.Warn("NetSuite refuses a column; extracting without it (absent from the files from here on, not written as NULL)",
		"column", col.Name, "reason", reason)
	t := c.table
	t.Columns = slices.DeleteFunc(slices.Clone(t.Columns), func(o schema.Column) bool { return o.Name == col.Name })
	c.mu.Lock()
	c.table = t
	c.mu.Unlock()
	c.dropped = append(c.dropped, DroppedColumn{Column: col.Name, Reason: reason, New: true})
	next := c.saved
	next.Dropped = map[string]state.Dropped{}
	for k, v := range c.saved.Dropped {
		next.Dropped[k] = v
	}
	next.Dropped[col.FieldID()] = state.Dropped{Reason: reason, Since: time.Now().UTC()}
	next.Columns = stateColumns(c.table)
	return c.stage(next)
}

// current returns the stream's output schema as it is now, for a writer outside the
// stream's goroutine (its tombstones). Columns slices are never changed in place.
func (c *streamColumns) current() schema.Table {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.table
}

// report fills the stream's result with its columns.
func (c *streamColumns) report(res *StreamResult) {
	res.Columns = len(c.table.Columns)
	res.CustomColumns = 0
	for _, col := range c.table.Columns {
		if col.Custom {
			res.CustomColumns++
		}
	}
	res.DroppedColumns = c.dropped
	res.SkippedColumns = c.skipped
	res.SchemaChange = schemaChange(c.prev, c.table)
}

func stateColumns(t schema.Table) []state.Column {
	out := make([]state.Column, len(t.Columns))
	for i, c := range t.Columns {
		out[i] = state.Column{Name: c.Name, Kind: c.Kind.String()}
	}
	return out
}

// schemaChange describes how t's columns differ from prev's: "+name (kind)" for a new
// column, "−name" for one gone, "~name (old → new)" for a kind changed by an upgrade of
// extract. Empty when nothing changed or there is no previous schema to compare with.
func schemaChange(prev []state.Column, t schema.Table) string {
	if len(prev) == 0 {
		return ""
	}
	before := map[string]string{}
	for _, c := range prev {
		before[c.Name] = c.Kind
	}
	var parts []string
	now := map[string]bool{}
	for _, c := range t.Columns {
		now[c.Name] = true
		switch kind, ok := before[c.Name]; {
		case !ok:
			parts = append(parts, fmt.Sprintf("+%s (%s)", c.Name, c.Kind))
		case kind != c.Kind.String():
			parts = append(parts, fmt.Sprintf("~%s (%s → %s)", c.Name, kind, c.Kind))
		}
	}
	for _, c := range prev {
		if !now[c.Name] {
			parts = append(parts, "−"+c.Name)
		}
	}
	return strings.Join(parts, ", ")
}
