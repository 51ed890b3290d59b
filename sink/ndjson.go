package sink

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
)

const ndjsonBufferSize = 256 << 10

// ndjsonEncoder writes one JSON object per row, keys in schema order, every key present.
// A list<int64> cell is a JSON array of integers: [1,2,3], [] when empty, null when NULL.
// Values are appended by hand into one reused line buffer: no reflection, no per-cell
// allocation, and memory stays flat however many rows pass through.
type ndjsonEncoder struct {
	bw    *bufio.Writer
	cols  []column
	keys  [][]byte // `{"name":` for the first column, `,"name":` for the others
	views []ndView // per-column typed views of the current record, reused
	line  []byte
	// Singer mode wraps each object: prefix before it, suffix after it, and extra
	// appends members to it (given the row).
	prefix, suffix []byte
	extra          func(dst []byte, row int) ([]byte, error)
}

// ndView holds the typed values of one column of the current record, so the per-cell
// work is a switch on kind and a slice index.
type ndView struct {
	arr      arrow.Array
	hasNulls bool
	i64      []int64
	f64      []float64
	bools    *array.Boolean
	offs     []int32 // string offsets, relative to offs[0]
	data     []byte
	ts       []arrow.Timestamp
	dates    []arrow.Date32
	list     int64List
}

func newNDJSONEncoder(out io.Writer, cols []column) *ndjsonEncoder {
	keys := make([][]byte, len(cols))
	for i, c := range cols {
		sep := byte(',')
		if i == 0 {
			sep = '{'
		}
		keys[i] = append(appendJSONString([]byte{sep}, []byte(c.name)), ':')
	}
	return &ndjsonEncoder{
		bw:    bufio.NewWriterSize(out, ndjsonBufferSize),
		cols:  cols,
		keys:  keys,
		views: make([]ndView, len(cols)),
	}
}

func (e *ndjsonEncoder) write(rec arrow.Record) error {
	n := int(rec.NumRows())
	if err := e.bind(rec, n); err != nil {
		return err
	}
	// Drop references to rec's buffers when done: the File must not retain the record.
	defer clear(e.views)

	for i := range n {
		line := append(e.line[:0], e.prefix...)
		for c := range e.cols {
			line = append(line, e.keys[c]...)
			var err error
			if line, err = e.appendCell(line, c, i); err != nil {
				return fmt.Errorf("column %q, row %d of the batch: %w", e.cols[c].name, i, err)
			}
		}
		if e.extra != nil {
			var err error
			if line, err = e.extra(line, i); err != nil {
				return fmt.Errorf("row %d of the batch: %w", i, err)
			}
		}
		line = append(line, '}')
		line = append(line, e.suffix...)
		line = append(line, '\n')
		e.line = line
		if _, err := e.bw.Write(line); err != nil {
			return err
		}
	}
	return nil
}

// bind checks each column's array and captures its typed values.
func (e *ndjsonEncoder) bind(rec arrow.Record, n int) error {
	for c, col := range e.cols {
		arr := rec.Column(c)
		if arr.Len() != n {
			return fmt.Errorf("column %q has %d values, the record has %d rows", col.name, arr.Len(), n)
		}
		v := ndView{arr: arr, hasNulls: arr.NullN() > 0}
		if v.hasNulls && !col.nullable {
			for i := range n {
				if arr.IsNull(i) {
					return fmt.Errorf("column %q is not nullable but row %d is null", col.name, i)
				}
			}
		}
		ok := true
		switch col.kind {
		case kindInt64:
			var a *array.Int64
			if a, ok = arr.(*array.Int64); ok {
				v.i64 = a.Int64Values()
			}
		case kindFloat64:
			var a *array.Float64
			if a, ok = arr.(*array.Float64); ok {
				v.f64 = a.Float64Values()
			}
		case kindBool:
			v.bools, ok = arr.(*array.Boolean)
		case kindString:
			var a *array.String
			if a, ok = arr.(*array.String); ok {
				v.offs, v.data = a.ValueOffsets(), a.ValueBytes()
			}
		case kindTimestamp:
			var a *array.Timestamp
			if a, ok = arr.(*array.Timestamp); ok {
				v.ts = a.TimestampValues()
			}
		case kindDate32:
			var a *array.Date32
			if a, ok = arr.(*array.Date32); ok {
				v.dates = a.Date32Values()
			}
		case kindInt64List:
			var err error
			if v.list, err = bindInt64List(col, arr, n); err != nil {
				return err
			}
		}
		if !ok {
			return badArray(col, arr)
		}
		e.views[c] = v
	}
	return nil
}

