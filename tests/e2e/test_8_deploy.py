"""Every way of running patgate, each from its shipped sample and each
through the real server that runs it: Apache 2.4 (mod_cgi, mod_cgid,
mod_fcgid, mod_proxy_fcgi, Basic auth, suexec with userdir), spawn-fcgi and
systemd-socket-activate.  A test edits only what a sample says to edit (its
Define lines, the paths at the wrapper's top), as a user would.

Each surface is driven through the same checks (drive): health, create,
list, get, verify before and after delete, the /api/v1 alias, and the 415,
413, 401 (with WWW-Authenticate), 405 (with Allow) and 404 answers, every
one of them JSON.  Beside them, the Apache behaviours the README warns about
are shown for real, so that the warnings stay true.
"""
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

import apache
import lib
from lib import count_rows, id_token, request, unique_email

CAP = 65536
PROGRAM = os.path.realpath(lib.BIN)


# ------------------------------------------------------------------ one surface, the contract through it

def _json(surface, r, status, error=None, what=""):
    """r has this status and a JSON body (with this error code); the body."""
    assert r.status == status, "%s: %s: wanted %d, got %r %r" % (
        surface, what, status, r, r.headers)
    ct = r.header("Content-Type") or ""
    assert ct.startswith("application/json"), "%s: %s: Content-Type %r: %r" % (
        surface, what, ct, r)
    body = r.json()
    if error is not None:
        assert body.get("error") == error, "%s: %s: %r" % (surface, what, body)
    return body


def drive(surface, port, prefix="", rows=None, challenge='Bearer realm="patgate"'):
    """The contract through one surface, on 127.0.0.1:port under prefix.
    rows(email) counts that owner's rows in the database the surface uses."""
    rows = rows or (lambda email: count_rows("owner_email = '%s'" % email))

    def req(method, path, **kw):
        return request(method, prefix + path, port=port, **kw)

    body = _json(surface, req("GET", "/pat/v1/health"), 200, what="health")
    assert body == {"status": "ok", "database": "ok"}, (surface, body)

    email = unique_email("deploy")
    ident = id_token(email, name="Deploy User")
    made = _json(surface, req("POST", "/pat/v1", token=ident, json_body={
        "days": 2, "description": "through " + surface}), 201, what="create")
    pat, pat_id = made["token"], made["id"]

    listed = _json(surface, req("GET", "/pat/v1", token=ident), 202, what="list")
    assert [t["id"] for t in listed] == [pat_id], (surface, listed)
    got = _json(surface, req("GET", "/pat/v1/" + pat_id, token=ident), 200, what="get")
    assert got["id"] == pat_id and got["createdBy"] == email, (surface, got)

    r = req("GET", "/pat/v1/verify", token=pat)
    ok = _json(surface, r, 200, what="verify")
    assert ok["active"] is True and ok["email"] == email, (surface, ok)
    assert r.header("X-Pat-Email") == email and r.header("X-Pat-Id") == pat_id, (
        surface, r.headers)

    alias = _json(surface, req("POST", "/api/v1", token=ident, json_body={
        "days": 1, "description": "the /api/v1 alias"}), 201, what="POST /api/v1")
    assert alias["description"] == "the /api/v1 alias", (surface, alias)

    r = req("DELETE", "/pat/v1/" + pat_id, token=ident)
    assert r.status == 202 and r.body == b"", "%s: delete: %r" % (surface, r)
    r = req("GET", "/pat/v1/verify", token=pat)
    _json(surface, r, 401, "unauthorized", "verify after delete")
    assert 'error="invalid_token"' in (r.header("WWW-Authenticate") or ""), (surface, r.headers)
    _json(surface, req("GET", "/pat/v1/" + pat_id, token=ident), 404, "not_found",
          "get after delete")

    _json(surface, req("POST", "/pat/v1", token=ident, body=b'{"days": 1, "description": "x"}',
                       headers={"Content-Type": "text/plain"}), 415,
          "unsupported_media_type", "text/plain body")
    big = json.dumps({"days": 1, "description": "too large"}).encode()
    big = big[:-1] + b" " * (CAP + 1 - len(big)) + b"}"
    _json(surface, req("POST", "/pat/v1", token=ident, body=big,
                       headers={"Content-Type": "application/json"}), 413,
          "payload_too_large", "65,537 bytes")
    r = req("GET", "/pat/v1")
    assert r.status == 401, "%s: no credential: %r" % (surface, r)
    assert challenge in (r.header("WWW-Authenticate") or ""), (surface, r.headers)
    assert r.json()["error"] == "unauthorized", (surface, r)
    r = req("PUT", "/pat/v1", token=ident, json_body={"days": 1})
    _json(surface, r, 405, "method_not_allowed", "PUT /pat/v1")
    allow = {m.strip() for m in (r.header("Allow") or "").split(",")}
    assert {"GET", "POST"} <= allow, (surface, r.headers)
    _json(surface, req("GET", "/pat/v1/no/such/thing", token=ident), 404, "not_found",
          "unknown path")
    assert rows(email) == 2, "%s: %d rows for %s, not 2" % (surface, rows(email), email)
    return email


def _started(a, config):
    try:
        return a.start(config)
    except BaseException:
        a.cleanup()
        raise


def _is_www_data(pids):
    www = pwd.getpwnam("www-data").pw_uid
    for pid in pids:
        with open("/proc/%d/status" % pid) as f:
            uids = [line.split()[1:] for line in f if line.startswith("Uid:")][0]
        assert all(int(u) == www for u in uids), (pid, uids)


def _programs():
    """PIDs of running patgate programs started from this build."""
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                if os.readlink("/proc/%s/exe" % d) == PROGRAM:
                    out.append(int(d))
            except OSError:
                pass
    return out


# ------------------------------------------------------------------ plain CGI: cgi.conf

CGI_FLAVOURS = (("mod_cgi", ["cgi", "headers"], "prefork"),
                ("mod_cgid", ["cgid", "headers"], "event"))


