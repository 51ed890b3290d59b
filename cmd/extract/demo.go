package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/extract-dev/extract/connector"
	"github.com/extract-dev/extract/connector/netsuitetest"
)

// cmdDemo starts the built-in fake NetSuite, then runs a full extract and an incremental
// one through the same code path as `extract run`, configured as a user would: through
// NETSUITE_* variables.
func cmdDemo(ctx context.Context, s *session, args []string) error {
	stdout, stderr := s.stdout, s.stderr
	fs := newFlagSet("demo", "Run a full and an incremental extract against the built-in fake NetSuite.", stderr)
	output := fs.String("output", "out", "output directory or object-storage URL (the state goes inside it)")
	format := fs.String("format", "parquet", "parquet | ndjson")
	rows := fs.Int("rows", 5000, "generated rows per stream")
	fixtures := fs.String("fixtures", "testdata/fixtures", "fixture directory served in addition to generated rows (skipped if missing)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	// The demo account has custom fields of every kind (one listed but not served, one not
	// stored) and does not serve one standard column, as real accounts do.
	opts := netsuitetest.Options{AccountID: "DEMO_SB1", Seed: 1, Rows: map[string]int{}, CustomFields: netsuitetest.StandardCustomFields(),
		Rejections: map[string]map[string]netsuitetest.Rejection{connector.CalendarEvent: {"supportcase": netsuitetest.NotExposed}}}
	for _, s := range connector.StreamNames {
		opts.Rows[s] = *rows
	}
	if fi, err := os.Stat(*fixtures); err == nil && fi.IsDir() {
		opts.FixturesDir = *fixtures
	}
	srv, err := netsuitetest.New(opts)
	if err != nil {
		return fmt.Errorf("starting the fake NetSuite: %w", err)
	}
	defer srv.Close()
	env := map[string]string{
		"NETSUITE_ACCOUNT_ID":    "DEMO_SB1",
		"NETSUITE_BASE_URL":      srv.URL(),
		"NETSUITE_AUTH_METHOD":   "oauth2-refresh",
		"NETSUITE_CLIENT_ID":     "demo-client-id",
		"NETSUITE_CLIENT_SECRET": "demo-client-secret",
		"NETSUITE_REFRESH_TOKEN": srv.RefreshToken(),
	}
	getenv := func(k string) string {
		if strings.HasPrefix(k, "NETSUITE_S3_") {
			return os.Getenv(k) // an S3-compatible --output is reached as a run reaches it
		}
		return env[k]
	}
	statePath := filepath.Join(*output, "state.json")
	if isURL(*output) {
		statePath = *output // object storage: the state goes to <output>/_state/
	}
	runArgs := []string{"--output", *output, "--state", statePath, "--format", *format, "--log-level", "error"}
	steps := []struct {
		title string
		args  []string
		then  func()
	}{
		{"Full extract", nil, nil},
		{"Incremental extract (nothing changed)", nil, func() {
			// An administrator adds a custom field and three customers are edited.
			srv.AddCustomField(netsuitetest.CustomField{ScriptID: "custentity_segment", Label: "Segment", ValueType: "Free-Form Text"})
			for id := int64(1); id <= 3; id++ {
				srv.Upsert(connector.Customer, netsuitetest.Row{"id": id, "custentity_segment": "Enterprise"})
			}
			// And address books change: an address edited in place, a line removed, one added.
			if book := srv.AddressBook(connector.Customer); len(book) >= 2 {
				srv.EditAddress(connector.Customer, book[0]["internalid"].(int64), netsuitetest.Row{"city": "Springfield", "addr1": "742 Evergreen Terrace"})
				srv.RemoveAddressLine(connector.Customer, book[1]["internalid"].(int64))
				srv.AddAddressLine(connector.Customer, book[0]["entity"].(int64), netsuitetest.Row{"label": "Warehouse", "addr1": "1 Dock Rd", "city": "Rotterdam", "country": "NL"})
			}
			// A run reads up to the whole second it starts in: edits made in that second
			// belong to the next run, so start the next one a second later.
			time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second)))
		}},
		// The catalog is normally reused for an hour; the demo does not wait.
		{"Incremental extract (a new custom field, 3 customers edited, address lines edited, removed, added)", []string{"--custom-fields-ttl", "1ns"}, nil},
	}
	for i, step := range steps {
		fmt.Fprintf(stdout, "== %s ==\n", step.title)
		if err := cmdRun(ctx, s, append(slices.Clone(runArgs), step.args...), getenv); err != nil {
			return fmt.Errorf("demo run %d: %w", i+1, err)
		}
		if step.then != nil {
			step.then()
		}
	}
	fmt.Fprintf(stdout, "== What the account serves (extract discover) ==\n")
	if err := cmdDiscover(ctx, s, []string{"--state", statePath, "--log-level", "error"}, getenv); err != nil {
		return fmt.Errorf("demo discover: %w", err)
	}
	fmt.Fprintf(stdout, "\nFiles are in %s/<stream>/dt=<date>/run=<run id>/, each run's manifest in %s/_manifests/; checkpoints in %s.\n",
		*output, *output, statePath)
	return nil
}
