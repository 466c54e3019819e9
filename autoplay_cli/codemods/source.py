"""One module's text with ``ast`` positions mapped onto it, and edits spliced in.

Edits replace spans of the decoded text; everything else (comments, line endings, the
encoding declaration, a byte-order mark) comes back byte for byte.
"""

from __future__ import annotations

import ast
import codecs
import io
import re
import tokenize
from bisect import bisect_right
from dataclasses import dataclass, field
from itertools import accumulate

# The line breaks CPython's tokenizer counts: ``ast`` line numbers follow these.
_NEWLINE = re.compile(r"\r\n|\r|\n")


def _encoding_of(source: bytes) -> str:
    """The encoding Python reads *source* in (``tokenize.detect_encoding``'s answer).

    A declaration must sit in the first two lines and spell "coding"; without one (and
    without a byte-order mark) it is UTF-8, with no need to run the detector.
    """
    first = source.find(b"\n")
    second = source.find(b"\n", first + 1) if first >= 0 else -1
    head = source if second < 0 else source[:second]
    if b"coding" not in head and not source.startswith(codecs.BOM_UTF8):
        return "utf-8"
    encoding, _ = tokenize.detect_encoding(io.BytesIO(source).readline)
    return encoding


# A line's length with its line feed (a bound C method: no Python call per line).
_PLUS_ONE = (1).__add__


class Unsupported(Exception):
    """The splicing rewriter will not handle this construct; the libcst path takes the file."""


@dataclass
class SourceText:
    """The decoded text of a module, its line starts, and the edits planned for it."""

    text: str
    encoding: str
    line_starts: list[int]
    edits: list[tuple[int, int, str]] = field(default_factory=list)

    @classmethod
    def decode(cls, source: bytes) -> SourceText:
        """Decode as Python would; raises :class:`Unsupported` if the bytes would not
        come back unchanged from the decoded text."""
        try:
            encoding = _encoding_of(source)
            text = source.decode(encoding)
        except (SyntaxError, UnicodeDecodeError, LookupError) as exc:
            raise Unsupported(f"cannot decode: {exc}") from exc
        if (
            encoding != "utf-8"
            and codecs.lookup(encoding).name != "utf-8"
            and text.encode(encoding) != source
        ):
            raise Unsupported("the encoding does not round-trip")
        if "\r" in text:
            starts = [0]
            starts.extend(match.end() for match in _NEWLINE.finditer(text))
        else:
            # Line feeds only (the usual case): the starts from the lines' lengths, in C.
            lengths = map(_PLUS_ONE, map(len, text.split("\n")[:-1]))
            starts = list(accumulate(lengths, initial=0))
        return cls(text, encoding, starts)

    def offset(self, line: int, column: int) -> int:
        """The text offset of an ``ast`` position (1-based line, UTF-8 byte column)."""
        start = self.line_starts[line - 1]
        if column == 0:
            return start
        head = self.text[start : start + column]
        if head.isascii():
            return start + column
        # Non-ASCII before the column: ast counts UTF-8 bytes, the text counts characters.
        end = self.line_starts[line] if line < len(self.line_starts) else len(self.text)
        return start + len(self.text[start:end].encode("utf-8")[:column].decode("utf-8"))

    def span(self, node: ast.AST) -> tuple[int, int]:
        end_line, end_col = node.end_lineno, node.end_col_offset  # type: ignore[attr-defined]
        if end_line is None or end_col is None:
            raise Unsupported("a node without an end position")
        start = self.offset(node.lineno, node.col_offset)  # type: ignore[attr-defined]
        return start, self.offset(end_line, end_col)

    def segment(self, node: ast.AST) -> str:
        start, end = self.span(node)
        return self.text[start:end]

    def line_of(self, offset: int) -> int:
        return bisect_right(self.line_starts, offset)

    def line_text(self, line: int) -> str:
        """Line *line* (1-based) with its line break."""
        start = self.line_starts[line - 1]
        end = self.line_starts[line] if line < len(self.line_starts) else len(self.text)
        return self.text[start:end]

    def replace(self, start: int, end: int, new: str) -> None:
        if self.text[start:end] != new:
            self.edits.append((start, end, new))

    def result(self) -> str:
        """The text with every edit applied; overlapping edits mean a rewriter bug."""
        if not self.edits:
            return self.text
        out: list[str] = []
        position = 0
        for start, end, new in sorted(self.edits):
            if start < position:
                raise Unsupported("two rewrites overlap")
            out.append(self.text[position:start])
            out.append(new)
            position = end
        out.append(self.text[position:])
        return "".join(out)

    def encode(self, text: str) -> bytes:
        return text.encode(self.encoding)
