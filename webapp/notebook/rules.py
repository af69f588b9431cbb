"""Limits and settings of the notebook's domain, one home each: forms, schemas and services take them from here."""


EMERGENCY_ALLOWED, EMERGENCY_LOCKED = "allowed", "locked"
TITLE_MAX = 200
BODY_MAX = 20_000
REASON_MIN, REASON_MAX = 10, 500
MAX_DB_ID = 2**31 - 1


def is_db_id(value) -> bool:
    return isinstance(value, int) and 0 < value <= MAX_DB_ID