def test_cgi_sample_under_mod_cgi_and_mod_cgid():
    failures = []
    for name, modules, mpm in CGI_FLAVOURS:
        a = apache.Apache(modules, mpm=mpm)
        try:
            conf = a.patgate_config()
            _started(a, apache.include(a, "cgi.conf", apache.sample(
                "cgi.conf", PATGATE_PROGRAM=PROGRAM, PATGATE_CONFIG=conf)))
            drive("cgi.conf under " + name, a.port)
            # A body of 1 MiB is read to its end and answered whole; past that
            # Apache answers, still in JSON.
            ident = id_token()
            for size, status in ((1 << 20, 413), ((1 << 20) + 1, 413)):
                r = request("POST", "/pat/v1", port=a.port, token=ident, body=b" " * size,
                            headers={"Content-Type": "application/json"})
                _json(name, r, status, "payload_too_large", "%d bytes" % size)
            # A configuration that cannot be read: JSON 503, the reason in the log.
            os.chmod(conf, 0o644)
            try:
                r = request("GET", "/pat/v1/health", port=a.port)
                _json(name, r, 503, "unavailable", "readable config")
            finally:
                os.chmod(conf, 0o600)
            assert lib.wait_for(lambda: "chmod 600" in a.error_log(), 3), a.error_log()[-800:]
        except Exception as e:          # noqa: BLE001 - report both flavours
            failures.append("%s: %s" % (name, e))
        finally:
            a.cleanup()
    assert not failures, " | ".join(failures)


# ------------------------------------------------------------------ mod_fcgid: fcgid.conf

def _raw(method, path, headers, body=b"", chunks=None):
    h = {"Host": "127.0.0.1", "Connection": "close"}
    h.update(headers)
    if chunks is not None:
        h["Transfer-Encoding"] = "chunked"
        body = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"
    else:
        h["Content-Length"] = str(len(body))
    head = "%s %s HTTP/1.1\r\n" % (method, path) + "".join(
        "%s: %s\r\n" % kv for kv in h.items()) + "\r\n"
    return head.encode() + body


def _send(port, data, timeout=20):
    """Send raw bytes, read to EOF; the answer as a lib.Response."""
    raw = lib.raw_http(data, port=port, timeout=timeout)
    r = lib.parse_http(raw)
    if "chunked" in (r.header("Transfer-Encoding") or ""):
        out, body = b"", r.body
        while True:
            line, _, body = body.partition(b"\r\n")
            n = int(line.split(b";")[0], 16)
            if n == 0:
                break
            out, body = out + body[:n], body[n + 2:]
        r.body = out
    return lib.remember(r)


def _fcgid_pids(a):
    """The workers mod_fcgid started for this server (children of its process manager)."""
    return [p for p in _programs() if any(p in lib.children(k) for k in lib.children(a.proc.pid))]


def test_fcgid_sample():
    a = apache.Apache(["fcgid", "headers"], mpm="event")
    try:
        conf = a.patgate_config()
        limited = ('ScriptAliasMatch "^/limited/(pat/v1.*)$" "%s/$1"\n'
                   '<LocationMatch "^/limited/">\n    SetHandler fcgid-script\n'
                   '    Options +ExecCGI\n    CGIPassAuth On\n    Require all granted\n'
                   '    LimitRequestBody 65536\n</LocationMatch>\n' % PROGRAM)
        _started(a, apache.include(a, "fcgid.conf", apache.sample(
            "fcgid.conf", PATGATE_PROGRAM=PROGRAM, PATGATE_CONFIG=conf)) + limited)
        drive("fcgid.conf", a.port)
        workers = _fcgid_pids(a)
        assert workers, "no patgate worker under mod_fcgid"
        _is_www_data(workers)

        h = {"Authorization": "Bearer " + id_token(), "Content-Type": "application/json"}
        # Chunked bodies reach patgate whole (mod_fcgid reads them first).
        body = json.dumps({"days": 1, "description": "chunked via fcgid"}).encode()
        r = _send(a.port, _raw("POST", "/pat/v1", h, chunks=[body[:7], body[7:]]))
        _json("fcgid", r, 201, what="chunked create")
        r = _send(a.port, _raw("POST", "/pat/v1", h, chunks=[b" " * 8192] * 8 + [b" "]))
        _json("fcgid", r, 413, "payload_too_large", "65,537 chunked bytes")
        # Over FcgidMaxRequestLen: refused by the sample's <If>, in JSON.
        r = _send(a.port, _raw("POST", "/pat/v1", h, b" " * ((1 << 20) + 1)))
        _json("fcgid", r, 413, "payload_too_large", "1 MiB + 1")
        # Why the sample warns against LimitRequestBody under mod_fcgid: over
        # it, the body is dropped and the request still passed on.
        r = _send(a.port, _raw("POST", "/limited/pat/v1", h, b" " * (CAP + 1)))
        assert r.status == 400 and r.json()["error"] == "invalid_json", (
            "LimitRequestBody under mod_fcgid no longer passes an empty body on "
            "(fix the comment in conf/apache/fcgid.conf): %r" % r)
    finally:
        a.cleanup()
    assert lib.wait_for(lambda: not [p for p in workers if os.path.exists("/proc/%d" % p)], 10), \
        "mod_fcgid's workers outlived Apache: %s" % workers


