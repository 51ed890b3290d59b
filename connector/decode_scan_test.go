package connector

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/extract-dev/extract/schema"
)

// TestDecodePageScanner covers the hand-written scanner: each case states the page (or
// the error) it must give, and, unless the old decoder was random or lenient there, that
// the encoding/json-based decoder it replaced gives the same.
func TestDecodePageScanner(t *testing.T) {
	items := func(rows ...schema.RawRow) *Page {
		if rows == nil {
			rows = []schema.RawRow{} // as the old decoder: never nil
		}
		return &Page{Items: rows}
	}
	env := func(items string) string { return `{"hasMore":false,"items":[` + items + `]}` }
	cases := []struct {
		name      string
		body      string
		want      *Page
		wantErr   string
		notLegacy bool // the old decoder differs (see the case)
	}{
		// Text and escapes.
		{name: "plain", body: env(`{"id":"1","companyname":"Acme"}`), want: items(schema.RawRow{"id": "1", "companyname": "Acme"})},
		{name: "escaped quote and backslash", body: env(`{"id":"1","n":"a \"b\" c\\d"}`),
			want: items(schema.RawRow{"id": "1", "n": `a "b" c\d`})},
		{name: "all short escapes", body: env(`{"id":"1","n":"\/\b\f\n\r\t"}`),
			want: items(schema.RawRow{"id": "1", "n": "/\b\f\n\r\t"})},
		{name: "unicode escapes", body: env(`{"id":"1","n":"caf\u00e9 \u00C9\u4e2d"}`),
			want: items(schema.RawRow{"id": "1", "n": "café É中"})},
		{name: "surrogate pair", body: env(`{"id":"1","n":"\ud83d\ude00!"}`), want: items(schema.RawRow{"id": "1", "n": "😀!"})},
		{name: "escape at start and end", body: env(`{"id":"1","n":"\u0041xyz\u0042"}`), want: items(schema.RawRow{"id": "1", "n": "AxyzB"})},
		{name: "escaped replacement character is text", body: env(`{"id":"1","n":"\ufffd"}`), want: items(schema.RawRow{"id": "1", "n": "\uFFFD"})},
		{name: "raw UTF-8", body: env(`{"id":"1","n":"Zürich – 東京 😀"}`), want: items(schema.RawRow{"id": "1", "n": "Zürich – 東京 😀"})},
		{name: "long text crossing words", body: env(`{"id":"1","n":"` + strings.Repeat("abcdefg", 9) + `é"}`),
			want: items(schema.RawRow{"id": "1", "n": strings.Repeat("abcdefg", 9) + "é"})},
		{name: "lone high surrogate", body: env(`{"id":"7","n":"x\ud83dy"}`), wantErr: "item 0, id 7, column n: text is not valid UTF-8"},
		{name: "lone low surrogate", body: env(`{"id":"7","n":"\ude00"}`), wantErr: "column n: text is not valid UTF-8"},
		{name: "high then high", body: env(`{"id":"7","n":"\ud83d\ud83d\ude00"}`), wantErr: "not valid UTF-8"},
		{name: "high then other escape", body: env(`{"id":"7","n":"\ud83d\n"}`), wantErr: "not valid UTF-8"},
		{name: "bad byte", body: env("{\"id\":\"7\",\"n\":\"a\xffb\"}"), wantErr: "column n: text is not valid UTF-8"},
		{name: "bad byte after an escape", body: env("{\"id\":\"7\",\"n\":\"\\n\xc3\"}"), wantErr: "not valid UTF-8"},
		{name: "truncated sequence", body: env("{\"id\":\"7\",\"n\":\"\xe2\x82\"}"), wantErr: "not valid UTF-8"},
		{name: "bad text in the second item", body: env(`{"id":"1"},{"id":"2","n":"\udfff"}`), wantErr: "item 1, id 2, column n"},
		{name: "bad text in the id", body: env("{\"id\":\"\xff\"}"), wantErr: "item 0, id (unknown), column id"},
		{name: "control character", body: env("{\"id\":\"1\",\"n\":\"a\tb\"}"), wantErr: "not a SuiteQL page"},
		{name: "bad escape", body: env(`{"id":"1","n":"\x41"}`), wantErr: "not a SuiteQL page"},
		{name: "short unicode escape", body: env(`{"id":"1","n":"\u12"}`), wantErr: "not a SuiteQL page"},
		{name: "non-hex unicode escape", body: env(`{"id":"1","n":"\u12g4"}`), wantErr: "not a SuiteQL page"},
		{name: "empty text is NULL", body: env(`{"id":"1","n":""}`), want: items(schema.RawRow{"id": "1"})},

		// Keys.
		{name: "upper-case keys", body: env(`{"ID":"1","CompanyName":"A","LASTMODIFIEDDATE":"2024-01-01 00:00:00"}`),
			want: items(schema.RawRow{"id": "1", "companyname": "A", "lastmodifieddate": "2024-01-01 00:00:00"})},
		{name: "escaped key", body: env(`{"\u0069d":"1","compa\u006eyname":"A"}`), want: items(schema.RawRow{"id": "1", "companyname": "A"})},
		{name: "non-ASCII key", body: env(`{"id":"1","CUSTENTITY_Ä":"x"}`), want: items(schema.RawRow{"id": "1", "custentity_ä": "x"})},
		{name: "key with bad UTF-8", body: env("{\"id\":\"1\",\"a\xffb\":\"x\"}"), want: items(schema.RawRow{"id": "1", "a\uFFFDb": "x"})},
		{name: "links in any case are dropped", body: env(`{"links":[{"rel":"self"}],"LINKS":[],"id":"1"}`), want: items(schema.RawRow{"id": "1"})},
		{name: "keys in another order on each item", body: env(`{"id":"1","a":"x","b":"y"},{"b":"z","id":"2"},{"a":"w","id":"3","c":"v"}`),
			want: items(schema.RawRow{"id": "1", "a": "x", "b": "y"}, schema.RawRow{"id": "2", "b": "z"}, schema.RawRow{"id": "3", "a": "w", "c": "v"})},
		{name: "a key that is a prefix of another", body: env(`{"id":"1","idx":"2"},{"idx":"3","id":"4"}`),
			want: items(schema.RawRow{"id": "1", "idx": "2"}, schema.RawRow{"idx": "3", "id": "4"})},
		{name: "repeated key: last wins", body: env(`{"id":"1","n":"a","n":"b"}`), want: items(schema.RawRow{"id": "1", "n": "b"})},
		{name: "repeated key: last is null", body: env(`{"id":"1","n":"a","n":null}`), want: items(schema.RawRow{"id": "1"})},
		{name: "repeated key: bad then good", body: env(`{"id":"1","n":"\udc00","n":"ok"}`), want: items(schema.RawRow{"id": "1", "n": "ok"})},
		{name: "repeated key: good then bad", body: env(`{"id":"1","n":"ok","n":"\udc00"}`), wantErr: "item 0, id 1, column n"},
		{name: "repeated key by escape", body: env(`{"id":"1","\u0069d":"2"}`), want: items(schema.RawRow{"id": "2"})},
		{name: "repeated id, later items", body: env(`{"id":"1","id":"2"},{"id":"3"}`), want: items(schema.RawRow{"id": "2"}, schema.RawRow{"id": "3"})},
		{name: "keys differing in case", body: env(`{"id":"1","Name":"a","name":"b"}`), wantErr: `item 0: key "name" appears twice when case is ignored`},
		{name: "keys differing in case, one null", body: env(`{"id":"1","Name":null,"name":"b"}`), wantErr: "twice", notLegacy: true},
		{name: "keys differing in case after a repeat", body: env(`{"id":"1","id":"2","ID":"3"}`), wantErr: "twice"},

		// Other value types.
		{name: "numbers", body: env(`{"id":5,"a":-0.25,"b":1e21,"c":0,"d":-0,"e":12.5E-3}`),
			want: items(schema.RawRow{"id": "5", "a": "-0.25", "b": "1e21", "c": "0", "d": "-0", "e": "12.5E-3"})},
		{name: "booleans and null", body: env(`{"id":"1","t":true,"f":false,"n":null}`), want: items(schema.RawRow{"id": "1", "t": "T", "f": "F"})},
		{name: "nested values kept as compact JSON", body: env(`{"id":"1","o":{ "a" : [1, 2, {"b": "c d"}] , "e":"\""},"l":[ ],"m":{}}`),
			want: items(schema.RawRow{"id": "1", "o": `{"a":[1,2,{"b":"c d"}],"e":"\""}`, "l": "[]", "m": "{}"})},
		{name: "leading zero", body: env(`{"id":01}`), wantErr: "not a SuiteQL page"},
		{name: "bare minus", body: env(`{"id":-}`), wantErr: "not a SuiteQL page"},
		{name: "dot without digits", body: env(`{"id":1.}`), wantErr: "not a SuiteQL page"},
		{name: "exponent without digits", body: env(`{"id":1e+}`), wantErr: "not a SuiteQL page"},
		{name: "bad literal", body: env(`{"id":tru}`), wantErr: "not a SuiteQL page"},
		{name: "NaN", body: env(`{"id":NaN}`), wantErr: "not a SuiteQL page"},
		{name: "single quotes", body: env(`{'id':'1'}`), wantErr: "not a SuiteQL page"},
		{name: "trailing comma in item", body: env(`{"id":"1",}`), wantErr: "not a SuiteQL page"},
		{name: "trailing comma in items", body: env(`{"id":"1"},`), wantErr: "not a SuiteQL page"},
		{name: "missing colon", body: env(`{"id" "1"}`), wantErr: "not a SuiteQL page"},

		// White space.
		{name: "white space everywhere", body: " \r\n\t{ \"hasMore\" :\tfalse ,\n\"items\" : [ { \"id\" : \"1\" , \"links\" : [ ] } ,\n{\"id\":\"2\"} ] , \"count\" : 2 }\n ",
			want: items(schema.RawRow{"id": "1"}, schema.RawRow{"id": "2"})},
		{name: "pretty printed", body: "{\n  \"hasMore\": false,\n  \"items\": [\n    {\n      \"id\": \"1\"\n    }\n  ]\n}\n", want: items(schema.RawRow{"id": "1"})},
		{name: "non-JSON white space", body: "{\"hasMore\":false,\"items\":[]}\v", wantErr: "not a SuiteQL page"},
		{name: "trailing garbage", body: `{"hasMore":false,"items":[]}x`, wantErr: "not a SuiteQL page"},
		{name: "two values", body: `{"hasMore":false,"items":[]} {}`, wantErr: "not a SuiteQL page"},

		// The envelope.
		{name: "envelope numbers as strings", body: `{"count":"2","hasMore":"T","offset":"1000","totalResults":"143","items":[{"id":"1"},{"id":"2"}]}`,
			want: &Page{HasMore: true, Offset: 1000, TotalResults: 143, Items: []schema.RawRow{{"id": "1"}, {"id": "2"}}}},
		{name: "envelope null numbers", body: `{"count":null,"hasMore":null,"offset":null,"totalResults":null,"items":[]}`, want: items()},
		{name: "envelope fields after the items", body: `{"items":[{"id":"1"}],"totalResults":1,"count":1,"hasMore":false}`,
			want: &Page{TotalResults: 1, Items: []schema.RawRow{{"id": "1"}}}},
		{name: "unknown envelope fields", body: `{"links":[{"rel":"next","href":"x?limit=1000&offset=1000"}],"x":{"y":[1,"2",null]},"hasMore":false,"items":[]}`, want: items()},
		{name: "items null", body: `{"hasMore":false,"items":null}`, want: items()},
		{name: "items empty", body: `{"hasMore":false,"items":[ ]}`, want: items()},
		{name: "repeated items: last wins", body: `{"hasMore":false,"items":[{"id":"1"}],"items":[{"id":"2"}]}`, want: items(schema.RawRow{"id": "2"})},
		{name: "repeated items: a bad first one is forgotten", body: `{"hasMore":false,"items":[{"id":"\udc00"}],"items":[]}`, want: items()},
		{name: "repeated hasMore", body: `{"hasMore":true,"hasMore":false,"items":[]}`, want: items()},
		{name: "escaped envelope key", body: `{"has\u004dore":false,"items":[]}`, want: items()},
		{name: "envelope keys are case-sensitive", body: `{"HasMore":false,"items":[]}`, wantErr: `no "hasMore"`},
		{name: "no items", body: `{"hasMore":false,"count":0}`, wantErr: `no "items" array`},
		{name: "no hasMore", body: `{"items":[{"id":"1"}]}`, wantErr: `no "hasMore" flag`},
		{name: "bad offset", body: `{"hasMore":false,"offset":1.5,"items":[]}`, wantErr: `"offset": not an integer`},
		{name: "bad count", body: `{"hasMore":false,"count":"two","items":[]}`, wantErr: `"count": not an integer`},
		{name: "count mismatch", body: `{"count":2,"hasMore":false,"items":[{"id":"1"}]}`, wantErr: `"count" is 2 but the page has 1 items`},
		{name: "count counts null items", body: `{"count":2,"hasMore":false,"items":[{"id":"1"},null]}`, wantErr: "item 1: item is not an object"},
		{name: "items a string", body: `{"hasMore":false,"items":"x"}`, wantErr: `"items" is not an array of objects`},
		{name: "an item a number", body: env(`{"id":"1"},2`), wantErr: `"items" is not an array of objects`},
		{name: "an item a list after a bad item", body: env(`{"id":"\udc00"},[]`), wantErr: `"items" is not an array of objects`},
		{name: "an item null", body: env(`null`), wantErr: "item 0: item is not an object"},
		{name: "hasMore with no items", body: `{"hasMore":true,"items":[]}`, wantErr: "no items"},
		{name: "a syntax error after a bad item", body: env(`{"id":"\udc00"},{"id":}`), wantErr: "not a SuiteQL page"},
		{name: "a syntax error after a case clash", body: env(`{"id":"1","ID":"2"},{"id":}`), wantErr: "not a SuiteQL page"},

		// Not a page at all.
		{name: "null", body: `null`, wantErr: "not a SuiteQL page: null"},
		{name: "array", body: `[{"hasMore":false}]`, wantErr: "not a SuiteQL page"},
		{name: "string", body: `"x"`, wantErr: "not a SuiteQL page"},
		{name: "number", body: `42`, wantErr: "not a SuiteQL page"},
		{name: "truncated in a key", body: `{"hasMore":false,"ite`, wantErr: "not a SuiteQL page"},
		{name: "truncated after a backslash", body: `{"hasMore":false,"items":[{"id":"\`, wantErr: "not a SuiteQL page"},
		{name: "truncated literal", body: `{"hasMore":fal`, wantErr: "not a SuiteQL page"},
		{name: "too deep", body: env(`{"id":"1","x":` + strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth) + `}`), wantErr: "not a SuiteQL page"},
		{name: "deep but allowed", body: env(`{"id":"1","x":` + strings.Repeat("[", maxDepth-3) + strings.Repeat("]", maxDepth-3) + `}`),
			want: items(schema.RawRow{"id": "1", "x": strings.Repeat("[", maxDepth-3) + strings.Repeat("]", maxDepth-3)})},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodePage([]byte(tc.body))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, tc.want) {
					t.Fatalf("got %+v\nwant %+v", got, tc.want)
				}
			}
			if !tc.notLegacy {
				compareWithLegacy(t, []byte(tc.body), got, err)
			}
		})
	}
}

// compareWithLegacy checks DecodePage's answer (got, err) against the old decoder's:
// the same page, or errors of the same class. Two keys of one item that differ only in
// case are left out: the old decoder refused them or not depending on map order.
func compareWithLegacy(t *testing.T, body []byte, got *Page, err error) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), "appears twice when case is ignored") {
		return
	}
	want, lerr := legacyDecodePage(body)
	switch {
	case err == nil && lerr == nil:
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("DecodePage = %+v\nlegacy     = %+v", got, want)
		}
	case err == nil || lerr == nil:
		t.Fatalf("DecodePage: %v; legacy: %v", err, lerr)
	default:
		var ie, lie *ItemError
		if errors.As(err, &ie) != errors.As(lerr, &lie) {
			t.Fatalf("DecodePage: %v; legacy: %v", err, lerr)
		}
		if ie != nil && (ie.Index != lie.Index || ie.ID != lie.ID) {
			t.Fatalf("DecodePage: %v; legacy: %v", err, lerr)
		}
		page, lpage := strings.HasPrefix(err.Error(), "not a SuiteQL page"), strings.HasPrefix(lerr.Error(), "not a SuiteQL page")
		if page != lpage {
			t.Fatalf("DecodePage: %v; legacy: %v", err, lerr)
		}
	}
}

// FuzzDecodePageMatchesLegacy is the differential check: whatever the body, DecodePage
// accepts what the encoding/json decoder accepted, gives the same rows, and refuses with
// an error of the same class.
func FuzzDecodePageMatchesLegacy(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/responses/*.json")
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		`{"links":[],"count":2,"hasMore":true,"offset":0,"totalResults":9,"items":[{"links":[],"id":"1","n":"a\"b\\c\u00e9\ud83d\ude00"},{"links":[],"ID":"2","x":1.5e3,"t":true,"o":{"a" : [1]}}]}`,
		`{"hasMore":"F","count":"1","items":[{"id":"1","n":"","m":null,"id":"2"}]}`,
		"{\"hasMore\":false,\"items\":[{\"id\":\"1\",\"k\xff\":\"\xc3\"}]}",
		`{"hasMore":false,"items":[{"id":"1"},null,{"id":"\ud800"}]}`,
		` { "hasMore" : false , "items" : [ { "id" : "1" } ] } `,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := DecodePage(body)
		compareWithLegacy(t, body, got, err)
	})
}

func TestScanString(t *testing.T) {
	// Every stop byte at every position and alignment, with and without non-ASCII before it.
	for _, stop := range []byte{'"', '\\', 0x00, 0x1f} {
		for pos := range 20 {
			for start := range 9 {
				for _, high := range []bool{false, true} {
					b := []byte(strings.Repeat(".", start+pos) + string(stop) + strings.Repeat(".", 12))
					if high && pos > 0 {
						b[start+pos-1] = 0xc3
					}
					j, nonASCII := scanString(b, start)
					if j != start+pos || nonASCII != (high && pos > 0) {
						t.Fatalf("stop %q at %d from %d (high %v): got %d, %v", stop, start+pos, start, high, j, nonASCII)
					}
				}
			}
		}
	}
	// Bytes at or above 0x80 and just above the control range are not stops.
	b := []byte("\x80\xff !#[]~\x7f\xc3\xa9abc")
	if j, nonASCII := scanString(b, 0); j != len(b) || !nonASCII {
		t.Fatalf("got %d, %v", j, nonASCII)
	}
	// Non-ASCII after the stop does not count.
	if _, nonASCII := scanString([]byte(`abc"é       `), 0); nonASCII {
		t.Fatal("non-ASCII after the stop counted")
	}
}

// TestDecodePageKeepsNoReferenceToTheBody: values are copies, so a caller may reuse the
// body's buffer; pages bigger than a value block and values bigger than a quarter of one
// are kept whole.
func TestDecodePageKeepsNoReferenceToTheBody(t *testing.T) {
	long := strings.Repeat("ü", arenaChunk/4)
	var b strings.Builder
	b.WriteString(`{"hasMore":false,"items":[`)
	const n = 3000
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"links":[],"id":"%d","name":"company number %d","n":%d.5,"esc":"a\"%d"`, i, i, i, i)
		if i%1000 == 7 {
			b.WriteString(`,"long":"` + long + `"`)
		}
		b.WriteByte('}')
	}
	b.WriteString(`]}`)
	body := []byte(b.String())
	p, err := DecodePage(body)
	if err != nil {
		t.Fatal(err)
	}
	for i := range body {
		body[i] = 'x'
	}
	if _, err := DecodePage([]byte(`{"hasMore":false,"items":[{"id":"overwrite the blocks?"}]}`)); err != nil {
		t.Fatal(err)
	}
	if len(p.Items) != n {
		t.Fatalf("%d items", len(p.Items))
	}
	for i, row := range p.Items {
		want := schema.RawRow{"id": fmt.Sprint(i), "name": fmt.Sprintf("company number %d", i), "n": fmt.Sprintf("%d.5", i), "esc": fmt.Sprintf(`a"%d`, i)}
		if i%1000 == 7 {
			want["long"] = long
		}
		if !reflect.DeepEqual(row, want) {
			t.Fatalf("item %d = %v, want %v", i, row, want)
		}
	}
}
