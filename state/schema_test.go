package state

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var testSchema = Schema{
	Columns: []Column{{Name: "id", Kind: "integer"}, {Name: "custentity_tags", Kind: "integer_list"}},
	Dropped: map[string]Dropped{"supportcase": {Reason: "NOT_EXPOSED - Not available for channel SUITEQL", Since: fixedAt.In(berlin)}},
	Kinds:   map[string]string{"custentity_tags": "integer_list"},
}

var testFields = CustomFields{FetchedAt: fixedAt, Fields: []CustomField{
	{ScriptID: "custentity_tags", Label: "Tags", FieldType: "ENTITY", ValueType: "Multiple Select", ValueTypeRecord: "customlist_tags", Stored: true},
	{ScriptID: "custentity_formula", ValueType: "Free-Form Text"},
}}

// TestStagedSchemaWaitsForACheckpoint: schema facts are written with the next checkpoint,
// not before, so a run that fails before making progress leaves the file as it was; then
// they round-trip through the file.
func TestStagedSchemaWaitsForACheckpoint(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	s := openT(t, path)
	if err := s.StageSchema("customer", testSchema); err != nil {
		t.Fatal(err)
	}
	if err := s.StageCustomFields(testFields); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("staging wrote the state file: %v", err)
	}
	got, ok := s.Schema("customer")
	if !ok || got.Dropped["supportcase"].Reason != testSchema.Dropped["supportcase"].Reason {
		t.Fatalf("staged schema not readable: %+v", got)
	}
	if err := s.Save("customer", Stream{Watermark: fixedAt}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	f, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	want := testSchema
	want.Dropped = map[string]Dropped{"supportcase": {Reason: testSchema.Dropped["supportcase"].Reason, Since: fixedAt}}
	mustEqual(t, "schema", f.Schemas["customer"], want)
	mustEqual(t, "custom fields", *f.CustomFields, testFields)

	s2 := openT(t, path)
	if c, ok := s2.CustomFields(); !ok || len(c.Fields) != 2 || c.Fields[0].Label != "Tags" {
		t.Fatalf("reopened catalog %+v", c)
	}
	// A flush writes what is staged, and nothing when nothing is.
	before := readFile(t, path)
	if err := s2.Flush(); err != nil {
		t.Fatal(err)
	}
	if string(readFile(t, path)) != string(before) {
		t.Fatal("Flush with nothing staged rewrote the file")
	}
	sc := testSchema
	sc.Dropped = nil
	if err := s2.StageSchema("customer", sc); err != nil {
		t.Fatal(err)
	}
	if err := s2.Flush(); err != nil {
		t.Fatal(err)
	}
	if f, _ := Load(path); len(f.Schemas["customer"].Dropped) != 0 {
		t.Fatalf("flushed schema = %+v", f.Schemas["customer"])
	}
}

func TestSchemaNoAliasing(t *testing.T) {
	s := openT(t, filepath.Join(t.TempDir(), "state.json"))
	sc := testSchema
	sc.Kinds = map[string]string{"a": "text"}
	if err := s.StageSchema("customer", sc); err != nil {
		t.Fatal(err)
	}
	sc.Kinds["a"] = "integer"
	got, _ := s.Schema("customer")
	got.Kinds["b"] = "bool"
	again, _ := s.Schema("customer")
	if again.Kinds["a"] != "text" || len(again.Kinds) != 1 {
		t.Fatalf("the store shares its maps: %v", again.Kinds)
	}
}

func TestInvalidSchemaRefused(t *testing.T) {
	s := openT(t, filepath.Join(t.TempDir(), "state.json"))
	for _, bad := range []Schema{
		{Columns: []Column{{Name: "", Kind: "text"}}},
		{Dropped: map[string]Dropped{"": {Reason: "x"}}},
		{Kinds: map[string]string{"x": ""}},
		{Dropped: map[string]Dropped{"x": {Since: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}}},
	} {
		if err := s.StageSchema("customer", bad); err == nil {
			t.Errorf("StageSchema(%+v) accepted", bad)
		}
	}
	if err := s.StageCustomFields(CustomFields{Fields: []CustomField{{ValueType: "Date"}}}); err == nil {
		t.Error("a custom field without scriptid was accepted")
	}
	dir := t.TempDir()
	for name, body := range map[string]string{
		"schema":  `{"version":1,"streams":{},"schemas":{"customer":{"columns":[{"name":"","kind":"text"}]}}}`,
		"catalog": `{"version":1,"streams":{},"custom_fields":{"fetched_at":"2024-01-01T00:00:00Z","fields":[{"valuetype":"Date"}]}}`,
	} {
		path := filepath.Join(dir, name+".json")
		os.WriteFile(path, []byte(body), 0o600)
		if _, err := Load(path); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "customer") && name == "schema" {
			t.Errorf("%s: Load = %v, want ErrCorrupt", name, err)
		}
	}
}
