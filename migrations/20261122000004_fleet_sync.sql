-- Change receipts: for each published zone version, which fleet nameservers have been seen
-- serving it (or a newer version), and when a change reached the whole fleet. Expand-only:
-- old code ignores the new table and column.
CREATE TABLE fleet_sync (
    domain_id       bigint      NOT NULL REFERENCES domains (id) ON DELETE CASCADE,
    -- The published version's serial.
    serial          bigint      NOT NULL,
    -- The nameserver as the worker reaches it: address:port.
    nameserver      text        NOT NULL,
    -- The serial it was seen serving, at least `serial` in RFC 1982 order; NULL while waiting.
    observed_serial bigint,
    -- When it was first seen serving this version or a newer one; NULL while waiting.
    seen_at         timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (domain_id, serial, nameserver)
);
-- The sync watcher's question: which versions are still waiting for a nameserver?
CREATE INDEX fleet_sync_waiting ON fleet_sync (domain_id) WHERE seen_at IS NULL;

-- When the version carrying the change was served by every fleet nameserver.
ALTER TABLE changes ADD COLUMN in_sync_at timestamptz;
