-- 0011_expiry_notices.sql - expiry notices, claimed before they are sent.
-- pat_notice_claim records, for each live token that expires within one of
-- the windows (days) and has had no notice for it, the tightest such
-- window, and the wider ones with it (they are past), and returns what it
-- claimed.  Runs take an advisory lock in turn and the primary key makes a
-- claim the only one, so runs that overlap never send one notice twice.  A notice that could not be sent is
-- given back with pat_notice_release, to be tried on the next run.

CREATE FUNCTION pat_notice_claim(p_windows integer[])
RETURNS TABLE (token_id uuid, owner_kind text, owner text, email text,
               description text, expires_at timestamptz, window_days integer)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    t record;
    w integer;
BEGIN
    -- Runs take turns: the next one sees what this one claimed.
    PERFORM pg_advisory_xact_lock(7270064);
    FOR t IN
        SELECT q.* FROM (
            SELECT p.id, p.owner_group, p.owner_email, p.description, p.expires_at,
                   (SELECT min(x) FROM unnest(p_windows) AS x
                     WHERE p.expires_at <= now() + make_interval(days => x)) AS tightest
              FROM pat p
             WHERE p.revoked_at IS NULL AND p.rotated_at IS NULL
               AND p.expires_at > now()
               AND p.expires_at <= now() + make_interval(days =>
                   (SELECT max(x) FROM unnest(p_windows) AS x))) AS q
         WHERE q.tightest IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM expiry_notice n
                            WHERE n.token_id = q.id AND n.window_days = q.tightest)
    LOOP
        INSERT INTO expiry_notice (token_id, window_days) VALUES (t.id, t.tightest)
            ON CONFLICT DO NOTHING;
        CONTINUE WHEN NOT FOUND;
        FOREACH w IN ARRAY p_windows LOOP
            IF w > t.tightest THEN
                INSERT INTO expiry_notice (token_id, window_days) VALUES (t.id, w)
                    ON CONFLICT DO NOTHING;
            END IF;
        END LOOP;
        token_id := t.id;
        owner_kind := CASE WHEN t.owner_group IS NULL THEN 'user' ELSE 'team' END;
        owner := coalesce(t.owner_group, t.owner_email);
        email := t.owner_email;
        description := t.description;
        expires_at := t.expires_at;
        window_days := t.tightest;
        RETURN NEXT;
    END LOOP;
END
$$;

CREATE FUNCTION pat_notice_release(p_id uuid, p_window integer) RETURNS void
LANGUAGE sql VOLATILE AS $$
    DELETE FROM expiry_notice WHERE token_id = p_id AND window_days = p_window;
$$;
