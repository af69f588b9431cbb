"""Settings: defaults for the embedded mode, overridden by the environment.

Operators configure Carnet only through environment variables (see README).
`load_settings()` returns a flat dict that `create_app()` puts into
`app.config`; `check_production_settings()` refuses unsafe production setups.
"""

import base64
import binascii
import datetime as dt
import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_PATH = PROJECT_ROOT / "instance"

DEVELOPMENT_SECRET_KEY = "carnet-development-secret-key-do-not-use-in-production"  # nosec B105  # refused in production
MIN_SECRET_KEY_LENGTH = 32
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


def _env_int_list(name: str, default: list[int]) -> list[int]:
    value = os.environ.get(name)
    if value in (None, ""):
        return default
    return [int(part) for part in value.split(",") if part.strip()]


def load_settings() -> dict:
    """Read every setting from the environment, with embedded defaults."""
    env = os.environ.get("CARNET_ENV", "development")
    is_production = env == "production"
    database_url = os.environ.get(
        "DATABASE_URL", f"sqlite:///{INSTANCE_PATH / 'carnet.sqlite3'}"
    )
    patient_session_hours = _env_int("CARNET_PATIENT_SESSION_LIFETIME_HOURS", 24 * 7)
    professional_session_hours = _env_int("CARNET_SESSION_LIFETIME_HOURS", 12)
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
        "CARNET_SMS_BACKEND": os.environ.get("CARNET_SMS_BACKEND", "console"),
        "CARNET_OUTBOX_MAX_ATTEMPTS": _env_int("CARNET_OUTBOX_MAX_ATTEMPTS", 6),
        "CARNET_OUTBOX_RETRY_SECONDS": _env_int("CARNET_OUTBOX_RETRY_SECONDS", 60),
        "CARNET_REMINDER_HOURS": _env_int_list("CARNET_REMINDER_HOURS", [48, 2]),
        "CARNET_EMAIL_CONFIRMATION_DAYS": _env_int("CARNET_EMAIL_CONFIRMATION_DAYS", 7),
        "CARNET_INVITATION_DAYS": _env_int("CARNET_INVITATION_DAYS", 14),
        "CARNET_DESK_IDENTIFICATION_MAX_FAILURES": _env_int("CARNET_DESK_IDENTIFICATION_MAX_FAILURES", 10),
        "CARNET_DESK_IDENTIFICATION_WINDOW_MINUTES": _env_int("CARNET_DESK_IDENTIFICATION_WINDOW_MINUTES", 60),
        "CARNET_HOLD_MINUTES": _env_int("CARNET_HOLD_MINUTES", 5),
        "CARNET_SCHEDULER": os.environ.get("CARNET_SCHEDULER", "in-process"),
        "CARNET_BILLING_PROVIDER": os.environ.get("CARNET_BILLING_PROVIDER", "manual"),
        "STRIPE_SECRET_KEY": os.environ.get("STRIPE_SECRET_KEY", ""),
        "STRIPE_WEBHOOK_SECRET": os.environ.get("STRIPE_WEBHOOK_SECRET", ""),
        "STRIPE_PRICE_ID": os.environ.get("STRIPE_PRICE_ID", ""),
        "STRIPE_API_BASE": os.environ.get("STRIPE_API_BASE", ""),
        "STRIPE_CLINIC_PRICE_ID": os.environ.get("STRIPE_CLINIC_PRICE_ID", ""),
        "CARNET_PLAN_PRACTITIONER_CENTS": _env_int("CARNET_PLAN_PRACTITIONER_CENTS", 8900),
        "CARNET_PLAN_CLINIC_CENTS": _env_int("CARNET_PLAN_CLINIC_CENTS", 7900),
        "CARNET_VAT_RATE": os.environ.get("CARNET_VAT_RATE", "20"),
        # A seller under the "franchise en base" (CGI art. 293 B) charges no VAT and says so on invoices.
        "CARNET_VAT_FRANCHISE": _env_bool("CARNET_VAT_FRANCHISE", False),
        # Why a 0 % line is exempt (printed, and sent in the Factur-X XML), with its VATEX code if any.
        "CARNET_VAT_EXEMPTION_REASON": os.environ.get("CARNET_VAT_EXEMPTION_REASON", ""),
        "CARNET_VAT_EXEMPTION_CODE": os.environ.get("CARNET_VAT_EXEMPTION_CODE", ""),
        "CARNET_TRIAL_DAYS": _env_int("CARNET_TRIAL_DAYS", 30),
        "CARNET_GRACE_DAYS": _env_int("CARNET_GRACE_DAYS", 14),
        "CARNET_PAYMENT_TERMS_DAYS": _env_int("CARNET_PAYMENT_TERMS_DAYS", 30),
        "CARNET_SELLER_NAME": os.environ.get("CARNET_SELLER_NAME", "Carnet SAS"),
        "CARNET_SELLER_ADDRESS": os.environ.get("CARNET_SELLER_ADDRESS", "10 rue de la Santé, 75013 Paris"),
        "CARNET_SELLER_SIRET": os.environ.get("CARNET_SELLER_SIRET", "00000000000000"),
        "CARNET_SELLER_VAT_NUMBER": os.environ.get("CARNET_SELLER_VAT_NUMBER", "FR00000000000"),
        "CARNET_SELLER_IBAN": os.environ.get("CARNET_SELLER_IBAN", "FR76 0000 0000 0000 0000 0000 000"),
        "CARNET_SELLER_BIC": os.environ.get("CARNET_SELLER_BIC", "CARNFRPPXXX"),
        # Printed on invoices when set: "SAS au capital de 10 000 €", "RCS Paris 000 000 000".
        "CARNET_SELLER_LEGAL_FORM": os.environ.get("CARNET_SELLER_LEGAL_FORM", ""),
        "CARNET_SELLER_REGISTRATION": os.environ.get("CARNET_SELLER_REGISTRATION", ""),
        # The late-payment penalty rate printed on invoices (Code de commerce L441-10).
        "CARNET_LATE_PENALTY_RATE": os.environ.get("CARNET_LATE_PENALTY_RATE",
                                                   "trois fois le taux d'intérêt légal"),
        "CARNET_DMP_ENDPOINT": os.environ.get("CARNET_DMP_ENDPOINT", ""),
        "CARNET_DMP_FOLDER": os.environ.get("CARNET_DMP_FOLDER", ""),
        "CARNET_DMP_AUTH": os.environ.get("CARNET_DMP_AUTH", "none"),
        "CARNET_DMP_BEARER_TOKEN": os.environ.get("CARNET_DMP_BEARER_TOKEN", ""),
        "CARNET_DMP_TOKEN_URL": os.environ.get("CARNET_DMP_TOKEN_URL", ""),
        "CARNET_DMP_CLIENT_ID": os.environ.get("CARNET_DMP_CLIENT_ID", ""),
        "CARNET_DMP_CLIENT_SECRET": os.environ.get("CARNET_DMP_CLIENT_SECRET", ""),
        "CARNET_DMP_SCOPE": os.environ.get("CARNET_DMP_SCOPE", ""),
        "CARNET_DMP_SOURCE_ID": os.environ.get("CARNET_DMP_SOURCE_ID", ""),
        "CARNET_DMP_CUSTODIAN_SYSTEM": os.environ.get("CARNET_DMP_CUSTODIAN_SYSTEM", "urn:oid:1.2.250.1.71.4.2.2"),
        "CARNET_DMP_CUSTODIAN_ID": os.environ.get("CARNET_DMP_CUSTODIAN_ID", ""),
        "CARNET_DMP_CUSTODIAN_NAME": os.environ.get("CARNET_DMP_CUSTODIAN_NAME", ""),
        "CARNET_DMP_INS_OID": os.environ.get("CARNET_DMP_INS_OID", "1.2.250.1.213.1.4.8"),
        "CARNET_DMP_OID_ROOT": os.environ.get("CARNET_DMP_OID_ROOT", "2.25"),
        "CARNET_DMP_DOCUMENT_CODES": os.environ.get("CARNET_DMP_DOCUMENT_CODES", ""),
        "CARNET_DMP_FACILITY_TYPE": os.environ.get("CARNET_DMP_FACILITY_TYPE", "SA07"),
        "CARNET_DMP_PRACTICE_SETTING": os.environ.get("CARNET_DMP_PRACTICE_SETTING", "AMBULATOIRE"),
        "CARNET_DMP_MAX_ATTEMPTS": _env_int("CARNET_DMP_MAX_ATTEMPTS", 10),
        "CARNET_DMP_RETRY_SECONDS": _env_int("CARNET_DMP_RETRY_SECONDS", 60),
        "CARNET_DMP_MAX_RETRY_SECONDS": _env_int("CARNET_DMP_MAX_RETRY_SECONDS", 6 * 3600),
        "CARNET_DMP_TIMEOUT_SECONDS": _env_int("CARNET_DMP_TIMEOUT_SECONDS", 30),
        # INSi teleservice (webapp/dmp/insi.py, SOAP): off unless set; only its answer qualifies an INS.
        "CARNET_INSI_ENDPOINT": os.environ.get("CARNET_INSI_ENDPOINT", ""),
        "CARNET_INSI_CERT": os.environ.get("CARNET_INSI_CERT", ""),
        "CARNET_INSI_KEY": os.environ.get("CARNET_INSI_KEY", ""),
        "CARNET_INSI_CA_BUNDLE": os.environ.get("CARNET_INSI_CA_BUNDLE", ""),
        "CARNET_INSI_TRANSPORT": os.environ.get("CARNET_INSI_TRANSPORT", ""),
        "CARNET_INSI_LPS_IDAM": os.environ.get("CARNET_INSI_LPS_IDAM", ""),
        "CARNET_INSI_LPS_NAME": os.environ.get("CARNET_INSI_LPS_NAME", ""),
        "CARNET_INSI_LPS_VERSION": os.environ.get("CARNET_INSI_LPS_VERSION", ""),
        "CARNET_INSI_LPS_INSTANCE": os.environ.get("CARNET_INSI_LPS_INSTANCE", ""),
        "CARNET_INSI_EMITTER": os.environ.get("CARNET_INSI_EMITTER", ""),
        "CARNET_INSI_TIMEOUT_SECONDS": _env_int("CARNET_INSI_TIMEOUT_SECONDS", 15),
        # Pro Santé Connect (e-CPS login of practitioners): off unless the issuer,
        # client id and secret are set (webapp/accounts/pro_sante_connect.py).
        "CARNET_PSC_ISSUER": os.environ.get("CARNET_PSC_ISSUER", ""),
        "CARNET_PSC_DISCOVERY_URL": os.environ.get("CARNET_PSC_DISCOVERY_URL", ""),
        "CARNET_PSC_CLIENT_ID": os.environ.get("CARNET_PSC_CLIENT_ID", ""),
        "CARNET_PSC_CLIENT_SECRET": os.environ.get("CARNET_PSC_CLIENT_SECRET", ""),
        "CARNET_PSC_SCOPES": os.environ.get("CARNET_PSC_SCOPES", "openid scope_all"),
        "CARNET_PSC_ACR": os.environ.get("CARNET_PSC_ACR", "eidas1"),
        "CARNET_PSC_TIMEOUT_SECONDS": _env_int("CARNET_PSC_TIMEOUT_SECONDS", 10),
        "RATELIMIT_STORAGE_URI": os.environ.get("CARNET_RATELIMIT_STORAGE", "memory://"),
        "RATELIMIT_ENABLED": _env_bool("CARNET_RATELIMIT_ENABLED", True),
        # While the shared store is unreachable, each process counts alone rather than failing requests.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "CARNET_LOGIN_LOCKOUT_ATTEMPTS": _env_int("CARNET_LOGIN_LOCKOUT_ATTEMPTS", 10),
        "CARNET_LOGIN_LOCKOUT_MINUTES": _env_int("CARNET_LOGIN_LOCKOUT_MINUTES", 15),
        "CARNET_API_TOKEN_HOURS": _env_int("CARNET_API_TOKEN_HOURS", 24 * 30),
        "CARNET_PASSWORD_RESET_MINUTES": _env_int("CARNET_PASSWORD_RESET_MINUTES", 60),
        # argon2id costs of new password hashes (argon2's recommended defaults).
        "CARNET_ARGON2_TIME_COST": 3,
        "CARNET_ARGON2_MEMORY_KIB": 64 * 1024,
        "CARNET_TOTP_ISSUER": os.environ.get("CARNET_TOTP_ISSUER", "Carnet"),
        "BABEL_DEFAULT_LOCALE": "fr",
        "BABEL_DEFAULT_TIMEZONE": "Europe/Paris",
        "CARNET_LOCALES": ["fr", "en"],
        "MAX_CONTENT_LENGTH": _env_int("CARNET_MAX_UPLOAD_BYTES", 10 * 1024 * 1024),
        "CARNET_SESSION_LIFETIME_HOURS": professional_session_hours,
        "CARNET_SESSION_IDLE_MINUTES": _env_int("CARNET_SESSION_IDLE_MINUTES", 30),
        "CARNET_PATIENT_SESSION_LIFETIME_HOURS": patient_session_hours,
        "CARNET_PATIENT_SESSION_IDLE_MINUTES": _env_int("CARNET_PATIENT_SESSION_IDLE_MINUTES", 24 * 60),
        "CARNET_REAUTH_MINUTES": _env_int("CARNET_REAUTH_MINUTES", 10),
        "CARNET_PROXY_HOPS": _env_int("CARNET_PROXY_HOPS", 0),
        # The cookie lives as long as the longest role's session; each role's
        # own limits are checked on every request (webapp/accounts/sessions.py).
        "PERMANENT_SESSION_LIFETIME": dt.timedelta(hours=max(patient_session_hours, professional_session_hours)),
        # "__Host-" makes browsers refuse the cookie unless Secure, host-only, path "/".
        "SESSION_COOKIE_NAME": "__Host-session" if is_production else "session",
        "CARNET_NOTEBOOK_MAX_ATTACHMENT_BYTES": _env_int("CARNET_NOTEBOOK_MAX_ATTACHMENT_BYTES", 10 * 1000 * 1000),
        "CARNET_NOTEBOOK_EMERGENCY_MINUTES": _env_int("CARNET_NOTEBOOK_EMERGENCY_MINUTES", 60),
        # Emergency accesses one practitioner may open in any 24 hours; the next is refused and the operator told.
        "CARNET_EMERGENCY_MAX_PER_DAY": _env_int("CARNET_EMERGENCY_MAX_PER_DAY", 3),
        # Where operator alerts go; unset, to every active admin account.
        "CARNET_OPERATOR_EMAIL": os.environ.get("CARNET_OPERATOR_EMAIL", "").strip(),
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


