"""The root of every error Luisterpost raises on purpose, and how config errors are worded."""

from pydantic import ValidationError

__all__ = ["ConfigError", "LuisterpostError", "ServiceError", "validation_problems"]


class LuisterpostError(Exception):
    """Base class: anything the operator should see as a clear message, not a traceback."""


class ConfigError(LuisterpostError):
    """A configuration file or setting is invalid."""


class ServiceError(LuisterpostError):
    """A backing service (Kafka, Elasticsearch, noida-db) is unreachable or misbehaves."""


def validation_problems(exc: ValidationError) -> str:
    """'teams.webcare.office_hours: Field required; ...': each problem with where it is."""
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or 'file'}: {err['msg']}" for err in exc.errors()
    )
