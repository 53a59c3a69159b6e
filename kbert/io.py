"""Files: atomic folder writes, versioned JSON metadata, reading text files and tables (errors
name the file and the byte, line or row).

Bottom floor: imports no kbert module above kbert.errors.
"""

import contextlib
import csv
import gzip
import json
import os
import re
import shutil
import tempfile
import zlib
from io import StringIO

import numpy as np

from kbert.errors import DataError


@contextlib.contextmanager
def atomic_folder(folder):
    """Writes a folder atomically: yields a temporary folder beside `folder`; when the block
    ends without an error it replaces `folder` (an existing one is only removed once the
    new one is in place); on an error the temporary folder is removed.

    Example:
    >>> import os, tempfile
    >>> target = os.path.join(tempfile.mkdtemp(), "out")
    >>> with atomic_folder(target) as tmp:
    ...     open(os.path.join(tmp, "a.txt"), "w").close()
    >>> os.listdir(target)
    ['a.txt']
    """
    folder = os.path.abspath(os.fspath(folder))
    parent = os.path.dirname(folder)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(folder)}.tmp-", dir=parent)
    try:
        yield tmp
        replace_folder(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def replace_folder(tmp, folder):
    """Renames tmp → folder; an existing folder is moved aside first and removed after."""
    old = None
    if os.path.exists(folder):
        if not os.path.isdir(folder):
            raise FileExistsError(f"{folder!r} exists and is not a folder.")
        old = tempfile.mkdtemp(prefix=f".{os.path.basename(folder)}.old-", dir=os.path.dirname(folder))
        os.rmdir(old)
        os.rename(folder, old)
    try:
        os.rename(tmp, folder)
    except BaseException:
        if old is not None:
            os.rename(old, folder)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def json_default(v):
    """json.dump's `default=` for numpy scalars."""
    if isinstance(v, np.generic):
        return v.item()
    raise TypeError(f"{type(v).__name__} is not JSON serialisable")


def write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, default=json_default)


def read_metadata(path, what, error=DataError):
    """Reads a JSON metadata file; `error` (naming `what` and the file) when missing or not JSON."""
    if not os.path.exists(path):
        raise error(f"{what}: {os.path.basename(path)} is missing ({path!r}).")
    try:
        with open(path, encoding="utf-8") as f:
            meta = json.load(f)
    except (OSError, ValueError) as e:
        raise error(f"{what}: {path!r} is not readable JSON: {e}") from e
    if not isinstance(meta, dict):
        raise error(f"{what}: {path!r} holds a JSON {type(meta).__name__}, not an object.")
    return meta


def check_format_version(meta, expected, what, error=DataError):
    """Raises `error` when meta's "format_version" is not `expected`, saying who wrote it."""
    version = meta.get("format_version")
    if version != expected:
        raise error(
            f"{what} has format version {version!r} (written by kbert {meta.get('kbert_version', '?')}); "
            f"this kbert reads format {expected}. Load it with a matching kbert version, or save it again.")


def decode_text(raw, path, encoding="utf-8", to="", advice=None):
    """Bytes → str; on bytes that are not valid `encoding`, a DataError naming the file, the
    byte offset, its line and column, and what to do: pass the encoding `to` (e.g.
    " to read_conll"), or `advice` when given."""
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        column = e.start - (raw.rfind(b"\n", 0, e.start) + 1) + 1
        advice = advice or (f"The file is in another encoding: pass it{to} as encoding=…, e.g. encoding='latin-1' "
                            "or 'cp1252'.")
        raise DataError(f"{path}: byte offset {e.start} (line {line}, byte {column} of the line) is not valid "
                        f"{encoding} text: {raw[e.start:e.end]!r} ({e.reason}). {advice}") from None


def gzip_error(path, error, where=""):
    """The DataError for a .gz file that is not gzip, truncated or damaged (`where`: e.g.
    ", after line 12 of its text")."""
    path = os.fspath(path)
    if isinstance(error, gzip.BadGzipFile) and str(error).startswith("Not a gzipped file"):
        with open(path, "rb") as f:
            head = f.read(16)
        return DataError(f"{path}: not a gzip file, though its name ends in .gz (it starts with {head!r}). "
                         "Rename it without .gz if it is plain text, or compress it with gzip.")
    if isinstance(error, EOFError):
        return DataError(f"{path}: the gzip file is truncated: its compressed data ends early{where}. Copy or "
                         f"download it again (`gzip -t {path}` checks a file).")
    return DataError(f"{path}: the gzip data is damaged{where} ({error}). Copy or download it again "
                     f"(`gzip -t {path}` checks a file).")


GZIP_ERRORS = (OSError, EOFError, zlib.error)


