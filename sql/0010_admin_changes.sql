-- 0010_admin_changes.sql - the admin tool's revoke and purge say which tokens
-- they changed, so that it can name each one, and log each event, as the
-- trigger (sql/0007) records it.  A purge also forgets rotated tokens whose
-- grace ended that long ago (sql/0008): they are refused like revoked ones.

DROP FUNCTION pat_revoke_owner(text, text, text);
CREATE FUNCTION pat_revoke_owner(p_user text, p_group text, p_actor text)
RETURNS TABLE (id uuid, owner_kind text, owner text)
LANGUAGE sql VOLATILE AS $$
    SELECT pat_actor(p_actor, 'admin', NULL, NULL);
    UPDATE pat SET revoked_at = now(), updated_at = now(), updated_by = p_actor
     WHERE revoked_at IS NULL
       AND ((p_group IS NULL AND owner_email = p_user AND owner_group IS NULL)
            OR owner_group = p_group)
    RETURNING id, CASE WHEN owner_group IS NULL THEN 'user' ELSE 'team' END,
              coalesce(owner_group, owner_email);
$$;

DROP FUNCTION pat_purge(integer, text);
CREATE FUNCTION pat_purge(p_days integer, p_actor text)
RETURNS TABLE (id uuid, owner_kind text, owner text)
LANGUAGE sql VOLATILE AS $$
    SELECT pat_actor(p_actor, 'admin', NULL, NULL);
    DELETE FROM pat
     WHERE revoked_at < now() - make_interval(days => p_days)
        OR expires_at < now() - make_interval(days => p_days)
        OR grace_until < now() - make_interval(days => p_days)
    RETURNING id, CASE WHEN owner_group IS NULL THEN 'user' ELSE 'team' END,
              coalesce(owner_group, owner_email);
$$;

-- A token revoked and then made valid again (an operator's own
-- "UPDATE pat SET revoked_at = NULL") is an event too: it was the one
-- change to revoked_at that wrote no audit row, so a token could come back
-- to life unrecorded, and a listener that dropped it was never told.
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
    ELSIF OLD.revoked_at IS NOT NULL THEN
        PERFORM pat_audit('restored', NEW.id, NEW.owner_group, NEW.owner_email);
        PERFORM pg_notify('patgate_token', 'restored:' || NEW.id);
    END IF;
    RETURN NULL;
END
$$;
