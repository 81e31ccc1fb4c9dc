"""Issue 18's lifecycle through nginx: rotation with a grace period (also
under load, across the boundary), self, revocation by value, default_days,
inactive_days and the statuses, X-Pat-Expires-At, and rotating patgate's
own secret and pepper without a failed check.  Every bad input is refused
with its error and nothing written."""
import base64
import concurrent.futures
import json
import os
import shutil
import signal
import tempfile
import threading
import time

import lib
from lib import (CONFIG, VAR, Instance, claims, count_rows, id_token, new_pat, request, sql,
                 unique_email, wait_for)

TEAMS = "/access-token/v1/teams"


def _rotate(path, token, body=None, raw=None):
    if raw is not None:
        return request("POST", path, body=raw, headers={"Content-Type": "application/json"},
                       token=token)
    return request("POST", path, token=token, json_body=body) if body is not None else \
        request("POST", path, token=token)


def _audit(tid):
    return [r[0] for r in sql("SELECT event FROM audit WHERE token_id = '%s' ORDER BY id" % tid)]


def test_rotate_gives_a_successor_and_the_old_token_works_through_its_grace():
    old, oid, ident = new_pat(days=3, description="ci job")
    r = _rotate("/pat/v1/%s/rotate" % oid, ident, {"graceSeconds": 2})
    assert r.status == 201, r
    new = r.json()
    assert new["id"] != oid and new["description"] == "ci job" and new["days"] == 3, new
    c_old, c_new = claims(old), claims(new["token"])
    assert c_new["exp"] - c_new["iat"] == c_old["exp"] - c_old["iat"] == 3 * 86400
    assert c_new["email"] == c_old["email"] and c_new["sub"] == c_old["sub"]
    # Both work during the grace; then only the successor.
    assert request("GET", "/pat/v1/verify", token=old).status == 200
    assert request("GET", "/pat/v1/verify", token=new["token"]).status == 200
    assert wait_for(lambda: request("GET", "/pat/v1/verify", token=old).status == 401, 5)
    assert request("GET", "/pat/v1/verify", token=new["token"]).status == 200
    # Reuse after the grace is recorded, revokes nothing, and the list marks it.
    assert "reuse_after_rotation" in _audit(oid), _audit(oid)
    assert request("GET", "/pat/v1/verify", token=new["token"]).status == 200
    items = {i["id"]: i for i in request("GET", "/pat/v1", token=ident).json()}
    assert items[oid]["status"] == "rotated" and items[oid]["rotatedTo"] == new["id"], items[oid]
    assert items[oid]["reusedAfterRotationAt"] is not None
    assert items[new["id"]]["status"] == "active" and "rotatedTo" not in items[new["id"]]
    # Rotating a rotated token is 409; its successor rotates.
    r = _rotate("/pat/v1/%s/rotate" % oid, ident)
    assert r.status == 409 and r.json()["error"] == "already_rotated", r
    assert _rotate("/pat/v1/%s/rotate" % new["id"], ident).status == 201
    assert "rotated" in _audit(oid)


def test_rotation_input_rules_and_ownership():
    tok, tid, ident = new_pat()
    before = count_rows()
    path = "/pat/v1/%s/rotate" % tid
    for value in (-1, 86401, 1.5, "x", True, None, [1]):
        r = _rotate(path, ident, {"graceSeconds": value})
        assert r.status == 400 and r.json()["field"] == "graceSeconds", (value, r)
    for raw in ("{", "[]", '{"graceSeconds": 1, "graceSeconds": 2}', "null"):
        r = _rotate(path, ident, raw=raw)
        assert r.status == 400 and r.json()["error"] == "invalid_json", (raw, r)
    r = request("POST", path, body="graceSeconds=1", token=ident,
                headers={"Content-Type": "text/plain"})
    assert r.status == 415, r
    other = id_token()
    for p in (path, "/pat/v1/%s/rotate" % tid.upper(), "/pat/v1/not-a-uuid/rotate",
              "/pat/v1/00000000-0000-4000-8000-000000000000/rotate"):
        r = _rotate(p, other if p == path else ident)
        assert r.status == 404, (p, r)
    assert request("GET", path, token=ident).status == 405
    assert count_rows() == before
    assert _rotate(path, None).status == 401
    # A token rotates itself, even one that expires (its successor lives as long).
    short, sid, _ = new_pat(ident, days=1)
    r = _rotate("/pat/v1/%s/rotate" % sid, short, {"graceSeconds": 0})
    assert r.status == 201, r


