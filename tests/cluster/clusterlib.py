"""clusterlib.py - what the cluster tests and the benchmark share: where the
cluster that ./devstack cluster up started is (var/cluster/cluster.json),
Patroni's view of it, SQL on its leader or on one node, and a load of
creates, verifies, revokes and lists against both patgate instances that
checks every answer against what came before it.

HTTP, identities and HMACs come from tests/e2e/lib.py.  Nothing is mocked:
each request goes through a real nginx to real workers and PostgreSQL.
"""
import json
import os
import random
import subprocess
import sys
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))

import lib  # noqa: E402
from lib import id_token, request, unique_email  # noqa: E402,F401

CV = os.path.join(lib.VAR, "cluster")
SCRIPT = os.path.join(HERE, "cluster")
PGBIN = lib.PGBIN


def info():
    with open(os.path.join(CV, "cluster.json")) as f:
        return json.load(f)


INFO = info() if os.path.exists(os.path.join(CV, "cluster.json")) else None


def ports():
    return [i["port"] for i in INFO["instances"]]


def cluster(*args, timeout=180):
    """Run tests/cluster/cluster ARGS; its stdout."""
    p = subprocess.run([SCRIPT, *args], capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        raise AssertionError("cluster %s failed: %s %s" % (" ".join(args), p.stdout, p.stderr))
    return p.stdout


def members():
    """Patroni's members, {name: {"role", "state", "port", ...}}, from any node that answers."""
    for n in INFO["nodes"]:
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/cluster" % n["rest_port"],
                                        timeout=2) as r:
                return {m["name"]: m for m in json.load(r)["members"]}
        except OSError:
            continue
    raise AssertionError("no Patroni REST API answers")


def role_of(role):
    """The name of the running member with this role, or None."""
    for name, m in members().items():
        if m["role"] == role and m.get("state") == "running":
            return name
    return None


def node(name):
    return next(n for n in INFO["nodes"] if n["name"] == name)


def _password():
    with open(INFO["superuser_password_file"]) as f:
        return f.read().strip()


def psql(query, conninfo=None, timeout=60):
    """SQL as the superuser, on the leader (the multi-host string) unless conninfo
    names a node; rows as lists of strings.  The query goes on stdin."""
    env = dict(os.environ, PGPASSWORD=_password())
    p = subprocess.run([os.path.join(PGBIN, "psql"), "-X", "-q", "-At", "-F", "\t",
                        "-v", "ON_ERROR_STOP=1", conninfo or INFO["superuser_url"], "-f", "-"],
                       input=query, capture_output=True, text=True, env=env, timeout=timeout)
    if p.returncode != 0:
        raise AssertionError("psql failed: " + p.stderr.strip())
    return [line.split("\t") for line in p.stdout.splitlines() if line]


def node_conninfo(name, dbname="patgate"):
    return "host=127.0.0.1 port=%d dbname=%s user=postgres connect_timeout=2" % (
        node(name)["pg_port"], dbname)


def apply_delay(name, delay):
    """Make a standby replay late (recovery_min_apply_delay), or on time with
    None.  Patroni owns the recovery settings (it empties them from
    postgresql.auto.conf), so this goes through the node's own patroni.yml
    and Patroni's reload; ./devstack cluster up writes that file anew."""
    path = os.path.join(CV, name, "patroni.yml")
    with open(path) as f:
        text = f.read()
    head, mark = "\npostgresql:\n", "  recovery_conf:\n    recovery_min_apply_delay: "
    lines = [ln for ln in text.split("\n") if "recovery_conf:" not in ln and
             "recovery_min_apply_delay:" not in ln]
    text = "\n".join(lines)
    if delay is not None:
        text = text.replace(head, head + mark + delay + "\n", 1)
    with open(path, "w") as f:
        f.write(text)
    req = urllib.request.Request("http://127.0.0.1:%d/reload" % node(name)["rest_port"],
                                 method="POST")
    urllib.request.urlopen(req, timeout=5).read()
    want = "0" if delay is None else delay
    ok = lib.wait_for(lambda: psql("SHOW recovery_min_apply_delay",
                                   node_conninfo(name))[0][0] == want, 20)
    assert ok, "recovery_min_apply_delay did not become %s on %s" % (want, name)


