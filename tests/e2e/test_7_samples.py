"""The nginx samples in conf/nginx, and devstack's own nginx config, each run
for real: a private nginx with the sample, in front of echo backends, talking
to a private patgate with trust_remote_user = on.  With that setting, a sample
that passed nginx's $remote_user on from a location without auth_basic would
let a client's own Basic header name the caller, so every test makes that
attack itself, against a victim who has a real token, and checks the
database afterwards."""
import base64
import contextlib
import http.server
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading

import lib
from lib import ROOT, VAR, PORT, hs256, id_token, new_pat, request, unique_email, wait_for

SAMPLES = os.path.join(ROOT, "conf", "nginx")
INSTALLED = "/usr/local/share/patgate/nginx"     # where make install puts them
X_PAT = ("X-Pat-Id", "X-Pat-Kind", "X-Pat-Email", "X-Pat-Name", "X-Pat-Groups",
         "X-Pat-Expires-At")
CREATE = {"days": 1, "description": "x"}


ORG = "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"






def _basic(user, password):
    return {"Authorization": "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode())
            .decode()}


# ------------------------------------------------------------------ the pieces a test runs

class Backend:
    """An HTTP backend on 127.0.0.1 that answers every request with what it
    received as JSON, and records it (method, path, headers as sent, body)."""

    def __init__(self, name):
        self.name, self.seen = name, []
        backend = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n > 0 else b""
                seen = {"backend": backend.name, "method": self.command, "path": self.path,
                        "headers": list(self.headers.items()), "body": body.decode("latin-1")}
                backend.seen.append(seen)
                out = json.dumps(seen).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.send_header("X-Backend", backend.name)
                self.end_headers()
                self.wfile.write(out)

            do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = _answer

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def _gate(stack):
    """A private patgate: the devstack config plus trust_remote_user = on."""
    with open(lib.CONFIG) as f:
        text = re.sub(r"(?m)^\s*trust_remote_user\s*=.*$", "", f.read())
    gate = lib.Instance(workers=2, config_text=text + "\ntrust_remote_user = on\n")
    stack.callback(shutil.rmtree, gate.dir, True)
    stack.callback(gate.stop)
    return gate


