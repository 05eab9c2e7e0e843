"""Elasticsearch I/O: clients, the index template, refresh and counts."""

from __future__ import annotations

from typing import Any

from elasticsearch import ApiError, AsyncElasticsearch, Elasticsearch, TransportError

from route.index.names import IndexNames, messages_template

__all__ = ["IndexSetupError", "async_client", "ensure_templates", "put_template", "sync_client"]


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
    """
    put_template(es, names.messages_template, messages_template(names), names.messages_pattern)


def put_template(es: Elasticsearch, name: str, body: dict[str, Any], pattern: str) -> None:
    """Install an index template, and give the indices it already made its new fields.

    Mappings only grow and are strict, so an upgrade must not leave older indices refusing
    the documents' new fields.
    """
    try:
        es.indices.put_index_template(name=name, **body)
    except (ApiError, TransportError) as exc:
        raise IndexSetupError(f"cannot install the index template {name}: {exc}") from None
    try:
        existing = list(es.indices.get(index=pattern, allow_no_indices=True))
        if existing:
            es.indices.put_mapping(
                index=",".join(existing), properties=body["template"]["mappings"]["properties"]
            )
    except (ApiError, TransportError) as exc:
        raise IndexSetupError(
            f"cannot add the template's fields to the existing indices: {exc}"
        ) from None
