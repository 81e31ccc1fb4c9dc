"""The PAT API: Terrakube-compatible tokens, callers, storage, and every input rule of CONTRACT 5."""
import hashlib
import hmac
import json
import os
import re
import subprocess
import time
import uuid

from lib import (CONFIG, EC_KEY, PGBIN, RSA_KEY, VAR, b64url, b64url_decode, claims, count_rows,
                 create, hs256, id_token, new_pat, read_key, request, run_cgi, sql,
                 token_hmac, unique_email)

RFC3339_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def q(s):
    return s.replace("'", "''")


# ------------------------------------------------------------------ create, list, get, revoke

def test_create_answers_201_with_the_token_once():
    email = unique_email()
    r = create(id_token(email, "Ada Lovelace", ["dev", "ops"]), 30, "laptop")
    assert r.status == 201, r
    assert r.header("Content-Type") == "application/json; charset=utf-8"
    body = r.json()
    assert set(body) == {"token", "id", "description", "days", "hours", "minutes",
                         "createdDate", "expiresAt"}, body
    assert UUID_RE.match(body["id"]), body
    assert body["description"] == "laptop" and body["days"] == 30
    assert RFC3339_MS.match(body["createdDate"]) and RFC3339_MS.match(body["expiresAt"]), body
    assert count_rows("id = '%s' AND owner_email = '%s'" % (body["id"], q(email))) == 1


def test_token_claims_are_terrakubes_layout():
    r = create(id_token("ada@example.com", "Ada Lovelace", ["dev", "ops"]), 30, "claims")
    tok, body = r.json()["token"], r.json()
    header = json.loads(b64url_decode(tok.split(".")[0]))
    assert header == {"alg": "HS256", "typ": "JWT"}, header
    c = claims(tok)
    assert list(c) == ["iss", "sub", "aud", "jti", "email", "email_verified", "name", "groups",
                       "iat", "exp"], list(c)
    assert c["iss"] == "Terrakube" and c["aud"] == ["Terrakube"]
    assert c["sub"] == "Ada Lovelace (Token)" and c["name"] == "Ada Lovelace (Token)"
    assert c["jti"] == body["id"] and c["email"] == "ada@example.com"
    assert c["email_verified"] is True and c["groups"] == ["dev", "ops"]
    assert abs(c["iat"] - time.time()) < 60 and c["exp"] == c["iat"] + 30 * 86400
    assert body["expiresAt"] == time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(c["exp"]))


def test_never_expiring_token_has_no_exp_and_null_expires_at():
    r = create(id_token(), 0, "forever")
    assert r.status == 201, r
    assert "exp" not in claims(r.json()["token"])
    assert r.json()["expiresAt"] is None


def test_token_verifies_with_an_independent_hs256_implementation():
    tok, _, _ = new_pat()
    signing_input, _, sig = tok.rpartition(".")
    expect = hmac.new(read_key("pat-secret"), signing_input.encode(), hashlib.sha256).digest()
    assert hmac.compare_digest(b64url_decode(sig), expect)
    wrong = hmac.new(b"another secret of at least 32 bytes!!", signing_input.encode(),
                     hashlib.sha256).digest()
    assert not hmac.compare_digest(b64url_decode(sig), wrong)


def test_groups_empty_array_when_the_owner_has_none():
    r = create(id_token(groups=None), 1, "no groups")
    assert claims(r.json()["token"])["groups"] == []


def test_list_is_202_newest_first_with_terrakube_fields():
    ident = id_token()
    ids = [create(ident, d, "list %d" % d).json()["id"] for d in (1, 0, 3)]
    r = request("GET", "/pat/v1", token=ident)
    assert r.status == 202, r
    items = r.json()
    assert [i["id"] for i in items] == ids[::-1], items
    for item in items:
        assert set(item) == {"id", "days", "hours", "minutes", "deleted", "description",
                             "createdDate", "createdBy", "updatedDate", "updatedBy", "expiresAt",
                             "lastUsedAt", "status"}, item
        assert item["deleted"] is False and item["status"] == "active"
        assert item["lastUsedAt"] is None
        assert "token" not in json.dumps(item).lower().replace("tokens", "")
    forever = [i for i in items if i["days"] == 0][0]
    assert forever["expiresAt"] is None


