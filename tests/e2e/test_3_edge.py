"""The edge gate: verify for nginx auth_request, the demo location, last-used
tracking, and RFC 7662 introspection."""
import base64
import os
import time
import uuid

from lib import (VAR, claims, hs256, id_token, new_pat, request, run_cgi, sql, unique_email,
                 wait_for)

BEARER_INVALID = 'Bearer realm="patgate", error="invalid_token"'
BEARER_NONE = 'Bearer realm="patgate"'


def introspect_secret():
    with open(os.path.join(VAR, "keys", "introspect")) as f:
        return f.read().strip()


# ------------------------------------------------------------------ verify

def test_verify_valid_pat_gives_identity_body_and_headers():
    email = unique_email()
    tok, tid, _ = new_pat(id_token(email, "Linus T", ["kernel", "git"]), days=7)
    r = request("GET", "/pat/v1/verify", token=tok)
    assert r.status == 200, r
    body = r.json()
    assert body == {"active": True, "id": tid, "kind": "user", "email": email, "name": "Linus T",
                    "groups": ["kernel", "git"], "expiresAt": body["expiresAt"]}, body
    assert body["expiresAt"].endswith(".000Z")
    assert r.header("X-Pat-Id") == tid and r.header("X-Pat-Email") == email
    assert r.header("X-Pat-Name") == "Linus T" and r.header("X-Pat-Groups") == "kernel,git"
    assert r.header("X-Pat-Kind") == "user"


