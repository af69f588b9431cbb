"""Shared API plumbing: bearer authentication (`auth`), the error schema,
request-body checks (`body`), pagination and sorting, idempotency keys, the
OpenAPI completions (`openapi`), the docs page (`docs`), and the registration
of each feature's `api.py` blueprint (`setup`)."""
