package connector

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"github.com/extract-dev/extract/schema"
)

// Page is one decoded SuiteQL page.
type Page struct {
	Items []schema.RawRow
	// Cols holds the rows instead of Items when the page was decoded column by column
	// (DecodePageItems, or a client asked with ItemsContext).
	Cols         *schema.Items
	HasMore      bool
	TotalResults int
	Offset       int
}

// ItemError is a page whose JSON is sound but one of whose rows carries a value no
// connector could use (text that is not UTF-8). It names the row and the key, and it is a
// data error: asking again returns the same row.
type ItemError struct {
	Index  int    // position in the page
	ID     string // the item's id, if it has a readable one
	Key    string
	Reason string
}

func (e *ItemError) Error() string {
	id := e.ID
	if id == "" {
		id = "(unknown)"
	}
	return fmt.Sprintf("item %d, id %s, column %s: %s", e.Index, id, e.Key, e.Reason)
}

// DecodePage parses a SuiteQL response body. Keys are lowercased, NULLs and the per-item
// "links" are dropped, and non-string scalars are rendered the way NetSuite renders them
// as text, so the typed conversion downstream sees one representation. A nested value
// (never sent for the columns we select) is kept as its JSON text: an undeclared key is
// ignored downstream and a declared one fails its column's parser by name.
//
// It accepts what encoding/json accepts and decodes values as it does (a repeated key:
// the last one wins), with two exceptions, both refusals: text that is not UTF-8 (bad
// bytes, lone surrogate escapes), which encoding/json would quietly turn into U+FFFD,
// and two keys of one item that differ only in case.
//
// The body is scanned once, by hand: values are copied into blocks shared by many of
// them (see keep), and the keys, the same on every row, are interned and recognised by
// position, so a row costs its map and little else. No reference to body is kept: the
// caller may reuse it.
func DecodePage(body []byte) (*Page, error) { return decodePage(body, false) }

// DecodePageItems is DecodePage with the rows in Page.Cols, column by column, and
// Page.Items nil: no map per row, for the paths that convert every row.
func DecodePageItems(body []byte) (*Page, error) { return decodePage(body, true) }

func decodePage(body []byte, columns bool) (*Page, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, fmt.Errorf("empty body")
	}
	d := decoders.Get().(*decoder)
	defer d.release()
	d.reset(body)
	d.cols = nil
	if columns {
		d.cols = &schema.Items{}
		d.pageNo++
	}
	return d.page()
}

// decoders keeps decoders, and with them the interned keys of the streams read lately.
var decoders = sync.Pool{New: func() any { return &decoder{} }}

// maxInterned bounds the interned keys: a page of unexpected keys grows the table for
// that page only.
const maxInterned = 4096

// maxDepth is encoding/json's nesting limit, so that the two accept the same bodies.
const maxDepth = 10000

type decoder struct {
	b     []byte // the body
	i     int    // read position
	err   error  // the first syntax error; once set, every step fails
	arena []byte // where values are copied to; see keep

	keys   map[string]*keyInfo  // a key as decoded (case kept) → its facts
	lowers map[string]*lowerKey // lowercased key → the one string used in rows
	order  []*keyInfo           // keys in the order items have shown them (see itemKey)
	stamp  uint64               // numbers objects, for duplicate detection
	hint   int                  // size of the next row map
	buf    []byte               // scratch for unescaping
	slow   []member             // scratch for items with a repeated key

	cols     *schema.Items // the rows, when decoded column by column (rows are then nil)
	lastRows int           // items on the last page
	pageNo   uint64        // numbers the pages decoded column by column
}

// keyInfo is one distinct key (as decoded, case kept).
type keyInfo struct {
	quoted string // `"name"` when the key is written without escapes (as valid UTF-8), else ""
	pos    int    // index in decoder.order, or -1
	lower  *lowerKey
	links  bool   // the per-item "links", dropped
	seen   uint64 // stamp of the object it was last seen in
}

