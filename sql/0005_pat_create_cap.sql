-- 0005_pat_create_cap.sql - a cap on each owner's live tokens (max_tokens_per_user).
-- The count and the insert are one step: each owner's creates take a
-- transaction-scoped advisory lock in turn, and each statement of a plpgsql
-- function takes a fresh snapshot, so the count sees every create that held
-- the lock before.  Two creates at once can never both take the last place.
-- Returns false, having written nothing, when the owner is at the cap.

CREATE FUNCTION pat_create(p_id uuid, p_hmac bytea, p_email text, p_name text,
                           p_groups text[], p_description text, p_days integer,
                           p_created timestamptz, p_expires timestamptz,
                           p_cap integer) RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(7270062, hashtext(p_email));
    IF (SELECT count(*) FROM pat
         WHERE owner_email = p_email AND revoked_at IS NULL
           AND (expires_at IS NULL OR expires_at > now())) >= p_cap THEN
        RETURN false;
    END IF;
    INSERT INTO pat (id, token_hmac, owner_email, owner_name, owner_groups,
                     description, days, created_at, expires_at, updated_at,
                     updated_by)
    VALUES (p_id, p_hmac, p_email, p_name, p_groups, p_description, p_days,
            p_created, p_expires, p_created, p_email);
    RETURN true;
END
$$;
