"""Which words a regular expression's every match must contain, as FTS5 can look them up.

``grep`` reads only the captured files whose indexed lines hold these words (plus the files
the index cannot vouch for). A word qualifies only where the index's tokens are certain to
line up with it: FTS5's ``unicode61`` tokenizer splits text at every character that is not a
letter or digit, so a literal run of letters is a whole token, or the start of one, only when
the pattern pins what comes before it (a space, punctuation, ``^``, ``\\b``). ``ERR[0-9]{3}``
gives nothing (the text may say ``xERR123``); ``connection refused: port \\d+`` gives
``refused`` and ``port`` (``connection`` may end a longer token). Only ASCII letters and digits
count, so Unicode case folding and diacritics can never make the index disagree with ``re``.
One gap is accepted: ``\\b`` is taken as a token boundary, and it is one except next to a
private-use character (U+E000-U+F8FF), which ``re`` counts as a non-word and FTS5 as a letter.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from typing import Any

try:  # the parser behind re; renamed in 3.11
    from re import _parser as _sre_parse  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - Python 3.10
    import sre_parse as _sre_parse  # type: ignore[no-redef]

_WORD = frozenset(string.ascii_letters + string.digits)
# A prefix shorter than this matches too many tokens to narrow anything.
MIN_PREFIX_CHARS = 3
_LINE_START = frozenset({"AT_BEGINNING", "AT_BEGINNING_STRING", "AT_BEGINNING_LINE"})
_LINE_END = frozenset({"AT_END", "AT_END_STRING", "AT_END_LINE"})
# ``\s`` only: ``\W`` also matches private-use characters, which FTS5 counts as letters.
_SEPARATOR_CATEGORIES = frozenset({"CATEGORY_SPACE"})


@dataclass(frozen=True)
class Literals:
    """What every match of a pattern contains on its line.

    ``words``: ``[(word, whole)]`` for FTS5, lower-cased; ``whole`` when the word is a complete
    token, else a token's start (a prefix query); empty when the index cannot narrow.
    ``needle``: the longest run of literal characters, as written, when the pattern matches
    case-sensitively: a line without it cannot match, and ``in`` says so far faster than
    ``re`` does for patterns that start with an anchor or a class.
    """

    words: list[tuple[str, bool]]
    needle: str | None


def literals(pattern: str, flags: int = 0) -> Literals:
    """The Literals of ``pattern``; raises ``re.error`` as ``re`` does."""
    walker = _Walker()
    parsed = _sre_parse.parse(pattern, flags)
    walker.sequence(parsed)
    walker.flush(whole=False)
    walker.end_exact()
    words = [
        (word, whole) for word, whole in dict.fromkeys(walker.words)
        if whole or len(word) >= MIN_PREFIX_CHARS
    ]
    ignore_case = (parsed.state.flags | walker.scoped_flags) & re.IGNORECASE
    needle = max(walker.exact_runs, key=len, default="")
    return Literals(words, needle if needle and not ignore_case else None)


def fts_query(words: list[tuple[str, bool]]) -> str:
    """The FTS5 query that finds every line holding all ``words``."""
    return " AND ".join(f'"{word}"' if whole else f'"{word}"*' for word, whole in words)


class _Walker:
    """Walks the parsed pattern left to right, collecting word runs and what bounds them."""

    def __init__(self) -> None:
        self.words: list[tuple[str, bool]] = []
        self.exact_runs: list[str] = []  # consecutive literal characters of any kind
        self.exact = ""
        self.scoped_flags = 0  # flags turned on inside a group, (?i:...)
        self.run = ""
        self.run_starts_token = False
        self.after_separator = False  # the position is at a line start or after a non-word

    def flush(self, whole: bool) -> None:
        if self.run and self.run_starts_token:
            self.words.append((self.run.lower(), whole))
        self.run = ""

    def separator(self) -> None:
        self.flush(whole=True)
        self.after_separator = True

    def unknown(self) -> None:
        self.flush(whole=False)
        self.after_separator = False

    def end_exact(self) -> None:
        if self.exact:
            self.exact_runs.append(self.exact)
        self.exact = ""

    def sequence(self, items: Any) -> None:
        for op, value in items:
            name = str(op)
            if name == "LITERAL":
                self.exact += chr(value)
            elif name != "SUBPATTERN":
                self.end_exact()
            if name == "LITERAL":
                self.literal(chr(value))
            elif name == "AT":
                self.anchor(str(value))
            elif name == "IN":
                self.separator() if _only_separators(value) else self.unknown()
            elif name in ("MAX_REPEAT", "MIN_REPEAT"):
                low, _, body = value
                if low >= 1 and len(body) == 1 and _is_separator(*body[0]):
                    self.separator()
                else:
                    self.unknown()
            elif name == "SUBPATTERN":
                self.scoped_flags |= value[1]
                self.sequence(value[-1])
            else:
                self.unknown()

    def literal(self, char: str) -> None:
        if char in _WORD:
            if not self.run:
                self.run_starts_token = self.after_separator
            self.run += char
            self.after_separator = False
        elif char.isascii():
            self.separator()
        else:
            self.unknown()

    def anchor(self, where: str) -> None:
        if where in _LINE_START:
            self.flush(whole=False)
            self.after_separator = True
        elif where in _LINE_END or where == "AT_BOUNDARY":
            self.separator()
        else:
            self.unknown()


def _is_separator(op: Any, value: Any) -> bool:
    name = str(op)
    if name == "LITERAL":
        char = chr(value)
        return char.isascii() and char not in _WORD
    if name == "IN":
        return _only_separators(value)
    return False


def _only_separators(members: Any) -> bool:
    """Whether a character class matches only characters that split FTS5 tokens."""
    for op, value in members:
        name = str(op)
        if name == "LITERAL":
            if not _is_separator(op, value):
                return False
        elif name == "CATEGORY":
            if str(value) not in _SEPARATOR_CATEGORIES:
                return False
        else:  # NEGATE, RANGE, ...
            return False
    return bool(members)


def compile_pattern(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE if ignore_case else 0)
