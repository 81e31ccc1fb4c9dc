"""Terrakube's real clients, replayed: the UI (2.18.0 and current) and the provider's
terrakube_team_token, from the golden files in golden/ (what those clients send and
need, read from their source and captured from the UI driven in headless Chromium).

Every browser exchange is replayed as a browser makes it: a preflight OPTIONS first,
then the request with Origin, both checked against CONTRACT section 3's CORS rules.
Also here: the CORS rules on every API path and on errors, the "401 means who are
you" rule, and Terrakube's team tokens (CONTRACT sections 3 and 4).

The devstack must run with PATGATE_CORS_ORIGINS naming the UI's origin (by default
http://127.0.0.1:18210, the origin these tests send).
"""
import json
import os
import re
import uuid

from lib import claims, count_rows, id_token, new_pat, request, unique_email

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN = os.path.join(HERE, "golden")
ORIGIN = re.split(r"[\s,]+", os.environ.get("PATGATE_CORS_ORIGINS", "http://127.0.0.1:18210").strip())[0]
OTHER_ORIGIN = "http://127.0.0.1:18299"         # never listed
RFC3339_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
JSON_TYPE = "application/json; charset=utf-8"
ZERO_ID = "00000000-0000-4000-8000-000000000000"

# Each API path and the methods it answers (CONTRACT section 3), besides OPTIONS.
PATHS = {
    "/pat/v1": {"GET", "POST"},
    "/pat/v1/" + ZERO_ID: {"GET", "DELETE"},
    "/api/v1": {"POST"},
    "/access-token/v1/teams": {"GET", "POST"},
    "/access-token/v1/teams/current-teams": {"GET"},
    "/access-token/v1/teams/" + ZERO_ID: {"DELETE"},
}


def load(name):
    with open(os.path.join(GOLDEN, name)) as f:
        return json.load(f)


def q(s):
    return s.replace("'", "''")


def group_name(tag="team"):
    return "%s-%s" % (tag, uuid.uuid4().hex[:8])


def tokens_of(header_value):
    return {t.strip().lower() for t in (header_value or "").split(",") if t.strip()}


# ------------------------------------------------------------------ CORS checks

def cors_headers(r):
    return [(k, v) for k, v in r.headers if k.lower().startswith("access-control-")]


def assert_cors_answer(r, origin=ORIGIN, what=""):
    """An answer to a request from a listed origin, errors and 401 included."""
    acao = r.header_all("Access-Control-Allow-Origin")
    assert acao == [origin], "%s: Access-Control-Allow-Origin %r, want [%r]; %r" % (what, acao, origin, r)
    vary = set()
    for v in r.header_all("Vary"):
        vary |= tokens_of(v)
    assert "origin" in vary, "%s: Vary %r lacks Origin" % (what, r.header_all("Vary"))


def assert_no_cors(r, what=""):
    assert cors_headers(r) == [], "%s: unexpected %r" % (what, cors_headers(r))


def preflight(path, method, req_headers="authorization", origin=ORIGIN):
    h = {"Origin": origin, "Access-Control-Request-Method": method}
    if req_headers is not None:
        h["Access-Control-Request-Headers"] = req_headers
    return request("OPTIONS", path, headers=h)


def assert_preflight_ok(r, path_methods, method, req_headers, origin=ORIGIN, what=""):
    assert r.status == 204, "%s: preflight answered %r" % (what, r)
    assert r.body == b"", what
    assert_cors_answer(r, origin, what)
    methods = tokens_of(r.header("Access-Control-Allow-Methods"))
    want = {m.lower() for m in path_methods}
    assert method.lower() in methods, "%s: %s not in Allow-Methods %r" % (what, method, methods)
    assert methods - {"options", "head"} == want, "%s: Allow-Methods %r, want %r" % (what, methods, want)
    allowed = r.header("Access-Control-Allow-Headers") or ""
    assert tokens_of(allowed) == {"authorization", "content-type"}, \
        "%s: Allow-Headers %r" % (what, allowed)
    assert tokens_of(req_headers or "") <= tokens_of(allowed), what
    assert r.header("Access-Control-Max-Age") == "600", "%s: Max-Age %r" % (what, r.header("Access-Control-Max-Age"))


