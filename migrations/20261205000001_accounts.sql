-- Accounts: sign-up and e-mail verification, sign-in with sessions and TOTP, domain sharing
-- with invitations, scoped user and domain keys, the mail outbox and the audit log.
-- Expand-only: every new column is nullable or has a default, so the previous release keeps
-- working against this schema (it ignores what it does not know).

-- Users --------------------------------------------------------------------------------------

ALTER TABLE users
    -- NULL until the address is confirmed by the link mailed to it.
    ADD COLUMN email_verified_at timestamptz,
    -- Platform roles beyond an ordinary user (is_admin holds them all).
    ADD COLUMN permissions text[] NOT NULL DEFAULT '{}'
        CHECK (permissions <@ ARRAY['manage_users', 'manage_domains', 'create_domains',
                                    'view_audit', 'impersonate']::text[]),
    -- Most domains the user may own; NULL: the platform's default (APEX_DOMAIN_QUOTA).
    ADD COLUMN domain_quota integer CHECK (domain_quota >= 0),
    -- TOTP (RFC 6238) secret, sealed under APEX_MASTER_KEY; set once enrolment is confirmed.
    ADD COLUMN totp_secret bytea,
    -- The secret of an enrolment not yet confirmed by a code.
    ADD COLUMN totp_pending bytea,
    ADD COLUMN totp_enabled_at timestamptz,
    -- The last time step a code was accepted for: a code is good once.
    ADD COLUMN totp_last_step bigint,
    -- Moves on every password or second-factor change: "remember this device" cookies carry
    -- it, so such a change forgets every remembered device.
    ADD COLUMN security_epoch integer NOT NULL DEFAULT 0,
    ADD COLUMN password_changed_at timestamptz NOT NULL DEFAULT now();

-- Users made before sign-up existed were made by an operator: their address counts as known.
UPDATE users SET email_verified_at = created_at;

-- Single-use recovery codes for a lost authenticator, SHA-256 hashed (they are 80 random bits).
CREATE TABLE recovery_codes (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  bytea       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    used_at    timestamptz
);
CREATE INDEX recovery_codes_user ON recovery_codes (user_id);

-- Dashboard sessions. The cookie holds a random token; this row holds its SHA-256.
CREATE TABLE sessions (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id         bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash      bytea       NOT NULL UNIQUE,
    -- pending: the password was right and the second factor is awaited; active: signed in.
    state           text        NOT NULL CHECK (state IN ('pending', 'active')),
    -- Set when a platform administrator acts as this user (support).
    impersonator_id bigint      REFERENCES users (id) ON DELETE CASCADE,
    -- Second-factor codes tried in this pending session (at most five).
    mfa_failures    integer     NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_seen_at    timestamptz NOT NULL DEFAULT now(),
    -- The absolute end; the idle end is last_seen_at plus APEX_SESSION_IDLE_MINUTES.
    expires_at      timestamptz NOT NULL,
    revoked_at      timestamptz,
    source_ip       text,
    user_agent      text
);
CREATE INDEX sessions_user ON sessions (user_id) WHERE revoked_at IS NULL;

-- Failed sign-ins per account and per source address.
CREATE TABLE login_throttle (
    -- account:<email> or ip:<address>
    key          text PRIMARY KEY,
    failures     integer     NOT NULL,
    window_start timestamptz NOT NULL,
    locked_until timestamptz
);

