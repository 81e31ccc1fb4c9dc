"""The audit trail (issue 17): GET /pat/v1/audit as each caller sees it; every
revoke, through the API, the admin tool or an operator's own SQL, is exactly
one audit row and one notification on patgate_token; and patgate-admin's
list, revoke, purge and audit, in a table and in JSON, with their exit
statuses, even with a configuration whose secret files are missing."""
import json
import os
import re
import signal
import subprocess
import tempfile
import time
import uuid

import lib
from lib import Instance, id_token, new_pat, request, unique_email

ADMIN = os.path.join(os.path.dirname(lib.BIN), "patgate-admin")
TEAMS = "/access-token/v1/teams"
NOTIFY_RE = r'Asynchronous notification "%s" with payload "([^"]*)" received'


def _group(tag="g"):
    return "%s-%s" % (tag, uuid.uuid4().hex[:10])


def admin(*args, config=lib.CONFIG, env=None, timeout=60):
    """Run patgate-admin with the devstack config; the result has returncode, stdout, stderr."""
    if not os.access(ADMIN, os.X_OK):
        raise AssertionError("no %s: build it (make -C %s)" % (ADMIN, os.path.dirname(ADMIN)))
    cmd = [ADMIN] + (["--config", config] if config else []) + list(args)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ, **(env or {})))


def audit_count(token_id, event=None):
    where = "token_id = '%s'" % token_id + (" AND event = '%s'" % event if event else "")
    return int(lib.sql("SELECT count(*) FROM audit WHERE " + where)[0][0])


def audit_total():
    return int(lib.sql("SELECT count(*) FROM audit")[0][0])


def new_team_token(ident, group, days=1):
    r = request("POST", TEAMS, token=ident, json_body={"group": group, "days": days,
                                                       "description": "audit e2e"})
    assert r.status == 201, r
    return r.json()["token"], r.json()["id"]


