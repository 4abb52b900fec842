"""Stage 1: files -> documents.

Reads plain text (first line ``date YYYY-MM-DD``), Markdown (the same first line or
a ``date:`` front-matter field), JSON Lines (one article per line) and folders of
those. Everything is validated before anything is written, so a bad file rejects
the whole ingest and the index on disk stays as it was.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from .errors import InputError, InputErrors
from .types import Document

SUFFIXES = (".txt", ".md", ".markdown", ".jsonl")
_DATE_LINE = re.compile(r"^\s*date\b[:\s]*(\S*)\s?(.*)$", re.IGNORECASE)
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass
class LoadResult:
    documents: list[Document] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def parse_date(value: str, where: str) -> dt.date:
    """Parse a strict ISO ``YYYY-MM-DD`` date; anything else is an error, never a guess."""
    value = value.strip()
    if not _ISO.match(value):
        raise InputError(f"{where}: malformed date {value!r} (expected YYYY-MM-DD)")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InputError(f"{where}: invalid date {value!r}") from None


def _read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (undecodable byte at offset {exc.start})") from None
    if not text.strip():
        raise InputError(f"{path}: empty file")
    return text


def _split_date_line(text: str, where: str) -> tuple[dt.date | None, str]:
    """Take the leading ``date YYYY-MM-DD`` off a text; the rest of that line is body text."""
    first, _, rest = text.partition("\n")
    m = _DATE_LINE.match(first)
    if not m:
        return None, text
    date = parse_date(m.group(1), where)
    body = (m.group(2) + "\n" + rest) if m.group(2).strip() else rest
    return date, body


def load_text(path: Path) -> LoadResult:
    text = _read_text(path)
    date, body = _split_date_line(text, str(path))
    return _one(path, body.strip(), date, title="")


def load_markdown(path: Path) -> LoadResult:
    text = _read_text(path)
    date: dt.date | None = None
    title = ""
    if text.lstrip().startswith("---"):
        lines = text.lstrip().split("\n")
        try:
            end = lines.index("---", 1)
        except ValueError:
            raise InputError(f"{path}: front matter opened with '---' is never closed") from None
        for line in lines[1:end]:
            key, _, value = line.partition(":")
            key = key.strip().lower()
            value = value.strip().strip("'\"")
            if key == "date" and value:
                date = parse_date(value, f"{path}: front matter")
            elif key == "title":
                title = value
        body = "\n".join(lines[end + 1 :])
    else:
        date, body = _split_date_line(text, str(path))
    heading = re.match(r"\s*#\s+(.+)", body)
    if heading and not title:
        title = heading.group(1).strip()
    body = re.sub(r"(?m)^#{1,6}\s+", "", body)  # headings stay as text, without their markers
    return _one(path, body.strip(), date, title)


_ENTITY = re.compile(r"&(?:#\d+|#[xX][0-9a-fA-F]+|[A-Za-z]+\d*);")


def clean_text(text: str) -> str:
    """An article's text as a reader sees it: HTML character references that scraped news
    keeps ('M&amp;M’s', '&#8217;') become the characters they stand for, which answers
    quote and names must match. Only complete references (with their ';') are read, so a
    bare '&' stays as it is."""
    return _ENTITY.sub(lambda m: html.unescape(m.group(0)), text).strip()


def _one(path: Path, body: str, date: dt.date | None, title: str) -> LoadResult:
    if not body:
        raise InputError(f"{path}: no article text")
    result = LoadResult([Document(id=path.stem, text=body, date=date, source=str(path), title=title)])
    if date is None:
        result.warnings.append(f"{path}: no 'date YYYY-MM-DD' line; article kept without a date")
    return result


def load_jsonl(path: Path) -> LoadResult:
    text = _read_text(path)
    result = LoadResult()
    seen: set[str] = set()
    for lineno, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            if lineno == text.count("\n") + 1:  # the newline that ends the file
                continue
            raise InputError(f"{path}:{lineno}: empty line")
        where = f"{path}:{lineno}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{where}: invalid JSON ({exc.msg})") from None
        doc = document_from_json(obj, where, default_id=f"{path.stem}-{lineno}", default_source=str(path), clean=False)
        if doc.id in seen:
            raise InputError(f"{where}: duplicate id {doc.id!r}")
        seen.add(doc.id)
        if doc.date is None:
            result.warnings.append(f"{where}: article {doc.id!r} has no date; kept without one")
        result.documents.append(doc)
    if not result.documents:
        raise InputError(f"{path}: no articles")
    return result


def document_from_json(
    obj: object, where: str, default_id: str | None, default_source: str, clean: bool = True
) -> Document:
    """One article from a JSON object ``{"id", "text", "date", "source", "title"}`` (a line
    of a .jsonl file, or an article posted to the server): ``text`` is required, the
    date is strict ISO or absent; text and title go through :func:`clean_text` if ``clean``."""
    if not isinstance(obj, dict):
        raise InputError(f"{where}: expected a JSON object")
    body = obj.get("text")
    if not isinstance(body, str) or not body.strip():
        raise InputError(f"{where}: missing or empty 'text'")
    doc_id = obj.get("id")
    if doc_id is None or doc_id == "":
        if default_id is None:
            raise InputError(f"{where}: missing 'id'")
        doc_id = default_id
    raw_date = obj.get("date")
    title = str(obj.get("title") or "")
    return Document(
        id=str(doc_id),
        text=clean_text(body) if clean else body.strip(),
        date=parse_date(str(raw_date), where) if raw_date not in (None, "") else None,
        source=str(obj.get("source") or default_source),
        title=clean_text(title) if clean else title,
    )


_LOADERS = {".txt": load_text, ".md": load_markdown, ".markdown": load_markdown, ".jsonl": load_jsonl}


def load_paths(paths: list[str | Path], clean: bool = True) -> LoadResult:
    """Load every article under the given files and folders (folders recursively), their
    texts and titles through :func:`clean_text` unless ``clean`` is False (as read).

    Every file is read before anything is refused: :class:`InputErrors` lists each
    unusable path (the first problem of each file). Article ids must be unique across
    the whole input because they name articles in the index.
    """
    if not paths:
        raise InputError("no paths given")
    result = LoadResult()
    files: list[Path] = []
    problems: list[str] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            problems.append(f"{path}: no such file or directory")
        elif path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)
            if not found:
                problems.append(f"{path}: no .txt, .md or .jsonl articles in this folder")
            files.extend(found)
        elif path.suffix.lower() not in SUFFIXES:
            problems.append(f"{path}: unsupported file type {path.suffix!r} (use .txt, .md or .jsonl)")
        else:
            files.append(path)
    owner: dict[str, Path] = {}
    for path in files:
        try:
            part = _LOADERS[path.suffix.lower()](path)
        except InputError as exc:
            problems.append(str(exc))
            continue
        clash = next((doc for doc in part.documents if doc.id in owner), None)
        if clash is not None:
            problems.append(f"{path}: article id {clash.id!r} also comes from {owner[clash.id]}")
            continue
        owner.update((doc.id, path) for doc in part.documents)
        result.documents.extend(
            replace(d, text=clean_text(d.text), title=clean_text(d.title)) if clean else d for d in part.documents
        )
        result.warnings.extend(part.warnings)
    if problems:
        raise InputErrors(problems)
    return result
