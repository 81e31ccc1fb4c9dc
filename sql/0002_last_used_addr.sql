-- 0002_last_used_addr.sql - where a token was last used from (GET /pat/v1/verify).
-- Written together with last_used_at, at most once a minute per token.

ALTER TABLE pat ADD COLUMN last_used_addr text
    CHECK (last_used_addr !~ '[[:cntrl:]]' AND char_length(last_used_addr) <= 64);
