"""Checks read from a standby (verify_on_standby), once the workers have
listened for the primary's notifications for five minutes: only then does a
check trust a standby for a token not notified lately.  Slow (about 6
minutes), so it runs only with PATGATE_CLUSTER_LONG=1:

  PATGATE_CLUSTER_LONG=1 tests/cluster/run.py standby_reads

- revoke, then at once verify through the other instance: the revoke's
  notification must be taken in before the standby is trusted;
- a standby that replays late (recovery_min_apply_delay on it, as after a
  long outage or a paused replay): a token revoked more than five minutes
  ago must not verify there;
- a list right after a create, through the other instance (lists always
  read the standby): how often the new token is missing.
Loops are bounded in count and time; everything is on 127.0.0.1."""
import os
import time

import clusterlib as cl
from clusterlib import Owners, cluster, members, role_of

from test_failover import report

LONG = os.environ.get("PATGATE_CLUSTER_LONG") == "1"
WARM_S = 5 * 60 + 20        # service.c's SVC_RECENT_MS, and a margin


def _terminate(name):
    cl.psql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = 'patgate'", cl.node_conninfo(name))


def _on(name, query):
    return cl.psql(query, cl.node_conninfo(name))


def _fcgi_verify(inst, tok):
    return inst.request({"SCRIPT_NAME": "/pat/v1/verify",
                         "HTTP_AUTHORIZATION": "Bearer " + tok}).status


def test_checks_on_standby_after_five_minutes():
    if not LONG:
        raise cl.lib.Skip("slow (6 minutes): PATGATE_CLUSTER_LONG=1 runs it")
    cluster("wait")
    leader = role_of("leader")
    standbys = [n["name"] for n in cl.INFO["nodes"] if n["name"] != leader]
    reads_on, late = standbys[0], standbys[-1]     # libpq takes the first standby it finds
    owners = Owners("long")
    ps = cl.ports()

    # The late standby: a token it has, revoked once its replay waits 10 minutes.
    old_ident = owners.ident()
    old = cl.lib.create(old_ident, 1, "revoked long ago", port=ps[0])
    assert old.status == 201, old
    old_tok, old_id = old.json()["token"], old.json()["id"]
    assert cl.lib.wait_for(lambda: _on(late, "SELECT count(*) FROM pat WHERE id = '%s'"
                                       % old_id) == [["1"]], 10)
    cl.apply_delay(late, "10min")
    try:
        r = cl.request("DELETE", "/pat/v1/" + old_id, token=old_ident, port=ps[0])
        assert r.status == 202, r
        # A private instance that reads from the late standby only.
        conf = open(cl.INFO["instances"][0]["config"]).read()
        with open(os.path.join(cl.CV, "keys", "pg-patgate")) as f:
            password = f.read().strip()
        conf = "\n".join(ln for ln in conf.splitlines()
                         if not ln.startswith(("read_database_url", "listen"))) + \
            "\nread_database_url = host=127.0.0.1 port=%d dbname=patgate user=patgate " \
            "password=%s connect_timeout=2\n" % (cl.node(late)["pg_port"], password)
        # Both instances' workers listen afresh from now.
        for name in members():
            _terminate(name)
        with cl.lib.Instance(workers=1, config_text=conf) as late_inst:
            assert _fcgi_verify(late_inst, old_tok) == 401

            # Meanwhile: lists right after creates, through the other instance.
            stale = 0
            rounds = 200
            for i in range(rounds):
                ident = owners.ident()
                r = cl.lib.create(ident, 1, "list after create %d" % i, port=ps[i % 2])
                assert r.status == 201, r
                listed = cl.request("GET", "/pat/v1", token=ident, port=ps[(i + 1) % 2])
                assert listed.status == 202, listed
                if r.json()["id"] not in {t["id"] for t in listed.json()}:
                    stale += 1
                time.sleep(0.05)
            report("a list right after a create, read from the standby", rounds=rounds,
                   new_token_missing=stale)

            # Keep every worker's connection in use while the five minutes pass.
            pool = cl.pool(4)
            deadline = time.monotonic() + WARM_S
            while time.monotonic() < deadline:
                for p in ps:
                    assert cl.request("GET", "/pat/v1/verify", token=pool[0], port=p).status == 200
                assert _fcgi_verify(late_inst, pool[0]) == 200
                time.sleep(1)

            # The late standby still has the old token unrevoked.
            assert _on(late, "SELECT revoked_at IS NULL FROM pat WHERE id = '%s'" % old_id) == [["t"]]
            late_answer = _fcgi_verify(late_inst, old_tok)

            # Revoke, then verify at once through the other instance.
            raced, rounds = [], 300
            for i in range(rounds):
                ident = owners.ident()
                r = cl.lib.create(ident, 1, "race %d" % i, port=ps[i % 2])
                assert r.status == 201, r
                tok, tid = r.json()["token"], r.json()["id"]
                assert cl.request("GET", "/pat/v1/verify", token=tok, port=ps[(i + 1) % 2]).status == 200
                time.sleep(0.02)
                assert cl.request("DELETE", "/pat/v1/" + tid, token=ident, port=ps[i % 2]).status == 202
                s = cl.request("GET", "/pat/v1/verify", token=tok, port=ps[(i + 1) % 2]).status
                if s != 401:
                    raced.append(s)
            report("checks on a standby after five minutes of listening", reads_on=reads_on,
                   late_standby=late, revoked_long_ago_on_late_standby=late_answer,
                   revoke_then_verify_rounds=rounds, revoked_but_verified=len(raced))
    finally:
        cl.apply_delay(late, None)
    assert late_answer == 401, "a token revoked over five minutes ago verified on a late standby"
    assert not raced, "%d of %d revoked tokens verified at once after their 202" % (len(raced), rounds)
