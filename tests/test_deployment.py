"""The files that run the service in production: compose.yaml, the Dockerfile and the
gunicorn config. (`.ci/run` also lints the Dockerfile with hadolint and validates
compose.yaml against the Compose specification.)"""

import re
import runpy
from pathlib import Path

import yaml
from django.conf import settings

ROOT = Path(__file__).resolve().parents[1]


def compose():
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def test_every_queue_has_a_worker_of_its_own_and_every_worker_scales_alone():
    services = compose()["services"]
    consumed = {}
    for name, service in services.items():
        command = " ".join(service.get("command") or [])
        if " worker " in f" {command} ":
            queues = re.search(r"-Q (\S+)", command)
            assert queues, f"{name} takes every queue"
            for queue in queues[1].split(","):
                consumed.setdefault(queue, []).append(name)
            replicas = str(service["deploy"]["replicas"])
            assert replicas.startswith("${") and replicas.endswith("}"), name
    assert {queue.name for queue in settings.CELERY_TASK_QUEUES} == set(consumed)
    assert all(len(workers) == 1 for workers in consumed.values()), consumed
    assert services["web"]["deploy"]["replicas"] == "${WEB_REPLICAS:-2}"
    assert services["beat"]["deploy"]["replicas"] == 1


def test_every_long_running_service_has_a_health_check_and_only_the_proxy_is_published():
    services = compose()["services"]
    one_shot = {name for name, s in services.items() if s.get("restart") == "no"}
    assert one_shot == {"migrate", "minio-bucket"}
    for name, service in services.items():
        if name not in one_shot:
            assert "healthcheck" in service, name
    assert [name for name, s in services.items() if s.get("ports")] == ["proxy"]


def test_the_image_runs_gunicorn_with_the_projects_config():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert 'CMD ["gunicorn", "-c", "deploy/gunicorn.conf.py", "config.wsgi:application"]' in (
        dockerfile
    )


def test_gunicorn_recycles_workers_with_jitter_and_trusts_only_the_proxies(monkeypatch):
    monkeypatch.setenv("TRUSTED_PROXIES", "10.0.0.0/8, 172.16.0.0/12")
    monkeypatch.setenv("WEB_CONCURRENCY", "5")
    config = runpy.run_path(str(ROOT / "deploy" / "gunicorn.conf.py"))

    assert config["forwarded_allow_ips"] == "10.0.0.0/8,172.16.0.0/12"
    assert config["workers"] == 5
    assert config["max_requests"] > 0 and 0 < config["max_requests_jitter"] < config["max_requests"]
    assert config["timeout"] == 30

    monkeypatch.delenv("TRUSTED_PROXIES")
    assert runpy.run_path(str(ROOT / "deploy" / "gunicorn.conf.py"))["forwarded_allow_ips"] == (
        "127.0.0.1"
    )


def test_gunicorn_forks_threaded_workers_from_a_loaded_master(monkeypatch):
    config = runpy.run_path(str(ROOT / "deploy" / "gunicorn.conf.py"))
    # Keep-alive needs a threaded worker; a recycled worker starts as a fork, not a re-import.
    assert config["worker_class"] == "gthread" and config["threads"] >= 2
    assert config["preload_app"] is True
    monkeypatch.setenv("GUNICORN_PRELOAD", "false")
    assert runpy.run_path(str(ROOT / "deploy" / "gunicorn.conf.py"))["preload_app"] is False
