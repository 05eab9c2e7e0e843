"""Channel normalisers; importing this package registers them all."""

from ingest.channels import export

__all__ = ["export"]