func (e *ndjsonEncoder) appendCell(dst []byte, c, i int) ([]byte, error) {
	v := &e.views[c]
	if v.hasNulls && v.arr.IsNull(i) {
		return append(dst, "null"...), nil
	}
	switch e.cols[c].kind {
	case kindInt64:
		return strconv.AppendInt(dst, v.i64[i], 10), nil
	case kindFloat64:
		return appendJSONFloat(dst, v.f64[i])
	case kindBool:
		return strconv.AppendBool(dst, v.bools.Value(i)), nil
	case kindString:
		base := v.offs[0]
		return appendJSONString(dst, v.data[v.offs[i]-base:v.offs[i+1]-base]), nil
	case kindTimestamp:
		return appendTimestamp(dst, int64(v.ts[i]))
	case kindDate32:
		return appendDate(dst, int64(v.dates[i]))
	case kindInt64List:
		dst = append(dst, '[')
		for j, x := range v.list.elems[v.list.offs[i]:v.list.offs[i+1]] {
			if j > 0 {
				dst = append(dst, ',')
			}
			dst = strconv.AppendInt(dst, x, 10)
		}
		return append(dst, ']'), nil
	}
	return dst, fmt.Errorf("unhandled kind %d", e.cols[c].kind)
}

func (e *ndjsonEncoder) finish() error { return e.bw.Flush() }

// appendJSONFloat formats like encoding/json: shortest representation that round-trips,
// plain notation for 1e-6 <= |f| < 1e21, exponent notation (e-7, not e-07) otherwise.
// JSON has no NaN or infinity, so those are errors rather than a silent null.
func appendJSONFloat(dst []byte, f float64) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return dst, fmt.Errorf("float value %v cannot be written as JSON", f)
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		if n := len(dst); n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst, nil
}

// jsonSafe[b] reports whether ASCII byte b can appear unescaped inside a JSON string.
// Unlike encoding/json's default, <, > and & are left alone: this is data, not HTML.
var jsonSafe = func() (t [utf8.RuneSelf]bool) {
	for b := 0x20; b < utf8.RuneSelf; b++ {
		t[b] = b != '"' && b != '\\'
	}
	return t
}()

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a quoted JSON string with encoding/json's escaping rules
// (minus HTML escaping): ", \ and control characters are escaped, invalid UTF-8 becomes
// U+FFFD, and U+2028/U+2029 are escaped because JavaScript treats them as line ends.
// strconv.Quote is not used: its \x and \U escapes are not valid JSON.
func appendJSONString(dst, s []byte) []byte {
	dst = append(dst, '"')
	start := 0 // s[start:i] is pending, to be copied verbatim
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if jsonSafe[b] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '"', '\\':
				dst = append(dst, '\\', b)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// Civil-date limits of the RFC 3339 / ISO 8601 four-digit year.
const (
	minDay          = -719528 // 0000-01-01
	maxDay          = 2932896 // 9999-12-31
	microsPerDay    = 86_400_000_000
	microsPerSecond = 1_000_000
)

// appendDate appends days since 1970-01-01 as "YYYY-MM-DD".
func appendDate(dst []byte, days int64) ([]byte, error) {
	if days < minDay || days > maxDay {
		return dst, fmt.Errorf("date32 value %d is outside years 0000-9999", days)
	}
	dst = append(dst, '"')
	dst = appendCivil(dst, days)
	return append(dst, '"'), nil
}

// appendTimestamp appends microseconds since the epoch as an RFC 3339 UTC string,
// "2024-03-10T09:30:00Z", with fractional seconds (trailing zeros trimmed) only when
// they are non-zero — the same text time.RFC3339Nano produces.
func appendTimestamp(dst []byte, us int64) ([]byte, error) {
	days := us / microsPerDay
	rem := us % microsPerDay
	if rem < 0 {
		days--
		rem += microsPerDay
	}
	if days < minDay || days > maxDay {
		return dst, fmt.Errorf("timestamp value %d µs is outside years 0000-9999", us)
	}
	secs, frac := rem/microsPerSecond, rem%microsPerSecond
	dst = append(dst, '"')
	dst = appendCivil(dst, days)
	dst = append(dst, 'T')
	dst = append2(dst, secs/3600)
	dst = append(dst, ':')
	dst = append2(dst, secs/60%60)
	dst = append(dst, ':')
	dst = append2(dst, secs%60)
	if frac != 0 {
		var digits [6]byte
		for j := 5; j >= 0; j-- {
			digits[j] = byte('0' + frac%10)
			frac /= 10
		}
		n := 6
		for digits[n-1] == '0' {
			n--
		}
		dst = append(dst, '.')
		dst = append(dst, digits[:n]...)
	}
	return append(dst, 'Z', '"'), nil
}

// appendCivil appends "YYYY-MM-DD" for days since 1970-01-01 (proleptic Gregorian), using
// Howard Hinnant's days_from_civil inverse. days must be within [minDay, maxDay].
func appendCivil(dst []byte, days int64) []byte {
	z := days + 719468 // days since 0000-03-01; negative for Jan and Feb of year 0
	era := z / 146097  // floor division: 400-year eras
	if z < 0 {
		era = (z - 146096) / 146097
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if m > 12 {
		m -= 12
	}
	if m <= 2 {
		y++
	}
	dst = append2(dst, y/100)
	dst = append2(dst, y%100)
	dst = append(dst, '-')
	dst = append2(dst, m)
	dst = append(dst, '-')
	return append2(dst, d)
}

func append2(dst []byte, v int64) []byte {
	return append(dst, byte('0'+v/10), byte('0'+v%10))
}
