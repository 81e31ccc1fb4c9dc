"""Bad input at the FastCGI level, straight to a worker's socket (no nginx in
between): every case gets a clean answer and the worker lives on."""
import os
import socket
import struct
import subprocess

import lib
from lib import (SOCKET, Instance, claims, count_rows, fcgi, fcgi_begin, fcgi_connect,
                 fcgi_params, fcgi_read, fcgi_stdin, id_token, new_pat, request, sql,
                 unique_email, wait_for)


def _create_params(email, **extra):
    p = {"REQUEST_METHOD": "POST", "SCRIPT_NAME": "/pat/v1", "CONTENT_TYPE": "application/json",
         "HTTP_AUTHORIZATION": "Bearer " + id_token(email)}
    p.update(extra)
    return p


BODY = b'{"days": 1, "description": "fastcgi"}'


def _still_serving():
    r = fcgi({"SCRIPT_NAME": "/pat/v1/health"})
    assert r.status == 200, r


def _expect(params, body, status, error):
    email = params.get("_email") or unique_email("fcgi")
    params = {k: v for k, v in params.items() if k != "_email"}
    r = fcgi(_create_params(email, **params), body)
    assert r.status == status, (params, r)
    assert r.json()["error"] == error, r
    assert count_rows("owner_email = '%s'" % email) == 0
    _still_serving()


def test_content_length_missing_with_a_body_is_411():
    _expect({"CONTENT_LENGTH": None}, BODY, 411, "length_required")


def test_content_length_negative_or_not_a_number_is_400():
    for cl in ("-5", "abc", "12abc", " 12", "0x20", "99999999999999999999999"):
        _expect({"CONTENT_LENGTH": cl}, BODY, 400, "bad_request")


def test_content_length_larger_than_the_body_is_400():
    _expect({"CONTENT_LENGTH": str(len(BODY) + 10)}, BODY, 400, "bad_request")


def test_content_length_smaller_than_the_body_is_400():
    _expect({"CONTENT_LENGTH": str(len(BODY) - 5)}, BODY, 400, "bad_request")


def test_content_length_over_the_cap_is_413_without_reading():
    _expect({"CONTENT_LENGTH": "70000"}, BODY, 413, "payload_too_large")


def test_ten_thousand_params_is_431():
    params = {"HTTP_X_%05d" % i: "v" for i in range(10000)}
    params["SCRIPT_NAME"] = "/pat/v1/health"
    r = fcgi(params)
    assert r.status == 431 and r.json()["error"] == "headers_too_large", r
    _still_serving()


def test_one_mebibyte_param_is_431():
    r = fcgi({"SCRIPT_NAME": "/pat/v1/health", "HTTP_X_BIG": "x" * (1024 * 1024)})
    assert r.status == 431, r
    r = fcgi({"SCRIPT_NAME": "/pat/v1", "HTTP_AUTHORIZATION": "Bearer " + "A" * (1024 * 1024)})
    assert r.status == 431, r
    _still_serving()


def test_a_long_but_sane_bearer_is_refused_not_crashed():
    r = fcgi({"SCRIPT_NAME": "/pat/v1/verify", "HTTP_AUTHORIZATION": "Bearer " + "A" * 60000})
    assert r.status == 401, r
    _still_serving()


def test_nul_in_the_path():
    """libfcgi ends a parameter at a NUL byte, so the path routed on is the part before it."""
    r = fcgi({"SCRIPT_NAME": b"/nowhere\x00/pat/v1/health"})
    assert r.status == 404, r
    r = fcgi({"SCRIPT_NAME": b"/pat/v1/health\x00junk"})
    assert r.status in (200, 404), r
    _still_serving()


def test_odd_methods():
    for method in ("PROPFIND", "", "get", "G\x01T", "X" * 5000, "CONNECT", "TRACE", "OPTIONS"):
        r = fcgi({"REQUEST_METHOD": method, "SCRIPT_NAME": "/pat/v1"})
        assert r.status == 405, (method[:20], r)
        assert r.header("Allow") == "GET, POST"
    r = fcgi({"REQUEST_METHOD": "PATCH", "SCRIPT_NAME": "/nowhere"})
    assert r.status == 404, r
    _still_serving()


def test_missing_request_method_and_path():
    r = fcgi({"REQUEST_METHOD": None})
    assert r.status == 404, r           # no path to route: "/"
    _still_serving()


