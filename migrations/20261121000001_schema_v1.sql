-- Schema v1: accounts, API keys, domains with members, records, changes, zone versions and
-- the catalog's state. Serials are unsigned 32-bit numbers stored in bigint.

CREATE TABLE users (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email         text        NOT NULL CHECK (email = lower(email) AND email LIKE '%_@_%'),
    -- argon2id PHC string; never returned by any API.
    password_hash text        NOT NULL,
    is_admin      boolean     NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    disabled_at   timestamptz
);
CREATE UNIQUE INDEX users_email_key ON users (email);

CREATE TABLE api_keys (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         text        NOT NULL,
    -- The first characters of the token, shown in listings so users can tell keys apart.
    prefix       text        NOT NULL,
    -- SHA-256 of the whole token: the token itself is shown once and never stored.
    token_hash   bytea       NOT NULL UNIQUE,
    -- NULL: the key may do everything its user may. Scoped keys come with the API-keys issue.
    scopes       text[],
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    expires_at   timestamptz,
    revoked_at   timestamptz
);
CREATE INDEX api_keys_user ON api_keys (user_id);

CREATE TABLE domains (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- A-label form, lowercase, without the trailing dot: example.com
    name             text        NOT NULL UNIQUE CHECK (name = lower(name) AND name NOT LIKE '%.'),
    -- The RFC 9432 member id label in the catalog zone; a new one for every domain row, so a
    -- deleted and re-created domain is a new member to the fleet.
    catalog_id       text        NOT NULL UNIQUE,
    -- Serial the newest change asks for.
    wanted_serial    bigint      NOT NULL CHECK (wanted_serial BETWEEN 0 AND 4294967295),
    -- Serial of the newest stored zone version; NULL until the first publish.
    published_serial bigint      CHECK (published_serial BETWEEN 0 AND 4294967295),
    published_at     timestamptz,
    -- The serial the fleet was last sent NOTIFY for; the reconciler repeats a lost one.
    notified_serial  bigint,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
-- The reconciler's question: which zones are behind?
CREATE INDEX domains_unpublished ON domains (id)
    WHERE published_serial IS DISTINCT FROM wanted_serial OR notified_serial IS DISTINCT FROM published_serial;

CREATE TYPE domain_role AS ENUM ('read', 'write', 'admin', 'owner');

CREATE TABLE domain_members (
    domain_id  bigint      NOT NULL REFERENCES domains (id) ON DELETE CASCADE,
    user_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role       domain_role NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (domain_id, user_id)
);
CREATE INDEX domain_members_user ON domain_members (user_id);

CREATE TABLE records (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    domain_id  bigint      NOT NULL REFERENCES domains (id) ON DELETE CASCADE,
    -- Absolute owner name, lowercase A-labels, with the trailing dot: www.example.com.
    name       text        NOT NULL,
    type       text        NOT NULL,
    ttl        integer     NOT NULL CHECK (ttl >= 0),
    -- Canonical presentation form (apex_zone::content::format).
    content    text        NOT NULL,
    comment    text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
-- No record twice. On a hash of the content: long TXT data would not fit a btree entry.
CREATE UNIQUE INDEX records_unique ON records (domain_id, name, type, md5(content));

-- Every change, kept after its domain is deleted (domain_id set NULL, zone name kept).
CREATE TABLE changes (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    domain_id        bigint      REFERENCES domains (id) ON DELETE SET NULL,
    zone             text        NOT NULL,
    -- domain.create, domain.delete, record.create, record.update, record.delete
    action           text        NOT NULL,
    -- The zone's wanted serial after this change; NULL for domain.delete.
    serial           bigint,
    actor_user_id    bigint      REFERENCES users (id) ON DELETE SET NULL,
    actor_api_key_id bigint      REFERENCES api_keys (id) ON DELETE SET NULL,
    -- Through what: api, web, cli, import, dns-update.
    via              text        NOT NULL,
    -- The records before and after, as JSON arrays.
    before           jsonb,
    after            jsonb,
    created_at       timestamptz NOT NULL DEFAULT now(),
    published_at     timestamptz
);
CREATE INDEX changes_domain ON changes (domain_id, id);
CREATE INDEX changes_unpublished ON changes (domain_id) WHERE published_at IS NULL;

-- Rendered zones as the fleet gets them, in apex_zone::wire form, SOA first.
CREATE TABLE zone_versions (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    domain_id    bigint      NOT NULL REFERENCES domains (id) ON DELETE CASCADE,
    serial       bigint      NOT NULL,
    record_count integer     NOT NULL,
    data         bytea       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX zone_versions_domain ON zone_versions (domain_id, id DESC);

-- The catalog zone: its members are the published domains; its serial moves whenever that set
-- changes, in the same transaction that changes it.
CREATE TABLE catalog_state (
    id              boolean PRIMARY KEY DEFAULT true CHECK (id),
    serial          bigint      NOT NULL,
    -- The serial the fleet was last told about by NOTIFY.
    notified_serial bigint,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
INSERT INTO catalog_state (serial) VALUES (1);
