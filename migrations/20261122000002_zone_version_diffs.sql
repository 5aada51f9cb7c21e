-- Zone versions keep their difference from the version before, so the transfer server can
-- answer IXFR (RFC 1995) with the changes instead of the zone. Expand-only: old code ignores
-- the new columns; versions stored before have no diff and are transferred whole.
ALTER TABLE zone_versions
    -- The serial of the version this one follows (NULL for a zone's first version).
    ADD COLUMN prev_serial bigint,
    -- The records removed from that version (its SOA first) and the records added (this
    -- version's SOA first), each in apex_zone::wire form, the first part prefixed by its
    -- length as 4 octets.
    ADD COLUMN diff bytea;
