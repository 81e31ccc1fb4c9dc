"""CONTRACT 3-5 for hours and minutes and for team tokens: every input rule
with its error and nothing written, the token's exp, the cap per group, and
what a team token may do."""
import json

import lib
from lib import Instance, claims, count_rows, id_token, new_pat, request, unique_email

TEAMS = "/access-token/v1/teams"


def _group(tag="g"):
    """A group of this run only: groups are shared by everyone in them, across runs too."""
    return "%s-%s" % (tag, unique_email()[5:15])


def _post(path, body, ident, ct="application/json"):
    raw = body if isinstance(body, str) else json.dumps(body)
    return request("POST", path, body=raw, headers={"Content-Type": ct}, token=ident)


def _bad(path, body, field, ident=None, status=400, error="invalid_field"):
    before = count_rows()
    # Input is checked before membership, so any caller will do.
    r = _post(path, body, ident or id_token())
    assert r.status == status, (body, r)
    assert r.json()["error"] == error and r.json()["message"], (body, r.json())
    if field is not None:
        assert r.json()["field"] == field, (body, r.json())
    assert count_rows() == before, body
    return r


def test_hours_and_minutes_are_the_lifetime_with_days():
    g = _group()
    for path, extra in (("/pat/v1", {}), (TEAMS, {"group": g})):
        ident = id_token(groups=[g])
        r = _post(path, dict(extra, days=1, hours=2, minutes=3, description="hm"), ident)
        assert r.status == 201, r
        body, c = r.json(), claims(r.json()["token"])
        assert (body["days"], body["hours"], body["minutes"]) == (1, 2, 3), body
        assert c["exp"] - c["iat"] == 86400 + 2 * 3600 + 3 * 60, c
        # hours alone is a token of hours; "7" as a string is accepted, as days is.
        r = _post(path, dict(extra, days=0, hours="7", description="h"), ident)
        assert r.status == 201 and claims(r.json()["token"])["exp"] - \
            claims(r.json()["token"])["iat"] == 7 * 3600, r
        # Absent, they are 0; all 0 never expires.
        r = _post(path, dict(extra, days=0, description="forever"), ident)
        assert r.status == 201 and "exp" not in claims(r.json()["token"]), r
        assert r.json()["hours"] == 0 and r.json()["minutes"] == 0
    items = request("GET", "/pat/v1", token=ident).json()
    assert all({"hours", "minutes", "expiresAt", "status"} <= set(i) for i in items), items


def test_hours_and_minutes_input_rules():
    g = _group()
    for path, extra in (("/pat/v1", {}), (TEAMS, {"group": g})):
        for field in ("hours", "minutes"):
            for value in (-1, 1.5, "1.5", "abc", True, None, "1e2", 1e2, [1], {"n": 1},
                          "-0", "", " 1", 99999999999999999999):
                _bad(path, dict(extra, days=1, description="x", **{field: value}), field)
            _bad(path, '{"days": 1, "description": "x", "%s": -0%s}'
                 % (field, ', "group": "%s"' % g if extra else ""), field)
        # Each valid, the total over the limit: the field is days.
        _bad(path, dict(extra, days=36500, hours=1, description="x"), "days")
        _bad(path, dict(extra, days=36499, hours=24, minutes=1, description="x"), "days")
        _bad(path, dict(extra, days=0, minutes=36500 * 1440 + 1, description="x"), "minutes")
        _bad(path, dict(extra, days=0, hours=36500 * 24, minutes=1, description="x"), "days")
        # Duplicate keys are not JSON we read.
        _bad(path, '{"days": 1, "hours": 1, "hours": 2, "description": "x"%s}'
             % (', "group": "%s"' % g if extra else ""), None, error="invalid_json")


def test_max_days_bounds_the_whole_lifetime():
    env = {"PATGATE_MAX_DAYS": "2"}
    with Instance(workers=1, env=env) as inst:
        def post(body):
            return inst.request({"REQUEST_METHOD": "POST", "SCRIPT_NAME": "/pat/v1",
                                 "CONTENT_TYPE": "application/json",
                                 "HTTP_AUTHORIZATION": "Bearer " + id_token()},
                                json.dumps(body).encode())
        before = count_rows()
        for body in ({"days": 0, "description": "x"}, {"days": 2, "minutes": 1, "description": "x"},
                     {"days": 0, "hours": 49, "description": "x"}, {"days": 3, "description": "x"}):
            r = post(body)
            assert r.status == 400 and r.json()["field"] == "days", (body, r)
        assert count_rows() == before
        assert post({"days": 0, "hours": 1, "description": "one hour"}).status == 201
        assert post({"days": 2, "description": "two days"}).status == 201


def test_team_token_input_rules_come_before_membership():
    ident = id_token(groups=[_group()])
    for group in (None, 7, True, ["dev"], "", " dev", "dev ", "dev,admin", "d\u0007v",
                  "x" * 256):
        body = {"days": 1, "description": "x"}
        if group is not None:
            body["group"] = group
        _bad(TEAMS, body, "group", ident)
    # A body that breaks a rule is 400 even for a group the caller is not in.
    _bad(TEAMS, {"group": "ops", "days": -1, "description": "x"}, "days", ident)
    _bad(TEAMS, {"group": "ops", "days": 1, "description": ""}, "description", ident)
    _bad(TEAMS, {"group": "ops", "days": 1, "description": "x"}, "group", ident,
         status=403, error="forbidden")
    r = request("POST", TEAMS, body='{"group": "dev", "days": 1, "description": "x"}',
                headers={"Content-Type": "text/plain"}, token=ident)
    assert r.status == 415, r


