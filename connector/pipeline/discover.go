package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/extract-dev/extract/connector"
	"github.com/extract-dev/extract/schema"
	"github.com/extract-dev/extract/state"
)

// Discovered is what `extract discover` learns of one stream from the account.
type Discovered struct {
	Stream  string
	Table   schema.Table              // the columns a run would write now
	Dropped []DroppedColumn           // fields NetSuite refuses, found now
	Skipped []connector.SkippedColumn // left out by the configuration or holding no value
	Notes   []string                  // unknown value types, renamed columns
	// Unavailable says why the stream's table cannot be read at all (permission,
	// feature), in NetSuite's words; Table is then the plan, unprobed.
	Unavailable string
}

// Discovery is the account as discover sees it.
type Discovery struct {
	Streams      []Discovered
	CustomFields CatalogResult
	Requests     int64
}

// Discover asks the account which columns each stream would have: it reads the
// custom-field catalog afresh, plans every stream as a run would (without the columns
// refused earlier: they are asked again), and probes each table with a one-row query,
// dropping what NetSuite refuses exactly as a run does. With a state store it records
// what it found — the catalog and each stream's refused columns — so the next run uses
// it; it writes no data and moves no checkpoint.
func (r *Runner) Discover(ctx context.Context) (Discovery, error) {
	opts := r.Opts
	var out Discovery
	fields, dropped, requests, err := connector.ReadCustomFields(ctx, r.Source)
	out.Requests += requests
	out.CustomFields.Requests = requests
	for _, d := range dropped {
		out.CustomFields.Unavailable += fmt.Sprintf("column %s not served (%s); ", d.Column.Name, d.Reason)
	}
	switch {
	case errors.Is(err, connector.ErrConfig):
		out.CustomFields.Unavailable = err.Error()
		fields = nil
	case err != nil:
		return out, err
	default:
		out.CustomFields.Fields, out.CustomFields.FetchedAt = len(fields), time.Now().UTC()
		if r.State != nil {
			if err := r.State.StageCustomFields(state.CustomFields{FetchedAt: out.CustomFields.FetchedAt, Fields: toState(fields)}); err != nil {
				return out, err
			}
		}
	}
	for _, name := range opts.Streams {
		d, err := r.discoverStream(ctx, opts, name, fields, &out.Requests)
		if err != nil {
			return out, fmt.Errorf("stream %s: %w", name, err)
		}
		out.Streams = append(out.Streams, d)
	}
	if r.State != nil {
		return out, r.State.Flush()
	}
	return out, nil
}

func (r *Runner) discoverStream(ctx context.Context, opts Options, name string, fields []connector.CustomField, requests *int64) (Discovered, error) {
	var saved state.Schema
	if r.State != nil {
		saved, _ = r.State.Schema(name)
	}
	plan, err := connector.PlanStream(connector.PlanInput{Stream: name, CustomFields: fields, Kinds: saved.Kinds, Selection: opts.Columns[name]})
	if err != nil {
		return Discovered{}, err
	}
	d := Discovered{Stream: name, Table: plan.Table, Skipped: plan.Skipped, Notes: plan.Notes}
	t := plan.Table
	build := func(cols []schema.Column) (string, error) { return connector.SelectQuery(t.Name, cols), nil }
	if child, ok := connector.ChildOf(name); ok {
		build = func(cols []schema.Column) (string, error) { return child.ScanQuery(cols, nil), nil }
	}
	dropper := &connector.ColumnDropper{
		Querier:  r.Source,
		Build:    build,
		Required: func(c schema.Column) bool { return t.IsKey(c.Name) || c.Name == t.Cursor },
	}
	_, cols, dropped, err := dropper.Run(ctx, t.Columns, 1)
	*requests += dropper.Requests
	if err != nil {
		if errors.Is(err, connector.ErrAuth) || errors.Is(err, connector.ErrTransient) || ctx.Err() != nil {
			return d, err
		}
		d.Unavailable = err.Error()
		return d, nil
	}
	// Derived columns never reach the query; keep them in the plan's order.
	d.Table.Columns = slices.DeleteFunc(slices.Clone(t.Columns), func(c schema.Column) bool {
		return !c.Derived && !slices.ContainsFunc(cols, func(o schema.Column) bool { return o.Name == c.Name })
	})
	next := saved
	next.Dropped = map[string]state.Dropped{}
	for _, dc := range dropped {
		d.Dropped = append(d.Dropped, DroppedColumn{Column: dc.Column.Name, Reason: dc.Reason, New: true})
		next.Dropped[dc.Column.FieldID()] = state.Dropped{Reason: dc.Reason, Since: time.Now().UTC()}
	}
	if r.State != nil {
		if err := r.State.StageSchema(name, next); err != nil {
			return d, err
		}
	}
	return d, nil
}