-- Single-use links mailed to a user: address verification and password reset.
CREATE TABLE email_tokens (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose    text        NOT NULL CHECK (purpose IN ('verify_email', 'reset_password')),
    token_hash bytea       NOT NULL UNIQUE,
    -- The address the link went to (verification confirms this one).
    email      text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX email_tokens_user ON email_tokens (user_id, purpose);

-- Random keys of the platform itself (the "remember this device" cookie signing key), made on
-- first use.
CREATE TABLE platform_secrets (
    name       text PRIMARY KEY,
    secret     bytea       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Sharing -------------------------------------------------------------------------------------

-- A domain has exactly one owner (ownership moves in one transaction).
CREATE UNIQUE INDEX domain_members_one_owner ON domain_members (domain_id) WHERE role = 'owner';

-- Invitations of addresses without an account: to a domain at a role, or (domain NULL) to the
-- platform alone, which is how an invite-only platform lets someone sign up.
CREATE TABLE invitations (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash  bytea       NOT NULL UNIQUE,
    email       text        NOT NULL CHECK (email = lower(email)),
    domain_id   bigint      REFERENCES domains (id) ON DELETE CASCADE,
    role        domain_role CHECK (role <> 'owner'),
    invited_by  bigint      REFERENCES users (id) ON DELETE SET NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    accepted_at timestamptz,
    accepted_by bigint      REFERENCES users (id) ON DELETE SET NULL,
    revoked_at  timestamptz,
    CHECK ((domain_id IS NULL) = (role IS NULL))
);
CREATE INDEX invitations_email ON invitations (email) WHERE accepted_at IS NULL AND revoked_at IS NULL;
CREATE INDEX invitations_domain ON invitations (domain_id) WHERE accepted_at IS NULL AND revoked_at IS NULL;

-- Keys ----------------------------------------------------------------------------------------

-- A key belongs to a user (acting as that user, within its scopes) or to a domain (acting on
-- that domain alone, whoever made it). The column `name` holds the key's description.
ALTER TABLE api_keys
    ALTER COLUMN user_id DROP NOT NULL,
    ADD COLUMN domain_id      bigint REFERENCES domains (id) ON DELETE CASCADE,
    ADD COLUMN created_by     bigint REFERENCES users (id) ON DELETE SET NULL,
    -- User keys: the domains it may act on; NULL: all of the user's, present and future.
    ADD COLUMN domain_ids     bigint[],
    -- The highest role it may use on a domain (never above the user's own).
    ADD COLUMN max_role       domain_role NOT NULL DEFAULT 'owner',
    -- The records it may write: [{"name": "_acme-challenge.*", "types": ["TXT"]}]; NULL: any.
    ADD COLUMN record_scopes  jsonb CHECK (record_scopes IS NULL OR jsonb_typeof(record_scopes) = 'array'),
    -- Source networks (CIDR) it may be used from; NULL: anywhere.
    ADD COLUMN networks       text[],
    ADD COLUMN manage_keys    boolean NOT NULL DEFAULT false,
    ADD COLUMN manage_members boolean NOT NULL DEFAULT false,
    ADD COLUMN manage_account boolean NOT NULL DEFAULT false,
    -- Whether it may use its user's platform roles (the admin API).
    ADD COLUMN platform_roles boolean NOT NULL DEFAULT false,
    ADD COLUMN last_used_ip   text,
    ADD CONSTRAINT api_keys_belongs CHECK ((user_id IS NULL) <> (domain_id IS NULL)),
    ADD CONSTRAINT api_keys_domain_role CHECK (domain_id IS NULL OR max_role <> 'owner');

CREATE INDEX api_keys_domain ON api_keys (domain_id) WHERE domain_id IS NOT NULL;
-- Keys made before scopes existed could do everything their user could; they keep that.
UPDATE api_keys SET manage_keys = true, manage_members = true, manage_account = true,
                    platform_roles = true, created_by = user_id;

-- Zone changes name the session and the impersonator as well as the user and the key.
ALTER TABLE changes
    -- No foreign key: sessions are pruned, the change stays.
    ADD COLUMN actor_session_id     bigint,
    ADD COLUMN impersonator_user_id bigint REFERENCES users (id) ON DELETE SET NULL;

-- Mail ----------------------------------------------------------------------------------------

-- Outgoing mail, queued in the transaction of what it tells about and sent by the worker with
-- retries. With no SMTP server configured, mail is printed to the worker's log and kept here.
CREATE TABLE mail_outbox (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id         bigint      REFERENCES users (id) ON DELETE SET NULL,
    recipient       text        NOT NULL,
    -- verify_email, reset_password, invitation, notice.password, notice.2fa, notice.key, …
    kind            text        NOT NULL,
    subject         text        NOT NULL,
    -- Emptied once sent: links in it are secrets of a sort.
    body            text        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    -- queued → sent | logged (no SMTP configured) | failed (gave up)
    state           text        NOT NULL DEFAULT 'queued'
        CHECK (state IN ('queued', 'sent', 'logged', 'failed')),
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz,
    last_error      text
);
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at) WHERE state = 'queued';
CREATE INDEX mail_outbox_recipient ON mail_outbox (recipient, id DESC);

-- Audit ---------------------------------------------------------------------------------------

-- Security events. Zone edits are in `changes`; this is who signed in, failed to, changed a
-- password or a second factor, made or revoked a key, shared a domain, acted as someone else.
CREATE TABLE audit_events (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created_at           timestamptz NOT NULL DEFAULT now(),
    -- login.succeeded, login.failed, key.created, member.added, …
    event                text        NOT NULL,
    -- Whether what was attempted happened.
    success              boolean     NOT NULL,
    -- Who acted (NULL: nobody signed in, or a domain key).
    actor_user_id        bigint      REFERENCES users (id) ON DELETE SET NULL,
    actor_email          text,
    -- Whose account it is about (the user signing in, the member added, the user disabled).
    subject_user_id      bigint      REFERENCES users (id) ON DELETE SET NULL,
    subject_email        text,
    -- password, session:<id>, api_key:<id>, domain_key:<id>, cli
    credential           text,
    impersonator_user_id bigint      REFERENCES users (id) ON DELETE SET NULL,
    source_ip            text,
    domain_id            bigint      REFERENCES domains (id) ON DELETE SET NULL,
    domain               text,
    detail               jsonb       NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX audit_events_actor ON audit_events (actor_user_id, id DESC);
CREATE INDEX audit_events_subject ON audit_events (subject_user_id, id DESC);
CREATE INDEX audit_events_impersonator ON audit_events (impersonator_user_id, id DESC)
    WHERE impersonator_user_id IS NOT NULL;