def test_team_tokens_rotate_within_their_group():
    group = "rot-" + unique_email()[5:15]
    ident = id_token(groups=[group])
    r = request("POST", TEAMS, token=ident, json_body={"group": group, "days": 2,
                                                       "description": "team"})
    assert r.status == 201, r
    team_tok, team_id = r.json()["token"], r.json()["id"]
    assert _rotate("%s/%s/rotate" % (TEAMS, team_id), id_token(groups=["other"])).status == 404
    assert _rotate("/pat/v1/%s/rotate" % team_id, ident).status == 404
    r = _rotate("%s/%s/rotate" % (TEAMS, team_id), team_tok, {"graceSeconds": 60})
    assert r.status == 201 and r.json()["group"] == group, r
    assert claims(r.json()["token"])["sub"] == group + " (Team Token)"
    assert request("GET", "/pat/v1/verify", token=team_tok).status == 200      # in its grace


def test_self_shows_and_revokes_the_calling_token():
    tok, tid, ident = new_pat(days=2, description="me")
    r = request("GET", "/pat/v1/self", token=tok)
    assert r.status == 200 and r.json()["id"] == tid and r.json()["description"] == "me", r
    assert r.header("X-Pat-Expires-At") == r.json()["expiresAt"], r.headers
    r = request("GET", "/pat/v1/self", token=ident)
    assert r.status == 404, r
    assert request("GET", "/pat/v1/self").status == 401
    assert request("DELETE", "/pat/v1/self", token=tok).status == 202
    assert request("GET", "/pat/v1/verify", token=tok).status == 401
    assert "revoked" in _audit(tid)
    # A team token revokes itself too.
    group = "self-" + unique_email()[5:15]
    t = request("POST", TEAMS, token=id_token(groups=[group]),
                json_body={"group": group, "days": 1, "description": "t"}).json()["token"]
    assert request("GET", "/pat/v1/self", token=t).json()["group"] == group
    assert request("DELETE", "/pat/v1/self", token=t).status == 202
    assert request("GET", "/pat/v1/verify", token=t).status == 401


def test_revoke_by_value_needs_no_caller_and_reveals_nothing():
    toks = [new_pat()[0] for _ in range(3)]
    forged = lib.hs256({"iss": "Terrakube", "aud": ["Terrakube"], "jti": "x"})
    body = {"tokens": [toks[0], toks[1], "garbage", forged, toks[1]]}
    r = request("POST", "/pat/v1/revoke", json_body=body)
    assert r.status == 202 and r.body == b"", r
    assert request("GET", "/pat/v1/verify", token=toks[0]).status == 401
    assert request("GET", "/pat/v1/verify", token=toks[1]).status == 401
    assert request("GET", "/pat/v1/verify", token=toks[2]).status == 200
    rows = sql("SELECT actor, actor_via, addr FROM audit WHERE event = 'revoked' AND "
               "token_id = (SELECT id FROM pat WHERE token_hmac = decode('%s', 'hex'))"
               % lib.token_hmac(toks[0]))
    assert rows == [["reporter", "report", "127.0.0.1"]], rows
    # Nothing but garbage is the same 202.
    assert request("POST", "/pat/v1/revoke", json_body={"tokens": ["a", "b"]}).status == 202
    before = count_rows("revoked_at IS NOT NULL")
    for bad, field in (({"tokens": []}, "tokens"), ({"tokens": ["x"] * 101}, "tokens"),
                       ({"tokens": "x"}, "tokens"), ({"tokens": [1]}, "tokens"),
                       ({}, "tokens")):
        r = request("POST", "/pat/v1/revoke", json_body=bad)
        assert r.status == 400 and r.json()["field"] == field, (bad, r)
    assert request("POST", "/pat/v1/revoke", body="{", headers={
        "Content-Type": "application/json"}).json()["error"] == "invalid_json"
    assert count_rows("revoked_at IS NOT NULL") == before