// lowerKey is one key as rows carry it.
type lowerKey struct {
	name    string
	seen    uint64
	col     int32  // its index in the Keys of page colPage
	colPage uint64 // decoded column by column
}

// newRow starts a row: a map, or (column by column) nothing, its cells being appended.
func (d *decoder) newRow(size int) schema.RawRow {
	if d.cols != nil {
		return nil
	}
	return make(schema.RawRow, size)
}

// put sets a value of the row being read.
func (d *decoder) put(row schema.RawRow, k *lowerKey, text string) {
	if d.cols == nil {
		row[k.name] = text
		return
	}
	if k.colPage != d.pageNo {
		k.colPage, k.col = d.pageNo, int32(len(d.cols.Keys))
		d.cols.Keys = append(d.cols.Keys, k.name)
	}
	d.cols.Cells = append(d.cols.Cells, schema.Cell{Key: k.col, Value: text})
}

// idOf returns the "id" of the row being read (its cells from start, column by column).
func (d *decoder) idOf(row schema.RawRow, start int) string {
	if d.cols == nil {
		return row["id"]
	}
	for _, c := range d.cols.Cells[start:] {
		if d.cols.Keys[c.Key] == "id" {
			return c.Value
		}
	}
	return ""
}

// endRow ends a row read column by column.
func (d *decoder) endRow() {
	if d.cols != nil {
		d.cols.Ends = append(d.cols.Ends, len(d.cols.Cells))
	}
}

type member struct {
	key     *keyInfo
	text    string
	present bool
	bad     string
}

func (d *decoder) reset(body []byte) {
	d.b, d.i, d.err = body, 0, nil
	if d.keys == nil || len(d.keys) > maxInterned {
		d.keys = make(map[string]*keyInfo)
		d.lowers = make(map[string]*lowerKey)
		d.order = d.order[:0]
	}
}

func (d *decoder) release() {
	d.b = nil
	clear(d.slow)
	d.slow = d.slow[:0]
	if cap(d.buf) > 1<<16 {
		d.buf = nil
	}
	decoders.Put(d)
}

// itemsResult is what the "items" array held. The checks are made once the whole body
// has been read, in the order the envelope's fields are checked.
type itemsResult struct {
	rows    []schema.RawRow
	null    bool   // "items": null, read as no items
	notList string // why "items" is not an array of objects ("" if it is)
	itemErr error  // the first unusable item
}

func (d *decoder) page() (*Page, error) {
	d.ws()
	if d.i < len(d.b) && d.b[d.i] != '{' {
		// Valid JSON of another kind still is not a page.
		c := d.b[d.i]
		d.skipValue(1)
		d.end()
		if d.err != nil {
			return nil, d.err
		}
		if c == 'n' {
			return nil, fmt.Errorf("not a SuiteQL page: null")
		}
		return nil, fmt.Errorf("not a SuiteQL page: the body is a JSON %s, not an object", jsonKind(c))
	}
	if !d.expect('{') {
		return nil, d.err
	}
	var (
		hasMore, offset, total, count string // raw values; "" when absent
		items                         *itemsResult
		countHint                     = -1
	)
	d.ws()
	if d.peek() == '}' {
		d.i++
	} else {
		for {
			d.ws()
			name, ok := d.envelopeKey()
			if !ok || !d.colon() {
				return nil, d.err
			}
			switch name {
			case "items":
				items = d.items(2, countHint)
			case "hasMore", "offset", "totalResults", "count":
				start := d.i
				d.skipValue(2)
				raw := string(d.b[start:d.i])
				switch name {
				case "hasMore":
					hasMore = raw
				case "offset":
					offset = raw
				case "totalResults":
					total = raw
				default:
					count = raw
					if n, err := envelopeInt(raw); err == nil && n >= 0 && n <= 100_000 {
						countHint = n
					}
				}
			default:
				d.skipValue(2)
			}
			if d.err != nil {
				return nil, d.err
			}
			if !d.next('}') {
				break
			}
		}
	}
	d.end()
	if d.err != nil {
		return nil, d.err
	}

	p := &Page{}
	if hasMore == "" {
		return nil, fmt.Errorf(`no "hasMore" flag`)
	}
	var err error
	if p.HasMore, err = envelopeBool(hasMore); err != nil {
		return nil, fmt.Errorf(`"hasMore": %w`, err)
	}
	if offset != "" {
		if p.Offset, err = envelopeInt(offset); err != nil {
			return nil, fmt.Errorf(`"offset": %w`, err)
		}
	}
	if total != "" {
		if p.TotalResults, err = envelopeInt(total); err != nil {
			return nil, fmt.Errorf(`"totalResults": %w`, err)
		}
	}
	if items == nil {
		return nil, fmt.Errorf(`no "items" array`)
	}
	if items.notList != "" {
		return nil, fmt.Errorf(`"items" is not an array of objects: %s`, items.notList)
	}
	if count != "" {
		n, err := envelopeInt(count)
		if err != nil {
			return nil, fmt.Errorf(`"count": %w`, err)
		}
		if n != len(items.rows) {
			return nil, fmt.Errorf(`"count" is %d but the page has %d items`, n, len(items.rows))
		}
	}
	if p.HasMore && len(items.rows) == 0 {
		return nil, fmt.Errorf(`"hasMore" is true but the page has no items`)
	}
	if items.itemErr != nil {
		return nil, items.itemErr
	}
	if d.cols != nil {
		p.Cols = d.cols
		return p, nil
	}
	p.Items = items.rows
	if p.Items == nil {
		p.Items = []schema.RawRow{}
	}
	return p, nil
}