def patgate_backends(name):
    """How many of patgate's connections the node holds."""
    return int(psql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'patgate'",
                    node_conninfo(name))[0][0])


def rows_missing(tokens):
    """The tokens whose HMAC has no row on the leader."""
    if not tokens:
        return []
    by_hmac = {lib.token_hmac(t): t for t in tokens}
    rows = psql("SELECT h FROM (VALUES %s) AS t (h) WHERE NOT EXISTS "
                "(SELECT FROM pat WHERE token_hmac = decode(h, 'hex'))"
                % ", ".join("('%s')" % h for h in by_hmac))
    return [by_hmac[r[0]] for r in rows]


def rows_not_revoked(tokens):
    """Of these tokens, those whose row on the leader has no revoked_at."""
    if not tokens:
        return []
    by_hmac = {lib.token_hmac(t): t for t in tokens}
    rows = psql("SELECT encode(token_hmac, 'hex') FROM pat WHERE revoked_at IS NULL AND "
                "token_hmac IN (%s)" % ", ".join("decode('%s', 'hex')" % h for h in by_hmac))
    return [by_hmac[r[0]] for r in rows]


def rows_of(emails):
    if not emails:
        return 0
    return int(psql("SELECT count(*) FROM pat WHERE owner_email IN (%s)"
                    % ", ".join("'%s'" % e for e in emails))[0][0])


class Owners:
    """The owners of a load's creates: a new one after every PER_OWNER creates,
    so that none reaches max_tokens_per_user (500), whose 409 would hide a fault."""

    PER_OWNER = 400

    def __init__(self, tag="cluster"):
        self.tag = tag
        self.lock = threading.Lock()
        self.emails = []
        self._ident, self._left = None, 0

    def ident(self):
        with self.lock:
            if self._left == 0:
                self.emails.append(unique_email(self.tag))
                self._ident, self._left = id_token(self.emails[-1]), self.PER_OWNER
            self._left -= 1
            return self._ident


OK = {"create": 201, "revoke": 202, "verify": 200, "list": 202}