def is_fernet_key(key: str) -> bool:
    try:
        return len(base64.urlsafe_b64decode(key.encode())) == 32
    except (binascii.Error, ValueError):
        return False


def check_production_settings(settings: dict) -> None:
    """Refuse to run in production with development, missing or weak secrets."""
    if settings["CARNET_ENV"] != "production":
        return
    if settings["SECRET_KEY"] == DEVELOPMENT_SECRET_KEY:
        raise ConfigurationError("SECRET_KEY must be set in production.")
    if len(settings["SECRET_KEY"]) < MIN_SECRET_KEY_LENGTH:
        raise ConfigurationError(f"SECRET_KEY must be at least {MIN_SECRET_KEY_LENGTH} random characters.")
    keys = settings["CARNET_ENCRYPTION_KEYS"]
    if not keys or DEVELOPMENT_ENCRYPTION_KEY in keys:
        raise ConfigurationError("CARNET_ENCRYPTION_KEYS must be set in production.")
    if not all(is_fernet_key(key) for key in keys):
        raise ConfigurationError("CARNET_ENCRYPTION_KEYS must be Fernet keys (32 url-safe base64 bytes).")
    if settings["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        raise ConfigurationError("DATABASE_URL must point to PostgreSQL in production.")
    if settings["CARNET_MAIL_TRANSPORT"] != "smtp":
        # The console transport would write every message, links and codes included, into the logs.
        raise ConfigurationError("CARNET_MAIL_TRANSPORT must be smtp in production.")
