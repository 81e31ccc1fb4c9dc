"""Last, over the whole run: no token or secret in any log, and the workers
ran as the unprivileged user.  (This module runs after all the others.)"""
import glob
import os
import re

import lib
from lib import VAR, children

RUN = re.compile(rb"[A-Za-z0-9_\-]{20,}")


def _log_words():
    """Every long base64url-alphabet word in every log of the stack."""
    words = set()
    for path in glob.glob(os.path.join(VAR, "log", "*.log")):
        with open(path, "rb") as f:
            words.update(RUN.findall(f.read()))
    return words


def test_no_issued_token_appears_in_any_log():
    assert len(lib.ISSUED) > 100, "the run issued too few tokens to mean anything"
    words = _log_words()
    leaked = [t for t in lib.ISSUED
              if t.split(".")[2].encode() in words or t.split(".")[1].encode() in words]
    assert not leaked, "%d tokens are in the logs" % len(leaked)
    lib.log("searched the logs for %d issued tokens: none found" % len(lib.ISSUED))


def test_no_secret_appears_in_any_log():
    words = _log_words()
    for name in ("pat-secret", "pepper", "pg-superuser", "pg-patgate", "introspect"):
        with open(os.path.join(VAR, "keys", name), "rb") as f:
            secret = f.read().strip()
        assert secret not in words, name
        assert not any(secret in w for w in words), name


def test_workers_run_as_the_configured_user():
    with open(os.path.join(VAR, "run", "patgate.pid")) as f:
        master = int(f.readline())
    import pwd
    www = pwd.getpwnam("www-data").pw_uid
    kids = children(master)
    assert kids, "no workers"
    for pid in kids:
        with open("/proc/%d/status" % pid) as f:
            uids = [line.split()[1:] for line in f if line.startswith("Uid:")][0]
        assert all(int(u) == www for u in uids), (pid, uids)