// envelopeInt accepts a JSON number or a numeric string: Oracle documents both for the
// envelope's count/offset/totalResults.
func envelopeInt(raw string) (int, error) {
	s := strings.Trim(raw, `"`)
	if s == "null" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("not an integer: %s", truncateJSON(raw))
	}
	return n, nil
}

// envelopeBool accepts true/false, "true"/"false" and NetSuite's "T"/"F".
func envelopeBool(raw string) (bool, error) {
	switch raw {
	case "true", `"true"`, `"T"`:
		return true, nil
	case "false", `"false"`, `"F"`, "null":
		return false, nil
	}
	return false, fmt.Errorf("not a boolean: %s", truncateJSON(raw))
}

func truncateJSON(raw string) string {
	if len(raw) > 40 {
		return raw[:40] + "…"
	}
	return raw
}

func jsonKind(c byte) string {
	switch c {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

// items reads the "items" value.
func (d *decoder) items(depth, sizeHint int) *itemsResult {
	res := &itemsResult{}
	d.ws()
	switch c := d.peek(); c {
	case 'n':
		d.literal("null")
		res.null = true
		return res
	case '[':
	default:
		d.skipValue(depth)
		res.notList = "it is a JSON " + jsonKind(c)
		return res
	}
	d.i++
	if sizeHint < 0 {
		sizeHint = max(16, d.lastRows) // no "count" before "items": as many as last time
	}
	res.rows = make([]schema.RawRow, 0, sizeHint)
	if d.cols != nil {
		// Sized for rows like the last page's, so the cells are not copied as they grow.
		d.cols.Cells = make([]schema.Cell, 0, sizeHint*max(d.hint, 8))
		d.cols.Ends = make([]int, 0, sizeHint)
	}
	d.ws()
	if d.peek() == ']' {
		d.i++
		return res
	}
	for index := 0; ; index++ {
		d.ws()
		var row schema.RawRow
		switch c := d.peek(); {
		case c == '{' && res.itemErr == nil && res.notList == "":
			var err error
			row, err = d.item(index, depth+1)
			if err != nil && d.err == nil {
				res.itemErr = err
			}
		case c == '{':
			d.skipValue(depth + 1) // an earlier item failed: only the syntax matters now
		case c == 'n':
			d.literal("null")
			if res.itemErr == nil {
				res.itemErr = fmt.Errorf("item %d: item is not an object", index)
			}
		default:
			d.skipValue(depth + 1)
			if res.notList == "" {
				res.notList = fmt.Sprintf("item %d is a JSON %s", index, jsonKind(c))
			}
		}
		if d.err != nil {
			return res
		}
		res.rows = append(res.rows, row)
		if !d.next(']') {
			d.lastRows = len(res.rows)
			return res
		}
	}
}

// item reads one item object (the cursor is at its '{'). A syntax error is left in
// d.err; an unusable item is returned as an error while the object is still read to
// its end.
func (d *decoder) item(index, depth int) (schema.RawRow, error) {
	start := d.i
	d.i++ // '{'
	if depth > maxDepth {
		d.fail("exceeded max depth")
		return nil, nil
	}
	d.stamp++
	stamp := d.stamp
	row := d.newRow(d.hint)
	cellsFrom := 0
	if d.cols != nil {
		cellsFrom = len(d.cols.Cells)
	}
	var bad *ItemError
	d.ws()
	if d.peek() == '}' {
		d.i++
		d.endRow()
		return row, nil
	}
	for after := -1; ; {
		d.ws()
		k := d.itemKey(&after)
		if k == nil || !d.colon() {
			return nil, nil
		}
		if k.links {
			d.skipValue(depth + 1)
		} else {
			if k.seen == stamp {
				// The same key twice: the last one wins, as in encoding/json. Rare
				// enough to read the item again the general way.
				d.i = start
				if d.cols != nil {
					d.cols.Cells = d.cols.Cells[:cellsFrom]
				}
				return d.itemRepeated(index, depth)
			}
			k.seen = stamp
			if k.lower.seen == stamp {
				d.skipValue(depth + 1)
				d.skipRest(depth)
				return nil, fmt.Errorf("item %d: key %q appears twice when case is ignored", index, k.lower.name)
			}
			k.lower.seen = stamp
			text, present, reason := d.value(depth + 1)
			switch {
			case reason != "":
				if bad == nil {
					bad = &ItemError{Key: k.lower.name, Reason: reason}
				}
			case present:
				d.put(row, k.lower, text)
			}
		}
		if d.err != nil {
			return nil, nil
		}
		if !d.next('}') {
			if d.err != nil {
				return nil, nil
			}
			// +1: room for a column the caller adds (the pipeline's _deleted).
			d.hint = len(row) + 1
			if d.cols != nil {
				d.hint = len(d.cols.Cells) - cellsFrom + 1
			}
			if bad != nil {
				bad.Index, bad.ID = index, d.idOf(row, cellsFrom)
				return nil, bad
			}
			d.endRow()
			return row, nil
		}
	}
}

// itemRepeated reads an item one of whose keys appears twice: members are collected
// first, the last of each key winning, then applied as item does.
func (d *decoder) itemRepeated(index, depth int) (schema.RawRow, error) {
	d.i++ // '{'
	ms := d.slow[:0]
	d.ws()
	if d.peek() != '}' {
		for after := -1; ; {
			d.ws()
			k := d.itemKey(&after)
			if k == nil || !d.colon() {
				return nil, nil
			}
			m := member{key: k}
			if k.links {
				d.skipValue(depth + 1)
			} else {
				m.text, m.present, m.bad = d.value(depth + 1)
			}
			if d.err != nil {
				return nil, nil
			}
			if j := slicesIndexKey(ms, k); j >= 0 {
				ms[j] = m
			} else {
				ms = append(ms, m)
			}
			if !d.next('}') {
				break
			}
		}
	} else {
		d.i++
	}
	d.slow = ms
	if d.err != nil {
		return nil, nil
	}
	d.stamp++
	stamp := d.stamp
	row := d.newRow(len(ms))
	cellsFrom := 0
	if d.cols != nil {
		cellsFrom = len(d.cols.Cells)
	}
	var bad *ItemError
	for _, m := range ms {
		if m.key.links {
			continue
		}
		if m.key.lower.seen == stamp {
			return nil, fmt.Errorf("item %d: key %q appears twice when case is ignored", index, m.key.lower.name)
		}
		m.key.lower.seen = stamp
		switch {
		case m.bad != "":
			if bad == nil {
				bad = &ItemError{Key: m.key.lower.name, Reason: m.bad}
			}
		case m.present:
			d.put(row, m.key.lower, m.text)
		}
	}
	if bad != nil {
		bad.Index, bad.ID = index, d.idOf(row, cellsFrom)
		return nil, bad
	}
	d.endRow()
	return row, nil
}

func slicesIndexKey(ms []member, k *keyInfo) int {
	for j := range ms {
		if ms[j].key == k {
			return j
		}
	}
	return -1
}

// skipRest reads the rest of an object whose item is already known to be unusable.
func (d *decoder) skipRest(depth int) {
	for d.err == nil && d.next('}') {
		d.ws()
		if !d.quoted() || !d.colon() {
			return
		}
		d.skipValue(depth + 1)
	}
}

// itemKey reads a key of an item; after is the position in d.order of the item's
// previous key (-1 for the first). Items of one query have the same keys in the same
// order, less the NULLs NetSuite omits, so the next few keys of d.order are tried first:
// a match is a comparison or two, with no scanning or hashing.
func (d *decoder) itemKey(after *int) *keyInfo {
	for t := *after + 1; t < len(d.order) && t <= *after+maxSkipped+1; t++ {
		if k := d.order[t]; k.quoted != "" && len(d.b)-d.i >= len(k.quoted) && string(d.b[d.i:d.i+len(k.quoted)]) == k.quoted {
			d.i += len(k.quoted)
			*after = t
			return k
		}
	}
	raw, name, ok := d.key()
	if !ok {
		return nil
	}
	var k *keyInfo
	if raw != nil {
		if k = d.keys[string(raw)]; k == nil {
			k = d.intern(string(raw), true)
		}
	} else if k = d.keys[name]; k == nil {
		k = d.intern(name, false)
	}
	if k.pos < 0 && len(d.order) < maxOrder {
		k.pos = len(d.order)
		d.order = append(d.order, k)
	}
	if k.pos >= 0 {
		*after = k.pos
	}
	return k
}

// maxSkipped is how many omitted (NULL) keys in a row itemKey looks past; maxOrder
// bounds d.order.
const (
	maxSkipped = 8
	maxOrder   = 512
)

func (d *decoder) intern(name string, plain bool) *keyInfo {
	lower := strings.ToLower(name)
	lk := d.lowers[lower]
	if lk == nil {
		lk = &lowerKey{name: lower}
		d.lowers[lower] = lk
	}
	k := &keyInfo{lower: lk, links: lower == "links", pos: -1}
	if plain {
		k.quoted = `"` + name + `"`
	}
	d.keys[name] = k
	return k
}

// envelopeKey reads a key of the envelope, decoded.
func (d *decoder) envelopeKey() (string, bool) {
	raw, name, ok := d.key()
	if raw != nil {
		name = string(raw)
	}
	return name, ok
}

// key reads a quoted key. A key without escapes and in valid UTF-8 is returned as its
// bytes in the body (raw; its quoted form can then be matched byte for byte), any other
// decoded as encoding/json decodes keys: bad UTF-8 and lone surrogates become U+FFFD.
func (d *decoder) key() (raw []byte, name string, ok bool) {
	if d.peek() != '"' {
		d.fail("expected a string key")
		return nil, "", false
	}
	start := d.i + 1
	j, nonASCII := scanString(d.b, start)
	if j >= len(d.b) {
		d.fail("unexpected end of JSON input")
		return nil, "", false
	}
	if d.b[j] == '"' {
		d.i = j + 1
		if raw = d.b[start:j:j]; !nonASCII || utf8.Valid(raw) {
			return raw, "", true
		}
		return nil, replaceInvalidUTF8(raw), true
	}
	text, _, ok := d.unescape(start, true)
	return nil, text, ok
}

// replaceInvalidUTF8 turns every byte of b that does not start a valid sequence into
// U+FFFD, as encoding/json does with keys (strings.ToValidUTF8 would merge runs).
func replaceInvalidUTF8(b []byte) string {
	r := make([]byte, 0, len(b)+8)
	for k := 0; k < len(b); {
		c, size := utf8.DecodeRune(b[k:])
		r = utf8.AppendRune(r, c)
		k += size
	}
	return string(r)
}

// value reads an item's value and returns its text; present is false for NULL and "";
// bad is why the value cannot be used (text that is not UTF-8).
func (d *decoder) value(depth int) (text string, present bool, bad string) {
	if d.i >= len(d.b) {
		d.fail("unexpected end of JSON input")
		return "", false, ""
	}
	switch c := d.b[d.i]; c {
	case '"':
		start := d.i + 1
		j, nonASCII := scanString(d.b, start)
		if j >= len(d.b) {
			d.fail("unexpected end of JSON input")
			return "", false, ""
		}
		if d.b[j] == '"' {
			d.i = j + 1
			raw := d.b[start:j]
			if nonASCII && !utf8.Valid(raw) {
				return "", false, "text is not valid UTF-8"
			}
			// Oracle stores '' as NULL; an empty string and an omitted key mean the same.
			return d.keep(raw), len(raw) > 0, ""
		}
		text, valid, ok := d.unescape(start, false)
		if !ok {
			return "", false, ""
		}
		if !valid {
			return "", false, "text is not valid UTF-8"
		}
		return text, text != "", ""
	case 't':
		d.literal("true")
		return "T", true, ""
	case 'f':
		d.literal("false")
		return "F", true, ""
	case 'n':
		d.literal("null")
		return "", false, ""
	case '{', '[':
		start := d.i
		d.skipValue(depth)
		if d.err != nil {
			return "", false, ""
		}
		return compact(d.b[start:d.i]), true, ""
	default:
		start := d.i
		d.number()
		return d.keep(d.b[start:d.i]), true, ""
	}
}

// arenaChunk is the size of the blocks values are copied into.
const arenaChunk = 64 << 10

// keep returns b as a string. Values are copied into blocks of arenaChunk bytes, one
// allocation for many values rather than one each (or one copy of the whole body, keys
// and punctuation included). Bytes of a block are written once, before the strings
// over them exist, and never again, which is what unsafe.String requires; a block
// lives as long as one of its strings does.
func (d *decoder) keep(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if len(b) > arenaChunk/4 {
		return string(b)
	}
	if cap(d.arena)-len(d.arena) < len(b) {
		d.arena = make([]byte, 0, arenaChunk)
	}
	start := len(d.arena)
	d.arena = append(d.arena, b...)
	return unsafe.String(&d.arena[start], len(b))
}

// compact removes the insignificant white space of valid JSON, as json.Compact does.
func compact(s []byte) string {
	if !bytes.ContainsAny(s, " \t\r\n") {
		return string(s)
	}
	b := make([]byte, 0, len(s))
	inString := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case inString:
			b = append(b, c)
			if c == '\\' {
				i++
				b = append(b, s[i])
			} else if c == '"' {
				inString = false
			}
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
		default:
			b = append(b, c)
			inString = c == '"'
		}
	}
	return string(b)
}

