package schema

// The parsers as they were before their fast paths, kept as test code only: the fast
// ones are checked against them (TestFastParsersMatchLegacy, FuzzFastParsersMatchLegacy).

import (
	"strconv"
	"strings"
	"time"
)

// legacyParseIDList is ParseIDList before the fast path: it appends to dst the internal ids of a Multiple Select value. NetSuite's
// rendering is not documented: ids separated by commas (with or without spaces),
// semicolons, whitespace or U+0005 (SuiteScript's multi-select separator) are accepted,
// and so are enclosing brackets. Anything else (display names, say) is refused.
func legacyParseIDList(s string, dst []int64) ([]int64, bool) {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && s[0] == '[' && s[len(s)-1] == ']' {
		s = s[1 : len(s)-1]
	}
	start := len(dst)
	for tok := range strings.FieldsFuncSeq(s, isIDSeparator) {
		v, err := strconv.ParseInt(tok, 10, 64)
		if err != nil {
			return dst, false
		}
		dst = append(dst, v)
	}
	return dst, len(dst) > start
}

// legacyParseDate is ParseDate before the fast path: it reads YYYY-MM-DD, rejecting out-of-range parts rather than normalising them.
func legacyParseDate(s string) (time.Time, bool) {
	if len(s) != len(DateLayout) || s[4] != '-' || s[7] != '-' {
		return time.Time{}, false
	}
	y, ok1 := digits(s[0:4])
	m, ok2 := digits(s[5:7])
	d, ok3 := digits(s[8:10])
	if !ok1 || !ok2 || !ok3 || !legacyValidDate(y, m, d) {
		return time.Time{}, false
	}
	return time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC), true
}

// legacyWallInstants is WallInstants before the fast path: it returns the instants that show wall time s in loc: first == last except in
// the repeated hour when clocks go back, where they are the two occurrences. A wall time
// skipped when clocks go forward maps past the gap, as time.Date does.
func legacyWallInstants(s string, loc *time.Location) (first, last time.Time, ok bool) {
	t, ok := legacyParseWall(s, loc)
	if !ok {
		return time.Time{}, time.Time{}, false
	}
	first, last = t, t
	for _, d := range []time.Duration{30 * time.Minute, time.Hour, 90 * time.Minute, 2 * time.Hour} {
		if e := t.Add(-d); e.In(loc).Format(DateTimeLayout) == s && e.Before(first) {
			first = e
		}
		if l := t.Add(d); l.In(loc).Format(DateTimeLayout) == s && l.After(last) {
			last = l
		}
	}
	return first, last, true
}

func legacyParseWall(s string, loc *time.Location) (time.Time, bool) {
	if len(s) != len(DateTimeLayout) || s[10] != ' ' || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	day, ok := legacyParseDate(s[:10])
	if !ok {
		return time.Time{}, false
	}
	h, ok1 := digits(s[11:13])
	mi, ok2 := digits(s[14:16])
	sec, ok3 := digits(s[17:19])
	if !ok1 || !ok2 || !ok3 || h > 23 || mi > 59 || sec > 59 {
		return time.Time{}, false
	}
	return time.Date(day.Year(), day.Month(), day.Day(), h, mi, sec, 0, loc), true
}

func legacyValidDate(y, m, d int) bool {
	if y < 1 || m < 1 || m > 12 || d < 1 {
		return false
	}
	return d <= time.Date(y, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

func isIDSeparator(r rune) bool {
	return r == ',' || r == ';' || r == '\u0005' || r == ' ' || r == '\t' || r == '\n' || r == '\r'
}

// legacyParseNumber is ParseNumber before the decimal fast path.
func legacyParseNumber(s string) (float64, bool) {
	if s == "" || strings.ContainsAny(s, "xXnN_iI") {
		return 0, false
	}
	v, err := strconv.ParseFloat(s, 64)
	return v, err == nil
}
