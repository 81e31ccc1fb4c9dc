"""The foundation: health, routing errors, the body cap, the three ways to run,
the supervisor, configuration and migrations."""
import glob
import os
import signal
import socket
import subprocess
import time

from lib import (BIN, CONFIG, ROOT, VAR, Instance, count_rows, devstack, fcgi_begin, fcgi_connect,
                 fcgi_params, fcgi_read, fcgi_stdin, healthy, id_token, parse_http, raw_http,
                 request, run_cgi, sql, wait_for)

JSON = "application/json; charset=utf-8"


def test_health_ok():
    r = request("GET", "/pat/v1/health")
    assert r.status == 200, r
    assert r.header("Content-Type") == JSON, r.headers
    assert r.json() == {"status": "ok", "database": "ok"}


def test_unknown_path_is_404_json():
    for path in ("/pat/v1/verify/extra", "/pat/v2", "/pat/v1/a/b", "/nothing-here"):
        r = request("GET", path)
        assert r.status == 404, (path, r)
        assert r.json()["error"] == "not_found", (path, r)
        assert r.json()["message"], r


def test_wrong_method_is_405_with_allow():
    cases = [("DELETE", "/pat/v1", "GET, POST"), ("PUT", "/pat/v1", "GET, POST"),
             ("POST", "/pat/v1/verify", "GET"), ("DELETE", "/pat/v1/health", "GET"),
             ("POST", "/pat/v1/0b7c2c2e-6a43-4a39-9a4e-0e4b1d0e2a11", "GET, DELETE"),
             ("GET", "/pat/v1/introspect", "POST"), ("GET", "/api/v1", "POST")]
    for method, path, allow in cases:
        r = request(method, path)
        assert r.status == 405, (method, path, r)
        assert r.header("Allow") == allow, (method, path, r.headers)
        assert r.json()["error"] == "method_not_allowed", r


def _padded(size):
    """A valid create body of exactly size bytes (an ignored key takes the slack)."""
    head = '{"days": 1, "description": "padded", "pad": "'
    tail = '"}'
    body = head + "x" * (size - len(head) - len(tail)) + tail
    assert len(body) == size
    return body


def test_body_of_65536_bytes_is_accepted_65537_is_413():
    ident = id_token()
    ok = request("POST", "/pat/v1", body=_padded(65536), token=ident,
                 headers={"Content-Type": "application/json"})
    assert ok.status == 201, ok
    before = count_rows()
    big = request("POST", "/pat/v1", body=_padded(65537), token=ident,
                  headers={"Content-Type": "application/json"})
    assert big.status == 413, big
    assert big.json()["error"] == "payload_too_large", big
    assert count_rows() == before
    # Like nginx's own limit, an oversize body is refused before anything else.
    anon = request("POST", "/pat/v1", body=_padded(65537), headers={"Content-Type": "text/plain"})
    assert anon.status == 413, anon


def test_chunked_body_over_64k_is_413_and_under_is_accepted():
    ident = id_token()

    def chunked(body):
        data = body.encode()
        chunks = b"".join(b"%x\r\n%s\r\n" % (len(data[i:i + 4000]), data[i:i + 4000])
                          for i in range(0, len(data), 4000))
        req = (b"POST /pat/v1 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
               b"Authorization: Bearer " + ident.encode() + b"\r\n"
               b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" +
               chunks + b"0\r\n\r\n")
        return parse_http(raw_http(req))

    before = count_rows()
    big = chunked(_padded(65537))
    assert big.status == 413, big
    assert count_rows() == before
    ok = chunked(_padded(65536))
    assert ok.status == 201, ok


def test_huge_body_beyond_nginx_limit_is_413_json():
    r = request("POST", "/pat/v1", body="x" * (2 * 1024 * 1024), token=id_token(),
                headers={"Content-Type": "application/json"})
    assert r.status == 413, r
    assert r.json()["error"] == "payload_too_large"