def test_a_team_token_is_its_group_at_the_edge_and_manages_only_its_group():
    creator = unique_email("creator")
    dev, ops = _group("dev"), _group("ops")
    ident = id_token(creator, "Creator", [dev, ops])
    r = _post(TEAMS, {"group": dev, "days": 1, "description": "ci"}, ident)
    assert r.status == 201, r
    team_tok, team_id = r.json()["token"], r.json()["id"]
    c = claims(team_tok)
    assert c["sub"] == dev + " (Team Token)" and c["name"] == dev + " (Token)", c
    assert c["groups"] == [dev] and c["email"] == creator and c["description"] == "ci", c
    assert c["iss"] == "Terrakube" and c["aud"] == ["Terrakube"] and c["jti"] == team_id
    v = request("GET", "/pat/v1/verify", token=team_tok)
    assert v.status == 200 and v.header("X-Pat-Kind") == "team", v
    assert v.header("X-Pat-Email") is None and v.header("X-Pat-Name") == dev
    assert v.header("X-Pat-Groups") == dev and v.json()["kind"] == "team"
    assert v.json()["createdBy"] == creator and v.json()["name"] == dev
    # Not the creator's PAT: not in the PAT list, not counted for the creator.
    assert request("GET", "/pat/v1", token=ident).json() == []
    # With its own group it manages team tokens; everything else is 403, never 401.
    r = _post(TEAMS, {"group": dev, "days": 0, "hours": 1, "description": "child"}, team_tok)
    assert r.status == 201, r
    child = r.json()["id"]
    assert _post(TEAMS, {"group": ops, "days": 0, "hours": 1, "description": "x"},
                 team_tok).status == 403
    for method, path in (("GET", "/pat/v1"), ("POST", "/pat/v1"), ("GET", "/pat/v1/" + team_id),
                         ("DELETE", "/pat/v1/" + team_id)):
        r = request(method, path, token=team_tok, json_body={"days": 0, "hours": 1,
                                                              "description": "x"})
        assert r.status == 403 and r.json()["error"] == "forbidden", (method, path, r)
    r = request("GET", TEAMS + "/current-teams", token=team_tok)
    assert r.status == 202 and r.json() == {"groups": [dev]}, r
    listed = request("GET", TEAMS, token=team_tok).json()
    assert {i["id"] for i in listed} == {team_id, child}, listed
    assert all(i["group"] == dev and i["createdBy"] == creator for i in listed)
    # A team token cannot outlive the team token that makes it.
    assert _post(TEAMS, {"group": dev, "days": 2, "description": "x"}, team_tok).status == 400
    # Revoke: 202, again 202; another group's member gets 404; then it is refused.
    other = id_token(groups=[ops])
    assert request("DELETE", TEAMS + "/" + team_id, token=other).status == 404
    assert request("DELETE", TEAMS + "/" + team_id.upper(), token=ident).status == 404
    assert request("DELETE", TEAMS + "/" + child, token=team_tok).status == 202
    assert request("DELETE", TEAMS + "/" + team_id, token=ident).status == 202
    assert request("DELETE", TEAMS + "/" + team_id, token=ident).status == 202
    assert request("GET", "/pat/v1/verify", token=team_tok).status == 401
    # A PAT's owner cannot revoke a team token through /pat/v1.
    r = _post(TEAMS, {"group": ops, "days": 1, "description": "x"}, ident)
    assert request("DELETE", "/pat/v1/" + r.json()["id"], token=ident).status == 404


def test_team_list_and_current_teams_follow_the_callers_groups():
    alpha, beta = _group("t-alpha"), _group("t-beta")
    a = id_token(groups=[alpha, beta])
    ids = [_post(TEAMS, {"group": g, "days": 1, "description": "t"}, a).json()["id"]
           for g in (alpha, beta, alpha)]
    r = request("GET", TEAMS, token=a)
    assert r.status == 202 and [i["id"] for i in r.json()][:3] == ids[::-1], r
    b = id_token(groups=[beta])
    assert [i["id"] for i in request("GET", TEAMS, token=b).json()] == [ids[1]]
    none = id_token()
    assert request("GET", TEAMS, token=none).json() == []
    assert request("GET", TEAMS + "/current-teams", token=none).json() == {"groups": []}
    assert request("GET", TEAMS + "/current-teams", token=a).json() == \
        {"groups": [alpha, beta]}
    assert request("GET", TEAMS + "/current-teams").status == 401
    r = request("PUT", TEAMS, token=a)
    assert r.status == 405 and r.header("Allow") == "GET, POST", r


def test_the_cap_is_per_group_for_team_tokens():
    group = _group("cap")
    ident = id_token(groups=[group])
    with Instance(workers=1, env={"PATGATE_MAX_TOKENS_PER_USER": "2"}) as inst:
        def post(path, body):
            return inst.request({"REQUEST_METHOD": "POST", "SCRIPT_NAME": path,
                                 "CONTENT_TYPE": "application/json",
                                 "HTTP_AUTHORIZATION": "Bearer " + ident},
                                json.dumps(body).encode())
        team = {"group": group, "days": 1, "description": "t"}
        assert [post(TEAMS, team).status for _ in range(3)] == [201, 201, 409]
        # The creator's own cap is untouched by team tokens.
        assert post("/pat/v1", {"days": 1, "description": "p"}).status == 201
        assert count_rows("owner_group = '%s'" % group) == 2
