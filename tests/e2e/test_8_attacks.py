"""Attacks that were found from outside, each performed for real against the
running stack: impersonation through identity text, unverified emails and
REMOTE_USER, tokens that outlive their maker, one user filling the table,
a JWKS that went away, readable secrets, log floods and loose ids.  Every
refusal is checked to have written nothing."""
import concurrent.futures
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import lib
import oidc
from lib import (BIN, CONFIG, VAR, Instance, count_rows, create, id_token, new_pat, request,
                 run_cgi, sql, unique_email, wait_for)

BODY = {"days": 1, "description": "attack"}


def _refused(ident, claim):
    """A create with this identity is 401, names the claim, and writes nothing."""
    before = count_rows()
    r = request("POST", "/pat/v1", token=ident, json_body=BODY)
    assert r.status == 401, r
    assert r.json()["error"] == "unauthorized" and claim in r.json()["message"], r.json()
    assert 'error="invalid_token"' in r.header("WWW-Authenticate"), r.headers
    assert count_rows() == before
    return r


def _accepted(ident):
    r = request("POST", "/pat/v1", token=ident, json_body=BODY)
    assert r.status == 201, r
    return r.json()


# ------------------------------------------------------------------ identity text

def test_a_group_holding_a_comma_or_edge_space_never_reads_as_another_group():
    for groups in (["dev,admin"], ["dev", " admin"], ["admin "], ["dev", "ad\u0085min"],
                   ["a\tb"], ["x\u0007"], [""], ["\u00a0admin"], ["ok", "a" * 256],
                   ["g%d" % i for i in range(65)]):
        _refused(id_token(groups=groups), "groups")
    # Exactly at the limits is fine: 64 groups, 255 characters, inner spaces.
    t = _accepted(id_token(groups=["g%d" % i for i in range(63)] + ["\u00e9" * 255]))
    assert len(lib.claims(t["token"])["groups"]) == 64
    t = _accepted(id_token(groups=["Platform Team", "dev"]))
    r = request("GET", "/pat/v1/verify", token=t["token"])
    assert r.status == 200 and r.header("X-Pat-Groups") == "Platform Team,dev", r


def test_an_email_or_name_that_would_read_differently_is_refused():
    for email in ("victim@example.com,evil@x.com", "victim@example.com ", " v@x.com",
                  "vic tim@example.com", "victim", "a@b@c", "v@x\u2028.com", "v\x7f@x.com",
                  "a" * 312 + "@x.com" + "abc", "@", "a\u00a0@x.com"):
        _refused(id_token(email), "email")
    for name in (" Alice", "Alice ", "Al\u0007ice", "x" * 256, "", "\u3000"):
        _refused(id_token(unique_email(), name), "name")
    _accepted(id_token("a@b", "Smith, Alice"))      # 3 bytes; a comma inside a name is text


def test_a_stored_identity_that_breaks_the_rules_is_refused_at_the_edge():
    """Rows written before the rules may hold a group such as "dev,admin"."""
    tok, tid, _ = new_pat(id_token(groups=["dev"]))
    assert request("GET", "/pat/v1/verify", token=tok).status == 200
    sql("UPDATE pat SET owner_groups = ARRAY['dev,admin'] WHERE id = '%s'" % tid)
    r = request("GET", "/pat/v1/verify", token=tok)
    assert r.status == 401 and r.header("X-Pat-Groups") is None, r
    assert "groups" in r.json()["message"], r.json()
    assert request("GET", "/demo/whoami", token=tok).status == 401
    assert request("GET", "/pat/v1", token=tok).status == 401


