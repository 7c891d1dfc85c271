#!/usr/bin/env python3
"""Counts the public names reachable from a crate's root in rustdoc JSON.

Usage: public_api.py CRATE.json [--list]

A name is an item of the crate that a user can reach by a path from the crate root: the
root's public items, the items of every public module reachable from it, and what public `use`
declarations re-export (an item, or a glob of a module). Each item is counted once, however
many paths reach it (`auth_core::Depends` and `auth_core::security::Depends` are one name).
Not counted, as in issue 19's figure of 228: modules (listed apart); methods, fields, variants
and associated items, which belong to the names counted; `#[doc(hidden)]` items
(`__private`), which rustdoc leaves out; and items of other crates re-exported here
(jsonwebtoken's keys, axum's WebSocket types, the derives of auth-macros), listed apart, except
the crates in OWN_CRATES: what auth-core re-exports from `auth-rules` (the cookie rules moved
there in issue 19) is counted as auth-core's own, so that moving a type there cannot lower the
figure.
"""

import json
import sys
from collections import Counter

# rustdoc JSON's item kinds, as the issue names them.
KINDS = {
    "struct": "structs",
    "enum": "enums",
    "union": "unions",
    "trait": "traits",
    "trait_alias": "trait aliases",
    "function": "functions",
    "constant": "constants",
    "static": "statics",
    "type_alias": "type aliases",
    "macro": "macros",
    "proc_macro": "macros",
    "module": "modules",
}


# Workspace crates whose re-exported items count as the crate's own.
OWN_CRATES = {"auth_rules"}


def kind_of(item):
    inner = item.get("inner", {})
    return next(iter(inner)) if isinstance(inner, dict) and inner else str(inner)


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    listing = "--list" in sys.argv
    with open(args[0]) as f:
        doc = json.load(f)
    # Ids are integers in the item data and strings as JSON object keys.
    index = {str(k): v for k, v in doc["index"].items()}
    paths = {str(k): v for k, v in doc["paths"].items()}
    root = str(doc["root"])

    names = {}  # item id (or external path) -> (kind, first path it was reached by, own item)
    seen_modules = set()

    def add(key, kind, path, own):
        if key not in names:
            names[key] = (kind, path, own)

    def walk_module(module_id, prefix):
        if module_id in seen_modules:
            return
        seen_modules.add(module_id)
        module = index[module_id]
        for child in module["inner"]["module"]["items"]:
            visit(str(child), prefix)

    def visit(item_id, prefix):
        item = index.get(item_id)
        if item is None or item.get("visibility") != "public":
            return
        kind = kind_of(item)
        if kind == "use":
            use = item["inner"]["use"]
            target = None if use.get("id") is None else str(use["id"])
            if use.get("is_glob"):
                if target in index and kind_of(index[target]) == "module":
                    walk_module(target, prefix)
                return
            path = f"{prefix}::{use['name']}"
            if target in index:
                target_item = index[target]
                target_kind = kind_of(target_item)
                add(target, target_kind, path, target_item.get("crate_id") == 0)
                if target_kind == "module":
                    walk_module(target, path)
            elif target in paths:
                summary = paths[target]
                own = summary["path"][0] in OWN_CRATES
                add(f"extern:{'::'.join(summary['path'])}", summary["kind"], path, own)
            return
        path = f"{prefix}::{item.get('name')}"
        if kind in KINDS:
            add(item_id, kind, path, item.get("crate_id") == 0)
            if kind == "module":
                walk_module(item_id, path)

    crate = index[root]["name"]
    walk_module(root, crate)

    def summary(own):
        counts = Counter(KINDS.get(kind, kind) for kind, _, mine in names.values() if mine == own)
        modules = counts.pop("modules", 0)
        parts = ", ".join(f"{n} {kind}" for kind, n in counts.most_common())
        return sum(counts.values()), parts, modules

    if listing:
        for kind, path, own in sorted((KINDS.get(k, k), p, o) for k, p, o in names.values()):
            print(f"{kind:14} {path}{'' if own else '  (re-exported from another crate)'}")
        print()
    total, parts, modules = summary(True)
    print(f"{total} public names reachable from `{crate}` ({parts}); {modules} public modules")
    total, parts, modules = summary(False)
    print(f"not counted: {total} names re-exported from other crates ({parts}); {modules} modules")


if __name__ == "__main__":
    main()
