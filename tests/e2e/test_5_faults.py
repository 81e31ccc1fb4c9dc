"""Faults under load: PostgreSQL killed and restarted, workers killed, SIGTERM
and SIGHUP during load, backends terminated, slow clients and huge headers.
Loops are bounded in count and time; everything is on 127.0.0.1."""
import concurrent.futures
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import threading
import time

import lib
from lib import (CONFIG, Instance, count_rows, create, devstack, healthy, id_token, new_pat,
                 request, sql, unique_email, wait_for)

FAULT_COUNTS = {}       # for the README's reliability table; printed at the end of each test


def report(name, **counts):
    FAULT_COUNTS[name] = counts
    lib.log("%s: %s" % (name, json.dumps(counts)))


class Owners:
    """The owners of a load's creates: a new one after every PER_OWNER
    creates, so that no owner reaches max_tokens_per_user (default 500),
    whose 409 would hide what a fault did."""

    PER_OWNER = 400

    def __init__(self, tag="load"):
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


def _psql(query):
    """Run SQL of any length (sent on stdin, not as an argument); rows as lists of strings."""
    out = subprocess.run([os.path.join(lib.ROOT, "devstack"), "psql", "-At", "-F", "\t", "-f", "-"],
                         input=query, check=True, capture_output=True, text=True).stdout
    return [line.split("\t") for line in out.splitlines() if line]


def _missing_rows(tokens):
    """The tokens whose HMAC has no row in pat, found in one query."""
    if not tokens:
        return []
    by_hmac = {lib.token_hmac(t): t for t in tokens}
    rows = _psql("SELECT h FROM (VALUES %s) AS t (h) WHERE NOT EXISTS "
                 "(SELECT FROM pat WHERE token_hmac = decode(h, 'hex'))"
                 % ", ".join("('%s')" % h for h in by_hmac))
    return [by_hmac[r[0]] for r in rows]


def _unverified(tokens):
    """The tokens that GET /pat/v1/verify does not answer 200, with what it answered."""
    def check(tok):
        try:
            return tok, request("GET", "/pat/v1/verify", token=tok, timeout=20).status
        except OSError as e:
            return tok, type(e).__name__
    with concurrent.futures.ThreadPoolExecutor(4) as ex:
        return [(t, s) for t, s in ex.map(check, tokens) if s != 200]


def lost_tokens(tokens, owners=None):
    """Measure what a fault lost of the tokens answered 201: each must have
    its row (by HMAC) and verify.  Returns the counts for report(); with
    owners, also the rows they hold beyond the 201s (creates whose commit
    landed but whose answer did not arrive), which is allowed."""
    tokens = list(dict.fromkeys(tokens))
    missing = _missing_rows(tokens)
    unverified = _unverified(tokens)
    lost = set(missing) | {t for t, _ in unverified}
    counts = {"created_201": len(tokens), "missing_rows": len(missing),
              "not_verifying": len(unverified), "lost": len(lost)}
    if owners is not None:
        rows = int(_psql("SELECT count(*) FROM pat WHERE owner_email IN (%s)"
                         % ", ".join("'%s'" % e for e in owners.emails))[0][0])
        counts["rows_without_201"] = rows - (len(tokens) - len(missing))
    # Never a 201 for a row that does not exist, and never one that does not verify.
    assert not missing, "%d of %d tokens answered 201 have no row" % (len(missing), len(tokens))
    assert not unverified, "%d of %d tokens answered 201 do not verify: %s" % (
        len(unverified), len(tokens), sorted({str(s) for _, s in unverified}))
    assert counts["lost"] == 0, counts
    return counts


