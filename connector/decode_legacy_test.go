package connector

// The encoding/json-based decoder DecodePage replaced, kept as test code only: the
// differential fuzz test (FuzzDecodePageMatchesLegacy) checks that the scanner accepts
// and produces what it did.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/extract-dev/extract/schema"
)

// legacyDecodePage is the old DecodePage: encoding/json into map[string]json.RawMessage,
// then one json.Unmarshal per value.
func legacyDecodePage(body []byte) (*Page, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, fmt.Errorf("empty body")
	}
	var env map[string]json.RawMessage
	if err := json.Unmarshal(body, &env); err != nil || env == nil {
		if err == nil {
			err = fmt.Errorf("null")
		}
		return nil, fmt.Errorf("not a SuiteQL page: %w", err)
	}
	p := &Page{}
	hasMore, ok := env["hasMore"]
	if !ok {
		return nil, fmt.Errorf(`no "hasMore" flag`)
	}
	var err error
	if p.HasMore, err = legacyEnvelopeBool(hasMore); err != nil {
		return nil, fmt.Errorf(`"hasMore": %w`, err)
	}
	for name, dst := range map[string]*int{"offset": &p.Offset, "totalResults": &p.TotalResults} {
		if raw, ok := env[name]; ok {
			if *dst, err = legacyEnvelopeInt(raw); err != nil {
				return nil, fmt.Errorf("%q: %w", name, err)
			}
		}
	}
	rawItems, ok := env["items"]
	if !ok {
		return nil, fmt.Errorf(`no "items" array`)
	}
	var items []map[string]json.RawMessage
	if err := json.Unmarshal(rawItems, &items); err != nil {
		return nil, fmt.Errorf(`"items" is not an array of objects: %w`, err)
	}
	if raw, ok := env["count"]; ok {
		n, err := legacyEnvelopeInt(raw)
		if err != nil {
			return nil, fmt.Errorf(`"count": %w`, err)
		}
		if n != len(items) {
			return nil, fmt.Errorf(`"count" is %d but the page has %d items`, n, len(items))
		}
	}
	if p.HasMore && len(items) == 0 {
		return nil, fmt.Errorf(`"hasMore" is true but the page has no items`)
	}
	p.Items = make([]schema.RawRow, len(items))
	for i, item := range items {
		row, err := legacyDecodeItem(item)
		if err != nil {
			var ie *ItemError
			if errors.As(err, &ie) {
				ie.Index = i
				return nil, ie
			}
			return nil, fmt.Errorf("item %d: %w", i, err)
		}
		p.Items[i] = row
	}
	return p, nil
}

// envelopeInt accepts a JSON number or a numeric string: Oracle documents both for the
// envelope's count/offset/totalResults.
func legacyEnvelopeInt(raw json.RawMessage) (int, error) {
	s := string(bytes.Trim(bytes.TrimSpace(raw), `"`))
	if s == "null" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("not an integer: %s", legacyTruncateJSON(raw))
	}
	return n, nil
}

// envelopeBool accepts true/false, "true"/"false" and NetSuite's "T"/"F".
func legacyEnvelopeBool(raw json.RawMessage) (bool, error) {
	switch string(bytes.TrimSpace(raw)) {
	case "true", `"true"`, `"T"`:
		return true, nil
	case "false", `"false"`, `"F"`, "null":
		return false, nil
	}
	return false, fmt.Errorf("not a boolean: %s", legacyTruncateJSON(raw))
}

func legacyTruncateJSON(raw json.RawMessage) string {
	if len(raw) > 40 {
		return string(raw[:40]) + "…"
	}
	return string(raw)
}

func legacyDecodeItem(item map[string]json.RawMessage) (schema.RawRow, error) {
	if item == nil {
		return nil, fmt.Errorf("item is not an object")
	}
	row := make(schema.RawRow, len(item))
	var bad *ItemError
	for k, raw := range item {
		key := strings.ToLower(k)
		if key == "links" {
			continue
		}
		if _, dup := row[key]; dup {
			return nil, fmt.Errorf("key %q appears twice when case is ignored", key)
		}
		v, present, err := legacyScalarText(raw)
		if err != nil {
			if bad == nil {
				bad = &ItemError{Key: key, Reason: err.Error()}
			}
			continue
		}
		if present {
			row[key] = v
		}
	}
	if bad != nil {
		bad.ID = row["id"]
		return nil, bad
	}
	return row, nil
}

// scalarText renders one JSON value as NetSuite's text form; present is false for NULL.
func legacyScalarText(raw json.RawMessage) (text string, present bool, err error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "", false, fmt.Errorf("empty value")
	}
	switch raw[0] {
	case '"':
		// encoding/json would quietly turn bad bytes and lone surrogates into U+FFFD.
		if !utf8.Valid(raw) || legacyHasLoneSurrogate(raw) {
			return "", false, fmt.Errorf("text is not valid UTF-8")
		}
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
		var compact bytes.Buffer
		if err := json.Compact(&compact, raw); err != nil {
			return "", false, err
		}
		return compact.String(), true, nil
	default:
		return string(raw), true, nil
	}
}

// hasLoneSurrogate reports a \uD800–\uDFFF escape in a JSON string that is not half of
// a high-low pair: JSON decoders replace it silently with U+FFFD.
func legacyHasLoneSurrogate(raw []byte) bool {
	pendingHigh := false
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' || i+1 >= len(raw) {
			if pendingHigh {
				return true
			}
			continue
		}
		if raw[i+1] != 'u' || i+5 >= len(raw) {
			if pendingHigh {
				return true
			}
			i++ // skip the escaped character, which may itself be a backslash
			continue
		}
		v, err := strconv.ParseUint(string(raw[i+2:i+6]), 16, 16)
		i += 5
		switch {
		case err != nil:
			return false // not a valid escape at all; json.Unmarshal reports it
		case v >= 0xD800 && v <= 0xDBFF:
			if pendingHigh {
				return true
			}
			pendingHigh = true
		case v >= 0xDC00 && v <= 0xDFFF:
			if !pendingHigh {
				return true
			}
			pendingHigh = false
		default:
			if pendingHigh {
				return true
			}
		}
	}
	return pendingHigh
}
