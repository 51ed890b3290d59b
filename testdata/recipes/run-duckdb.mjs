// Runs a loader recipe with DuckDB and prints the table it builds, for the recipe test
// (cmd/extract/recipes_test.go):
//
//   node run-duckdb.mjs MODULES_DIR RECIPE.sql TABLE
//
// MODULES_DIR is the npm prefix @duckdb/node-api was installed under (kept out of the
// repository). The recipe runs in the current directory; prints one JSON array of
// [id, lastmodifieddate in epoch microseconds, _run_id] per row, ordered by id.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [modulesDir, recipe, table] = process.argv.slice(2);
if (!modulesDir || !recipe || !table) {
  console.error('usage: node run-duckdb.mjs MODULES_DIR RECIPE.sql TABLE');
  process.exit(2);
}
const require = createRequire(join(resolve(modulesDir), 'package.json'));
const { DuckDBInstance } = await import(pathToFileURL(require.resolve('@duckdb/node-api')).href);
const instance = await DuckDBInstance.create(':memory:');
const conn = await instance.connect();
await conn.run(readFileSync(recipe, 'utf8'));
const reader = await conn.runAndReadAll(
  `SELECT id, epoch_us(lastmodifieddate), _run_id FROM ${table} ORDER BY id`);
const rows = reader.getRows().map((r) => [Number(r[0]), Number(r[1]), r[2]]);
console.log(JSON.stringify(rows));
