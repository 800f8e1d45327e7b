"""Regular expressions that come from people, compiled and run within bounds.

impact.com's MatchMode RE is a case-sensitive regular expression that must match the whole
code. The `regex` package runs it: a backtracking engine with the syntax of Python's `re`
(lookarounds, backreferences, possessive quantifiers), so a pattern impact.com accepts is
not refused here, and every match takes a timeout. Its compiler unrolls counted repeats
(`(?:a{255}){255}` is 65,025 steps), so a pattern whose repeats would unroll past
`MAX_UNROLLED` is refused before it is compiled.
"""

from __future__ import annotations

import re
import time

import regex

MAX_PATTERN_LENGTH = 255  # impact.com's promo code field
MAX_UNROLLED = 20_000  # compiles in a few milliseconds

# Our own constant patterns (never a person's): a counted repeat, and the inline flags or
# comments under which the structure below cannot be read (verbose mode, version 1 sets).
_COUNT = re.compile(r"\{(\d*)(?:,(\d*))?\}")
_OPAQUE = re.compile(r"\(\?#|\(\?[a-zA-Z0-9-]*[xV]")
_POSIX = re.compile(r"\[:\^?[a-zA-Z]+:\]")


class TooSlow(Exception):
    """A pattern ran out of its time bound."""


class Deadline:
    """One time bound shared by every match a request makes."""

    def __init__(self, seconds: float) -> None:
        self.ends = time.monotonic() + seconds

    def left(self) -> float:
        """Seconds left; TooSlow once there are none."""
        left = self.ends - time.monotonic()
        if left <= 0:
            raise TooSlow
        return left


def _class_end(pattern: str, start: int) -> int:
    """The index just past the character class opening at `start` ([...], [^...], []...])."""
    i = start + 1
    if pattern.startswith("^", i):
        i += 1
    if pattern.startswith("]", i):
        i += 1
    while i < len(pattern):
        if pattern[i] == "\\":
            i += 2
        elif posix := _POSIX.match(pattern, i):
            i = posix.end()  # a POSIX class such as [:alpha:]
        elif pattern[i] == "]":
            return i + 1
        else:
            i += 1
    return len(pattern)


def _times(count: re.Match) -> int:
    low, high = count.group(1), count.group(2)
    return max(int(low or 0), int(high or 0), 1)


def unrolled_size(pattern: str) -> int:
    """An upper bound on the steps the compiler unrolls the pattern's counted repeats into
    (capped just above MAX_UNROLLED)."""
    cap = MAX_UNROLLED + 1
    if _OPAQUE.search(pattern):
        # Comments and verbose mode hide structure: multiply every count instead.
        size = len(pattern)
        for count in _COUNT.finditer(pattern):
            size = min(size * _times(count), cap)
        return size
    frames = [[0, 0]]  # per open group: steps so far, steps of the item a quantifier repeats
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            size, i = 1, i + 2
        elif char == "[":
            size, i = 1, _class_end(pattern, i)
        elif char == "(":
            frames.append([0, 0])
            i += 1
            continue
        elif char == ")" and len(frames) > 1:
            done, last = frames.pop()
            size, i = done + last + 1, i + 1
        elif char == "{" and (count := _COUNT.match(pattern, i)):
            frames[-1][1] = min(frames[-1][1] * _times(count), cap)
            i = count.end()
            continue
        else:
            size, i = 1, i + 1
        frames[-1][0] = min(frames[-1][0] + frames[-1][1], cap)
        frames[-1][1] = size
    total = 0
    for done, last in reversed(frames):  # groups left open still count
        total = min(done + last + total, cap)
    return total


def compile_error(pattern: str) -> str:
    """Why `pattern` cannot be used, as a sentence; "" when it compiles within bounds."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        return f"A regular expression is at most {MAX_PATTERN_LENGTH} characters."
    if unrolled_size(pattern) > MAX_UNROLLED:
        return "This regular expression repeats too much to check; simplify it."
    try:
        regex.compile(pattern)
    except regex.error as error:
        return f"This regular expression does not compile: {error}."
    except (RecursionError, OverflowError, ValueError, MemoryError):
        return "This regular expression is too complex to check; simplify it."
    return ""


def compiled(pattern: str) -> regex.Pattern:
    """The compiled pattern; call only after compile_error(pattern) returned ""."""
    return regex.compile(pattern)


def fullmatch(pattern: regex.Pattern, text: str, deadline: Deadline) -> bool:
    """Whether `pattern` matches the whole of `text`; TooSlow when the deadline passes."""
    try:
        return pattern.fullmatch(text, timeout=deadline.left()) is not None
    except TimeoutError as error:
        raise TooSlow from error