def test_every_answer_is_uncacheable_and_has_a_request_id():
    r = request("GET", "/pat/v1/health", headers={"X-Request-Id": "abc-123"})
    assert r.header("Cache-Control") == "no-store", r.headers
    assert r.header("X-Request-Id"), r.headers


def test_plain_cgi_answers_one_request():
    r = run_cgi({"REQUEST_METHOD": "GET", "PATH_INFO": "/pat/v1/health",
                 "SCRIPT_NAME": "/cgi-bin/patgate.cgi"})
    assert r.returncode == 0, r.stderr
    assert r.status == 200, (r, r.stderr)
    assert r.header("Content-Type") == JSON
    assert b'"database":"ok"' in r.body


def test_plain_cgi_create_reads_exactly_content_length():
    body = b'{"days": 2, "description": "from cgi"}'
    r = run_cgi({"REQUEST_METHOD": "POST", "PATH_INFO": "/pat/v1",
                 "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(body)),
                 "HTTP_AUTHORIZATION": "Bearer " + id_token()}, body + b"trailing bytes")
    assert r.status == 201, (r, r.stderr)
    assert r.json()["days"] == 2


def test_cgi_fcgi_talks_to_the_worker_socket():
    env = {"REQUEST_METHOD": "GET", "SCRIPT_NAME": "/pat/v1/health",
           "GATEWAY_INTERFACE": "CGI/1.1", "PATH": "/usr/bin:/bin"}
    p = subprocess.run(["cgi-fcgi", "-bind", "-connect", os.path.join(VAR, "run", "patgate.sock")],
                       env=env, capture_output=True, timeout=30)
    assert b"Status: 200 OK" in p.stdout, p.stdout
    assert b'{"status":"ok","database":"ok"}' in p.stdout


