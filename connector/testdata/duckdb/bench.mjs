// DuckDB's side of the CPU-path comparison (make bench-cpu): the time DuckDB takes to
// convert the benchmark's rows from NDJSON to zstd Parquet on two threads.
//
//   node bench.mjs MODULES_DIR ROWS.ndjson OUT.parquet
//
// MODULES_DIR is the npm prefix @duckdb/node-api was installed under (kept out of the
// repository). Prints one JSON line: {"rows":…,"seconds":…,"rows_per_s":…,"cpu_seconds":…,
// "version":…}; cpu_seconds is the process's CPU time (all threads) during the COPY.
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [modulesDir, ndjson, out] = process.argv.slice(2);
if (!modulesDir || !ndjson || !out) {
  console.error('usage: node bench.mjs MODULES_DIR ROWS.ndjson OUT.parquet');
  process.exit(2);
}
const require = createRequire(join(resolve(modulesDir), 'package.json'));
const { DuckDBInstance } = await import(pathToFileURL(require.resolve('@duckdb/node-api')).href);

const quote = (s) => "'" + s.replaceAll("'", "''") + "'";
const instance = await DuckDBInstance.create(':memory:', { threads: '2' });
const conn = await instance.connect();
await conn.run('SET threads=2');
const version = (await (await conn.runAndReadAll('SELECT version()')).getRows())[0][0];

const cpu0 = process.cpuUsage();
const start = process.hrtime.bigint();
const res = await conn.run(
  `COPY (SELECT * FROM read_json_auto(${quote(ndjson)})) TO ${quote(out)} (FORMAT parquet, COMPRESSION zstd)`);
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
const cpu = process.cpuUsage(cpu0); // all threads, microseconds
const rows = Number(res.rowsChanged);
conn.closeSync();
instance.closeSync();
console.log(JSON.stringify({ rows, seconds, rows_per_s: rows / seconds, cpu_seconds: (cpu.user + cpu.system) / 1e6, version }));