// unescape decodes a string with escapes from start (just after its opening quote) and
// moves past its closing quote. Like encoding/json it turns bad UTF-8 and lone
// surrogates into U+FFFD; valid reports that there were none.
func (d *decoder) unescape(start int, key bool) (text string, valid, ok bool) {
	b := d.buf[:0]
	valid = true
	i := start
	for {
		j, _ := scanString(d.b, i)
		if j >= len(d.b) {
			d.fail("unexpected end of JSON input")
			return "", false, false
		}
		b = append(b, d.b[i:j]...)
		i = j
		c := d.b[i]
		if c == '"' {
			break
		}
		if c < 0x20 {
			d.fail("invalid control character in string")
			return "", false, false
		}
		// A backslash.
		if i+1 >= len(d.b) {
			d.fail("unexpected end of JSON input")
			return "", false, false
		}
		switch e := d.b[i+1]; e {
		case '"', '\\', '/':
			b = append(b, e)
			i += 2
		case 'b':
			b, i = append(b, '\b'), i+2
		case 'f':
			b, i = append(b, '\f'), i+2
		case 'n':
			b, i = append(b, '\n'), i+2
		case 'r':
			b, i = append(b, '\r'), i+2
		case 't':
			b, i = append(b, '\t'), i+2
		case 'u':
			r := hex4(d.b, i+2)
			if r < 0 {
				d.fail("invalid \\u escape")
				return "", false, false
			}
			i += 6
			if utf16.IsSurrogate(r) {
				if r2 := hex4u(d.b, i); r2 >= 0 {
					if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
						b = utf8.AppendRune(b, dec)
						i += 6
						break
					}
				}
				r = utf8.RuneError
				valid = false
			}
			b = utf8.AppendRune(b, r)
		default:
			d.fail("invalid escape in string")
			return "", false, false
		}
	}
	d.i = i + 1
	d.buf = b
	if !utf8.Valid(b) {
		valid = false
		if key {
			return replaceInvalidUTF8(b), false, true
		}
	}
	if key {
		return string(b), valid, true
	}
	return d.keep(b), valid, true
}