def test_email_verified_must_be_the_json_true():
    for verified in (False, "true", 1, None, oidc.DROP):
        before = count_rows()
        r = request("POST", "/pat/v1", json_body=BODY,
                    token=id_token(extra={"email_verified": verified}))
        assert r.status == 401 and "email_verified" in r.json()["message"], (verified, r)
        assert count_rows() == before
    _accepted(id_token(extra={"email_verified": True}))
    # Off: an issuer that never sends the claim can be trusted on purpose.
    with Instance(workers=1, env={"PATGATE_OIDC_REQUIRE_VERIFIED_EMAIL": "off"}) as inst:
        r = inst.request({"REQUEST_METHOD": "POST", "SCRIPT_NAME": "/pat/v1",
                          "CONTENT_TYPE": "application/json",
                          "HTTP_AUTHORIZATION": "Bearer " + id_token(
                              extra={"email_verified": oidc.DROP})},
                         json.dumps(BODY).encode())
        assert r.status == 201, r


# ------------------------------------------------------------------ REMOTE_USER

def _cgi_create(env, auth=None):
    body = json.dumps(BODY).encode()
    e = {"REQUEST_METHOD": "POST", "PATH_INFO": "/pat/v1", "CONTENT_TYPE": "application/json",
         "CONTENT_LENGTH": str(len(body)), "PATGATE_TRUST_REMOTE_USER": "on"}
    if auth:
        e["HTTP_AUTHORIZATION"] = auth
    e.update(env)
    return run_cgi(e, body)


def test_remote_user_from_a_clients_own_basic_header_is_nobody():
    victim = unique_email("victim")
    basic = "Basic " + lib.base64.b64encode(("%s:x" % victim).encode()).decode()
    # What nginx passes when no auth_basic ran: $remote_user from the client's header.
    r = _cgi_create({"REMOTE_USER": victim}, basic)
    assert r.status == 401 and r.json()["error"] == "unauthorized", r
    assert count_rows("owner_email = '%s'" % victim) == 0
    # A server that authenticated says so in AUTH_TYPE.
    r = _cgi_create({"REMOTE_USER": victim, "AUTH_TYPE": "Basic"}, basic)
    assert r.status == 201, (r, r.stderr)
    for user in ("victim@example.com,admin@example.com", "victim ", "vic tim", "v\x01",
                 "x" * 321):
        r = _cgi_create({"REMOTE_USER": user, "AUTH_TYPE": "Basic"})
        assert r.status == 401 and "REMOTE_USER" in r.json()["message"], (user, r)


# ------------------------------------------------------------------ tokens made by tokens

def test_a_token_made_by_a_token_cannot_outlive_it():
    parent, parent_id, ident = new_pat(days=2)
    before = count_rows()
    for days in (0, 3, 36500):
        r = request("POST", "/pat/v1", token=parent, json_body={"days": days,
                                                                 "description": "child"})
        assert r.status == 400, (days, r)
        assert r.json()["error"] == "invalid_field" and r.json()["field"] == "days", r.json()
    assert count_rows() == before
    r = request("POST", "/pat/v1", token=parent, json_body={"days": 1, "description": "child"})
    assert r.status == 201, r
    assert lib.claims(r.json()["token"])["exp"] <= lib.claims(parent)["exp"]
    # A token that never expires may make one that never expires.
    forever, _, _ = new_pat(ident, days=0)
    r = request("POST", "/pat/v1", token=forever, json_body={"days": 0, "description": "child"})
    assert r.status == 201 and "exp" not in lib.claims(r.json()["token"]), r
    # The owner's name is suffixed once, however deep the chain.
    assert lib.claims(r.json()["token"])["name"].count("(Token)") == 1


# ------------------------------------------------------------------ one user filling the table