def test_revoke_by_value_is_rate_limited_per_address():
    time.sleep(2)       # the bucket the test before drew from refills
    statuses = [request("POST", "/pat/v1/revoke", json_body={"tokens": ["x"]}).status
                for _ in range(80)]
    assert 429 in statuses and statuses.count(202) >= 4, statuses
    r = request("POST", "/pat/v1/revoke", json_body={"tokens": ["x"]})
    assert r.status == 429 and r.json()["error"] == "too_many_requests" and \
        r.header("Retry-After"), r
    assert wait_for(lambda: request("POST", "/pat/v1/revoke",
                                    json_body={"tokens": ["x"]}).status == 202, 5)


def test_expires_at_header_on_every_authenticated_answer():
    tok, tid, ident = new_pat(days=5)
    exp = request("GET", "/pat/v1/verify", token=tok)
    want = exp.json()["expiresAt"]
    assert exp.header("X-Pat-Expires-At") == want
    for method, path in (("GET", "/pat/v1"), ("GET", "/pat/v1/" + tid), ("GET", TEAMS)):
        r = request(method, path, token=tok)
        assert r.header("X-Pat-Expires-At") == want, (path, r.headers)
    # Not for a token that never expires, nor for an identity token.
    forever, _, _ = new_pat(ident, days=0)
    assert request("GET", "/pat/v1/verify", token=forever).header("X-Pat-Expires-At") is None
    assert request("GET", "/pat/v1", token=ident).header("X-Pat-Expires-At") is None


def _private(env, workers=1):
    return Instance(workers=workers, env=env)


def _create(inst, ident, body):
    return inst.request({"REQUEST_METHOD": "POST", "SCRIPT_NAME": "/pat/v1",
                         "CONTENT_TYPE": "application/json",
                         "HTTP_AUTHORIZATION": "Bearer " + ident}, json.dumps(body).encode())


def test_default_days_and_inactive_days():
    ident = id_token()
    with _private({"PATGATE_DEFAULT_DAYS": "7", "PATGATE_INACTIVE_DAYS": "30"}) as inst:
        r = _create(inst, ident, {"description": "no days"})
        assert r.status == 201 and r.json()["days"] == 7, r
        c = claims(r.json()["token"])
        assert c["exp"] - c["iat"] == 7 * 86400
        tok, tid = r.json()["token"], r.json()["id"]
        verify = {"SCRIPT_NAME": "/pat/v1/verify", "HTTP_AUTHORIZATION": "Bearer " + tok}
        assert inst.request(verify).status == 200
        # Unused for longer than inactive_days: it stops, and the list says why.
        sql("UPDATE pat SET created_at = now() - interval '40 days', "
            "expires_at = now() + interval '1 day', last_used_at = now() - interval '31 days' "
            "WHERE id = '%s'" % tid)
        assert inst.request(verify).status == 401
        last = sql("SELECT last_used_at < now() - interval '30 days' FROM pat WHERE id = '%s'"
                   % tid)
        assert last == [["t"]], "a refused check must not count as a use"
        items = inst.request({"SCRIPT_NAME": "/pat/v1",
                              "HTTP_AUTHORIZATION": "Bearer " + ident}).json()
        assert [i["status"] for i in items if i["id"] == tid] == ["inactive"], items
    with _private({}) as inst:
        r = _create(inst, ident, {"description": "no days"})
        assert r.status == 400 and r.json()["field"] == "days", r
    # default_days above max_days stops start-up with the key named.
    p = lib.subprocess.run([lib.BIN, "--config", CONFIG, "--check-config"], capture_output=True,
                           text=True, env=dict(os.environ, PATGATE_DEFAULT_DAYS="40",
                                               PATGATE_MAX_DAYS="30"))
    assert p.returncode != 0 and "default_days" in p.stderr, p.stderr


