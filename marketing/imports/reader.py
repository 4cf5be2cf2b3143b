"""Decoding and parsing of an uploaded CSV file, and of the values in its cells.

Problems with the file as a whole (too large, not text, no header) raise a ValidationError on ``file``;
problems with one row (wrong number of cells, broken quotes, an oversized cell) are yielded as a
``RowError`` in its place and parsing goes on with the next row. Row numbers are the ones a spreadsheet
shows: the header is row 1, blank rows count.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.utils.dateparse import parse_datetime

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_COLUMNS = 200
MAX_CELL_CHARS = 32_767  # Excel's own limit for one cell
DELIMITERS = (",", ";", "\t")
_WORKBOOK_MAGIC = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0")  # .xlsx (zip) and .xls (OLE)


@dataclass(frozen=True)
class RowError:
    row: int
    field: str
    message: str


@dataclass(frozen=True)
class Row:
    number: int
    cells: tuple[str, ...]


def _file_error(message: str) -> ValidationError:
    return ValidationError({"file": [message]})


def decode(data: bytes) -> tuple[str, str]:
    """(text, encoding): UTF-8 with or without a BOM, else Windows-1252 (Excel's "CSV" on Windows);
    UTF-16 when it starts with its BOM (Excel's "Unicode text")."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            raise _file_error("The file starts like UTF-16 text but is not.") from exc
    if data.startswith(_WORKBOOK_MAGIC):
        raise _file_error("This is a spreadsheet workbook, not a CSV file. Save it as CSV and upload that.")
    if b"\x00" in data[:65536]:
        raise _file_error("This is not a text file. Upload a CSV file.")
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError as exc:
        raise _file_error("The file is neither UTF-8 nor Windows-1252 text. Save it as CSV UTF-8.") from exc


def sniff_delimiter(line: str) -> str:
    """The delimiter among comma, semicolon and tab that splits the header line into most columns."""

    def width(delimiter: str) -> int:
        try:
            return len(next(csv.reader([line], delimiter=delimiter)))
        except (csv.Error, StopIteration):
            return 0

    return max(DELIMITERS, key=width)  # a tie keeps the comma


def _quoting_message(delimiter: str) -> str:
    name = {",": "comma", ";": "semicolon", "\t": "tab"}[delimiter]
    return (
        "The quotes in this row are broken: a cell that contains a "
        f"{name}, a double quote or a line break must be enclosed in double quotes, "
        "and each double quote inside it doubled."
    )


def _records(lines: list[str], start: int, delimiter: str, width: int | None) -> Iterator[list[str] | None]:
    """Records from ``lines[start:]``; None in place of a record broken by its quotes.

    An unclosed quote swallows the lines after it into one cell. So a record that spans several lines
    and still has the wrong number of cells is taken as broken too, and reading starts again at the line
    after its first one: one bad quote costs one row, not the rest of the file.
    """
    position = start
    while position < len(lines):
        source = map(lines.__getitem__, range(position, len(lines)))
        reader = csv.reader(source, delimiter=delimiter, strict=True)
        while True:
            consumed = reader.line_num
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error:
                broken = True
            else:
                broken = reader.line_num - consumed > 1 and width is not None and len(cells) != width
            if broken:
                yield None
                position += consumed + 1
                break
            yield cells


def _is_blank(cells: list[str]) -> bool:
    return not any(cell.strip() for cell in cells)


@dataclass
class CsvFile:
    """A decoded CSV file: its header, and its rows on demand (as often as needed, in constant extra
    memory beyond the decoded text)."""

    header: list[str]
    encoding: str
    delimiter: str
    lines: list[str]
    data_start: int  # index in ``lines`` of the first line after the header
    header_row: int  # spreadsheet row number of the header

    def rows(self) -> Iterator[Row | RowError]:
        width = len(self.header)
        number = self.header_row
        for cells in _records(self.lines, self.data_start, self.delimiter, width):
            number += 1
            if cells is None:
                yield RowError(number, "", _quoting_message(self.delimiter))
            elif not _is_blank(cells):
                yield self._row(number, cells, width)

    def _row(self, number: int, cells: list[str], width: int) -> Row | RowError:
        if len(cells) > width and _is_blank(cells[width:]):
            cells = cells[:width]  # trailing empty cells, as some spreadsheets write them
        if len(cells) != width:
            return RowError(
                number, "", f"This row has {len(cells)} cells, but the header has {width} columns."
            )
        for column, cell in zip(self.header, cells, strict=True):
            if len(cell) > MAX_CELL_CHARS:
                return RowError(number, column, f"This cell is longer than {MAX_CELL_CHARS:,} characters.")
        return Row(number, tuple(cells))

    def count(self) -> int:
        """The number of rows that are not blank, good and bad."""
        return sum(1 for _ in self.rows())


def read_csv(data: bytes) -> CsvFile:
    """Decode and check ``data``; raise ValidationError on ``file`` when it cannot be imported at all."""
    if not data:
        raise _file_error("The file is empty.")
    if len(data) > MAX_FILE_BYTES:
        raise _file_error(
            f"The file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB. Split it into parts."
        )
    text, encoding = decode(data)
    lines = list(io.StringIO(text, newline=""))
    del text
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        raise _file_error("The file is empty.")
    delimiter = sniff_delimiter(lines[first])
    reader = csv.reader(map(lines.__getitem__, range(first, len(lines))), delimiter=delimiter, strict=True)
    try:
        header = [cell.strip() for cell in next(reader)]
    except csv.Error as exc:
        raise _file_error("The first row, with the column names, has broken quotes.") from exc
    if len(header) > MAX_COLUMNS:
        raise _file_error(f"The file has {len(header)} columns; at most {MAX_COLUMNS} can be imported.")
    if any(len(name) > 200 for name in header):
        raise _file_error("A column name is longer than 200 characters. Is the first row the header?")
    return CsvFile(
        header=header,
        encoding=encoding,
        delimiter=delimiter,
        lines=lines,
        data_start=first + reader.line_num,
        header_row=first + 1,
    )


# --- Cell values ---------------------------------------------------------------------------------

_TRUE = frozenset({"true", "yes", "y", "1", "x", "on", "checked", "t"})
_FALSE = frozenset({"false", "no", "n", "0", "off", "unchecked", "f"})
_UNIT_EDGES = re.compile(r"^[^\d+\-.,]+|[^\d.,]+$")
_SPACES = re.compile(r"[\s\u00a0\u202f']")
_THOUSANDS_COMMA = re.compile(r"[+-]?\d{1,3}(,\d{3})+")
_THOUSANDS_DOT = re.compile(r"[+-]?\d{1,3}(\.\d{3}){2,}")
_SLASHED_ISO_DAY = re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})")
_MULTIPLIERS = {"k": Decimal(10**3), "m": Decimal(10**6), "mm": Decimal(10**6), "b": Decimal(10**9),
                "bn": Decimal(10**9)}  # fmt: skip


