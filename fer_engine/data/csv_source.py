"""Read the Kaggle `fer2013.csv` (emotion,pixels,Usage) and its `icml_face_data.csv` variant (emotion, Usage, pixels).

Rows are numbered from 1 after the header (row N is file line N + 1). A CSV without a Usage column (the
challenge's train.csv) is all train. Keys are `row000001`, ... so sorting by key keeps the file order.
The table is read by pyarrow (every column as text, so a bad cell is a row error, not a file error) and each
pixel string by numpy: about 2-4 s for the 35,887 rows of fer2013.csv.
"""

from __future__ import annotations

import csv
import re
from typing import IO

import numpy as np

from fer_engine.classes import FER_CLASS_NAMES, USAGE_TO_SPLIT
from fer_engine.data.bad_items import BadItemPolicy
from fer_engine.data.preprocess import FER_IMAGE_SIZE
from fer_engine.data.raw_images import RawImages
from fer_engine.errors import DataError

PIXELS_PER_IMAGE = FER_IMAGE_SIZE * FER_IMAGE_SIZE
_MAX_HEADER_BYTES = 64 * 1024  # the header line is read alone first; a file without line breaks is not read whole


def read_fer_csv(handle: IO[bytes] | str, name: str, policy: BadItemPolicy) -> RawImages:
    """Parse a FER CSV (path or binary file object) named `name` in messages; bad rows go to `policy`."""
    table = _read_table(handle, name)
    columns = {column.strip().lower(): column for column in table}
    missing = [column for column in ("emotion", "pixels") if column not in columns]
    if missing:
        raise DataError(  # the header itself is never echoed: the file may be anything
            f"{name} has no {' and no '.join(missing)} column ({len(table)} column(s) found); a FER CSV needs "
            "emotion and pixels (and usually Usage): "
            "fer2013.csv is 'emotion,pixels,Usage', icml_face_data.csv is 'emotion, Usage, pixels'"
        )
    n_rows = len(table[columns["emotion"]])
    if n_rows == 0:
        raise DataError(f"{name} has a header but no rows")
    source_format = "icml-csv" if list(columns)[:2] == ["emotion", "usage"] else "fer2013-csv"
    emotions = [value.strip() for value in table[columns["emotion"]]]
    pixel_strings = table[columns["pixels"]]
    usages = [value.strip() for value in table[columns["usage"]]] if "usage" in columns else None
    width = max(6, len(str(n_rows)))

    images = np.empty((n_rows, FER_IMAGE_SIZE, FER_IMAGE_SIZE), dtype=np.uint8)
    labels = np.empty(n_rows, dtype=np.int64)
    splits = np.empty(n_rows, dtype=object)
    kept = np.zeros(n_rows, dtype=bool)
    valid_labels = {str(index): index for index in range(len(FER_CLASS_NAMES))}
    for index in range(n_rows):
        where = f"{name} row {index + 1}"
        label = valid_labels.get(emotions[index])
        if label is None:
            policy.report(where, f"emotion {_cell(emotions[index])} is not a class id 0-{len(FER_CLASS_NAMES) - 1}")
            continue
        split = "train" if usages is None else USAGE_TO_SPLIT.get(usages[index])
        if split is None and usages is not None:  # only a Usage column can name an unknown split
            policy.report(where, f"Usage {_cell(usages[index])} is not one of {', '.join(USAGE_TO_SPLIT)}")
            continue
        pixels, problem = _parse_pixels(pixel_strings[index])
        if problem:
            policy.report(where, problem)
            continue
        images[index] = pixels.reshape(FER_IMAGE_SIZE, FER_IMAGE_SIZE)
        labels[index], splits[index], kept[index] = label, split, True
    if not kept.any():
        raise DataError(f"no usable rows in {name} ({len(policy.skipped)} skipped)")
    rows = np.flatnonzero(kept)
    return RawImages(
        images=images[rows],
        labels=labels[rows],
        keys=np.array([f"row{row + 1:0{width}d}" for row in rows], dtype=str),
        split_names=splits[rows].astype(str),
        class_names=FER_CLASS_NAMES,
        source_format=source_format,
    )


def _read_table(handle: IO[bytes] | str, name: str) -> dict[str, list[str]]:
    """Column name -> cell strings ('' for empty cells), parsed by pyarrow's multi-threaded CSV reader."""
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    header = _header_names(handle)
    # Every column as text: inferred types would turn one bad cell deep in the file into a whole-file error.
    options = pa_csv.ConvertOptions(column_types={column: pa.string() for column in header}, strings_can_be_null=False)
    try:
        table = pa_csv.read_csv(handle, convert_options=options)
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise DataError(f"{name}: not a readable CSV ({_parse_problem(exc)})") from exc
    return {
        column: table[column].cast(pa.string()).fill_null("").to_pylist()
        for column in table.column_names
    }


def _header_names(handle: IO[bytes] | str) -> list[str]:
    """Column names of the CSV's first line (the stream is rewound afterwards)."""
    if isinstance(handle, str):
        with open(handle, "rb") as file:
            first = file.readline(_MAX_HEADER_BYTES)
    else:
        first = handle.readline(_MAX_HEADER_BYTES)
        handle.seek(0)
    text = first.decode("utf-8-sig", errors="replace").strip("\r\n")
    return next(csv.reader([text]), []) if text else []


def _parse_pixels(text: str) -> tuple[np.ndarray, str]:
    """(pixels as uint8, "") or (empty, why the pixel string is not 2,304 integers 0-255)."""
    try:
        values = np.fromstring(text, dtype=np.int64, sep=" ")
    except ValueError:
        bad = next((token for token in text.split() if not token.lstrip("-").isdigit()), "?")
        return np.empty(0, np.uint8), f"pixel value {_cell(bad)} is not an integer"
    if values.size != PIXELS_PER_IMAGE:
        return np.empty(0, np.uint8), f"{values.size:,} pixels, expected {PIXELS_PER_IMAGE:,}"
    if values.min() < 0 or values.max() > 255:
        return np.empty(0, np.uint8), f"pixel values span {values.min()}..{values.max()}, expected 0..255"
    return values.astype(np.uint8), ""


_ROW_SHAPE = re.compile(r"Expected \d+ columns, got \d+")
MAX_CELL_CHARS = 16


def _parse_problem(exc: Exception) -> str:
    """What is wrong with the CSV, without the row text pyarrow quotes (it may be any file's contents)."""
    if isinstance(exc, UnicodeDecodeError):
        return "text is not UTF-8"
    shape = _ROW_SHAPE.search(str(exc))
    return f"a row has the wrong number of columns: {shape.group(0).lower()}" if shape else "malformed CSV text"


def _cell(value: str) -> str:
    """A cell of a FER CSV quoted in a row error: printable characters only, at most 16 of them."""
    printable = "".join(char if char.isprintable() else "?" for char in value[: MAX_CELL_CHARS + 1])
    return f"'{printable[:MAX_CELL_CHARS]}{'...' if len(printable) > MAX_CELL_CHARS else ''}'"
