-- ceiling.sql - the SELECT ceiling's table, as ceilings.sh makes it: :rows
-- rows whose token_hash is SHA-256 of 'tok<n>'.
CREATE TABLE pat (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    owner text NOT NULL,
    description text,
    token_hash bytea NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz,
    revoked_at timestamptz
);
INSERT INTO pat (owner, description, token_hash, expires_at)
SELECT 'user' || (n % 1000), 'token ' || n,
       sha256(convert_to('tok' || n, 'UTF8')), now() + interval '90 days'
  FROM generate_series(1, :rows) n;
VACUUM ANALYZE pat;
