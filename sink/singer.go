package sink

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/extract-dev/extract/schema"
)

// SingerDeletedAt is the property a Singer RECORD carries for a deleted row (a tombstone):
// the deletion time, as the Singer spec's "_sdc_deleted_at" convention has it.
const SingerDeletedAt = "_sdc_deleted_at"

// Column names the Singer encoder looks for to mark tombstones; they match the
// connector's derived columns.
const (
	singerDeletedColumn     = "_deleted"
	singerExtractedAtColumn = "_extracted_at"
)

// SingerWriter writes Singer messages (one JSON object per line) to one writer. A File
// of a Sink whose Options.Singer is set buffers its RECORD lines and writes them here on
// Commit, after a SCHEMA message whenever its stream's schema is new or changed; the
// writer is flushed before Commit returns, so a Receipt means "on the output". One mutex
// keeps messages of concurrent streams from interleaving within a line and keeps a
// STATE written after a Commit after that Commit's records.
type SingerWriter struct {
	mu      sync.Mutex
	w       *bufio.Writer
	schemas map[string]string // per stream: fingerprint of the last SCHEMA written
	records map[string]int64  // per stream: RECORD messages written
}

// NewSingerWriter returns a writer of Singer messages to w.
func NewSingerWriter(w io.Writer) *SingerWriter {
	return &SingerWriter{w: bufio.NewWriterSize(w, 64<<10), schemas: map[string]string{}, records: map[string]int64{}}
}

// Records returns how many RECORD messages of stream have been written.
func (s *SingerWriter) Records(stream string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.records[stream]
}

// WriteState writes {"type":"STATE","value":value} and flushes.
func (s *SingerWriter) WriteState(value any) error {
	return s.writeMessage(map[string]any{"type": "STATE", "value": value})
}

// WriteMessage writes one message (any JSON-marshalable object) and flushes.
func (s *SingerWriter) writeMessage(msg any) error {
	b, err := json.Marshal(msg)
	if err != nil {
		return fmt.Errorf("singer: encode message: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.w.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("singer: write: %w", err)
	}
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("singer: write: %w", err)
	}
	return nil
}

// emit writes stream's SCHEMA if the schema is new to it, then the buffered RECORD
// lines, and flushes.
func (s *SingerWriter) emit(stream string, sc *arrow.Schema, fingerprint string, records []byte, rows int64) error {
	var schemaLine []byte
	s.mu.Lock()
	known := s.schemas[stream] == fingerprint
	s.mu.Unlock()
	if !known {
		b, err := json.Marshal(SingerSchemaMessage(stream, sc))
		if err != nil {
			return fmt.Errorf("singer: encode schema: %w", err)
		}
		schemaLine = append(b, '\n')
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if schemaLine != nil && s.schemas[stream] != fingerprint {
		if _, err := s.w.Write(schemaLine); err != nil {
			return fmt.Errorf("singer: write: %w", err)
		}
		s.schemas[stream] = fingerprint
	}
	if _, err := s.w.Write(records); err != nil {
		return fmt.Errorf("singer: write: %w", err)
	}
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("singer: write: %w", err)
	}
	s.records[stream] += rows
	return nil
}

// SingerSchema is a SCHEMA message.
type SingerSchema struct {
	Type               string         `json:"type"` // "SCHEMA"
	Stream             string         `json:"stream"`
	Schema             map[string]any `json:"schema"`
	KeyProperties      []string       `json:"key_properties"`
	BookmarkProperties []string       `json:"bookmark_properties,omitempty"`
}

// SingerSchemaMessage describes sc as a Singer SCHEMA message: a JSON Schema object of
// its columns (nullable ones as ["null", T]), plus _sdc_deleted_at; the key columns
// (field metadata extract.primary_key) are key_properties and the cursor
// (extract.cursor) the bookmark property.
func SingerSchemaMessage(stream string, sc *arrow.Schema) SingerSchema {
	props := map[string]any{}
	var keys, bookmarks []string
	for _, f := range sc.Fields() {
		props[f.Name] = JSONSchemaOf(f)
		if v, ok := f.Metadata.GetValue(schema.MetaPrimaryKey); ok && v == "true" {
			keys = append(keys, f.Name)
		}
		if v, ok := f.Metadata.GetValue(schema.MetaCursor); ok && v == "true" {
			bookmarks = append(bookmarks, f.Name)
		}
	}
	props[SingerDeletedAt] = map[string]any{"type": []string{"null", "string"}, "format": "date-time"}
	if keys == nil {
		keys = []string{}
	}
	return SingerSchema{Type: "SCHEMA", Stream: stream, KeyProperties: keys, BookmarkProperties: bookmarks,
		Schema: map[string]any{"type": "object", "properties": props, "required": keys}}
}