def test_max_tokens_per_user_default_500_is_enforced_through_nginx():
    ident = id_token(unique_email("cap"))
    email = json.loads(lib.b64url_decode(ident.split(".")[1]))["email"]

    def one(i):
        return create(ident, 1, "cap %d" % i).status

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(one, range(510)))
    assert statuses.count(201) == 500 and statuses.count(409) == 10, sorted(set(statuses))
    assert count_rows("owner_email = '%s'" % email) == 500
    r = create(ident, 1, "one more")
    assert r.status == 409 and r.json()["error"] == "limit_reached", r
    assert count_rows("owner_email = '%s'" % email) == 500
    # The list stays bounded and whole; a revoked token frees its place.
    items = request("GET", "/pat/v1", token=ident).json()
    assert len(items) == 500
    assert request("DELETE", "/pat/v1/" + items[0]["id"], token=ident).status == 202
    assert create(ident, 1, "after a revoke").status == 201
    assert create(ident, 1, "over again").status == 409


def test_cap_counts_live_tokens_only_and_holds_under_concurrency():
    email = unique_email("cap2")
    ident = id_token(email)
    params = {"REQUEST_METHOD": "POST", "SCRIPT_NAME": "/pat/v1",
              "CONTENT_TYPE": "application/json", "HTTP_AUTHORIZATION": "Bearer " + ident}
    with Instance(workers=4, env={"PATGATE_MAX_TOKENS_PER_USER": "5"}) as inst:
        with concurrent.futures.ThreadPoolExecutor(12) as pool:
            got = list(pool.map(lambda i: inst.request(params, json.dumps(BODY).encode()).status,
                                range(24)))
        assert got.count(201) == 5 and got.count(409) == 19, got
        assert count_rows("owner_email = '%s'" % email) == 5
        # An expired token does not count.
        sql("UPDATE pat SET created_at = now() - interval '2 days', "
            "expires_at = now() - interval '1 day' WHERE id = (SELECT id FROM pat "
            "WHERE owner_email = '%s' LIMIT 1)" % email)
        assert inst.request(params, json.dumps(BODY).encode()).status == 201
        assert inst.request(params, json.dumps(BODY).encode()).status == 409


# ------------------------------------------------------------------ JWKS

def _jwks_instance(tmp, jwks_text):
    path = os.path.join(tmp, "jwks.json")
    if jwks_text is not None:
        with open(path, "w") as f:
            f.write(jwks_text)
        os.chmod(path, 0o644)
    return path, Instance(workers=2, env={"PATGATE_OIDC_JWKS_FILE": path})


def _oidc_create(inst):
    return inst.request({"REQUEST_METHOD": "POST", "SCRIPT_NAME": "/pat/v1",
                         "CONTENT_TYPE": "application/json",
                         "HTTP_AUTHORIZATION": "Bearer " + id_token()},
                        json.dumps(BODY).encode())


def test_a_jwks_file_emptied_or_deleted_trusts_no_key_even_after_sighup():
    tmp = tempfile.mkdtemp(prefix="patgate-jwks-")
    os.chmod(tmp, 0o755)
    good = open(os.path.join(VAR, "oidc", "jwks.json")).read()
    path, inst = _jwks_instance(tmp, good)
    try:
        assert _oidc_create(inst).status == 201
        tok, _, _ = new_pat()
        for breakage in ("", '{"keys": []}', '{"keys": [{"kty": "oct", "k": "AAAA"}]}', None):
            if breakage is None:
                os.unlink(path)
            else:
                with open(path + ".new", "w") as f:
                    f.write(breakage)
                os.rename(path + ".new", path)
            for _ in range(3):
                r = _oidc_create(inst)
                assert r.status == 401 and "signing key" in r.json()["message"], (breakage, r)
            os.kill(inst.proc.pid, signal.SIGHUP)
            time.sleep(0.5)
            assert wait_for(lambda: inst.workers() == 2, 10)
            assert _oidc_create(inst).status == 401, breakage
            # PATs do not depend on the JWKS.
            assert inst.request({"SCRIPT_NAME": "/pat/v1/verify",
                                 "HTTP_AUTHORIZATION": "Bearer " + tok}).status == 200
        assert "event=jwks_unusable" in inst.read_log()
        assert "event=oidc_refused" in inst.read_log()
        with open(path + ".new", "w") as f:
            f.write(good)
        os.rename(path + ".new", path)
        assert wait_for(lambda: _oidc_create(inst).status == 201, 5)
    finally:
        inst.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def test_a_worker_started_with_a_missing_jwks_serves_pats_and_refuses_identity_tokens():
    tmp = tempfile.mkdtemp(prefix="patgate-jwks-")
    os.chmod(tmp, 0o755)
    path, inst = _jwks_instance(tmp, None)
    try:
        tok, _, _ = new_pat()
        assert inst.request({"SCRIPT_NAME": "/pat/v1/verify",
                             "HTTP_AUTHORIZATION": "Bearer " + tok}).status == 200
        assert _oidc_create(inst).status == 401
        p = subprocess.run([BIN, "--config", CONFIG, "--check-config"], capture_output=True,
                           text=True, env=dict(os.environ, PATGATE_OIDC_JWKS_FILE=path))
        assert p.returncode == 1 and "oidc_jwks_file" in p.stderr, (p.returncode, p.stderr)
    finally:
        inst.stop()
        shutil.rmtree(tmp, ignore_errors=True)


