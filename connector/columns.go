package connector

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/extract-dev/extract/schema"
)

// ColumnRejection is NetSuite refusing one selected column: a field the account lacks
// (a feature turned off), one SuiteQL does not serve (NOT_EXPOSED), or one the role may
// not read.
type ColumnRejection struct {
	Column string // the lowercase field id NetSuite named
	Reason string // NetSuite's reason, short enough for a log line and the state file
}

// quotedAfterKeyword finds an identifier NetSuite quotes right after the word that
// introduces it: Field 'x' …, Unknown identifier 'x' …, column "x" …. Releases word
// these messages differently, so only the keyword and the quotes are relied on.
var quotedAfterKeyword = regexp.MustCompile(`(?i)\b(?:field|identifier|column)\s*[:=]?\s*['"‘’“”` + "`" + `]([^'"‘’“”` + "`" + `\s]+)['"‘’“”` + "`" + `]`)

// quotedWord is any quoted word, for messages whose wording is not known at all.
var quotedWord = regexp.MustCompile(`['"‘’“”` + "`" + `]([^'"‘’“”` + "`" + `\s{},]+)['"‘’“”` + "`" + `]`)

// RejectedColumn reads which selected column a 400 from NetSuite refuses. selected
// reports whether a lowercase field id is one the query selects; only such a name is
// believed, so a message that quotes a record name, a list of available identifiers or
// anything else cannot make the connector drop the wrong column. The identifier is
// matched, never the sentence around it.
func RejectedColumn(err error, selected func(field string) bool) (ColumnRejection, bool) {
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 400 {
		return ColumnRejection{}, false
	}
	detail := ae.Detail
	// "Unknown identifier 'x'. Available identifiers are: {…}" lists every name the table
	// has: never read a culprit from that list.
	if i := strings.IndexByte(detail, '{'); i >= 0 {
		detail = detail[:i]
	}
	for _, m := range quotedAfterKeyword.FindAllStringSubmatch(detail, -1) {
		if name := fieldName(m[1]); selected(name) {
			return ColumnRejection{Column: name, Reason: rejectionReason(ae.Detail)}, true
		}
	}
	for _, m := range quotedWord.FindAllStringSubmatchIndex(detail, -1) {
		// "… for record 'calendarevent' …" names the table, which may share a name with
		// a column (task.transaction, say): a word right after "record" is not a column.
		before := strings.ToLower(strings.TrimSpace(detail[:m[0]]))
		if strings.HasSuffix(before, "record") || strings.HasSuffix(before, "table") {
			continue
		}
		if name := fieldName(detail[m[2]:m[3]]); selected(name) {
			return ColumnRejection{Column: name, Reason: rejectionReason(ae.Detail)}, true
		}
	}
	return ColumnRejection{}, false
}

// fieldName normalises a quoted identifier: lowercase, without a table qualifier.
func fieldName(quoted string) string {
	name := strings.ToLower(strings.TrimSpace(quoted))
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		name = name[i+1:]
	}
	return name
}

const searchErrorMarker = "search error occurred:"

// rejectionReason is the part of NetSuite's message worth keeping: the text after
// "Reason:" when there is one (NOT_EXPOSED - Not available for channel SUITEQL), else
// the message without its generic preamble and without the list of available names.
func rejectionReason(detail string) string {
	r := detail
	if i := indexFold(r, searchErrorMarker); i >= 0 {
		r = r[i+len(searchErrorMarker):]
	}
	if i := indexFold(r, "reason:"); i >= 0 {
		r = r[i+len("reason:"):]
	}
	if i := indexFold(r, "available identifiers"); i >= 0 {
		r = r[:i]
	}
	r = strings.TrimRight(strings.TrimSpace(r), ". ")
	if r == "" {
		r = "refused by NetSuite"
	}
	return snippetText(r, 160)
}

// indexFold is strings.Index ignoring case, with an index into s itself (lowercasing s
// first can change its length: invalid UTF-8, some non-ASCII letters).
func indexFold(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return i
		}
	}
	return -1
}