def test_fcgid_worker_with_a_bad_config_answers_json_503():
    for what, env in (("InitialEnv names a missing file", None),
                      ("SetEnv only (which mod_fcgid never gives the worker)", "setenv")):
        a = apache.Apache(["fcgid", "headers"], mpm="event")
        try:
            missing = os.path.join(a.dir, "missing", "patgate.conf")
            text = apache.sample("fcgid.conf", PATGATE_PROGRAM=PROGRAM, PATGATE_CONFIG=missing)
            if env == "setenv":
                real = a.patgate_config()
                text = re.sub(r"\n *InitialEnv [^\n]*\\\n", "\n", text)
                assert "InitialEnv" not in text.split("FcgidCmdOptions")[1], text
                text = text.replace("    CGIPassAuth On\n", "    CGIPassAuth On\n"
                                    "    SetEnv PATGATE_CONFIG %s\n" % real)
            _started(a, apache.include(a, "fcgid.conf", text))
            for _ in range(3):
                r = request("GET", "/pat/v1/health", port=a.port)
                _json(what, r, 503, "unavailable", "health")
                assert "misconfigured" in r.json()["message"], (what, r)
            workers = _fcgid_pids(a)
            assert len(workers) == 1, "%s: one worker answers them all, not %s" % (what, workers)
            log = a.error_log()
            want = missing if env is None else "/patgate/patgate.conf: secret_file: must be set"
            assert want in log, "%s: the error log does not say %r: %s" % (what, want, log[-800:])
            if env == "setenv":
                assert real not in log, log[-800:]
        finally:
            a.cleanup()


# ------------------------------------------------------------------ mod_proxy_fcgi: proxy-fcgi.conf to --listen

PROXY_MODULES = ["proxy", "proxy_fcgi", "buffer", "headers"]


def _proxy(socket_path, edit=None):
    """A started Apache with proxy-fcgi.conf pointed at socket_path (edit: text -> text)."""
    a = apache.Apache(PROXY_MODULES, mpm="event")
    text = apache.sample("proxy-fcgi.conf", PATGATE_SOCKET=socket_path)
    return _started(a, apache.include(a, "proxy-fcgi.conf", edit(text) if edit else text))


def _trickle(port, body, results, i, rate=8):
    """POST body at rate bytes a second; results[i] = (status, seconds)."""
    t0 = time.monotonic()
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        s.sendall(("POST /pat/v1 HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
                   "Content-Type: application/json\r\nContent-Length: %d\r\n"
                   "Connection: close\r\n\r\n" % (id_token(), len(body))).encode())
        for k in range(0, len(body), rate):
            s.sendall(body[k:k + rate])
            time.sleep(1)
        raw = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            raw += chunk
        s.close()
        results[i] = (lib.remember(lib.parse_http(raw)).status, time.monotonic() - t0)
    except OSError as e:
        results[i] = (str(e), time.monotonic() - t0)


def test_proxy_fcgi_sample_to_listen():
    with lib.Instance(workers=2) as inst:
        a = _proxy(inst.sock)
        try:
            drive("proxy-fcgi.conf", a.port)
            # Sequential requests each get a fresh connection: none waits on
            # a pooled one that a worker holds (enablereuse=on did).
            t0 = time.monotonic()
            codes = [request("GET", "/pat/v1/health", port=a.port, timeout=10).status
                     for _ in range(12)]
            assert codes == [200] * 12 and time.monotonic() - t0 < 5, (codes, time.monotonic() - t0)
        finally:
            a.cleanup()
    # The workers stopped: Apache's 503, in JSON, with Retry-After.
    a = _proxy(inst.sock)
    try:
        r = request("GET", "/pat/v1/health", port=a.port)
        _json("proxy-fcgi.conf, no workers", r, 503, "unavailable")
        assert r.header_all("Retry-After") == ["5"], r.headers
    finally:
        a.cleanup()


def test_proxy_fcgi_passes_patgate_own_503_untouched():
    dead = "host=127.0.0.1 port=%d dbname=patgate user=patgate connect_timeout=2" % (
        apache.free_port())
    with lib.Instance(workers=1, env={"PATGATE_DATABASE_URL": dead}) as inst:
        a = _proxy(inst.sock)
        try:
            r = request("GET", "/pat/v1/health", port=a.port)
            assert r.status == 503 and r.json() == {"status": "unavailable",
                                                    "database": "unreachable"}, r
            assert r.header_all("Retry-After") == ["5"], r.headers
        finally:
            a.cleanup()


def test_proxy_fcgi_needs_cgipassauth():
    with lib.Instance(workers=1) as inst:
        a = _proxy(inst.sock, lambda t: t.replace("    CGIPassAuth On\n", ""))
        try:
            r = request("POST", "/pat/v1", port=a.port, token=id_token(),
                        json_body={"days": 1, "description": "no CGIPassAuth"})
            assert r.status == 401 and 'error="invalid_token"' not in (
                r.header("WWW-Authenticate") or ""), (
                "without CGIPassAuth the Authorization header reached patgate: %r" % r)
        finally:
            a.cleanup()


def test_proxy_fcgi_health_answers_while_slow_uploads_run():
    """Three clients sending their bodies at 8 bytes a second, with two workers."""
    with lib.Instance(workers=2) as inst:
        a = _proxy(inst.sock)
        try:
            body = json.dumps({"days": 1, "description": "slow upload"}).encode()
            results = [None] * 3
            slow = [threading.Thread(target=_trickle, args=(a.port, body, results, i))
                    for i in range(3)]
            for t in slow:
                t.start()
            time.sleep(1.2)             # each has sent its headers and started its body
            waits = []
            for _ in range(4):
                t0 = time.monotonic()
                r = request("GET", "/pat/v1/health", port=a.port, timeout=20)
                waits.append(round(time.monotonic() - t0, 3))
                assert r.status == 200, r
                time.sleep(0.5)
            busy = all(t.is_alive() for t in slow)
            for t in slow:
                t.join(30)
            assert max(waits) < 1, "health waited %s s behind slow uploads" % waits
            assert busy, "the uploads ended before health was asked: %s" % results
            assert [r[0] for r in results] == [201] * 3, results
        finally:
            a.cleanup()


# ------------------------------------------------------------------ Basic auth: basic-auth.conf on each of the others

BASIC_MODULES = ["auth_basic", "authn_core", "authn_file", "authz_user", "headers"]


def _basic_header(user, password):
    import base64
    return {"Authorization": "Basic " + base64.b64encode(
        ("%s:%s" % (user, password)).encode()).decode()}


