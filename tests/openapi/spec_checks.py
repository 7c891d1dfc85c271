"""What SPEC.md ("OpenAPI and docs") says the tutorial port's /openapi.json holds.

    python spec_checks.py openapi.json

Prints one line per finding and exits 1 if there is any. Standard library only.
"""

import json
import sys

SCHEME = "OAuth2PasswordBearer"
SCOPES = {"me": "Read information about the current user.", "items": "Read items."}
SECURITY = {
    ("get", "/users/me/"): [{SCHEME: ["me"]}],
    ("get", "/users/me/items/"): [{SCHEME: ["items", "me"]}],
    ("get", "/status/"): [{SCHEME: []}],
}


def findings(doc):
    if not str(doc.get("openapi", "")).startswith("3."):
        yield f"openapi version: expected 3.x, got {doc.get('openapi')!r}"

    schemes = doc.get("components", {}).get("securitySchemes", {})
    scheme = schemes.get(SCHEME)
    if scheme is None:
        yield f"components.securitySchemes has no {SCHEME} (it has {sorted(schemes)})"
    else:
        if scheme.get("type") != "oauth2":
            yield f"{SCHEME}.type: expected 'oauth2', got {scheme.get('type')!r}"
        flows = scheme.get("flows", {})
        if set(flows) != {"password"}:
            yield f"{SCHEME}.flows: expected only 'password', got {sorted(flows)}"
        password = flows.get("password", {})
        if password.get("tokenUrl") != "token":
            yield f"{SCHEME}.flows.password.tokenUrl: expected 'token', got {password.get('tokenUrl')!r}"
        if password.get("scopes") != SCOPES:
            yield f"{SCHEME}.flows.password.scopes: expected {SCOPES}, got {password.get('scopes')!r}"

    paths = doc.get("paths", {})
    if "post" not in paths.get("/token", {}):
        yield "paths: no POST /token"
    for (method, path), expected in SECURITY.items():
        operation = paths.get(path, {}).get(method)
        if operation is None:
            yield f"paths: no {method.upper()} {path}"
            continue
        # Per-operation security, or the document's default when the operation has none.
        got = operation.get("security", doc.get("security"))
        if got != expected:
            yield f"{method.upper()} {path} security: expected {expected}, got {got!r}"


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        doc = json.load(f)
    problems = list(findings(doc))
    for problem in problems:
        print(f"  {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
