"""Shared API plumbing: bearer authentication (`auth`), the error schema,
pagination, and the registration of each feature's `api.py` blueprint."""