def methods_for(path):
    if path in PATHS:
        return PATHS[path]
    if path.startswith("/pat/v1/"):
        return PATHS["/pat/v1/" + ZERO_ID]
    if path.startswith("/access-token/v1/teams/"):
        return PATHS["/access-token/v1/teams/" + ZERO_ID]
    raise AssertionError("no methods known for " + path)


# ------------------------------------------------------------------ the replay

def fill(value, ctx):
    if value is None:
        return None
    if isinstance(value, str):
        for k, v in ctx.items():
            value = value.replace("{%s}" % k, str(v))
        assert not re.search(r"\{[a-z_]+\}", value), "unfilled placeholder in %r" % value
        return value
    if isinstance(value, dict):
        return {k: fill(v, ctx) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, ctx) for v in value]
    return value


def replay(doc, ctx):
    """Replay every exchange of a golden file; ctx gives the placeholders' values."""
    for ex in doc["exchanges"]:
        what = "%s: %s" % (doc["client"].split(",")[0], ex["name"])
        path = fill(ex["path"], ctx)
        headers = fill(ex["headers"], ctx)
        body = fill(ex["body"], ctx)
        expect = ex["expect"]
        browser = "Origin" in headers

        if browser:
            # A browser with an empty preflight cache preflights every one of these.
            pre = ex.get("preflight") or {
                "Access-Control-Request-Method": ex["method"],
                "Access-Control-Request-Headers": ",".join(sorted(
                    h.lower() for h in headers if h.lower() in ("authorization", "content-type")))}
            acrh = pre.get("Access-Control-Request-Headers")
            r = preflight(path, pre["Access-Control-Request-Method"], acrh, headers["Origin"])
            assert_preflight_ok(r, methods_for(path), ex["method"], acrh, headers["Origin"],
                                what + " (preflight)")

        r = request(ex["method"], path, body=body, headers=headers)
        assert r.status == expect["status"], "%s: %r, want %d" % (what, r, expect["status"])
        accepts = expect["client_accepts"]
        if accepts == "2xx":
            assert 200 <= r.status < 300, what
        elif isinstance(accepts, list):
            assert r.status in accepts, what
        if browser:
            assert_cors_answer(r, headers["Origin"], what)

        shape = expect["json"]
        if shape == "empty":
            assert r.body == b"", "%s: body %r" % (what, r.body)
            data = None
        else:
            assert r.header("Content-Type") == JSON_TYPE, "%s: %r" % (what, r.header("Content-Type"))
            data = r.json()
            if shape == "object":
                assert isinstance(data, dict), "%s: %r" % (what, data)
                missing = [f for f in expect.get("reads", []) if f not in data]
                assert not missing, "%s: lacks %r in %r" % (what, missing, data)
            else:
                assert isinstance(data, list), "%s: %r" % (what, data)
                for item in data:
                    missing = [f for f in expect.get("reads", []) if f not in item]
                    assert not missing, "%s: an item lacks %r: %r" % (what, missing, item)
                    assert item.get("deleted") is False, "%s: %r" % (what, item)
                    assert RFC3339_MS.match(item.get("createdDate") or ""), "%s: %r" % (what, item)
                    assert "token" not in item, "%s: a list shows a token" % what

        for name, source in (ex.get("save") or {}).items():
            assert source == "jti", source
            tok = data["token"]
            assert tok.count(".") == 2, "%s: token %r" % (what, tok)
            ctx[name] = claims(tok)["jti"]
            assert UUID_RE.match(ctx[name]), ctx[name]
            if "id" in data:
                assert data["id"] == ctx[name], "%s: id %r but jti %r" % (what, data["id"], ctx[name])
        for name, fields in (expect.get("lists_saved") or {}).items():
            items = [i for i in data if i.get("id") == ctx[name]]
            assert len(items) == 1, "%s: %s %s not listed once in %r" % (what, name, ctx[name], data)
            for k, v in fill(fields, ctx).items():
                assert items[0][k] == v, "%s: %s is %r, want %r" % (what, k, items[0][k], v)
        if expect.get("lacks_saved"):
            gone = ctx[expect["lacks_saved"]]
            assert all(i.get("id") != gone for i in data), "%s: %s still listed" % (what, gone)
        if expect.get("groups_include"):
            assert fill(expect["groups_include"], ctx) in data["groups"], "%s: %r" % (what, data)
    return ctx