def test_garbage_records_then_disconnect_do_not_kill_the_worker():
    for junk in (b"\x00" * 64, b"GET / HTTP/1.1\r\n\r\n", os.urandom(4096),
                 struct.pack(">BBHHBx", 1, 1, 1, 8, 0) + b"\x00\x01"):    # truncated record
        s = fcgi_connect()
        try:
            s.sendall(junk)
            s.shutdown(socket.SHUT_WR)
            try:
                s.recv(100)
            except OSError:
                pass
        finally:
            s.close()
    for _ in range(8):                  # every worker
        _still_serving()


def test_client_gone_before_the_answer():
    s = fcgi_connect()
    s.sendall(fcgi_begin() + fcgi_params({"SCRIPT_NAME": "/pat/v1/health",
                                          "REQUEST_METHOD": "GET"}) + fcgi_stdin(b""))
    s.close()
    for _ in range(8):
        _still_serving()


def test_a_second_request_id_on_one_connection_is_handled():
    s = fcgi_connect()
    try:
        s.sendall(fcgi_begin() + fcgi_params({"SCRIPT_NAME": "/pat/v1/health",
                                              "REQUEST_METHOD": "GET"}) + fcgi_stdin(b""))
        r = fcgi_read(s)
        assert r.status == 200, r
    finally:
        s.close()
    _still_serving()


def _send(inst, params, body=b""):
    """Send a whole request on its own connection; its answer is read later."""
    base = {"GATEWAY_INTERFACE": "CGI/1.1", "REQUEST_METHOD": "GET",
            "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1"}
    if body:
        base["CONTENT_LENGTH"] = str(len(body))
    base.update(params)
    s = fcgi_connect(inst.sock, 20)
    s.sendall(fcgi_begin() + fcgi_params(base) + fcgi_stdin(body))
    return s


def _inserts_waiting_on_a_lock():
    return sql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'patgate' "
               "AND query LIKE '%pat_create(%' AND wait_event_type = 'Lock'")[0][0]


def test_requests_read_while_a_create_commits_each_get_their_own_answer():
    """A worker reads the next request while a create's row commits.  With one
    worker, a create held on a table lock and four requests queued behind it
    (create, create, verify, create), each answer belongs to its own request,
    and no token is answered before its row has committed."""
    known, known_id, _ = new_pat()
    email = unique_email("overlap")
    ident = id_token(email)

    def create(description):
        body = ('{"days": 1, "description": "%s"}' % description).encode()
        return _create_params(email, HTTP_AUTHORIZATION="Bearer " + ident), body

    with Instance(workers=1) as inst:
        # The lock is taken once the worker is up, so that a slow start
        # cannot use up its 2 s before the first create arrives.
        locker = subprocess.Popen([os.path.join(lib.ROOT, "devstack"), "psql", "-c",
                                   "BEGIN; LOCK TABLE pat IN SHARE MODE; "
                                   "SELECT pg_sleep(2); COMMIT;"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            assert wait_for(lambda: sql("SELECT count(*) FROM pg_locks WHERE mode = "
                                        "'ShareLock' AND relation = 'pat'::regclass")[0][0]
                            == "1", 5)
            first = _send(inst, *create("first"))
            assert wait_for(lambda: _inserts_waiting_on_a_lock() == "1", 5)
            queued = [_send(inst, *create("second")), _send(inst, *create("third")),
                      _send(inst, {"SCRIPT_NAME": "/pat/v1/verify",
                                   "HTTP_AUTHORIZATION": "Bearer " + known}),
                      _send(inst, *create("fourth"))]
            first.settimeout(0.5)
            try:
                early = first.recv(1)
            except socket.timeout:
                early = None
            assert early is None, "answered before the row could commit"
            assert count_rows("owner_email = '%s'" % email) == 0
        finally:
            locker.wait(10)
        first.settimeout(20)
        answers = [fcgi_read(s) for s in [first] + queued]
        for s in [first] + queued:
            s.close()
        assert inst.proc.poll() is None and inst.workers() == 1
    verified = answers.pop(3)
    assert verified.status == 200 and verified.json()["id"] == known_id, verified
    for r, description in zip(answers, ["first", "second", "third", "fourth"]):
        assert r.status == 201, (description, r)
        body = r.json()
        assert body["description"] == description, (description, body)
        assert claims(body["token"])["jti"] == body["id"]
        v = request("GET", "/pat/v1/verify", token=body["token"])
        assert v.status == 200 and v.json()["id"] == body["id"], (description, v)
    rows = sql("SELECT description FROM pat WHERE owner_email = '%s' ORDER BY created_at"
               % email)
    assert [r[0] for r in rows] == ["first", "second", "third", "fourth"], rows
