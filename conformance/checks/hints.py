"""Why a mapping read nothing: where a partner's answer keeps a value, and keys of a similar name.

The preflight (``checks/preflight.py``) uses these to turn "read nothing at ``/data/quote/id``"
into "the answer has ``/data/quoteId`` = pq_test_…": it searches the answer for the value the
provider issued, and for keys whose name is close to the pointer's last token.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from conformance.driver.actions import MISSING_VALUE, resolve_pointer

MAX_SHOWN = 3
_WORD = re.compile(r"[^a-z0-9]")


def escape(token: str) -> str:
    """One RFC 6901 reference token."""
    return token.replace("~", "~0").replace("/", "~1")


def leaves(document: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Every value of a JSON document with its pointer, containers included, depth first."""
    yield prefix, document
    if isinstance(document, Mapping):
        for key, value in document.items():
            yield from leaves(value, f"{prefix}/{escape(str(key))}")
    elif isinstance(document, list):
        for index, value in enumerate(document):
            yield from leaves(value, f"{prefix}/{index}")


def _scalar(value: Any) -> bool:
    return not isinstance(value, Mapping | list)


def find_value(document: Any, wanted: object) -> list[str]:
    """Pointers whose scalar value equals ``wanted`` (compared as text)."""
    if wanted is None or wanted == "":
        return []
    text = str(wanted)
    return [p for p, v in leaves(document) if p and _scalar(v) and str(v) == text]


def _norm(name: str) -> str:
    return _WORD.sub("", name.lower())


def similar_keys(document: Any, pointer: str, *, exclude: Sequence[str] = ()) -> list[str]:
    """Pointers of keys whose name is close to the last token of ``pointer`` (best first)."""
    last = _norm(pointer.rsplit("/", 1)[-1])
    if not last:
        return []
    scored: list[tuple[float, str]] = []
    for path, _value in leaves(document):
        if not path or path == pointer or path in exclude:
            continue
        key = _norm(path.rsplit("/", 1)[-1])
        if not key or key.isdigit():
            continue
        ratio = difflib.SequenceMatcher(None, last, key).ratio()
        if last in key or key in last:
            ratio = max(ratio, 0.8)
        if ratio >= 0.6:
            scored.append((-ratio, path))
    scored.sort()
    return [path for _score, path in scored[:MAX_SHOWN]]


def arrays(document: Any) -> list[str]:
    """Pointers of the arrays in a document (where a list action's entries may be)."""
    return [p or "/" for p, v in leaves(document) if isinstance(v, list)][:MAX_SHOWN]


def shown(value: Any, limit: int = 60) -> str:
    """A value as a short one-line text."""
    text = value if isinstance(value, str) else repr(value)
    if isinstance(value, Mapping | list):
        text = "{…}" if isinstance(value, Mapping) else f"[{len(value)} item(s)]"
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def value_at(document: Any, pointer: str) -> Any:
    """The value at an RFC 6901 pointer (None when absent)."""
    value = resolve_pointer(document, pointer)
    return None if value is MISSING_VALUE else value


def where_else(document: Any, pointer: str, wanted: object = None) -> str:
    """"the answer has `/x` = v" for the value (if found) or similar keys; else its top keys."""
    hits = find_value(document, wanted)
    if hits:
        return "the answer has " + ", ".join(
            f"`{p}` = {shown(wanted)}" for p in hits[:MAX_SHOWN]
        )
    similar = similar_keys(document, pointer)
    if similar:
        return "the answer has " + ", ".join(
            f"`{p}` = {shown(value_at(document, p))}" for p in similar
        )
    if isinstance(document, Mapping):
        keys = ", ".join(f"`/{escape(str(k))}`" for k in list(document)[:8])
        return f"the answer's top-level keys are {keys or 'none'}"
    return f"the answer is {shown(document)}"


def close_names(names: Sequence[str], candidates: Sequence[str]) -> list[tuple[str, str]]:
    """(name, the closest candidate) for names that look like a misspelt candidate."""
    pairs = []
    for name in names:
        match = difflib.get_close_matches(name, candidates, n=1, cutoff=0.5)
        if match and match[0] != name:
            pairs.append((name, match[0]))
    return pairs