def _basic_checks(surface, port, user, password):
    basic = _basic_header(user, password)
    r = request("POST", "/pat/v1", port=port, headers=basic,
                json_body={"days": 1, "description": "made by a Basic user"})
    made = _json(surface, r, 201, what="create as the Basic user")
    r = request("POST", "/api/v1", port=port, headers=basic,
                json_body={"days": 1, "description": "the alias, as the Basic user"})
    _json(surface, r, 201, what="POST /api/v1 as the Basic user")
    listed = _json(surface, request("GET", "/pat/v1", port=port, headers=basic), 202,
                   what="list as the Basic user")
    assert made["id"] in [t["id"] for t in listed], (surface, listed)
    assert {t["createdBy"] for t in listed} == {user}, (surface, listed)
    ok = _json(surface, request("GET", "/pat/v1/verify", port=port, token=made["token"]), 200,
               what="verify the Basic user's PAT")
    assert ok["email"] == user, (surface, ok)
    for creds in (_basic_header(user, "wrong"), {}):
        r = request("GET", "/api/v1", port=port, headers=creds)
        _json(surface, r, 401, "unauthorized", "/api/v1 with %r" % creds)
        assert r.header("WWW-Authenticate") == 'Basic realm="patgate"', (surface, r.headers)
    # health and verify need no caller; verify's 401 is patgate's own.
    _json(surface, request("GET", "/pat/v1/health", port=port), 200, what="open health")
    r = request("GET", "/pat/v1/verify", port=port)
    _json(surface, r, 401, "unauthorized", "verify without a token")
    assert r.header("WWW-Authenticate") == 'Bearer realm="patgate"', (surface, r.headers)


def test_basic_auth_sample_on_cgi_fcgid_and_proxy_fcgi():
    user, password = "basic-" + os.urandom(5).hex(), "s3cret-" + os.urandom(4).hex()
    failures = []
    with lib.Instance(workers=1, env={"PATGATE_TRUST_REMOTE_USER": "on"}) as inst:
        for name, modules in (("cgi.conf", ["cgi"]), ("fcgid.conf", ["fcgid"]),
                              ("proxy-fcgi.conf", PROXY_MODULES)):
            a = apache.Apache(modules + BASIC_MODULES, mpm="prefork" if name == "cgi.conf"
                              else "event")
            try:
                htpasswd = os.path.join(a.dir, "patgate.htpasswd")
                subprocess.run(["htpasswd", "-c", "-b", "-B", htpasswd, user, password],
                               check=True, capture_output=True)
                conf = a.patgate_config(overrides={"trust_remote_user": "on"})
                base = apache.sample(name, **({"PATGATE_SOCKET": inst.sock}
                                              if name == "proxy-fcgi.conf" else
                                              {"PATGATE_PROGRAM": PROGRAM,
                                               "PATGATE_CONFIG": conf}))
                _started(a, apache.include(a, name, base) + apache.include(
                    a, "basic-auth.conf", apache.sample("basic-auth.conf",
                                                        PATGATE_HTPASSWD=htpasswd)))
                surface = "basic-auth.conf on " + name
                drive(surface, a.port, challenge='Basic realm="patgate"')
                _basic_checks(surface, a.port, user, password)
            except Exception as e:      # noqa: BLE001 - report every surface
                failures.append("%s: %s" % (name, e))
            finally:
                a.cleanup()
    assert not failures, " | ".join(failures)


# ------------------------------------------------------------------ shared hosting: suexec, userdir, a hosted PostgreSQL

HOST_USER = "pgtestuser"
SUEXEC_LOG = "/var/log/apache2/suexec.log"


class HostedPostgres:
    """A private PostgreSQL cluster on 127.0.0.1 that takes passwords over TCP,
    as a hosting provider's database server does; one role and database."""

    def __init__(self, role):
        self.dir = tempfile.mkdtemp(prefix="patgate-hostedpg-")
        self.role, self.password = role, "pw-" + os.urandom(12).hex()
        self.superpw = "su-" + os.urandom(12).hex()
        pg = pwd.getpwnam("postgres")
        os.chown(self.dir, pg.pw_uid, pg.pw_gid)
        os.chmod(self.dir, 0o700)
        self.data = os.path.join(self.dir, "data")
        pwfile = os.path.join(self.dir, "superuser.pw")
        with open(pwfile, "w") as f:
            f.write(self.superpw)
        os.chown(pwfile, pg.pw_uid, pg.pw_gid)
        self._pg(os.path.join(lib.PGBIN, "initdb"), "-D", self.data, "-U", "postgres",
                 "--auth=scram-sha-256", "--pwfile=" + pwfile, "-E", "UTF8", "--no-locale",
                 "--no-sync")
        os.unlink(pwfile)
        last = ""
        for _ in range(3):
            self.port = apache.free_port()
            p = self._pg(os.path.join(lib.PGBIN, "pg_ctl"), "-D", self.data, "-l",
                         os.path.join(self.dir, "postgresql.log"), "-w", "-t", "30", "start",
                         "-o", "-c listen_addresses=127.0.0.1 -c port=%d "
                         "-c unix_socket_directories=%s -c fsync=off" % (self.port, self.dir),
                         check=False)
            if p.returncode == 0:
                break
            last = p.stdout + p.stderr
        else:
            raise AssertionError("the hosted PostgreSQL did not start: %s" % last)
        self.psql("CREATE ROLE %s LOGIN PASSWORD '%s'" % (role, self.password))
        self.psql("CREATE DATABASE %s OWNER %s" % (role, role))

    @staticmethod
    def _pg(*cmd, check=True):
        p = subprocess.run(["/usr/sbin/runuser", "-u", "postgres", "--", *cmd], capture_output=True,
                           text=True, timeout=60, cwd="/")
        if check and p.returncode != 0:
            raise AssertionError("%s: %s%s" % (cmd[0], p.stdout, p.stderr))
        return p

    def url(self):
        return "host=127.0.0.1 port=%d dbname=%s user=%s password=%s" % (
            self.port, self.role, self.role, self.password)

    def psql(self, query, db="postgres"):
        """Run SQL as the superuser over TCP; rows as lists of strings."""
        out = subprocess.run([os.path.join(lib.PGBIN, "psql"), "-X", "-q", "-At", "-F", "\t",
                              "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(self.port),
                              "-U", "postgres", "-d", db, "-c", query],
                             env=dict(os.environ, PGPASSWORD=self.superpw), check=True,
                             capture_output=True, text=True, timeout=30).stdout
        return [line.split("\t") for line in out.splitlines() if line]

    def stop(self):
        self._pg(os.path.join(lib.PGBIN, "pg_ctl"), "-D", self.data, "-m", "fast", "-w",
                 "stop", check=False)
        shutil.rmtree(self.dir, ignore_errors=True)


