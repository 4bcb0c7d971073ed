"""`load_dataset`: any published FER2013 form (or another `<class>/<image>` dataset) -> one cached FerDataset."""

from __future__ import annotations

import logging
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from fer_engine.data.bad_items import BadItemPolicy
from fer_engine.data.cache import cache_file, load_cached, save_cached
from fer_engine.data.csv_source import read_fer_csv
from fer_engine.data.dataset import FerDataset
from fer_engine.data.fingerprint import file_fingerprint, folder_fingerprint
from fer_engine.data.image_tree import ImageTree, read_image_tree
from fer_engine.data.limits import DataLimits, data_limits
from fer_engine.data.preprocess import IMAGE_EXTENSIONS
from fer_engine.data.raw_images import RawImages
from fer_engine.data.source_checks import FolderFile, check_file_size, check_zip, source_kind, walk_folder
from fer_engine.data.splits import draw_validation_split, group_splits
from fer_engine.errors import ConfigError, DataError

log = logging.getLogger(__name__)

ACCEPTED_FORMS = (
    "accepted forms: a FER2013 CSV (fer2013.csv 'emotion,pixels,Usage' or icml_face_data.csv "
    "'emotion, Usage, pixels'); an image folder or .zip laid out as <split>/<class>/<image> "
    "(e.g. train/angry/Training_1.jpg, test/happy/PublicTest_2.jpg) or <class>/<image>; "
    "or a folder/.zip holding one such CSV"
)
_PREFERRED_CSV_NAMES = ("fer2013.csv", "icml_face_data.csv")


@dataclass(frozen=True)
class CheckedSource:
    """A source that passed the checks made before reading: its form, and a folder's bounded file listing."""

    path: Path
    form: str  # 'csv', 'zip' or 'folder'
    limits: DataLimits
    files: list[FolderFile] | None = None

    def fingerprint(self) -> str:
        """Content fingerprint for the cache key (a file's hash, or a folder listing's)."""
        return folder_fingerprint(self.files or []) if self.form == "folder" else file_fingerprint(self.path)


def check_source(path: str | os.PathLike, limits: DataLimits | None = None) -> CheckedSource:
    """Refuse special files, oversized files, unknown formats and zip bombs before a byte is hashed or decoded."""
    source = Path(path).expanduser()
    limits = limits or data_limits()
    if not os.path.exists(source):
        raise DataError(f"{source} does not exist; {ACCEPTED_FORMS}")
    if source_kind(source) == "folder":
        return CheckedSource(source, "folder", limits, walk_folder(source, limits))
    check_file_size(source, limits)
    if source.suffix.lower() == ".csv":
        return CheckedSource(source, "csv", limits)
    if not zipfile.is_zipfile(source):
        if source.suffix.lower() == ".zip":
            raise DataError(f"{source} is not a readable zip archive (damaged or incomplete download?); {ACCEPTED_FORMS}")
        raise DataError(f"{source} is neither a CSV nor a .zip archive; {ACCEPTED_FORMS}")
    try:
        with zipfile.ZipFile(source) as archive:
            check_zip(archive, source.name, limits)
    except zipfile.BadZipFile as exc:
        raise DataError(f"{source} is not a readable zip archive ({exc}); {ACCEPTED_FORMS}") from exc
    return CheckedSource(source, "zip", limits)


