"""Settings: defaults for the embedded mode, overridden by the environment.

Operators configure Carnet only through environment variables (see README).
`load_settings()` returns a flat dict that `create_app()` puts into
`app.config`; `check_production_settings()` refuses unsafe production setups.
"""

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_PATH = PROJECT_ROOT / "instance"

DEVELOPMENT_SECRET_KEY = "carnet-development-secret-key-do-not-use-in-production"
# A valid Fernet key, public on purpose: it only protects the embedded demo.
DEVELOPMENT_ENCRYPTION_KEY = "ZGV2ZWxvcG1lbnQta2V5LWNhcm5ldC0wMDAwMDAwMDA="


class ConfigurationError(RuntimeError):
    """The configuration is unsafe or incomplete; the app must not start."""


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return default if value in (None, "") else int(value)


def load_settings() -> dict:
    """Read every setting from the environment, with embedded defaults."""
    env = os.environ.get("CARNET_ENV", "development")
    is_production = env == "production"
    database_url = os.environ.get(
        "DATABASE_URL", f"sqlite:///{INSTANCE_PATH / 'carnet.sqlite3'}"
    )
    return {
        "CARNET_ENV": env,
        "SECRET_KEY": os.environ.get("SECRET_KEY", DEVELOPMENT_SECRET_KEY),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "CARNET_BASE_URL": os.environ.get("CARNET_BASE_URL", "http://127.0.0.1:5000"),
        "CARNET_ENCRYPTION_KEYS": [
            key.strip()
            for key in os.environ.get(
                "CARNET_ENCRYPTION_KEYS", DEVELOPMENT_ENCRYPTION_KEY
            ).split(",")
            if key.strip()
        ],
        "CARNET_MAIL_TRANSPORT": os.environ.get("CARNET_MAIL_TRANSPORT", "console"),
        "CARNET_SMTP_HOST": os.environ.get("CARNET_SMTP_HOST", ""),
        "CARNET_SMTP_PORT": _env_int("CARNET_SMTP_PORT", 587),
        "CARNET_SMTP_USER": os.environ.get("CARNET_SMTP_USER", ""),
        "CARNET_SMTP_PASSWORD": os.environ.get("CARNET_SMTP_PASSWORD", ""),
        "CARNET_SMTP_STARTTLS": _env_bool("CARNET_SMTP_STARTTLS", True),
        "CARNET_MAIL_FROM": os.environ.get("CARNET_MAIL_FROM", "Carnet <no-reply@localhost>"),
        "CARNET_SCHEDULER": os.environ.get("CARNET_SCHEDULER", "in-process"),
        "CARNET_BILLING_PROVIDER": os.environ.get("CARNET_BILLING_PROVIDER", "manual"),
        "STRIPE_SECRET_KEY": os.environ.get("STRIPE_SECRET_KEY", ""),
        "STRIPE_WEBHOOK_SECRET": os.environ.get("STRIPE_WEBHOOK_SECRET", ""),
        "STRIPE_PRICE_ID": os.environ.get("STRIPE_PRICE_ID", ""),
        "STRIPE_API_BASE": os.environ.get("STRIPE_API_BASE", ""),
        "CARNET_DMP_ENDPOINT": os.environ.get("CARNET_DMP_ENDPOINT", ""),
        "CARNET_DMP_FOLDER": os.environ.get("CARNET_DMP_FOLDER", ""),
        "RATELIMIT_STORAGE_URI": os.environ.get("CARNET_RATELIMIT_STORAGE", "memory://"),
        "RATELIMIT_ENABLED": _env_bool("CARNET_RATELIMIT_ENABLED", True),
        "CARNET_LOGIN_LOCKOUT_ATTEMPTS": _env_int("CARNET_LOGIN_LOCKOUT_ATTEMPTS", 10),
        "CARNET_LOGIN_LOCKOUT_MINUTES": _env_int("CARNET_LOGIN_LOCKOUT_MINUTES", 15),
        "CARNET_API_TOKEN_HOURS": _env_int("CARNET_API_TOKEN_HOURS", 24 * 30),
        "CARNET_PASSWORD_RESET_MINUTES": _env_int("CARNET_PASSWORD_RESET_MINUTES", 60),
        "CARNET_TOTP_ISSUER": os.environ.get("CARNET_TOTP_ISSUER", "Carnet"),
        "BABEL_DEFAULT_LOCALE": "fr",
        "BABEL_DEFAULT_TIMEZONE": "Europe/Paris",
        "CARNET_LOCALES": ["fr", "en"],
        "MAX_CONTENT_LENGTH": _env_int("CARNET_MAX_UPLOAD_BYTES", 10 * 1024 * 1024),
        "CARNET_NOTEBOOK_MAX_ATTACHMENT_BYTES": _env_int("CARNET_NOTEBOOK_MAX_ATTACHMENT_BYTES", 10 * 1000 * 1000),
        "CARNET_NOTEBOOK_EMERGENCY_MINUTES": _env_int("CARNET_NOTEBOOK_EMERGENCY_MINUTES", 60),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": is_production,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SECURE": is_production,
        "WTF_CSRF_TIME_LIMIT": None,
        "API_TITLE": "Carnet API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api/v1",
        "OPENAPI_JSON_PATH": "openapi.json",
    }


def check_production_settings(settings: dict) -> None:
    """Refuse to run in production with development secrets."""
    if settings["CARNET_ENV"] != "production":
        return
    if settings["SECRET_KEY"] == DEVELOPMENT_SECRET_KEY:
        raise ConfigurationError("SECRET_KEY must be set in production.")
    if DEVELOPMENT_ENCRYPTION_KEY in settings["CARNET_ENCRYPTION_KEYS"]:
        raise ConfigurationError("CARNET_ENCRYPTION_KEYS must be set in production.")
    if settings["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        raise ConfigurationError("DATABASE_URL must point to PostgreSQL in production.")
