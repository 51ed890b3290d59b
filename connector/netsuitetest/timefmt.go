package netsuitetest

import (
	"fmt"
	"strings"
	"time"
)

// sessionZone performs the wall-clock ↔ instant conversions of the SuiteQL
// session time zone. Oracle resolves TO_TIMESTAMP text in the session zone and
// TO_CHAR renders in it, so every comparison or rendering goes through here.
type sessionZone struct {
	loc *time.Location
}

// offsetAt returns the zone's UTC offset in seconds at the given instant.
func (z sessionZone) offsetAt(sec int64) int64 {
	_, off := time.Unix(sec, 0).In(z.loc).Zone()
	return int64(off)
}

// wallOf returns the local wall-clock reading of an instant, expressed as
// seconds since the epoch as if the wall clock were UTC.
func (z sessionZone) wallOf(sec int64) int64 { return sec + z.offsetAt(sec) }

// resolve turns a local wall-clock reading into an instant. In the autumn
// overlap the earlier instant wins (Oracle's default for ambiguous local
// times); in the spring gap the time is pushed forward by the gap length.
// Go's time.Date leaves both cases unspecified, hence the explicit rule.
func (z sessionZone) resolve(wall int64) int64 {
	before := z.offsetAt(wall - 86400)
	after := z.offsetAt(wall + 86400)
	best, found := int64(0), false
	for _, off := range [2]int64{before, after} {
		inst := wall - off
		if z.offsetAt(inst) == off && (!found || inst < best) {
			best, found = inst, true
		}
	}
	if found {
		return best
	}
	// Nonexistent local time: read it with the pre-transition offset, which
	// lands the same distance past the transition as the wall time is past
	// the start of the gap.
	return wall - before
}

// localMidnight is the instant at which the calendar date begins in the zone.
func (z sessionZone) localMidnight(y int, m time.Month, d int) int64 {
	return z.resolve(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix())
}

// in returns the instant as a time.Time in the session zone.
func (z sessionZone) in(sec int64) time.Time { return time.Unix(sec, 0).In(z.loc) }

// dtElemKind is one element of an Oracle datetime format model.
type dtElemKind uint8

const (
	dtLiteral dtElemKind = iota
	dtYYYY
	dtMM
	dtDD
	dtHH24
	dtHH12
	dtMI
	dtSS
	dtFF
	dtMeridian
)

type dtElem struct {
	kind  dtElemKind
	lit   string // dtLiteral
	ff    int    // dtFF: digits, 0 = unspecified
	lower bool   // dtMeridian: render "am"/"pm"
}

// dtFormat is a parsed Oracle datetime format model such as
// 'YYYY-MM-DD"T"HH24:MI:SS'.
type dtFormat struct {
	src   string
	elems []dtElem
}

// dtFormatUse says which Oracle function a format belongs to, because the
// allowed elements differ (FF is a TIMESTAMP element, not a DATE one).
type dtFormatUse uint8

const (
	useToChar dtFormatUse = iota
	useToDate
	useToTimestamp
)