def comparable(text: str) -> str:
    """Lower-case letters and digits only, for matching values such as "C-Level" or "Paid Search"."""
    return "".join(ch for ch in text.casefold() if ch.isalnum())


def parse_bool(text: str) -> bool | None:
    """True or False from the usual spellings; None when the text is neither."""
    value = text.strip().casefold()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    return None


def parse_choice(
    choices: Iterable[tuple[str, str]], text: str, synonyms: dict[str, str] | None = None
) -> str | None:
    """The value of the choice whose value or label matches ``text``, ignoring case and punctuation."""
    wanted = comparable(text)
    for value, label in choices:
        if wanted in (comparable(value), comparable(str(label))):
            return value
    return (synonyms or {}).get(wanted)


def normalise_number(text: str) -> str:
    """A number as Python reads it, from the ways spreadsheets write it: currency signs and codes around
    it, spaces or apostrophes between thousands, and a decimal comma ("1.250,50 EUR" -> "1250.50").
    Text that is no number comes back unchanged, for the caller's own error message."""
    value = _UNIT_EDGES.sub("", _SPACES.sub("", text))
    if not value:
        return text.strip()
    if "," in value and "." in value:
        decimal_mark = "," if value.rfind(",") > value.rfind(".") else "."
        grouping = "." if decimal_mark == "," else ","
        value = value.replace(grouping, "").replace(decimal_mark, ".")
    elif "," in value:
        value = value.replace(",", "") if _THOUSANDS_COMMA.fullmatch(value) else value.replace(",", ".")
    elif _THOUSANDS_DOT.fullmatch(value):
        value = value.replace(".", "")
    try:
        Decimal(value)
    except InvalidOperation:
        return text.strip()
    return value


def parse_quantity(text: str) -> Decimal | None:
    """A number with an optional k / m / bn suffix ("$2.5M" -> 2500000); None when it is not one."""
    value = text.strip().casefold()
    multiplier = Decimal(1)
    for suffix in sorted(_MULTIPLIERS, key=len, reverse=True):
        if value.endswith(suffix) and value[: -len(suffix)].strip()[-1:].isdigit():
            multiplier, value = _MULTIPLIERS[suffix], value[: -len(suffix)]
            break
    try:
        number = Decimal(normalise_number(value))
    except InvalidOperation:
        return None
    return number * multiplier if number.is_finite() else None


def normalise_day(text: str) -> str:
    """An ISO day (YYYY-MM-DD) from an ISO day, an ISO date and time, or YYYY/MM/DD; anything else
    unchanged, so that the service reports it. Ambiguous forms such as 03/04/2026 are not guessed."""
    value = text.strip()
    slashed = _SLASHED_ISO_DAY.fullmatch(value)
    if slashed:
        year, month, day = slashed.groups()
        return f"{year}-{int(month):02d}-{int(day):02d}"
    if len(value) > 10:
        try:
            moment = parse_datetime(value)
        except ValueError:
            moment = None
        if moment is not None:
            return moment.date().isoformat()
    return value