def test_verify_refusals_are_401_with_the_right_challenge():
    tok, tid, ident = new_pat()
    c = claims(tok)
    c["jti"] = str(uuid.uuid4())
    cases = [(None, BEARER_NONE), ("", BEARER_INVALID), ("not-a-jwt", BEARER_INVALID),
             (tok[:-4] + "AAAA", BEARER_INVALID), (hs256(c), BEARER_INVALID),
             (ident, BEARER_INVALID)]           # an OIDC token is not a PAT
    for t, challenge in cases:
        h = {} if t is None else {"Authorization": "Bearer " + t}
        r = request("GET", "/pat/v1/verify", headers=h)
        assert r.status == 401, (t, r)
        assert r.header("WWW-Authenticate") == challenge, (t, r.headers)
        assert r.header("X-Pat-Email") is None
    basic = request("GET", "/pat/v1/verify", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert basic.status == 401 and basic.header("WWW-Authenticate") == BEARER_NONE
    request("DELETE", "/pat/v1/" + tid, token=ident)
    revoked = request("GET", "/pat/v1/verify", token=tok)
    assert revoked.status == 401 and revoked.header("WWW-Authenticate") == BEARER_INVALID


def test_bearer_scheme_is_case_insensitive():
    tok, _, _ = new_pat()
    r = request("GET", "/pat/v1/verify", headers={"Authorization": "bearer  " + tok})
    assert r.status == 200, r


# ------------------------------------------------------------------ the demo location

def test_demo_whoami_valid_pat_gets_its_owner():
    email = unique_email()
    tok, _, _ = new_pat(id_token(email))
    r = request("GET", "/demo/whoami", token=tok)
    assert r.status == 200, r
    assert r.json() == {"email": email}


def test_demo_whoami_401_right_after_delete():
    tok, tid, ident = new_pat()
    assert request("GET", "/demo/whoami", token=tok).status == 200
    assert request("DELETE", "/pat/v1/" + tid, token=ident).status == 202
    r = request("GET", "/demo/whoami", token=tok)
    assert r.status == 401, r
    assert r.header("WWW-Authenticate") == BEARER_INVALID, r.headers


def test_demo_whoami_forged_and_missing_tokens_get_401():
    forged = hs256({"iss": "Terrakube", "aud": ["Terrakube"], "jti": str(uuid.uuid4()),
                    "email": "mallory@example.com", "groups": [], "iat": int(time.time())},
                   secret=os.urandom(40))
    r = request("GET", "/demo/whoami", token=forged)
    assert r.status == 401 and r.header("WWW-Authenticate") == BEARER_INVALID, r
    none = request("GET", "/demo/whoami")
    assert none.status == 401 and none.header("WWW-Authenticate") == BEARER_NONE, none
    assert none.json()["error"] == "unauthorized"


def test_demo_ignores_identity_headers_sent_by_the_client():
    email = unique_email()
    tok, _, _ = new_pat(id_token(email))
    h = {"X-Pat-Email": "evil@example.com", "Pat-Email": "evil@example.com"}
    r = request("GET", "/demo/whoami", token=tok, headers=h)
    assert r.json() == {"email": email}, r
    assert request("GET", "/demo/whoami", headers=h).status == 401


def test_header_injection_in_the_name_is_neutralised():
    for name in ("Eve\r\nX-Injected: 1", "Eve\nX-Pat-Email: admin@example.com", "Eve\x00",
                 "Eve\u0085Next"):
        ident = id_token(unique_email(), name)
        r = request("POST", "/pat/v1", token=ident,
                    json_body={"days": 1, "description": "inject"})
        assert r.status == 401, (name, r)
        assert r.header("X-Injected") is None
    # Stored identities cannot carry control characters either.
    try:
        sql("UPDATE pat SET owner_name = 'a' || chr(10) || 'b' WHERE false OR id = "
            "(SELECT id FROM pat LIMIT 1)")
        raise AssertionError("the database accepted a control character in a name")
    except Exception as e:      # noqa: BLE001
        assert "check constraint" in str(getattr(e, "stderr", e)), e


def test_non_ascii_names_pass_through_intact():
    email = unique_email()
    tok, _, _ = new_pat(id_token(email, "Zoë Ünïcødé 日本"))
    r = request("GET", "/pat/v1/verify", token=tok)
    assert r.status == 200 and r.json()["name"] == "Zoë Ünïcødé 日本", r


# ------------------------------------------------------------------ last used

def _last_used(tid):
    return sql("SELECT last_used_at, last_used_addr FROM pat WHERE id = '%s'" % tid)[0]


def test_last_used_is_recorded_once_per_minute():
    tok, tid, ident = new_pat()
    item = request("GET", "/pat/v1/" + tid, token=ident).json()
    assert item["lastUsedAt"] is None
    assert request("GET", "/pat/v1/verify", token=tok).status == 200
    first = request("GET", "/pat/v1/" + tid, token=ident).json()["lastUsedAt"]
    assert first is not None and first.endswith("Z"), first
    at, addr = _last_used(tid)
    assert addr == "127.0.0.1", addr
    time.sleep(1.1)
    assert request("GET", "/pat/v1/verify", token=tok).status == 200
    assert request("GET", "/pat/v1/" + tid, token=ident).json()["lastUsedAt"] == first
    assert _last_used(tid)[0] == at, "rewritten within 60 s"
    listed = [i for i in request("GET", "/pat/v1", token=ident).json() if i["id"] == tid]
    assert listed[0]["lastUsedAt"] == first


def test_last_used_is_written_again_after_a_minute():
    tok, tid, _ = new_pat()
    assert request("GET", "/pat/v1/verify", token=tok).status == 200
    sql("UPDATE pat SET last_used_at = now() - interval '61 seconds' WHERE id = '%s'" % tid)
    old = _last_used(tid)[0]
    assert request("GET", "/pat/v1/verify", token=tok).status == 200
    assert _last_used(tid)[0] != old


def test_the_last_used_write_alone_skips_the_fsync():
    # pat_touch turns synchronous_commit off for its own transaction only:
    # the check does not wait for the disk, and issuing a token still does.
    _, tid, _ = new_pat()
    rows = sql("BEGIN; SELECT pat_touch('%s', '127.0.0.1'); SHOW synchronous_commit; COMMIT; "
               "SHOW synchronous_commit" % tid)
    assert rows == [["t"], ["off"], ["on"]], rows
    assert _last_used(tid)[1] == "127.0.0.1"
    # and pages keep room for it, so that it is a HOT update
    assert sql("SELECT reloptions FROM pg_class WHERE relname = 'pat'") == [["{fillfactor=90}"]]


def test_forwarded_for_is_believed_only_from_trusted_proxies():
    tok, tid, _ = new_pat()
    env = {"PATH_INFO": "/pat/v1/verify", "HTTP_AUTHORIZATION": "Bearer " + tok,
           "REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "203.0.113.9, 10.0.0.7"}
    r = run_cgi(dict(env, PATGATE_TRUSTED_PROXIES=""))
    assert r.status == 200, r
    assert _last_used(tid)[1] == "127.0.0.1"
    sql("UPDATE pat SET last_used_at = NULL WHERE id = '%s'" % tid)
    r = run_cgi(dict(env, PATGATE_TRUSTED_PROXIES="127.0.0.1, 10.0.0.7"))
    assert r.status == 200, r
    assert _last_used(tid)[1] == "203.0.113.9"
    sql("UPDATE pat SET last_used_at = NULL WHERE id = '%s'" % tid)
    r = run_cgi(dict(env, PATGATE_TRUSTED_PROXIES="127.0.0.1", HTTP_X_FORWARDED_FOR="not-an-ip"))
    assert r.status == 200 and _last_used(tid)[1] == "127.0.0.1"


# ------------------------------------------------------------------ introspection (RFC 7662)

def _introspect(tok, auth="bearer", secret=None, content_type="application/x-www-form-urlencoded"):
    secret = introspect_secret() if secret is None else secret
    h = {"Content-Type": content_type}
    if auth == "bearer":
        h["Authorization"] = "Bearer " + secret
    elif auth == "basic":
        h["Authorization"] = "Basic " + base64.b64encode(("rs:" + secret).encode()).decode()
    body = "token=" + tok if tok is not None else "other=1"
    return request("POST", "/pat/v1/introspect", body=body, headers=h)


def test_introspect_active_token():
    email = unique_email()
    tok, tid, _ = new_pat(id_token(email, "Ken T", ["bell"]), days=2)
    for auth in ("bearer", "basic"):
        r = _introspect(tok, auth)
        assert r.status == 200, r
        body = r.json()
        c = claims(tok)
        assert body == {"active": True, "sub": "Ken T (Token)", "username": "Ken T",
                        "email": email, "exp": c["exp"], "iat": c["iat"], "jti": tid,
                        "token_type": "Bearer", "groups": ["bell"]}, body


def test_introspect_inactive_is_exactly_active_false():
    tok, tid, ident = new_pat()
    request("DELETE", "/pat/v1/" + tid, token=ident)
    for t in (tok, "garbage", id_token(), tok[:-3] + "abc", ""):
        r = _introspect(t)
        assert r.status == 200, (t, r)
        assert r.body == b'{"active":false}', r


def test_introspect_needs_the_secret():
    tok, _, _ = new_pat()
    for auth, secret in (("none", None), ("bearer", "wrong"), ("basic", "wrong"),
                         ("bearer", introspect_secret() + "x")):
        r = _introspect(tok, auth, secret)
        assert r.status == 401, (auth, r)
        assert r.json()["error"] == "unauthorized"
    # With no introspect_secret configured, introspection is off.
    off = run_cgi({"REQUEST_METHOD": "POST", "PATH_INFO": "/pat/v1/introspect",
                   "CONTENT_TYPE": "application/x-www-form-urlencoded",
                   "CONTENT_LENGTH": str(len("token=" + tok)),
                   "HTTP_AUTHORIZATION": "Bearer " + introspect_secret(),
                   "PATGATE_INTROSPECT_SECRET": ""}, ("token=" + tok).encode())
    assert off.status == 401, off


def test_introspect_bad_requests():
    tok, _, _ = new_pat()
    r = _introspect(tok, content_type="application/json")
    assert r.status == 415, r
    r = _introspect(None)
    assert r.status == 400 and r.json()["field"] == "token", r
