"""Progress bars for long management commands: on a terminal only.

A command run by a person shows a bar (tqdm, on the command's stderr, so what it prints on
stdout stays clean); a command whose output goes to a file or a pipe, or that runs with `CI` set,
shows none and prints exactly what it did before. Work functions take a `progress` argument
(`quiet` by default), so they stay silent when called from tasks and tests.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar

from django.core.management.base import BaseCommand

T = TypeVar("T")


class Progress(Protocol):
    def __call__(
        self, iterable: Iterable[T], *, total: int | None = None, desc: str | None = None
    ) -> Iterable[T]: ...


class Counter(Protocol):
    def update(self, n: int = 1) -> Any: ...


def quiet(
    iterable: Iterable[T], *, total: int | None = None, desc: str | None = None
) -> Iterable[T]:
    """No bar: `iterable` itself."""
    return iterable


class _NoCounter:
    def update(self, n: int = 1) -> None:
        return None


def shows_bars(stdout: Any, stderr: Any) -> bool:
    """Bars only for a person at a terminal: stdout and stderr both TTYs, `CI` unset."""
    if os.environ.get("CI"):
        return False
    return _isatty(stdout) and _isatty(stderr)


def _isatty(stream: Any) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def bars_on(stream: Any) -> Progress:
    """Wraps iterables in a bar written to `stream`."""

    def bars(
        iterable: Iterable[T], *, total: int | None = None, desc: str | None = None
    ) -> Iterable[T]:
        from tqdm import tqdm

        return tqdm(iterable, total=total, desc=desc, file=stream, dynamic_ncols=True)

    return bars


class ProgressCommand(BaseCommand):
    """A command whose long loops show a bar on a terminal (`self.progress`,
    `self.counter`) and stay quiet otherwise."""

    def _bar_stream(self) -> Any:
        # The stream under Django's OutputWrapper, which would end every bar update with a
        # newline.
        return getattr(self.stderr, "_out", sys.stderr)

    def _shows_bars(self) -> bool:
        return shows_bars(self.stdout, self._bar_stream())

    def progress_for_output(self) -> Progress:
        return bars_on(self._bar_stream()) if self._shows_bars() else quiet

    def progress(
        self, iterable: Iterable[T], *, total: int | None = None, desc: str | None = None
    ) -> Iterable[T]:
        return self.progress_for_output()(iterable, total=total, desc=desc)

    @contextmanager
    def counter(self, *, total: int | None, desc: str) -> Iterator[Counter]:
        """A bar moved by hand (`.update(n)`), for work done in batches."""
        if not self._shows_bars():
            yield _NoCounter()
            return
        from tqdm import tqdm

        with tqdm(total=total, desc=desc, file=self._bar_stream(), dynamic_ncols=True) as bar:
            yield bar