def test_list_shows_only_the_callers_tokens():
    a, b = id_token(), id_token()
    create(a, 1, "a's")
    rb = request("GET", "/pat/v1", token=b)
    assert rb.status == 202 and rb.json() == [], rb


def test_get_one_is_200_and_404_for_others_revoked_and_non_uuids():
    tok, tid, ident = new_pat(description="get me")
    r = request("GET", "/pat/v1/" + tid, token=ident)
    assert r.status == 200, r
    assert r.json()["id"] == tid and r.json()["description"] == "get me"
    other = request("GET", "/pat/v1/" + tid, token=id_token())
    assert other.status == 404 and other.json()["error"] == "not_found", other
    for bad in ("not-a-uuid", "1", tid + "0", "%27%3B--", tid.upper().replace("-", "")):
        r = request("GET", "/pat/v1/" + bad, token=ident)
        assert r.status == 404, (bad, r)
    request("DELETE", "/pat/v1/" + tid, token=ident)
    assert request("GET", "/pat/v1/" + tid, token=ident).status == 404


def test_delete_is_202_empty_and_the_token_stops_working():
    tok, tid, ident = new_pat()
    assert request("GET", "/pat/v1/verify", token=tok).status == 200
    r = request("DELETE", "/pat/v1/" + tid, token=ident)
    assert r.status == 202, r
    assert r.body == b"", r
    assert request("GET", "/pat/v1/verify", token=tok).status == 401
    row = sql("SELECT revoked_at IS NOT NULL, updated_by FROM pat WHERE id = '%s'" % tid)
    assert row[0][0] == "t", row
    assert tid not in [i["id"] for i in request("GET", "/pat/v1", token=ident).json()]
    again = request("DELETE", "/pat/v1/" + tid, token=ident)
    assert again.status == 202 and again.body == b"", again


def test_delete_of_unknown_foreign_or_malformed_ids_is_404():
    tok, tid, ident = new_pat()
    cases = [(id_token(), tid), (ident, str(uuid.uuid4())), (ident, "xyz"), (ident, "12345")]
    for who, target in cases:
        r = request("DELETE", "/pat/v1/" + target, token=who)
        assert r.status == 404, (target, r)
        assert r.json()["error"] == "not_found"
    assert request("GET", "/pat/v1/verify", token=tok).status == 200, "a foreign DELETE revoked it"


def test_api_v1_is_an_alias_for_create():
    r = request("POST", "/api/v1", token=id_token(), json_body={"days": 2, "description": "alias"})
    assert r.status == 201, r
    assert r.json()["days"] == 2


# ------------------------------------------------------------------ callers

def test_no_caller_is_401_without_error_attribute():
    r = request("GET", "/pat/v1")
    assert r.status == 401, r
    assert r.header("WWW-Authenticate") == 'Bearer realm="patgate"', r.headers
    assert r.json()["error"] == "unauthorized"


def test_invalid_bearer_is_401_with_invalid_token():
    for tok in ("garbage", "a.b.c", id_token() + "x", PAT_FORGERY()):
        r = request("GET", "/pat/v1", token=tok)
        assert r.status == 401, (tok, r)
        assert r.header("WWW-Authenticate") == 'Bearer realm="patgate", error="invalid_token"', r
        assert r.json()["error"] == "unauthorized"


def PAT_FORGERY():
    return hs256({"iss": "Terrakube", "aud": ["Terrakube"], "jti": str(uuid.uuid4()),
                  "email": "x@example.com", "name": "X (Token)", "sub": "X (Token)",
                  "email_verified": True, "groups": [], "iat": int(time.time())},
                 secret=b"not the secret, but long enough to sign")


