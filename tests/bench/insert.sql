-- insert.sql - pgbench's create: the same INSERT patgate prepares, one token row.
\set n random(1, 1000)
INSERT INTO pat (id, token_hmac, owner_email, owner_name, owner_groups, description, days,
                 created_at, expires_at, updated_at, updated_by)
VALUES (gen_random_uuid(), sha256(convert_to(gen_random_uuid()::text, 'UTF8')),
        'user' || :n || '@bench.example', 'User', '{}', 'pgbench token', 30,
        now(), now() + interval '30 days', now(), 'user' || :n || '@bench.example');
