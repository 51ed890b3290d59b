package connector

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/extract-dev/extract/schema"
)

const searchPreamble = "Invalid search query. Detailed unprocessed description follows. Search error occurred: "

// TestRejectedColumnWordings: every wording NetSuite has been seen to use, and plausible
// variants of them, yield the quoted identifier when it is a selected column — and
// nothing else in the message (a record name, the list of available identifiers) is
// ever taken for the culprit.
func TestRejectedColumnWordings(t *testing.T) {
	selected := func(names ...string) func(string) bool {
		return func(f string) bool { return slices.Contains(names, f) }
	}
	all := selected("id", "supportcase", "transaction", "salesrep", "balance", "custevent_hidden", "terms", "custentity_x", "lastmodifieddate")
	mk := func(status int, code, detail string) error {
		return (&APIError{Status: status, Code: code, Detail: detail}).classify()
	}
	cases := []struct {
		name       string
		err        error
		sel        func(string) bool
		want       string
		wantReason string
	}{
		{"not exposed, exact", mk(400, "INVALID_PARAMETER", searchPreamble+"Field 'supportcase' for record 'calendarevent' was not found. Reason: NOT_EXPOSED - Not available for channel SUITEQL"),
			all, "supportcase", "NOT_EXPOSED - Not available for channel SUITEQL"},
		{"not exposed, record shares a column's name", mk(400, "INVALID_PARAMETER", searchPreamble+"Field 'supportcase' for record 'transaction' was not found. Reason: NOT_EXPOSED - Not available for channel SUITEQL"),
			all, "supportcase", "NOT_EXPOSED - Not available for channel SUITEQL"},
		{"not exposed, qualified and upper case", mk(400, "INVALID_PARAMETER", searchPreamble+"Field 'CALENDAREVENT.SUPPORTCASE' for record 'calendarEvent' was not found. Reason: NOT_EXPOSED - Not available for channel SUITEQL"),
			all, "supportcase", "NOT_EXPOSED - Not available for channel SUITEQL"},
		{"shortened", mk(400, "INVALID_PARAMETER", "Search error occurred: Field 'Terms' was not found."), all, "terms", "Field 'Terms' was not found"},
		{"unknown identifier with the available list", mk(400, "INVALID_PARAMETER", searchPreamble+"Unknown identifier 'balance'. Available identifiers are: {id, entityid, companyname, lastmodifieddate}"),
			all, "balance", "Unknown identifier 'balance'"},
		{"unknown identifier, the list quotes selected names", mk(400, "INVALID_PARAMETER", searchPreamble+"Unknown identifier 'customer.salesrep'. Available identifiers are: {'id', 'lastmodifieddate', 'terms'}"),
			all, "salesrep", "Unknown identifier 'customer.salesrep'"},
		{"double quotes", mk(400, "INVALID_PARAMETER", `Search error occurred: Unknown identifier "custentity_x".`), all, "custentity_x", `Unknown identifier "custentity_x"`},
		{"typographic quotes", mk(400, "INVALID_PARAMETER", "Field ‘custevent_hidden’ for record ‘task’ was not found. Reason: NOT_EXPOSED - Not available for channel SUITEQL"),
			all, "custevent_hidden", "NOT_EXPOSED - Not available for channel SUITEQL"},
		{"unknown wording naming a selected column", mk(400, "INVALID_PARAMETER", "The column 'balance' cannot be used in this context."), all, "balance", "The column 'balance' cannot be used in this context"},
		{"unknown wording, quoted word only", mk(400, "INVALID_PARAMETER", "Search error occurred: 'balance' is not a searchable field"), all, "balance", "'balance' is not a searchable field"},
		{"names an unselected column", mk(400, "INVALID_PARAMETER", searchPreamble+"Unknown identifier 'creditlimit'. Available identifiers are: {id}"), all, "", ""},
		{"record only", mk(400, "INVALID_PARAMETER", searchPreamble+"Record 'transaction' was not found."), all, "", ""},
		{"a 500 is not a 400", mk(500, "UNEXPECTED_ERROR", "Unknown identifier 'balance'"), all, "", ""},
		{"not an API error", errors.New("Unknown identifier 'balance'"), all, "", ""},
		{"first selected of several", mk(400, "INVALID_PARAMETER", "Field 'nosuch' for record 'customer' was not found; Field 'terms' for record 'customer' was not found."), all, "terms", "Field 'nosuch' for record 'customer' was not found; Field 'terms' for record 'customer' was not found"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := RejectedColumn(tc.err, tc.sel)
			if got.Column != tc.want || ok != (tc.want != "") {
				t.Fatalf("RejectedColumn = %+v, %v; want %q", got, ok, tc.want)
			}
			if ok && got.Reason != tc.wantReason {
				t.Fatalf("reason = %q, want %q", got.Reason, tc.wantReason)
			}
		})
	}
}

