-- 0004_pat_touch_async.sql - the last-used write is cheap.
-- It does not wait for the disk: last_used_at is a hint, not a record, and
-- losing the last moment of it in a crash harms nothing, while an fsync
-- inside a check holds up that check.
-- set_config(..., true) lasts to the end of the caller's transaction, which
-- is the one-statement lookup in the worker, so only that commit is
-- asynchronous; issuing and revoking tokens still commit synchronously.

CREATE OR REPLACE FUNCTION pat_touch(p_id uuid, p_addr text) RETURNS boolean
LANGUAGE sql VOLATILE AS $$
    SELECT set_config('synchronous_commit', 'off', true);
    UPDATE pat SET last_used_at = now(), last_used_addr = p_addr
     WHERE id = p_id AND revoked_at IS NULL
       AND (last_used_at IS NULL OR last_used_at < now() - interval '60 seconds')
    RETURNING true
$$;

-- Room on each page for the new row version: the write touches no indexed
-- column, so it becomes a HOT update and adds nothing to the three indexes.
ALTER TABLE pat SET (fillfactor = 90);
