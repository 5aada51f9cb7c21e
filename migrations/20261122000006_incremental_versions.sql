-- Incremental publishing: a version made by applying a change to the zone the worker holds in
-- memory stores only its diff; its records are the nearest earlier version that has data
-- (a snapshot) with the diffs after it applied. Snapshots are written on full publishes and
-- filled in by the worker every few versions. Expand-only: every version old code wrote has
-- data.
ALTER TABLE zone_versions ALTER COLUMN data DROP NOT NULL;
ALTER TABLE zone_versions ADD CONSTRAINT zone_versions_data_or_diff
    CHECK (data IS NOT NULL OR diff IS NOT NULL);