// parseDTFormat parses the subset of Oracle datetime format elements the fake
// supports. Unknown elements are rejected as Oracle would (ORA-01821), so that
// a connector never relies on something the fake silently ignores.
func parseDTFormat(src string, use dtFormatUse) (dtFormat, error) {
	f := dtFormat{src: src}
	seen := map[dtElemKind]bool{}
	s := src
	for len(s) > 0 {
		c := s[0]
		switch {
		case c == '"':
			end := strings.IndexByte(s[1:], '"')
			if end < 0 {
				return dtFormat{}, fmt.Errorf("date format not recognized: unterminated quoted literal in %q", src)
			}
			f.elems = append(f.elems, dtElem{kind: dtLiteral, lit: s[1 : 1+end]})
			s = s[end+2:]
			continue
		case strings.IndexByte("-/:,.; ", c) >= 0:
			f.elems = append(f.elems, dtElem{kind: dtLiteral, lit: s[:1]})
			s = s[1:]
			continue
		}
		up := strings.ToUpper(s)
		var e dtElem
		n := 0
		switch {
		case strings.HasPrefix(up, "YYYY"):
			e, n = dtElem{kind: dtYYYY}, 4
		case strings.HasPrefix(up, "HH24"):
			e, n = dtElem{kind: dtHH24}, 4
		case strings.HasPrefix(up, "HH12"):
			e, n = dtElem{kind: dtHH12}, 4
		case strings.HasPrefix(up, "HH"):
			e, n = dtElem{kind: dtHH12}, 2
		case strings.HasPrefix(up, "MI"):
			e, n = dtElem{kind: dtMI}, 2
		case strings.HasPrefix(up, "MM"):
			e, n = dtElem{kind: dtMM}, 2
		case strings.HasPrefix(up, "DD"):
			e, n = dtElem{kind: dtDD}, 2
		case strings.HasPrefix(up, "SS"):
			e, n = dtElem{kind: dtSS}, 2
		case strings.HasPrefix(up, "FF"):
			e, n = dtElem{kind: dtFF}, 2
			if len(up) > 2 && up[2] >= '1' && up[2] <= '9' {
				e.ff = int(up[2] - '0')
				n = 3
			}
			if use == useToDate {
				return dtFormat{}, fmt.Errorf("date format not recognized: %q (FF is only valid for TIMESTAMP, use TO_TIMESTAMP)", src)
			}
		case strings.HasPrefix(up, "AM"), strings.HasPrefix(up, "PM"):
			e, n = dtElem{kind: dtMeridian, lower: c >= 'a' && c <= 'z'}, 2
		default:
			return dtFormat{}, fmt.Errorf("date format not recognized: unsupported element at %q in %q", s, src)
		}
		if use != useToChar {
			if seen[e.kind] {
				return dtFormat{}, fmt.Errorf("format code appears twice in %q", src)
			}
			seen[e.kind] = true
		}
		f.elems = append(f.elems, e)
		s = s[n:]
	}
	if use != useToChar && seen[dtHH24] && seen[dtMeridian] {
		return dtFormat{}, fmt.Errorf("'HH24' precludes use of meridian indicator in %q", src)
	}
	return f, nil
}

// format renders t (already in the session zone) with the format model.
func (f dtFormat) format(t time.Time) string { return string(f.appendFormat(nil, t)) }

// appendFormat appends t rendered with the format model. Sub-second digits
// are always zero: stored datetimes have second precision.
func (f dtFormat) appendFormat(b []byte, t time.Time) []byte {
	year, month, day := t.Date()
	hour, minute, sec := t.Clock()
	two := func(v int) { b = append(b, byte('0'+v/10%10), byte('0'+v%10)) }
	for _, e := range f.elems {
		switch e.kind {
		case dtLiteral:
			b = append(b, e.lit...)
		case dtYYYY:
			two(year / 100)
			two(year % 100)
		case dtMM:
			two(int(month))
		case dtDD:
			two(day)
		case dtHH24:
			two(hour)
		case dtHH12:
			h := hour % 12
			if h == 0 {
				h = 12
			}
			two(h)
		case dtMI:
			two(minute)
		case dtSS:
			two(sec)
		case dtFF:
			n := e.ff
			if n == 0 {
				n = 6 // Oracle's default TIMESTAMP precision
			}
			for range n {
				b = append(b, '0')
			}
		case dtMeridian:
			m := "AM"
			if hour >= 12 {
				m = "PM"
			}
			if e.lower {
				m = strings.ToLower(m)
			}
			b = append(b, m...)
		}
	}
	return b
}

// wallPrecision reports whether the rendered text sorts exactly like the
// local wall-clock time truncated to some unit, and that unit in seconds.
// That holds when the fields appear most-significant first (YYYY, MM, DD,
// HH24, MI, SS) with fixed widths; it lets ORDER BY on a TO_CHAR alias sort by
// numbers instead of formatting every row.
func (f dtFormat) wallPrecision() (unit int64, ok bool) {
	order := []dtElemKind{dtYYYY, dtMM, dtDD, dtHH24, dtMI, dtSS}
	units := []int64{0, 0, 86400, 3600, 60, 1}
	next := 0
	for _, e := range f.elems {
		switch e.kind {
		case dtLiteral:
			continue
		case dtFF:
			if next == len(order) {
				continue // always zeros
			}
			return 0, false
		}
		if next >= len(order) || e.kind != order[next] {
			return 0, false
		}
		next++
	}
	if next < 3 {
		// Year or year-month only: sorting needs calendar truncation, not a
		// fixed unit; fall back to text.
		return 0, false
	}
	return units[next-1], true
}

