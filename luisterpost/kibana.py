"""Import the shipped Kibana saved objects (data view, Lens views, dashboard) into Kibana 8.

Uses Kibana's ``POST /api/saved_objects/_import?overwrite=true`` with the NDJSON as a multipart
file, so re-running it updates the objects in place. Only the standard library: this runs from
an operator's laptop as well as from the worker image.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from luisterpost.deploy_files import deploy_file
from luisterpost.errors import ConfigError, ServiceError
from luisterpost.jsonlines import json_objects

__all__ = [
    "SAVED_OBJECTS",
    "ImportReport",
    "KibanaImportError",
    "import_saved_objects",
    "multipart_file",
    "parse_import_response",
    "read_saved_objects",
]

SAVED_OBJECTS = deploy_file("kibana", "luisterpost.ndjson")


class KibanaImportError(ServiceError):
    """Kibana answered, but did not import everything."""


@dataclass(frozen=True)
class ImportReport:
    success_count: int
    imported: list[str] = field(default_factory=list)
    """``type/id`` of every object Kibana reports as imported."""


def read_saved_objects(path: Path) -> bytes:
    """The file's bytes, after checking that every line is a saved object (type, id, attributes).

    A broken file is refused here with its line number rather than by Kibana with a vaguer one.
    """
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    count = 0
    for number, obj in json_objects(path, ConfigError, content.decode("utf-8")):
        if not {"type", "id", "attributes"} <= obj.keys():
            raise ConfigError(f"{path}:{number}: not a saved object (needs type, id, attributes)")
        count += 1
    if count == 0:
        raise ConfigError(f"{path}: no saved objects")
    return content


def multipart_file(
    field_name: str, filename: str, content: bytes, boundary: str
) -> tuple[bytes, str]:
    """A multipart/form-data body with one file part, and its Content-Type header."""
    head = (
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="{field_name}"; filename="{filename}"\r\n'
        "Content-Type: application/ndjson\r\n\r\n"
    ).encode()
    body = head + content + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def _describe(error: dict[str, Any]) -> str:
    """One line per failed object, with what Kibana says is wrong with it."""
    name = f"{error.get('type', '?')} {error.get('id', '?')}"
    title = error.get("meta", {}).get("title") or error.get("title")
    if title:
        name += f" ({title})"
    detail = error.get("error", {})
    kind = detail.get("type", "unknown")
    if kind == "missing_references":
        missing = ", ".join(f"{r.get('type')}/{r.get('id')}" for r in detail.get("references", []))
        return f"{name}: missing references {missing}"
    if kind == "unsupported_type":
        return f"{name}: this Kibana does not support the type"
    reason = detail.get("message") or detail.get("reason") or ""
    return f"{name}: {kind}" + (f" ({reason})" if reason else "")


def parse_import_response(body: dict[str, Any]) -> ImportReport:
    """The import result, or :class:`KibanaImportError` listing every object that failed."""
    errors = body.get("errors") or []
    if errors or not body.get("success", False):
        lines = [_describe(e) for e in errors] or ["Kibana reported no success and no errors"]
        raise KibanaImportError(
            f"Kibana imported {body.get('successCount', 0)} objects; "
            f"{len(errors)} failed:\n  " + "\n  ".join(lines)
        )
    imported = [f"{r.get('type')}/{r.get('id')}" for r in body.get("successResults", [])]
    return ImportReport(int(body.get("successCount", len(imported))), imported)


def _http_error(url: str, exc: urllib.error.HTTPError) -> ServiceError:
    raw = exc.read().decode("utf-8", "replace")
    try:
        payload = json.loads(raw)
        reason = payload.get("message") or payload.get("error") or raw
    except (json.JSONDecodeError, AttributeError):
        reason = raw.strip()[:300] or exc.reason
    hint = ""
    if exc.code in (401, 403):
        hint = " (set LUISTERPOST_KIBANA_API_KEY to an API key allowed to manage saved objects)"
    return ServiceError(f"Kibana at {url} refused the import: HTTP {exc.code}: {reason}{hint}")


def import_saved_objects(
    url: str, content: bytes, api_key: str | None = None, timeout: float = 60
) -> ImportReport:
    """POST the NDJSON to Kibana's import API, overwriting objects with the same ids."""
    base = url.rstrip("/")
    body, content_type = multipart_file(
        "file", "luisterpost.ndjson", content, f"luisterpost-{uuid.uuid4().hex}"
    )
    headers = {"kbn-xsrf": "luisterpost", "Content-Type": content_type}
    if api_key:
        headers["Authorization"] = f"ApiKey {api_key}"
    request = urllib.request.Request(
        f"{base}/api/saved_objects/_import?overwrite=true", data=body, headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
    except urllib.error.HTTPError as exc:
        raise _http_error(base, exc) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ServiceError(f"cannot reach Kibana at {base}: {reason}") from None
    try:
        payload = json.loads(raw)
    except json.JSONDecodeError:
        raise ServiceError(f"Kibana at {base} answered with something that is not JSON") from None
    if not isinstance(payload, dict):
        raise ServiceError(f"Kibana at {base} answered with an unexpected import result")
    return parse_import_response(payload)
