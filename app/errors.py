"""The errors MapBrush shows to people. Everything else is a bug."""

from __future__ import annotations


class AppError(Exception):
    """An error with a message fit to show a person as one line."""

    exit_code = 1

    def __init__(self, message: str, *, path: str | None = None) -> None:
        self.path = str(path) if path is not None else None
        super().__init__(message)

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""

    def one_line(self) -> str:
        """`<file>: <what is wrong>`, or just the message when no file is involved."""
        text = " ".join(self.message.split())
        return f"{self.path}: {text}" if self.path else text


class InputError(AppError):
    """A file or an argument we cannot use: unsupported, corrupt, too large, empty."""

    exit_code = 2


class NetworkError(InputError):
    """A network source (place search, OpenStreetMap data, relief tiles) could not be reached, refused, or answered
    with something unusable. Exit code 2, like any input MapBrush cannot use."""

    exit_code = 2


class ModelUnavailable(AppError):
    """A requested AI engine has no installed model."""

    exit_code = 3


class OutOfMemory(AppError):
    """Even the smallest setting did not fit into memory."""

    exit_code = 4


class Cancelled(AppError):
    """The person cancelled. A normal outcome, not a failure."""

    exit_code = 130

    def __init__(self, message: str = "cancelled") -> None:
        super().__init__(message)
