"""lib.py - what the end-to-end tests share: HTTP through nginx, identities,
the database, and a small FastCGI client for talking to a worker directly.

Everything here goes to the real stack that ./devstack up started: nginx on
127.0.0.1:$PATGATE_PORT, the workers on var/run/patgate.sock, PostgreSQL
under var/pg.  Nothing is mocked.
"""
import base64
import hashlib
import hmac
import http.client
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time
import uuid

import oidc

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
VAR = os.path.join(ROOT, "var")
PORT = int(os.environ.get("PATGATE_PORT", "8080"))
BIN = os.environ.get("PATGATE_BIN", os.path.join(ROOT, "build", "dev", "patgate.fcgi"))
PGBIN = "/usr/lib/postgresql/15/bin"
SOCKET = os.path.join(VAR, "run", "patgate.sock")
CONFIG = os.path.join(VAR, "patgate.conf")
OIDC_ISSUER = "https://devstack.patgate.test"
OIDC_AUDIENCE = "patgate-devstack"
RSA_KEY = os.path.join(VAR, "oidc", "dev-key.pem")
EC_KEY = os.path.join(VAR, "oidc", "dev-ec-key.pem")
PAT_HEADER = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"


class Skip(Exception):
    """Raised by a test that cannot run in this pass; counted neither way."""


SANITIZED = os.environ.get("PATGATE_SANITIZED") == "1"


# ------------------------------------------------------------------ HTTP

