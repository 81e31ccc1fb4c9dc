-- 0007_events.sql - every change to a token is an event: an audit row in
-- the same transaction, and a notification for listeners (a verify cache).
--
-- The events come from a trigger on pat itself, so that no path can miss
-- one: the API, the admin tool, and an operator's own UPDATE in psql.  Who
-- acted is passed down in transaction-local settings (patgate.actor and so
-- on, set by the functions below); a change made without them is recorded
-- as the database user's, by "sql".  The audit holds no token and no HMAC.

CREATE TABLE audit (
    id          bigserial   PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    event       text        NOT NULL,
    token_id    uuid,
    owner_kind  text        NOT NULL CHECK (owner_kind IN ('user', 'team')),
    owner       text        NOT NULL,
    actor       text        NOT NULL,
    actor_via   text        NOT NULL,
    addr        text,
    request_id  text,
    CHECK (event !~ '[[:cntrl:]]' AND actor !~ '[[:cntrl:]]'
           AND coalesce(addr, '') !~ '[[:cntrl:]]'
           AND coalesce(request_id, '') !~ '[[:cntrl:]]')
);
-- "This owner's events, newest first" (GET /pat/v1/audit) and "this token's".
CREATE INDEX audit_owner ON audit (owner_kind, owner, id DESC);
CREATE INDEX audit_token ON audit (token_id, id DESC);

-- Who is acting, for the events of this transaction.
CREATE FUNCTION pat_actor(p_actor text, p_via text, p_addr text, p_request text)
RETURNS void LANGUAGE sql VOLATILE AS $$
    SELECT set_config('patgate.actor', coalesce(p_actor, ''), true),
           set_config('patgate.actor_via', coalesce(p_via, ''), true),
           set_config('patgate.addr', coalesce(p_addr, ''), true),
           set_config('patgate.request_id', coalesce(p_request, ''), true);
$$;

CREATE FUNCTION pat_audit(p_event text, p_id uuid, p_group text, p_email text)
RETURNS void LANGUAGE sql VOLATILE AS $$
    INSERT INTO audit (event, token_id, owner_kind, owner, actor, actor_via,
                       addr, request_id)
    VALUES (p_event, p_id,
            CASE WHEN p_group IS NULL THEN 'user' ELSE 'team' END,
            coalesce(p_group, p_email),
            coalesce(nullif(current_setting('patgate.actor', true), ''), current_user),
            coalesce(nullif(current_setting('patgate.actor_via', true), ''), 'sql'),
            nullif(current_setting('patgate.addr', true), ''),
            nullif(current_setting('patgate.request_id', true), ''));
$$;

-- Listeners learn "<event>:<token id>" on channel patgate_token.
CREATE FUNCTION pat_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM pat_audit('created', NEW.id, NEW.owner_group, NEW.owner_email);
        PERFORM pg_notify('patgate_token', 'created:' || NEW.id);
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM pat_audit('purged', OLD.id, OLD.owner_group, OLD.owner_email);
        PERFORM pg_notify('patgate_token', 'purged:' || OLD.id);
    ELSIF NEW.revoked_at IS NOT NULL THEN
        PERFORM pat_audit('revoked', NEW.id, NEW.owner_group, NEW.owner_email);
        PERFORM pg_notify('patgate_token', 'revoked:' || NEW.id);
    END IF;
    RETURN NULL;
END
$$;

-- Only a change of revoked_at is an event: the last-used write is not.
CREATE TRIGGER pat_event AFTER INSERT OR DELETE OR UPDATE OF revoked_at ON pat
    FOR EACH ROW EXECUTE FUNCTION pat_event();

-- Create, with the cap (sql/0006) and the actor.  At the cap the refusal is
-- an event too, though no token is written.
DROP FUNCTION pat_create(uuid, bytea, text, text, text[], text, text, integer,
                         integer, integer, timestamptz, timestamptz, integer);
CREATE FUNCTION pat_create(p_id uuid, p_hmac bytea, p_email text, p_name text,
                           p_groups text[], p_group text, p_description text,
                           p_days integer, p_hours integer, p_minutes integer,
                           p_created timestamptz, p_expires timestamptz,
                           p_cap integer, p_actor text, p_via text, p_addr text,
                           p_request text) RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pat_actor(p_actor, p_via, p_addr, p_request);
    IF p_group IS NULL THEN
        PERFORM pg_advisory_xact_lock(7270062, hashtext(p_email));
        IF (SELECT count(*) FROM pat
             WHERE owner_email = p_email AND owner_group IS NULL
               AND revoked_at IS NULL
               AND (expires_at IS NULL OR expires_at > now())) >= p_cap THEN
            PERFORM pat_audit('refused_at_cap', NULL, NULL, p_email);
            RETURN false;
        END IF;
    ELSE
        PERFORM pg_advisory_xact_lock(7270063, hashtext(p_group));
        IF (SELECT count(*) FROM pat
             WHERE owner_group = p_group AND revoked_at IS NULL
               AND (expires_at IS NULL OR expires_at > now())) >= p_cap THEN
            PERFORM pat_audit('refused_at_cap', NULL, p_group, p_email);
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

-- Revoke one token, as its owner sees it: a user's PAT (p_groups NULL), a
-- team token of one of p_groups, or (both NULL: the admin tool) any token.
-- Revoking again succeeds again, and is an event again.
CREATE FUNCTION pat_revoke(p_id uuid, p_user text, p_groups text[], p_actor text,
                           p_via text, p_addr text, p_request text) RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    found boolean;
BEGIN
    PERFORM pat_actor(p_actor, p_via, p_addr, p_request);
    UPDATE pat SET revoked_at = coalesce(revoked_at, now()),
           updated_at = CASE WHEN revoked_at IS NULL THEN now() ELSE updated_at END,
           updated_by = CASE WHEN revoked_at IS NULL THEN p_actor ELSE updated_by END
     WHERE id = p_id
       AND (p_groups IS NOT NULL OR p_user IS NULL
            OR (owner_email = p_user AND owner_group IS NULL))
       AND (p_groups IS NULL OR owner_group = ANY (p_groups));
    GET DIAGNOSTICS found = ROW_COUNT;
    RETURN found;
END
$$;

-- The admin tool: revoke every live token of a user (PATs) or of a group.
CREATE FUNCTION pat_revoke_owner(p_user text, p_group text, p_actor text)
RETURNS integer LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    n integer;
BEGIN
    PERFORM pat_actor(p_actor, 'admin', NULL, NULL);
    UPDATE pat SET revoked_at = now(), updated_at = now(), updated_by = p_actor
     WHERE revoked_at IS NULL
       AND ((p_group IS NULL AND owner_email = p_user AND owner_group IS NULL)
            OR owner_group = p_group);
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;

-- The admin tool: forget tokens revoked or expired more than p_days ago.
CREATE FUNCTION pat_purge(p_days integer, p_actor text) RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    n integer;
BEGIN
    PERFORM pat_actor(p_actor, 'admin', NULL, NULL);
    DELETE FROM pat
     WHERE revoked_at < now() - make_interval(days => p_days)
        OR expires_at < now() - make_interval(days => p_days);
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;
