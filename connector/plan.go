package connector

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/extract-dev/extract/schema"
)

// ColumnSelection is a stream's choice of columns from the configuration. Patterns are
// globs (path.Match: *, ?, [abc]) over column names; a custom field is matched by its
// output name and by its scriptid.
type ColumnSelection struct {
	Columns        []string // keep only matching columns (the key and cursor always stay); empty: all
	ExcludeColumns []string // drop matching columns
	CustomFields   CustomFieldChoice
}

// CustomFieldChoice is the custom_fields setting: all (the zero value), none, or only
// the fields matching patterns.
type CustomFieldChoice struct {
	None bool
	Only []string
}

// Validate checks the patterns and refuses a selection that would lose the key or the
// cursor. setting names where the selection came from, for the message.
func (s ColumnSelection) Validate(t schema.Table, setting string) error {
	for _, group := range []struct {
		name     string
		patterns []string
	}{{"columns", s.Columns}, {"exclude_columns", s.ExcludeColumns}, {"custom_fields", s.CustomFields.Only}} {
		for _, p := range group.patterns {
			if _, err := path.Match(p, ""); err != nil || strings.TrimSpace(p) == "" {
				return fmt.Errorf("%w: %s.%s: %q is not a valid pattern (use *, ? and [abc])", ErrConfig, setting, group.name, p)
			}
			if p != strings.ToLower(p) {
				return fmt.Errorf("%w: %s.%s: %q: column names are lowercase", ErrConfig, setting, group.name, p)
			}
		}
	}
	for _, key := range append([]string{t.PrimaryKey, t.Cursor}, t.Keys...) {
		if key == "" {
			continue
		}
		if p, ok := matchAny(s.ExcludeColumns, key); ok {
			return fmt.Errorf("%w: %s.exclude_columns: %q excludes %s, which every row needs (it is the stream's %s)",
				ErrConfig, setting, p, key, map[bool]string{true: "key", false: "cursor"}[t.IsKey(key)])
		}
	}
	return nil
}

func matchAny(patterns []string, names ...string) (string, bool) {
	for _, p := range patterns {
		for _, n := range names {
			if ok, _ := path.Match(p, n); ok {
				return p, true
			}
		}
	}
	return "", false
}

// keeps reports whether the selection keeps a column (by any of its names).
func (s ColumnSelection) keeps(t schema.Table, c schema.Column) (bool, string) {
	names := []string{c.Name, c.FieldID()}
	if t.IsKey(c.Name) || (t.Cursor != "" && c.Name == t.Cursor) || c.Derived {
		return true, ""
	}
	if len(s.Columns) > 0 {
		if _, ok := matchAny(s.Columns, names...); !ok {
			return false, "not in the columns setting"
		}
	}
	if p, ok := matchAny(s.ExcludeColumns, names...); ok {
		return false, fmt.Sprintf("excluded by exclude_columns %q", p)
	}
	if c.Custom {
		if s.CustomFields.None {
			return false, "custom_fields is none"
		}
		if len(s.CustomFields.Only) > 0 {
			if _, ok := matchAny(s.CustomFields.Only, names...); !ok {
				return false, "not in the custom_fields list"
			}
		}
	}
	return true, ""
}

// PlanInput is what decides a stream's columns for a run.
type PlanInput struct {
	Stream       string
	CustomFields []CustomField     // the account's catalog (all streams)
	Dropped      map[string]string // field id → why NetSuite refused it (remembered)
	Kinds        map[string]string // custom field id → kind its bare name was first written with
	Selection    ColumnSelection
}

// SkippedColumn is a column a run does not extract, and why.
type SkippedColumn struct {
	Name   string `json:"column"`
	Reason string `json:"reason"`
}