class Load:
    """Threads that mix creates and verifies through nginx until stopped,
    recording (kind, started, finished, status, token) for every request."""

    def __init__(self, threads=6, pool=None, create_share=0.3, send=None):
        self.pool = pool or []
        self.create_share = create_share
        self.results = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.send = send
        self.owners = Owners()
        self.threads = [threading.Thread(target=self.run, daemon=True) for _ in range(threads)]

    def one(self):
        start = time.monotonic()
        token = None
        try:
            if random.random() < self.create_share:
                kind = "create"
                r = create(self.owners.ident(), 1, "load %d" % random.randrange(10 ** 9),
                           timeout=20)
                if r.status == 201:
                    token = r.json()["token"]
            else:
                kind = "verify"
                r = request("GET", "/pat/v1/verify", token=random.choice(self.pool), timeout=20)
            status = r.status
        except OSError as e:
            kind, status = "error", "%s" % type(e).__name__
        with self.lock:
            self.results.append((kind, start, time.monotonic(), status, token))

    def run(self):
        while not self.stopping.is_set():
            self.one()

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        for t in self.threads:
            t.join(30)

    def statuses(self, since=None, until=None):
        return [r[3] for r in self.results
                if (since is None or r[1] >= since) and (until is None or r[1] < until)]

    def created(self):
        """The tokens of every create answered 201."""
        return [r[4] for r in self.results if r[0] == "create" and r[3] == 201]


def _pool(n=10):
    ident = id_token(unique_email("pool"))
    return [new_pat(ident, 30, "pool %d" % i)[0] for i in range(n)]


def test_postgres_killed_and_restarted_during_load():
    pool = _pool()
    with Load(pool=pool) as load:
        time.sleep(1.5)
        devstack("pg-stop", "immediate")
        down_at = time.monotonic()
        time.sleep(2)
        restart_at = time.monotonic()
        devstack("pg-start")
        back_at = time.monotonic()
        time.sleep(6)
    statuses = load.statuses()
    assert set(statuses) <= {200, 201, 503}, sorted(set(map(str, statuses)))
    during = load.statuses(down_at + 0.2, restart_at)
    assert during and all(s == 503 for s in during), set(during)
    late = [r for r in load.results if r[1] >= back_at + 5]
    assert late and all(r[3] in (200, 201) for r in late), [r[3] for r in late if r[3] not in (200, 201)]
    slowest = max(r[2] - r[1] for r in load.results)
    assert slowest < 12, slowest
    first_ok = min((r[1] for r in load.results if r[1] >= back_at and r[3] in (200, 201)),
                   default=None)
    assert first_ok is not None and first_ok - back_at < 5
    # Every 201 was committed: it is in the database and it verifies.
    lost = lost_tokens(load.created(), load.owners)
    report("postgres -m immediate during load", requests=len(statuses), **lost,
           answers_503=statuses.count(503), answers_500=0,
           recovered_after_s=round(first_ok - back_at, 2), slowest_s=round(slowest, 2))


def _devstack_master():
    with open(os.path.join(lib.VAR, "run", "patgate.pid")) as f:
        return int(f.readline())


def test_worker_sigkill_during_load():
    pool = _pool()
    master = _devstack_master()
    with Load(pool=pool) as load:
        time.sleep(1)
        victim = lib.children(master)[0]
        os.kill(victim, signal.SIGKILL)
        killed_at = time.monotonic()
        time.sleep(3)
    errors = [s for s in load.statuses() if s not in (200, 201)]
    # At most the requests it held: one being read, and one whose answer
    # waited on its commit (a create).
    assert len(errors) <= 2, errors
    assert all(s in (200, 201) for s in load.statuses(killed_at + 1.5)), "no recovery"
    assert len(lib.children(master)) == 4, lib.children(master)
    lost = lost_tokens(load.created(), load.owners)
    report("worker SIGKILL during load", requests=len(load.results), errors=len(errors), **lost)


def _fcgi_create(inst, ident, days=1, description=None, timeout=15):
    body = json.dumps({"days": days, "description": description or
                       "fcgi load %d" % random.randrange(10 ** 9)}).encode()
    return inst.request({"REQUEST_METHOD": "POST", "SCRIPT_NAME": "/pat/v1",
                         "CONTENT_TYPE": "application/json",
                         "HTTP_AUTHORIZATION": "Bearer " + ident}, body, timeout=timeout)


