package netsuitetest

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestGenerateDeterministic(t *testing.T) {
	a := startServer(t, Options{Rows: map[string]int{"task": 300, "customer": 300}, Seed: 1})
	b := startServer(t, Options{Rows: map[string]int{"task": 300}, Seed: 1})
	c := startServer(t, Options{Rows: map[string]int{"task": 300}, Seed: 2})
	if !reflect.DeepEqual(a.Truth("task"), b.Truth("task")) {
		t.Error("same seed, different data (and tables must not influence each other)")
	}
	if reflect.DeepEqual(a.Truth("task"), c.Truth("task")) {
		t.Error("different seeds, same data")
	}
}

// TestGeneratedShape checks the properties tests rely on: ids with gaps,
// lastmodifieddate ties and DST placement, NULLs, both booleans, awkward
// numbers and text.
func TestGeneratedShape(t *testing.T) {
	const n = 20_000
	s := startServer(t, Options{Rows: map[string]int{"customer": n, "calendarevent": 200}, Seed: 99})
	rows := s.Truth("customer")
	if len(rows) != n {
		t.Fatalf("%d rows, want %d", len(rows), n)
	}
	if rows[0]["id"] != int64(1) || rows[n-1]["id"].(int64) <= n || rows[n-1]["id"].(int64) >= FixtureIDMin {
		t.Errorf("ids %v..%v: want 1..>N with gaps, below the fixture range", rows[0]["id"], rows[n-1]["id"])
	}

	latest := fixedNow.Add(-24 * time.Hour)
	earliest := fixedNow.AddDate(-2, 0, -3)
	ties := map[time.Time]int{}
	nulls := map[string]int{}
	bools := map[bool]int{}
	var neg, zero, frac, unicode, newline, firstPass, secondPass, spring int
	for _, r := range rows {
		lmd := r["lastmodifieddate"].(time.Time)
		if lmd.After(latest) || lmd.Before(earliest) {
			t.Fatalf("id %v: lastmodifieddate %v outside [%v, %v]", r["id"], lmd, earliest, latest)
		}
		if r["datecreated"].(time.Time).After(lmd) {
			t.Fatalf("id %v: datecreated after lastmodifieddate", r["id"])
		}
		ties[lmd]++
		for k, v := range r {
			if v == nil {
				nulls[k]++
			}
		}
		bools[r["isinactive"].(bool)]++
		if f, ok := r["balance"].(float64); ok {
			switch {
			case f < 0:
				neg++
			case f == 0:
				zero++
			}
			if f != float64(int64(f)) {
				frac++
			}
		}
		if name, ok := r["companyname"].(string); ok && strings.ContainsAny(name, "é中🚀") {
			unicode++
		}
		local := lmd.In(s.zone.loc)
		if local.Month() == time.November && local.Hour() == 1 && local.Weekday() == time.Sunday && local.Day() <= 7 {
			if _, off := local.Zone(); off == -7*3600 {
				firstPass++
			} else {
				secondPass++
			}
		}
		if local.Month() == time.March && local.Weekday() == time.Sunday && local.Day() >= 8 && local.Day() <= 14 && local.Hour() <= 4 {
			spring++
		}
	}
	maxTie := 0
	for _, c := range ties {
		maxTie = max(maxTie, c)
	}
	if maxTie < 50 {
		t.Errorf("largest lastmodifieddate tie %d, want bursts ≥ 50", maxTie)
	}
	if firstPass == 0 || secondPass == 0 || spring == 0 {
		t.Errorf("DST rows: autumn first pass %d, second pass %d, spring %d; want some of each", firstPass, secondPass, spring)
	}
	for _, col := range []string{"email", "phone", "parent", "firstorderdate", "externalid", "creditlimit"} {
		if nulls[col] == 0 || nulls[col] == n {
			t.Errorf("column %s: %d NULLs of %d", col, nulls[col], n)
		}
	}
	if bools[true] == 0 || bools[false] == 0 || neg == 0 || zero == 0 || frac == 0 || unicode == 0 {
		t.Errorf("bools %v negative %d zero %d fractional %d unicode %d", bools, neg, zero, frac, unicode)
	}
	for _, r := range s.Truth("calendarevent") {
		if m, ok := r["message"].(string); ok {
			if strings.Contains(m, "\n") {
				newline++
			}
		}
	}
	if newline == 0 {
		t.Error("no multi-line messages")
	}
}

// TestGeneratedColumnsCovered: every catalog column of every table gets
// non-NULL values (a column without a generator rule would stay NULL).
func TestGeneratedColumnsCovered(t *testing.T) {
	rows := map[string]int{}
	for _, name := range Tables() {
		rows[name] = 500
	}
	s := startServer(t, Options{Rows: rows, Seed: 4})
	for _, name := range Tables() {
		seen := map[string]bool{}
		for _, r := range s.Truth(name) {
			for k, v := range r {
				if v != nil {
					seen[k] = true
				}
			}
		}
		for _, c := range s.Columns(name) {
			if !seen[c.Name] {
				t.Errorf("%s.%s is always NULL", name, c.Name)
			}
		}
	}
}
