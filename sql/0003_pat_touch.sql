-- 0003_pat_touch.sql - record a token's use inside the lookup that verifies it.
-- The lookup is a plain SELECT that calls this only when the last write is
-- older than a minute, so the common path writes nothing and the rare one
-- still takes a single round trip.  The WHERE clause is checked again under
-- the row lock, so concurrent checks of one token write once.

CREATE FUNCTION pat_touch(p_id uuid, p_addr text) RETURNS boolean
LANGUAGE sql VOLATILE AS $$
    UPDATE pat SET last_used_at = now(), last_used_addr = p_addr
     WHERE id = p_id AND revoked_at IS NULL
       AND (last_used_at IS NULL OR last_used_at < now() - interval '60 seconds')
    RETURNING true
$$;
