#!/usr/bin/env python3
"""idents.py - many OIDC identity tokens at once, one a line, for wrk's scripts.

  idents.py KEY.pem KID ISS AUD PREFIX COUNT [TTL]

Prints COUNT RS256 identity tokens for PREFIX0@bench.example ...
PREFIX<COUNT-1>@bench.example, signed as tests/e2e/oidc.py signs them
(by the openssl tool), in one process: the key's type is read once, and
the openssl runs go two at a time.
"""
import concurrent.futures
import functools
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import oidc  # noqa: E402

oidc.key_type = functools.lru_cache(maxsize=None)(oidc.key_type)


def main():
    pem, kid, iss, aud, prefix, count = sys.argv[1:7]
    ttl = int(sys.argv[7]) if len(sys.argv) > 7 else 7200
    oidc.key_type(pem)

    def one(k):
        return oidc.token(pem, kid, iss, aud, "%s%d@bench.example" % (prefix, k),
                          name="%s %d" % (prefix.capitalize(), k), groups=["bench"], ttl=ttl)

    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        out = list(pool.map(one, range(int(count))))
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
