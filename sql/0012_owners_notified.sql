-- 0012_owners_notified.sql - whose tokens changed is notified too, and a
-- use is not a change.
--
-- A worker that reads lists from a standby (read_database_url) must know
-- whose tokens changed since the standby last caught up, to ask the primary
-- for those: every event also says "<kind>:<owner>" ("user:<email>" or
-- "team:<group>") on the channel patgate_owner.  patgate_token keeps its
-- "<event>:<id>".
--
-- A recorded use (last_used_at moved forward) changes nothing a check
-- answers, and notified "changed:<id>" on every first use and once a minute
-- for each token in use, which told every worker to forget a check it had
-- just cached.  Only a last use moved back (or cleared), which can make a
-- token inactive, is a change now.

CREATE FUNCTION pat_owner_notify(p_group text, p_email text) RETURNS void
LANGUAGE sql VOLATILE AS $$
    SELECT pg_notify('patgate_owner', CASE WHEN p_group IS NULL THEN 'user:' || p_email
                                           ELSE 'team:' || p_group END);
$$;

CREATE OR REPLACE FUNCTION pat_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM pat_audit('created', NEW.id, NEW.owner_group, NEW.owner_email);
        PERFORM pg_notify('patgate_token', 'created:' || NEW.id);
        PERFORM pat_owner_notify(NEW.owner_group, NEW.owner_email);
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM pat_audit('purged', OLD.id, OLD.owner_group, OLD.owner_email);
        PERFORM pg_notify('patgate_token', 'purged:' || OLD.id);
        PERFORM pat_owner_notify(OLD.owner_group, OLD.owner_email);
    ELSIF NEW.rotated_at IS DISTINCT FROM OLD.rotated_at THEN
        PERFORM pat_audit('rotated', NEW.id, NEW.owner_group, NEW.owner_email);
        PERFORM pg_notify('patgate_token', 'rotated:' || NEW.id);
        PERFORM pat_owner_notify(NEW.owner_group, NEW.owner_email);
    ELSIF NEW.revoked_at IS NOT NULL THEN
        PERFORM pat_audit('revoked', NEW.id, NEW.owner_group, NEW.owner_email);
        PERFORM pg_notify('patgate_token', 'revoked:' || NEW.id);
        PERFORM pat_owner_notify(NEW.owner_group, NEW.owner_email);
    ELSIF OLD.revoked_at IS NOT NULL THEN
        PERFORM pat_audit('restored', NEW.id, NEW.owner_group, NEW.owner_email);
        PERFORM pg_notify('patgate_token', 'restored:' || NEW.id);
        PERFORM pat_owner_notify(NEW.owner_group, NEW.owner_email);
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION pat_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('patgate_token', 'changed:' || NEW.id);
    PERFORM pat_owner_notify(NEW.owner_group, NEW.owner_email);
    IF (OLD.owner_group, OLD.owner_email) IS DISTINCT FROM (NEW.owner_group, NEW.owner_email) THEN
        PERFORM pat_owner_notify(OLD.owner_group, OLD.owner_email);
    END IF;
    RETURN NULL;
END
$$;

DROP TRIGGER pat_changed ON pat;
CREATE TRIGGER pat_changed AFTER UPDATE OF token_hmac, owner_email, owner_name,
    owner_groups, owner_group, created_at, expires_at, last_used_at, grace_until
    ON pat FOR EACH ROW
    WHEN (OLD.token_hmac IS DISTINCT FROM NEW.token_hmac
       OR OLD.owner_email IS DISTINCT FROM NEW.owner_email
       OR OLD.owner_name IS DISTINCT FROM NEW.owner_name
       OR OLD.owner_groups IS DISTINCT FROM NEW.owner_groups
       OR OLD.owner_group IS DISTINCT FROM NEW.owner_group
       OR OLD.created_at IS DISTINCT FROM NEW.created_at
       OR OLD.expires_at IS DISTINCT FROM NEW.expires_at
       OR OLD.grace_until IS DISTINCT FROM NEW.grace_until
       OR NEW.last_used_at < OLD.last_used_at
       OR (NEW.last_used_at IS NULL AND OLD.last_used_at IS NOT NULL))
    EXECUTE FUNCTION pat_changed();
