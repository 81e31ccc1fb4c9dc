"""patgate as a CGI program under a real Apache 2.4 (CONTRACT section 8),
under mod_cgi (prefork MPM) and under mod_cgid (event MPM, what Debian's
`a2enmod cgi` picks there), each a private httpd from apache.py.

The attacks are performed for real: Apache turns a query string without `=`
into the program's arguments (RFC 3875 section 4.4), so `?--listen+...` is an
anonymous client's command line; and mod_cgid cuts off an answer whose
program exits with the body unread.
"""
import atexit
import json
import os
import pwd
import socket
import threading
import time

import apache
import lib
from lib import count_rows, id_token, request, sql, unique_email

FLAVOURS = (("mod_cgi", ["cgi"], "prefork"), ("mod_cgid", ["cgid"], "event"))
NOMIG_SCHEMA = "apache_e2e_nomig"       # empty; a migration run would fill it
CAP = 65536
_servers = {}


def _server(flavour):
    """The running httpd for a flavour, started on first use.  It serves:
    /pat/v1... /api/v1... /access-token/v1...  patgate on a private config copy;
    /nomig/pat/v1...   the same, but its database's search_path is NOMIG_SCHEMA;
    /broken/pat/v1...  PATGATE_CONFIG names a file that does not exist."""
    if flavour in _servers:
        return _servers[flavour]
    _, modules, mpm = next(f for f in FLAVOURS if f[0] == flavour)
    a = apache.Apache(modules, mpm=mpm)
    try:
        conf = a.patgate_config()
        with open(conf) as f:
            url = [line.split("=", 1)[1].strip() for line in f
                   if line.startswith("database_url")][0]
        nomig = a.patgate_config("nomig", overrides={
            "database_url": url + " options=-csearch_path=" + NOMIG_SCHEMA})
        a.start(apache.cgi_locations(conf) +
                apache.cgi_locations(nomig, prefix="nomig") +
                apache.cgi_locations(os.path.join(a.dir, "missing", "patgate.conf"),
                                     prefix="broken"))
    except BaseException:
        a.cleanup()
        raise
    _servers[flavour] = a
    return a


def _stop_all():
    for a in list(_servers.values()):
        a.cleanup()
    _servers.clear()


atexit.register(_stop_all)


def _both(check):
    """Run check(name, apache) under each flavour; a failure under one does not
    stop the other, and the test fails naming every flavour that failed."""
    failures = []
    for name, _, _ in FLAVOURS:
        try:
            check(name, _server(name))
        except lib.Skip:
            raise
        except Exception as e:          # noqa: BLE001 - a failure of any kind
            failures.append("%s: %s%s" % (name, "" if isinstance(e, AssertionError)
                                          else type(e).__name__ + ": ", e))
    assert not failures, " | ".join(failures)


# ------------------------------------------------------------------ raw HTTP, read to EOF

