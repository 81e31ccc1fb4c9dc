"""Faults under load: PostgreSQL killed and restarted, workers killed, SIGTERM
and SIGHUP during load, backends terminated, slow clients and huge headers.
Loops are bounded in count and time; everything is on 127.0.0.1."""
import json
import os
import random
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
        # Owners take turns, 400 creates each, to stay under max_tokens_per_user.
        self.emails = [unique_email("load")]
        self.ident = id_token(self.emails[0])
        self.creates = 0
        self.threads = [threading.Thread(target=self.run, daemon=True) for _ in range(threads)]

    def one(self):
        start = time.monotonic()
        token = None
        try:
            if random.random() < self.create_share:
                kind = "create"
                with self.lock:
                    self.creates += 1
                    if self.creates % 400 == 0:
                        self.emails.append(unique_email("load"))
                        self.ident = id_token(self.emails[-1])
                    ident = self.ident
                r = create(ident, 1, "load %d" % random.randrange(10 ** 9), timeout=20)
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
    created = [r[4] for r in load.results if r[0] == "create" and r[3] == 201]
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
    for tok in created:
        assert request("GET", "/pat/v1/verify", token=tok).status == 200
    assert count_rows("owner_email IN (%s)" % ",".join(
        "'%s'" % e for e in load.emails)) >= len(created)
    report("postgres -m immediate during load", requests=len(statuses),
           created_201=len(created), lost=0, answers_503=statuses.count(503),
           answers_500=0, recovered_after_s=round(first_ok - back_at, 2),
           slowest_s=round(slowest, 2))


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
    report("worker SIGKILL during load", requests=len(load.results), errors=len(errors), lost=0)


def _fcgi_load(inst, seconds, results, stop):
    while not stop.is_set():
        t = time.monotonic()
        try:
            r = inst.request({"SCRIPT_NAME": "/pat/v1/health"}, timeout=15)
            results.append((t, r.status))
        except (OSError, ConnectionError) as e:
            results.append((t, type(e).__name__))


def test_sigterm_during_load_finishes_what_was_accepted():
    with Instance(workers=2) as inst:
        results, stop = [], threading.Event()
        threads = [threading.Thread(target=_fcgi_load, args=(inst, 5, results, stop), daemon=True)
                   for _ in range(6)]
        for t in threads:
            t.start()
        time.sleep(1)
        inst.proc.send_signal(signal.SIGTERM)
        rc = inst.proc.wait(30)
        stop.set()
        for t in threads:
            t.join(20)
        assert rc == 0
        answered = [s for _, s in results if isinstance(s, int)]
        refused = [s for _, s in results if not isinstance(s, int)]
        assert answered and all(s == 200 for s in answered), set(answered)
        # Connections made after the workers stopped accepting are refused or reset:
        # nothing accepted is answered with an error or cut short.
        assert set(refused) <= {"ConnectionRefusedError", "FileNotFoundError",
                                "ConnectionResetError", "ConnectionError",
                                "BrokenPipeError"}, set(refused)
        report("SIGTERM during load", answered=len(answered), refused_after_stop=len(refused),
               lost=0)


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
    with Instance(workers=2, config_text=conf) as inst:
        results, stop = [], threading.Event()
        threads = [threading.Thread(target=_fcgi_load, args=(inst, 5, results, stop), daemon=True)
                   for _ in range(4)]
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
        bad = [s for _, s in results if s != 200]
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
        report("SIGHUP with new JWKS and config during load", requests=len(results),
               failed=len(bad), lost=0)
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
