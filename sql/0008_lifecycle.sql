-- 0008_lifecycle.sql - rotation with a grace period, revocation by value,
-- expiry notices, and inactivity.
--
-- A rotated token names its successor (rotated_to) and keeps working until
-- grace_until; then it is refused like a revoked one, but it is not
-- revoked: presenting it is recorded as reuse_after_rotation.

ALTER TABLE pat
    ADD COLUMN rotated_at  timestamptz,
    ADD COLUMN rotated_to  uuid,
    ADD COLUMN grace_until timestamptz,
    ADD COLUMN reused_at   timestamptz,
    ADD CONSTRAINT pat_rotation_check
        CHECK ((rotated_at IS NULL) = (rotated_to IS NULL)
               AND (rotated_at IS NULL) = (grace_until IS NULL));

-- Notices already sent: one per token and window, whatever runs overlap.
CREATE TABLE expiry_notice (
    token_id    uuid        NOT NULL,
    window_days integer     NOT NULL CHECK (window_days > 0),
    sent_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (token_id, window_days)
);

-- A rotation is an event too.
CREATE OR REPLACE FUNCTION pat_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM pat_audit('created', NEW.id, NEW.owner_group, NEW.owner_email);
        PERFORM pg_notify('patgate_token', 'created:' || NEW.id);
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM pat_audit('purged', OLD.id, OLD.owner_group, OLD.owner_email);
        PERFORM pg_notify('patgate_token', 'purged:' || OLD.id);
    ELSIF NEW.rotated_at IS DISTINCT FROM OLD.rotated_at THEN
        PERFORM pat_audit('rotated', NEW.id, NEW.owner_group, NEW.owner_email);
        PERFORM pg_notify('patgate_token', 'rotated:' || NEW.id);
    ELSIF NEW.revoked_at IS NOT NULL THEN
        PERFORM pat_audit('revoked', NEW.id, NEW.owner_group, NEW.owner_email);
        PERFORM pg_notify('patgate_token', 'revoked:' || NEW.id);
    END IF;
    RETURN NULL;
END
$$;
DROP TRIGGER pat_event ON pat;
CREATE TRIGGER pat_event AFTER INSERT OR DELETE OR UPDATE OF revoked_at, rotated_at
    ON pat FOR EACH ROW EXECUTE FUNCTION pat_event();

-- Whether a row still counts toward its owner's cap.
CREATE FUNCTION pat_live(p pat) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT p.revoked_at IS NULL
       AND (p.expires_at IS NULL OR p.expires_at > now())
       AND (p.grace_until IS NULL OR p.grace_until > now());
$$;

DROP FUNCTION pat_create(uuid, bytea, text, text, text[], text, text, integer,
                         integer, integer, timestamptz, timestamptz, integer,
                         text, text, text, text);
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
        IF (SELECT count(*) FROM pat p
             WHERE owner_email = p_email AND owner_group IS NULL
               AND revoked_at IS NULL AND pat_live(p)) >= p_cap THEN
            PERFORM pat_audit('refused_at_cap', NULL, NULL, p_email);
            RETURN false;
        END IF;
    ELSE
        PERFORM pg_advisory_xact_lock(7270063, hashtext(p_group));
        IF (SELECT count(*) FROM pat p
             WHERE owner_group = p_group AND revoked_at IS NULL
               AND pat_live(p)) >= p_cap THEN
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

-- Rotate p_old, owned as pat_revoke's arguments say, into the new row:
-- 'ok', 'not_found' (no such live token of this owner) or 'rotated' (it
-- was rotated before).  The successor takes the old one's place under the
-- cap, so a rotation at the cap succeeds.
CREATE FUNCTION pat_rotate(p_old uuid, p_user text, p_groups text[],
                           p_grace_seconds integer, p_id uuid, p_hmac bytea,
                           p_created timestamptz, p_expires timestamptz,
                           p_actor text, p_via text, p_addr text, p_request text)
RETURNS text LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    old pat;
BEGIN
    PERFORM pat_actor(p_actor, p_via, p_addr, p_request);
    SELECT * INTO old FROM pat
     WHERE id = p_old AND revoked_at IS NULL
       AND (expires_at IS NULL OR expires_at > now())
       AND (p_groups IS NOT NULL OR (owner_email = p_user AND owner_group IS NULL))
       AND (p_groups IS NULL OR owner_group = ANY (p_groups))
       FOR UPDATE;
    IF NOT FOUND THEN
        RETURN 'not_found';
    END IF;
    IF old.rotated_at IS NOT NULL THEN
        RETURN 'rotated';
    END IF;
    INSERT INTO pat (id, token_hmac, owner_email, owner_name, owner_groups,
                     owner_group, description, days, hours, minutes,
                     created_at, expires_at, updated_at, updated_by)
    VALUES (p_id, p_hmac, old.owner_email, old.owner_name, old.owner_groups,
            old.owner_group, old.description, old.days, old.hours, old.minutes,
            p_created, p_expires, p_created, p_actor);
    UPDATE pat SET rotated_at = now(), rotated_to = p_id,
           grace_until = now() + make_interval(secs => p_grace_seconds),
           updated_at = now(), updated_by = p_actor
     WHERE id = p_old;
    RETURN 'ok';
END
$$;

-- A rotated token presented after its grace: one event a minute at most.
CREATE FUNCTION pat_reuse(p_id uuid, p_addr text) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    r pat;
BEGIN
    SELECT * INTO r FROM pat WHERE id = p_id;
    IF NOT FOUND OR EXISTS (SELECT 1 FROM audit WHERE token_id = p_id
                             AND event = 'reuse_after_rotation'
                             AND at > now() - interval '60 seconds') THEN
        RETURN;
    END IF;
    PERFORM set_config('synchronous_commit', 'off', true);
    PERFORM pat_actor(NULL, 'reuse', p_addr, NULL);
    UPDATE pat SET reused_at = now() WHERE id = p_id;
    PERFORM pat_audit('reuse_after_rotation', p_id, r.owner_group, r.owner_email);
END
$$;

-- Revocation by value: whoever holds leaked tokens may report them.  Each
-- that is valid (known, not revoked, not expired) is revoked by "report".
CREATE FUNCTION pat_revoke_hmacs(p_hmacs bytea[], p_addr text) RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    n integer;
BEGIN
    PERFORM pat_actor('reporter', 'report', p_addr, NULL);
    UPDATE pat SET revoked_at = now(), updated_at = now(), updated_by = 'reporter'
     WHERE token_hmac = ANY (p_hmacs) AND revoked_at IS NULL
       AND (expires_at IS NULL OR expires_at > now());
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;

-- A lookup under an old pepper re-keys the row to the current one.
CREATE FUNCTION pat_rekey(p_id uuid, p_old bytea, p_new bytea) RETURNS void
LANGUAGE sql VOLATILE AS $$
    UPDATE pat SET token_hmac = p_new WHERE id = p_id AND token_hmac = p_old;
$$;
