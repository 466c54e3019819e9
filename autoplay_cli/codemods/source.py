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

# The line breaks CPython's tokenizer counts: ``ast`` line numbers follow these.
_NEWLINE = re.compile(r"\r\n|\r|\n")


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
            encoding, _ = tokenize.detect_encoding(io.BytesIO(source).readline)
            text = source.decode(encoding)
        except (SyntaxError, UnicodeDecodeError, LookupError) as exc:
            raise Unsupported(f"cannot decode: {exc}") from exc
        if codecs.lookup(encoding).name != "utf-8" and text.encode(encoding) != source:
            raise Unsupported("the encoding does not round-trip")
        starts = [0]
        starts.extend(match.end() for match in _NEWLINE.finditer(text))
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