def browser_ctx(tag):
    group = group_name(tag)
    email = unique_email(tag)
    ident = id_token(email, "UI User", [group, "dev"])
    return {"origin": ORIGIN, "identity": ident, "group": group,
            "description": "%s %s" % (tag, uuid.uuid4().hex[:8]), "email": email}


# ------------------------------------------------------------------ the real clients

def test_golden_files_name_their_sources():
    for name in ("terrakube-ui-2.18.0.json", "terrakube-ui-current.json",
                 "terraform-provider-team-token.json"):
        doc = load(name)
        assert list(doc)[0] == "source", name
        src = doc["source"]
        assert src["repository"].startswith("https://github.com/terrakube-io/"), name
        assert re.fullmatch(r"[0-9a-f]{40}", src["commit"]) and src["files"], name
        assert doc["exchanges"], name


def test_terrakube_ui_2_18_0_replayed_cross_origin():
    ctx = browser_ctx("ui218")
    replay(load("terrakube-ui-2.18.0.json"), ctx)
    # What the exchanges created is the caller's: the PAT and the group's team token.
    assert count_rows("id = '%s' AND owner_email = '%s'" % (ctx["pat_id"], q(ctx["email"]))) == 1
    assert count_rows("id = '%s'" % ctx["team_token_id"]) == 1


def test_terrakube_ui_current_replayed_cross_origin():
    ctx = browser_ctx("uicur")
    replay(load("terrakube-ui-current.json"), ctx)
    # Revoked, not deleted: both rows stay, with revoked_at set.
    for name in ("pat_id", "team_token_id"):
        assert count_rows("id = '%s' AND revoked_at IS NOT NULL" % ctx[name]) == 1, name


def test_terraform_provider_team_token_replayed():
    group = group_name("prov")
    email = unique_email("prov")
    pat, _, _ = new_pat(id_token(email, "Provider User", [group]), days=30, description="provider")
    ctx = {"provider_token": pat, "group": group, "description": "prov %s" % uuid.uuid4().hex[:8]}
    doc = load("terraform-provider-team-token.json")
    replay(doc, ctx)
    # The provider's create body carries "id": "" and "token": "", which are ignored.
    assert count_rows("id = '%s' AND revoked_at IS NOT NULL" % ctx["team_token_id"]) == 1


def test_the_current_ui_signs_out_on_401_so_only_who_are_you_is_401():
    # A refused identity is 401, with CORS, so the browser lets the UI see it and sign out.
    bad = id_token(unique_email(), aud="someone-else")
    for method, path in (("GET", "/pat/v1"), ("GET", "/access-token/v1/teams"),
                         ("GET", "/access-token/v1/teams/current-teams")):
        r = request(method, path, token=bad, headers={"Origin": ORIGIN})
        assert r.status == 401, (path, r)
        assert_cors_answer(r, what=path)
        assert r.header("WWW-Authenticate") is not None, r


# ------------------------------------------------------------------ CORS on every path

