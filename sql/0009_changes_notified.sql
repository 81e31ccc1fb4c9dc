-- 0009_changes_notified.sql - any change to what a check reads is notified.
-- Workers cache positive checks (verify_cache_entries), so a change that an
-- operator makes in SQL (an owner's groups, an expiry, last use) must reach
-- them as a revocation does: "changed:<id>" on patgate_token.  These are not
-- lifecycle events: no audit row.

CREATE FUNCTION pat_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('patgate_token', 'changed:' || NEW.id);
    RETURN NULL;
END
$$;

CREATE TRIGGER pat_changed AFTER UPDATE OF token_hmac, owner_email, owner_name,
    owner_groups, owner_group, created_at, expires_at, last_used_at, grace_until
    ON pat FOR EACH ROW EXECUTE FUNCTION pat_changed();