def test_a_pat_can_create_list_and_revoke_its_owners_tokens():
    email = unique_email()
    ident = id_token(email, "Grace Hopper", ["navy"])
    first, first_id, _ = new_pat(ident, description="first")
    r = create(first, 5, "made by a PAT")
    assert r.status == 201, r
    c = claims(r.json()["token"])
    assert c["name"] == "Grace Hopper (Token)" and c["sub"] == "Grace Hopper (Token)", c
    assert c["email"] == email and c["groups"] == ["navy"]
    # and a PAT made by that PAT keeps the name too
    third = create(r.json()["token"], 1, "third").json()["token"]
    assert claims(third)["name"] == "Grace Hopper (Token)"
    listed = request("GET", "/pat/v1", token=first)
    assert listed.status == 202 and len(listed.json()) == 3, listed
    assert request("DELETE", "/pat/v1/" + r.json()["id"], token=first).status == 202


def test_oidc_es256_identity_is_accepted():
    r = create(id_token(key=EC_KEY), 1, "es256 caller")
    assert r.status == 201, r


def test_oidc_tokens_that_must_be_refused():
    email = unique_email()
    now = int(time.time())
    pub_pem = subprocess.run(["openssl", "pkey", "-in", RSA_KEY, "-pubout"], check=True,
                             capture_output=True).stdout
    from oidc import sign
    base = {"iss": "https://devstack.patgate.test", "aud": "patgate-devstack", "email": email,
            "iat": now, "exp": now + 600}
    confusion = hs256(base, secret=pub_pem, header={"alg": "HS256", "typ": "JWT",
                                                     "kid": "devstack-1"})
    none = (b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode()) + "." +
            b64url(json.dumps(base).encode()) + ".")
    cases = {
        "expired beyond leeway": id_token(email, ttl=-120),
        "not yet valid beyond leeway": id_token(email, extra={"nbf": now + 300}),
        "wrong issuer": id_token(email, iss="https://evil.example"),
        "wrong audience": id_token(email, aud="someone-else"),
        "unknown kid": id_token(email, kid="no-such-key"),
        "RS256 signed by another key": sign({"alg": "RS256", "typ": "JWT", "kid": "devstack-1"},
                                            base, EC_KEY),
        "alg confusion HS256 with the public key": confusion,
        "alg none": none,
        "ES256 header on the RSA key": sign({"alg": "ES256", "typ": "JWT", "kid": "devstack-1"},
                                            base, RSA_KEY),
        "no email claim": id_token(email, extra={"email": None}),
    }
    for what, tok in cases.items():
        r = create(tok, 1, what)
        assert r.status == 401, (what, r)
        assert 'error="invalid_token"' in r.header("WWW-Authenticate"), (what, r.headers)
    assert count_rows("owner_email = '%s'" % q(email)) == 0


def test_oidc_leeway_of_60_seconds():
    email = unique_email()
    assert create(id_token(email, ttl=-30), 1, "just expired").status == 201
    assert create(id_token(email, extra={"nbf": int(time.time()) + 30}), 1, "early").status == 201


def test_a_remembered_identity_token_still_expires():
    """Workers remember verified identity tokens; the lifetime is checked on every use."""
    ident = id_token(ttl=-57)                   # 3 s of leeway left
    for _ in range(8):                          # reach every worker, so each remembers it
        assert request("GET", "/pat/v1", token=ident).status == 202
    time.sleep(3.5)
    for _ in range(8):
        r = request("GET", "/pat/v1", token=ident)
        assert r.status == 401, r


def test_oidc_audience_may_be_an_array():
    r = create(id_token(aud=["other", "patgate-devstack"]), 1, "aud array")
    assert r.status == 201, r


def _remote_user_instance_env():
    return {"PATGATE_TRUST_REMOTE_USER": "on"}