// StreamPlan is a stream's output table for a run and what was left out of it.
type StreamPlan struct {
	Table schema.Table
	// Refused are fields NetSuite refused in an earlier run (remembered in the state);
	// Skipped are those left out by the configuration or because they hold no value.
	Refused, Skipped []SkippedColumn
	// Kinds is PlanInput.Kinds with the custom fields first seen now added.
	Kinds map[string]string
	// Notes are warnings worth one log line each: unknown value types, renamed columns.
	Notes []string
}

// PlanStream decides a stream's columns: the standard ones, then the custom fields of
// its record in scriptid order, less what NetSuite refused before and what the
// configuration leaves out, then the derived _deleted.
//
// A custom field's column is named by its lowercase scriptid and typed by its
// fieldvaluetype. A column name never holds two types across a stream's files: when a
// field's type changes, the new type is written as <scriptid>__<kind> (for example
// custentity_score__float) from the next file on, and the bare name keeps the type it
// was first written with, so readers that merge files by name (DuckDB union_by_name,
// Spark mergeSchema) never meet a conflict.
func PlanStream(in PlanInput) (StreamPlan, error) {
	base, err := Table(in.Stream)
	if err != nil {
		return StreamPlan{}, err
	}
	plan := StreamPlan{Kinds: map[string]string{}}
	for k, v := range in.Kinds {
		plan.Kinds[k] = v
	}
	var cols []schema.Column
	add := func(c schema.Column) bool {
		if reason, refused := in.Dropped[c.FieldID()]; refused && !c.Derived {
			plan.Refused = append(plan.Refused, SkippedColumn{Name: c.Name, Reason: reason})
			return false
		}
		if ok, why := in.Selection.keeps(base, c); !ok {
			plan.Skipped = append(plan.Skipped, SkippedColumn{Name: c.Name, Reason: why})
			return false
		}
		cols = append(cols, c)
		return true
	}
	for _, c := range base.Columns {
		if !c.Derived {
			add(c)
		}
	}
	for _, f := range in.CustomFields {
		if !slices.Contains(f.Streams(), in.Stream) {
			continue
		}
		c := schema.Column{Name: f.ScriptID, Field: f.ScriptID, Custom: true, Label: f.Label, ValueType: f.ValueType}
		switch {
		case !f.Stored:
			plan.Skipped = append(plan.Skipped, SkippedColumn{Name: c.Name, Reason: "not stored (isstored = F): it holds no value"})
			continue
		case secretValueType(f.ValueType):
			plan.Skipped = append(plan.Skipped, SkippedColumn{Name: c.Name, Reason: "a password field: secrets are never extracted"})
			continue
		}
		kind, known := CustomKind(f.ValueType)
		c.Kind = kind
		owner := plan.Kinds[f.ScriptID]
		if owner != "" && owner != kind.String() {
			c.Name = f.ScriptID + "__" + kind.String()
		}
		if _, clash := base.Column(c.Name); clash || slices.ContainsFunc(cols, func(o schema.Column) bool { return o.Name == c.Name }) {
			plan.Notes = append(plan.Notes, fmt.Sprintf("%s: skipped, its column name is taken", f.ScriptID))
			continue
		}
		if !add(c) {
			continue
		}
		if !known {
			plan.Notes = append(plan.Notes, fmt.Sprintf("%s: value type %q is not one extract knows; written as text", c.Name, f.ValueType))
		}
		switch owner {
		case "":
			plan.Kinds[f.ScriptID] = kind.String()
		case kind.String():
		default:
			plan.Notes = append(plan.Notes, fmt.Sprintf("%s: type is now %s (was %s); written as %s so that no column name holds two types",
				f.ScriptID, kind, owner, c.Name))
		}
	}
	for _, c := range base.Columns {
		if c.Derived {
			cols = append(cols, c)
		}
	}
	plan.Table = schema.Table{Name: base.Name, Columns: cols, PrimaryKey: base.PrimaryKey, Keys: base.Keys, Cursor: base.Cursor}
	if err := plan.Table.Validate(); err != nil {
		return StreamPlan{}, err
	}
	return plan, nil
}
