#!/usr/bin/env python3
"""oidc.py - a stand-in identity provider for tests and ./devstack token.

Signing is done by the openssl command-line tool, so tokens come from a
signer that shares no code with patgate.

  oidc.py jwks  KEY.pem KID                 print a JWKS with the public key
  oidc.py token KEY.pem KID ISS AUD EMAIL [--name N] [--groups a,b] [--ttl S]
"""
import argparse
import base64
import json
import subprocess
import sys
import time


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _openssl(*args, data=None) -> bytes:
    return subprocess.run(["openssl", *args], input=data, check=True,
                          capture_output=True).stdout


def key_type(pem: str) -> str:
    text = _openssl("pkey", "-in", pem, "-noout", "-text")
    return "EC" if b"ASN1 OID: prime256v1" in text else "RSA"


def jwk(pem: str, kid: str) -> dict:
    der = _openssl("pkey", "-in", pem, "-pubout", "-outform", "DER")
    if key_type(pem) == "EC":
        point = der[-65:]                       # 04 || x || y
        return {"kty": "EC", "crv": "P-256", "kid": kid, "use": "sig", "alg": "ES256",
                "x": b64url(point[1:33]), "y": b64url(point[33:])}
    modulus = _openssl("rsa", "-in", pem, "-noout", "-modulus").decode()
    n = bytes.fromhex(modulus.strip().split("=", 1)[1])
    return {"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
            "n": b64url(n), "e": b64url((65537).to_bytes(3, "big"))}


def _der_to_raw(der: bytes) -> bytes:
    """ECDSA-Sig-Value (DER) to the r || s form JWS uses."""
    assert der[0] == 0x30
    i = 2 if der[1] < 0x80 else 3
    out = b""
    for _ in range(2):
        assert der[i] == 0x02
        length = der[i + 1]
        value = der[i + 2:i + 2 + length].lstrip(b"\x00")
        out += value.rjust(32, b"\x00")
        i += 2 + length
    return out


def sign(header: dict, claims: dict, pem: str) -> str:
    signing_input = (b64url(json.dumps(header, separators=(",", ":")).encode()) + "." +
                     b64url(json.dumps(claims, separators=(",", ":")).encode()))
    sig = _openssl("dgst", "-sha256", "-sign", pem, data=signing_input.encode())
    if header.get("alg") == "ES256" and key_type(pem) == "EC":
        sig = _der_to_raw(sig)
    return signing_input + "." + b64url(sig)


DROP = object()     # a claim given as DROP in extra is left out


def token(pem: str, kid: str, iss: str, aud, email: str, name=None, groups=None,
          ttl=3600, extra=None, header_extra=None) -> str:
    now = int(time.time())
    # As Dex sends them: email_verified is the JSON true.
    claims = {"iss": iss, "sub": email, "aud": aud, "email": email, "email_verified": True,
              "name": name if name is not None else email,
              "iat": now, "nbf": now, "exp": now + ttl}
    if groups is not None:
        claims["groups"] = groups
    claims.update(extra or {})
    claims = {k: v for k, v in claims.items() if v is not DROP}
    header = {"alg": "ES256" if key_type(pem) == "EC" else "RS256", "typ": "JWT", "kid": kid}
    header.update(header_extra or {})
    return sign(header, claims, pem)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    j = sub.add_parser("jwks")
    j.add_argument("keys", nargs="+", help="KEY.pem KID pairs")
    t = sub.add_parser("token")
    t.add_argument("key")
    t.add_argument("kid")
    t.add_argument("iss")
    t.add_argument("aud")
    t.add_argument("email")
    t.add_argument("--name")
    t.add_argument("--groups", default="")
    t.add_argument("--ttl", type=int, default=3600)
    a = p.parse_args()
    if a.cmd == "jwks":
        if len(a.keys) % 2:
            p.error("jwks takes KEY.pem KID pairs")
        pairs = zip(a.keys[0::2], a.keys[1::2])
        print(json.dumps({"keys": [jwk(k, kid) for k, kid in pairs]}, indent=2))
    else:
        groups = [g for g in a.groups.split(",") if g]
        print(token(a.key, a.kid, a.iss, a.aud, a.email, a.name, groups, a.ttl))
    return 0


if __name__ == "__main__":
    sys.exit(main())
