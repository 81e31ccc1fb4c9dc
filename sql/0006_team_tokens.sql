-- 0006_team_tokens.sql - Terrakube's team tokens beside PATs, and lifetimes
-- in days, hours and minutes.
-- A token with an owner_group is a team token: that group owns it, and
-- owner_email is the member who created it (createdBy).  A PAT has none.
-- Both kinds share one table, one lookup by HMAC and one revocation path.

ALTER TABLE pat
    ADD COLUMN owner_group text
        CHECK (owner_group <> '' AND owner_group !~ '[[:cntrl:]]'),
    ADD COLUMN hours integer NOT NULL DEFAULT 0 CHECK (hours >= 0),
    ADD COLUMN minutes integer NOT NULL DEFAULT 0 CHECK (minutes >= 0);

-- A token never expires exactly when its whole lifetime is 0.
ALTER TABLE pat DROP CONSTRAINT pat_check1;
ALTER TABLE pat ADD CONSTRAINT pat_lifetime_check
    CHECK ((days = 0 AND hours = 0 AND minutes = 0) = (expires_at IS NULL));

-- "This user's PATs, newest first" and "this group's team tokens".
DROP INDEX pat_owner_newest;
CREATE INDEX pat_owner_newest ON pat (owner_email, created_at DESC, id DESC)
    WHERE revoked_at IS NULL AND owner_group IS NULL;
CREATE INDEX pat_group_newest ON pat (owner_group, created_at DESC, id DESC)
    WHERE revoked_at IS NULL AND owner_group IS NOT NULL;

-- The cap is per owner: a user's PATs, or a group's team tokens.  A team
-- token does not count toward its creator's cap.
DROP FUNCTION pat_create(uuid, bytea, text, text, text[], text, integer,
                         timestamptz, timestamptz, integer);
CREATE FUNCTION pat_create(p_id uuid, p_hmac bytea, p_email text, p_name text,
                           p_groups text[], p_group text, p_description text,
                           p_days integer, p_hours integer, p_minutes integer,
                           p_created timestamptz, p_expires timestamptz,
                           p_cap integer) RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    IF p_group IS NULL THEN
        PERFORM pg_advisory_xact_lock(7270062, hashtext(p_email));
        IF (SELECT count(*) FROM pat
             WHERE owner_email = p_email AND owner_group IS NULL
               AND revoked_at IS NULL
               AND (expires_at IS NULL OR expires_at > now())) >= p_cap THEN
            RETURN false;
        END IF;
    ELSE
        PERFORM pg_advisory_xact_lock(7270063, hashtext(p_group));
        IF (SELECT count(*) FROM pat
             WHERE owner_group = p_group AND revoked_at IS NULL
               AND (expires_at IS NULL OR expires_at > now())) >= p_cap THEN
            RETURN false;
        END IF;
    END IF;
    INSERT INTO pat (id, token_hmac, owner_email, owner_name, owner_groups,
                     owner_group, description, days, hours, minutes,
                     created_at, expires_at, updated_at, updated_by)
    VALUES (p_id, p_hmac, p_email, p_name, p_groups, p_group, p_description,
            p_days, p_hours, p_minutes, p_created, p_expires, p_created, p_email);
    RETURN true;
END
$$;