def test_remote_user_is_the_caller_when_trusted():
    email = unique_email("remote")
    env = {"REQUEST_METHOD": "POST", "PATH_INFO": "/pat/v1", "CONTENT_TYPE": "application/json",
           "REMOTE_USER": email, "PATGATE_TRUST_REMOTE_USER": "on"}
    body = b'{"days": 1, "description": "apache user"}'
    r = run_cgi(dict(env, CONTENT_LENGTH=str(len(body))), body)
    assert r.status == 201, (r, r.stderr)
    c = claims(r.json()["token"])
    assert c["email"] == email and c["name"] == email + " (Token)" and c["groups"] == []
    # Basic credentials that the web server used itself are not a bearer
    # token; a server that authenticated says so in AUTH_TYPE, as Apache does.
    basic = run_cgi(dict(env, CONTENT_LENGTH=str(len(body)), AUTH_TYPE="Basic",
                         HTTP_AUTHORIZATION="Basic dXNlcjpwYXNz"), body)
    assert basic.status == 201, basic
    # A Basic header with a REMOTE_USER no server vouched for is the client's
    # own claim (nginx fills $remote_user from it even without auth_basic).
    forged = run_cgi(dict(env, CONTENT_LENGTH=str(len(body)),
                          HTTP_AUTHORIZATION="Basic dXNlcjpwYXNz"), body)
    assert forged.status == 401 and forged.json()["error"] == "unauthorized", forged
    # An invalid bearer is never passed over for REMOTE_USER.
    bad = run_cgi(dict(env, CONTENT_LENGTH=str(len(body)),
                       HTTP_AUTHORIZATION="Bearer not-a-token"), body)
    assert bad.status == 401, bad
    # Not trusted: REMOTE_USER alone is nobody.
    off = run_cgi(dict(env, CONTENT_LENGTH=str(len(body)), PATGATE_TRUST_REMOTE_USER="off"), body)
    assert off.status == 401, off


# ------------------------------------------------------------------ validity of PATs

def test_correctly_signed_token_without_a_row_is_refused():
    tok, tid, _ = new_pat()
    c = claims(tok)
    c["jti"] = str(uuid.uuid4())
    forged = hs256(c)
    assert request("GET", "/pat/v1/verify", token=forged).status == 401
    assert request("GET", "/pat/v1", token=forged).status == 401


def test_token_signed_with_another_secret_alg_none_and_confusion_are_refused():
    tok, _, _ = new_pat()
    c = claims(tok)
    other = hs256(c, secret=os.urandom(32))
    none = b64url(b'{"alg":"none","typ":"JWT"}') + "." + tok.split(".")[1] + "."
    hs512 = b64url(b'{"alg":"HS512","typ":"JWT"}') + "." + tok.split(".")[1] + "." + tok.split(".")[2]
    for t in (other, none, hs512, tok[:-2], tok + "A", tok.replace(".", "..", 1)):
        assert request("GET", "/pat/v1/verify", token=t).status == 401, t
    assert request("GET", "/pat/v1/verify", token=tok).status == 200


def test_expired_token_is_refused_and_listed_as_expired():
    email = unique_email()
    ident = id_token(email)
    tid = str(uuid.uuid4())
    now = int(time.time())
    c = {"iss": "Terrakube", "sub": "E (Token)", "aud": ["Terrakube"], "jti": tid,
         "email": email, "email_verified": True, "name": "E (Token)", "groups": [],
         "iat": now - 2 * 86400, "exp": now - 86400}
    tok = hs256(c)
    sql("INSERT INTO pat (id, token_hmac, owner_email, owner_name, description, days, "
        "created_at, expires_at, updated_at, updated_by) VALUES ('%s', '\\x%s', '%s', 'E', "
        "'old', 1, to_timestamp(%d), to_timestamp(%d), to_timestamp(%d), '%s')"
        % (tid, token_hmac(tok), q(email), now - 2 * 86400, now - 86400, now - 2 * 86400, q(email)))
    r = request("GET", "/pat/v1/verify", token=tok)
    assert r.status == 401, r
    items = request("GET", "/pat/v1", token=ident).json()
    assert [(i["id"], i["status"]) for i in items] == [(tid, "expired")], items


