-- Domain aliases (as MyDNSHost had them): a domain served with the records of another. The
-- alias keeps its own SOA, NS and settings (DNSSEC too); its records are its target's, renamed
-- into it, and it has none of its own while it is an alias. No chains: a target is never an
-- alias itself (apex-core checks, under both domains' locks).
ALTER TABLE domains
    ADD COLUMN alias_of bigint REFERENCES domains (id) ON DELETE RESTRICT,
    ADD CONSTRAINT domains_alias_not_self CHECK (alias_of <> id);
CREATE INDEX domains_alias_of ON domains (alias_of) WHERE alias_of IS NOT NULL;
