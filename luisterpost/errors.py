"""The root of every error Luisterpost raises on purpose."""

__all__ = ["ConfigError", "LuisterpostError", "ServiceError"]


class LuisterpostError(Exception):
    """Base class: anything the operator should see as a clear message, not a traceback."""


class ConfigError(LuisterpostError):
    """A configuration file or setting is invalid."""


class ServiceError(LuisterpostError):
    """A backing service (Kafka, Elasticsearch, noida-db) is unreachable or misbehaves."""