class Load:
    """Threads spread over the patgate instances, each looping on a mix of
    creates, revokes, verifies and lists until stopped.  Every answer is
    recorded as (kind, port, started, finished, status), and checked against
    what was already answered:
      - a token answered 201, whose revoke was never sent, must verify (200)
        or be unavailable (503), never 401;
      - a token whose revoke answered 202 must get 401 or 503, never 200.
    A revoke not answered 202 is sent again later, until it is."""

    def __init__(self, pool, threads=6, mix=None, list_idents=None):
        self.pool = pool                          # tokens that stay valid
        self.mix = mix or {"create": 0.3, "revoke": 0.1, "verify": 0.6}
        self.list_idents = list_idents or []
        self.results = []
        self.violations = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.owners = Owners()
        self.created = {}           # token -> (id, owner ident, 201 answered at)
        self.revocable = []         # tokens with no revoke sent yet
        self.revoking = set()       # a revoke sent, not yet answered 202
        self.revoked = {}           # token -> revoke answered 202 at
        ps = ports()
        self.threads = [threading.Thread(target=self.run, args=(ps[i % len(ps)],), daemon=True)
                        for i in range(threads)]

    def _pick(self):
        r, acc = random.random(), 0.0
        for kind, share in self.mix.items():
            acc += share
            if r < acc:
                return kind
        return "verify"

    def one(self, port):
        kind = self._pick()
        start = time.monotonic()
        status, expect, tok = None, None, None
        try:
            if kind == "create":
                ident = self.owners.ident()
                r = lib.create(ident, 1, "cluster %d" % random.randrange(10 ** 9),
                               port=port, timeout=20)
                status = r.status
                if status == 201:
                    body = r.json()
                    with self.lock:
                        self.created[body["token"]] = (body["id"], ident, time.monotonic())
                        self.revocable.append(body["token"])
            elif kind == "revoke":
                with self.lock:
                    tok = self.revocable.pop(random.randrange(len(self.revocable))) \
                        if self.revocable else None
                    if tok is not None:
                        self.revoking.add(tok)
                if tok is None:
                    return
                tid, ident, _ = self.created[tok]
                status = request("DELETE", "/pat/v1/" + tid, token=ident, port=port,
                                 timeout=20).status
                with self.lock:
                    if status == 202:
                        self.revoking.discard(tok)
                        self.revoked[tok] = time.monotonic()
                    else:
                        self.revocable.append(tok)    # sent again later
            elif kind == "list":
                ident = random.choice(self.list_idents)
                status = request("GET", "/pat/v1", token=ident, port=port, timeout=20).status
            else:
                with self.lock:
                    choice = random.random()
                    if choice < 0.3 and self.revoked:
                        tok, expect = random.choice(list(self.revoked)), 401
                    elif choice < 0.7 and self.revocable:
                        tok = random.choice(self.revocable)
                        expect = None if tok in self.revoking else 200
                    else:
                        tok, expect = random.choice(self.pool), 200
                status = request("GET", "/pat/v1/verify", token=tok, port=port,
                                 timeout=20).status
                with self.lock:
                    # A revoke sent while this verify ran may have landed before it.
                    if expect == 200 and (tok in self.revoking or tok in self.revoked):
                        expect = None
                    if expect is not None and status not in (expect, 503):
                        self.violations.append((expect, status, start, port, tok))
                # The answer that was due counts as a success: 401 for a revoked
                # token, 200 or 401 for one whose revoke is in flight.
                if status == expect or (expect is None and status in (200, 401)):
                    status = 200
        except OSError as e:
            status = type(e).__name__
        with self.lock:
            self.results.append((kind, port, start, time.monotonic(), status))

    def run(self, port):
        while not self.stopping.is_set():
            self.one(port)

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        for t in self.threads:
            t.join(30)

    def failures(self):
        """The requests not answered as they should have been."""
        return [r for r in self.results if r[4] != OK[r[0]]]


REVOKE_WINDOW_S = 2.0   # how long a wrong answer after a 202 is followed


def revoke_then_verify(create, verify, revoke, owners, rounds=300):
    """rounds times: create through one side, verify through the other (so
    that its worker may cache the check), revoke through the first, and at
    once verify through the other again.  Each of create, verify and revoke
    takes (side, ...) with side 0 or 1.  Returns, for each of those last
    verifies that did not answer 401, (its answer, and the milliseconds from
    the 202 until that side answered 401: asked again every millisecond for
    at most REVOKE_WINDOW_S, None if it never did)."""
    wrong = []
    for i in range(rounds):
        a, b = i % 2, (i + 1) % 2
        ident = owners.ident()
        r = create(a, ident)
        assert r.status == 201, r
        tok, tid = r.json()["token"], r.json()["id"]
        assert verify(b, tok) == 200
        time.sleep(0.02)
        assert revoke(a, ident, tid) == 202
        at = time.monotonic()
        s = verify(b, tok)
        if s == 401:
            continue
        held = None
        while time.monotonic() - at < REVOKE_WINDOW_S:
            if verify(b, tok) == 401:
                held = round((time.monotonic() - at) * 1000, 1)
                break
            time.sleep(0.001)
        wrong.append((s, held))
    return wrong