class Listener:
    """A psql session that LISTENs on patgate_token while changes happen.

    psql prints "Asynchronous notification ... received" after the next
    command it runs, so stop() runs a last one (after a moment for the
    notifications in flight) and reads everything psql printed.  The
    session is bounded: it is killed, by its process group, after 60 s.
    """

    def __init__(self, channel="patgate_token"):
        self.channel = channel
        self.name = "patgate-e2e-listen-" + uuid.uuid4().hex[:8]
        self.proc = subprocess.Popen([os.path.join(lib.ROOT, "devstack"), "psql"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True,
                                     env=dict(os.environ, PGAPPNAME=self.name),
                                     start_new_session=True)
        self.proc.stdin.write("LISTEN %s;\n" % channel)
        self.proc.stdin.flush()
        # Listening once its session has run LISTEN and waits for more.
        ok = lib.wait_for(lambda: lib.sql(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = '%s' "
            "AND state = 'idle' AND query ILIKE 'LISTEN%%'" % self.name)[0][0] == "1", 15)
        if not ok:
            self.kill()
            raise AssertionError("the LISTEN session did not start")

    def kill(self):
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()

    def stop(self):
        """Every payload received, in order."""
        try:
            out, err = self.proc.communicate("SELECT pg_sleep(0.5);\nSELECT 1;\n\\q\n", timeout=60)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("the LISTEN session did not end in 60 s")
        assert self.proc.returncode == 0, err
        return re.findall(NOTIFY_RE % self.channel, out)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.kill()


def exactly_once(payloads, event, ids):
    for i in ids:
        n = payloads.count("%s:%s" % (event, i))
        assert n == 1, "%s:%s came %d times in %r" % (event, i, n, payloads)


# ------------------------------------------------------------------ GET /pat/v1/audit

def test_audit_shows_the_callers_own_events_newest_first_paged():
    email = unique_email("alice")
    alice = id_token(email)
    ids = [new_pat(alice, days=1)[1] for _ in range(3)]
    assert request("DELETE", "/pat/v1/" + ids[1], token=alice).status == 202
    r = request("GET", "/pat/v1/audit", token=alice)
    assert r.status == 200, r
    assert r.header("Content-Type").startswith("application/json"), r.headers
    events = r.json()
    assert [(e["event"], e["tokenId"]) for e in events] == \
        [("revoked", ids[1]), ("created", ids[2]), ("created", ids[1]), ("created", ids[0])], events
    assert [e["id"] for e in events] == sorted((e["id"] for e in events), reverse=True)
    for e in events:
        assert e["owner"] == email and e["ownerKind"] == "user" and e["actor"] == email, e
        assert e["actorVia"] == "oidc" and e["address"] == "127.0.0.1", e
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", e["at"]), e
        assert e["requestId"], e

    # Paged by before=<id>: the pages together are the whole, in order.
    pages, before = [], None
    while True:
        q = "/pat/v1/audit?limit=2" + ("&before=%d" % before if before else "")
        page = request("GET", q, token=alice).json()
        assert len(page) <= 2
        if not page:
            break
        pages += page
        before = page[-1]["id"]
    assert pages == events
    assert request("GET", "/pat/v1/audit?limit=1", token=alice).json() == events[:1]
    assert request("GET", "/pat/v1/audit?before=%d" % events[0]["id"],
                   token=alice).json() == events[1:]


def test_audit_never_shows_another_callers_events():
    alice, bob = id_token(unique_email("alice")), id_token(unique_email("bob"))
    _, aid, _ = new_pat(alice, days=1)
    _, bid, _ = new_pat(bob, days=1)
    # bob tries alice's token: 404, and no event of it for anyone.
    assert request("DELETE", "/pat/v1/" + aid, token=bob).status == 404
    for ident, mine, theirs in ((alice, aid, bid), (bob, bid, aid)):
        events = request("GET", "/pat/v1/audit?limit=500", token=ident).json()
        assert [e["tokenId"] for e in events] == [mine], events
    # A PAT sees its owner's trail; a team token sees its group's, not its creator's.
    g = _group("aud")
    carol = id_token(unique_email("carol"), groups=[g])
    pat, pid, _ = new_pat(carol, days=1)
    team, tid = new_team_token(carol, g)
    by_pat = request("GET", "/pat/v1/audit", token=pat).json()
    assert [e["tokenId"] for e in by_pat] == [pid], by_pat
    by_team = request("GET", "/pat/v1/audit", token=team).json()
    assert [(e["tokenId"], e["ownerKind"], e["owner"]) for e in by_team] == [(tid, "team", g)], by_team


def test_audit_shows_a_refusal_at_the_cap():
    with Instance(workers=1, env={"PATGATE_MAX_TOKENS_PER_USER": "1"}) as inst:
        ident = id_token(unique_email("capped"))

        def call(method, path, body=None, query=None):
            params = {"REQUEST_METHOD": method, "SCRIPT_NAME": path,
                      "HTTP_AUTHORIZATION": "Bearer " + ident}
            if body is not None:
                params["CONTENT_TYPE"] = "application/json"
            if query is not None:
                params["QUERY_STRING"] = query
            return inst.request(params, json.dumps(body).encode() if body else b"")

        assert call("POST", "/pat/v1", {"days": 1, "description": "one"}).status == 201
        before = lib.count_rows()
        r = call("POST", "/pat/v1", {"days": 1, "description": "two"})
        assert r.status == 409 and json.loads(r.body)["error"] == "limit_reached", r
        assert lib.count_rows() == before
        events = json.loads(call("GET", "/pat/v1/audit").body)
        assert [(e["event"], e["tokenId"]) for e in events][:1] == [("refused_at_cap", None)], events
        assert [e["event"] for e in events] == ["refused_at_cap", "created"], events
        assert "event=refused_at_cap" in inst.read_log()


def test_audit_bad_limit_or_before_is_400_and_writes_nothing():
    alice = id_token(unique_email("alice"))
    new_pat(alice, days=1)
    total, rows = audit_total(), lib.count_rows()
    for query, field in (("limit=0", "limit"), ("limit=501", "limit"), ("limit=abc", "limit"),
                         ("limit=", "limit"), ("limit=-1", "limit"), ("limit=1.5", "limit"),
                         ("limit=%2B5", "limit"), ("limit=1&limit=2", "limit"),
                         ("limit=99999999999999999999", "limit"),
                         ("before=0", "before"), ("before=-5", "before"), ("before=x", "before"),
                         ("before=", "before"), ("before=1&before=2", "before"),
                         ("before=99999999999999999999", "before"),
                         ("before=9999999999999999999", "before"),
                         ("limit=10&before=abc", "before")):
        r = request("GET", "/pat/v1/audit?" + query, token=alice)
        assert r.status == 400, (query, r)
        body = r.json()
        assert body["error"] == "invalid_field" and body["field"] == field and body["message"], \
            (query, body)
    assert audit_total() == total and lib.count_rows() == rows
    # The largest before there is, and the largest limit, are fine.
    assert request("GET", "/pat/v1/audit?before=9223372036854775807&limit=500",
                   token=alice).status == 200


def test_audit_without_a_caller_is_401():
    r = request("GET", "/pat/v1/audit")
    assert r.status == 401 and r.json()["error"] == "unauthorized", r
    assert r.header("WWW-Authenticate").startswith("Bearer"), r.headers
    r = request("GET", "/pat/v1/audit", token="not-a-token")
    assert r.status == 401, r
    assert request("POST", "/pat/v1/audit", token=id_token()).status == 405


# ------------------------------------------------------------------ one row, one notification

def test_every_revoke_is_one_audit_row_and_one_notification():
    g = _group("rev")
    owner = unique_email("owner")
    member = id_token(owner, groups=[g])
    _, pat_id, _ = new_pat(member, days=1)
    _, team_id = new_team_token(member, g)
    _, again_id, _ = new_pat(member, days=1)
    _, by_id, _ = new_pat(member, days=1)
    leaver = unique_email("leaver")
    user_ids = [new_pat(id_token(leaver), days=1)[1] for _ in range(2)]
    g2 = _group("gone")
    team_ids = [new_team_token(id_token(groups=[g2]), g2)[1] for _ in range(2)]
    _, sql_id, _ = new_pat(member, days=1)
    _, purge_id, _ = new_pat(member, days=1)
    # An expired token, long ago; its age is not itself an event.
    lib.sql("UPDATE pat SET created_at = now() - interval '50 days', "
            "expires_at = now() - interval '40 days' WHERE id = '%s'" % purge_id)
    counted = [pat_id, team_id, again_id, by_id, sql_id, purge_id] + user_ids + team_ids
    before = {i: audit_count(i) for i in counted}

    with Listener() as listen:
        assert request("DELETE", "/pat/v1/" + pat_id, token=member).status == 202
        assert request("DELETE", TEAMS + "/" + team_id, token=member).status == 202
        for _ in range(2):      # the second is an event again
            assert request("DELETE", "/pat/v1/" + again_id, token=member).status == 202
        r = admin("revoke", by_id)
        assert r.returncode == 0 and r.stdout == "revoked %s\n" % by_id, r
        r = admin("revoke", "--user", leaver)
        assert r.returncode == 0, r
        assert sorted(r.stdout.splitlines()) == sorted("revoked %s user %s" % (i, leaver)
                                                       for i in user_ids), r.stdout
        r = admin("revoke", "--group", g2)
        assert r.returncode == 0, r
        assert sorted(r.stdout.splitlines()) == sorted("revoked %s team %s" % (i, g2)
                                                       for i in team_ids), r.stdout
        lib.sql("UPDATE pat SET revoked_at = now() WHERE id = '%s'" % sql_id)
        r = admin("purge", "--older-than", "30")
        assert r.returncode == 0 and "purged %s user %s" % (purge_id, owner) in r.stdout, r
        payloads = listen.stop()

    revoked = [pat_id, team_id, by_id, sql_id] + user_ids + team_ids
    exactly_once(payloads, "revoked", revoked)
    exactly_once(payloads, "purged", [purge_id])
    assert payloads.count("revoked:" + again_id) == 2, payloads
    mine = [p for p in payloads if p.split(":", 1)[1] in counted]
    assert len(mine) == len(revoked) + 2 + 1, mine
    for i in revoked + [purge_id]:
        assert audit_count(i) == before[i] + 1, i
    assert audit_count(again_id) == before[again_id] + 2
    assert audit_count(purge_id, "purged") == 1 and lib.count_rows("id = '%s'" % purge_id) == 0

    # Who did each, as the trail names them.
    def last(i):
        return lib.sql("SELECT actor, actor_via, event FROM audit WHERE token_id = '%s' "
                       "ORDER BY id DESC LIMIT 1" % i)[0]
    me = admin_user()
    assert last(pat_id) == [owner, "oidc", "revoked"]
    assert last(team_id) == [owner, "oidc", "revoked"]
    for i in [by_id] + user_ids + team_ids:
        assert last(i) == [me, "admin", "revoked"], (i, last(i))
    assert last(purge_id) == [me, "admin", "purged"]
    assert last(sql_id) == ["postgres", "sql", "revoked"]
    # The revoked stop working at the edge at once.
    assert request("GET", "/pat/v1/" + pat_id, token=member).status == 404


def admin_user():
    import pwd
    return pwd.getpwuid(os.getuid()).pw_name


def test_an_operators_own_sql_update_is_one_row_and_one_notification():
    tok, tid, ident = new_pat(days=1)
    before = audit_count(tid)
    with Listener() as listen:
        lib.sql("UPDATE pat SET revoked_at = now() WHERE id = '%s'" % tid)
        payloads = listen.stop()
    exactly_once(payloads, "revoked", [tid])
    assert audit_count(tid) == before + 1
    row = lib.sql("SELECT event, actor, actor_via, addr IS NULL, request_id IS NULL FROM audit "
                  "WHERE token_id = '%s' ORDER BY id DESC LIMIT 1" % tid)[0]
    assert row == ["revoked", "postgres", "sql", "t", "t"], row
    r = request("GET", "/pat/v1/verify", token=tok)
    assert r.status == 401, r
    # The owner sees it in their trail.
    events = request("GET", "/pat/v1/audit", token=ident).json()
    assert (events[0]["event"], events[0]["actorVia"]) == ("revoked", "sql"), events
    # Made valid again by hand: one row and one notification too, and it works again.
    with Listener() as listen:
        lib.sql("UPDATE pat SET revoked_at = NULL WHERE id = '%s'" % tid)
        lib.sql("UPDATE pat SET description = 'renamed' WHERE id = '%s'" % tid)
        payloads = listen.stop()
    assert [p for p in payloads if p.endswith(tid)] == ["restored:" + tid], payloads
    assert audit_count(tid) == before + 2 and audit_count(tid, "restored") == 1
    assert request("GET", "/pat/v1/verify", token=tok).status == 200


# ------------------------------------------------------------------ patgate-admin

def test_admin_list_table_and_json():
    g = _group("lst")
    alice = unique_email("alice")
    ident = id_token(alice, groups=[g])
    _, live, _ = new_pat(ident, days=1, description="the live one")
    _, gone, _ = new_pat(ident, days=1, description="the revoked one")
    _, old, _ = new_pat(ident, days=1, description="the expired one")
    _, team = new_team_token(ident, g)
    assert request("DELETE", "/pat/v1/" + gone, token=ident).status == 202
    lib.sql("UPDATE pat SET created_at = now() - interval '3 days', expires_at = now() - "
            "interval '1 day' WHERE id = '%s'" % old)

    r = admin("list", "--user", alice)
    assert r.returncode == 0, r
    lines = r.stdout.splitlines()
    assert re.match(r"^ID +KIND +OWNER +STATE +CREATED +EXPIRES +LAST USED +DESCRIPTION$",
                    lines[0]), lines[0]
    assert len(lines) == 4, lines
    by_id = {l.split()[0]: l for l in lines[1:]}
    assert set(by_id) == {live, gone, old}
    assert by_id[live].split()[1:4] == ["user", alice, "active"] and \
        by_id[live].endswith("the live one")
    assert by_id[gone].split()[3] == "revoked" and by_id[old].split()[3] == "expired"
    # The columns line up under their heads.
    col = lines[0].index("STATE")
    assert all(l[col:].split()[0] in ("active", "revoked", "expired") for l in lines[1:])

    r = admin("list", "--user", alice, "--json")
    assert r.returncode == 0, r
    items = json.loads(r.stdout)
    assert [i["id"] for i in items] == [gone, live, old], items   # newest first
    assert {i["id"]: i["status"] for i in items} == {live: "active", gone: "revoked",
                                                     old: "expired"}
    i = next(i for i in items if i["id"] == live)
    assert i["kind"] == "user" and i["owner"] == alice and i["group"] is None and \
        i["createdBy"] == alice and i["description"] == "the live one" and i["days"] == 1, i
    assert i["lastUsedAt"] is None and i["expiresAt"].endswith("Z"), i
    for state, want in (("active", [live]), ("revoked", [gone]), ("expired", [old])):
        r = admin("list", "--user", alice, "--state", state, "--json")
        assert [x["id"] for x in json.loads(r.stdout)] == want, (state, r.stdout)
    # Not used in the last 2 days: only the one made 3 days ago.
    r = admin("list", "--user", alice, "--unused-days", "2", "--json")
    assert [x["id"] for x in json.loads(r.stdout)] == [old], r.stdout

    # Rotated (it has a successor), and inactive (unused for inactive_days), as the API says.
    _, idle, _ = new_pat(ident, days=30, description="the idle one")
    lib.sql("UPDATE pat SET created_at = now() - interval '5 days' WHERE id = '%s'" % idle)
    _, rot, _ = new_pat(ident, days=1, description="the rotated one")
    r = request("POST", "/pat/v1/%s/rotate" % rot, token=ident, json_body={"graceSeconds": 60})
    assert r.status == 201, r
    succ = r.json()["id"]
    r = admin("list", "--user", alice, "--state", "rotated", "--json")
    items = json.loads(r.stdout)
    assert [(x["id"], x["status"], x["rotatedTo"]) for x in items] == [(rot, "rotated", succ)], items
    assert "graceUntil" in items[0]
    r = admin("list", "--user", alice, "--state", "inactive", env={"PATGATE_INACTIVE_DAYS": "2"})
    assert r.returncode == 0 and [l.split()[0] for l in r.stdout.splitlines()[1:]] == [idle], r
    r = admin("list", "--user", alice, "--state", "inactive")     # inactive_days is off
    assert r.returncode == 3, r
    api = {i["id"]: i["status"] for i in request("GET", "/pat/v1", token=ident).json()}
    mine = {i["id"]: i["status"] for i in json.loads(admin("list", "--user", alice,
                                                           "--json").stdout)}
    assert all(mine[i] == api[i] for i in api), (api, mine)

    r = admin("list", "--group", g, "--json")
    assert r.returncode == 0, r
    items = json.loads(r.stdout)
    assert [(x["id"], x["kind"], x["owner"], x["group"], x["createdBy"]) for x in items] == \
        [(team, "team", g, g, alice)], items
    r = admin("list", "--group", g)
    assert r.returncode == 0 and team in r.stdout and " team " in r.stdout, r

    # Nothing matched: 3, a message, and in JSON an empty array.
    r = admin("list", "--user", unique_email("nobody"))
    assert r.returncode == 3 and r.stdout == "" and "no token" in r.stderr, r
    r = admin("list", "--user", unique_email("nobody"), "--json")
    assert r.returncode == 3 and json.loads(r.stdout) == [], r


def test_admin_audit_table_and_json():
    alice = unique_email("alice")
    ident = id_token(alice)
    _, tid, _ = new_pat(ident, days=1)
    assert request("DELETE", "/pat/v1/" + tid, token=ident).status == 202
    assert admin("revoke", tid).returncode == 0

    r = admin("audit", "--token", tid, "--json")
    assert r.returncode == 0, r
    events = json.loads(r.stdout)
    assert [(e["event"], e["actorVia"]) for e in events] == \
        [("revoked", "admin"), ("revoked", "oidc"), ("created", "oidc")], events
    assert all(e["tokenId"] == tid and e["owner"] == alice for e in events), events
    assert events[0]["actor"] == admin_user() and events[2]["address"] == "127.0.0.1"
    # The API's trail is the same events.
    api = request("GET", "/pat/v1/audit", token=ident).json()
    assert api == events, (api, events)

    r = admin("audit", "--user", alice)
    assert r.returncode == 0, r
    lines = r.stdout.splitlines()
    assert re.match(r"^ID +AT +EVENT +TOKEN +KIND +OWNER +ACTOR +VIA +ADDRESS$", lines[0]), lines
    assert [l.split()[2] for l in lines[1:]] == ["revoked", "revoked", "created"], lines
    assert lines[1].split()[7] == "admin" and lines[1].split()[8] == "-", lines[1]
    assert lines[3].split()[8] == "127.0.0.1", lines[3]
    r = admin("audit", "--user", alice, "--limit", "1", "--json")
    assert len(json.loads(r.stdout)) == 1 and json.loads(r.stdout)[0]["id"] == events[0]["id"]

    g = _group("aud")
    _, team = new_team_token(id_token(groups=[g]), g)
    r = admin("audit", "--group", g, "--json")
    assert [(e["event"], e["tokenId"], e["ownerKind"]) for e in json.loads(r.stdout)] == \
        [("created", team, "team")], r.stdout

    r = admin("audit", "--token", str(uuid.uuid4()))
    assert r.returncode == 3 and "no event" in r.stderr, r
    r = admin("audit", "--user", unique_email("nobody"), "--json")
    assert r.returncode == 3 and json.loads(r.stdout) == [], r


def test_admin_revoke_and_purge_outputs_and_statuses():
    alice = unique_email("alice")
    ident = id_token(alice)
    tok, tid, _ = new_pat(ident, days=1)
    r = admin("revoke", tid)
    assert r.returncode == 0 and r.stdout == "revoked %s\n" % tid, r
    # One key=value line per event on stderr, naming the token and the actor.
    lines = [l for l in r.stderr.splitlines() if "event=revoked" in l]
    assert len(lines) == 1 and "id=%s" % tid in lines[0] and "actor_via=admin" in lines[0], r.stderr
    assert re.match(r"^ts=\S+ level=info pid=\d+ event=revoked ", lines[0]), lines[0]
    assert request("GET", "/pat/v1/verify", token=tok).status == 401
    # Again: done again (and an event again).
    assert admin("revoke", tid).returncode == 0
    r = admin("revoke", str(uuid.uuid4()))
    assert r.returncode == 3 and r.stdout == "" and "no token" in r.stderr, r
    r = admin("revoke", "--user", alice)
    assert r.returncode == 3 and "no live token" in r.stderr, r

    ids = [new_pat(ident, days=1)[1] for _ in range(2)]
    r = admin("revoke", "--user", alice)
    assert r.returncode == 0, r
    assert sorted(r.stdout.splitlines()) == sorted("revoked %s user %s" % (i, alice) for i in ids)
    lines = [l for l in r.stderr.splitlines() if "event=revoked" in l]
    assert len(lines) == 2 and all('owner="%s"' % alice in l for l in lines), r.stderr

    # Purge: what was revoked long enough ago goes; the rest stays.
    lib.sql("UPDATE pat SET revoked_at = now() - interval '10 days' WHERE id = '%s'" % ids[0])
    r = admin("purge", "--older-than", "9")
    assert r.returncode == 0 and "purged %s user %s" % (ids[0], alice) in r.stdout.splitlines(), r
    assert ids[1] not in r.stdout and lib.count_rows("id = '%s'" % ids[1]) == 1
    assert lib.count_rows("id = '%s'" % ids[0]) == 0
    lines = [l for l in r.stderr.splitlines() if "event=purged" in l and ids[0] in l]
    assert len(lines) == 1, r.stderr
    r = admin("purge", "--older-than", "1000000")
    assert r.returncode == 3 and r.stdout == "", r
    # A rotated token whose grace ended long ago is refused like a revoked one: it goes too.
    _, rot, _ = new_pat(ident, days=30)
    r = request("POST", "/pat/v1/%s/rotate" % rot, token=ident, json_body={"graceSeconds": 0})
    assert r.status == 201, r
    lib.sql("UPDATE pat SET grace_until = now() - interval '10 days' WHERE id = '%s'" % rot)
    r = admin("purge", "--older-than", "9")
    assert "purged %s user %s" % (rot, alice) in r.stdout.splitlines(), r
    assert lib.count_rows("id = '%s'" % rot) == 0


def test_admin_usage_errors_are_2():
    some = str(uuid.uuid4())
    for args in ((), ("frobnicate",), ("list",), ("list", "--user", "a", "--group", "b"),
                 ("list", "--user", "a", "--state", "gone"), ("list", "--user"),
                 ("list", "--user", "a", "--state", "Active"),
                 ("list", "--user", "a", "--unused-days", "-1"),
                 ("list", "--user", "a", "--unused-days", "x"), ("list", "--user", ""),
                 ("list", "--user", "a", "--user", "b"), ("list", "--user", "a", "extra"),
                 ("revoke",), ("revoke", "not-a-uuid"), ("revoke", some, "--user", "a"),
                 ("revoke", some, "--json"), ("revoke", some, some),
                 ("purge",), ("purge", "--older-than", "soon"), ("purge", "--older-than", "-1"),
                 ("audit",), ("audit", "--token", "nope"), ("audit", "--user", "a", "--limit", "0"),
                 ("audit", "--token", some, "--user", "a"), ("--bogus", "list", "--user", "a")):
        r = admin(*args)
        assert r.returncode == 2, (args, r)
        assert r.stderr.startswith("patgate-admin: ") and "usage: patgate-admin" in r.stderr, \
            (args, r.stderr)
        assert r.stdout == "", (args, r.stdout)
    r = admin("--help", config=None)
    assert r.returncode == 0 and "usage: patgate-admin" in r.stdout, r
    for n in ("0 done", "1 configuration or database error", "2 usage error", "3 nothing matched"):
        assert n in r.stdout.replace("\n", " "), (n, r.stdout)
    r = admin("--version", config=None)
    assert r.returncode == 0 and r.stdout.startswith("patgate-admin "), r


def test_admin_needs_only_the_database():
    """A config whose secret files are missing still works; one without a database is 1."""
    with open(lib.CONFIG) as f:
        url = next(l.split("=", 1)[1].strip() for l in f if l.startswith("database_url"))
    d = tempfile.mkdtemp(prefix="patgate-admin-e2e-")
    conf = os.path.join(d, "patgate.conf")
    with open(conf, "w") as f:
        f.write("database_url = %s\nsecret_file = %s/missing-secret\npepper_file = %s/missing-pepper\n"
                % (url, d, d))
    os.chmod(conf, 0o600)
    # The worker itself cannot start with it: it needs the secret.
    p = subprocess.run([lib.BIN, "--config", conf, "--check-config"], capture_output=True,
                       text=True, timeout=30)
    assert p.returncode != 0 and "secret_file" in p.stderr, p
    alice = unique_email("alice")
    _, tid, _ = new_pat(id_token(alice), days=1)
    r = admin("list", "--user", alice, "--json", config=conf)
    assert r.returncode == 0 and [i["id"] for i in json.loads(r.stdout)] == [tid], r
    assert admin("audit", "--token", tid, config=conf).returncode == 0
    r = admin("revoke", tid, config=conf)
    assert r.returncode == 0, r
    # PATGATE_CONFIG stands in for --config; PATGATE_* override the file.
    r = admin("audit", "--token", tid, "--json", config=None, env={"PATGATE_CONFIG": conf})
    assert r.returncode == 0 and json.loads(r.stdout)[0]["event"] == "revoked", r
    r = admin("list", "--user", alice, config=conf,
              env={"PATGATE_DATABASE_URL": "host=%s/nowhere dbname=x connect_timeout=2" % d})
    assert r.returncode == 1 and "database" in r.stderr, r
    r = admin("list", "--user", alice, config=os.path.join(d, "absent.conf"))
    assert r.returncode == 1 and "absent.conf" in r.stderr, r
    # A config that holds a password and that others can read is refused, as the worker's is.
    os.chmod(conf, 0o644)
    if "password=" in url:
        r = admin("list", "--user", alice, config=conf)
        assert r.returncode == 1 and "chmod 600" in r.stderr, r
    os.unlink(conf)
    os.rmdir(d)


def test_owners_are_notified_and_a_use_is_not_a_change():
    """sql/0012: every event also names its owner on patgate_owner, which a
    worker reading lists from a standby needs; recording a use moves
    last_used_at forward and notifies nothing, while an operator moving it
    back (a token may turn inactive) is a change."""
    ident = id_token()
    email = lib.claims(ident)["email"]
    group = _group()
    team_ident = id_token(groups=[group])
    with Listener("patgate_owner") as owners, Listener() as tokens:
        tok, tid, _ = new_pat(ident, 1, "owners")
        _, team_id = new_team_token(team_ident, group)
        for _ in range(3):
            assert request("GET", "/pat/v1/verify", token=tok).status == 200
        assert lib.sql("SELECT last_used_at IS NOT NULL FROM pat WHERE id = '%s'" % tid)[0][0] == "t"
        lib.sql("UPDATE pat SET last_used_at = last_used_at - interval '1 day' WHERE id = '%s'" % tid)
        assert request("DELETE", "/pat/v1/" + tid, token=ident).status == 202
        got_owners, got_tokens = owners.stop(), tokens.stop()
    assert got_owners.count("user:" + email) == 3, got_owners   # created, changed, revoked
    assert got_owners.count("team:" + group) == 1, got_owners
    assert got_tokens.count("changed:" + tid) == 1, got_tokens  # the operator's, not the uses
    exactly_once(got_tokens, "created", [tid, team_id])
    exactly_once(got_tokens, "revoked", [tid])
