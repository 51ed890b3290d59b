package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// The loader recipes live in testdata/recipes and, word for word, in the README.
var recipes = []string{"duckdb.sql", "snowflake.sql", "bigquery.sql"}

func readRecipe(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "recipes", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestRecipesAreInTheREADME(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range recipes {
		if !strings.Contains(string(readme), readRecipe(t, name)) {
			t.Errorf("README does not hold testdata/recipes/%s word for word", name)
		}
	}
}

// TestRecipesRankBeforeDroppingTombstones checks the shape every recipe must have: the
// latest row per key is chosen among all rows, tombstones included, and only then are
// tombstoned keys dropped. A WHERE NOT _deleted in the ranking query would run before
// the window function and resurrect the version a tombstone replaced.
func TestRecipesRankBeforeDroppingTombstones(t *testing.T) {
	order := regexp.MustCompile(`(?is)row_number\(\)\s+over\s*\(\s*partition by id order by lastmodifieddate desc, _deleted desc, _extracted_at desc\)\s+as _rank`)
	outer := regexp.MustCompile(`(?is)\)\s*where _rank = 1 and not _deleted;\s*$`)
	for _, name := range recipes {
		sql := readRecipe(t, name)
		if !order.MatchString(sql) {
			t.Errorf("%s: no ranking by lastmodifieddate, then tombstone, then _extracted_at:\n%s", name, sql)
		}
		if !outer.MatchString(sql) {
			t.Errorf("%s: tombstones are not dropped after ranking, in the outer query:\n%s", name, sql)
		}
		inner := sql[strings.Index(strings.ToLower(sql), "select *, row_number"):strings.LastIndex(sql, ")")]
		if strings.Contains(strings.ToLower(inner), "_deleted\n") || regexp.MustCompile(`(?i)where[^;]*_deleted`).MatchString(inner) {
			t.Errorf("%s: the ranking query filters on _deleted", name)
		}
	}
}

// TestDuckDBRecipeBuildsNetSuitesCurrentState runs the DuckDB recipe over the files of
// a full run and an incremental run with updates, inserts and deletions in between, and
// compares the table it builds with the fake account's customers. It needs node and the
// DuckDB Node API (EXTRACT_DUCKDB_MODULES, or where make bench-cpu installs it); without
// them the recipe's shape is still checked by the tests above.
func TestDuckDBRecipeBuildsNetSuitesCurrentState(t *testing.T) {
	modules := os.Getenv("EXTRACT_DUCKDB_MODULES")
	if modules == "" {
		modules = filepath.Join(os.TempDir(), "extract-duckdb")
	}
	node, err := exec.LookPath("node")
	if _, statErr := os.Stat(filepath.Join(modules, "node_modules", "@duckdb", "node-api")); err != nil || statErr != nil {
		t.Logf("DuckDB is not available (node: %v; @duckdb/node-api under %s: %v): only the recipe's shape is checked", err, modules, statErr)
		return
	}
	srv, env := fakeEnv(t, 400)
	dir := t.TempDir()
	args := []string{"run", "--state", filepath.Join(dir, "s.json"), "--output", filepath.Join(dir, "out"), "--streams", "customer"}
	if code, _, stderr := runCLI(t, env, args...); code != 0 {
		t.Fatalf("first run: exit %d: %s", code, stderr)
	}
	truth := srv.Truth("customer")
	for _, r := range truth[:30] {
		srv.Upsert("customer", map[string]any{"id": r["id"], "companyname": fmt.Sprintf("Renamed %d", r["id"])})
	}
	for _, r := range truth[30:50] {
		srv.Delete("customer", r["id"].(int64))
	}
	for i := range 10 {
		srv.Upsert("customer", map[string]any{"id": int64(900_000 + i), "companyname": "New", "isperson": false})
	}
	// NetSuite's clock must pass the changes for the next run's window to hold them.
	time.Sleep(1100 * time.Millisecond)
	if code, _, stderr := runCLI(t, env, args...); code != 0 {
		t.Fatalf("second run: exit %d: %s", code, stderr)
	}

	cmd := exec.CommandContext(t.Context(), node, filepath.Join("..", "..", "testdata", "recipes", "run-duckdb.mjs"),
		modules, filepath.Join("..", "..", "testdata", "recipes", "duckdb.sql"), "customer")
	cmd.Dir = dir
	abs, _ := filepath.Abs(filepath.Join("..", "..", "testdata", "recipes"))
	cmd.Args[1], cmd.Args[3] = filepath.Join(abs, "run-duckdb.mjs"), filepath.Join(abs, "duckdb.sql")
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("duckdb recipe: %v\n%s", err, stderr)
	}
	var got [][3]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("duckdb output %q: %v", out, err)
	}
	var want []int64
	lastMod := map[int64]int64{}
	for _, r := range srv.Truth("customer") {
		id := r["id"].(int64)
		want = append(want, id)
		lastMod[id] = r["lastmodifieddate"].(time.Time).UnixMicro()
	}
	var ids []int64
	for _, r := range got {
		id := int64(r[0].(float64))
		ids = append(ids, id)
		if us := int64(r[1].(float64)); us != lastMod[id] {
			t.Errorf("id %d: lastmodifieddate %d µs, NetSuite has %d", id, us, lastMod[id])
		}
		if run, _ := r[2].(string); run == "" {
			t.Errorf("id %d: no _run_id", id)
		}
	}
	if !slices.Equal(ids, want) {
		t.Fatalf("recipe built %d customers, NetSuite has %d (first ids %v vs %v)", len(ids), len(want), ids[:min(5, len(ids))], want[:min(5, len(want))])
	}
}