func snippetText(s string, n int) string {
	s = strings.Join(strings.Fields(strings.ToValidUTF8(s, "?")), " ")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// ColumnFault reports an answer that one selected column can cause for the whole query:
// a 400 INVALID_PARAMETER (a field SuiteQL refuses, in wording the connector may not
// know) or NetSuite's 500 UNEXPECTED_ERROR (a field that breaks for this account).
func ColumnFault(err error) bool {
	var ae *APIError
	if !errors.As(err, &ae) {
		return false
	}
	return (ae.Status == 400 && (ae.Code == "INVALID_PARAMETER" || ae.Code == "")) ||
		(ae.Status == 500 && ae.Code == "UNEXPECTED_ERROR")
}

// Querier runs one page of a SuiteQL query.
type Querier interface {
	SuiteQL(ctx context.Context, q string, limit, offset int) (*Page, error)
}

// ColumnDropper runs a query over a set of columns and, while NetSuite refuses one of
// them, drops it and runs the query again, so that no run fails because of one column.
//
// A refusal that names a selected column costs one request. One that does not (a 500
// UNEXPECTED_ERROR, or a 400 in unknown wording) is traced by bisection: once the
// required columns alone are known to succeed, halves of the remaining columns are
// probed until one column is left, and that column alone must fail again before it is
// blamed, so a transient fault cannot get a healthy column dropped. That costs about
// log2(n)+2 requests per culprit among n columns.
type ColumnDropper struct {
	Querier Querier
	// Build renders the query over cols (the required columns are always among them).
	Build func(cols []schema.Column) (string, error)
	// Required reports a column the query cannot do without (the key, the cursor): a
	// refusal of one is an error, never a drop.
	Required func(schema.Column) bool
	// Requests counts what Run sent, probes included.
	Requests int64

	baselineOK bool
}

// Dropped is a column ColumnDropper dropped, and why.
type Dropped struct {
	Column schema.Column
	Reason string
}

// Run runs the query over cols with limit rows at offset 0 and returns the page, the
// columns the page was read with, and what was dropped on the way.
func (d *ColumnDropper) Run(ctx context.Context, cols []schema.Column, limit int) (*Page, []schema.Column, []Dropped, error) {
	var dropped []Dropped
	for {
		q, err := d.Build(cols)
		if err != nil {
			return nil, cols, dropped, err
		}
		d.Requests++
		page, err := d.Querier.SuiteQL(ctx, q, limit, 0)
		if err == nil {
			return page, cols, dropped, nil
		}
		if ctx.Err() != nil {
			return nil, cols, dropped, err
		}
		selected := func(field string) bool { return indexOfField(cols, field) >= 0 }
		if rej, ok := RejectedColumn(err, selected); ok {
			i := indexOfField(cols, rej.Column)
			if d.Required(cols[i]) {
				return nil, cols, dropped, fmt.Errorf("%w: NetSuite refuses the %s column, which the extract cannot do without (%s): %w",
					ErrConfig, cols[i].Name, rej.Reason, err)
			}
			dropped = append(dropped, Dropped{Column: cols[i], Reason: rej.Reason})
			cols = slices.Delete(slices.Clone(cols), i, i+1)
			continue
		}
		if !ColumnFault(err) {
			return nil, cols, dropped, err
		}
		i, reason, ok := d.isolate(ctx, cols)
		if !ok {
			return nil, cols, dropped, err
		}
		dropped = append(dropped, Dropped{Column: cols[i], Reason: reason})
		cols = slices.Delete(slices.Clone(cols), i, i+1)
	}
}

// isolate finds the column whose presence fails the query, or reports that no single
// column does (NetSuite's own fault, or a combination of columns).
func (d *ColumnDropper) isolate(ctx context.Context, cols []schema.Column) (int, string, bool) {
	var required, candidates []int
	for i, c := range cols {
		switch {
		case d.Required(c):
			required = append(required, i)
		case !c.Derived:
			candidates = append(candidates, i)
		}
	}
	if !d.baselineOK {
		if fails, _, ok := d.probe(ctx, cols, required, nil); !ok || fails {
			return 0, "", false
		}
		d.baselineOK = true
	}
	// A second round only if the first one's culprit did not fail again on its own: a
	// fault that came and went misled a step.
	for range 2 {
		set := candidates
		for len(set) > 1 {
			half := set[:len(set)/2]
			fails, _, ok := d.probe(ctx, cols, required, half)
			if !ok {
				return 0, "", false
			}
			if fails {
				set = half
			} else {
				set = set[len(set)/2:]
			}
		}
		if len(set) == 0 {
			return 0, "", false
		}
		fails, reason, ok := d.probe(ctx, cols, required, set)
		if !ok {
			return 0, "", false
		}
		if fails {
			return set[0], reason, true
		}
	}
	return 0, "", false
}

// probe runs the query over the required columns plus some, one row, and reports
// whether it fails the way a column makes it fail. ok is false when the probe could not
// tell (another error: authentication, an outage, a cancelled run).
func (d *ColumnDropper) probe(ctx context.Context, cols []schema.Column, required, some []int) (fails bool, reason string, ok bool) {
	var sub []schema.Column
	for _, i := range slices.Sorted(slices.Values(append(slices.Clone(required), some...))) {
		sub = append(sub, cols[i])
	}
	q, err := d.Build(sub)
	if err != nil {
		return false, "", false
	}
	d.Requests++
	_, err = d.Querier.SuiteQL(ProbeContext(ctx), q, 1, 0)
	switch {
	case err == nil:
		return false, "", true
	case ColumnFault(err):
		var ae *APIError
		errors.As(err, &ae)
		if ae.Status == 500 {
			return true, "500 " + ae.Code + " whenever it is selected", true
		}
		return true, rejectionReason(ae.Detail), true
	default:
		return false, "", false
	}
}

func indexOfField(cols []schema.Column, field string) int {
	for i, c := range cols {
		if c.FieldID() == field || c.Name == field {
			return i
		}
	}
	return -1
}
