"""Chunked CSV reading shared by the text-based readers, with errors that name the file line.

PyArrow's streaming CSV reader keeps memory bounded (one block at a time) and is multi-threaded;
its errors carry no line numbers, so on failure the file is re-scanned once with the standard
library to find and name the first offending line.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import polars as pl
import pyarrow as pa
import pyarrow.csv as pacsv

from bmts.schema import DataError, Issue

BLOCK_BYTES = 8 << 20  # PyArrow reads a few dozen blocks ahead: this bounds peak memory (docs/benchmarks.md)


def is_gzip(head: bytes) -> bool:
    return head[:2] == b"\x1f\x8b"


def guess_encoding(head: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 by its BOM, else Windows-1252 (lab PCs' legacy exports)."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    try:
        head[: max(len(head) - 3, 0)].decode("utf-8")  # the block may end inside a character
        return "utf-8"
    except UnicodeDecodeError:
        return "cp1252"


def _plain_head(path: Path, head: bytes, size: int) -> bytes:
    if is_gzip(head):
        try:
            with gzip.open(path, "rb") as fh:
                return fh.read(size)
        except (OSError, EOFError):
            return b""
    return head


def open_text_head(path: Path, head: bytes, size: int = 64 * 1024) -> str:
    """The first `size` bytes of a (possibly gzipped) text file, decoded in its own encoding."""
    plain = _plain_head(path, head, size)
    return plain.decode(guess_encoding(plain), errors="replace")


def file_encoding(path: Path) -> str:
    with _open_binary(path) as raw:
        return guess_encoding(raw.read(64 * 1024))


def _open_binary(path: Path) -> IO[bytes]:
    with open(path, "rb") as fh:
        magic = fh.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")


def header_fields(
    path: Path, skip_rows: int = 0, delimiter: str = ",", encoding: str | None = None
) -> list[str]:
    """The column names on the header line (after `skip_rows` lines)."""
    with _open_binary(path) as raw:
        text = io.TextIOWrapper(raw, encoding=encoding or file_encoding(path), errors="replace", newline="")
        for _ in range(skip_rows):
            text.readline()
        line = text.readline()
    return next(csv.reader([line], delimiter=delimiter), [])


def _locate_error(path: Path, skip_rows: int, delimiter: str, numeric: set[str], encoding: str) -> Issue:
    """Re-scan the file to name the first line that the fast reader refused."""
    with _open_binary(path) as raw:
        text = io.TextIOWrapper(raw, encoding=encoding, errors="strict", newline="")
        try:
            for _ in range(skip_rows):
                text.readline()
            rows = csv.reader(text, delimiter=delimiter)
            header = next(rows, [])
            line = skip_rows + 1
            for fields in rows:
                line += 1
                if not fields:
                    continue
                if len(fields) != len(header):
                    return Issue(
                        str(path),
                        f"expected {len(header)} fields, found {len(fields)}"
                        + (" (truncated file?)" if len(fields) < len(header) else ""),
                        row=line,
                    )
                for name, value in zip(header, fields, strict=True):
                    if name in numeric and value.strip():
                        try:
                            float(value)
                        except ValueError:
                            return Issue(str(path), f"not a number: {value[:30]!r}", row=line, column=name)
        except UnicodeDecodeError as e:
            return Issue(str(path), f"not UTF-8 text ({e.reason})")
        except csv.Error as e:
            return Issue(str(path), f"malformed CSV: {e}")
    return Issue(str(path), "unreadable CSV")


def iter_csv(
    path: Path,
    numeric: set[str],
    skip_rows: int = 0,
    delimiter: str = ",",
    block_bytes: int = BLOCK_BYTES,
) -> Iterator[tuple[pl.DataFrame, int]]:
    """Yield (frame, file line of its first row) blocks of a CSV whose `numeric` columns are float64.

    Plain UTF-8 files go through Polars' streaming CSV reader (the fastest here); gzip and other
    encodings through PyArrow's, which decompresses and transcodes on the fly. Either way memory stays
    bounded and a malformed line is named.
    """
    encoding = file_encoding(path)
    header = header_fields(path, skip_rows, delimiter, encoding)
    numeric_fields = {n for n in header if n in numeric}
    with open(path, "rb") as fh:
        plain_utf8 = not is_gzip(fh.read(2)) and encoding == "utf-8"
    try:
        if plain_utf8:
            _check_field_counts(path, header, skip_rows, delimiter, numeric_fields)
            yield from _polars_blocks(path, header, numeric, skip_rows, delimiter, block_bytes)
        else:
            yield from _pyarrow_blocks(path, numeric_fields, skip_rows, delimiter, block_bytes, encoding)
    except (pa.ArrowInvalid, pl.exceptions.PolarsError, UnicodeDecodeError, OSError, EOFError) as e:
        issue = _locate_error(path, skip_rows, delimiter, numeric_fields, encoding)
        if issue.message == "unreadable CSV":
            issue = Issue(str(path), f"unreadable CSV: {str(e).splitlines()[0][:120]}")
        raise DataError(issue) from None


def _polars_blocks(
    path: Path, header: list[str], numeric: set[str], skip_rows: int, delimiter: str, block_bytes: int
) -> Iterator[tuple[pl.DataFrame, int]]:
    schema = {name: (pl.Float64 if name in numeric else pl.String) for name in header}
    frame = pl.scan_csv(
        path, skip_rows=skip_rows, separator=delimiter, schema=schema, has_header=True, encoding="utf8"
    )
    line = skip_rows + 2
    rows = max(block_bytes // 40, 10_000)  # ~40 bytes per line of a typical cycler export
    for batch in frame.collect_batches(chunk_size=rows):
        yield batch, line
        line += batch.height


def _pyarrow_blocks(
    path: Path, numeric_fields: set[str], skip_rows: int, delimiter: str, block_bytes: int, encoding: str
) -> Iterator[tuple[pl.DataFrame, int]]:
    types = {name: pa.float64() for name in numeric_fields}
    if encoding == "utf-8-sig":
        encoding = "utf-8"  # PyArrow drops a UTF-8 BOM by itself
    line = skip_rows + 2
    with _open_binary(path) as raw:
        reader = pacsv.open_csv(
            raw,
            read_options=pacsv.ReadOptions(skip_rows=skip_rows, block_size=block_bytes, encoding=encoding),
            parse_options=pacsv.ParseOptions(delimiter=delimiter),
            convert_options=pacsv.ConvertOptions(column_types=types, strings_can_be_null=True),
        )
        for batch in reader:
            frame = pl.from_arrow(batch)
            assert isinstance(frame, pl.DataFrame)
            yield frame, line
            line += batch.num_rows


def _check_field_counts(
    path: Path, header: list[str], skip_rows: int, delimiter: str, numeric_fields: set[str]
) -> None:
    """Polars reads a line with too few fields as trailing nulls; refuse such lines (a truncated or
    corrupt file) by checking that the file holds exactly (fields - 1) delimiters per data line.
    Counting bytes is fast; only when the count is off is the file scanned line by line."""
    separator, newline = delimiter.encode(), b"\n"
    delimiters = lines = 0
    last = b""
    with open(path, "rb") as fh:
        for _ in range(skip_rows + 1):
            fh.readline()
        for block in iter(lambda: fh.read(1 << 24), b""):
            delimiters += block.count(separator)
            lines += block.count(newline)
            last = block[-1:]
    if last and last != newline:
        lines += 1  # a last line without a line break
    if delimiters != (len(header) - 1) * lines:
        issue = _locate_error(path, skip_rows, delimiter, numeric_fields, "utf-8")
        if issue.message != "unreadable CSV":
            raise DataError(issue)
