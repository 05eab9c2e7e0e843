"""Channel normalisers; importing this package registers them all (meta also brings whatsapp)."""

from ingest.channels import app, export, meta, x

__all__ = ["app", "export", "meta", "x"]
