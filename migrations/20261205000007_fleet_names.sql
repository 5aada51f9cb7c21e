-- Change receipts name fleet nameservers by their configured name (APEX_NOTIFY
-- `name=address:port`), not by address: the column keeps its type, only its meaning
-- changes. Rows waiting under an address are forgotten: they would wait for a nameserver
-- the worker no longer knows by that label (the versions they belong to are kept).
COMMENT ON COLUMN fleet_sync.nameserver IS 'the fleet nameserver''s configured name';
DELETE FROM fleet_sync WHERE seen_at IS NULL AND nameserver ~ '^(\[[0-9a-fA-F:.]+\]|[0-9.]+):[0-9]+$';