def load_dataset(
    path: str | os.PathLike,
    *,
    skip_bad: bool = False,
    val_fraction: float = 0.1,
    seed: int = 0,
    use_cache: bool = True,
) -> FerDataset:
    """Load a FER source into (N, 48, 48) uint8 splits, reusing a cache keyed by the source's content.

    The source is checked first (`check_source`: kind, sizes, zip headers, bounded folder walk), then
    fingerprinted. Splits come from the source (Usage column / file-name prefix / split folder); a missing
    val split is drawn from train (stratified `val_fraction`, `seed`) and recorded in `drawn_splits`; a
    missing test split stays absent. Bad items raise DataError naming them, or with `skip_bad=True` are
    listed in `skipped`.
    """
    if not 0.0 <= val_fraction < 1.0:
        raise ConfigError(f"val_fraction must be in [0, 1), got {val_fraction}")
    checked = check_source(path)
    source = checked.path
    fingerprint = checked.fingerprint()
    options = {"skip_bad": bool(skip_bad), "val_fraction": float(val_fraction), "seed": int(seed)}
    cached_path = cache_file(source, fingerprint, options)
    if use_cache:
        cached = load_cached(cached_path, str(source))
        if cached is not None:
            log.debug("loaded %s from cache %s", source, cached_path)
            return cached
    dataset = _load_uncached(checked, fingerprint, skip_bad=skip_bad, val_fraction=val_fraction, seed=seed)
    if use_cache:
        try:
            save_cached(cached_path, dataset)
        except OSError as exc:  # a read-only or full cache disk must not stop the load
            log.warning("could not write dataset cache %s: %s", cached_path, exc)
    return dataset


def _load_uncached(checked: CheckedSource, fingerprint: str, *, skip_bad: bool, val_fraction: float,
                   seed: int) -> FerDataset:
    """Decode the source, group it into splits, and draw val when the source has none."""
    policy = BadItemPolicy(skip_bad)
    raw = _read_source(checked, policy)
    splits = group_splits(raw.images, raw.labels, raw.keys, raw.split_names)
    drawn: dict[str, str] = {}
    if "val" not in splits and "train" in splits and val_fraction > 0:
        train, val, description = draw_validation_split(splits["train"], val_fraction, seed)
        splits = {"train": train, "val": val, **({"test": splits["test"]} if "test" in splits else {})}
        drawn["val"] = description
    return FerDataset(
        splits=splits,
        class_names=raw.class_names,
        source=str(checked.path),
        source_format=raw.source_format,
        fingerprint=fingerprint,
        drawn_splits=drawn,
        skipped=policy.skipped,
    )


def _read_source(checked: CheckedSource, policy: BadItemPolicy) -> RawImages:
    """Decoded, labelled images of a CSV, a folder or a zip (image tree or one CSV inside)."""
    source = checked.path
    if checked.form == "csv":
        return read_fer_csv(str(source), source.name, policy)
    try:
        tree = ImageTree(source, checked.limits, checked.files)
    except zipfile.BadZipFile as exc:
        raise DataError(f"{source} is not a readable zip archive ({exc}); {ACCEPTED_FORMS}") from exc
    with tree:
        csv_name = _lone_csv(tree)
        if csv_name is not None:
            with tree.open(csv_name) as handle:
                return read_fer_csv(handle, tree.where(csv_name), policy)
        if not any(PurePosixPath(name).suffix.lower() in IMAGE_EXTENSIONS for name in tree.names):
            raise DataError(f"{source} holds no images and no FER CSV; {ACCEPTED_FORMS}")
        return read_image_tree(tree, policy)


def _lone_csv(tree: ImageTree) -> str | None:
    """The CSV to read when a folder/zip holds CSVs but no images (fer2013.csv preferred), else None."""
    names = [PurePosixPath(name) for name in tree.names if not PurePosixPath(name).name.startswith(".")]
    if any(name.suffix.lower() in IMAGE_EXTENSIONS for name in names):
        return None
    csvs = [name for name in names if name.suffix.lower() == ".csv" and "__MACOSX" not in name.parts]
    if not csvs:
        return None
    for preferred in _PREFERRED_CSV_NAMES:
        matches = [name for name in csvs if name.name.lower() == preferred]
        if matches:
            return str(matches[0])
    if len(csvs) == 1:
        return str(csvs[0])
    raise DataError(f"{tree.path} holds several CSVs ({', '.join(sorted(map(str, csvs)))}); pass the FER CSV itself")
