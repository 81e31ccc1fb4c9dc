#!/usr/bin/env python3
"""tokens.py - valid PAT rows for the benchmark, made the way patgate makes them.

  tokens.py [--owners N] [--prefix P] [--raw-pepper] [--no-addr]
            SECRET_FILE PEPPER_FILE FIRST COUNT ROWS.csv POOL.txt POOL_SIZE [OWNER]

Writes COUNT rows (numbered from FIRST) as CSV for psql's \\copy into pat,
and POOL_SIZE of their tokens, spread over the whole range, into POOL.txt.
Each token is an HS256 JWT with Terrakube's claims signed with the secret,
and the row keeps HMAC-SHA256(pepper, token), never the token.  Row i is
owned by P<i mod N>@bench.example (P "user", N 1000 unless given), or with
OWNER (an email) every row is OWNER's.  Each row was last used an hour ago,
so the first check of each token writes its last use, and the next comes a
minute later.

--raw-pepper takes the pepper file's text as the key (the node peer's way)
rather than its base64url decoding (patgate's); --no-addr leaves out the
last column, last_used_addr, which the node peer's table lacks.
"""
import argparse
import base64
import hashlib
import hmac
import json
import random
import time
import uuid

HEADER = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"


def key(path):
    with open(path) as f:
        text = f.read().strip().rstrip("=")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--owners", type=int, default=1000)
    p.add_argument("--prefix", default="user")
    p.add_argument("--raw-pepper", action="store_true")
    p.add_argument("--no-addr", action="store_true")
    for a in ("secret", "pepper", "first", "count", "rows", "pool", "pool_size"):
        p.add_argument(a)
    p.add_argument("owner", nargs="?")
    a = p.parse_args()
    secret = key(a.secret)
    if a.raw_pepper:
        with open(a.pepper, "rb") as f:
            pepper = f.read().strip()
    else:
        pepper = key(a.pepper)
    first, count = int(a.first), int(a.count)
    rows_path, pool_path, pool_size = a.rows, a.pool, int(a.pool_size)
    owner = a.owner
    rng = random.Random(first)
    pick = set(rng.sample(range(first, first + count), min(pool_size, count)))
    now = int(time.time())
    iso = time.strftime("%Y-%m-%d %H:%M:%S+00", time.gmtime(now))
    exp_iso = time.strftime("%Y-%m-%d %H:%M:%S+00", time.gmtime(now + 90 * 86400))
    used_iso = time.strftime("%Y-%m-%d %H:%M:%S+00", time.gmtime(now - 3600))
    with open(rows_path, "w") as rows, open(pool_path, "a") as pool:
        for i in range(first, first + count):
            if owner:
                email, name = owner, owner.split("@")[0]
            else:
                k = i % a.owners
                email, name = "%s%d@bench.example" % (a.prefix, k), "%s %d" % (a.prefix.capitalize(), k)
            tid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            claims = {"iss": "Terrakube", "sub": name + " (Token)", "aud": ["Terrakube"],
                      "jti": tid, "email": email, "email_verified": True,
                      "name": name + " (Token)", "groups": ["bench"], "iat": now,
                      "exp": now + 90 * 86400}
            signing_input = HEADER + "." + b64url(json.dumps(claims, separators=(",", ":")).encode())
            token = signing_input + "." + b64url(
                hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())
            mac = hmac.new(pepper, token.encode(), hashlib.sha256).hexdigest()
            rows.write("%s,\\x%s,%s,%s,{bench},token %d,90,%s,%s,%s,%s,%s%s\n"
                       % (tid, mac, email, name, i, iso, exp_iso, iso, email, used_iso,
                          "" if a.no_addr else ",127.0.0.1"))
            if i in pick:
                pool.write(token + "\n")


if __name__ == "__main__":
    main()
