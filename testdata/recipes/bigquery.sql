-- BigQuery: load a run's files (the manifest lists them; or a wildcard per stream):
--   bq load --source_format=PARQUET --parquet_enable_list_inference dataset.raw_customer \
--     'gs://bucket/prefix/customer/dt=2026-12-02/run=20261202T060000Z-1a2b3c4d/*.parquet'
-- then build the current state: the latest row per id first, then drop tombstones.
CREATE OR REPLACE TABLE dataset.customer AS
SELECT * EXCEPT (_rank) FROM (
  SELECT *, ROW_NUMBER() OVER (
    PARTITION BY id ORDER BY lastmodifieddate DESC, _deleted DESC, _extracted_at DESC) AS _rank
  FROM dataset.raw_customer
) WHERE _rank = 1 AND NOT _deleted;
