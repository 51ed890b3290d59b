-- The current state of the customer stream, from the files in out/ (local, or
-- s3://bucket/prefix after INSTALL httpfs): the latest row per id first, then drop the
-- ids whose latest row is a tombstone. Filtering tombstones before ranking would bring
-- back the version a tombstone replaced.
CREATE OR REPLACE TABLE customer AS
SELECT * EXCLUDE (_rank) FROM (
  SELECT *, row_number() OVER (
    PARTITION BY id ORDER BY lastmodifieddate DESC, _deleted DESC, _extracted_at DESC) AS _rank
  FROM read_parquet('out/customer/**/*.parquet', union_by_name = true, hive_partitioning = false)
) WHERE _rank = 1 AND NOT _deleted;