// hex4 reads the four hex digits of a \u escape at b[i:], or returns -1.
func hex4(b []byte, i int) rune {
	if i+4 > len(b) {
		return -1
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}

// hex4u reads a `\uXXXX` at b[i:], or returns -1.
func hex4u(b []byte, i int) rune {
	if i+1 >= len(b) || b[i] != '\\' || b[i+1] != 'u' {
		return -1
	}
	return hex4(b, i+2)
}

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// scanString returns the index of the first '"', '\\' or control character at or after
// i (len(b) if none), eight bytes at a time, and whether it passed a non-ASCII byte.
func scanString(b []byte, i int) (int, bool) {
	var high uint64
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		q, bs := x^(lsb*'"'), x^(lsb*'\\')
		m := ((q - lsb) &^ q) | ((bs - lsb) &^ bs) | ((x - lsb*0x20) &^ x)
		m &= msb
		if m != 0 {
			// The lowest flagged byte is a true match; bytes at or above 0x80 are not
			// flagged (&^ x clears them), so high only counts the bytes before it.
			n := bits.TrailingZeros64(m) / 8
			high |= x & (1<<(8*n) - 1) & msb
			return i + n, high != 0
		}
		high |= x & msb
	}
	for ; i < len(b); i++ {
		c := b[i]
		if c == '"' || c == '\\' || c < 0x20 {
			break
		}
		high |= uint64(c & 0x80)
	}
	return i, high != 0
}