def _ensure_user():
    try:
        return pwd.getpwnam(HOST_USER)
    except KeyError:
        subprocess.run(["/usr/sbin/useradd", "-m", "-s", "/bin/sh", HOST_USER], check=True)
        return pwd.getpwnam(HOST_USER)


def _host_user():
    """The unprivileged hosting customer, made if absent, with no kit left from before."""
    pw = _ensure_user()
    for d in ("public_html", "patgate"):
        shutil.rmtree(os.path.join(pw.pw_dir, d), ignore_errors=True)
    return pw


def _as_user(script, user=HOST_USER, timeout=120):
    """Run a shell script as the user, in their home, with a login's HOME."""
    home = pwd.getpwnam(user).pw_dir
    p = subprocess.run(["/usr/sbin/runuser", "-u", user, "--", "sh", "-euc", script], cwd=home,
                       env={"HOME": home, "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C"},
                       capture_output=True, text=True, timeout=timeout)
    assert p.returncode == 0, "as %s: %s\n%s%s" % (user, script, p.stdout, p.stderr)
    return p.stdout


def _install_kit(pw, db):
    """README.md's "Shared hosting" steps, run as the user in their shell."""
    build = os.path.dirname(PROGRAM)
    # 1. make install into their home.  The build is root's: bring it up to date first.
    subprocess.run(["make", "-s", "-C", build], check=True, capture_output=True, timeout=300)
    lib.grant_search(HOST_USER, build)
    _as_user("make -s -C %s install prefix=$HOME/patgate >/dev/null" % build)
    conf_dir = os.path.join(pw.pw_dir, "patgate", "etc", "patgate")
    shutil.copy(os.path.join(lib.VAR, "oidc", "jwks.json"), "/tmp/patgate-hosting-jwks.json")
    os.chmod("/tmp/patgate-hosting-jwks.json", 0o644)
    _as_user(r"""
cd $HOME/patgate/etc/patgate
test "$(stat -c %%a patgate.conf)" = 600
(umask 077
 openssl rand 48 | basenc --base64url -w0 >pat-secret
 openssl rand 32 | basenc --base64url -w0 >pepper)
cp /tmp/patgate-hosting-jwks.json jwks.json
cat >>patgate.conf <<CONF
database_url = %s
secret_file = $HOME/patgate/etc/patgate/pat-secret
pepper_file = $HOME/patgate/etc/patgate/pepper
oidc_issuer = %s
oidc_audience = %s
oidc_jwks_file = $HOME/patgate/etc/patgate/jwks.json
CONF
$HOME/patgate/bin/patgate.fcgi --config $HOME/patgate/etc/patgate/patgate.conf --migrate
mkdir -p $HOME/public_html/cgi-bin
cp $HOME/patgate/share/patgate/cgi-bin/patgate.cgi $HOME/public_html/cgi-bin/
cp $HOME/patgate/share/patgate/cgi-bin/htaccess.sample $HOME/public_html/cgi-bin/.htaccess
sed -i "s|/home/USER|$HOME|" $HOME/public_html/cgi-bin/patgate.cgi
chmod 711 $HOME
chmod 755 $HOME/public_html $HOME/public_html/cgi-bin $HOME/public_html/cgi-bin/patgate.cgi
""" % (db.url(), lib.OIDC_ISSUER, lib.OIDC_AUDIENCE))
    os.unlink("/tmp/patgate-hosting-jwks.json")
    return os.path.join(conf_dir, "patgate.conf")


# The host's side: Debian's stock userdir.conf, suexec as Debian ships it (for
# ~user requests mod_userdir calls it; mod_suexec is needed only for
# SuexecUserGroup), and CGI in each ~/public_html/cgi-bin as Apache's per-user
# web directory howto has it.
HOST_CONFIG = """
Include /etc/apache2/mods-available/userdir.conf
<Directory "/home/*/public_html/cgi-bin/">
    Options ExecCGI
    SetHandler cgi-script
</Directory>
<FilesMatch "^\\.ht">
    Require all denied
</FilesMatch>
"""