class Nginx:
    """A private nginx in TMP, in front of GATE.  The samples are copied into
    TMP as make install would place them (their INSTALLED paths pointing at
    TMP), with each of SUBST's strings replaced, so they run unchanged
    otherwise."""

    def __init__(self, stack, gate, http_body=None, subst=None, main_conf=None):
        self.gate = gate
        self.tmp = tempfile.mkdtemp(prefix="patgate-sample-")
        stack.callback(shutil.rmtree, self.tmp, True)
        os.chmod(self.tmp, 0o755)           # nginx's workers run as www-data
        self.port = lib.free_port()
        subst = {old: new.replace("@PORT@", str(self.port))
                 for old, new in dict(subst or {}, **{INSTALLED: self.tmp}).items()}
        unused = set(subst)
        for name in os.listdir(SAMPLES):
            with open(os.path.join(SAMPLES, name)) as f:
                text = f.read()
            for old, new in subst.items():
                if old in text:
                    unused.discard(old)
                    text = text.replace(old, new)
            with open(os.path.join(self.tmp, name), "w") as f:
                f.write(text)
        unused.discard(INSTALLED)
        assert not unused, "the samples no longer contain %s" % sorted(unused)
        # For a sample that still says "include fastcgi_params".
        shutil.copy("/etc/nginx/fastcgi_params", os.path.join(self.tmp, "fastcgi_params"))
        self.error_log = os.path.join(self.tmp, "error.log")
        conf = os.path.join(self.tmp, "nginx.conf")
        with open(conf, "w") as f:
            f.write(main_conf(self) if main_conf else self._main(http_body.replace("@DIR@", self.tmp)))
        self.proc = subprocess.Popen(["nginx", "-p", self.tmp, "-c", conf, "-e", self.error_log],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        stack.callback(self.stop)
        assert wait_for(lambda: self.proc.poll() is None and lib.listening(self.port), 10), \
            self.errors()

    def _main(self, http_body):
        t = self.tmp
        return """%s
worker_processes 1;
daemon off;
pid %s/nginx.pid;
error_log %s/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path %s/body; fastcgi_temp_path %s/fastcgi; proxy_temp_path %s/proxy;
  uwsgi_temp_path %s/uwsgi; scgi_temp_path %s/scgi;
  %s
}
""" % ("user www-data;" if os.geteuid() == 0 else "", t, t, t, t, t, t, t,
       http_body.replace("@PORT@", str(self.port)))

    def errors(self):
        try:
            with open(self.error_log, errors="replace") as f:
                return f.read()[-3000:]
        except OSError:
            return ""

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _server(gate, body):
    return ("upstream patgate { server unix:%s; }\n"
            "  server {\n    listen 127.0.0.1:@PORT@;\n    %s\n  }" % (gate.sock, body))


# ------------------------------------------------------------------ the checks every sample gets

def _victim():
    """A user with one real token: (email, token id)."""
    email = unique_email("victim")
    _, tid, _ = new_pat(id_token(email, "Vic Tim", ["victims"]), days=1)
    return email, tid


def _rows(email):
    return lib.sql("SELECT id, revoked_at IS NULL FROM pat WHERE owner_email = '%s' ORDER BY id"
                   % email)


def _refused(r, what, also=()):
    assert r.status == 401 or r.status in also, (what, r)


def _basic_attack(nginx, teams=False):
    """A client names a victim in its own Basic header: list, create, revoke.
    The worker refuses a REMOTE_USER that comes with a client's Basic header
    but no AUTH_TYPE, and logs it: nginx must not have passed one at all."""
    port = nginx.port
    email, tid = _victim()
    before = _rows(email)
    assert before == [[tid, "t"]], before
    basic = _basic(email, "x")
    _refused(request("GET", "/pat/v1", headers=basic, port=port), "list")
    for path in ("/pat/v1", "/api/v1"):
        _refused(request("POST", path, json_body=CREATE, headers=basic, port=port), "create " + path)
    _refused(request("DELETE", "/pat/v1/" + tid, headers=basic, port=port), "revoke")
    _refused(request("GET", "/pat/v1/" + tid, headers=basic, port=port), "get")
    if teams:
        # No team-token endpoints in the worker yet: 404 from patgate, later 401.
        for method, body in (("GET", None), ("POST", {"group": "victims", "description": "x",
                                                       "days": 1})):
            r = request(method, "/access-token/v1/teams", json_body=body, headers=basic, port=port)
            _refused(r, method + " teams", also=(404,))
            if r.status == 404:
                assert r.header("X-Request-Id") and r.json()["error"] == "not_found", r
    assert _rows(email) == before, (before, _rows(email))
    assert lib.count_rows("owner_email = '%s'" % email) == 1
    assert "remote_user_refused" not in nginx.gate.read_log(), "nginx passed the client's REMOTE_USER"


def _headers(seen, name):
    """Every value the backend received for NAME, also under _ spellings."""
    want = name.lower().replace("_", "-")
    return [v for k, v in seen["headers"] if k.lower().replace("_", "-") == want]


FORGED = {"X-Pat-Id": "00000000-0000-4000-8000-000000000000", "X-Pat-Kind": "team",
          "x-pat-email": "forged@example.com", "X-Pat-Name": "Forged",
          "X-PAT-GROUPS": "admin", "X-Pat-Expires-At": "2999-01-01T00:00:00.000Z",
          "X_Pat_Email": "underscore@example.com"}


def _backend_identity(seen, verified):
    """The backend got exactly patgate's X-Pat-* (none where verify set none)."""
    for name in X_PAT:
        got = _headers(seen, name)
        want = verified.header(name) if verified is not None else None
        assert got == ([want] if want else []), (name, got, want)
        for v in got:
            assert v not in FORGED.values(), (name, v)


def _verify(tok):
    """patgate's own answer for TOK, through devstack's nginx."""
    r = request("GET", "/pat/v1/verify", token=tok)
    assert r.status == 200, r
    return r


def _revoked_and_forged(port, path, tok, tid, ident):
    """A revoked PAT and a forged HS256 token get 401 JSON, invalid_token."""
    c = lib.claims(tok)
    forged = hs256(c, secret=b"not the secret, but 32 bytes long")
    # Revoked through the same stack, whose workers all know it at once.
    assert request("DELETE", "/pat/v1/" + tid, token=ident, port=port).status == 202
    for t in (tok, forged):
        r = request("GET", path, token=t, port=port)
        assert r.status == 401, r
        assert 'error="invalid_token"' in (r.header("WWW-Authenticate") or ""), r.headers
        assert r.json()["error"] == "unauthorized", r
        assert r.header("X-Backend") is None, r


def _big_identity():
    """An identity with 64 groups whose PAT is close to, and under, 8192 bytes."""
    tag = os.urandom(5).hex()
    email = "big-%s-%s@example.com" % (tag, "e" * 200)
    name = "Big " + "N" * 251                           # 255 characters
    groups = ["g%02d-%s-%s" % (i, tag, "x" * 46) for i in range(64)]    # 61 characters each
    tok, tid, ident = new_pat(id_token(email, name, groups))
    assert 5000 < len(tok) < 8192 and len(ident) < 8192, (len(tok), len(ident))
    return tok, tid, email, name, groups


def _big_passes(port, path, backend):
    tok, tid, email, name, groups = _big_identity()
    verified = _verify(tok)
    assert verified.header("X-Pat-Groups") == ",".join(groups)
    n = len(backend.seen)
    r = request("GET", path, token=tok, port=port)
    assert r.status == 200, (r, len(tok))
    assert len(backend.seen) == n + 1
    seen = backend.seen[-1]
    assert _headers(seen, "X-Pat-Groups") == [",".join(groups)], len(str(seen))
    assert _headers(seen, "X-Pat-Email") == [email] and _headers(seen, "X-Pat-Name") == [name]
    _backend_identity(seen, verified)


# ------------------------------------------------------------------ patgate.conf

def test_patgate_conf_takes_no_user_from_a_client():
    with contextlib.ExitStack() as stack:
        gate = _gate(stack)
        nginx = Nginx(stack, gate, _server(gate, "include @DIR@/patgate.conf;"),
                      {"/run/patgate/patgate.sock": gate.sock})
        _basic_attack(nginx)
        # Bearer credentials still work there, and verify passes a big identity.
        email = unique_email("plain")
        tok, tid, ident = new_pat(id_token(email, "Plain", ["p"]))
        r = request("GET", "/pat/v1", token=ident, port=nginx.port)
        assert r.status == 202 and [t["id"] for t in r.json()] == [tid], r
        assert request("GET", "/pat/v1/" + tid, token=tok, port=nginx.port).status == 200
        big, _, _, _, groups = _big_identity()
        r = request("GET", "/pat/v1/verify", token=big, port=nginx.port)
        assert r.status == 200 and r.header("X-Pat-Groups") == ",".join(groups), r


# ------------------------------------------------------------------ protect-upstream.conf

def _protect(stack):
    gate = _gate(stack)
    backend = Backend("app")
    stack.callback(backend.close)
    nginx = Nginx(stack, gate, _server(gate, "include @DIR@/patgate.conf;\n"
                                       "    include @DIR@/protect-upstream.conf;"),
                  {"/run/patgate/patgate.sock": gate.sock,
                   "127.0.0.1:9000": "127.0.0.1:%d" % backend.port})
    return nginx, backend


def test_protect_upstream_takes_no_user_from_a_client():
    with contextlib.ExitStack() as stack:
        nginx, backend = _protect(stack)
        _basic_attack(nginx)
        email, _ = _victim()
        r = request("GET", "/app/hello", headers=_basic(email, "x"), port=nginx.port)
        assert r.status == 401 and r.header("X-Backend") is None, r
        assert backend.seen == []


def test_protect_upstream_answers_503_json_when_the_check_cannot_be_made():
    """auth_request turns verify's 503 into 500; the sample answers a JSON 503."""
    tok, _, _ = new_pat()
    with contextlib.ExitStack() as stack:
        nginx, backend = _protect(stack)
        assert request("GET", "/app/x", token=tok, port=nginx.port).status == 200
        lib.devstack("pg-stop", "immediate")
        try:
            r = request("GET", "/app/x", token=tok, port=nginx.port)
            assert r.status == 503 and r.header("Retry-After"), r
            assert r.json()["error"] == "unavailable", r
        finally:
            lib.devstack("pg-start")
        assert wait_for(lambda: request("GET", "/app/x", token=tok,
                                        port=nginx.port).status == 200, 10)
        assert len(backend.seen) == 2


def test_protect_upstream_passes_only_patgates_identity():
    with contextlib.ExitStack() as stack:
        nginx, backend = _protect(stack)
        email = unique_email("sample")
        tok, tid, ident = new_pat(id_token(email, "Sam Ple", ["a", "b"]))
        verified = _verify(tok)
        r = request("GET", "/app/hello", token=tok, port=nginx.port, headers=FORGED)
        assert r.status == 200 and r.header("X-Backend") == "app", r
        seen = backend.seen[-1]
        assert seen["path"] == "/hello", seen
        assert _headers(seen, "X-Pat-Id") == [tid] and _headers(seen, "X-Pat-Email") == [email]
        assert _headers(seen, "X-Pat-Name") == ["Sam Ple"]
        assert _headers(seen, "X-Pat-Groups") == ["a,b"]
        assert _headers(seen, "X-Pat-Kind") in ([], ["user"]), seen     # not sent by verify yet
        _backend_identity(seen, verified)
        assert _headers(seen, "Authorization") == [], seen
        assert r.header("Cache-Control") == "no-store"
        # No token, an OIDC identity token, or Basic: 401, and the backend never hears of it.
        n = len(backend.seen)
        for h in ({}, {"Authorization": "Bearer " + ident}, _basic(email, "x")):
            r = request("GET", "/app/hello", headers=dict(FORGED, **h), port=nginx.port)
            assert r.status == 401 and r.json()["error"] == "unauthorized", (h, r)
        assert len(backend.seen) == n
        _revoked_and_forged(nginx.port, "/app/hello", tok, tid, ident)
        assert len(backend.seen) == n


def test_protect_upstream_passes_a_big_identity():
    with contextlib.ExitStack() as stack:
        nginx, backend = _protect(stack)
        _big_passes(nginx.port, "/app/big", backend)


# ------------------------------------------------------------------ terrakube.conf

def _terrakube(stack):
    gate = _gate(stack)
    api, registry = Backend("api"), Backend("registry")
    stack.callback(api.close)
    stack.callback(registry.close)
    subst = {"/run/patgate/patgate.sock": gate.sock,
             "127.0.0.1:8080": "127.0.0.1:%d" % api.port,
             "127.0.0.1:8075": "127.0.0.1:%d" % registry.port,
             "listen 443 ssl;": "listen 127.0.0.1:@PORT@;"}
    nginx = Nginx(stack, gate, "include @DIR@/terrakube.conf;", subst)
    return nginx, api, registry


def test_terrakube_takes_no_user_from_a_client():
    with contextlib.ExitStack() as stack:
        nginx, api, _ = _terrakube(stack)
        _basic_attack(nginx, teams=True)
        # Terrakube's own paths are Terrakube's business: Basic reaches it as sent.
        basic = _basic("victim@example.com", "x")
        r = request("GET", "/api/v1/organization", headers=dict(FORGED, **basic), port=nginx.port)
        assert r.status == 200 and r.header("X-Backend") == "api", r
        assert _headers(api.seen[-1], "Authorization") == [basic["Authorization"]]
        _backend_identity(api.seen[-1], None)


def test_terrakube_checks_pats_at_the_edge():
    with contextlib.ExitStack() as stack:
        nginx, api, registry = _terrakube(stack)
        email = unique_email("tk")
        tok, tid, ident = new_pat(id_token(email, "Terra Kube", ["dev", "ops"]))
        verified = _verify(tok)
        for path, backend in (("/api/v1/organization", api),
                              ("/access-token/v1/teams/permissions/organization/%s" % ORG, api),
                              ("/.well-known/terraform.json", registry),
                              ("/terraform/modules/v1/x", registry)):
            r = request("GET", path, token=tok, port=nginx.port, headers=FORGED)
            assert r.status == 200 and r.header("X-Backend") == backend.name, (path, r)
            seen = backend.seen[-1]
            assert seen["path"] == path
            assert _headers(seen, "X-Pat-Id") == [tid] and _headers(seen, "X-Pat-Email") == [email]
            assert _headers(seen, "X-Pat-Name") == ["Terra Kube"]
            assert _headers(seen, "X-Pat-Groups") == ["dev,ops"]
            assert _headers(seen, "X-Pat-Kind") in ([], ["user"]), seen
            _backend_identity(seen, verified)
            # Terrakube checks the PAT itself too.
            assert _headers(seen, "Authorization") == ["Bearer " + tok], seen
        # A body reaches Terrakube whole, behind the check.
        body = json.dumps({"data": {"type": "organization", "attributes": {"name": "x"}}})
        r = request("POST", "/api/v1/organization", body=body, token=tok, port=nginx.port,
                    headers={"Content-Type": "application/vnd.api+json"})
        assert r.status == 200 and api.seen[-1]["body"] == body, r
        # Dex tokens and no token at all are Terrakube's to judge; X-Pat-* still cleared.
        for h in ({"Authorization": "Bearer " + ident}, {}):
            r = request("GET", "/api/v1/organization", headers=dict(FORGED, **h), port=nginx.port)
            assert r.status == 200 and r.header("X-Backend") == "api", r
            assert _headers(api.seen[-1], "Authorization") == ([h["Authorization"]] if h else [])
            _backend_identity(api.seen[-1], None)
        n = len(api.seen) + len(registry.seen)
        _revoked_and_forged(nginx.port, "/api/v1/organization", tok, tid, ident)
        _revoked_and_forged(nginx.port, "/.well-known/terraform.json", *new_pat(id_token(email, "T", [])))
        assert len(api.seen) + len(registry.seen) == n


def test_terrakube_routes_token_management_to_patgate():
    with contextlib.ExitStack() as stack:
        nginx, api, registry = _terrakube(stack)
        ident = id_token(unique_email("route"), "Route", ["dev"])
        r = request("POST", "/pat/v1", json_body=CREATE, token=ident, port=nginx.port)
        assert r.status == 201 and r.header("X-Request-Id"), r
        tok = r.json()["token"]
        r = request("GET", "/pat/v1", token=tok, port=nginx.port)
        assert r.status == 202 and r.header("X-Request-Id"), r
        r = request("POST", "/api/v1", json_body=CREATE, token=ident, port=nginx.port)
        assert r.status == 201 and r.header("X-Request-Id"), r
        for path in ("/access-token/v1/teams", "/access-token/v1/teams/current-teams",
                     "/access-token/v1/teams/0b8ba1c6-1d5c-4b23-9c6e-6f4a3b0c2d1e"):
            for t in (ident, tok):
                r = request("GET", path, token=t, port=nginx.port)
                # patgate answered (404 until the worker has team tokens), not Terrakube.
                assert r.header("X-Backend") is None and r.header("X-Request-Id"), (path, r)
                assert r.status != 404 or r.json()["error"] == "not_found", (path, r)
        assert api.seen == [] and registry.seen == []
        perm = "/access-token/v1/teams/permissions/organization/%s" % ORG
        for path in (perm, perm + "/workspace/" + ORG):
            r = request("GET", path, token=ident, port=nginx.port)
            assert r.status == 200 and r.header("X-Backend") == "api", r
            assert api.seen[-1]["path"] == path
        # A path that Terrakube's server would read as another endpoint never
        # reaches it through the permissions location.
        seen = len(api.seen)
        for path in ("/access-token/v1/teams/permissions/..;/", perm + "/..;/..;/..;/",
                     "/access-token/v1/teams/permissions/x", perm + "/workspace/x;a=b"):
            r = request("POST", path, json_body={"group": "dev"}, token=ident, port=nginx.port)
            assert r.status == 404 and r.header("X-Backend") is None, (path, r)
        assert len(api.seen) == seen


def test_terrakube_passes_a_big_identity():
    with contextlib.ExitStack() as stack:
        nginx, api, registry = _terrakube(stack)
        _big_passes(nginx.port, "/api/v1/organization", api)
        _big_passes(nginx.port, "/remote/tfe/v2/ping", registry)


# ------------------------------------------------------------------ basic-auth.conf

def test_basic_auth_sample_passes_only_a_verified_user():
    with contextlib.ExitStack() as stack:
        gate = _gate(stack)
        user, password = unique_email("basic"), os.urandom(9).hex()
        tmpdir = tempfile.mkdtemp(prefix="patgate-htpasswd-")
        stack.callback(shutil.rmtree, tmpdir, True)
        os.chmod(tmpdir, 0o755)
        htpasswd = os.path.join(tmpdir, "htpasswd")
        hashed = subprocess.run(["openssl", "passwd", "-apr1", password], check=True,
                                capture_output=True, text=True).stdout.strip()
        with open(htpasswd, "w") as f:
            f.write("%s:%s\n" % (user, hashed))
        os.chmod(htpasswd, 0o644)
        nginx = Nginx(stack, gate, _server(gate, "include @DIR@/basic-auth.conf;"),
                      {"/run/patgate/patgate.sock": gate.sock,
                       "/etc/patgate/htpasswd": htpasswd})
        _basic_attack(nginx)
        port = nginx.port
        # The right password: REMOTE_USER is the caller.
        r = request("POST", "/pat/v1", json_body=CREATE, headers=_basic(user, password), port=port)
        assert r.status == 201, r
        tok, tid = r.json()["token"], r.json()["id"]
        assert lib.claims(tok)["email"] == user
        r = request("GET", "/pat/v1", headers=_basic(user, password), port=port)
        assert r.status == 202 and [t["id"] for t in r.json()] == [tid], r
        assert r.json()[0]["createdBy"] == user
        # A wrong password: nginx's own 401, patgate never asked.
        for h in (_basic(user, password + "x"), _basic("nobody", password), {}):
            r = request("GET", "/pat/v1", headers=h, port=port)
            assert r.status == 401, (h, r)
            assert (r.header("WWW-Authenticate") or "").startswith("Basic realm="), r.headers
            assert r.header("X-Request-Id") is None and r.json()["error"] == "unauthorized", r
        # Bearer credentials are patgate's to check: the PAT and an identity token work,
        # a forged token does not, and a bad bearer never falls back to REMOTE_USER.
        assert request("GET", "/pat/v1/" + tid, token=tok, port=port).status == 200
        ident = id_token(user, "Basic User", [])
        r = request("GET", "/pat/v1", token=ident, port=port)
        assert r.status == 202 and [t["id"] for t in r.json()] == [tid], r
        r = request("GET", "/pat/v1", token=hs256(lib.claims(tok), secret=b"x" * 32), port=port)
        assert r.status == 401 and 'error="invalid_token"' in r.header("WWW-Authenticate"), r
        assert request("GET", "/pat/v1/verify", token=tok, port=port).status == 200
        assert request("GET", "/pat/v1/health", port=port).status == 200
        assert request("DELETE", "/pat/v1/" + tid, headers=_basic(user, password),
                       port=port).status == 202
        assert lib.count_rows("owner_email = '%s' AND revoked_at IS NULL" % user) == 0


# ------------------------------------------------------------------ devstack's own nginx

def _devstack_copy(gate):
    """devstack's nginx.conf as ./devstack up wrote it, on another port, with the
    private patgate and its own pid, logs and temporary files."""
    with open(os.path.join(VAR, "nginx", "nginx.conf")) as f:
        text = f.read()

    def main_conf(nginx):
        t = text
        for old, new in (("unix:%s/run/patgate.sock" % VAR, "unix:" + gate.sock),
                         ("listen 127.0.0.1:%d;" % PORT, "listen 127.0.0.1:%d;" % nginx.port),
                         ("%s/nginx/nginx.pid" % VAR, nginx.tmp + "/nginx.pid"),
                         ("%s/nginx/tmp/" % VAR, nginx.tmp + "/"),
                         ("%s/log/" % VAR, nginx.tmp + "/")):
            assert old in t, old
            t = t.replace(old, new)
        return t
    return main_conf


def test_devstack_nginx_takes_no_user_from_a_client():
    # The running one first (its patgate does not trust REMOTE_USER at all) ...
    email, tid = _victim()
    for method, path in (("GET", "/pat/v1"), ("POST", "/pat/v1"), ("DELETE", "/pat/v1/" + tid),
                         ("GET", "/demo/whoami")):
        r = request(method, path, json_body=CREATE if method == "POST" else None,
                    headers=_basic(email, "x"))
        assert r.status == 401, (method, path, r)
    # ... then its config in front of a patgate that does.
    with contextlib.ExitStack() as stack:
        gate = _gate(stack)
        nginx = Nginx(stack, gate, main_conf=_devstack_copy(gate))
        _basic_attack(nginx)
        email, _ = _victim()
        r = request("GET", "/demo/whoami", headers=_basic(email, "x"), port=nginx.port)
        assert r.status == 401 and r.json()["error"] == "unauthorized", r
        tok, _, _, _, _ = _big_identity()
        email = lib.claims(tok)["email"]
        r = request("GET", "/demo/whoami", token=tok, port=nginx.port,
                    headers={"X-Pat-Email": "forged@example.com"})
        assert r.status == 200 and r.json() == {"email": email}, r