def test_database_never_holds_a_token():
    tokens = [new_pat()[0] for _ in range(3)]
    env = dict(os.environ, PGPASSWORD=open(os.path.join(VAR, "keys", "pg-superuser")).read().strip())
    dump = subprocess.run([os.path.join(PGBIN, "pg_dump"), "-h", os.path.join(VAR, "pg", "run"),
                           "-U", "postgres", "patgate"], env=env, check=True,
                          capture_output=True).stdout
    assert b"CREATE TABLE public.pat" in dump
    for t in tokens:
        for part in [t] + t.split("."):
            if part.startswith("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"):
                continue        # the header is the same in every token
            assert part.encode() not in dump, "the dump holds a token"
        assert token_hmac(t).encode() in dump      # its HMAC is what is kept


# ------------------------------------------------------------------ CONTRACT 5, row by row

def _bad(body, status, error, field=None, content_type="application/json", max_days=None):
    """POST body as a fresh caller; check the answer and that nothing was written."""
    email = unique_email("bad")
    h = {} if content_type is None else {"Content-Type": content_type}
    if isinstance(body, str):
        body = body.encode()
    before = count_rows()
    r = request("POST", "/pat/v1", body=body, headers=h, token=id_token(email))
    assert r.status == status, (body[:80], r)
    got = r.json()
    assert got["error"] == error, (body[:80], got)
    assert got["message"], got
    if field is None:
        assert "field" not in got, got
    else:
        assert got.get("field") == field, (body[:80], got)
    assert count_rows("owner_email = '%s'" % q(email)) == 0
    assert count_rows() == before
    return r


def _ok(body, content_type="application/json"):
    r = request("POST", "/pat/v1", body=body.encode() if isinstance(body, str) else body,
                headers={"Content-Type": content_type}, token=id_token())
    assert r.status == 201, (body, r)
    return r.json()


def test_invalid_json_bodies():
    for body in ['{"days": 1, "description": "x"', '{days: 1}', "{'days': 1}", "",
                 "   ", '{"days": 01, "description": "x"}', '{"days": 1, "description": "x",}',
                 '{"days": 1 /* c */, "description": "x"}', '{"days": NaN, "description": "x"}',
                 '{"days": 1, "description": "x"} extra', '{"days": 1, "description": "x"}{}',
                 '{"days": 1, "description": "\x01"}', '{"days": .5, "description": "x"}',
                 '{"days": 1, "description": "\\x41"}', '\x0c{"days": 1, "description": "x"}',
                 '{"days": 1, "description": "lone \\ud800 surrogate"}']:
        _bad(body, 400, "invalid_json")


def test_body_that_is_not_an_object():
    for body in ['[{"days": 1, "description": "x"}]', '"text"', "7", "null", "true"]:
        _bad(body, 400, "invalid_json")


def test_invalid_utf8():
    for raw in [b'{"days": 1, "description": "\xc3"}',                 # truncated
                b'{"days": 1, "description": "\xc0\xaf"}',             # overlong
                b'{"days": 1, "description": "\xe0\x80\xaf"}',         # overlong, 3 bytes
                b'{"days": 1, "description": "\xed\xa0\x80"}',         # encoded surrogate
                b'{"days": 1, "description": "\xf4\x90\x80\x80"}',     # above U+10FFFF
                b'{"days": 1, "description": "\xff"}',
                b'{"days": 1, "description": "ok", "x": "\x80"}']:     # in an ignored key
        _bad(raw, 400, "invalid_json")


