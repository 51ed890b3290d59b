package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/extract-dev/extract/connector"
)

// singerStream is what the checker learnt about one stream from the message stream.
type singerStream struct {
	schema  map[string]any // the latest SCHEMA's schema
	keys    []string
	records []map[string]any
}

// singerOutput is a checked Singer message stream.
type singerOutput struct {
	streams   map[string]*singerStream
	lastState json.RawMessage
	states    int
}

// checkSinger parses stdout line by line and fails t unless every line is one JSON
// message with a type; a stream's SCHEMA precedes its RECORDs; every RECORD validates
// against its stream's latest SCHEMA and has an RFC 3339 time_extracted; every STATE
// counts no more rows for a stream (bookmark rows_total of the stream and its deletions,
// less the initial state's) than RECORDs seen before it; and a STATE comes last.
func checkSinger(t *testing.T, stdout string, initial map[string]int64) *singerOutput {
	t.Helper()
	out := &singerOutput{streams: map[string]*singerStream{}}
	sc := bufio.NewScanner(strings.NewReader(stdout))
	sc.Buffer(nil, 16<<20)
	lastType, n := "", 0
	for sc.Scan() {
		n++
		line := sc.Bytes()
		var msg struct {
			Type          string          `json:"type"`
			Stream        string          `json:"stream"`
			Schema        map[string]any  `json:"schema"`
			KeyProperties []string        `json:"key_properties"`
			Record        json.RawMessage `json:"record"`
			TimeExtracted string          `json:"time_extracted"`
			Value         json.RawMessage `json:"value"`
		}
		if err := json.Unmarshal(line, &msg); err != nil || msg.Type == "" {
			t.Fatalf("stdout line %d is not a Singer message (%v): %.200s", n, err, line)
		}
		lastType = msg.Type
		switch msg.Type {
		case "SCHEMA":
			if msg.Stream == "" || msg.Schema == nil || msg.KeyProperties == nil {
				t.Fatalf("line %d: SCHEMA without stream, schema or key_properties: %.200s", n, line)
			}
			s := out.streams[msg.Stream]
			if s == nil {
				s = &singerStream{}
				out.streams[msg.Stream] = s
			}
			s.schema, s.keys = msg.Schema, msg.KeyProperties
		case "RECORD":
			s := out.streams[msg.Stream]
			if s == nil {
				t.Fatalf("line %d: RECORD of %s before its SCHEMA", n, msg.Stream)
			}
			if _, err := time.Parse(time.RFC3339, msg.TimeExtracted); err != nil {
				t.Fatalf("line %d: time_extracted %q: %v", n, msg.TimeExtracted, err)
			}
			dec := json.NewDecoder(bytes.NewReader(msg.Record))
			dec.UseNumber()
			var rec map[string]any
			if err := dec.Decode(&rec); err != nil {
				t.Fatalf("line %d: record: %v", n, err)
			}
			if err := validateJSON(s.schema, rec, "record"); err != nil {
				t.Fatalf("line %d: RECORD of %s does not match its SCHEMA: %v\n%.300s", n, msg.Stream, err, line)
			}
			s.records = append(s.records, rec)
		case "STATE":
			var v struct {
				Bookmarks map[string]struct {
					RowsTotal int64 `json:"rows_total"`
				} `json:"bookmarks"`
			}
			if err := json.Unmarshal(msg.Value, &v); err != nil || v.Bookmarks == nil {
				t.Fatalf("line %d: STATE value is not {\"bookmarks\": {...}} (%v): %.200s", n, err, line)
			}
			counted := map[string]int64{}
			for name, b := range v.Bookmarks {
				base, _ := strings.CutSuffix(name, ".deleted")
				counted[base] += b.RowsTotal - initial[name]
			}
			for name, rows := range counted {
				seen := 0
				if s := out.streams[name]; s != nil {
					seen = len(s.records)
				}
				if rows > int64(seen) {
					t.Fatalf("line %d: STATE covers %d new rows of %s, but only %d RECORDs came before it", n, rows, name, seen)
				}
			}
			out.lastState = msg.Value
			out.states++
		default:
			t.Fatalf("line %d: unknown message type %q", n, msg.Type)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if lastType != "STATE" {
		t.Fatalf("the last message is %q, want a final STATE", lastType)
	}
	return out
}

// validateJSON checks v against the subset of JSON Schema extract emits: type (a name or
// a union), format date-time and date, integer, number, boolean, string, arrays with
// items, objects with properties (no others allowed) and required (present, not null).
func validateJSON(schema map[string]any, v any, at string) error {
	var types []string
	switch t := schema["type"].(type) {
	case string:
		types = []string{t}
	case []any:
		for _, x := range t {
			types = append(types, x.(string))
		}
	default:
		return fmt.Errorf("%s: schema without a type", at)
	}
	if v == nil {
		if slices.Contains(types, "null") {
			return nil
		}
		return fmt.Errorf("%s: null, want %v", at, types)
	}
	var got string
	switch x := v.(type) {
	case bool:
		got = "boolean"
	case string:
		got = "string"
		switch schema["format"] {
		case "date-time":
			if _, err := time.Parse(time.RFC3339, x); err != nil || !strings.HasSuffix(x, "Z") {
				return fmt.Errorf("%s: %q is not an RFC 3339 UTC date-time", at, x)
			}
		case "date":
			if _, err := time.Parse(time.DateOnly, x); err != nil {
				return fmt.Errorf("%s: %q is not a date", at, x)
			}
		}
	case json.Number:
		got = "number"
		if _, err := x.Int64(); err == nil && !strings.ContainsAny(x.String(), ".eE") && slices.Contains(types, "integer") {
			got = "integer"
		}
	case []any:
		got = "array"
		items, _ := schema["items"].(map[string]any)
		for i, e := range x {
			if err := validateJSON(items, e, fmt.Sprintf("%s[%d]", at, i)); err != nil {
				return err
			}
		}
	case map[string]any:
		got = "object"
		props, _ := schema["properties"].(map[string]any)
		for k, e := range x {
			p, ok := props[k].(map[string]any)
			if !ok {
				return fmt.Errorf("%s.%s: not in the schema", at, k)
			}
			if err := validateJSON(p, e, at+"."+k); err != nil {
				return err
			}
		}
		req, _ := schema["required"].([]any)
		for _, k := range req {
			if x[k.(string)] == nil {
				return fmt.Errorf("%s.%s: required, missing or null", at, k)
			}
		}
	}
	if !slices.Contains(types, got) {
		return fmt.Errorf("%s: %s %v, want %v", at, got, v, types)
	}
	return nil
}

// tapEnv is the fake account's settings as Meltano passes them: TAP_NETSUITE_*.
func tapEnv(env map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range env {
		out["TAP_"+k] = v
	}
	return out
}

func writeJSON(t *testing.T, path string, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func ids(recs []map[string]any, deleted bool) map[string]bool {
	out := map[string]bool{}
	for _, r := range recs {
		if _, ok := r["_sdc_deleted_at"]; ok == deleted {
			out[r["id"].(json.Number).String()] = true
		}
	}
	return out
}

// TestSingerFullThenIncremental: a full run and an incremental run fed the full run's
// last STATE, against the fake account, checked message by message; changes made in
// between arrive, deletions as RECORDs with _sdc_deleted_at; nothing is written to the
// working directory.
func TestSingerFullThenIncremental(t *testing.T) {
	srv, env := fakeEnv(t, 120)
	dir := t.TempDir()
	work := filepath.Join(dir, "work")
	if err := os.Mkdir(work, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Chdir(work)
	config := writeJSON(t, filepath.Join(dir, "config.json"), map[string]any{"singer_index_dir": filepath.Join(dir, "index"), "file_rows": 50})

	code, stdout, stderr := runCLI(t, tapEnv(env), "singer", "--config", config)
	if code != 0 {
		t.Fatalf("full run: exit %d: %s", code, stderr)
	}
	full := checkSinger(t, stdout, nil)
	for _, name := range []string{"customer", "contact", "calendarevent", "task", "phonecall"} {
		s := full.streams[name]
		if s == nil || len(s.records) != len(srv.Truth(name)) {
			t.Fatalf("%s: got %v records, want %d", name, s, len(srv.Truth(name)))
		}
		if !slices.Equal(s.keys, []string{"id"}) {
			t.Errorf("%s: key_properties %v, want [id]", name, s.keys)
		}
	}
	if s := full.streams["customeraddressbook"]; s == nil || len(s.records) == 0 || len(s.keys) != 2 {
		t.Fatalf("customeraddressbook: %+v", s)
	}
	if full.states < 5 {
		t.Errorf("%d STATE messages, want one after each file", full.states)
	}

	truth := srv.Truth("customer")
	for _, r := range truth[:3] {
		srv.Upsert("customer", map[string]any{"id": r["id"], "companyname": fmt.Sprintf("Renamed %d", r["id"])})
	}
	for _, r := range truth[3:5] {
		srv.Delete("customer", r["id"].(int64))
	}
	time.Sleep(1100 * time.Millisecond) // NetSuite's clock must pass the changes
	statePath := writeJSON(t, filepath.Join(dir, "state.json"), full.lastState)
	var st struct {
		Bookmarks map[string]struct {
			RowsTotal int64 `json:"rows_total"`
		} `json:"bookmarks"`
	}
	_ = json.Unmarshal(full.lastState, &st)
	initial := map[string]int64{}
	for k, b := range st.Bookmarks {
		initial[k] = b.RowsTotal
	}
	code, stdout, stderr = runCLI(t, tapEnv(env), "singer", "--config", config, "--state", statePath)
	if code != 0 {
		t.Fatalf("incremental run: exit %d: %s", code, stderr)
	}
	inc := checkSinger(t, stdout, initial)
	cust := inc.streams["customer"]
	if cust == nil {
		t.Fatal("incremental run: no customer messages")
	}
	changed, gone := ids(cust.records, false), ids(cust.records, true)
	for _, r := range truth[:3] {
		if !changed[fmt.Sprint(r["id"])] {
			t.Errorf("edited customer %v missing from the incremental run (got %v)", r["id"], changed)
		}
	}
	for _, r := range truth[3:5] {
		if !gone[fmt.Sprint(r["id"])] {
			t.Errorf("deleted customer %v has no RECORD with _sdc_deleted_at (got %v)", r["id"], gone)
		}
	}
	for _, r := range cust.records {
		if at, ok := r["_sdc_deleted_at"]; ok && (at == nil || r["_deleted"] != true) {
			t.Errorf("tombstone %v: _sdc_deleted_at %v, _deleted %v", r["id"], at, r["_deleted"])
		}
	}
	if n := len(cust.records); n > 10 {
		t.Errorf("incremental run re-sent %d customer records; want only the changes (and the look-back)", n)
	}
	if entries, _ := os.ReadDir(work); len(entries) > 0 {
		t.Errorf("Singer mode wrote into the working directory: %v", entries)
	}
	if _, err := os.Stat(filepath.Join(dir, "index")); err != nil {
		t.Errorf("line indexes not in singer_index_dir: %v", err)
	}
	if strings.Contains(stderr, "demo-client-secret") {
		t.Error("a secret reached stderr")
	}
}

// TestSingerCatalogSelects: --discover prints a spec catalog; a catalog that deselects a
// stream and a column narrows the run to what is selected.
func TestSingerCatalogSelects(t *testing.T) {
	_, env := fakeEnv(t, 40)
	dir := t.TempDir()
	t.Chdir(dir)
	code, stdout, stderr := runCLI(t, env, "singer", "--discover")
	if code != 0 {
		t.Fatalf("discover: exit %d: %s", code, stderr)
	}
	var cat struct {
		Streams []map[string]any `json:"streams"`
	}
	if err := json.Unmarshal([]byte(stdout), &cat); err != nil {
		t.Fatalf("catalog is not JSON: %v", err)
	}
	if len(cat.Streams) != len(connector.AllStreams()) {
		t.Fatalf("catalog has %d streams, want %d", len(cat.Streams), len(connector.AllStreams()))
	}
	for _, s := range cat.Streams {
		md := s["metadata"].([]any)
		top := md[0].(map[string]any)
		if len(top["breadcrumb"].([]any)) != 0 || top["metadata"].(map[string]any)["forced-replication-method"] != "INCREMENTAL" {
			t.Fatalf("%v: first metadata entry %v", s["tap_stream_id"], top)
		}
		if s["tap_stream_id"] == "customer" {
			m := top["metadata"].(map[string]any)
			if fmt.Sprint(m["valid-replication-keys"]) != "[lastmodifieddate]" || fmt.Sprint(m["table-key-properties"]) != "[id]" {
				t.Errorf("customer metadata %v", m)
			}
		}
		// Select customer and task, then deselect task and customer.email.
		name := s["tap_stream_id"].(string)
		top["metadata"].(map[string]any)["selected"] = name == "customer"
		for _, e := range md[1:] {
			row := e.(map[string]any)
			bc := row["breadcrumb"].([]any)
			m := row["metadata"].(map[string]any)
			switch {
			case name == "customer" && bc[1] == "email":
				m["selected"] = false
			case name == "customer" && bc[1] == "id":
				if m["inclusion"] != "automatic" {
					t.Errorf("customer.id inclusion %v, want automatic", m["inclusion"])
				}
				m["selected"] = false // automatic: ignored
			}
		}
	}
	catalog := writeJSON(t, filepath.Join(dir, "catalog.json"), cat)
	os.Remove(catalog)
	catalog = writeJSON(t, filepath.Join(t.TempDir(), "catalog.json"), cat)
	code, stdout, stderr = runCLI(t, env, "singer", "--catalog", catalog)
	if code != 0 {
		t.Fatalf("run: exit %d: %s", code, stderr)
	}
	out := checkSinger(t, stdout, nil)
	if len(out.streams) != 1 || out.streams["customer"] == nil {
		t.Fatalf("streams %v, want customer only", slices.Collect(func(yield func(string) bool) {
			for k := range out.streams {
				yield(k)
			}
		}))
	}
	c := out.streams["customer"]
	if _, ok := c.schema["properties"].(map[string]any)["email"]; ok {
		t.Error("customer SCHEMA still has email")
	}
	for _, r := range c.records {
		if _, ok := r["email"]; ok {
			t.Fatal("a customer RECORD has email")
		}
		if r["id"] == nil {
			t.Fatal("a customer RECORD lacks id")
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) > 0 {
		t.Errorf("Singer mode wrote into the working directory: %v", entries)
	}
}

func TestSingerAbout(t *testing.T) {
	code, stdout, stderr := runCLI(t, nil, "singer", "--about", "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var about struct {
		Name         string
		Capabilities []string
		Settings     []struct {
			Name, Kind, Env string
			Sensitive       bool
		}
	}
	if err := json.Unmarshal([]byte(stdout), &about); err != nil {
		t.Fatal(err)
	}
	if about.Name != singerPlugin || !slices.Equal(about.Capabilities, []string{"catalog", "discover", "state", "about"}) {
		t.Fatalf("about = %+v", about)
	}
	want := map[string]string{"account_id": "string", "client_secret": "password", "concurrency": "integer", "singer_index_dir": "string"}
	for _, s := range about.Settings {
		if k, ok := want[s.Name]; ok {
			if s.Kind != k || s.Sensitive != (k == "password") {
				t.Errorf("setting %s: kind %s sensitive %v", s.Name, s.Kind, s.Sensitive)
			}
			delete(want, s.Name)
		}
		if s.Name == "client_secret" && s.Env != "TAP_NETSUITE_CLIENT_SECRET" {
			t.Errorf("client_secret env %q", s.Env)
		}
	}
	if len(want) > 0 {
		t.Errorf("settings missing: %v", want)
	}
}

// TestTapAliases: TAP_NETSUITE_* stands in for NETSUITE_*, which wins when both are set,
// and errors name the variable the user set.
func TestTapAliases(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want string // in the error
	}{
		{map[string]string{"TAP_NETSUITE_ACCOUNT_ID": "bad id!"}, "TAP_NETSUITE_ACCOUNT_ID"},
		{map[string]string{"TAP_NETSUITE_ACCOUNT_ID": "123", "NETSUITE_ACCOUNT_ID": "bad id!"}, "NETSUITE_ACCOUNT_ID:"},
		{map[string]string{"TAP_NETSUITE_ACCOUNT_ID": "bad id!", "NETSUITE_ACCOUNT_ID": "123", "NETSUITE_AUTH_METHOD": "nope"}, "nope"},
	}
	for i, tc := range tests {
		code, _, stderr := runCLI(t, tc.env, "singer")
		if code != exitConfig || !strings.Contains(stderr, tc.want) {
			t.Errorf("case %d: exit %d, stderr %q, want %q", i, code, stderr, tc.want)
		}
	}
}

// TestMeltanoSnippetMatchesAbout: deploy/meltano/meltano.yml declares the capabilities
// and exactly the settings (names, kinds, sensitivity) that --about reports.
func TestMeltanoSnippetMatchesAbout(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "deploy", "meltano", "meltano.yml"))
	if err != nil {
		t.Fatal(err)
	}
	type decl struct {
		kind      string
		sensitive bool
	}
	got, name := map[string]decl{}, ""
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "- name: ") && name != "-":
			name = strings.TrimPrefix(line, "- name: ")
			got[name] = decl{}
		case strings.HasPrefix(line, "kind: "):
			d := got[name]
			d.kind = strings.TrimPrefix(line, "kind: ")
			got[name] = d
		case line == "sensitive: true":
			d := got[name]
			d.sensitive = true
			got[name] = d
		}
	}
	delete(got, singerPlugin) // the plugin's own name line
	want := map[string]decl{}
	for _, s := range singerSettings() {
		want[s.Name] = decl{s.Kind, s.Sensitive}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("meltano.yml settings:\n%v\nwant (extract singer --about):\n%v", got, want)
	}
	for _, c := range []string{"- catalog", "- discover", "- state", "- about", "executable: extract-singer"} {
		if !strings.Contains(string(b), c) {
			t.Errorf("meltano.yml lacks %q", c)
		}
	}
}
