package netsuitetest

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// SuiteQL over REST returns every value as a JSON string. This file turns
// typed values into those strings the way NetSuite/Oracle does.

// oracleNumber renders a float like Oracle's default NUMBER-to-text
// conversion: no leading zero before the decimal point (".5", "-.25"), no
// trailing zeros, no exponent for ordinary magnitudes.
func oracleNumber(f float64) string {
	if f == 0 {
		return "0" // also folds -0
	}
	abs := math.Abs(f)
	if abs >= 1e38 || abs < 1e-30 {
		// Oracle switches to scientific notation only for extreme values.
		return strings.ToUpper(strconv.FormatFloat(f, 'E', -1, 64))
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	switch {
	case strings.HasPrefix(s, "0."):
		s = s[1:]
	case strings.HasPrefix(s, "-0."):
		s = "-" + s[2:]
	}
	return s
}

// dateDisplay is the user's date-format preference used for raw date and
// datetime columns (NetSuite returns them date-only in that format).
type dateDisplay struct {
	elems []string // "YYYY", "MM", "M", "DD", "D" or a literal separator
}

func parseDateDisplay(pref string) (dateDisplay, error) {
	var d dateDisplay
	seen := map[byte]bool{}
	for s := pref; len(s) > 0; {
		switch {
		case strings.HasPrefix(s, "YYYY"):
			d.elems = append(d.elems, "YYYY")
			seen['Y'] = true
			s = s[4:]
		case strings.HasPrefix(s, "MM"), strings.HasPrefix(s, "DD"):
			d.elems = append(d.elems, s[:2])
			seen[s[0]] = true
			s = s[2:]
		case s[0] == 'M' || s[0] == 'D':
			d.elems = append(d.elems, s[:1])
			seen[s[0]] = true
			s = s[1:]
		case strings.IndexByte("/-. ", s[0]) >= 0:
			d.elems = append(d.elems, s[:1])
			s = s[1:]
		default:
			return dateDisplay{}, fmt.Errorf("unsupported date format preference %q (want e.g. M/D/YYYY, D/M/YYYY, YYYY-MM-DD)", pref)
		}
	}
	if !seen['Y'] || !seen['M'] || !seen['D'] {
		return dateDisplay{}, fmt.Errorf("date format preference %q needs YYYY, M and D", pref)
	}
	return d, nil
}

// format renders the calendar date of a wall-clock reading.
func (d dateDisplay) appendDate(b []byte, wall int64) []byte {
	y, m, day := time.Unix(wall, 0).UTC().Date()
	for _, e := range d.elems {
		switch e {
		case "YYYY":
			b = append(b, byte('0'+y/1000%10), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10))
		case "MM":
			b = append(b, byte('0'+int(m)/10), byte('0'+int(m)%10))
		case "M":
			b = strconv.AppendInt(b, int64(m), 10)
		case "DD":
			b = append(b, byte('0'+day/10), byte('0'+day%10))
		case "D":
			b = strconv.AppendInt(b, int64(day), 10)
		default:
			b = append(b, e...)
		}
	}
	return b
}

// renderer writes result items.
type renderer struct {
	dates     dateDisplay
	upperKeys bool
	sessionTZ string
}

// appendValue appends the JSON string for item it of row r, or reports false
// when the value is NULL and the key must be omitted.
func (rd *renderer) appendValue(b []byte, it *outItem, r int) ([]byte, bool) {
	if it.kind == itemSessionTZ {
		return appendJSONString(b, rd.sessionTZ), true
	}
	c := it.col
	if !c.valid[r] {
		return b, false
	}
	if it.kind == itemToChar {
		// Formats only emit digits, separators and quoted literals; the
		// literals may still need JSON escaping, so escape the whole text.
		var buf [64]byte
		return appendJSONString(b, string(it.format.appendFormat(buf[:0], time.Unix(c.wall[r], 0).UTC()))), true
	}
	switch c.Type {
	case TypeText:
		return appendJSONString(b, c.strs[r]), true
	case TypeInteger:
		b = append(b, '"')
		b = strconv.AppendInt(b, c.ints[r], 10)
		return append(b, '"'), true
	case TypeFloat:
		if c.fk == fkPercent {
			b = append(b, '"')
			b = appendPercent(b, c.floats[r], c.pct)
			return append(b, '"'), true
		}
		return appendJSONString(b, oracleNumber(c.floats[r])), true
	case TypeBool:
		if c.ints[r] != 0 {
			return append(b, `"T"`...), true
		}
		return append(b, `"F"`...), true
	case TypeDate, TypeDatetime:
		b = append(b, '"')
		b = rd.dates.appendDate(b, c.wall[r])
		return append(b, '"'), true
	}
	return b, false
}

func (rd *renderer) key(k string) string {
	if rd.upperKeys {
		return strings.ToUpper(k)
	}
	return k
}

// appendJSONString appends s as a JSON string literal. Invalid UTF-8 is
// replaced like encoding/json does.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
