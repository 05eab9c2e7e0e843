"""Elasticsearch I/O: clients, the index template, refresh and counts."""

from __future__ import annotations

from typing import Any

from elasticsearch import ApiError, AsyncElasticsearch, Elasticsearch, TransportError

from route.index.names import IndexNames, messages_template

__all__ = ["IndexSetupError", "async_client", "ensure_templates", "sync_client"]


class IndexSetupError(RuntimeError):
    """Elasticsearch refused or could not be reached while preparing the indices."""


def _options(api_key: str | None) -> dict[str, Any]:
    return {"api_key": api_key} if api_key else {}


def sync_client(url: str, api_key: str | None = None) -> Elasticsearch:
    return Elasticsearch(url, request_timeout=30, **_options(api_key))


def async_client(url: str, api_key: str | None = None) -> AsyncElasticsearch:
    return AsyncElasticsearch(url, request_timeout=30, **_options(api_key))


def ensure_templates(es: Elasticsearch, names: IndexNames) -> None:
    """Install (or update) the index template; indices are created from it on first write.

    The read alias comes with the template, so every dated index joins it automatically.
    Indices that already exist get the template's new fields too (mappings only grow), so an
    upgrade does not leave older months refusing the documents' new fields.
    """
    template = messages_template(names)
    try:
        es.indices.put_index_template(name=names.messages_template, **template)
    except (ApiError, TransportError) as exc:
        raise IndexSetupError(f"cannot install the index template: {exc}") from None
    try:
        existing = list(es.indices.get(index=names.messages_pattern, allow_no_indices=True))
        if existing:
            mappings = template["template"]["mappings"]
            es.indices.put_mapping(index=",".join(existing), properties=mappings["properties"])
    except (ApiError, TransportError) as exc:
        raise IndexSetupError(
            f"cannot add the template's fields to the existing indices: {exc}"
        ) from None
