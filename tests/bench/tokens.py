#!/usr/bin/env python3
"""tokens.py - valid PAT rows for the benchmark, made the way patgate makes them.

  tokens.py SECRET_FILE PEPPER_FILE FIRST COUNT ROWS.csv POOL.txt POOL_SIZE [OWNER]

Writes COUNT rows (numbered from FIRST) as CSV for psql's \\copy into pat,
and POOL_SIZE of their tokens, spread over the whole range, into POOL.txt.
Each token is an HS256 JWT with Terrakube's claims signed with the secret,
and the row keeps HMAC-SHA256(pepper, token), never the token.  Owners are
spread over 1000 users, or with OWNER (an email) every row is OWNER's.  Each
row was last used an hour ago, so the first check of each token writes its
last use, and the next comes a minute later.
"""
import base64
import hashlib
import hmac
import json
import random
import sys
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
    secret, pepper = key(sys.argv[1]), key(sys.argv[2])
    first, count = int(sys.argv[3]), int(sys.argv[4])
    rows_path, pool_path, pool_size = sys.argv[5], sys.argv[6], int(sys.argv[7])
    owner = sys.argv[8] if len(sys.argv) > 8 else None
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
                email, name = "user%d@bench.example" % (i % 1000), "User %d" % (i % 1000)
            tid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            claims = {"iss": "Terrakube", "sub": name + " (Token)", "aud": ["Terrakube"],
                      "jti": tid, "email": email, "email_verified": True,
                      "name": name + " (Token)", "groups": ["bench"], "iat": now,
                      "exp": now + 90 * 86400}
            signing_input = HEADER + "." + b64url(json.dumps(claims, separators=(",", ":")).encode())
            token = signing_input + "." + b64url(
                hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())
            mac = hmac.new(pepper, token.encode(), hashlib.sha256).hexdigest()
            rows.write("%s,\\x%s,%s,%s,{bench},token %d,90,%s,%s,%s,%s,%s,127.0.0.1\n"
                       % (tid, mac, email, name, i, iso, exp_iso, iso, email, used_iso))
            if i in pick:
                pool.write(token + "\n")


if __name__ == "__main__":
    main()