def test_fd0_mode_under_spawn_fcgi_style_socket():
    """A listening socket on fd 0, as spawn-fcgi and mod_fcgid hand it over."""
    path = os.path.join(VAR, "run", "e2e-fd0.sock")
    if os.path.exists(path):
        os.unlink(path)
    lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    lsock.bind(path)
    lsock.listen(16)
    proc = subprocess.Popen([BIN, "--config", CONFIG], stdin=lsock.fileno(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env=dict(os.environ, PATGATE_USER=""))
    try:
        from lib import fcgi
        r = fcgi({"SCRIPT_NAME": "/pat/v1/health"}, path=path)
        assert r.status == 200, r
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        lsock.close()
        os.unlink(path)


def test_health_503_while_database_is_down_and_recovers():
    devstack("pg-stop")
    try:
        r = request("GET", "/pat/v1/health")
        assert r.status == 503, r
        assert r.json() == {"status": "unavailable", "database": "unreachable"}, r
        assert r.header("Retry-After"), r.headers
        c = request("POST", "/pat/v1", token=id_token(),
                    json_body={"days": 1, "description": "while down"})
        assert c.status == 503, c
        assert c.json()["error"] == "unavailable"
        assert c.header("Retry-After")
    finally:
        devstack("pg-start")
    assert wait_for(healthy, 5), "health did not come back within 5 s of PostgreSQL"
    # Every worker reconnects, not just the one that answered first.
    for _ in range(20):
        assert request("GET", "/pat/v1/health").status == 200


def test_worker_started_while_database_is_down_recovers_by_itself():
    devstack("pg-stop")
    try:
        with Instance(workers=1) as inst:
            r = inst.request({"SCRIPT_NAME": "/pat/v1/health"})
            assert r.status == 503 and r.header("Retry-After"), r
            devstack("pg-start")
            assert wait_for(lambda: inst.request({"SCRIPT_NAME": "/pat/v1/health"}).status
                            == 200, 5), inst.read_log()[-1000:]
            assert inst.workers() == 1
    finally:
        devstack("pg-start", check=False)
    assert wait_for(healthy, 5)


def test_worker_killed_with_sigkill_is_respawned():
    with Instance(workers=2) as inst:
        before = set(inst.worker_pids())
        victim = sorted(before)[0]
        os.kill(victim, signal.SIGKILL)
        assert wait_for(lambda: inst.workers() == 2 and victim not in inst.worker_pids(), 10), \
            inst.read_log()[-1500:]
        assert inst.proc.poll() is None, "the supervisor died"
        for _ in range(10):
            assert inst.request({"SCRIPT_NAME": "/pat/v1/health"}).status == 200
        assert "event=worker_died" in inst.read_log()


def test_sigterm_lets_the_request_in_flight_finish():
    with Instance(workers=1) as inst:
        s = fcgi_connect(inst.sock, timeout=20)
        body = b'{"days": 1, "description": "in flight"}'
        params = {"REQUEST_METHOD": "POST", "SCRIPT_NAME": "/pat/v1",
                  "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(body)),
                  "HTTP_AUTHORIZATION": "Bearer " + id_token(), "GATEWAY_INTERFACE": "CGI/1.1"}
        # Half a request: the worker has accepted it and waits for the body.
        s.sendall(fcgi_begin() + fcgi_params(params))
        time.sleep(0.3)
        inst.proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        assert inst.proc.poll() is None, "the supervisor exited with a request in flight"
        s.sendall(fcgi_stdin(body))
        r = fcgi_read(s)
        s.close()
        assert r.status == 201, r
        assert inst.proc.wait(10) == 0
        assert not os.path.exists(inst.sock), "the socket was left behind"


def test_sighup_reloads_configuration_without_dropping_requests():
    conf = open(CONFIG).read()
    with Instance(workers=2, config_text=conf) as inst:
        old = set(inst.worker_pids())
        with open(inst.config, "w") as f:
            f.write(conf + "max_days = 5\n")
        inst.proc.send_signal(signal.SIGHUP)
        failures = 0
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            if inst.request({"SCRIPT_NAME": "/pat/v1/health"}).status != 200:
                failures += 1
        assert failures == 0
        assert wait_for(lambda: not (set(inst.worker_pids()) & old), 10)
        r = inst.request({"REQUEST_METHOD": "POST", "SCRIPT_NAME": "/pat/v1",
                          "CONTENT_TYPE": "application/json",
                          "HTTP_AUTHORIZATION": "Bearer " + id_token()},
                         b'{"days": 6, "description": "over the new max"}')
        assert r.status == 400 and r.json()["field"] == "days", r


def test_bad_configuration_stops_startup_with_file_line_and_key(tmp=None):
    path = os.path.join(VAR, "run", "e2e-bad.conf")
    good = open(CONFIG).read()
    cases = [("no_such_key = 1\n", "no_such_key"), ("max_days = lots\n", "max_days"),
             ("trust_remote_user = maybe\n", "trust_remote_user")]
    for extra, key in cases:
        with open(path, "w") as f:
            f.write(good + extra)
        os.chmod(path, 0o600)
        p = subprocess.run([BIN, "--config", path, "--check-config"], capture_output=True,
                           text=True)
        line = len(good.splitlines()) + 1
        assert p.returncode != 0, (extra, p)
        msg = p.stderr.strip()
        assert len(msg.splitlines()) == 1, msg
        assert "%s:%d: %s:" % (path, line, key) in msg, msg
    os.unlink(path)
    p = subprocess.run([BIN, "--config", CONFIG, "--check-config"], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr


def test_secret_file_readable_by_others_is_refused():
    secret = os.path.join(VAR, "run", "e2e-secret")
    with open(os.path.join(VAR, "keys", "pat-secret")) as f:
        value = f.read()
    with open(secret, "w") as f:
        f.write(value)
    try:
        for mode in (0o644, 0o640):
            os.chmod(secret, mode)
            p = subprocess.run([BIN, "--config", CONFIG, "--check-config"], capture_output=True,
                               text=True, env=dict(os.environ, PATGATE_SECRET_FILE=secret))
            assert p.returncode != 0
            assert "secret_file" in p.stderr and "chmod 600" in p.stderr, p.stderr
        os.chmod(secret, 0o600)
        p = subprocess.run([BIN, "--config", CONFIG, "--check-config"], capture_output=True,
                           text=True, env=dict(os.environ, PATGATE_SECRET_FILE=secret))
        assert p.returncode == 0, p.stderr
    finally:
        os.unlink(secret)


def test_migrate_twice_changes_nothing():
    before = sql("SELECT version, applied_at FROM schema_migrations ORDER BY version")
    p = subprocess.run([BIN, "--config", CONFIG, "--migrate"], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert "0 applied now" in p.stdout, p.stdout
    assert sql("SELECT version, applied_at FROM schema_migrations ORDER BY version") == before
    assert [v for v, _ in before] == [
        os.path.basename(f)[:-4] for f in sorted(glob.glob(os.path.join(ROOT, "sql", "0*.sql")))]


def test_worker_facing_an_old_schema_answers_503_then_recovers_after_migrate():
    db = "patgate_e2e_schema"
    devstack("psql", "-c", "DROP DATABASE IF EXISTS %s" % db)
    devstack("psql", "-c", "CREATE DATABASE %s OWNER patgate" % db)
    url = [line for line in open(CONFIG) if line.startswith("database_url")][0]
    url = url.split("=", 1)[1].strip().replace("dbname=patgate", "dbname=" + db)
    env = {"PATGATE_DATABASE_URL": url}
    try:
        with Instance(workers=1, env=env) as inst:
            r = inst.request({"SCRIPT_NAME": "/pat/v1/health"})
            assert r.status == 503, r
            assert r.json() == {"status": "unavailable", "database": "schema_outdated"}, r
            c = inst.request({"REQUEST_METHOD": "POST", "SCRIPT_NAME": "/pat/v1",
                              "CONTENT_TYPE": "application/json",
                              "HTTP_AUTHORIZATION": "Bearer " + id_token()},
                             b'{"days": 1, "description": "x"}')
            assert c.status == 503 and "--migrate" in c.json()["message"], c
            assert "patgate.fcgi --migrate" in inst.read_log()
            p = subprocess.run([BIN, "--config", CONFIG, "--migrate"], capture_output=True,
                               text=True, env=dict(os.environ, **env))
            known = len(glob.glob(os.path.join(ROOT, "sql", "0*.sql")))
            assert p.returncode == 0 and "%d applied now" % known in p.stdout, (p.stdout, p.stderr)
            assert wait_for(lambda: inst.request({"SCRIPT_NAME": "/pat/v1/health"}).status
                            == 200, 5)
    finally:
        devstack("psql", "-c", "DROP DATABASE IF EXISTS %s" % db)


def test_sighup_says_which_keys_need_a_restart_and_keeps_them():
    keep = [line for line in open(CONFIG).read().splitlines()
            if not line.startswith(("workers", "user"))]
    with Instance(workers=2, config_text="\n".join(keep) + "\n") as inst:
        with open(inst.config, "w") as f:
            f.write("\n".join(keep + ["workers = 3", "user = nobody",
                                     "max_tokens_per_user = 7"]) + "\n")
        os.kill(inst.proc.pid, signal.SIGHUP)
        assert wait_for(lambda: "event=reloaded" in inst.read_log(), 10), inst.read_log()[-800:]
        log = inst.read_log()
        assert "event=reload_needs_restart key=workers" in log, log[-800:]
        assert "event=reload_needs_restart key=user" in log, log[-800:]
        assert "key=max_tokens_per_user" not in log
        time.sleep(1)
        assert wait_for(lambda: inst.workers() == 2, 10), inst.workers()
        assert inst.request({"SCRIPT_NAME": "/pat/v1/health"}).status == 200
