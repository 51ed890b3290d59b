package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/extract-dev/extract/connector"
	"github.com/extract-dev/extract/connector/netsuitetest"
	"github.com/extract-dev/extract/state"
)

// discoverEnv starts a fake account with custom fields of every kind, one standard
// column it will not serve, and returns the environment a user would set for it.
func discoverEnv(t *testing.T) (*netsuitetest.Server, map[string]string) {
	t.Helper()
	return fakeEnvWith(t, netsuitetest.Options{Seed: 3, Rows: map[string]int{"customer": 5, "calendarevent": 5},
		CustomFields: netsuitetest.StandardCustomFields(),
		Rejections:   map[string]map[string]netsuitetest.Rejection{"calendarevent": {"supportcase": netsuitetest.NotExposed}}})
}

// TestDiscoverAsksTheAccount: with credentials, discover lists every column a run would
// write — custom fields typed, with their labels and value types — and the columns
// NetSuite refuses with its reason; it records what it found in the state file.
func TestDiscoverAsksTheAccount(t *testing.T) {
	_, env := discoverEnv(t)
	statePath := filepath.Join(t.TempDir(), "state.json")
	code, out, stderr := runCLI(t, env, "discover", "--json", "--streams", "customer,calendarevent", "--state", statePath)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var d struct {
		Live    bool `json:"live"`
		Streams []struct {
			Name    string `json:"name"`
			Columns []struct {
				Name, Label  string
				ArrowType    string `json:"arrow_type"`
				ValueType    string `json:"value_type"`
				NetsuiteType string `json:"netsuite_type"`
				Custom       bool
			} `json:"columns"`
			Dropped []struct{ Column, Reason string } `json:"dropped_columns"`
			Skipped []struct{ Column, Reason string } `json:"skipped_columns"`
			Notes   []string                          `json:"notes"`
		} `json:"streams"`
	}
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !d.Live || len(d.Streams) != 2 {
		t.Fatalf("discover = %s", out)
	}
	types := map[string]string{}
	for _, c := range d.Streams[0].Columns {
		types[c.Name] = c.ArrowType + " " + c.NetsuiteType + " " + c.ValueType
		if strings.HasPrefix(c.Name, "cust") && (!c.Custom || c.Label == "") {
			t.Errorf("%s: custom %v label %q", c.Name, c.Custom, c.Label)
		}
	}
	for name, want := range map[string]string{
		"custentity_vip":            "bool bool Check Box",
		"custentity_product_lines":  "list<item: int64> integer_list Multiple Select",
		"custentity_commission_pct": "float64 percent Percent",
		"custentity_last_contacted": "timestamp[us, tz=UTC] datetime Date/Time",
		"custentity_renewal_date":   "date32 date Date",
		"custentitylocation":        "utf8 text Geo Point",
		"companyname":               "utf8 text ",
	} {
		if got := types[name]; got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if _, ok := types["custentity_legacy_code"]; ok {
		t.Error("a field SuiteQL does not serve is listed as a column")
	}
	ev := d.Streams[1]
	var refused []string
	for _, dc := range ev.Dropped {
		refused = append(refused, dc.Column+": "+dc.Reason)
	}
	if len(refused) != 2 || !strings.Contains(strings.Join(refused, "|"), "supportcase: NOT_EXPOSED - Not available for channel SUITEQL") {
		t.Errorf("calendarevent refused %q", refused)
	}
	if len(ev.Skipped) != 1 || ev.Skipped[0].Column != "custevent_sla_hours" {
		t.Errorf("skipped %+v", ev.Skipped)
	}
	f, err := state.Load(statePath)
	if err != nil {
		t.Fatal(err)
	}
	if f.CustomFields == nil || len(f.CustomFields.Fields) != 42 || f.Schemas["calendarevent"].Dropped["supportcase"].Reason == "" {
		t.Fatalf("state after discover: catalog %v, calendarevent %+v", f.CustomFields != nil, f.Schemas["calendarevent"])
	}

	// The table for people.
	code, out, _ = runCLI(t, env, "discover", "--streams", "calendarevent", "--state", statePath)
	for _, want := range []string{"Source: account TSTDRV1", "calendarevent: ", "custevent_topics", "list<item: int64>",
		"refused by NetSuite: supportcase (NOT_EXPOSED - Not available for channel SUITEQL)",
		"not extracted: custevent_sla_hours (not stored", `note: custeventvenue: value type "Geo Point"`} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("exit %d; table lacks %q:\n%s", code, want, out)
		}
	}
}

func TestDiscoverHelpExplainsItself(t *testing.T) {
	code, _, stderr := runCLI(t, nil, "discover", "--help")
	for _, want := range []string{"custom fields", "refuses", "-offline", "-json", "state file", "built-in catalog"} {
		if code != 0 || !strings.Contains(stderr, want) {
			t.Errorf("discover --help lacks %q:\n%s", want, stderr)
		}
	}
}

// TestDiagnoseReadsTheQuotedTable: a refused table is recognised by its quoted name in
// whatever wording NetSuite uses, not by one sentence.
func TestDiagnoseReadsTheQuotedTable(t *testing.T) {
	for _, detail := range []string{
		"Invalid search query. Detailed unprocessed description follows. Search error occurred: Record 'task' was not found.",
		"Search error occurred: Record 'TASK' was not found. Reason: FEATURE_DISABLED",
		`Search error occurred: the record type "task" is not available for your role.`,
	} {
		r := diagnose("task", (&connector.APIError{Status: 400, Code: "INVALID_PARAMETER", Detail: detail}))
		if r.Problem != "missing permission or feature disabled" {
			t.Errorf("%q: %q", detail, r.Problem)
		}
	}
	if r := diagnose("task", &connector.APIError{Status: 400, Code: "INVALID_HEADER", Detail: "Invalid Accept-Language header"}); r.Problem == "missing permission or feature disabled" {
		t.Errorf("a header error read as a permission: %+v", r)
	}
}

// TestStateResetOfAChildStreamKeepsItsIndex: resetting an address book makes the next run
// read it in full, and lines removed meanwhile still get their tombstones, because the
// index that names what the output holds is kept.
func TestStateResetOfAChildStreamKeepsItsIndex(t *testing.T) {
	srv, env := fakeEnv(t, 30)
	dir := t.TempDir()
	statePath, out := filepath.Join(dir, "s.json"), filepath.Join(dir, "out")
	run := func() string {
		t.Helper()
		code, stdout, stderr := runCLI(t, env, "run", "--json", "--state", statePath, "--output", out, "--streams", "customeraddressbook")
		if code != 0 {
			t.Fatalf("run: %s", stderr)
		}
		return stdout
	}
	run()
	before, _ := state.Load(statePath)
	gen := before.Streams["customeraddressbook"].IndexGen
	if code, _, stderr := runCLI(t, nil, "state", "reset", "customeraddressbook", "--state", statePath); code != 0 || gen == 0 {
		t.Fatalf("reset: %s (index generation %d)", stderr, gen)
	}
	after, _ := state.Load(statePath)
	if st := after.Streams["customeraddressbook"]; st.IndexGen != gen || !st.Watermark.IsZero() {
		t.Fatalf("after reset: %+v", st)
	}
	srv.RemoveAddressLine("customer", srv.AddressBook("customer")[0]["internalid"].(int64))
	if got := run(); !strings.Contains(got, `"deleted": 1,`) {
		t.Fatalf("the full read after the reset wrote no tombstone for the removed line:\n%s", got)
	}
}
