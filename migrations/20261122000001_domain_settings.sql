-- Per-domain zone settings: how serials are formed, and SOA timers that override the platform
-- defaults (NULL: use APEX_SOA_*). Expand-only: old code ignores the new columns.
ALTER TABLE domains
    ADD COLUMN serial_policy text NOT NULL DEFAULT 'date' CHECK (serial_policy IN ('date', 'unixtime')),
    ADD COLUMN soa_refresh integer CHECK (soa_refresh > 0),
    ADD COLUMN soa_retry   integer CHECK (soa_retry > 0),
    ADD COLUMN soa_expire  integer CHECK (soa_expire > 0),
    ADD COLUMN soa_minimum integer CHECK (soa_minimum >= 0),
    ADD COLUMN soa_ttl     integer CHECK (soa_ttl >= 0);
