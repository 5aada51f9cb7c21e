-- DNSSEC per domain: its state and parameters, and its keys with the private half encrypted
-- under the platform's master key (APEX_MASTER_KEY, never in the database). Expand-only.
ALTER TABLE domains
    -- off: unsigned; signed; disabling: still signed, publishing the CDS/CDNSKEY delete
    -- records (RFC 8078) so the parent drops the DS before signing stops.
    ADD COLUMN dnssec_state text NOT NULL DEFAULT 'off'
        CHECK (dnssec_state IN ('off', 'signed', 'disabling')),
    ADD COLUMN dnssec_algorithm text NOT NULL DEFAULT 'ECDSAP256SHA256'
        CHECK (dnssec_algorithm IN ('ECDSAP256SHA256', 'ED25519')),
    ADD COLUMN dnssec_denial text NOT NULL DEFAULT 'nsec3'
        CHECK (dnssec_denial IN ('nsec', 'nsec3')),
    -- A KSK and a ZSK instead of one combined signing key.
    ADD COLUMN dnssec_split_keys boolean NOT NULL DEFAULT false,
    ADD COLUMN dnssec_disabling_since timestamptz;

CREATE TABLE dnssec_keys (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    domain_id   bigint      NOT NULL REFERENCES domains (id) ON DELETE CASCADE,
    algorithm   smallint    NOT NULL,
    flags       integer     NOT NULL CHECK (flags IN (256, 257)),
    key_tag     integer     NOT NULL,
    -- The DNSKEY record data (public).
    dnskey      bytea       NOT NULL,
    -- AES-256-GCM: 12-byte nonce, then the sealed PKCS#8 private key; the associated data
    -- binds it to this domain and key tag.
    private_key bytea       NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX dnssec_keys_domain ON dnssec_keys (domain_id);
