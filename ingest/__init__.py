"""Ingest: turn each channel's payloads into the canonical event, verified and deduplicated."""
