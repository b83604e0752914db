"""Independent passport checks shared by the passport tests: the acceptance validator (jsonschema against the
BatteryPass v1.2 schemas, run as a separate process) and an access check of every value against the
BatteryPass attribute list, both read from ../shared at run time."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from shared_location import SHARED

VALIDATOR = SHARED / "acceptance" / "passport" / "validate.py"
ATTRIBUTES = SHARED / "batterypass" / "attributes_v1.2.json"
ROLES = ("public", "legitimate_interest", "authority")
ALLOWED = {
    "public": {"public"},
    "legitimate_interest": {"public", "legitimate_interest", "legitimate_interest_and_commission"},
    "authority": {"public", "legitimate_interest", "legitimate_interest_and_commission", "authorities"},
}


def validate(doc: dict[str, Any], role: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run the acceptance validator on `doc` for `role`."""
    path = tmp_path / f"passport-{role}.json"
    path.write_text(json.dumps(doc, ensure_ascii=False, allow_nan=False), encoding="utf-8")
    return subprocess.run(
        [sys.executable, str(VALIDATOR), str(path), "--role", role],
        capture_output=True,
        text=True,
        timeout=120,
    )


def is_valid(result: subprocess.CompletedProcess[str]) -> bool:
    lines = result.stdout.strip().splitlines()
    return result.returncode == 0 and bool(lines) and lines[-1].startswith("valid=true violations=0")


def restricted_values(doc: dict[str, Any], full: dict[str, Any], role: str) -> list[Any]:
    """What in `doc` (a view for `role`) the role may not read: paths whose governing attribute is hidden
    from it, and withheld texts of the authority view `full` (longer than 8 characters, not also shown
    elsewhere) that appear anywhere in it. Empty when the view is clean."""
    selectors = _attribute_access()
    found: list[Any] = []
    for path in _leaves(doc, ()):
        access = _access_of(path, selectors)
        if not access or not access <= ALLOWED[role]:
            found.append((path, access))
    shown: set[str] = set()
    hidden: set[str] = set()
    for path in _leaves(full, ()):
        value = _value(full, path)
        if isinstance(value, str) and len(value) > 8:
            (shown if _access_of(path, selectors) <= ALLOWED[role] else hidden).add(value)
    text = json.dumps(doc)
    return found + [value for value in hidden - shown if value in text]


def withheld_texts(full: dict[str, Any], role: str) -> set[str]:
    """Texts of the authority view that `role` may not read (so that a check of them cannot be vacuous)."""
    selectors = _attribute_access()
    return {
        v
        for path in _leaves(full, ())
        if isinstance(v := _value(full, path), str) and not _access_of(path, selectors) <= ALLOWED[role]
    }


def _parse(selector: str) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for key, each, fkey, op, value in re.findall(r"\.?(\w+)|(\[\])|\[\?(\w+)(!?=)([^\]]*)\]", selector):
        if key:
            out.append(("key", key))
        elif each:
            out.append(("each", None))
        else:
            literal = json.loads(value) if value in ("true", "false") else value
            out.append(("where", (fkey, op, literal)))
    return out


def _attribute_access() -> list[tuple[list[tuple[str, Any]], str]]:
    attributes = json.loads(ATTRIBUTES.read_text(encoding="utf-8"))["attributes"]
    return [(_parse(p), a["access"]) for a in attributes for p in a["json_paths"]]


def _leaves(node: Any, path: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    if isinstance(node, dict) and node:
        return [leaf for k, v in node.items() for leaf in _leaves(v, (*path, k))]
    if isinstance(node, list) and node:
        return [leaf for n, v in enumerate(node) for leaf in _leaves(v, (*path, (n, v)))]
    return [path]


def _access_of(path: tuple[Any, ...], selectors: list[tuple[list[tuple[str, Any]], str]]) -> set[str]:
    """Access of the most specific attribute-list selector matching the path or an ancestor of it."""
    best: tuple[int, int] = (-1, -1)
    found: set[str] = set()
    for segments, access in selectors:
        if len(segments) > len(path):
            continue
        ok = True
        for (kind, arg), step in zip(segments, path, strict=False):
            if kind == "key":
                ok = step == arg
            elif not isinstance(step, tuple):
                ok = False
            elif kind == "where":
                key, op, value = arg
                element = step[1]
                equal = isinstance(element, dict) and key in element and element[key] == value
                equal = equal and type(element[key]) is type(value)
                ok = equal if op == "=" else not equal
            if not ok:
                break
        if ok:
            spec = (len(segments), sum(1 for kind, _ in segments if kind == "where"))
            if spec > best:
                best, found = spec, {access}
            elif spec == best:
                found.add(access)
    return found


def _value(doc: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        doc = doc[step[0]] if isinstance(step, tuple) else doc[step]
    return doc