def _fcgi_load(inst, results, stop, owners, create_share=0.3):
    """Health checks and creates straight to inst's workers until stop, as
    (started, kind, status or error name, token of a 201) in results."""
    while not stop.is_set():
        t = time.monotonic()
        kind, token = ("create" if random.random() < create_share else "health"), None
        try:
            if kind == "create":
                r = _fcgi_create(inst, owners.ident())
                if r.status == 201:
                    token = r.json()["token"]
            else:
                r = inst.request({"SCRIPT_NAME": "/pat/v1/health"}, timeout=15)
            results.append((t, kind, r.status, token))
        except (OSError, ConnectionError) as e:
            results.append((t, kind, type(e).__name__, None))


OK = {"health": 200, "create": 201}


def test_sigterm_during_load_finishes_what_was_accepted():
    owners = Owners("sigterm")
    with Instance(workers=2) as inst:
        results, stop = [], threading.Event()
        threads = [threading.Thread(target=_fcgi_load, args=(inst, results, stop, owners),
                                    daemon=True) for _ in range(6)]
        for t in threads:
            t.start()
        time.sleep(1)
        inst.proc.send_signal(signal.SIGTERM)
        rc = inst.proc.wait(30)
        stop.set()
        for t in threads:
            t.join(20)
        assert rc == 0
        answered = [(k, s) for _, k, s, _ in results if isinstance(s, int)]
        refused = [s for _, _, s, _ in results if not isinstance(s, int)]
        assert answered and all(s == OK[k] for k, s in answered), set(answered)
        # Connections made after the workers stopped accepting are refused or reset:
        # nothing accepted is answered with an error or cut short.
        assert set(refused) <= {"ConnectionRefusedError", "FileNotFoundError",
                                "ConnectionResetError", "ConnectionError",
                                "BrokenPipeError"}, set(refused)
    # The instance is gone; its 201s are checked through nginx's workers.
    lost = lost_tokens([tok for _, _, _, tok in results if tok], owners)
    report("SIGTERM during load", answered=len(answered), refused_after_stop=len(refused),
           **lost)


def test_sighup_with_new_keys_and_config_during_load():
    d = lib.tempfile.mkdtemp(prefix="patgate-hup-")
    os.chmod(d, 0o755)
    jwks = os.path.join(d, "jwks.json")
    shutil.copy(os.path.join(lib.VAR, "oidc", "jwks.json"), jwks)
    os.chmod(jwks, 0o644)
    conf = open(CONFIG).read().replace(os.path.join(lib.VAR, "oidc", "jwks.json"), jwks)
    newkey = os.path.join(d, "new.pem")
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                    "rsa_keygen_bits:2048", "-out", newkey], check=True, capture_output=True)
    owners = Owners("sighup")
    with Instance(workers=2, config_text=conf) as inst:
        results, stop = [], threading.Event()
        threads = [threading.Thread(target=_fcgi_load, args=(inst, results, stop, owners),
                                    daemon=True) for _ in range(4)]
        for t in threads:
            t.start()
        time.sleep(0.5)
        fresh = lib.id_token(key=newkey, kid="rotated-1")
        before = inst.request({"REQUEST_METHOD": "POST", "SCRIPT_NAME": "/pat/v1",
                               "CONTENT_TYPE": "application/json",
                               "HTTP_AUTHORIZATION": "Bearer " + fresh},
                              b'{"days": 1, "description": "new key"}')
        assert before.status == 401, before
        keys = json.load(open(jwks))
        keys["keys"].append(lib.oidc.jwk(newkey, "rotated-1"))
        with open(jwks + ".new", "w") as f:
            json.dump(keys, f)
        os.chmod(jwks + ".new", 0o644)
        os.rename(jwks + ".new", jwks)
        with open(inst.config, "w") as f:
            f.write(conf + "max_days = 9\n")
        inst.proc.send_signal(signal.SIGHUP)
        time.sleep(2)
        stop.set()
        for t in threads:
            t.join(20)
        bad = [(k, s) for _, k, s, _ in results if s != OK[k]]
        assert not bad, bad[:5]
        after = inst.request({"REQUEST_METHOD": "POST", "SCRIPT_NAME": "/pat/v1",
                              "CONTENT_TYPE": "application/json",
                              "HTTP_AUTHORIZATION": "Bearer " + fresh},
                             b'{"days": 9, "description": "new key"}')
        assert after.status == 201, after
        capped = inst.request({"REQUEST_METHOD": "POST", "SCRIPT_NAME": "/pat/v1",
                               "CONTENT_TYPE": "application/json",
                               "HTTP_AUTHORIZATION": "Bearer " + fresh},
                              b'{"days": 10, "description": "over"}')
        assert capped.status == 400, capped
        lost = lost_tokens([tok for _, _, _, tok in results if tok], owners)
        report("SIGHUP with new JWKS and config during load", requests=len(results),
               failed=len(bad), **lost)
    shutil.rmtree(d, ignore_errors=True)