// JSONSchemaOf is the JSON Schema of one column as the Singer encoder writes it.
func JSONSchemaOf(f arrow.Field) map[string]any {
	typ := func(t string) any {
		if f.Nullable {
			return []string{"null", t}
		}
		return t
	}
	switch t := f.Type.(type) {
	case *arrow.Int64Type:
		return map[string]any{"type": typ("integer")}
	case *arrow.Float64Type:
		return map[string]any{"type": typ("number")}
	case *arrow.BooleanType:
		return map[string]any{"type": typ("boolean")}
	case *arrow.TimestampType:
		return map[string]any{"type": typ("string"), "format": "date-time"}
	case *arrow.Date32Type:
		return map[string]any{"type": typ("string"), "format": "date"}
	case *arrow.ListType:
		if _, ok := t.Elem().(*arrow.Int64Type); ok {
			return map[string]any{"type": typ("array"), "items": map[string]any{"type": "integer"}}
		}
	}
	return map[string]any{"type": typ("string")}
}

// newSingerEncoder is the NDJSON encoder with each row wrapped in a RECORD message, and
// a tombstone (_deleted true) given _sdc_deleted_at: its cursor value (the deletion
// time), else its _extracted_at (child rows, found gone at that instant).
func newSingerEncoder(out io.Writer, stream string, sc *arrow.Schema, cols []column, now func() time.Time) *singerEncoder {
	e := &singerEncoder{ndjsonEncoder: newNDJSONEncoder(out, cols), now: now}
	e.prefix = appendJSONString([]byte(`{"type":"RECORD","stream":`), []byte(stream))
	e.prefix = append(e.prefix, `,"record":`...)
	e.deleted, e.deletedAt, e.extractedAt = -1, -1, -1
	for i, f := range sc.Fields() {
		switch {
		case f.Name == singerDeletedColumn && cols[i].kind == kindBool:
			e.deleted = i
		case f.Name == singerExtractedAtColumn && cols[i].kind == kindTimestamp:
			e.extractedAt = i
		case cols[i].kind == kindTimestamp:
			if v, ok := f.Metadata.GetValue(schema.MetaCursor); ok && v == "true" {
				e.deletedAt = i
			}
		}
	}
	e.extra = e.appendDeletedAt
	return e
}

type singerEncoder struct {
	*ndjsonEncoder
	now                             func() time.Time
	deleted, deletedAt, extractedAt int
}

func (e *singerEncoder) write(rec arrow.Record) error {
	e.suffix = append(e.suffix[:0], `,"time_extracted":"`...)
	e.suffix = e.now().UTC().AppendFormat(e.suffix, time.RFC3339Nano)
	e.suffix = append(e.suffix, `"}`...)
	return e.ndjsonEncoder.write(rec)
}

// appendDeletedAt adds ,"_sdc_deleted_at":"…" to the record of a tombstone.
func (e *singerEncoder) appendDeletedAt(dst []byte, i int) ([]byte, error) {
	if e.deleted < 0 {
		return dst, nil
	}
	v := &e.views[e.deleted]
	if v.hasNulls && v.arr.IsNull(i) || !v.bools.Value(i) {
		return dst, nil
	}
	for _, c := range []int{e.deletedAt, e.extractedAt} {
		if c < 0 || e.views[c].hasNulls && e.views[c].arr.IsNull(i) {
			continue
		}
		dst = append(dst, `,"`+SingerDeletedAt+`":`...)
		return appendTimestamp(dst, int64(e.views[c].ts[i]))
	}
	return dst, nil
}