// --- validation of the rest of the grammar ---

func (d *decoder) fail(msg string) {
	if d.err == nil {
		d.err = fmt.Errorf("not a SuiteQL page: %s at byte %d", msg, d.i)
	}
}

func (d *decoder) peek() byte {
	if d.i < len(d.b) {
		return d.b[d.i]
	}
	return 0
}

func (d *decoder) ws() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\r', '\n':
			d.i++
		default:
			return
		}
	}
}

func (d *decoder) expect(c byte) bool {
	d.ws()
	if d.i >= len(d.b) {
		d.fail("unexpected end of JSON input")
		return false
	}
	if d.b[d.i] != c {
		d.fail(fmt.Sprintf("invalid character %q, want %q", d.b[d.i], c))
		return false
	}
	d.i++
	return true
}

func (d *decoder) colon() bool {
	if d.i < len(d.b) && d.b[d.i] == ':' {
		d.i++
	} else if !d.expect(':') {
		return false
	}
	d.ws()
	return true
}

// next reads the ',' before another member or element (true) or the closing bracket
// (false; also false on a syntax error).
func (d *decoder) next(closing byte) bool {
	d.ws()
	if d.i < len(d.b) {
		switch d.b[d.i] {
		case ',':
			d.i++
			return true
		case closing:
			d.i++
			return false
		}
	}
	if d.i >= len(d.b) {
		d.fail("unexpected end of JSON input")
	} else {
		d.fail(fmt.Sprintf("invalid character %q after a value", d.b[d.i]))
	}
	return false
}