// refusingQuerier answers queries whose column list is "SELECT a, b FROM t": a column in
// named400 gets NetSuite's 400 naming it (the first one selected); one in fails500 a 500
// UNEXPECTED_ERROR; one in quiet400 a 400 that names nothing. flaky makes the n-th
// request (1-based) fail with a 500 whatever it selects.
type refusingQuerier struct {
	named400, fails500, quiet400 []string
	flaky                        map[int]bool
	queries                      []string
}

func (q *refusingQuerier) SuiteQL(_ context.Context, query string, limit, offset int) (*Page, error) {
	q.queries = append(q.queries, query)
	if q.flaky[len(q.queries)] {
		return nil, (&APIError{Status: 500, Code: "UNEXPECTED_ERROR", Detail: "An unexpected error occurred. Error ID: flaky"}).classify()
	}
	cols := strings.Split(strings.TrimSuffix(strings.TrimPrefix(query, "SELECT "), " FROM t"), ", ")
	for _, c := range cols {
		if slices.Contains(q.named400, c) {
			return nil, (&APIError{Status: 400, Code: "INVALID_PARAMETER", Detail: searchPreamble + "Field '" + c + "' for record 't' was not found. Reason: NOT_EXPOSED - Not available for channel SUITEQL"}).classify()
		}
	}
	for _, c := range cols {
		if slices.Contains(q.fails500, c) {
			return nil, (&APIError{Status: 500, Code: "UNEXPECTED_ERROR", Detail: "An unexpected SuiteScript error has occurred. Error ID: x"}).classify()
		}
		if slices.Contains(q.quiet400, c) {
			return nil, (&APIError{Status: 400, Code: "INVALID_PARAMETER", Detail: "Invalid search query."}).classify()
		}
	}
	return &Page{Items: []schema.RawRow{{"id": "1"}}}, nil
}

func sixtyColumns() []schema.Column {
	cols := []schema.Column{{Name: "id", Kind: schema.Integer}, {Name: "lastmodifieddate", Kind: schema.DateTime}}
	for i := range 58 {
		cols = append(cols, schema.Column{Name: fmt.Sprintf("c%02d", i), Kind: schema.Text})
	}
	return append(cols, schema.Column{Name: "_deleted", Kind: schema.Bool, Derived: true})
}

func newDropper(q Querier) *ColumnDropper {
	return &ColumnDropper{
		Querier: q,
		Build: func(cols []schema.Column) (string, error) {
			var names []string
			for _, c := range cols {
				if !c.Derived {
					names = append(names, c.Name)
				}
			}
			return "SELECT " + strings.Join(names, ", ") + " FROM t", nil
		},
		Required: func(c schema.Column) bool { return c.Name == "id" || c.Name == "lastmodifieddate" },
	}
}

// TestColumnDropperRequestCounts: finding the columns NetSuite refuses among 60 costs one
// request per culprit when NetSuite names it, and about log2(n)+2 per culprit when it
// does not (bisection), never one request per column.
func TestColumnDropperRequestCounts(t *testing.T) {
	cases := []struct {
		name             string
		q                *refusingQuerier
		want             []string
		minReqs, maxReqs int64
	}{
		{"none", &refusingQuerier{}, nil, 1, 1},
		{"1 named", &refusingQuerier{named400: []string{"c17"}}, []string{"c17"}, 2, 2},
		{"3 named", &refusingQuerier{named400: []string{"c03", "c30", "c57"}}, []string{"c03", "c30", "c57"}, 4, 4},
		// 1 failing query + 1 baseline + 5..6 halvings of 58 + 1 confirmation + 1 final.
		{"1 by 500", &refusingQuerier{fails500: []string{"c17"}}, []string{"c17"}, 9, 10},
		// The baseline is probed once; each culprit costs halvings + confirmation + retry.
		{"3 by 500", &refusingQuerier{fails500: []string{"c03", "c30", "c57"}}, []string{"c03", "c30", "c57"}, 2 + 3*(5+1+1), 2 + 3*(6+1+1)},
		{"1 by a 400 in unknown words", &refusingQuerier{quiet400: []string{"c44"}}, []string{"c44"}, 9, 10},
		{"named and by 500", &refusingQuerier{named400: []string{"c10"}, fails500: []string{"c50"}}, []string{"c10", "c50"}, 10, 11},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := newDropper(tc.q)
			page, cols, dropped, err := d.Run(context.Background(), sixtyColumns(), 1000)
			if err != nil || page == nil {
				t.Fatalf("Run: %v", err)
			}
			var got []string
			for _, dc := range dropped {
				got = append(got, dc.Column.Name)
				if dc.Reason == "" {
					t.Errorf("%s dropped without a reason", dc.Column.Name)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("dropped %v, want %v", got, tc.want)
			}
			if len(cols) != 61-len(tc.want) {
				t.Fatalf("%d columns left, want %d", len(cols), 61-len(tc.want))
			}
			if d.Requests < tc.minReqs || d.Requests > tc.maxReqs || d.Requests != int64(len(tc.q.queries)) {
				t.Fatalf("%d requests (%d sent), want %d..%d", d.Requests, len(tc.q.queries), tc.minReqs, tc.maxReqs)
			}
			t.Logf("%s: %d requests", tc.name, d.Requests)
		})
	}
}

