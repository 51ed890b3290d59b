-- Snowflake: load each run's files once (COPY remembers loaded files), then build the
-- current state: the latest row per id first, then drop tombstones.
COPY INTO raw_customer
  FROM @extract_stage/customer/
  PATTERN = '.*/run=.*/part-.*[.]parquet'
  FILE_FORMAT = (TYPE = PARQUET)
  MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE;

CREATE OR REPLACE TABLE customer AS
SELECT * EXCLUDE (_rank) FROM (
  SELECT *, ROW_NUMBER() OVER (
    PARTITION BY id ORDER BY lastmodifieddate DESC, _deleted DESC, _extracted_at DESC) AS _rank
  FROM raw_customer
) WHERE _rank = 1 AND NOT _deleted;
