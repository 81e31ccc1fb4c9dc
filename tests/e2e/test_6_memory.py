"""Memory: one worker under valgrind memcheck for 10,000 mixed requests must
end with no errors and no leaks.  (The sanitizer pass runs the whole suite
under ASan and UBSan instead, so this test sits that pass out.)"""
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import lib
from lib import BIN, CONFIG, Skip, fcgi, id_token, new_pat, unique_email, wait_for

REQUESTS = int(os.environ.get("PATGATE_VALGRIND_REQUESTS", "10000"))


def test_valgrind_memcheck_over_ten_thousand_mixed_requests():
    if lib.SANITIZED:
        raise Skip("valgrind cannot run a sanitizer build; ASan checks this pass")
    if shutil.which("valgrind") is None:
        raise AssertionError("valgrind is not installed")
    d = tempfile.mkdtemp(prefix="patgate-vg-")
    path, vglog = os.path.join(d, "w.sock"), os.path.join(d, "valgrind.log")
    lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    lsock.bind(path)
    lsock.listen(64)
    proc = subprocess.Popen(["valgrind", "--leak-check=full", "--show-leak-kinds=definite,indirect",
                             "--errors-for-leak-kinds=definite,indirect", "--error-exitcode=42",
                             "--log-file=" + vglog, BIN, "--config", CONFIG],
                            stdin=lsock.fileno(), stdout=subprocess.DEVNULL,
                            stderr=open(os.path.join(d, "worker.log"), "w"),
                            env=dict(os.environ, PATGATE_USER=""))
    lsock.close()
    try:
        assert wait_for(lambda: _ok(path), 60), "the worker did not start under valgrind"
        email = unique_email("vg")
        ident = id_token(email, "Val Grind", ["mem"])
        tok, tid, _ = new_pat(ident)
        auth = {"HTTP_AUTHORIZATION": "Bearer " + ident}
        kinds = [
            ({"SCRIPT_NAME": "/pat/v1/health"}, b""),
            ({"SCRIPT_NAME": "/pat/v1/verify", "HTTP_AUTHORIZATION": "Bearer " + tok}, b""),
            ({"SCRIPT_NAME": "/pat/v1/verify", "HTTP_AUTHORIZATION": "Bearer " + tok[:-2] + "xx"}, b""),
            ({"SCRIPT_NAME": "/pat/v1/verify"}, b""),
            (dict(auth, SCRIPT_NAME="/pat/v1"), b""),
            (dict(auth, SCRIPT_NAME="/pat/v1/" + tid), b""),
            (dict(auth, SCRIPT_NAME="/pat/v1/nope"), b""),
            (dict(auth, REQUEST_METHOD="POST", SCRIPT_NAME="/pat/v1",
                  CONTENT_TYPE="application/json"), b'{"days": 1, "description": "vg"}'),
            (dict(auth, REQUEST_METHOD="POST", SCRIPT_NAME="/pat/v1",
                  CONTENT_TYPE="application/json"), b'{"days": 1, "days": 2}'),
            (dict(auth, REQUEST_METHOD="POST", SCRIPT_NAME="/pat/v1",
                  CONTENT_TYPE="application/json"), b'{"days": "x", "description": "\\u00e9"}'),
            ({"REQUEST_METHOD": "POST", "SCRIPT_NAME": "/pat/v1/introspect",
              "CONTENT_TYPE": "application/x-www-form-urlencoded",
              "HTTP_AUTHORIZATION": "Bearer " + open(os.path.join(lib.VAR, "keys",
                                                                  "introspect")).read().strip()},
             ("token=" + tok).encode()),
            ({"REQUEST_METHOD": "DELETE", "SCRIPT_NAME": "/pat/v1/verify"}, b""),
            ({"SCRIPT_NAME": "/nowhere"}, b""),
        ]
        statuses = {}
        rng = random.Random(7)
        for _ in range(REQUESTS):
            params, body = rng.choice(kinds)
            r = fcgi(dict(params), body, path=path, timeout=60)
            statuses[r.status] = statuses.get(r.status, 0) + 1
        assert 500 not in statuses and 503 not in statuses, statuses
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(120)
    finally:
        if proc.poll() is None:
            proc.kill()
    report = open(vglog).read()
    summary = re.search(r"ERROR SUMMARY: (\d+) errors", report)
    definite = re.search(r"definitely lost: ([\d,]+) bytes", report)
    assert summary and summary.group(1) == "0", report[-3000:]
    assert definite is None or definite.group(1) == "0", report[-3000:]
    assert rc == 0, (rc, report[-3000:])
    lib.log("valgrind: %d requests %s, 0 errors, 0 bytes definitely lost" % (REQUESTS, statuses))
    shutil.rmtree(d, ignore_errors=True)


def _ok(path):
    try:
        return fcgi({"SCRIPT_NAME": "/pat/v1/health"}, path=path, timeout=5).status == 200
    except OSError:
        return False
