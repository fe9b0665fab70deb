"""API plumbing every app's views share: mixins, errors, pagination, the sync envelope,
idempotency, throttles, compression, rendering and the OpenAPI helpers."""
