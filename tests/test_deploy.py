"""deploy/ is checked statically (no Docker engine runs here): it must say what production runs."""

from pathlib import Path

import yaml

from luisterpost.app import STAGES

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
COMPOSE = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def test_production_services_are_present_with_pinned_images() -> None:
    for name in ("kafka", "elasticsearch", "kibana", "prometheus", "alertmanager"):
        image = SERVICES[name]["image"]
        assert ":" in image and not image.endswith(":latest"), image
    assert SERVICES["elasticsearch"]["image"].split(":")[-1].startswith("8.")


def test_every_stage_runs_as_its_own_worker_against_external_servers() -> None:
    workers = {name: s for name, s in SERVICES.items() if name.startswith("worker-")}
    assert {s["command"][2] for s in workers.values()} == set(STAGES)
    for service in workers.values():
        env = service["environment"]
        assert env["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
        assert env["ELASTICSEARCH_URL"].startswith("http://elasticsearch:")
        assert env["LUISTERPOST_PSEUDONYM_KEY"].startswith("${"), (
            "secrets come from the environment"
        )
        assert service["stop_signal"] == "SIGTERM"  # a killed consumer never leaves its group


def test_topics_are_never_auto_created() -> None:
    assert SERVICES["kafka"]["environment"]["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    assert SERVICES["setup"]["command"] == ["luisterpost", "setup"]


def test_prometheus_scrapes_every_worker() -> None:
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    targets = {
        t for job in config["scrape_configs"] for sc in job["static_configs"] for t in sc["targets"]
    }
    assert targets == {f"worker-{stage}:9464" for stage in STAGES}


def test_dockerfile_copies_every_package() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    for package in ("luisterpost", "ingest", "enrich", "route"):
        assert f"COPY {package} ./{package}" in dockerfile


def test_prometheus_loads_the_alert_rules_that_compose_mounts() -> None:
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    assert config["rule_files"] == ["rules/luisterpost.yml"]
    assert (DEPLOY / "prometheus" / "rules" / "luisterpost.yml").exists()
    assert "./prometheus/rules:/etc/prometheus/rules:ro" in SERVICES["prometheus"]["volumes"]


def test_kibana_objects_are_imported_once_kibana_is_healthy() -> None:
    setup = SERVICES["kibana-setup"]
    assert setup["command"] == ["luisterpost", "kibana", "import"]
    assert setup["depends_on"] == {"kibana": {"condition": "service_healthy"}}
    assert setup["environment"]["LUISTERPOST_KIBANA_URL"] == "http://kibana:5601"
    assert "healthcheck" in SERVICES["kibana"]
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert "COPY deploy/kibana ./deploy/kibana" in dockerfile  # the import's default file


def test_alertmanager_loads_the_routing_config_and_acks_have_an_endpoint() -> None:
    alertmanager = SERVICES["alertmanager"]
    mount = "./alertmanager/alertmanager.yml:/etc/alertmanager/alertmanager.yml:ro"
    assert mount in alertmanager["volumes"]
    assert "--config.file=/etc/alertmanager/alertmanager.yml" in alertmanager["command"]
    assert (DEPLOY / "alertmanager" / "alertmanager.yml").exists()
    assert SERVICES["worker-alert"]["environment"]["LUISTERPOST_ALERTMANAGER_URL"] == (
        "http://alertmanager:9093"
    )
    ack = SERVICES["oncall-ack"]
    assert ack["command"][:3] == ["luisterpost", "oncall", "serve"]
    assert (
        "--host" in ack["command"]
        and ack["command"][ack["command"].index("--host") + 1] == "0.0.0.0"
    )
    assert ack["environment"]["LUISTERPOST_ONCALL_API_KEYS"].startswith("${")
    assert ack["environment"]["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
