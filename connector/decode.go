package connector

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/extract-dev/extract/schema"
)

// Page is one decoded SuiteQL page.
type Page struct {
	Items        []schema.RawRow
	HasMore      bool
	TotalResults int
	Offset       int
}

// flexInt accepts a JSON number or a numeric string: Oracle documents both for the
// envelope's count/offset/totalResults.
type flexInt int

func (f *flexInt) UnmarshalJSON(b []byte) error {
	s := string(bytes.Trim(b, `"`))
	if s == "null" {
		return nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Errorf("not an integer: %s", b)
	}
	*f = flexInt(n)
	return nil
}

// flexBool accepts true/false or "true"/"false".
type flexBool bool

func (f *flexBool) UnmarshalJSON(b []byte) error {
	switch string(b) {
	case "true", `"true"`, `"T"`:
		*f = true
	case "false", `"false"`, `"F"`, "null":
		*f = false
	default:
		return fmt.Errorf("not a boolean: %s", b)
	}
	return nil
}

type envelope struct {
	Count        *flexInt                      `json:"count"`
	HasMore      *flexBool                     `json:"hasMore"`
	Offset       flexInt                       `json:"offset"`
	TotalResults flexInt                       `json:"totalResults"`
	Items        *[]map[string]json.RawMessage `json:"items"`
}

// DecodePage parses a SuiteQL response body. Keys are lowercased, NULLs and the per-item
// "links" are dropped, and non-string scalars are rendered the way NetSuite renders them
// as text, so the typed conversion downstream sees one representation.
func DecodePage(body []byte) (*Page, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, fmt.Errorf("empty body")
	}
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("not a SuiteQL page: %w", err)
	}
	if env.Items == nil {
		return nil, fmt.Errorf(`no "items" array`)
	}
	if env.HasMore == nil {
		return nil, fmt.Errorf(`no "hasMore" flag`)
	}
	items := *env.Items
	if bool(*env.HasMore) && len(items) == 0 {
		return nil, fmt.Errorf(`"hasMore" is true but the page has no items`)
	}
	if env.Count != nil && int(*env.Count) != len(items) {
		return nil, fmt.Errorf(`"count" is %d but the page has %d items`, *env.Count, len(items))
	}
	p := &Page{HasMore: bool(*env.HasMore), TotalResults: int(env.TotalResults), Offset: int(env.Offset), Items: make([]schema.RawRow, len(items))}
	for i, item := range items {
		row, err := decodeItem(item)
		if err != nil {
			return nil, fmt.Errorf("item %d: %w", i, err)
		}
		p.Items[i] = row
	}
	return p, nil
}

func decodeItem(item map[string]json.RawMessage) (schema.RawRow, error) {
	if item == nil {
		return nil, fmt.Errorf("item is not an object")
	}
	row := make(schema.RawRow, len(item))
	for k, raw := range item {
		key := strings.ToLower(k)
		if key == "links" {
			continue
		}
		if _, dup := row[key]; dup {
			return nil, fmt.Errorf("key %q appears twice when case is ignored", key)
		}
		v, present, err := scalarText(raw)
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", key, err)
		}
		if present {
			row[key] = v
		}
	}
	return row, nil
}

// scalarText renders one JSON value as NetSuite's text form; present is false for NULL.
func scalarText(raw json.RawMessage) (text string, present bool, err error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "", false, fmt.Errorf("empty value")
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", false, err
		}
		// Oracle stores '' as NULL; an empty string and an omitted key mean the same.
		return s, s != "", nil
	case 'n':
		return "", false, nil
	case 't':
		return "T", true, nil
	case 'f':
		return "F", true, nil
	case '{', '[':
		return "", false, fmt.Errorf("nested value where a scalar was expected")
	default:
		return string(raw), true, nil
	}
}