def test_preflight_on_every_api_path_from_a_listed_origin():
    for path, methods in PATHS.items():
        for m in sorted(methods):
            acrh = "authorization,content-type" if m == "POST" else "authorization"
            r = preflight(path, m, acrh)
            assert_preflight_ok(r, methods, m, acrh, what="%s %s" % (m, path))


def test_preflight_without_request_headers_is_still_a_preflight():
    r = preflight("/pat/v1", "GET", None)
    assert r.status == 204, r
    assert_cors_answer(r)


def test_every_answer_to_a_listed_origin_carries_cors_errors_included():
    ident = id_token(unique_email(), "Err User", ["errs"])
    o = {"Origin": ORIGIN}
    cases = [
        ("no caller", request("GET", "/pat/v1", headers=o), 401),
        ("forged token", request("GET", "/pat/v1", token="eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.e30.x",
                                 headers=o), 401),
        ("bad json", request("POST", "/pat/v1", token=ident, body="{",
                             headers=dict(o, **{"Content-Type": "application/vnd.api+json"})), 400),
        ("bad days", request("POST", "/pat/v1", token=ident, body='{"days":-1,"description":"x"}',
                             headers=dict(o, **{"Content-Type": "application/vnd.api+json"})), 400),
        ("media type", request("POST", "/pat/v1", token=ident, body='{"days":1,"description":"x"}',
                               headers=dict(o, **{"Content-Type": "text/plain"})), 415),
        ("unknown id", request("DELETE", "/pat/v1/" + ZERO_ID, token=ident, headers=o), 404),
        ("not a uuid", request("GET", "/pat/v1/nope", token=ident, headers=o), 404),
        ("wrong method", request("PUT", "/pat/v1", token=ident, headers=o), 405),
        ("team: wrong method", request("PUT", "/access-token/v1/teams", token=ident, headers=o), 405),
        ("team: no caller", request("GET", "/access-token/v1/teams", headers=o), 401),
        ("list", request("GET", "/pat/v1", token=ident, headers=o), 202),
        ("current-teams", request("GET", "/access-token/v1/teams/current-teams", token=ident, headers=o), 202),
    ]
    for what, r, status in cases:
        assert r.status == status, "%s: %r, want %d" % (what, r, status)
        assert_cors_answer(r, what=what)
        if status >= 400:
            assert r.header("Content-Type") == JSON_TYPE and "error" in r.json(), (what, r)


def test_origin_matching_ignores_the_case_of_scheme_and_host():
    upper = re.sub(r"^([a-z]+)://([^:/]+)", lambda m: m.group(1).upper() + "://" + m.group(2).upper(), ORIGIN)
    r = preflight("/pat/v1", "POST", "authorization,content-type", upper)
    assert r.status == 204, r
    assert (r.header("Access-Control-Allow-Origin") or "").lower() == ORIGIN.lower(), r.headers
    assert "origin" in tokens_of(r.header("Vary")), r.headers


def test_an_unlisted_origin_gets_no_cors_and_its_preflight_403():
    for path, methods in PATHS.items():
        m = sorted(methods)[0]
        r = preflight(path, m, "authorization,content-type", OTHER_ORIGIN)
        assert r.status == 403, (path, r)
        assert r.json()["error"] == "cors_origin_not_allowed", (path, r)
        assert_no_cors(r, path)
    ident = id_token(unique_email(), "Other", ["g"])
    for r in (request("GET", "/pat/v1", token=ident, headers={"Origin": OTHER_ORIGIN}),
              request("GET", "/pat/v1", headers={"Origin": OTHER_ORIGIN}),
              request("GET", "/access-token/v1/teams", token=ident, headers={"Origin": OTHER_ORIGIN})):
        assert_no_cors(r, repr(r))
    # A listed origin's near miss is unlisted too.
    for near in (ORIGIN + "/", ORIGIN + "0", ORIGIN.replace("http://", "https://"), "null"):
        r = preflight("/pat/v1", "GET", "authorization", near)
        assert r.status == 403 and cors_headers(r) == [], (near, r)


