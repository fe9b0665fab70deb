"""A local S3-compatible server (moto) for the object-storage tests, on a spare port.

Started once per test session when a test asks for it and stopped by its PID; each test
gets a bucket of its own. `TEST_STORAGE_BACKEND=s3` runs every test on it (`.ci/run`
does so for the file tests).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.live import free_port, wait_for

ACCESS_KEY = "test-access-key"
SECRET_KEY = "test-secret-key"  # a local fake's, not a credential
REGION = "us-east-1"


class MotoServer:
    def __init__(self) -> None:
        binary = shutil.which("moto_server", path=str(Path(sys.executable).parent))
        if binary is None:
            pytest.skip("needs moto_server (the dev dependency moto[server])")
        self.binary = binary
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_for(self.answers, 20, f"moto_server on port {self.port}")

    def answers(self) -> bool:
        import requests

        # A server still starting may accept the connection and answer late (a loaded
        # machine): that is "not yet", like a refused connection.
        try:
            requests.get(self.endpoint, timeout=2)
        except (requests.ConnectionError, requests.Timeout):
            return False
        return True

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(10)
        self.process = None

    def client(self) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name=REGION,
        )

    def new_bucket(self) -> str:
        name = f"test-{uuid.uuid4().hex[:20]}"
        self.client().create_bucket(Bucket=name)
        return name

    def storage_options(self, bucket: str) -> dict[str, Any]:
        """`STORAGES["private"]` as config/settings.py builds it for STORAGE_BACKEND=s3."""
        return {
            "BACKEND": "common.files.storage.PrivateS3Storage",
            "OPTIONS": {
                "bucket_name": bucket,
                "endpoint_url": self.endpoint,
                "region_name": REGION,
                "access_key": ACCESS_KEY,
                "secret_key": SECRET_KEY,
                "location": "private",
                "default_acl": None,
                "file_overwrite": True,
            },
        }

    def environment(self, bucket: str) -> dict[str, str]:
        """The same as environment variables, for a server process."""
        return {
            "STORAGE_BACKEND": "s3",
            "AWS_STORAGE_BUCKET_NAME": bucket,
            "AWS_S3_ENDPOINT_URL": self.endpoint,
            "AWS_S3_REGION_NAME": REGION,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        }

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        answer = self.client().list_objects_v2(Bucket=bucket, Prefix=prefix)
        return sorted(item["Key"] for item in answer.get("Contents", []))
