package connector

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/extract-dev/extract/schema"
)

var offsetZone = regexp.MustCompile(`^([+-])(\d{1,2}):(\d{2})$`)

// ParseSessionZone reads an Oracle SESSIONTIMEZONE value: a region name
// ("America/Los_Angeles") or an offset ("-08:00", "+05:30").
func ParseSessionZone(v string) (*time.Location, error) {
	v = strings.TrimSpace(v)
	if m := offsetZone.FindStringSubmatch(v); m != nil {
		h, _ := strconv.Atoi(m[2])
		mi, _ := strconv.Atoi(m[3])
		if h > 14 || mi > 59 {
			return nil, fmt.Errorf("time zone offset %q is out of range", v)
		}
		secs := h*3600 + mi*60
		if m[1] == "-" {
			secs = -secs
		}
		if secs == 0 {
			return time.UTC, nil
		}
		return time.FixedZone(v, secs), nil
	}
	if v == "" {
		return nil, fmt.Errorf("empty time zone")
	}
	loc, err := time.LoadLocation(v)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q: %w", v, err)
	}
	return loc, nil
}

// SafeBound returns t (to the second) or the nearest earlier instant whose wall time in loc
// names exactly one instant. A bound that falls in the repeated autumn hour could be read
// by NetSuite as either instant; moving a bound earlier only re-reads rows, never skips one.
func SafeBound(t time.Time, loc *time.Location) time.Time {
	t = t.Truncate(time.Second)
	for i := 0; i < 16 && ambiguous(t, loc); i++ {
		t = t.Add(-30 * time.Minute)
	}
	return t
}

// ambiguous reports whether another instant within two hours shows the same wall time.
func ambiguous(t time.Time, loc *time.Location) bool {
	wall := t.In(loc).Format(schema.DateTimeLayout)
	for _, d := range []time.Duration{30 * time.Minute, time.Hour, 90 * time.Minute, 2 * time.Hour} {
		if t.Add(d).In(loc).Format(schema.DateTimeLayout) == wall || t.Add(-d).In(loc).Format(schema.DateTimeLayout) == wall {
			return true
		}
	}
	return false
}

// Overlap is the span of instants around a backward clock change (the autumn repeated
// hour) in which every wall time names two instants: [Start, End).
type Overlap struct{ Start, End time.Time }

// OverlapOf returns the overlap that contains wall time s, if s is ambiguous in loc.
func OverlapOf(s string, loc *time.Location) (Overlap, bool) {
	first, last, ok := schema.WallInstants(s, loc)
	if !ok || first.Equal(last) {
		return Overlap{}, false
	}
	change, _ := last.In(loc).ZoneBounds() // the instant the clocks went back
	d := last.Sub(first)
	return Overlap{Start: change.Add(-d), End: change.Add(d)}, true
}
