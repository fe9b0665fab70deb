"""The app's settings plus the benchmark's peer views (bench/peers.py) under /bench/."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