class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers          # list of (name, value), names as sent
        self.body = body

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def header_all(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "<%d %r>" % (self.status, self.body[:300])


def request(method, path, body=None, headers=None, token=None, json_body=None,
            port=None, timeout=30):
    """One HTTP request through nginx.  body may be bytes or str."""
    h = dict(headers or {})
    if token is not None:
        h["Authorization"] = "Bearer " + token
    if json_body is not None:
        body = json.dumps(json_body)
        h.setdefault("Content-Type", "application/json")
    if isinstance(body, str):
        body = body.encode()
    conn = http.client.HTTPConnection("127.0.0.1", port or PORT, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=h)
        r = conn.getresponse()
        return remember(Response(r.status, r.getheaders(), r.read()))
    finally:
        conn.close()


def raw_http(data: bytes, port=None, timeout=30) -> bytes:
    """Send bytes as they are (for chunked bodies and odd requests); return the reply."""
    s = socket.create_connection(("127.0.0.1", port or PORT), timeout=timeout)
    try:
        s.sendall(data)
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return out
            out += chunk
    finally:
        s.close()


def parse_http(raw: bytes) -> Response:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = [tuple(x.split(": ", 1)) for x in lines[1:] if ": " in x]
    return Response(status, headers, body)


# ------------------------------------------------------------------ identities

def unique_email(tag="user"):
    return "%s-%s@example.com" % (tag, uuid.uuid4().hex[:10])


def id_token(email=None, name=None, groups=None, key=RSA_KEY, kid=None, **kw):
    """An OIDC identity token from the development issuer (signed by openssl)."""
    email = email or unique_email()
    kid = kid or ("devstack-ec-1" if key == EC_KEY else "devstack-1")
    return oidc.token(key, kid, kw.pop("iss", OIDC_ISSUER), kw.pop("aud", OIDC_AUDIENCE),
                      email, name, groups, **kw)


ISSUED = set()          # every token the tests were given, to search the logs for


def remember(r):
    """Note the token of a 201 answer; return the answer."""
    if getattr(r, "status", None) == 201:
        try:
            ISSUED.add(r.json()["token"])
        except (ValueError, KeyError):
            pass
    return r


def create(ident, days=30, description="e2e token", **kw):
    return remember(request("POST", "/pat/v1", token=ident,
                            json_body={"days": days, "description": description}, **kw))


def new_pat(ident=None, days=30, description="e2e token"):
    """Create a PAT and return (token, id, the identity token used)."""
    ident = ident or id_token()
    r = create(ident, days, description)
    assert r.status == 201, r
    return r.json()["token"], r.json()["id"], ident


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def claims(token):
    return json.loads(b64url_decode(token.split(".")[1]))


def read_key(name):
    """A base64url key file from var/keys, decoded."""
    with open(os.path.join(VAR, "keys", name)) as f:
        return b64url_decode(f.read().strip().rstrip("="))


def hs256(claims_obj, secret=None, header=None):
    """Sign claims the way Terrakube does, independently of patgate."""
    secret = secret if secret is not None else read_key("pat-secret")
    head = header if header is not None else PAT_HEADER
    if isinstance(head, dict):
        head = b64url(json.dumps(head, separators=(",", ":")).encode())
    signing_input = head + "." + b64url(json.dumps(claims_obj, separators=(",", ":")).encode())
    sig = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64url(sig)


def token_hmac(token):
    return hmac.new(read_key("pepper"), token.encode(), hashlib.sha256).hexdigest()


# ------------------------------------------------------------------ the database

def sql(query):
    """Run SQL as the superuser in the patgate database; rows as lists of strings."""
    out = subprocess.run([os.path.join(ROOT, "devstack"), "psql", "-At", "-F", "\t", "-c", query],
                         check=True, capture_output=True, text=True).stdout
    return [line.split("\t") for line in out.splitlines() if line]


def count_rows(where="true"):
    return int(sql("SELECT count(*) FROM pat WHERE " + where)[0][0])


def devstack(*args, check=True):
    return subprocess.run([os.path.join(ROOT, "devstack"), *args], check=check,
                          capture_output=True, text=True)


def children(pid):
    """The live (not zombie) child processes of pid."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            out.append(int(d))
    return out


def wait_for(predicate, seconds=10.0, step=0.1):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def listening(port, timeout=1):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=timeout).close()
        return True
    except OSError:
        return False


def grant_search(user, path):
    """Let user reach path when a directory on the way is closed to it (a
    checkout in /root, which is mode 700): search (x) by ACL on each such
    directory, from / down, so that one the user could already read (and
    list: make reads its directories) is left as it is."""
    d = "/"
    for part in [""] + os.path.abspath(path).strip("/").split("/"):
        d = os.path.join(d, part)
        if subprocess.run(["/usr/sbin/runuser", "-u", user, "--", "test", "-x", d],
                          capture_output=True).returncode != 0:
            subprocess.run(["setfacl", "-m", "u:%s:x" % user, d], check=True)


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        return int([line for line in f if line.startswith("VmRSS:")][0].split()[1])


def healthy(port=None):
    try:
        return request("GET", "/pat/v1/health", port=port, timeout=5).status == 200
    except OSError:
        return False


# ------------------------------------------------------------------ FastCGI, straight to a worker

FCGI_BEGIN, FCGI_END, FCGI_PARAMS, FCGI_STDIN, FCGI_STDOUT, FCGI_STDERR = 1, 3, 4, 5, 6, 7


def _record(rtype, content=b"", req_id=1):
    return struct.pack(">BBHHBx", 1, rtype, req_id, len(content), 0) + content


def _pair(name: bytes, value: bytes):
    def length(n):
        return bytes([n]) if n < 128 else struct.pack(">I", n | 0x80000000)
    return length(len(name)) + length(len(value)) + name + value


def fcgi_params(params: dict) -> bytes:
    data = b"".join(_pair(k.encode() if isinstance(k, str) else k,
                          v.encode() if isinstance(v, str) else v) for k, v in params.items())
    out = b""
    for i in range(0, len(data), 65535):
        out += _record(FCGI_PARAMS, data[i:i + 65535])
    return out + _record(FCGI_PARAMS)


def fcgi_stdin(body: bytes) -> bytes:
    out = b""
    for i in range(0, len(body), 65535):
        out += _record(FCGI_STDIN, body[i:i + 65535])
    return out + _record(FCGI_STDIN)


def fcgi_begin() -> bytes:
    return _record(FCGI_BEGIN, struct.pack(">HB5x", 1, 0))


def fcgi_read(sock) -> Response:
    """Read records until FCGI_END_REQUEST; return the response as HTTP-like parts."""
    buf, out = b"", b""
    while True:
        while len(buf) < 8:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("the worker closed the connection: %r" % buf[:200])
            buf += chunk
        _, rtype, _, clen, plen = struct.unpack(">BBHHBx", buf[:8])
        while len(buf) < 8 + clen + plen:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("short record")
            buf += chunk
        content, buf = buf[8:8 + clen], buf[8 + clen + plen:]
        if rtype == FCGI_STDOUT:
            out += content
        elif rtype == FCGI_END:
            break
    head, _, body = out.partition(b"\r\n\r\n")
    headers = [tuple(x.split(": ", 1)) for x in head.decode("latin-1").split("\r\n") if ": " in x]
    status = int(dict(headers).get("Status", "200").split()[0])
    return Response(status, headers, body)


def fcgi_connect(path=SOCKET, timeout=10):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    return s


def fcgi(params, body=b"", path=SOCKET, timeout=10) -> Response:
    """One request straight to a worker over FastCGI."""
    base = {"GATEWAY_INTERFACE": "CGI/1.1", "REQUEST_METHOD": "GET",
            "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1"}
    if body:
        base["CONTENT_LENGTH"] = str(len(body))     # as a web server would; None removes it
    base.update(params)
    base = {k: v for k, v in base.items() if v is not None}
    s = fcgi_connect(path, timeout)
    try:
        s.sendall(fcgi_begin() + fcgi_params(base) + fcgi_stdin(body))
        return remember(fcgi_read(s))
    finally:
        s.close()


# ------------------------------------------------------------------ a private patgate, for tests that stop or break it

class Instance:
    """A separate supervisor on its own socket, with the devstack config plus overrides."""

    def __init__(self, workers=2, env=None, config_text=None):
        self.dir = tempfile.mkdtemp(prefix="patgate-e2e-")
        os.chmod(self.dir, 0o755)
        self.sock = os.path.join(self.dir, "patgate.sock")
        self.log = os.path.join(self.dir, "patgate.log")
        self.config = CONFIG
        if config_text is not None:
            self.config = os.path.join(self.dir, "patgate.conf")
            with open(self.config, "w") as f:
                f.write(config_text)
            os.chmod(self.config, 0o600)
        self.env = dict(os.environ, **(env or {}))
        self.proc = subprocess.Popen([BIN, "--config", self.config, "--listen", self.sock,
                                      "--workers", str(workers)], env=self.env,
                                     stdout=subprocess.DEVNULL, stderr=open(self.log, "w"),
                                     start_new_session=True)
        if not wait_for(lambda: self.workers() >= workers and os.path.exists(self.sock), 15):
            raise AssertionError("private instance did not start: " + self.read_log()[-2000:])

    def workers(self):
        return len(self.worker_pids())

    def worker_pids(self):
        return children(self.proc.pid)

    def request(self, params, body=b"", timeout=10):
        return fcgi(params, body, path=self.sock, timeout=timeout)

    def read_log(self):
        with open(self.log, errors="replace") as f:
            return f.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def run_cgi(env, body=b"", config=CONFIG):
    """Run the program as a plain CGI script, the way Apache's mod_cgi would."""
    base = {"GATEWAY_INTERFACE": "CGI/1.1", "SERVER_PROTOCOL": "HTTP/1.1",
            "REQUEST_METHOD": "GET", "REMOTE_ADDR": "127.0.0.1",
            "PATH": "/usr/bin:/bin", "PATGATE_CONFIG": config}
    base.update(env)
    p = subprocess.run([BIN], input=body, env=base, capture_output=True, timeout=30)
    head, _, rest = p.stdout.partition(b"\r\n\r\n")
    headers = [tuple(x.split(": ", 1)) for x in head.decode("latin-1").split("\r\n") if ": " in x]
    status = int(dict(headers).get("Status", "0 x").split()[0])
    r = Response(status, headers, rest)
    r.returncode = p.returncode
    r.stderr = p.stderr.decode(errors="replace")
    return remember(r)


def log(msg):
    print("    " + msg, file=sys.stderr)