def _exchange(port, data, timeout=15):
    """Send data (in a thread, so an answer that comes early is still read) and
    read the socket to EOF.  (bytes read, what went wrong sending or reading)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    send_error = []

    def send():
        try:
            s.sendall(data)
        except OSError as e:
            send_error.append("send: %s" % e)

    t = threading.Thread(target=send, daemon=True)
    t.start()
    out, problems = b"", []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
        else:
            problems.append("no EOF within %d s" % timeout)
    except OSError as e:
        problems.append("recv: %s" % e)
    finally:
        t.join(timeout)
        s.close()
    return out, send_error + problems


def _dechunk(body):
    out = b""
    while True:
        line, sep, rest = body.partition(b"\r\n")
        if not sep:
            raise AssertionError("chunked answer cut off in a chunk header")
        size = int(line.split(b";")[0], 16)
        if size == 0:
            return out
        if len(rest) < size + 2:
            raise AssertionError("chunked answer cut off: a %d-byte chunk has %d" %
                                 (size, len(rest)))
        out += rest[:size]
        body = rest[size + 2:]


def _whole(raw, problems=()):
    """The answer as a lib.Response, if it is whole: a status line, headers, and a
    JSON body exactly as long as its Content-Length says (or, where Apache chose
    chunked framing, ended by its last chunk).  AssertionError otherwise."""
    if not raw:
        raise AssertionError("no answer at all (%s)" % "; ".join(problems))
    if b"\r\n\r\n" not in raw:
        raise AssertionError("answer cut off in its headers: %r (%s)" % (raw[:200], problems))
    r = lib.parse_http(raw)
    cl, te = r.header("Content-Length"), r.header("Transfer-Encoding")
    if te is not None and "chunked" in te.lower():
        r.body = _dechunk(r.body)
    elif cl is not None:
        if len(r.body) != int(cl):
            raise AssertionError("answer cut off: Content-Length %s, %d bytes came (%s): %r"
                                 % (cl, len(r.body), problems, raw[:300]))
    else:
        raise AssertionError("answer has neither Content-Length nor chunked framing: %r"
                             % raw[:300])
    try:
        r.json()
    except ValueError:
        raise AssertionError("answer body is not JSON: %r" % raw[:400]) from None
    return lib.remember(r)


def _raw_request(method, path, body=b"", headers=None, chunks=None):
    """An HTTP/1.1 request as bytes; chunks (a list of bytes) makes it chunked."""
    h = {"Host": "127.0.0.1", "Connection": "close"}
    h.update(headers or {})
    if chunks is not None:
        h["Transfer-Encoding"] = "chunked"
        body = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks if c) + b"0\r\n\r\n"
    elif body or method in ("POST", "PATCH", "PUT"):
        h["Content-Length"] = str(len(body))
    head = "%s %s HTTP/1.1\r\n" % (method, path) + "".join(
        "%s: %s\r\n" % kv for kv in h.items()) + "\r\n"
    return head.encode("latin-1") + body


def _ten_of_ten(a, data, check, n=10):
    """Send the same request n times; each answer must be whole and pass check."""
    bad = []
    for i in range(n):
        raw, problems = _exchange(a.port, data)
        try:
            check(_whole(raw, problems))
        except AssertionError as e:
            bad.append("try %d: %s" % (i + 1, e))
    assert not bad, "%d of %d answers were wrong; first: %s" % (len(bad), n, bad[0])


def _json_body(size, description="apache cgi"):
    """A valid create body of exactly size bytes (padded with JSON whitespace)."""
    core = json.dumps({"days": 1, "description": description}).encode()
    assert len(core) <= size
    return core[:-1] + b" " * (size - len(core)) + b"}"


# ------------------------------------------------------------------ helpers for the attacks

def _health_ok(r, what):
    assert r.status == 200, "%s: %r" % (what, r)
    assert r.header("Content-Type").startswith("application/json"), (what, r.headers)
    assert r.json() == {"status": "ok", "database": "ok"}, (what, r)


def _get(a, path, timeout=5):
    """GET through Apache; a timeout becomes a 0 answer (the attack held the request)."""
    try:
        return request("GET", path, port=a.port, timeout=timeout)
    except (socket.timeout, TimeoutError) as e:
        r = lib.Response(0, [], b"")
        r.error = "no answer in %d s (%s)" % (timeout, e)
        return r


def _no_leftovers(a, what):
    """No process that this httpd's CGI started is still running (and if one is,
    it is killed, and the test fails saying what it was)."""
    found = a.kill_leftovers()
    assert not found, "%s: processes left running: %s" % (what, found)


# ------------------------------------------------------------------ tests

def test_apache_runs_patgate_as_a_cgi_program_as_www_data():
    www = pwd.getpwnam("www-data").pw_uid

    def check(name, a):
        _health_ok(request("GET", "/pat/v1/health", port=a.port), "health")
        kids = lib.children(a.proc.pid)         # they run the CGI programs
        assert kids, "httpd has no children"
        for pid in kids:
            with open("/proc/%d/status" % pid) as f:
                uids = [line.split()[1:] for line in f if line.startswith("Uid:")][0]
            assert all(int(u) == www for u in uids), (pid, uids)
        _no_leftovers(a, "health")
    _both(check)


def test_argv_listen_attack_on_health_starts_no_listener():
    def check(name, a):
        port = apache.free_port()
        attack = "/pat/v1/health?--listen+127.0.0.1:%d+--workers+1" % port
        r = _get(a, attack)
        now = apache.listening(port)
        time.sleep(0.5)                 # a listener that comes up a moment later
        later = apache.listening(port)
        left = a.kill_leftovers()
        assert not now and not later, "%s made a listener on 127.0.0.1:%d (%s); killed: %s" % (
            attack, port, "at once" if now else "a moment later", left)
        assert not left, "%s left processes running: %s" % (attack, left)
        assert r.status != 0, "%s: %s" % (attack, r.error)
        _health_ok(r, attack)
    _both(check)


ARGV_ATTACKS = ("--version", "--help", "--config+/etc/passwd", "-c+/etc/passwd",
                "--check-config", "-h", "--workers+1", "--nonsense", "%2D%2Dversion")


def test_argv_option_attacks_answer_the_normal_json():
    def check(name, a):
        for q in ARGV_ATTACKS:
            offset = a.error_log_size()
            r = _get(a, "/pat/v1/health?" + q)
            left = a.kill_leftovers()
            log = a.error_log_since(offset)
            assert not left, "?%s left processes: %s" % (q, left)
            assert r.status != 0, "?%s: %s" % (q, r.error)
            _health_ok(r, "?" + q)
            for word in ("/etc/passwd", "usage", "malformed header", "End of script output"):
                assert word not in log, "?%s: the error log says %r: %s" % (q, word, log[-600:])
    _both(check)


def test_argv_migrate_attack_migrates_nothing():
    applied = int(sql("SELECT count(*) FROM schema_migrations")[0][0])

    def check(name, a):
        # Where the database's search_path is an empty schema, a migration run
        # would create its tables there: none may appear.
        sql("DROP SCHEMA IF EXISTS %s CASCADE; CREATE SCHEMA %s AUTHORIZATION patgate"
            % (NOMIG_SCHEMA, NOMIG_SCHEMA))
        r = _get(a, "/nomig/pat/v1/health?--migrate")
        _no_leftovers(a, "/nomig ?--migrate")
        tables = sql("SELECT tablename FROM pg_tables WHERE schemaname = '%s'" % NOMIG_SCHEMA)
        assert not tables, "?--migrate migrated schema %s: it made %s (answer %r)" % (
            NOMIG_SCHEMA, sorted(t[0] for t in tables), r)
        assert r.status in (200, 503) and "status" in r.json(), "/nomig: %r" % r

        r = _get(a, "/pat/v1/health?--migrate")
        _no_leftovers(a, "?--migrate")
        assert int(sql("SELECT count(*) FROM schema_migrations")[0][0]) == applied
        assert b"schema is up to date" not in r.body and b"applied" not in r.body, r
        assert r.status != 0, r.error
        _health_ok(r, "?--migrate")
    _both(check)


def test_argv_attack_on_a_path_that_needs_a_caller_is_401():
    def check(name, a):
        port = apache.free_port()
        for q in ("--listen+127.0.0.1:%d+--workers+1" % port, "--version",
                  "--config+/etc/passwd", "--migrate"):
            r = _get(a, "/pat/v1?" + q)
            listened = apache.listening(port)
            left = a.kill_leftovers()
            assert not listened and not left, "/pat/v1?%s: a listener: %s, left running: %s" % (
                q, listened, left)
            assert r.status == 401, "/pat/v1?%s: %r" % (q, r)
            assert r.json()["error"] == "unauthorized", (q, r)
            assert r.header("WWW-Authenticate").startswith("Bearer"), (q, r.headers)
    _both(check)


def test_body_over_the_cap_is_a_whole_413_ten_times_of_ten():
    def check(name, a):
        email = unique_email("apache413")
        headers = {"Authorization": "Bearer " + id_token(email),
                   "Content-Type": "application/json"}

        def is_413(r):
            assert r.status == 413, r
            assert r.json()["error"] == "payload_too_large", r
        _ten_of_ten(a, _raw_request("POST", "/pat/v1", _json_body(CAP + 1), headers), is_413)
        assert count_rows("owner_email = '%s'" % email) == 0
        # 65,536 bytes are accepted.
        r = _whole(*_exchange(a.port, _raw_request("POST", "/pat/v1", _json_body(CAP), headers)))
        assert r.status == 201, r
        assert count_rows("owner_email = '%s'" % email) == 1
        _no_leftovers(a, "413")
    _both(check)


def test_patch_with_a_body_is_a_whole_405_ten_times_of_ten():
    def check(name, a):
        data = _raw_request("PATCH", "/pat/v1", b'{"days": 1, "description": "patch"}', {
            "Authorization": "Bearer " + id_token(), "Content-Type": "application/json"})

        def is_405(r):
            assert r.status == 405, r
            assert r.json()["error"] == "method_not_allowed", r
            allow = {m.strip() for m in (r.header("Allow") or "").split(",")}
            assert {"GET", "POST"} <= allow, r.headers
        _ten_of_ten(a, data, is_405)
        _no_leftovers(a, "405")
    _both(check)


def test_one_mebibyte_body_is_a_whole_413():
    def check(name, a):
        email = unique_email("apache1m")
        data = _raw_request("POST", "/pat/v1", _json_body(1 << 20), {
            "Authorization": "Bearer " + id_token(email), "Content-Type": "application/json"})
        r = _whole(*_exchange(a.port, data))
        assert r.status == 413, r
        assert r.json()["error"] == "payload_too_large", r
        assert count_rows("owner_email = '%s'" % email) == 0
        _no_leftovers(a, "1 MiB")
    _both(check)


def test_chunked_create_is_201():
    def check(name, a):
        email = unique_email("apachechunked")
        body = json.dumps({"days": 1, "description": "chunked through " + name}).encode()
        data = _raw_request("POST", "/pat/v1", headers={
            "Authorization": "Bearer " + id_token(email), "Content-Type": "application/json"},
            chunks=[body[:5], body[5:17], body[17:]])
        r = _whole(*_exchange(a.port, data))
        assert r.status == 201, r
        assert r.json()["description"] == "chunked through " + name, r
        assert count_rows("owner_email = '%s'" % email) == 1
        ok = request("GET", "/pat/v1/verify", token=r.json()["token"], port=a.port)
        assert ok.status == 200 and ok.json()["email"] == email, ok
        _no_leftovers(a, "chunked")
    _both(check)


def _chunks(body, size):
    return [body[i:i + size] for i in range(0, len(body), size)]


def test_chunked_body_over_the_cap_is_413():
    def check(name, a):
        email = unique_email("apachechunked413")
        headers = {"Authorization": "Bearer " + id_token(email),
                   "Content-Type": "application/json"}
        r = _whole(*_exchange(a.port, _raw_request(
            "POST", "/pat/v1", headers=headers, chunks=_chunks(_json_body(CAP + 1), 8000))))
        assert r.status == 413, "65,537 chunked bytes: %r" % r
        assert r.json()["error"] == "payload_too_large", r
        assert count_rows("owner_email = '%s'" % email) == 0
        r = _whole(*_exchange(a.port, _raw_request(
            "POST", "/pat/v1", headers=headers, chunks=_chunks(b"x" * (1 << 20), 65536))))
        assert r.status == 413, "1 MiB chunked: %r" % r
        # 65,536 chunked bytes are accepted.
        r = _whole(*_exchange(a.port, _raw_request(
            "POST", "/pat/v1", headers=headers, chunks=_chunks(_json_body(CAP), 8000))))
        assert r.status == 201, "65,536 chunked bytes: %r" % r
        assert count_rows("owner_email = '%s'" % email) == 1
        _no_leftovers(a, "chunked 413")
    _both(check)


def test_round_trip_through_apache_cgi():
    def check(name, a):
        email = unique_email("apacheround")
        ident = id_token(email, name="Apache Round")
        r = request("POST", "/pat/v1", token=ident, port=a.port,
                    json_body={"days": 2, "description": "round trip " + name})
        assert r.status == 201, r
        pat, pat_id = r.json()["token"], r.json()["id"]

        r = request("GET", "/pat/v1", token=ident, port=a.port)
        assert r.status == 202, r
        assert [t["id"] for t in r.json()] == [pat_id], r

        r = request("GET", "/pat/v1/verify", token=pat, port=a.port)
        assert r.status == 200, r
        assert r.json()["id"] == pat_id and r.json()["email"] == email, r
        assert r.header("X-Pat-Email") == email, r.headers

        r = request("DELETE", "/pat/v1/" + pat_id, token=ident, port=a.port)
        assert r.status == 202 and r.body == b"", r

        r = request("GET", "/pat/v1/verify", token=pat, port=a.port)
        assert r.status == 401, r
        assert r.json()["error"] == "unauthorized", r
        assert sql("SELECT revoked_at IS NOT NULL FROM pat WHERE id = '%s'" % pat_id) == [["t"]]
        _no_leftovers(a, "round trip")
    _both(check)


def test_missing_config_is_a_json_503_with_the_details_in_the_error_log():
    def check(name, a):
        missing = os.path.join(a.dir, "missing", "patgate.conf")
        offset = a.error_log_size()
        r = _get(a, "/broken/pat/v1/health")
        assert r.status == 503, r
        assert (r.header("Content-Type") or "").startswith("application/json"), r.headers
        assert r.json()["error"] == "unavailable", r
        assert missing.encode() not in r.body, "the answer names the config file: %r" % r
        assert lib.wait_for(lambda: missing in a.error_log_since(offset), 3), \
            "the error log does not name %s: %s" % (missing, a.error_log_since(offset)[-600:])
        # With a body too: it is read before the answer, so mod_cgid sends it whole.
        data = _raw_request("POST", "/broken/pat/v1", _json_body(2000), {
            "Authorization": "Bearer " + id_token(), "Content-Type": "application/json"})
        r = _whole(*_exchange(a.port, data))
        assert r.status == 503 and r.json()["error"] == "unavailable", r
        _no_leftovers(a, "missing config")
    _both(check)


def test_apache_stops_by_pid_and_leaves_nothing():
    def check(name, a):
        pid, kids, d = a.proc.pid, lib.children(a.proc.pid), a.dir
        # patgate's log lines went to this error log: no token may be in it.
        log = a.error_log()
        assert "event=" in log, "no patgate log line reached the error log"
        leaked = [tok for tok in lib.ISSUED if tok.split(".")[2] in log]
        assert not leaked, "%d issued tokens are in %s" % (len(leaked), a.error_log_path)
        left = a.stop()
        assert not left, left
        assert not os.path.exists("/proc/%d" % pid), pid
        assert lib.wait_for(lambda: all(_gone(k) for k in kids), 5), kids
        a.cleanup()
        assert not os.path.exists(d) or os.environ.get("PATGATE_KEEP_APACHE") == "1", d
    try:
        _both(check)
    finally:
        _stop_all()
        sql("DROP SCHEMA IF EXISTS %s CASCADE" % NOMIG_SCHEMA)


def _gone(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True
