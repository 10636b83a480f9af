"""A real Alertmanager (Debian ``prometheus-alertmanager``) and a Prometheus that evaluates
alerting rules on the exporter's data and sends its alerts there, with short intervals.

Evaluation, scrape and resend intervals are one second, so an alert reaches Alertmanager
(and resolves there) within a few seconds of the exporter's change.
"""

import json
from pathlib import Path

from tests.support.exporter import Exporter
from tests.support.servers import MetricsServer, ServerProcess, require_binary, scrape_config

INTERVAL = "1s"


def alertmanager(workdir: Path) -> ServerProcess:
    """A single Alertmanager (no cluster) routing everything to a receiver that does nothing."""
    binary = require_binary("prometheus-alertmanager", "prometheus-alertmanager")
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "alertmanager.yml"
    config.write_text(
        json.dumps(
            {
                "route": {
                    "receiver": "nowhere",
                    "group_by": ["alertname", "deployment"],
                    "group_wait": INTERVAL,
                    "group_interval": INTERVAL,
                    "repeat_interval": "1h",
                },
                "receivers": [{"name": "nowhere"}],
            }
        )
    )
    return ServerProcess(
        "alertmanager",
        lambda port: [
            binary,
            f"--config.file={config}",
            f"--web.listen-address=127.0.0.1:{port}",
            f"--storage.path={workdir / 'data'}",
            "--cluster.listen-address=",
        ],
        workdir=workdir,
        ready_path="/-/ready",
    )


def alerting_prometheus(
    workdir: Path, exporter: Exporter, alertmanager_port: int, rules: list[dict[str, object]]
) -> MetricsServer:
    """A Prometheus scraping ``exporter``, evaluating ``rules`` every second, sending alerts
    to the Alertmanager on ``alertmanager_port``."""
    binary = require_binary("prometheus", "prometheus")
    workdir.mkdir(parents=True, exist_ok=True)
    rules_file = workdir / "rules.yml"
    rules_file.write_text(
        json.dumps({"groups": [{"name": "test", "interval": INTERVAL, "rules": rules}]})
    )
    config = json.loads(scrape_config([exporter.target], 1.0))
    config["global"]["evaluation_interval"] = INTERVAL
    config["rule_files"] = [str(rules_file)]
    config["alerting"] = {
        "alertmanagers": [
            {
                "api_version": "v2",
                "static_configs": [{"targets": [f"127.0.0.1:{alertmanager_port}"]}],
            }
        ]
    }
    config_file = workdir / "prometheus.yml"
    config_file.write_text(json.dumps(config, indent=2))
    return MetricsServer(
        "prometheus-alerting",
        lambda port: [
            binary,
            f"--config.file={config_file}",
            f"--web.listen-address=127.0.0.1:{port}",
            f"--storage.tsdb.path={workdir / 'data'}",
            "--rules.alert.resend-delay=1s",
        ],
        workdir=workdir,
        ready_path="/-/ready",
    )