def read_bytes(path):
    """A file's bytes; a `.gz` file is decompressed (a damaged one is a DataError naming it)."""
    path = os.fspath(path)
    if not path.endswith(".gz"):
        with open(path, "rb") as f:
            return f.read()
    try:
        with gzip.open(path, "rb") as f:
            return f.read()
    except GZIP_ERRORS as e:
        raise gzip_error(path, e) from None


def read_text(path, encoding="utf-8", to="", advice=None):
    """A text file (or `.gz`) as one string; errors name the file (see decode_text)."""
    return decode_text(read_bytes(path), os.fspath(path), encoding, to, advice)


def read_text_lines(path, encoding="utf-8"):
    """A text file's lines without their line ends (a final empty line dropped)."""
    lines = read_text(path, encoding).split("\n")
    if lines and lines[-1] == "":
        lines = lines[:-1]
    return lines


# ------------------------------------------------------------------------------ tables


def read_table(path, sep=None, encoding="utf-8", quoting=None):
    """A CSV (or ;/tab/|-separated) file → DataFrame, with its texts exactly as in the file.

    The separator is sniffed unless given. CSV quoting (a field in "…", inner quotes
    doubled) is followed when every field that starts with a quote is such a field;
    otherwise (texts like `"stop" she said;anger`, common in ;-separated files) the file
    is read without quoting, quotes are kept in the texts, and a note says so. When some
    texts of a column are in quotes that CSV does not need and others are not (`"stop";anger`
    beside `go away;anger`), a note counts them: their quotes are removed, as CSV says, unless
    `quoting=csv.QUOTE_NONE` is given. Only empty
    fields are missing values: "NA", "null" or "None" stay texts; a column of numbers with
    a leading zero ("007", "01") stays strings, as in the file. A row whose number of
    fields differs from the header's, a repeated column name or bytes that are not valid
    `encoding` are errors naming the file and line; blank lines between rows are skipped
    and counted.

    Args:
        path: the file.
        sep: the separator (None: sniffed from the first 64 KB among , ; tab |).
        encoding: the file's text encoding.
        quoting: None (decided as above), or a `csv` quoting constant to impose
            (csv.QUOTE_NONE: quotes are ordinary characters).

    Returns:
        A pandas DataFrame.

    Example:
    >>> # df = read_table("../shared/datasets/emotion/train.txt")   # text;label_name
    """
    import pandas as pd

    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"File {path!r} does not exist.")
    text = read_text(path, encoding, to=" to texts_from_csv or read_table")
    text = text.removeprefix("\ufeff")  # a byte-order mark is not part of the first column's name
    if not text.strip():
        raise DataError(f"{path}: the file is empty.")
    if sep is None:
        sep = sniff_separator(text)
    csv.field_size_limit(max(csv.field_size_limit(), len(text) + 1))
    bad_quote = None
    try:
        if quoting is None:
            try:
                quoting = csv.QUOTE_MINIMAL
                rows, blank = table_rows(text, sep, quoting)
            except csv.Error as e:
                # a field starts with a quote but is no CSV-quoted field: the file has no quoting convention
                quoting, bad_quote = csv.QUOTE_NONE, e
                rows, blank = table_rows(text, sep, quoting)
        else:
            rows, blank = table_rows(text, sep, quoting)
    except csv.Error as e:
        raise DataError(f"{path}, line {e.line}: not readable as a table ({e}): {e.text!r}") from None
    check_fields(rows, path, sep, quoting)
    try:
        df = pd.read_csv(StringIO(text, newline=""), sep=sep, quoting=quoting, keep_default_na=False,
                         na_values=[""], low_memory=False)
    except Exception as e:
        raise DataError(f"Could not read {path!r} as a table with separator {sep!r}: {e}") from e
    df = check_texts(df, rows, path)
    if bad_quote is not None:
        starts = sum(field.startswith('"') for _, row in rows[1:] for field in row)
        print(f"kbert: {path}: line {bad_quote.line} has a field that starts with a quote but is not a CSV-quoted "
              f"field ({bad_quote.text!r}); the file is read without CSV quoting, so quote characters stay in the "
              f"texts as in the file ({starts} fields start with a quote).")
    elif quoting == csv.QUOTE_MINIMAL and '"' in text:
        needless, line = needless_quotes(text, sep, rows)
        if needless:
            print(f"kbert: {path}: {needless} texts are in quotes that CSV does not need (no separator, quote or "
                  f"line break inside) while other texts of their column are not, e.g. line {line}: "
                  f"{text_line(text, line)!r}; CSV quoting removes those quotes. If the quotes belong to the texts, "
                  "read the file with kbert.io.read_table(path, quoting=csv.QUOTE_NONE).")
    if blank:
        shown = ", ".join(str(b) for b in blank[:10]) + (", …" if len(blank) > 10 else "")
        print(f"kbert: {path}: skipped {len(blank)} blank lines between rows (lines {shown}).")
    return df