def window_summary(wrong, rounds):
    """What revoke_then_verify found, for a report."""
    held = [h for _, h in wrong if h is not None]
    return {"rounds": rounds, "revoked_but_verified_at_once": len(wrong),
            "answers": sorted({str(s) for s, _ in wrong}),
            "never_401": sum(1 for _, h in wrong if h is None),
            "ms_until_401_max": max(held) if held else 0,
            "ms_until_401_median": sorted(held)[len(held) // 2] if held else 0}


def over_nginx():
    """create, verify and revoke through the two instances' nginx, for revoke_then_verify."""
    ps = ports()
    return (lambda side, ident: lib.create(ident, 1, "revoke then verify", port=ps[side]),
            lambda side, tok: request("GET", "/pat/v1/verify", token=tok, port=ps[side]).status,
            lambda side, ident, tid: request("DELETE", "/pat/v1/" + tid, token=ident,
                                             port=ps[side]).status)


def over_fastcgi(insts):
    """The same straight to two private instances' workers (lib.Instance)."""
    def create(side, ident):
        return insts[side].request({"REQUEST_METHOD": "POST", "SCRIPT_NAME": "/pat/v1",
                                    "CONTENT_TYPE": "application/json",
                                    "HTTP_AUTHORIZATION": "Bearer " + ident},
                                   b'{"days": 1, "description": "revoke then verify"}')

    def verify(side, tok):
        return insts[side].request({"SCRIPT_NAME": "/pat/v1/verify",
                                    "HTTP_AUTHORIZATION": "Bearer " + tok}).status

    def revoke(side, ident, tid):
        return insts[side].request({"REQUEST_METHOD": "DELETE", "SCRIPT_NAME": "/pat/v1/" + tid,
                                    "HTTP_AUTHORIZATION": "Bearer " + ident}).status
    return create, verify, revoke


def private_config(read_from=None, extra=""):
    """patgate1's configuration for a private lib.Instance: reads from the
    node read_from only (verify_on_standby), or none; plus extra lines."""
    with open(INFO["instances"][0]["config"]) as f:
        lines = [ln for ln in f.read().splitlines()
                 if not ln.startswith(("listen", "read_database_url", "verify_on_standby"))]
    if read_from is not None:
        with open(os.path.join(CV, "keys", "pg-patgate")) as f:
            password = f.read().strip()
        lines.append("read_database_url = host=127.0.0.1 port=%d dbname=patgate user=patgate "
                     "password=%s connect_timeout=2" % (node(read_from)["pg_port"], password))
        lines.append("verify_on_standby = on")
    return "\n".join(lines) + "\n" + extra + "\n"


def pool(n=8, port=None):
    ident = id_token(unique_email("pool"))
    out = []
    for i in range(n):
        r = lib.create(ident, 30, "pool %d" % i, port=port or ports()[0])
        assert r.status == 201, r
        out.append(r.json()["token"])
    return out


def check_after(load):
    """What a fault left behind, checked on the leader and through both
    instances: every 201 has its row and verifies (unless revoked), every
    revoke answered 202 is recorded and refused.  Returns the counts."""
    created = list(load.created)
    revoked = set(load.revoked)
    live = [t for t in created if t not in revoked and t not in load.revoking]
    missing = rows_missing(created)
    not_revoked = rows_not_revoked(list(revoked))
    bad_verify, bad_revoked = [], []
    ps = ports()
    for i, t in enumerate(live):
        s = request("GET", "/pat/v1/verify", token=t, port=ps[i % len(ps)], timeout=20).status
        if s != 200:
            bad_verify.append(s)
    for i, t in enumerate(revoked):
        s = request("GET", "/pat/v1/verify", token=t, port=ps[i % len(ps)], timeout=20).status
        if s != 401:
            bad_revoked.append(s)
    rows = rows_of(load.owners.emails)
    return {"created_201": len(created), "missing_rows": len(missing),
            "lost": len(set(missing)) + len(bad_verify),
            "rows_without_201": rows - (len(created) - len(missing)),
            "revoked_202": len(revoked), "revoked_but_verifying": len(bad_revoked),
            "revoked_without_row_change": len(not_revoked),
            "violations_during_load": len(load.violations)}
