-- Customer catalogs (issue 15): an account's own catalog zone (RFC 9432 v2), named
-- `<user id>.<the platform's catalog>`, listing the published domains the account owns, for
-- the customer's own Knot or BIND to follow. Turned on by the account; one row per account.
--
-- Its TSIG key (named like the catalog) may transfer the catalog and its members, nothing
-- else; the secret is sealed under the master key, bound to the user id. `secondaries` are
-- where NOTIFY goes (socket addresses as text, `203.0.113.53:53`), signed with that key.
--
-- The serial starts at the epoch time the catalog was turned on and moves by one whenever
-- the member list changes: `digest` is the SHA-256 of the list the serial was last given for,
-- so any way a domain joins or leaves (published, deleted, handed to another owner) shows the
-- next time the catalog is read, and no write path has to remember the catalog.
CREATE TABLE account_catalogs (
    user_id          bigint      PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    key_algorithm    text        NOT NULL CHECK (key_algorithm IN ('hmac-sha256', 'hmac-sha384', 'hmac-sha512')),
    key_secret       bytea       NOT NULL,
    key_created_at   timestamptz NOT NULL DEFAULT now(),
    key_last_used_at timestamptz,
    secondaries      text[]      NOT NULL DEFAULT '{}',
    serial           bigint      NOT NULL CHECK (serial BETWEEN 0 AND 4294967295),
    digest           bytea,
    notified_serial  bigint,
    created_at       timestamptz NOT NULL DEFAULT now()
);