def test_options_that_is_not_a_preflight_is_405_with_allow():
    for path, methods in PATHS.items():
        r = request("OPTIONS", path)
        assert r.status == 405, (path, r)
        assert r.header("Allow") and tokens_of(r.header("Allow")) - {"options", "head"} == \
            {m.lower() for m in methods}, (path, r.header("Allow"))
        assert_no_cors(r, path)
        r = request("OPTIONS", path, headers={"Origin": ORIGIN})
        assert r.status == 405 and r.header("Allow"), (path, r)
        assert_cors_answer(r, what=path + " OPTIONS with Origin only")
        r = request("OPTIONS", path, headers={"Origin": OTHER_ORIGIN})
        assert r.status == 405 and r.header("Allow"), (path, r)
        assert_no_cors(r, path + " OPTIONS from an unlisted origin")


def test_verify_and_health_take_no_part_in_cors():
    tok, _, _ = new_pat()
    for path, extra in (("/pat/v1/verify", {"Authorization": "Bearer " + tok}), ("/pat/v1/health", {})):
        r = request("GET", path, headers=dict(extra, Origin=ORIGIN))
        assert r.status == 200, (path, r)
        assert_no_cors(r, path)
        r = preflight(path, "GET", "authorization")
        assert r.status != 204 and cors_headers(r) == [], (path, r)


# ------------------------------------------------------------------ 401 means "who are you?"

def test_a_known_caller_acting_on_what_is_not_its_own_gets_403_or_404_never_401():
    o = {"Origin": ORIGIN}
    g_a, g_b = group_name("a"), group_name("b")
    alice = id_token(unique_email("alice"), "Alice", [g_a])
    bob = id_token(unique_email("bob"), "Bob", [g_b])
    _, alice_pat, _ = new_pat(alice)
    desc = "theirs %s" % uuid.uuid4().hex[:8]
    r = request("POST", "/access-token/v1/teams", token=alice, headers={"Content-Type": "application/json"},
                body=json.dumps({"group": g_a, "description": desc, "days": 1}))
    assert r.status == 201, r
    alice_team = r.json()["id"]

    checks = [
        ("another user's PAT: get", request("GET", "/pat/v1/" + alice_pat, token=bob, headers=o), 404),
        ("another user's PAT: delete", request("DELETE", "/pat/v1/" + alice_pat, token=bob, headers=o), 404),
        ("another group's team token: delete",
         request("DELETE", "/access-token/v1/teams/" + alice_team, token=bob, headers=o), 404),
        ("a team it is not in: create",
         request("POST", "/access-token/v1/teams", token=bob,
                 headers=dict(o, **{"Content-Type": "application/vnd.api+json"}),
                 body=json.dumps({"description": "not mine", "days": 1, "hours": 0, "minutes": 0,
                                  "group": g_a})), 403),
    ]
    for what, r, status in checks:
        assert r.status == status, "%s: %r, want %d (never 401)" % (what, r, status)
        assert_cors_answer(r, what=what)
    # Nothing of Alice's changed.
    assert count_rows("id = '%s' AND revoked_at IS NULL" % alice_pat) == 1
    assert count_rows("id = '%s' AND revoked_at IS NULL" % alice_team) == 1


# ------------------------------------------------------------------ team tokens

def create_team(ident, group, description=None, days=1, hours=0, minutes=0, **kw):
    body = {"group": group, "description": description or "team %s" % uuid.uuid4().hex[:8],
            "days": days, "hours": hours, "minutes": minutes}
    return request("POST", "/access-token/v1/teams", token=ident,
                   headers={"Content-Type": "application/vnd.api+json"}, body=json.dumps(body), **kw)


def made_team(ident, group, **kw):
    """A team token that must be made: its 201 answer's JSON."""
    r = create_team(ident, group, **kw)
    assert r.status == 201, "POST /access-token/v1/teams for %s: %r" % (group, r)
    return r.json()