def _terminate_backends(where="true"):
    return sql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
               "WHERE application_name = 'patgate' AND " + where)


def test_backend_killed_next_request_reconnects_and_succeeds():
    ident = id_token()
    tok, _, _ = new_pat(ident)
    ok = 0
    for i in range(10):
        killed = int(_terminate_backends()[0][0])
        assert killed >= 1
        time.sleep(0.05)
        r = create(ident, 1, "after kill %d" % i)
        assert r.status == 201, (i, r)
        v = request("GET", "/pat/v1/verify", token=tok)
        assert v.status == 200, (i, v)
        ok += 2
    report("pg_terminate_backend then next request", rounds=10, succeeded=ok, failed=0)


def test_create_whose_commit_is_unknown_gets_503():
    email = unique_email("unknown")
    locker = subprocess.Popen([os.path.join(lib.ROOT, "devstack"), "psql", "-c",
                               "BEGIN; LOCK TABLE pat IN ACCESS EXCLUSIVE MODE; "
                               "SELECT pg_sleep(3); COMMIT;"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        out = {}
        t = threading.Thread(target=lambda: out.setdefault(
            "r", create(id_token(email), 1, "commit unknown", timeout=20)))
        t.start()
        assert wait_for(lambda: sql("SELECT count(*) FROM pg_stat_activity WHERE "
                                    "application_name = 'patgate' AND query LIKE '%pat_create(%' "
                                    "AND wait_event_type = 'Lock'")[0][0] == "1", 5)
        _terminate_backends("query LIKE '%pat_create(%'")
        t.join(20)
        assert out["r"].status == 503, out["r"]
        assert out["r"].json()["error"] == "unavailable"
    finally:
        locker.wait(10)
    assert count_rows("owner_email = '%s'" % email) == 0
    assert request("GET", "/pat/v1/health").status == 200
    report("create cut off mid-statement", answered_503=1, answered_201=0)


def test_slow_clients_do_not_hold_workers():
    """nginx buffers whole requests, so clients that trickle bytes never reach a worker."""
    ident = id_token()
    socks = []
    for _ in range(20):
        s = socket.create_connection(("127.0.0.1", lib.PORT), timeout=10)
        s.sendall(b"POST /pat/v1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Authorization: Bearer " + ident.encode() + b"\r\nContent-Length: 40\r\n\r\n{")
        socks.append(s)
    slowest = 0.0
    for _ in range(20):
        t = time.monotonic()
        assert request("GET", "/pat/v1/health", timeout=5).status == 200
        slowest = max(slowest, time.monotonic() - t)
        for s in socks:
            s.sendall(b" ")
    for s in socks:
        s.close()
    assert slowest < 1.0, slowest
    report("20 slow clients", health_checks=20, slowest_s=round(slowest, 3))


def test_huge_headers_are_refused_by_nginx_and_workers_carry_on():
    r = request("GET", "/pat/v1/health", headers={"X-Big": "y" * 40000})
    assert r.status in (400, 431, 494), r
    r = request("GET", "/pat/v1/verify", headers={"Authorization": "Bearer " + "A" * 7000})
    assert r.status == 401, r
    assert wait_for(healthy, 2)


def _database_url():
    with open(lib.CONFIG) as f:
        return re.search(r"^database_url = (.*)$", f.read(), re.M).group(1)


def test_a_node_that_refuses_writes_gets_503_and_a_new_connection():
    """A write connection that finds a read-only node (a primary demoted
    under it: SQLSTATE 25006) answers 503, never 500, writes nothing, and
    drops that connection so that the next statement finds the primary.
    Here every session of the private instance is read-only."""
    email = unique_email("readonly")
    url = _database_url() + " options='-c default_transaction_read_only=on'"
    with Instance(workers=1, env={"PATGATE_DATABASE_URL": url}) as inst:
        answers = []
        for i in range(3):
            r = inst.request({"REQUEST_METHOD": "POST", "SCRIPT_NAME": "/pat/v1",
                              "CONTENT_TYPE": "application/json",
                              "HTTP_AUTHORIZATION": "Bearer " + id_token(email)},
                             b'{"days": 1, "description": "read only %d"}' % i)
            answers.append((r.status, r.json().get("error"), r.header("Retry-After")))
        log = inst.read_log()
    assert answers == [(503, "unavailable", answers[0][2])] * 3 and answers[0][2], answers
    assert log.count("event=db_read_only action=reconnect") == 3, log[-2000:]
    assert count_rows("owner_email = '%s'" % email) == 0
    report("a write on a read-only node", answered_503=3, answered_500=0, rows=0)


def test_a_commit_whose_standby_wait_is_cancelled_gets_503():
    """synchronous_standby_names names a standby that never comes, so a
    COMMIT waits; cancelling the wait (statement_timeout, pg_cancel_backend,
    an operator) makes PostgreSQL commit locally, warn, and report success:
    such a token could be lost in a failover, so the create answers 503 and
    the token is never given out."""
    email = unique_email("syncwait")
    sql("ALTER SYSTEM SET synchronous_standby_names = 'patgate_e2e_nobody'")
    sql("SELECT pg_reload_conf()")
    try:
        with Instance(workers=1) as inst:
            out = {}

            def create_one():
                out["r"] = inst.request({"REQUEST_METHOD": "POST", "SCRIPT_NAME": "/pat/v1",
                                         "CONTENT_TYPE": "application/json",
                                         "HTTP_AUTHORIZATION": "Bearer " + id_token(email)},
                                        b'{"days": 1, "description": "sync wait"}', timeout=20)
            t = threading.Thread(target=create_one)
            t.start()
            waiting = wait_for(lambda: sql(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'patgate' "
                "AND wait_event = 'SyncRep'")[0][0] == "1", 10)
            sql("SELECT count(pg_cancel_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = 'patgate' AND wait_event = 'SyncRep'")
            t.join(20)
            log = inst.read_log()
    finally:
        sql("ALTER SYSTEM RESET synchronous_standby_names")
        sql("SELECT pg_reload_conf()")
    assert waiting, "the create never waited for the standby"
    r = out["r"]
    assert r.status == 503 and r.json()["error"] == "unavailable", r
    assert "token" not in r.json()
    assert "event=db_commit_unknown statement=pat_insert" in log, log[-2000:]
    # It did commit here: the client never saw it, as when a create is cut off.
    assert count_rows("owner_email = '%s'" % email) == 1
    report("a create whose wait for the synchronous standby was cancelled",
           answered_503=1, answered_201=0)
