"""Exceptions that name what is wrong and what to do; the CLI prints them without a traceback."""


class FerError(Exception):
    """Base class of every error the product reports to a user (CLI exit code 2, dashboard message)."""


class DataError(FerError):
    """A dataset, file, row or image that cannot be read as FER data."""


class ModelError(FerError):
    """An unknown architecture, missing weights, or a checkpoint that does not fit."""


class ConfigError(FerError):
    """An invalid training / job / head configuration."""


class RunNotFoundError(FerError):
    """A run id or path that does not name an existing run."""


class RunIndexError(FerError):
    """The runs root's index.sqlite is damaged or unreadable; `fer runs reindex` rebuilds it from the run folders."""