# ------------------------------------------------------------------ files holding secrets

def test_a_config_holding_a_password_must_not_be_readable_by_others():
    tmp = tempfile.mkdtemp(prefix="patgate-conf-")
    try:
        text = open(CONFIG).read()
        assert "password=" in text
        path = os.path.join(tmp, "patgate.conf")
        with open(path, "w") as f:
            f.write(text)
        for mode in (0o644, 0o640, 0o604):
            os.chmod(path, mode)
            p = subprocess.run([BIN, "--config", path, "--check-config"], capture_output=True,
                               text=True)
            assert p.returncode != 0 and "database_url" in p.stderr and "chmod 600" in p.stderr, \
                (oct(mode), p.stderr)
        os.chmod(path, 0o600)
        p = subprocess.run([BIN, "--config", path, "--check-config"], capture_output=True,
                           text=True)
        assert p.returncode == 0, p.stderr
        # The same in URL form, and no password at all may be readable.
        url = "postgresql://patgate:s3cret@localhost/patgate"
        lines = [line for line in text.splitlines()
                 if not line.startswith(("database_url", "introspect_secret"))]
        for db, ok in ((url, False), ("host=/tmp dbname=patgate user=patgate", True)):
            with open(path, "w") as f:
                f.write("\n".join(lines + ["database_url = " + db]) + "\n")
            os.chmod(path, 0o644)
            p = subprocess.run([BIN, "--config", path, "--check-config"], capture_output=True,
                               text=True)
            assert (p.returncode == 0) == ok, (db, p.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ------------------------------------------------------------------ logs

def test_a_revoked_token_in_a_loop_writes_one_line_a_minute():
    tok, tid, ident = new_pat()
    assert request("DELETE", "/pat/v1/" + tid, token=ident).status == 202
    log = os.path.join(VAR, "log", "patgate.log")
    start = os.path.getsize(log)
    for _ in range(300):
        assert request("GET", "/pat/v1/verify", token=tok).status == 401
    with open(log, errors="replace") as f:
        f.seek(start)
        lines = [line for line in f if "event=token_refused" in line and tid in line]
    # One per worker at most (each worker keeps its own count).
    assert 1 <= len(lines) <= 4, lines


# ------------------------------------------------------------------ ids and numbers

def test_ids_are_lower_case_and_minus_zero_is_not_a_number_of_days():
    tok, tid, ident = new_pat()
    assert request("GET", "/pat/v1/" + tid, token=ident).status == 200
    letter = next(i for i, c in enumerate(tid) if c in "abcdef")
    for path in ("/pat/v1/" + tid.upper(),
                 "/pat/v1/" + tid[:letter] + tid[letter].upper() + tid[letter + 1:]):
        assert request("GET", path, token=ident).status == 404
        assert request("DELETE", path, token=ident).status == 404
    assert request("GET", "/pat/v1/verify", token=tok).status == 200
    before = count_rows()
    for body in ('{"days": -0, "description": "x"}', '{"days": "-0", "description": "x"}'):
        r = request("POST", "/pat/v1", body=body, headers={"Content-Type": "application/json"},
                    token=id_token())
        assert r.status == 400 and r.json()["field"] == "days", (body, r)
    assert count_rows() == before


def test_two_authorization_headers_are_one_too_many():
    tok, _, _ = new_pat()
    r = lib.fcgi({"SCRIPT_NAME": "/pat/v1", "HTTP_AUTHORIZATION": "Bearer " + tok,
                  "HTTP_AUTHORIZATION ": "x"})      # a distinct name: must not count
    assert r.status == 202, r
    # Two same-named params, as a proxy that joins nothing would send them.
    s = lib.fcgi_connect()
    try:
        params = lib.fcgi_params({"GATEWAY_INTERFACE": "CGI/1.1", "REQUEST_METHOD": "GET",
                                  "SCRIPT_NAME": "/pat/v1", "HTTP_AUTHORIZATION": "Bearer " + tok})
        params = params[:-8] + lib.fcgi_params({"HTTP_AUTHORIZATION": "Bearer " + id_token()})
        s.sendall(lib.fcgi_begin() + params + lib.fcgi_stdin(b""))
        r = lib.fcgi_read(s)
    finally:
        s.close()
    assert r.status == 400 and "Authorization" in r.json()["message"], r


# ------------------------------------------------------------------ the command line under CGI

def test_a_query_string_never_becomes_options_under_cgi():
    """Apache passes a query string without "=" as argv (RFC 3875 4.4)."""
    port = lib.free_port()
    for argv in (["--listen", "127.0.0.1:%d" % port, "--workers", "1"], ["--version"],
                 ["--config", "/etc/passwd"], ["--migrate"], ["--help"], ["-c", "/etc/passwd"],
                 ["--check-config"], ["bogus"]):
        env = {"GATEWAY_INTERFACE": "CGI/1.1", "SERVER_PROTOCOL": "HTTP/1.1",
               "REQUEST_METHOD": "GET", "PATH_INFO": "/pat/v1/health",
               "QUERY_STRING": "+".join(argv), "REMOTE_ADDR": "127.0.0.1",
               "PATH": "/usr/bin:/bin", "PATGATE_CONFIG": CONFIG}
        p = subprocess.run([BIN] + argv, env=env, capture_output=True, timeout=20)
        head, _, body = p.stdout.partition(b"\r\n\r\n")
        assert head.startswith(b"Status: 200"), (argv, p.stdout[:200], p.stderr[:300])
        assert json.loads(body) == {"status": "ok", "database": "ok"}, (argv, body)
        assert not lib.listening(port), argv
    # The configuration the web server named is used, not the client's.
    p = subprocess.run([BIN, "--config", "/nonexistent"],
                       env={"GATEWAY_INTERFACE": "CGI/1.1", "REQUEST_METHOD": "GET",
                            "PATH_INFO": "/pat/v1/health", "PATGATE_CONFIG": "/nonexistent/x",
                            "PATH": "/usr/bin:/bin"}, capture_output=True, timeout=20)
    assert p.stdout.startswith(b"Status: 503"), p.stdout[:200]
    body = json.loads(p.stdout.partition(b"\r\n\r\n")[2])
    assert body["error"] == "unavailable" and "misconfigured" in body["message"], body
    assert b"/nonexistent/x" in p.stderr and b"/nonexistent/x" not in p.stdout






# ------------------------------------------------------------------ memory after large answers



def test_a_worker_gives_memory_back_after_large_lists():
    if lib.SANITIZED:
        raise lib.Skip("AddressSanitizer keeps freed memory in quarantine")
    email = unique_email("big")
    ident = id_token(email)
    sql("INSERT INTO pat (id, token_hmac, owner_email, owner_name, owner_groups, description, "
        "days, created_at, expires_at, updated_at, updated_by) "
        "SELECT gen_random_uuid(), sha256(gen_random_uuid()::text::bytea), '%s', 'Big', '{}', "
        "repeat('d', 200), 1, now(), now() + interval '1 day', now(), '%s' "
        "FROM generate_series(1, 500)" % (email, email))
    with Instance(workers=1) as inst:
        pid = inst.worker_pids()[0]
        inst.request({"SCRIPT_NAME": "/pat/v1/health"})
        base = lib.rss_kb(pid)
        for _ in range(20):
            r = inst.request({"SCRIPT_NAME": "/pat/v1", "HTTP_AUTHORIZATION": "Bearer " + ident},
                             timeout=30)
            assert r.status == 202 and len(r.json()) == 500
        assert len(r.body) > 100000
        after = lib.rss_kb(pid)
        lib.log("worker RSS %d KiB before, %d KiB after 20 lists of 500 (%d KiB each)"
                % (base, after, len(r.body) // 1024))
        assert after - base < 1024, (base, after)


def test_a_worker_that_only_creates_keeps_no_notifications():
    """Every change notifies every worker; a worker that only creates reads
    them while it waits for its INSERTs, and must not keep them queued until
    a check happens to look (a 20,000-row change once left 2 MB in each)."""
    if lib.SANITIZED:
        raise lib.Skip("AddressSanitizer keeps freed memory in quarantine")
    email = unique_email("quiet")
    ident = id_token(email)
    with Instance(workers=1) as inst:
        pid = inst.worker_pids()[0]

        def create(i):
            r = inst.request({"REQUEST_METHOD": "POST", "SCRIPT_NAME": "/pat/v1",
                              "CONTENT_TYPE": "application/json",
                              "HTTP_AUTHORIZATION": "Bearer " + ident},
                             b'{"days": 1, "description": "quiet %d"}' % i)
            assert r.status == 201, r

        for i in range(5):
            create(i)           # the code a create runs is in memory before base
        base = lib.rss_kb(pid)
        # 10,000 rows written elsewhere: 20,000 notifications to this worker.
        sql("INSERT INTO pat (id, token_hmac, owner_email, owner_name, owner_groups, "
            "description, days, created_at, expires_at, updated_at, updated_by) "
            "SELECT gen_random_uuid(), sha256(gen_random_uuid()::text::bytea), "
            "'elsewhere-' || g || '@example.com', 'E', '{}', 'elsewhere', 1, now(), "
            "now() + interval '1 day', now(), 'sql' FROM generate_series(1, 10000) g")
        for i in range(5, 25):
            create(i)
        after = lib.rss_kb(pid)
        sql("DELETE FROM pat WHERE description = 'elsewhere'")
        lib.log("worker RSS %d KiB before, %d KiB after 20,000 notifications heard "
                "by 20 creates" % (base, after))
        assert after - base < 768, (base, after)   # 1,436 KiB more when they were kept


# ------------------------------------------------------------------ one caller looping on lists

def test_a_caller_looping_on_lists_is_slowed_and_checks_are_not():
    tok, _, ident = new_pat()
    statuses, limited = [], None
    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        for r in pool.map(lambda i: request("GET", "/pat/v1", token=tok), range(240)):
            statuses.append(r.status)
            if r.status == 429:
                limited = r
    assert statuses.count(202) >= 30 and limited is not None, sorted(set(statuses))
    assert set(statuses) <= {202, 429}, sorted(set(statuses))
    assert limited.json()["error"] == "too_many_requests" and limited.header("Retry-After")
    # Checks are never counted against the caller, and the owner recovers.
    assert all(request("GET", "/pat/v1/verify", token=tok).status == 200 for _ in range(100))
    assert wait_for(lambda: request("GET", "/pat/v1", token=tok).status == 202, 5)
