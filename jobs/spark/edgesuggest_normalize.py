"""The engine's normalizer (src/normalize.rs) in Python, for the Spark job.

Steps, in this order, exactly as the engine:

1. Unicode NFKD (compatibility decomposition: "ﬁ" -> "fi", "①" -> "1", "é" -> "e" + U+0301);
2. drop every character of general category Mn (non-spacing marks);
3. lowercase each character ON ITS OWN, as Rust's ``char::to_lowercase`` (full case mapping,
   no context): ``str.lower()`` on a whole string applies the Greek final-sigma rule ("ΟΔΟΣ"
   -> "οδος"), the engine does not ("οδοσ"), so this lowercases one character at a time;
4. collapse every run of whitespace to one ASCII space, whitespace being Rust's
   ``char::is_whitespace`` (the Unicode White_Space property). Not ``str.isspace()``: that one
   is also true for U+001C..U+001F (the "information separators"), which the engine keeps;
5. trim the start; for phrases the end too, for queries one trailing space is kept when the
   input ends in whitespace.

Unicode versions: Python's ``unicodedata`` carries the Unicode version of the interpreter
(``unicodedata.unidata_version``: 14.0 for CPython 3.11, 15.0 for 3.12/3.13), the engine the
version of its generated tables and of the Rust standard library. A character assigned in a
later version than one side knows (a new letter with a decomposition, a new mark, a new case
pair) may normalize differently; characters of real logs almost never are. Properties of
characters Python does know that changed since are patched below (NO_LONGER_MN). The parity
test (test_spark.py) compares both on every code point Python's version assigns, on real data
and on tricky strings.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

#: Rust's ``char::is_whitespace``: the Unicode White_Space property (stable since Unicode 4.1:
#: U+180E left it in 6.3, nothing has joined since).
WHITE_SPACE = frozenset(
    [chr(c) for c in range(0x09, 0x0E)]
    + [" ", "\u0085", "\u00a0", "\u1680"]
    + [chr(c) for c in range(0x2000, 0x200B)]
    + ["\u2028", "\u2029", "\u202f", "\u205f", "\u3000"]
)

UNICODE_VERSION = unicodedata.unidata_version
_VERSION = tuple(int(part) for part in UNICODE_VERSION.split("."))

#: Characters whose general category left Mn after Python's Unicode version, in the version the
#: engine uses (the test compares every code point Python knows): the engine keeps them.
#: U+1171E AHOM CONSONANT SIGN MEDIAL RA became Mc in Unicode 15.0.
NO_LONGER_MN = frozenset(["\U0001171e"] if _VERSION < (15, 0) else [])


def _fold(text: str, keep_trailing_space: bool) -> str:
    out: list[str] = []
    pending_space = False
    category = unicodedata.category
    if text.isascii():
        decomposed = text
    else:
        decomposed = unicodedata.normalize("NFKD", text)
    for ch in decomposed:
        if ch < "\x80":
            lowered = ch.lower()
        elif category(ch) == "Mn" and ch not in NO_LONGER_MN:
            continue
        else:
            lowered = ch.lower()
        for c in lowered:
            if c in WHITE_SPACE:
                pending_space = bool(out)
            else:
                if pending_space:
                    out.append(" ")
                    pending_space = False
                out.append(c)
    if pending_space and keep_trailing_space:
        out.append(" ")
    return "".join(out)


@lru_cache(maxsize=1 << 16)
def normalize_phrase(text: str) -> str:
    """The key of a phrase: both ends trimmed (``edgesuggest::normalize_phrase``)."""
    return _fold(text, False)


@lru_cache(maxsize=1 << 12)
def normalize_query(text: str) -> str:
    """A query: start trimmed, one trailing space kept (``edgesuggest::normalize_query``)."""
    return _fold(text, True)


def surface_form(text: str) -> str:
    """The display form of a search's ``q``: each run of whitespace (``char::is_whitespace``)
    turned into one space, both ends trimmed; case and accents kept."""
    out: list[str] = []
    pending_space = False
    for c in text:
        if c in WHITE_SPACE:
            pending_space = bool(out)
        else:
            if pending_space:
                out.append(" ")
                pending_space = False
            out.append(c)
    return "".join(out)


if __name__ == "__main__":
    # Same contract as `edgesuggest normalize [--query]`: one line in, one line out.
    import sys

    query = "--query" in sys.argv[1:]
    fn = normalize_query if query else normalize_phrase
    for raw in sys.stdin.buffer:
        line = raw.decode("utf-8")
        if line.endswith("\n"):
            line = line[:-1]
            if line.endswith("\r"):
                line = line[:-1]
        sys.stdout.write(fn(line) + "\n")
