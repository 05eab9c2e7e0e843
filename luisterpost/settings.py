"""One Settings object, read from the environment once."""

from __future__ import annotations

import secrets
from datetime import timedelta
from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "get_settings"]


class Settings(BaseSettings):
    """Runtime configuration. External servers win over the embedded default.

    When ``KAFKA_BOOTSTRAP_SERVERS`` / ``ELASTICSEARCH_URL`` are unset the pipeline talks to
    the local noida-db started by ``luisterpost services up`` on ``local_*_port``.
    """

    model_config = SettingsConfigDict(env_prefix="LUISTERPOST_", frozen=True, extra="ignore")

    kafka_bootstrap_servers: str | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "KAFKA_BOOTSTRAP_SERVERS", "LUISTERPOST_KAFKA_BOOTSTRAP_SERVERS"
        ),
    )
    elasticsearch_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("ELASTICSEARCH_URL", "LUISTERPOST_ELASTICSEARCH_URL"),
    )
    elasticsearch_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("ELASTICSEARCH_API_KEY", "LUISTERPOST_ELASTICSEARCH_API_KEY"),
    )

    state_dir: Path = Path(".luisterpost")
    local_kafka_port: int = 39092
    local_elasticsearch_port: int = 39200

    app_id: str = "luisterpost"
    topic_prefix: str = "luisterpost"
    partitions: int = 6
    replication_factor: int = 1
    index_prefix: str = "luisterpost"

    pseudonym_key: SecretStr | None = None
    routing_rules: Path | None = None
    own_accounts: Path | None = None

    classifier_model: Path | None = None
    """Trained classifier directory (default: the shipped enrich/model/vennebroek)."""
    gazetteer: Path | None = None
    """The municipality's streets, neighbourhoods and landmarks (default: the Vennebroek sample)."""
    urgency_rules: Path | None = None
    """Urgency safety rules (default: enrich/data/urgency_rules.yaml)."""

    meta_app_secret: SecretStr | None = None
    meta_verify_token: SecretStr | None = None
    x_consumer_secret: SecretStr | None = None
    app_api_keys: SecretStr | None = None
    """Comma-separated API keys for POST /api/v1/messages (one per app or form)."""
    ingest_max_body_bytes: int = 1024 * 1024

    oncall_rules: Path | None = None
    """On-call roster and alert policy (default: route/rules/oncall.yaml)."""
    alertmanager_url: str | None = None
    """Prometheus Alertmanager base URL (alerts go to its /api/v2/alerts); unset: not used."""
    alert_webhooks: SecretStr | None = None
    """Comma-separated Slack/Teams/Mattermost-compatible webhook URLs (they hold secrets)."""
    oncall_api_keys: SecretStr | None = None
    """Comma-separated keys for POST /api/v1/alerts/{id}/ack; unset: the endpoint answers 503."""
    alert_tick_seconds: float = 1.0
    alert_retry_seconds: float = 2.0
    """First delivery retry delay; doubles per failure up to five minutes."""

    metrics_port: int = 9464
    faust_store: str = "memory://"
    index_batch_size: int = 500
    index_batch_seconds: float = 1.0

    kibana_url: str = "http://127.0.0.1:5601"
    kibana_api_key: SecretStr | None = None
    """For `luisterpost kibana import`; an API key allowed to manage saved objects."""
    retention_months: int = Field(default=13, ge=1)
    """Months of messages kept; `luisterpost retention` deletes older monthly indices."""
    state_retention_days: float | None = Field(default=None, gt=0)
    """Days the workers' state is kept after its last change: a conversation's tracking, its
    settled incidents, the dedupe table's versions of a message (default: 31 days per retention
    month, as long as the index keeps its messages)."""

    @property
    def state_retention(self) -> timedelta:
        return timedelta(days=self.state_retention_days or 31 * self.retention_months)

    @property
    def uses_local_services(self) -> bool:
        """True when neither Kafka nor Elasticsearch is given from outside."""
        return self.kafka_bootstrap_servers is None and self.elasticsearch_url is None

    @property
    def kafka_servers(self) -> str:
        return self.kafka_bootstrap_servers or f"127.0.0.1:{self.local_kafka_port}"

    @property
    def es_url(self) -> str:
        return self.elasticsearch_url or f"http://127.0.0.1:{self.local_elasticsearch_port}"

    @property
    def es_api_key(self) -> str | None:
        return self.elasticsearch_api_key.get_secret_value() if self.elasticsearch_api_key else None

    @property
    def alert_webhook_urls(self) -> list[str]:
        raw = self.alert_webhooks.get_secret_value() if self.alert_webhooks else ""
        return [url.strip() for url in raw.split(",") if url.strip()]

    @property
    def noida_data_dir(self) -> Path:
        return self.state_dir / "noida"

    def pseudonym_secret(self) -> bytes:
        """The key for author pseudonyms: from the environment, else a local key kept in state_dir.

        The local key is created once so that a replay pseudonymises authors identically.
        """
        if self.pseudonym_key is not None:
            return self.pseudonym_key.get_secret_value().encode()
        path = self.state_dir / "pseudonym.key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_hex(32))
            path.chmod(0o600)
        return path.read_text().strip().encode()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (read once)."""
    return Settings()