// end checks that only white space follows the top-level value.
func (d *decoder) end() {
	d.ws()
	if d.err == nil && d.i < len(d.b) {
		d.fail(fmt.Sprintf("invalid character %q after top-level value", d.b[d.i]))
	}
}

func (d *decoder) literal(word string) {
	rest := d.b[d.i:]
	if len(rest) >= len(word) && string(rest[:len(word)]) == word {
		d.i += len(word)
		return
	}
	if len(rest) < len(word) && word[:len(rest)] == string(rest) {
		d.fail("unexpected end of JSON input")
		return
	}
	d.fail("invalid literal")
}

// quoted skips a string, checking its escapes.
func (d *decoder) quoted() bool {
	if d.peek() != '"' {
		d.fail("expected a string")
		return false
	}
	i := d.i + 1
	for {
		j, _ := scanString(d.b, i)
		if j >= len(d.b) {
			d.fail("unexpected end of JSON input")
			return false
		}
		switch c := d.b[j]; {
		case c == '"':
			d.i = j + 1
			return true
		case c < 0x20:
			d.i = j
			d.fail("invalid control character in string")
			return false
		}
		// A backslash.
		if j+1 >= len(d.b) {
			d.fail("unexpected end of JSON input")
			return false
		}
		switch d.b[j+1] {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			i = j + 2
		case 'u':
			if hex4(d.b, j+2) < 0 {
				d.i = j
				if len(d.b) < j+6 {
					d.fail("unexpected end of JSON input")
				} else {
					d.fail("invalid \\u escape")
				}
				return false
			}
			i = j + 6
		default:
			d.i = j
			d.fail("invalid escape in string")
			return false
		}
	}
}