// wallTime is a parsed TO_DATE/TO_TIMESTAMP value before zone resolution.
type wallTime struct {
	sec  int64 // wall-clock seconds since the epoch, as if UTC
	nsec int32
}

// parse reads text with the format model like Oracle's TO_DATE/TO_TIMESTAMP
// (without the FX modifier): numbers may have fewer digits than the element,
// trailing elements may be missing (they default), but extra input is an
// error. now supplies Oracle's defaults for a missing year and month.
func (f dtFormat) parse(text string, now time.Time) (wallTime, error) {
	year, month, day := now.Year(), int(now.Month()), 1
	hour, minute, sec, nsec := 0, 0, 0, 0
	pm, hour12 := false, false
	pos := 0
	num := func(maxDigits int) (int, int, error) {
		start := pos
		v := 0
		for pos < len(text) && pos-start < maxDigits && text[pos] >= '0' && text[pos] <= '9' {
			v = v*10 + int(text[pos]-'0')
			pos++
		}
		if pos == start {
			return 0, 0, fmt.Errorf("a non-numeric character was found where a numeric was expected in %q (format %q)", text, f.src)
		}
		return v, pos - start, nil
	}
	for _, e := range f.elems {
		if pos >= len(text) {
			break
		}
		var err error
		switch e.kind {
		case dtLiteral:
			if !strings.HasPrefix(text[pos:], e.lit) {
				return wallTime{}, fmt.Errorf("literal does not match format string: %q vs format %q", text, f.src)
			}
			pos += len(e.lit)
		case dtYYYY:
			year, _, err = num(4)
		case dtMM:
			month, _, err = num(2)
		case dtDD:
			day, _, err = num(2)
		case dtHH24:
			hour, _, err = num(2)
		case dtHH12:
			hour, _, err = num(2)
			hour12 = true
		case dtMI:
			minute, _, err = num(2)
		case dtSS:
			sec, _, err = num(2)
		case dtFF:
			maxDigits := e.ff
			if maxDigits == 0 {
				maxDigits = 9
			}
			var v, n int
			v, n, err = num(maxDigits)
			for ; n < 9; n++ {
				v *= 10
			}
			nsec = v
		case dtMeridian:
			rest := strings.ToUpper(text[pos:])
			switch {
			case strings.HasPrefix(rest, "AM"):
			case strings.HasPrefix(rest, "PM"):
				pm = true
			default:
				return wallTime{}, fmt.Errorf("AM/A.M. or PM/P.M. required in %q (format %q)", text, f.src)
			}
			pos += 2
		}
		if err != nil {
			return wallTime{}, err
		}
	}
	if pos < len(text) {
		return wallTime{}, fmt.Errorf("date format picture ends before converting entire input string %q (format %q)", text, f.src)
	}
	switch {
	case year < 1 || year > 9999:
		return wallTime{}, fmt.Errorf("year must be between 1 and 9999 in %q", text)
	case month < 1 || month > 12:
		return wallTime{}, fmt.Errorf("not a valid month in %q", text)
	case day < 1 || day > daysIn(year, time.Month(month)):
		return wallTime{}, fmt.Errorf("day of month must be between 1 and last day of month in %q", text)
	case minute > 59:
		return wallTime{}, fmt.Errorf("minutes must be between 0 and 59 in %q", text)
	case sec > 59:
		return wallTime{}, fmt.Errorf("seconds of minute must be between 0 and 59 in %q", text)
	}
	if hour12 {
		if hour < 1 || hour > 12 {
			return wallTime{}, fmt.Errorf("hour must be between 1 and 12 in %q", text)
		}
		hour %= 12
		if pm {
			hour += 12
		}
	} else if hour > 23 {
		return wallTime{}, fmt.Errorf("hour must be between 0 and 23 in %q", text)
	}
	w := time.Date(year, time.Month(month), day, hour, minute, sec, 0, time.UTC).Unix()
	return wallTime{sec: w, nsec: int32(nsec)}, nil
}

func daysIn(year int, m time.Month) int {
	return time.Date(year, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}
