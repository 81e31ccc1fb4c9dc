-- 0001_init.sql - personal access tokens.
-- The token itself is never stored: token_hmac is HMAC-SHA256(pepper, token).
-- The CHECK constraints repeat the API's input rules as a second line of defence.

CREATE TABLE pat (
    id            uuid        PRIMARY KEY,
    token_hmac    bytea       NOT NULL UNIQUE
                              CHECK (octet_length(token_hmac) = 32),
    owner_email   text        NOT NULL
                              CHECK (owner_email <> '' AND owner_email !~ '[[:cntrl:]]'),
    owner_name    text        NOT NULL
                              CHECK (owner_name <> '' AND owner_name !~ '[[:cntrl:]]'),
    owner_groups  text[]      NOT NULL DEFAULT '{}'
                              CHECK (array_to_string(owner_groups, '') !~ '[[:cntrl:]]'),
    description   text        NOT NULL
                              CHECK (char_length(description) BETWEEN 1 AND 255
                                     AND description ~ '[^[:space:]]'
                                     AND description !~ '[[:cntrl:]]'),
    days          integer     NOT NULL CHECK (days BETWEEN 0 AND 36500),
    created_at    timestamptz NOT NULL,
    expires_at    timestamptz CHECK (expires_at > created_at),
    revoked_at    timestamptz,
    last_used_at  timestamptz,
    updated_at    timestamptz NOT NULL,
    updated_by    text        NOT NULL,
    CHECK ((days = 0) = (expires_at IS NULL))
);

-- "This owner's tokens, newest first" (GET /pat/v1).
CREATE INDEX pat_owner_newest ON pat (owner_email, created_at DESC, id DESC)
    WHERE revoked_at IS NULL;