def sniff_separator(text, candidates=",;\t|"):
    """csv.Sniffer's guess on the first 64 KB when the header holds it; else the candidate the
    header holds most often (the sniffer gives up on rows that disagree); else ","."""
    header = text[: text.find("\n")] if "\n" in text else text
    try:
        sep = csv.Sniffer().sniff(text[: 64 * 1024], delimiters=candidates).delimiter
        if sep in header:
            return sep
    except csv.Error:
        pass
    counts = {c: header.count(c) for c in candidates}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


class QuoteError(csv.Error):
    def __init__(self, message, line, text):
        super().__init__(message)
        self.line, self.text = line, text


def table_rows(text, sep, quoting):
    """[(first line, fields)] of the table's rows (csv module; strict about quotes) and the
    line numbers of blank lines that have rows after them."""
    reader = csv.reader(StringIO(text, newline=""), delimiter=sep, quoting=quoting,
                        strict=quoting != csv.QUOTE_NONE)
    rows, blank, line = [], [], 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            raise QuoteError(str(e), line, text_line(text, line)) from None
        if row:
            rows.append((line, row))
        else:
            blank.append(line)
        line = reader.line_num + 1
    last = rows[-1][0] if rows else 0
    return rows, [b for b in blank if b < last]


def needless_quotes(text, sep, rows):
    """(count, first line) of fields in quotes CSV does not need, in columns where other
    non-empty fields are unquoted (a writer that quotes every text is not counted)."""
    plain = {line: row for line, row in table_rows(text, sep, csv.QUOTE_NONE)[0]}
    needless, unquoted = {}, set()
    for line, row in rows[1:]:
        raw = plain.get(line)
        if raw is None or len(raw) != len(row) or any("\n" in f or "\r" in f for f in row):
            continue  # a record over several lines, or with the separator inside quotes: quoting is needed
        for j, (field, raw_field) in enumerate(zip(row, raw)):
            if raw_field.startswith('"') and raw_field != field:
                if sep not in field and '"' not in field:
                    needless.setdefault(j, []).append(line)
            elif field:
                unquoted.add(j)
    lines = sorted(line for j, ls in needless.items() if j in unquoted for line in ls)
    return len(lines), (lines[0] if lines else None)


def text_line(text, n):
    """Line n (1-based) of text, cut to 200 characters."""
    start = 0
    for _ in range(n - 1):
        start = text.find("\n", start) + 1
        if start == 0:
            return ""
    end = text.find("\n", start)
    return text[start:end if end >= 0 else len(text)].rstrip("\r")[:200]


def check_fields(rows, path, sep, quoting):
    header = rows[0][1]
    repeated = sorted({c for c in header if header.count(c) > 1})
    if repeated:
        raise DataError(f"{path}: the header names columns {repeated} more than once; give every column its own name.")
    bad = [(line, len(row)) for line, row in rows[1:] if len(row) != len(header)]
    if bad:
        shown = ", ".join(f"line {line} has {n}" for line, n in bad[:5])
        how = ("quote a text that holds the separator (\"…\", inner quotes doubled)" if quoting != csv.QUOTE_NONE
               else "the file has fields starting with a quote that are not CSV-quoted, so it is read without "
                    "quoting: a text may not hold the separator")
        raise DataError(f"{path}: {len(bad)} rows do not have the header's {len(header)} fields (separator {sep!r}): "
                        f"{shown}{', …' if len(bad) > 5 else ''}. Fix those lines ({how}), or pass sep= if {sep!r} "
                        "is not the separator.")


LEADING_ZERO = re.compile(r"\s*[+-]?0\d")


def check_texts(df, rows, path):
    """pandas' rows must be the csv module's rows, text for text: no row merged, split or
    changed. A numeric column with a leading zero ("007", "01") holds codes, not numbers:
    it is kept as the file's strings, so "01" and "1" stay apart."""
    import pandas as pd

    if len(df) != len(rows) - 1:
        raise DataError(f"{path}: pandas read {len(df)} rows where the file holds {len(rows) - 1}; "
                        "please report this file to kbert.")
    for j, column in enumerate(df.columns):
        if pd.api.types.is_bool_dtype(df[column]):
            continue
        if pd.api.types.is_numeric_dtype(df[column]):
            fields = [row[j] for _, row in rows[1:]]
            if any(LEADING_ZERO.match(f) for f in fields):
                df[column] = pd.Series([f if f != "" else np.nan for f in fields], index=df.index, dtype=object)
            continue
        for (line, row), value in zip(rows[1:], df[column].tolist()):
            # a text must be the file's field; NaN only for an empty one (other types: bools with NaN)
            if (value != row[j] if isinstance(value, str) else value != value and row[j] != ""):
                raise DataError(f"{path}, line {line}, column {column!r}: read as {value!r} where the file holds "
                                f"{row[j]!r}; please report this file to kbert.")
    return df
