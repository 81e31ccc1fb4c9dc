"""The nginx samples in conf/nginx work as shipped: a private nginx runs
protect-upstream.conf in front of a small echo backend, and terrakube.conf
passes nginx -t."""
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
from lib import ROOT, SOCKET, new_pat, request, wait_for

SAMPLES = os.path.join(ROOT, "conf", "nginx")


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Echo(http.server.BaseHTTPRequestHandler):
    """Answers with the headers it was sent, as JSON."""

    def do_GET(self):
        body = json.dumps({k.lower(): v for k, v in self.headers.items()}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def _nginx_conf(tmp, port, server_body, http_extra=""):
    shutil.copy("/etc/nginx/fastcgi_params", os.path.join(tmp, "fastcgi_params"))
    user = "user www-data;" if os.geteuid() == 0 else ""
    conf = """%s
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
  server {
    listen 127.0.0.1:%d;
    %s
  }
}
""" % (user, tmp, tmp, tmp, tmp, tmp, tmp, tmp, http_extra, port, server_body)
    path = os.path.join(tmp, "nginx.conf")
    with open(path, "w") as f:
        f.write(conf)
    return path


def test_protect_upstream_sample_guards_a_backend():
    backend_port, port = _free_port(), _free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", backend_port), Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    tmp = tempfile.mkdtemp(prefix="patgate-sample-")
    os.chmod(tmp, 0o755)
    protect = open(os.path.join(SAMPLES, "protect-upstream.conf")).read()
    protect = protect.replace("127.0.0.1:9000", "127.0.0.1:%d" % backend_port)
    with open(os.path.join(tmp, "protect-upstream.conf"), "w") as f:
        f.write(protect)
    body = "include %s/patgate.conf;\n    include %s/protect-upstream.conf;" % (SAMPLES, tmp)
    conf = _nginx_conf(tmp, port, body, "upstream patgate { server unix:%s; }" % SOCKET)
    nginx = subprocess.Popen(["nginx", "-p", tmp, "-c", conf, "-e", os.path.join(tmp, "error.log")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert wait_for(lambda: _listening(port), 5), open(os.path.join(tmp, "error.log")).read()
        email = lib.unique_email("sample")
        tok, tid, ident = new_pat(lib.id_token(email, "Sam Ple", ["a", "b"]))
        r = request("GET", "/app/hello", token=tok, port=port,
                    headers={"X-Pat-Email": "forged@example.com", "X-Pat-Groups": "admin"})
        assert r.status == 200, r
        seen = r.json()
        assert seen["x-pat-email"] == email and seen["x-pat-groups"] == "a,b", seen
        assert seen["x-pat-id"] == tid and "authorization" not in seen, seen
        assert r.header("Cache-Control") == "no-store"
        assert request("DELETE", "/pat/v1/" + tid, token=ident).status == 202
        r = request("GET", "/app/hello", token=tok, port=port)
        assert r.status == 401, r
        assert 'error="invalid_token"' in r.header("WWW-Authenticate"), r.headers
        assert r.json()["error"] == "unauthorized"
        assert request("GET", "/app/hello", port=port).status == 401
    finally:
        nginx.terminate()
        nginx.wait(10)
        server.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)


def _listening(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def test_terrakube_sample_is_valid_nginx():
    tmp = tempfile.mkdtemp(prefix="patgate-tk-")
    os.chmod(tmp, 0o755)
    text = open(os.path.join(SAMPLES, "terrakube.conf")).read()
    text = text.replace("/usr/local/share/patgate/nginx/patgate.conf",
                        os.path.join(SAMPLES, "patgate.conf"))
    text = text.replace("/run/patgate/patgate.sock", SOCKET)
    text = re.sub(r"listen 443 ssl;", "listen 127.0.0.1:%d;" % _free_port(), text)
    with open(os.path.join(tmp, "terrakube.conf"), "w") as f:
        f.write(text)
    shutil.copy("/etc/nginx/fastcgi_params", os.path.join(tmp, "fastcgi_params"))
    conf = os.path.join(tmp, "nginx.conf")
    with open(conf, "w") as f:
        f.write("pid %s/nginx.pid; error_log %s/error.log; events {}\n"
                "http { client_body_temp_path %s/b; fastcgi_temp_path %s/f; proxy_temp_path %s/p;"
                " uwsgi_temp_path %s/u; scgi_temp_path %s/s; include %s/terrakube.conf; }\n"
                % ((tmp,) * 8))
    p = subprocess.run(["nginx", "-t", "-p", tmp, "-c", conf, "-e", os.path.join(tmp, "error.log")],
                       capture_output=True, text=True)
    shutil.rmtree(tmp, ignore_errors=True)
    assert p.returncode == 0, p.stderr