def test_shared_hosting_under_suexec_and_userdir():
    if not os.path.exists("/usr/lib/apache2/suexec"):
        raise lib.Skip("apache2-suexec-custom is not installed")
    pw = _host_user()
    db = HostedPostgres("hosted_" + os.urandom(3).hex())
    failures = []
    try:
        config = _install_kit(pw, db)
        cgi_bin = os.path.join(pw.pw_dir, "public_html", "cgi-bin")
        # Beside the kit, what it avoids: the program itself with SetEnv (which
        # suexec drops), and the wrapper under a .htaccess that grants nothing
        # more than Debian's userdir does (another name: the kit's <Files
        # "patgate.cgi"> would match it in a subdirectory too).
        _as_user(r"""
cd $HOME/public_html/cgi-bin
mkdir setenv nogrant
cp $HOME/patgate/bin/patgate.fcgi setenv/direct.cgi
printf '<Files "direct.cgi">\n CGIPassAuth On\n SetEnv PATGATE_CONFIG %s\n</Files>\n' >setenv/.htaccess
cp patgate.cgi nogrant/other.cgi
sed -e '/Require all granted/d' -e 's/patgate\.cgi/other.cgi/' .htaccess >nogrant/.htaccess
chmod 755 setenv nogrant
""" % config)
        rows = lambda email: int(db.psql("SELECT count(*) FROM pat WHERE owner_email = '%s'"
                                         % email, db=db.role)[0][0])
        prefix = "/~%s/cgi-bin" % HOST_USER
        for name, modules, mpm in CGI_FLAVOURS:
            a = apache.Apache(modules + ["userdir"], mpm=mpm)
            try:
                _started(a, HOST_CONFIG)
                try:
                    before = os.path.getsize(SUEXEC_LOG)
                except OSError:
                    before = 0
                surface = "shared hosting under %s" % name
                drive(surface, a.port, prefix + "/patgate.cgi", rows=rows)
                with open(SUEXEC_LOG, errors="replace") as f:
                    f.seek(before)
                    ran = f.read()
                assert "(%d/%s)" % (pw.pw_uid, HOST_USER) in ran and "cmd: patgate.cgi" in ran, \
                    "suexec did not run patgate.cgi as %s: %s" % (HOST_USER, ran[-500:])
                assert "crit" not in ran and "error" not in ran.lower(), ran[-800:]

                r = request("GET", prefix + "/setenv/direct.cgi/pat/v1/health", port=a.port)
                _json(surface + ", SetEnv", r, 503, "unavailable",
                      "the program run straight, with SetEnv PATGATE_CONFIG")
                ident = id_token()
                made = request("POST", prefix + "/nogrant/other.cgi/pat/v1", port=a.port,
                               token=ident, json_body={"days": 1, "description": "x"})
                assert made.status == 201, made
                r = request("DELETE", prefix + "/nogrant/other.cgi/pat/v1/" +
                            made.json()["id"], port=a.port, token=ident)
                assert r.status == 403, "Debian's userdir let DELETE through: %r" % r
            except Exception as e:      # noqa: BLE001 - report both flavours
                failures.append("%s: %s" % (name, e))
            finally:
                a.cleanup()
    finally:
        db.stop()
    assert not failures, " | ".join(failures)


# ------------------------------------------------------------------ spawn-fcgi: a socket on fd 0

def _kill_pids(pids, sig=signal.SIGTERM):
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def _gone(pids, seconds=10):
    return lib.wait_for(lambda: not [p for p in pids if os.path.exists("/proc/%d" % p)
                                     and not _zombie(p)], seconds)