# ------------------------------------------------------------------ under load

def test_rotation_under_load_every_answer_on_the_right_side_of_the_grace():
    """Verifies of the old and the new token run while the grace runs out:
    the old one must be 200 before grace_until and 401 after (allowing the
    requests in flight at the boundary), the new one 200 throughout."""
    old, oid, ident = new_pat(days=1)
    r = _rotate("/pat/v1/%s/rotate" % oid, ident, {"graceSeconds": 2})
    new = r.json()["token"]
    grace = float(sql("SELECT extract(epoch FROM grace_until) FROM pat WHERE id = '%s'"
                      % oid)[0][0])
    results, stop = [], threading.Event()

    def loop():
        while not stop.is_set():
            for tok, kind in ((old, "old"), (new, "new")):
                t0 = time.time()
                st = request("GET", "/pat/v1/verify", token=tok).status
                results.append((kind, t0, time.time(), st))

    threads = [threading.Thread(target=loop) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(max(0.0, grace - time.time()) + 1.0)
    stop.set()
    for t in threads:
        t.join()
    before = [r for r in results if r[0] == "old" and r[2] < grace]
    after = [r for r in results if r[0] == "old" and r[1] > grace]
    wrong = [r for r in before if r[3] != 200] + [r for r in after if r[3] != 401]
    news = [r for r in results if r[0] == "new"]
    lib.log("rotation under load: old token %d answers before the grace ran out (%d ok), "
            "%d after (%d refused), %d across it; new token %d answers, %d ok"
            % (len(before), sum(r[3] == 200 for r in before), len(after),
               sum(r[3] == 401 for r in after), len(results) - len(news) - len(before) -
               len(after), len(news), sum(r[3] == 200 for r in news)))
    assert before and after and not wrong, wrong[:5]
    assert all(r[3] == 200 for r in news)


def _key_file(path, raw):
    with open(path, "w") as f:
        f.write(base64.urlsafe_b64encode(raw).decode().rstrip("="))
    os.chmod(path, 0o600)


def test_rotating_the_pepper_and_the_secret_under_load_fails_no_check():
    tmp = tempfile.mkdtemp(prefix="patgate-keys-")
    os.chmod(tmp, 0o755)
    try:
        secret, pepper = os.path.join(tmp, "secret"), os.path.join(tmp, "pepper")
        shutil.copy(os.path.join(VAR, "keys", "pat-secret"), secret)
        shutil.copy(os.path.join(VAR, "keys", "pepper"), pepper)
        os.chmod(secret, 0o600)
        os.chmod(pepper, 0o600)
        lines = [line for line in open(CONFIG).read().splitlines()
                 if not line.startswith(("secret_file", "pepper_file"))]
        conf = os.path.join(tmp, "patgate.conf")

        def write(extra):
            with open(conf, "w") as f:
                f.write("\n".join(lines + extra) + "\n")
            os.chmod(conf, 0o600)

        write(["secret_file = " + secret, "pepper_file = " + pepper])
        inst = Instance(workers=2, config_text=open(conf).read())
        try:
            with open(inst.config, "w") as f:
                f.write(open(conf).read())
            ident = id_token()
            toks = [_create(inst, ident, {"days": 1, "description": "k%d" % i}).json()["token"]
                    for i in range(20)]
            results, stop = [], threading.Event()

            def loop(i):
                while not stop.is_set():
                    tok = toks[(i * 7 + len(results)) % len(toks)]
                    results.append(inst.request({"SCRIPT_NAME": "/pat/v1/verify",
                                                 "HTTP_AUTHORIZATION": "Bearer " + tok}).status)

            threads = [threading.Thread(target=loop, args=(i,)) for i in range(4)]
            for t in threads:
                t.start()
            time.sleep(0.5)
            # New secret and pepper; the old ones listed as previous.
            _key_file(os.path.join(tmp, "secret2"), os.urandom(48))
            _key_file(os.path.join(tmp, "pepper2"), os.urandom(32))
            with open(inst.config, "w") as f:
                f.write("\n".join(lines + [
                    "secret_file = " + os.path.join(tmp, "secret2"),
                    "pepper_file = " + os.path.join(tmp, "pepper2"),
                    "previous_secret_files = " + secret,
                    "previous_pepper_files = " + pepper]) + "\n")
            os.kill(inst.proc.pid, signal.SIGHUP)
            time.sleep(3)
            stop.set()
            for t in threads:
                t.join()
            lib.log("pepper and secret rotated under load: %d checks, %d not 200"
                    % (len(results), sum(s != 200 for s in results)))
            assert results and all(s == 200 for s in results), sorted(set(results))
            # New tokens are signed with the new secret; old ones still pass.
            t = _create(inst, ident, {"days": 1, "description": "after"}).json()["token"]
            assert inst.request({"SCRIPT_NAME": "/pat/v1/verify",
                                 "HTTP_AUTHORIZATION": "Bearer " + t}).status == 200
            assert inst.request({"SCRIPT_NAME": "/pat/v1/verify",
                                 "HTTP_AUTHORIZATION": "Bearer " + toks[0]}).status == 200
        finally:
            inst.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_a_row_found_under_an_old_pepper_is_rekeyed_to_the_current_one():
    """Not at once: the previous generation's workers may still be finishing
    (the supervisor's drain), so a worker re-keys after 35 s of life."""
    tmp = tempfile.mkdtemp(prefix="patgate-pepper-")
    os.chmod(tmp, 0o755)
    try:
        tok, tid, _ = new_pat()
        old_hmac = lib.token_hmac(tok)
        new_pepper = os.urandom(32)
        _key_file(os.path.join(tmp, "pepper2"), new_pepper)
        env = {"PATGATE_PEPPER_FILE": os.path.join(tmp, "pepper2"),
               "PATGATE_PREVIOUS_PEPPER_FILES": os.path.join(VAR, "keys", "pepper")}
        with Instance(workers=1, env=env) as inst:
            start = time.monotonic()
            verify = {"SCRIPT_NAME": "/pat/v1/verify", "HTTP_AUTHORIZATION": "Bearer " + tok}
            assert inst.request(verify).status == 200
            stored = sql("SELECT encode(token_hmac, 'hex') FROM pat WHERE id = '%s'" % tid)
            assert stored == [[old_hmac]], "re-keyed too early"
            time.sleep(max(0.0, 36 - (time.monotonic() - start)))
            assert inst.request(verify).status == 200
            want = lib.hmac.new(new_pepper, tok.encode(), lib.hashlib.sha256).hexdigest()
            assert sql("SELECT encode(token_hmac, 'hex') FROM pat WHERE id = '%s'" % tid) == \
                [[want]]
            assert inst.request(verify).status == 200
            assert "event=rekeyed id=" + tid in inst.read_log()
        # The devstack's workers know only the old pepper now: the row is theirs no more.
        assert request("GET", "/pat/v1/verify", token=tok).status == 401
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ------------------------------------------------------------------ expiry notices

ADMIN = os.path.join(os.path.dirname(lib.BIN), "patgate-admin")
MAILER = os.path.join(lib.ROOT, "conf", "expiry-notice-mail")


def _notify(tmp, command, extra_env=None):
    env = dict(os.environ, PATH=tmp + ":" + os.environ["PATH"],
               PATGATE_EXPIRY_NOTICE_COMMAND=command, PATGATE_EXPIRY_NOTICE_DAYS="30,7,1",
               **(extra_env or {}))
    return lib.subprocess.Popen([ADMIN, "--config", CONFIG, "notify", "--json"], env=env,
                                stdout=lib.subprocess.PIPE, stderr=lib.subprocess.PIPE,
                                text=True)


def _fake_sendmail(tmp):
    """A sendmail that records each mail it is given, one file each."""
    path = os.path.join(tmp, "sendmail")
    with open(path, "w") as f:
        f.write('#!/bin/sh\nf=$(mktemp "%s/mail.XXXXXX")\ncat > "$f"\n' % tmp)
    os.chmod(path, 0o755)


def _mails(tmp):
    out = []
    for name in sorted(os.listdir(tmp)):
        if name.startswith("mail."):
            with open(os.path.join(tmp, name)) as f:
                out.append(f.read())
    return out


def test_expiry_notices_are_sent_once_each_even_by_overlapping_runs():
    tmp = tempfile.mkdtemp(prefix="patgate-notice-")
    try:
        _fake_sendmail(tmp)
        # Start from a clean slate: notices only for this test's tokens.
        sql("INSERT INTO expiry_notice (token_id, window_days) SELECT id, w FROM pat, "
            "unnest(ARRAY[30, 7, 1]) AS w WHERE revoked_at IS NULL AND expires_at > now() "
            "ON CONFLICT DO NOTHING")
        email = unique_email("notice")
        ident = id_token(email, "Nora")
        soon, soon_id, _ = new_pat(ident, days=1, description="soon")
        sql("UPDATE pat SET expires_at = now() + interval '12 hours' WHERE id = '%s'"
            % soon_id)
        week, week_id, _ = new_pat(ident, days=5, description="this week")
        later, later_id, _ = new_pat(ident, days=90, description="not yet")
        runs = [_notify(tmp, MAILER) for _ in range(4)]
        outs = [p.communicate(timeout=60) for p in runs]
        assert all(p.returncode == 0 for p in runs), outs
        sent = [n for out, _ in outs for n in json.loads(out)]
        ids = sorted((n["tokenId"], n["window"]) for n in sent)
        assert ids == sorted([(soon_id, 1), (week_id, 7)]), ids
        mails = _mails(tmp)
        assert len(mails) == 2, mails
        assert all(("To: %s" % email) in m for m in mails), mails
        assert any('"soon"' in m and soon_id in m for m in mails)
        # Nothing again on the next run, until the next window comes.
        p = _notify(tmp, MAILER)
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0 and json.loads(out) == [], (out, err)
        sql("UPDATE pat SET expires_at = now() + interval '20 hours' WHERE id = '%s'" % week_id)
        p = _notify(tmp, MAILER)
        out, _ = p.communicate(timeout=60)
        assert [(n["tokenId"], n["window"]) for n in json.loads(out)] == [(week_id, 1)]
        assert later_id not in "".join(_mails(tmp))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_an_expiry_notice_that_fails_is_tried_again():
    tmp = tempfile.mkdtemp(prefix="patgate-notice-")
    try:
        _fake_sendmail(tmp)
        sql("INSERT INTO expiry_notice (token_id, window_days) SELECT id, w FROM pat, "
            "unnest(ARRAY[30, 7, 1]) AS w WHERE revoked_at IS NULL AND expires_at > now() "
            "ON CONFLICT DO NOTHING")
        _, tid, _ = new_pat(days=3, description="flaky mail")
        p = _notify(tmp, "cat > /dev/null; exit 1")
        out, err = p.communicate(timeout=60)
        assert p.returncode == 1 and json.loads(out)[0]["sent"] is False, (out, err)
        assert "expiry_notice_failed" in err
        p = _notify(tmp, MAILER)
        out, _ = p.communicate(timeout=60)
        assert p.returncode == 0 and [n["tokenId"] for n in json.loads(out)] == [tid]
        assert len(_mails(tmp)) == 1
        # Without a command or a webhook, notify says what is missing.
        p = lib.subprocess.run([ADMIN, "--config", CONFIG, "notify"], capture_output=True,
                               text=True)
        assert p.returncode == 1 and "expiry_notice_command" in p.stderr, p.stderr
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