// number reads a JSON number.
func (d *decoder) number() {
	b, i := d.b, d.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		for i++; i < len(b) && '0' <= b[i] && b[i] <= '9'; i++ {
		}
	default:
		d.i = i
		d.badNumberChar()
		return
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			d.i = i
			d.badNumberChar()
			return
		}
		for ; i < len(b) && '0' <= b[i] && b[i] <= '9'; i++ {
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			d.i = i
			d.badNumberChar()
			return
		}
		for ; i < len(b) && '0' <= b[i] && b[i] <= '9'; i++ {
		}
	}
	d.i = i
}

func (d *decoder) badNumberChar() {
	if d.i >= len(d.b) {
		d.fail("unexpected end of JSON input")
		return
	}
	d.fail(fmt.Sprintf("invalid character %q in a value", d.b[d.i]))
}

// skipValue checks and skips any JSON value; depth is the nesting level it would open.
func (d *decoder) skipValue(depth int) {
	d.ws()
	if d.i >= len(d.b) {
		d.fail("unexpected end of JSON input")
		return
	}
	switch d.b[d.i] {
	case '"':
		d.quoted()
	case 't':
		d.literal("true")
	case 'f':
		d.literal("false")
	case 'n':
		d.literal("null")
	case '{':
		if depth > maxDepth {
			d.fail("exceeded max depth")
			return
		}
		d.i++
		d.ws()
		if d.peek() == '}' {
			d.i++
			return
		}
		for {
			d.ws()
			if !d.quoted() || !d.colon() {
				return
			}
			d.skipValue(depth + 1)
			if d.err != nil || !d.next('}') {
				return
			}
		}
	case '[':
		if depth > maxDepth {
			d.fail("exceeded max depth")
			return
		}
		d.i++
		d.ws()
		if d.peek() == ']' {
			d.i++
			return
		}
		for {
			d.skipValue(depth + 1)
			if d.err != nil || !d.next(']') {
				return
			}
		}
	default:
		d.number()
	}
}