def _zombie(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def _spawn_fcgi(d, config, children):
    """spawn-fcgi as the man page's example has it; the PIDs it started."""
    sock, pidfile = os.path.join(d, "spawn.sock"), os.path.join(d, "spawn.pid")
    p = subprocess.run(["spawn-fcgi", "-s", sock, "-M", "0660", "-u", "www-data",
                        "-g", "www-data", "-F", str(children), "-P", pidfile, "--",
                        PROGRAM, "--config", config], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, "spawn-fcgi: %s%s" % (p.stdout, p.stderr)
    with open(pidfile) as f:
        pids = [int(x) for x in f.read().split()]
    assert len(pids) == children, (pids, p.stderr)
    return sock, pids


def test_spawn_fcgi_behind_proxy_fcgi():
    if shutil.which("spawn-fcgi") is None:
        raise lib.Skip("spawn-fcgi is not installed")
    a = apache.Apache(PROXY_MODULES, mpm="event")
    pids = []
    try:
        conf = a.patgate_config()
        sock, pids = _spawn_fcgi(a.dir, conf, 2)
        _is_www_data(pids)
        a.start(apache.include(a, "proxy-fcgi.conf", apache.sample(
            "proxy-fcgi.conf", PATGATE_SOCKET=sock)))
        drive("spawn-fcgi behind proxy-fcgi.conf", a.port)
        assert all(os.path.exists("/proc/%d" % p) for p in pids), "a worker died"
        _kill_pids(pids)
        assert _gone(pids), "spawn-fcgi's workers did not stop on SIGTERM: %s" % pids
        # A worker whose configuration is missing answers in JSON and lives on.
        os.unlink(sock)
        missing = os.path.join(a.dir, "missing.conf")
        sock, pids = _spawn_fcgi(a.dir, missing, 1)
        for _ in range(2):
            r = request("GET", "/pat/v1/health", port=a.port)
            _json("spawn-fcgi, missing config", r, 503, "unavailable")
            assert "misconfigured" in r.json()["message"], r
        assert os.path.exists("/proc/%d" % pids[0]), "the misconfigured worker exited"
    finally:
        _kill_pids(pids)
        _gone(pids)
        a.cleanup()


# ------------------------------------------------------------------ systemd: the units, socket activation, tmpfiles, sysusers

SYSTEMD_SRC = os.path.join(lib.ROOT, "conf", "systemd")


def _build_dir():
    return os.path.dirname(PROGRAM)


def _unit(name):
    """The unit as make generates it for this build."""
    with open(os.path.join(_build_dir(), "conf", "systemd", name)) as f:
        return f.read()


def _unit_values(text, key):
    return [line.split("=", 1)[1] for line in text.splitlines() if line.startswith(key + "=")]


def test_systemd_socket_activation_runs_the_units_pool():
    """patgate.service's ExecStart and Environment, on a socket from
    systemd-socket-activate made as patgate.socket says (its user, group and
    mode), with User= done by setpriv, which execs in place as systemd does."""
    if shutil.which("systemd-socket-activate") is None:
        raise lib.Skip("systemd-socket-activate is not installed")
    subprocess.run(["make", "-s", "-C", _build_dir()], check=True, capture_output=True,
                   timeout=300)
    service, sock_unit = _unit("patgate.service"), _unit("patgate.socket")
    assert _unit_values(sock_unit, "SocketMode") == ["0660"], sock_unit
    exec_start = _unit_values(service, "ExecStart")
    assert exec_start == [os.path.join(_bindir(), "patgate.fcgi")], exec_start
    env = dict(e.split("=", 1) for e in _unit_values(service, "Environment"))
    assert set(env) == {"PATGATE_CONFIG"}, env

    a = apache.Apache(PROXY_MODULES, mpm="event")
    proc = None
    try:
        conf = a.patgate_config(overrides={"workers": "2", "user": None})
        sock = os.path.join(a.dir, "patgate.sock")
        log = open(os.path.join(a.dir, "patgate.log"), "w")
        proc = subprocess.Popen(
            ["systemd-socket-activate", "-l", sock, "-E", "PATGATE_CONFIG=" + conf,
             "setpriv", "--reuid=www-data", "--regid=www-data", "--init-groups", PROGRAM],
            stdout=log, stderr=log, start_new_session=True)
        assert lib.wait_for(lambda: os.path.exists(sock), 10), "no socket"
        os.chown(sock, pwd.getpwnam("www-data").pw_uid, pwd.getpwnam("www-data").pw_gid)
        os.chmod(sock, 0o660)
        a.start(apache.include(a, "proxy-fcgi.conf", apache.sample(
            "proxy-fcgi.conf", PATGATE_SOCKET=sock)))
        drive("systemd socket activation behind proxy-fcgi.conf", a.port)

        # Without --accept it execs the service in its own place, as systemd
        # does: that process is the supervisor.
        main = proc.pid
        assert os.readlink("/proc/%d/exe" % main) == PROGRAM, a.process_info(main)
        workers = lib.children(main)
        assert len(workers) == 2, "a pool of 2 on systemd's socket, not %s" % workers
        _is_www_data([main] + workers)
        # systemctl reload: new workers, no request refused meanwhile.
        os.kill(main, signal.SIGHUP)
        codes = []
        fresh = lambda: (codes.append(request("GET", "/pat/v1/health", port=a.port).status)
                         or (len(lib.children(main)) == 2
                             and not set(lib.children(main)) & set(workers)))
        assert lib.wait_for(fresh, 10, 0.05), "workers were not replaced: %s" % lib.children(main)
        assert set(codes) == {200}, codes
        # systemctl stop: the supervisor stops its workers and exits 0.
        os.kill(main, signal.SIGTERM)
        assert _gone([main] + workers, 35), "the pool did not stop"
        assert proc.wait(5) == 0, proc.returncode
        proc = None
    finally:
        if proc is not None:
            _kill_pids(lib.children(proc.pid) + [proc.pid], signal.SIGKILL)
            proc.wait(10)
        a.cleanup()


def test_systemd_listen_unit_socket_reaches_the_web_server():
    """patgate-listen.service's command as a user that is not the web server's,
    in group www-data as the unit has it, in a runtime directory like its
    RuntimeDirectory: the socket it makes lets Apache (www-data) in."""
    service = _unit("patgate-listen.service")
    assert _unit_values(service, "Group") == ["www-data"], service
    assert _unit_values(service, "RuntimeDirectoryMode") == ["0750"], service
    cmd = _unit_values(service, "ExecStart")[0].split()
    assert cmd[0] == os.path.join(_bindir(), "patgate.fcgi"), cmd
    pw, www = _ensure_user(), pwd.getpwnam("www-data")
    a = apache.Apache(PROXY_MODULES, mpm="event")
    proc = None
    try:
        conf = a.patgate_config("listen-unit", owner=HOST_USER,
                                overrides={"workers": "2", "user": None})
        lib.grant_search(HOST_USER, os.path.join(lib.VAR, "pg", "run"))  # the database's socket
        run = os.path.join(a.dir, "run-patgate")
        os.mkdir(run, 0o750)
        os.chown(run, pw.pw_uid, www.pw_gid)
        args = [PROGRAM if w == cmd[0] else w for w in cmd[1:]]
        args = [conf if w.endswith("/patgate.conf") else
                w.replace("/run/patgate/", run + "/") for w in args]
        sock = os.path.join(run, "patgate.sock")
        assert args[-2:] == ["--listen", sock], args
        proc = subprocess.Popen(["setpriv", "--reuid=" + HOST_USER, "--regid=www-data",
                                 "--clear-groups", PROGRAM] + args,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                start_new_session=True)
        assert lib.wait_for(lambda: os.path.exists(sock) and len(lib.children(proc.pid)) == 2,
                            10), proc.stderr.read1(4000) if proc.poll() is not None else "no socket"
        st = os.stat(sock)
        assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (pw.pw_uid, www.pw_gid, 0o660), st
        a.start(apache.include(a, "proxy-fcgi.conf", apache.sample(
            "proxy-fcgi.conf", PATGATE_SOCKET=sock)))
        drive("patgate-listen.service behind proxy-fcgi.conf", a.port)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(35) == 0, proc.returncode
        assert not os.path.exists(sock), "the socket outlived the pool"
        proc = None
    finally:
        if proc is not None:
            _kill_pids(lib.children(proc.pid) + [proc.pid], signal.SIGKILL)
            proc.wait(10)
        a.cleanup()


def _bindir():
    with open(os.path.join(_build_dir(), "Makefile")) as f:
        vals = dict(re.findall(r"(?m)^(prefix|exec_prefix|bindir) = (.*)$", f.read()))
    return vals["bindir"].replace("${exec_prefix}", vals["exec_prefix"]).replace(
        "${prefix}", vals["prefix"]).replace("$(exec_prefix)", vals["exec_prefix"])


def test_make_install_with_systemd_tmpfiles_sysusers_and_verify():
    """make install into a root with the systemd entries; systemd-sysusers
    and systemd-tmpfiles run on that root; systemd-analyze verify on its units."""
    build = _build_dir()
    root = tempfile.mkdtemp(prefix="patgate-install-")
    try:
        os.makedirs(os.path.join(root, "etc"))
        for f in ("passwd", "group"):           # a system that has www-data already
            shutil.copy("/etc/" + f, os.path.join(root, "etc", f))

        def install():
            p = subprocess.run(["make", "-s", "-C", build, "install", "DESTDIR=" + root,
                                "systemdlibdir=/usr/lib"], capture_output=True, text=True,
                               timeout=300)
            assert p.returncode == 0, p.stdout + p.stderr
        install()
        usr = os.path.join(root, _bindir().lstrip("/"), "..")
        usr = os.path.normpath(usr)
        conf_dir = os.path.join(usr, "etc", "patgate")
        want = ["bin/patgate.fcgi", "etc/patgate/patgate.conf",
                "share/man/man8/patgate.fcgi.8", "share/man/man5/patgate.conf.5",
                "share/doc/patgate/LICENSE", "share/patgate/cgi-bin/patgate.cgi",
                "share/patgate/cgi-bin/htaccess.sample", "share/patgate/systemd/patgate.socket"]
        want += ["share/patgate/apache/" + n for n in os.listdir(apache.SAMPLES)]
        missing = [w for w in want if not os.path.exists(os.path.join(usr, w))]
        assert not missing, "make install left out %s" % missing
        assert os.access(os.path.join(usr, "share/patgate/cgi-bin/patgate.cgi"), os.X_OK)
        conf = os.path.join(conf_dir, "patgate.conf")
        assert os.stat(conf).st_mode & 0o777 == 0o600, oct(os.stat(conf).st_mode)
        for d, name in (("systemd/system", "patgate.service"), ("systemd/system", "patgate.socket"),
                        ("systemd/system", "patgate-listen.service"),
                        ("tmpfiles.d", "patgate.conf"), ("sysusers.d", "patgate.conf")):
            assert os.path.exists(os.path.join(root, "usr/lib", d, name)), (d, name)
        # An existing configuration is kept.
        with open(conf, "a") as f:
            f.write("log_level = debug\n")
        install()
        with open(conf) as f:
            assert f.read().endswith("log_level = debug\n"), "make install overwrote " + conf

        with open(os.path.join(conf_dir, "pat-secret"), "w") as f:
            f.write("x")
        p = subprocess.run(["systemd-sysusers", "--root=" + root], capture_output=True,
                           text=True, timeout=30)
        assert p.returncode == 0, p.stderr
        with open(os.path.join(root, "etc", "passwd")) as f:
            entry = [line.split(":") for line in f if line.startswith("patgate:")]
        assert len(entry) == 1 and entry[0][6].strip().endswith("nologin"), entry
        uid = int(entry[0][2])
        p = subprocess.run(["systemd-tmpfiles", "--root=" + root, "--create"],
                           capture_output=True, text=True, timeout=30)
        assert p.returncode == 0 and not p.stderr, p.stderr
        www = pwd.getpwnam("www-data").pw_gid
        run = os.stat(os.path.join(root, "run", "patgate"))
        assert (run.st_uid, run.st_gid, run.st_mode & 0o777) == (uid, www, 0o750), run
        for f in ("patgate.conf", "pat-secret"):
            st = os.stat(os.path.join(conf_dir, f))
            assert (st.st_uid, st.st_mode & 0o777) == (uid, 0o600), (f, st)
        st = os.stat(conf_dir)
        assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (0, uid, 0o750), st

        # The installed units, with their program where this root put it.
        units = os.path.join(root, "verify")
        os.makedirs(units)
        for name in ("patgate.service", "patgate.socket", "patgate-listen.service"):
            with open(os.path.join(root, "usr/lib/systemd/system", name)) as f:
                text = f.read().replace(" " + _bindir() + "/", " " + usr + "/bin/").replace(
                    "=" + _bindir() + "/", "=" + usr + "/bin/")
            with open(os.path.join(units, name), "w") as f:
                f.write(text)
        p = subprocess.run(["systemd-analyze", "verify", "patgate.service", "patgate.socket",
                            "patgate-listen.service"], cwd=units, capture_output=True, text=True,
                           env=dict(os.environ, MANPATH=os.path.join(usr, "share", "man")),
                           timeout=60)
        assert p.returncode == 0 and not (p.stdout + p.stderr).strip(), p.stdout + p.stderr
    finally:
        shutil.rmtree(root, ignore_errors=True)


# ------------------------------------------------------------------ the man pages

def test_man_pages_render_and_list_every_key_with_its_default():
    build = _build_dir()
    for page in ("man/patgate.fcgi.8", "man/patgate.conf.5"):
        p = subprocess.run(["groff", "-mandoc", "-ww", "-z", "-Tutf8",
                            os.path.join(build, page)], capture_output=True, text=True)
        assert p.returncode == 0 and not p.stderr, (page, p.stderr)
    with open(os.path.join(lib.ROOT, "src", "config.c")) as f:
        table = f.read().split("config_keys[] = {", 1)[1].split("};", 1)[0]
    keys = re.findall(r'C[SIB](?:_RESTART)?\((\w+), "([^"]*)"', table)
    keys += re.findall(r'\{ "(\w+)", CT_\w+, offsetof\(struct config, \w+\), "([^"]*)"', table)
    assert len(keys) >= 18, keys
    with open(os.path.join(build, "man", "patgate.conf.5")) as f:
        page = f.read()
    items = dict(re.findall(r"(?ms)^\.It Cm (\w+)[^\n]*\n(.*?)(?=^\.It Cm |^\.El)", page))
    wrong = []
    for key, dflt in keys:
        text = items.get(key)
        if text is None:
            wrong.append("%s: not in patgate.conf.5" % key)
        elif dflt == "":
            if "The default is empty" not in text and "There is no default" not in text:
                wrong.append("%s: its default (empty) is not said" % key)
        elif not re.search(r"The default is\n\.Ql %s \.?$" % re.escape(dflt), text, re.M):
            wrong.append("%s: its default %r is not said" % (key, dflt))
    extra = set(items) - {k for k, _ in keys}
    assert not wrong and not extra, (wrong, extra)
