package connector

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/extract-dev/extract/schema"
)

func TestDecodePage(t *testing.T) {
	cases := []struct {
		name    string
		body    string
		want    *Page
		wantErr string
	}{
		{
			name: "netsuite shape",
			body: `{"links":[{"rel":"self","href":"x"}],"count":2,"hasMore":true,"offset":0,"totalResults":53210,
				"items":[{"links":[],"id":"107","companyname":"Acme","isinactive":"F"},{"links":[],"id":"108","email":""}]}`,
			want: &Page{HasMore: true, TotalResults: 53210, Items: []schema.RawRow{
				{"id": "107", "companyname": "Acme", "isinactive": "F"}, {"id": "108"}}},
		},
		{
			name: "string envelope numbers and upper-case keys",
			body: `{"count":"1","hasMore":"false","offset":"1000","totalResults":"1001","items":[{"ID":"5","CompanyName":"É"}]}`,
			want: &Page{TotalResults: 1001, Offset: 1000, Items: []schema.RawRow{{"id": "5", "companyname": "É"}}},
		},
		{
			name: "non-string scalars",
			body: `{"hasMore":false,"items":[{"id":5,"isperson":true,"isinactive":false,"balance":-0.25,"phone":null}]}`,
			want: &Page{Items: []schema.RawRow{{"id": "5", "isperson": "T", "isinactive": "F", "balance": "-0.25"}}},
		},
		{name: "empty body", body: "", wantErr: "empty body"},
		{name: "html", body: "<html>502 Bad Gateway</html>", wantErr: "not a SuiteQL page"},
		{name: "truncated", body: `{"hasMore":false,"items":[{"id":"1"`, wantErr: "not a SuiteQL page"},
		{name: "no items", body: `{"hasMore":false}`, wantErr: `no "items"`},
		{name: "no hasMore", body: `{"items":[]}`, wantErr: `no "hasMore"`},
		{name: "hasMore without items", body: `{"hasMore":true,"items":[]}`, wantErr: "no items"},
		{name: "count mismatch", body: `{"count":3,"hasMore":false,"items":[{"id":"1"}]}`, wantErr: `"count" is 3`},
		{name: "items not array", body: `{"hasMore":false,"items":{}}`, wantErr: `"items" is not an array`},
		{name: "item not object", body: `{"hasMore":false,"items":["x"]}`, wantErr: `"items" is not an array`},
		{name: "duplicate keys by case", body: `{"hasMore":false,"items":[{"id":"1","ID":"2"}]}`, wantErr: "twice"},
		{name: "hasMore wrong type", body: `{"hasMore":3,"items":[]}`, wantErr: `"hasMore": not a boolean`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodePage([]byte(tc.body))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func FuzzDecodePage(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/responses/*.json")
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"hasMore":false,"items":[{"id":"1","isinactive":"T"}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := DecodePage(body)
		// Column by column, the same page or the same error.
		c, cerr := DecodePageItems(body)
		if (err == nil) != (cerr == nil) || (err != nil && err.Error() != cerr.Error()) {
			t.Fatalf("DecodePage: %v; DecodePageItems: %v", err, cerr)
		}
		if err != nil {
			return
		}
		if c.Items != nil || c.Cols.Len() != len(p.Items) || c.HasMore != p.HasMore || c.TotalResults != p.TotalResults || c.Offset != p.Offset {
			t.Fatalf("column by column: %d rows (items %v), %v/%d/%d; want %d rows, %v/%d/%d", c.Cols.Len(), c.Items, c.HasMore, c.TotalResults, c.Offset,
				len(p.Items), p.HasMore, p.TotalResults, p.Offset)
		}
		for r, row := range p.Items {
			if got := c.Cols.RawRow(r); !maps.Equal(got, row) {
				t.Fatalf("row %d column by column: %v, want %v", r, got, row)
			}
		}
		if p.HasMore && len(p.Items) == 0 {
			t.Fatal("accepted hasMore with no items")
		}
		for _, row := range p.Items {
			for k, v := range row {
				if k != strings.ToLower(k) || k == "links" || v == "" {
					t.Fatalf("bad key/value %q=%q", k, v)
				}
			}
		}
	})
}

func TestDecodeRejectsTextThatIsNotUTF8(t *testing.T) {
	cases := map[string]bool{
		`"caf\u00e9"`:              false,
		`"emoji \ud83d\ude00 ok"`:  false,
		`"a\\ud800b"`:              false, // an escaped backslash, then the letters u d 8 0 0
		`"lone \ud800 high"`:       true,
		`"lone \ude00 low"`:        true,
		`"high at end \ud83d"`:     true,
		`"two highs \ud83d\ud83d"`: true,
		"\"raw \xff byte\"":        true,
	}
	for raw, bad := range cases {
		body := `{"hasMore":false,"items":[{"id":"102","message":` + raw + `}]}`
		p, err := DecodePage([]byte(body))
		var ie *ItemError
		if bad != errors.As(err, &ie) {
			t.Errorf("%s: err = %v, want rejection %v", raw, err, bad)
			continue
		}
		if bad && (ie.ID != "102" || ie.Key != "message" || ie.Index != 0) {
			t.Errorf("%s: error names %+v", raw, ie)
		}
		if !bad && strings.ContainsRune(p.Items[0]["message"], '\uFFFD') {
			t.Errorf("%s: decoded with a replacement character", raw)
		}
	}
}

func TestDecodeKeepsNestedValuesAsJSONText(t *testing.T) {
	p, err := DecodePage([]byte(`{"hasMore":false,"items":[{"id":"1","custevent_nested":{"a": [1, 2]}}]}`))
	if err != nil || p.Items[0]["custevent_nested"] != `{"a":[1,2]}` {
		t.Fatalf("DecodePage = %v, %v", p, err)
	}
}

func TestDecodeNamesTheEnvelopeField(t *testing.T) {
	for body, want := range map[string]string{
		`{"hasMore":1,"items":[]}`:                       `"hasMore"`,
		`{"hasMore":false,"count":"x","items":[]}`:       `"count"`,
		`{"hasMore":false,"totalResults":[],"items":[]}`: `"totalResults"`,
		`{"hasMore":false,"items":{}}`:                   `"items"`,
	} {
		if _, err := DecodePage([]byte(body)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error naming %s", body, err, want)
		}
	}
}
