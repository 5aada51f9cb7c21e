-- Large zones (issue 16): zone versions are compressed with LZ4 instead of Postgres's default
-- pglz. A signed 100k-name zone is ~40 MB of wire data. Storing 30 MB of zone-like records
-- took 463 ms with pglz and 103 ms with LZ4 (26% and 30% of the size) on the 2-core bench
-- machine. New values only; old ones stay readable as they are. A Postgres built without LZ4
-- keeps pglz (the ALTER fails and is skipped).
DO $$
BEGIN
    ALTER TABLE zone_versions ALTER COLUMN data SET COMPRESSION lz4,
                              ALTER COLUMN diff SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN
    RAISE NOTICE 'LZ4 not available; zone versions stay compressed with pglz';
END
$$;
