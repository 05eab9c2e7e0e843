"""Reading JSON-lines files whose every line must be a JSON object, with the bad line named."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from luisterpost.errors import LuisterpostError

__all__ = ["json_objects"]


def json_objects(
    path: Path, error: type[LuisterpostError], text: str | None = None
) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-blank line of ``path`` (or of ``text`` read from it).

    ``error`` is raised with ``path:line`` for a line that is not a JSON object, and for a file
    that cannot be read, so each caller's own error type reaches its user.
    """
    if text is None:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise error(f"cannot read {path}: {exc.strerror}") from None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise error(f"{path}:{number}: not JSON ({exc.msg})") from None
        if not isinstance(obj, dict):
            raise error(f"{path}:{number}: not a JSON object")
        yield number, obj