def test_team_token_for_a_group_the_caller_is_in():
    group = group_name()
    email = unique_email("member")
    r = create_team(id_token(email, "Member One", [group, "other"]), group, "ci pipeline", 1, 2, 3)
    assert r.status == 201, r
    assert r.header("Content-Type") == JSON_TYPE
    body = r.json()
    assert {"token", "id", "group", "description", "days", "hours", "minutes", "createdDate",
            "expiresAt"} <= set(body), body
    assert UUID_RE.match(body["id"]) and body["group"] == group, body
    assert (body["description"], body["days"], body["hours"], body["minutes"]) == ("ci pipeline", 1, 2, 3)
    assert RFC3339_MS.match(body["createdDate"]) and RFC3339_MS.match(body["expiresAt"]), body
    c = claims(body["token"])
    assert c["iss"] == "Terrakube" and c["aud"] == ["Terrakube"], c
    assert c["sub"] == "%s (Team Token)" % group and c["name"] == "%s (Token)" % group, c
    assert c["groups"] == [group] and c["email"] == email and c["email_verified"] is True, c
    assert c["description"] == "ci pipeline" and c["jti"] == body["id"], c
    assert c["exp"] == c["iat"] + 86400 + 2 * 3600 + 3 * 60, c
    # A team token is the group's: it is not among its creator's PATs.
    mine = request("GET", "/pat/v1", token=id_token(email, "Member One", [group, "other"]))
    assert all(i["id"] != body["id"] for i in mine.json()), mine


def test_team_token_never_expiring_has_no_exp():
    group = group_name()
    r = create_team(id_token(unique_email(), "M", [group]), group, days=0)
    assert r.status == 201, r
    assert "exp" not in claims(r.json()["token"]) and r.json()["expiresAt"] is None, r.json()


def test_team_token_for_a_group_the_caller_is_not_in_is_403_and_writes_nothing():
    desc = "forbidden %s" % uuid.uuid4().hex[:8]
    r = create_team(id_token(unique_email(), "Outsider", ["mine"]), group_name(), desc)
    assert r.status == 403, r
    assert r.json()["error"] == "forbidden" and r.json()["field"] == "group", r.json()
    assert count_rows("description = '%s'" % q(desc)) == 0


def test_team_token_input_rules():
    ident = id_token(unique_email(), "M", ["g1"])
    for body, field in (({"description": "x", "days": 1}, "group"),
                        ({"group": 7, "description": "x", "days": 1}, "group"),
                        ({"group": "a,b", "description": "x", "days": 1}, "group"),
                        ({"group": "g1", "description": "", "days": 1}, "description"),
                        ({"group": "g1", "description": "x", "days": -1}, "days"),
                        ({"group": "g1", "description": "x", "days": 1, "hours": "x"}, "hours")):
        r = request("POST", "/access-token/v1/teams", token=ident, json_body=body)
        assert r.status == 400, (body, r)
        assert r.json()["error"] == "invalid_field" and r.json()["field"] == field, (body, r.json())


def test_team_list_shows_only_the_callers_groups():
    g1, g2, g3 = group_name("l1"), group_name("l2"), group_name("l3")
    a = made_team(id_token(unique_email(), "A", [g1]), g1)["id"]
    b = made_team(id_token(unique_email(), "B", [g2]), g2)["id"]
    c = made_team(id_token(unique_email(), "C", [g3]), g3)["id"]
    r = request("GET", "/access-token/v1/teams", token=id_token(unique_email(), "Both", [g1, g2]))
    assert r.status == 202, r
    items = r.json()
    ids = [i["id"] for i in items]
    assert a in ids and b in ids and c not in ids, ids
    assert {i["group"] for i in items} <= {g1, g2}, items
    for i in items:
        assert {"id", "group", "days", "hours", "minutes", "deleted", "description", "createdDate",
                "createdBy", "updatedDate", "updatedBy", "expiresAt", "lastUsedAt", "status"} <= set(i), i
        assert i["deleted"] is False and i["status"] in ("active", "expired") and "token" not in i, i
    dates = [i["createdDate"] for i in items]
    assert dates == sorted(dates, reverse=True), dates


