#!/usr/bin/env python3
"""Writes the seed corpus under corpus/<target>/seed-*: real tokens (signed with the fuzz
targets' test keys, expiring in 2100), real forms and real headers. Run from fuzz/; needs the `cryptography` package."""

import base64
import hashlib
import hmac
import json
import os

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

SECRET = b"09d25e094faa6ca2556c818166b7a9563b93f7099f6f0f4caa6cf63b88e8d3e7"
REFRESH_SECRET = b"a-different-secret-for-refresh-tokens-only-0123456789"
KEYS = "../auth-core/tests/keys"
EXP = 4102444800  # 2100-01-01


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def segment(obj) -> str:
    return b64(json.dumps(obj, separators=(",", ":")).encode())


def private_key(name):
    with open(f"{KEYS}/{name}", "rb") as f:
        return serialization.load_pem_private_key(f.read(), password=None)


def sign(header, claims, alg_key=SECRET):
    message = f"{segment(header)}.{segment(claims)}".encode()
    alg = header.get("alg")
    if alg == "HS256":
        signature = hmac.new(alg_key, message, hashlib.sha256).digest()
    elif alg == "RS256":
        signature = private_key("rsa_private.pem").sign(message, padding.PKCS1v15(), hashes.SHA256())
    elif alg == "ES256":
        r, s = decode_dss_signature(private_key("ec_private.pem").sign(message, ec.ECDSA(hashes.SHA256())))
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    elif alg == "EdDSA":
        signature = private_key("ed25519_private.pem").sign(message)
    else:
        signature = b""
    return f"{message.decode()}.{b64(signature)}"


def write(target, name, data):
    os.makedirs(f"corpus/{target}", exist_ok=True)
    with open(f"corpus/{target}/seed-{name}", "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


claims = {"sub": "johndoe", "scopes": ["me", "items"], "exp": EXP}
tokens = {
    "hs256": sign({"alg": "HS256", "typ": "JWT"}, claims),
    "hs256-rules": sign(
        {"alg": "HS256", "typ": "at+jwt"},
        {**claims, "iss": "https://issuer.example", "aud": "api", "nbf": 0, "iat": 1, "jti": "x"},
    ),
    "rs256": sign({"alg": "RS256", "typ": "JWT"}, claims),
    "es256": sign({"alg": "ES256", "typ": "JWT"}, claims),
    "eddsa": sign({"alg": "EdDSA", "typ": "JWT"}, claims),
    "kid": sign({"alg": "HS256", "kid": "b"}, {"sub": "johndoe", "scope": "me items", "exp": EXP}),
    "refresh": sign(
        {"alg": "HS256", "typ": "refresh+jwt"},
        {**claims, "jti": "head", "fid": "family"},
        REFRESH_SECRET,
    ),
    "alg-none": sign({"alg": "none"}, claims),
    "crit": sign({"alg": "HS256", "crit": ["exp"]}, claims),
    "jku": sign({"alg": "HS256", "jku": "http://127.0.0.1:9/jwks.json", "x5u": "http://127.0.0.1:9/x"}, claims),
    "exp-string": sign({"alg": "HS256"}, {"sub": "johndoe", "exp": str(EXP)}),
    "scopes-number": sign({"alg": "HS256"}, {"sub": 5, "scopes": 7, "exp": EXP}),
}
for name, token in tokens.items():
    write("jwt_decode", name, token)

for name, value in {
    "bearer": b"\x01Bearer " + tokens["hs256"].encode(),
    "lowercase-spaces": b"\x01bearer   abc  ",
    "two-headers": b"\x02Bearer abc",
    "basic": b"\x01Basic am9obmRvZTpzZWNyZXQ=",
    "tab": b"\x01Bearer\tabc",
    "obs-text": b"\x01Bearer \xff\xfe",
    "empty": b"\x01",
}.items():
    write("authorization_header", name, value)

for name, body in {
    "tutorial": "username=johndoe&password=secret&scope=me+items",
    "strict": "grant_type=password&username=johndoe&password=secret&scope=me%20items&client_id=c&client_secret=s",
    "duplicate": "username=a&username=b&password=c",
    "grant-type": "grant_type=client_credentials&username=a&password=b",
    "percent": "username=j%C3%B6hn%zz&password=%FF%00&scope=%20me%09items",
    "empty-values": "username=&password=&scope=&=&&",
}.items():
    write("password_form", name, body)