// TestColumnDropperRefusesToBlameWithoutEvidence: a healthy column is never dropped
// because of NetSuite's own trouble — a required column refused, the key and cursor
// alone failing, or a 500 that came and went during the bisection.
func TestColumnDropperRefusesToBlameWithoutEvidence(t *testing.T) {
	t.Run("key refused", func(t *testing.T) {
		d := newDropper(&refusingQuerier{named400: []string{"lastmodifieddate"}})
		_, _, _, err := d.Run(context.Background(), sixtyColumns(), 1000)
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "lastmodifieddate") {
			t.Fatalf("err = %v, want a config error naming the cursor", err)
		}
	})
	t.Run("baseline fails", func(t *testing.T) {
		q := &refusingQuerier{fails500: []string{"id"}}
		d := newDropper(q)
		_, _, dropped, err := d.Run(context.Background(), sixtyColumns(), 1000)
		if !ColumnFault(err) || len(dropped) != 0 || d.Requests != 2 {
			t.Fatalf("err = %v, dropped %v, %d requests; want the 500 back after one baseline probe", err, dropped, d.Requests)
		}
	})
	t.Run("transient 500 during bisection", func(t *testing.T) {
		// Request 3 is the first halving probe: a passing half made to fail would send
		// the bisection into the wrong half; the confirmation catches it.
		q := &refusingQuerier{fails500: []string{"c50"}, flaky: map[int]bool{3: true}}
		d := newDropper(q)
		_, _, dropped, err := d.Run(context.Background(), sixtyColumns(), 1000)
		if err != nil || len(dropped) != 1 || dropped[0].Column.Name != "c50" {
			t.Fatalf("err = %v, dropped %v; want only c50", err, dropped)
		}
	})
	t.Run("two columns only fail together", func(t *testing.T) {
		q := &pairQuerier{}
		d := newDropper(q)
		_, _, dropped, err := d.Run(context.Background(), sixtyColumns(), 1000)
		if !ColumnFault(err) || len(dropped) != 0 {
			t.Fatalf("err = %v, dropped %v; want the error and no drop", err, dropped)
		}
	})
}

// pairQuerier fails with a 500 only when c01 and c40 are selected together.
type pairQuerier struct{}

func (pairQuerier) SuiteQL(_ context.Context, query string, _, _ int) (*Page, error) {
	if strings.Contains(query, "c01") && strings.Contains(query, "c40") {
		return nil, (&APIError{Status: 500, Code: "UNEXPECTED_ERROR", Detail: "x"}).classify()
	}
	return &Page{}, nil
}

// FuzzRejectedColumn: whatever NetSuite writes, the culprit read from it is one of the
// selected columns, and reading it never panics.
func FuzzRejectedColumn(f *testing.F) {
	f.Add(searchPreamble + "Field 'supportcase' for record 'calendarevent' was not found. Reason: NOT_EXPOSED - Not available for channel SUITEQL")
	f.Add(searchPreamble + "Unknown identifier 'balance'. Available identifiers are: {'id', 'balance'}")
	f.Add("Field ‘x’ '' \"\" {' '}")
	selected := []string{"supportcase", "balance", "id", "x"}
	f.Fuzz(func(t *testing.T, detail string) {
		err := (&APIError{Status: 400, Code: "INVALID_PARAMETER", Detail: detail}).classify()
		rej, ok := RejectedColumn(err, func(s string) bool { return slices.Contains(selected, s) })
		if ok && (!slices.Contains(selected, rej.Column) || rej.Reason == "" || len(rej.Reason) > 200) {
			t.Fatalf("RejectedColumn(%q) = %+v", detail, rej)
		}
	})
}