def test_current_teams_gives_the_callers_groups():
    g = [group_name("c1"), group_name("c2")]
    r = request("GET", "/access-token/v1/teams/current-teams", token=id_token(unique_email(), "C", g))
    assert r.status == 202, r
    assert r.json() == {"groups": g}, r.json()
    r = request("GET", "/access-token/v1/teams/current-teams", token=id_token(unique_email(), "None", None))
    assert r.status == 202 and r.json() == {"groups": []}, r


def test_team_token_delete_is_202_again_202_and_404_for_another_group():
    group = group_name()
    ident = id_token(unique_email(), "D", [group])
    tid = made_team(ident, group)["id"]
    r = request("DELETE", "/access-token/v1/teams/" + tid, token=ident)
    assert r.status == 202 and r.body == b"", r
    assert count_rows("id = '%s' AND revoked_at IS NOT NULL" % tid) == 1
    r = request("DELETE", "/access-token/v1/teams/" + tid, token=ident)
    assert r.status == 202 and r.body == b"", r
    other = group_name()
    oid = made_team(id_token(unique_email(), "O", [other]), other)["id"]
    for bad in (oid, ZERO_ID, "not-a-uuid"):
        r = request("DELETE", "/access-token/v1/teams/" + bad, token=ident)
        assert r.status == 404, (bad, r)
    assert count_rows("id = '%s' AND revoked_at IS NULL" % oid) == 1
    # A PAT's id is not a team token's.
    _, pat_id, _ = new_pat(ident)
    r = request("DELETE", "/access-token/v1/teams/" + pat_id, token=ident)
    assert r.status == 404, r
    assert count_rows("id = '%s' AND revoked_at IS NULL" % pat_id) == 1


def test_verify_of_a_team_token_names_the_group_not_its_creator():
    group = group_name()
    email = unique_email("creator")
    body = made_team(id_token(email, "Creator", [group, "x"]), group, description="edge")
    r = request("GET", "/pat/v1/verify", token=body["token"])
    assert r.status == 200, r
    v = r.json()
    assert v["active"] is True and v["kind"] == "team" and v["id"] == body["id"], v
    assert v["groups"] == [group], v
    assert r.header("X-Pat-Kind") == "team" and r.header("X-Pat-Id") == body["id"], r.headers
    assert r.header("X-Pat-Email") is None, r.headers
    assert r.header("X-Pat-Name") == group and r.header("X-Pat-Groups") == group, r.headers


def test_a_revoked_team_token_is_401_at_verify():
    group = group_name()
    ident = id_token(unique_email(), "R", [group])
    body = made_team(ident, group)
    assert request("GET", "/pat/v1/verify", token=body["token"]).status == 200
    assert request("DELETE", "/access-token/v1/teams/" + body["id"], token=ident).status == 202
    r = request("GET", "/pat/v1/verify", token=body["token"])
    assert r.status == 401, r
    assert "invalid_token" in (r.header("WWW-Authenticate") or ""), r.headers


def test_a_team_token_manages_its_own_group_only():
    group, other = group_name(), group_name()
    ident = id_token(unique_email(), "T", [group, other])
    team_tok = made_team(ident, group, days=1)["token"]
    r = create_team(team_tok, group, hours=1, days=0)
    assert r.status == 201, r
    r = create_team(team_tok, other, hours=1, days=0)
    assert r.status == 403 and r.json()["error"] == "forbidden", r
    r = request("GET", "/access-token/v1/teams", token=team_tok)
    assert r.status == 202 and {i["group"] for i in r.json()} == {group}, r
