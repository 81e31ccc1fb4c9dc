"""Checks read from a standby (verify_on_standby), once the workers have
listened for the primary's notifications for five minutes: only then does a
check trust a standby for a token not notified lately.  Slow (about 6
minutes), so it runs only with PATGATE_CLUSTER_LONG=1:

  PATGATE_CLUSTER_LONG=1 tests/cluster/run.py standby_reads

- a standby that replays late (recovery_min_apply_delay, as after a long
  outage or a paused replay): a token revoked more than five minutes ago
  must not verify through a worker that reads there;
- revoke, then at once verify through the other side: through both
  instances' nginx (the verify cache on, as by default), and straight to
  two private instances that read the on-time standby with the cache off,
  so that only the standby is measured;
- a list right after a create, through the other instance (lists always
  read the standby): how often the new token is missing (reported).
Loops are bounded in count and time; everything is on 127.0.0.1."""
import os
import time

import clusterlib as cl
from clusterlib import Owners, cluster, members, role_of

from test_failover import report

LONG = os.environ.get("PATGATE_CLUSTER_LONG") == "1"
WARM_S = 5 * 60 + 20        # service.c's SVC_RECENT_MS, and a margin


def _on(name, query):
    return cl.psql(query, cl.node_conninfo(name))


def test_checks_on_standby_after_five_minutes():
    if not LONG:
        raise cl.lib.Skip("slow (6 minutes): PATGATE_CLUSTER_LONG=1 runs it")
    cluster("wait")
    leader = role_of("leader")
    standbys = [n["name"] for n in cl.INFO["nodes"] if n["name"] != leader]
    on_time, late = standbys[0], standbys[-1]   # libpq takes the first standby it finds
    owners = Owners("long")
    ps = cl.ports()
    fcgi_create, fcgi_verify, fcgi_revoke = cl.over_fastcgi([None, None])

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
        # Every worker listens afresh from now on.
        for name in members():
            _on(name, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                      "WHERE application_name = 'patgate'")
        with cl.lib.Instance(workers=1, config_text=cl.private_config(late)) as late_inst, \
                cl.lib.Instance(workers=1, config_text=cl.private_config(
                    on_time, "verify_cache_entries = 0")) as a, \
                cl.lib.Instance(workers=1, config_text=cl.private_config(
                    on_time, "verify_cache_entries = 0")) as b:
            fcgi_create, fcgi_verify, fcgi_revoke = cl.over_fastcgi([a, b])
            late_verify = cl.over_fastcgi([late_inst, late_inst])[1]
            assert late_verify(0, old_tok) == 401

            # Meanwhile: lists right after creates, through the other instance.
            stale, rounds = 0, 200
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

            # Keep every connection in use while the five minutes pass.
            pool = cl.pool(4)
            deadline = time.monotonic() + WARM_S
            while time.monotonic() < deadline:
                for p in ps:
                    assert cl.request("GET", "/pat/v1/verify", token=pool[0], port=p).status == 200
                for side in (0, 1):
                    assert fcgi_verify(side, pool[0]) == 200
                assert late_verify(0, pool[0]) == 200
                time.sleep(1)

            assert _on(late, "SELECT revoked_at IS NULL FROM pat WHERE id = '%s'"
                       % old_id) == [["t"]], "the late standby is not late"
            late_answer = late_verify(0, old_tok)
            over_nginx = cl.revoke_then_verify(*cl.over_nginx(), owners)
            on_standby = cl.revoke_then_verify(fcgi_create, fcgi_verify, fcgi_revoke, owners)
            report("checks on a standby after five minutes of listening", on_time_standby=on_time,
                   late_standby=late, revoked_long_ago_through_late_standby=late_answer,
                   revoke_then_verify_rounds=300,
                   revoked_but_verified_over_nginx_cache_on=len(over_nginx),
                   revoked_but_verified_on_standby_cache_off=len(on_standby))
    finally:
        cl.apply_delay(late, None)
    assert late_answer == 401, "a token revoked over five minutes ago verified (%s) through " \
        "a worker that reads a standby 10 minutes late" % late_answer
    assert not on_standby, "%d of 300 revoked tokens verified on the standby right after " \
        "their 202" % len(on_standby)
    assert not over_nginx, "%d of 300 revoked tokens verified through the other instance " \
        "right after their 202" % len(over_nginx)