def test_duplicate_keys():
    _bad('{"days": 1, "days": 2, "description": "x"}', 400, "invalid_json")
    _bad('{"days": 1, "description": "x", "d\\u0061ys": 2}', 400, "invalid_json")
    _bad('{"days": 1, "description": "x", "x": {"a": 1, "a": 2}}', 400, "invalid_json")


def test_unknown_keys_are_ignored():
    got = _ok('{"days": 3, "description": "extra keys", "owner": "evil", "x": {"y": [1, {}]}}')
    assert got["days"] == 3


def test_days_rules():
    for days in ['7.5', '"7.5"', '"abc"', 'true', 'null', '1e2', '-1', '"-1"', '36501',
                 '99999999999999999999', '""', '" 7"', '[7]', '{}', '-0.0']:
        _bad('{"days": %s, "description": "x"}' % days, 400, "invalid_field", "days")
    _bad('{"description": "no days"}', 400, "invalid_field", "days")
    assert _ok('{"days": "7", "description": "digits in a string"}')["days"] == 7
    assert _ok('{"days": 36500, "description": "the limit"}')["days"] == 36500
    assert _ok('{"days": 0, "description": "never expires"}')["expiresAt"] is None


def test_max_days_forbids_zero_and_caps():
    email = unique_email()
    env = {"REQUEST_METHOD": "POST", "PATH_INFO": "/pat/v1", "CONTENT_TYPE": "application/json",
           "HTTP_AUTHORIZATION": "Bearer " + id_token(email), "PATGATE_MAX_DAYS": "30"}
    for days, status in ((0, 400), (31, 400), (30, 201), (1, 201)):
        body = ('{"days": %d, "description": "max days"}' % days).encode()
        r = run_cgi(dict(env, CONTENT_LENGTH=str(len(body))), body)
        assert r.status == status, (days, r)
        if status == 400:
            assert r.json()["error"] == "invalid_field" and r.json()["field"] == "days", r
    assert count_rows("owner_email = '%s'" % q(email)) == 2


def test_description_rules():
    for desc in ['""', '"   "', '"\\t\\n"', '"\u3000\u00a0"', '"%s"' % ("a" * 256),
                 '"%s"' % ("\u00e9" * 256), '"bell\\u0007"', '"del\x7f"', '"c1\u0085"',
                 '"nul\\u0000"', '"c1 escaped\\u009f"', '12', 'null', '["x"]', '"line\\nbreak"']:
        _bad('{"days": 1, "description": %s}' % desc, 400, "invalid_field", "description")
    _bad('{"days": 1}', 400, "invalid_field", "description")
    assert _ok('{"days": 1, "description": "%s"}' % ("a" * 255))["description"] == "a" * 255
    wide = "\u00e9" * 255                      # 255 characters, 510 bytes
    assert _ok(json.dumps({"days": 1, "description": wide}))["description"] == wide
    emoji = "\U0001F600" * 255                 # 255 characters outside the BMP
    assert _ok(json.dumps({"days": 1, "description": emoji}))["description"] == emoji


def test_content_type_rules():
    body = '{"days": 1, "description": "ct"}'
    for ct in [None, "", "text/plain", "application/x-www-form-urlencoded", "application/jsonx",
               "application/+json", "text/vnd.api+json", "application/vnd.api+jsonx",
               "application/json/x", "application/vnd.api+json x", "json", "*/*"]:
        _bad(body, 415, "unsupported_media_type", content_type=ct)
    # Any application/<subtype>+json is JSON: Terrakube's UI sends vnd.api+json.
    for ct in ["application/json", "Application/JSON", "application/json; charset=utf-8",
               "APPLICATION/JSON;charset=UTF-8", "application/vnd.api+json",
               "Application/Vnd.Api+JSON; charset=utf-8", "application/json-patch+json",
               "application/problem+json", " application/json "]:
        _ok(body, content_type=ct)


def test_errors_name_one_field_at_a_time():
    r = _bad('{"days": -1, "description": ""}', 400, "invalid_field", "days")
    assert "days" in r.json()["message"]
