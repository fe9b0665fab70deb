"""Settings, read from the environment (12-factor).

`DJANGO_ENV` is `dev` (default, embedded SQLite, eager Celery, log push), `test` or `prod`.
Any secret may also be given as `<NAME>_FILE`, the path of a file holding it.
"""

import base64
import hashlib
from datetime import timedelta
from pathlib import Path
from typing import Any

import environ
from celery.schedules import crontab
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DJANGO_ENV = env.str("DJANGO_ENV", default="dev")
if DJANGO_ENV not in {"dev", "test", "prod"}:
    raise ImproperlyConfigured("DJANGO_ENV must be one of dev, test, prod")
IS_PROD = DJANGO_ENV == "prod"

# Development defaults; prod refuses them (below).
_DEV_SECRET = "dev-only-secret-key-not-for-production-0000000000000000"  # nosec B105
_DEV_JWT_KEY = "dev-only-jwt-signing-key-not-for-production-000000000000"  # nosec B105


def secret(name: str, default: str = "") -> str:
    """Read a secret from `NAME` or from the file named by `NAME_FILE`."""
    path = env.str(f"{name}_FILE", default="")
    if path:
        return Path(path).read_text(encoding="utf-8").strip()
    return env.str(name, default=default)


SECRET_KEY = secret("SECRET_KEY", _DEV_SECRET)
JWT_SIGNING_KEY = secret("JWT_SIGNING_KEY", _DEV_JWT_KEY)
DEBUG = env.bool("DEBUG", default=DJANGO_ENV == "dev")


def _field_encryption_keys() -> list[str]:
    """Fernet keys for field-level encryption (`common.crypto`): the first encrypts, all
    decrypt. Comma-separated in FIELD_ENCRYPTION_KEYS (or its `_FILE`); outside prod a key
    derived from SECRET_KEY stands in, prod requires its own."""
    keys = [key.strip() for key in secret("FIELD_ENCRYPTION_KEYS").split(",") if key.strip()]
    if not keys:
        if IS_PROD:
            raise ImproperlyConfigured("prod needs FIELD_ENCRYPTION_KEYS")
        digest = hashlib.sha256(b"field-encryption:" + SECRET_KEY.encode()).digest()
        keys = [base64.urlsafe_b64encode(digest).decode("ascii")]
    for key in keys:
        try:
            Fernet(key)
        except ValueError:
            raise ImproperlyConfigured(
                "FIELD_ENCRYPTION_KEYS holds a key that is not 32 url-safe base64 bytes "
                "(make one with Fernet.generate_key())"
            ) from None
    return keys


ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

if IS_PROD:
    if SECRET_KEY == _DEV_SECRET or JWT_SIGNING_KEY == _DEV_JWT_KEY:
        raise ImproperlyConfigured("prod needs SECRET_KEY and JWT_SIGNING_KEY of its own")
    if JWT_SIGNING_KEY == SECRET_KEY:
        raise ImproperlyConfigured("JWT_SIGNING_KEY must differ from SECRET_KEY")
    if len(JWT_SIGNING_KEY.encode()) < 32:
        # HS256 keys shorter than the hash (RFC 7518 §3.2) can be brute-forced offline.
        raise ImproperlyConfigured("JWT_SIGNING_KEY must be at least 32 bytes")
    if not env.str("REDIS_URL", default=""):
        # Throttles and login delays must be shared by every worker, not kept per process.
        raise ImproperlyConfigured("prod needs REDIS_URL")
    if DEBUG:
        raise ImproperlyConfigured("prod refuses DEBUG=true")
    if not env.str("DATABASE_URL", default=""):
        raise ImproperlyConfigured("prod needs DATABASE_URL")

FIELD_ENCRYPTION_KEYS = _field_encryption_keys()

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "drf_standardized_errors",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "common",
    "agencies",
    "accounts",
    "casework",
    "services",
    "feedback",
    "notifications",
    "webhooks",
    "onestop",
    # django.contrib.admin with the staff site as `admin.site`. Last, so that templates of the
    # apps above (e.g. common/templates/admin/) override the admin's own.
    "onestop.apps.StaffAdminConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # X-Request-ID in and out, bound for logs, tasks and outgoing calls; one log line per request.
    "common.request_id.RequestIdMiddleware",
    # Prometheus: requests by route, status and time, queries (common/metrics.py).
    "common.metrics.MetricsMiddleware",
    # Errors under /api/ in the one JSON error shape, whoever answered them (DEBUG pages too).
    "common.api.error_pages.ApiErrorShapeMiddleware",
    # Content-Security-Policy on the admin and the API docs (same origin only).
    "common.api.csp.ContentSecurityPolicyMiddleware",
    # `private, no-cache` on authenticated API answers that set no Cache-Control themselves.
    "common.api.caching.ApiCacheControlMiddleware",
    # Query parameters with forbidden characters refused; pages with stored bad text rendered.
    "common.api.hygiene.TextHygieneMiddleware",
    # Brotli/gzip for JSON: outermost after security, so it sees the body every other
    # middleware has finished with (Django's advice for GZipMiddleware).
    "common.api.compression.CompressionMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # `request.user.is_verified()`: signed in to the admin with a second factor.
    "django_otp.middleware.OTPMiddleware",
    # Admin pages: Vietnamese unless the staff member chose otherwise (not Accept-Language).
    "common.i18n.admin_language.AdminLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Admin sign-in lockout per (account, address); after the others, as django-axes asks.
    "axes.middleware.AxesMiddleware",
    # Public reads (catalog, public feed, statistics) from the read replica, when there is
    # one (common/db_routing.py); its process_view runs before the next one calls the view.
    "common.db_routing.ReplicaReadsMiddleware",
    # API writes and the rendering of their answers in one transaction; it calls the view
    # from process_view, so it comes after every other middleware.
    "common.api.atomic.AtomicWritesMiddleware",
]

if IS_PROD:
    # gunicorn serves the admin's static files itself; runserver does it in dev.
    MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
# Persistent connections: opening one (plus its SET TIME ZONE) per request took about a fifth
# of a worker's time (bench/README.md). Each worker thread keeps its own for up to a minute,
# checked before reuse after a request, so a restarted server or PgBouncer costs no errors.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("CONN_HEALTH_CHECKS", default=True)
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# Behind PgBouncer in transaction mode a named cursor cannot outlive its transaction's
# server connection: set DISABLE_SERVER_SIDE_CURSORS=true there (docs/operations.md).
DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = env.bool(
    "DISABLE_SERVER_SIDE_CURSORS", default=False
)
# A streaming replica of the primary (e.g. through its own PgBouncer): anonymous reads of the
# catalog, the public feed and statistics go there; writes, signed-in and sync reads never do
# (common/db_routing.py). Unset: everything on `default`.
DATABASE_REPLICA_URL = env.str("DATABASE_REPLICA_URL", default="")
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = {
        **env.db_url_config(DATABASE_REPLICA_URL),
        "CONN_MAX_AGE": DATABASES["default"]["CONN_MAX_AGE"],
        "CONN_HEALTH_CHECKS": DATABASES["default"]["CONN_HEALTH_CHECKS"],
        "ATOMIC_REQUESTS": False,
        "DISABLE_SERVER_SIDE_CURSORS": DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"],
    }
    DATABASE_ROUTERS = ["common.db_routing.PrimaryReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "accounts.backends.PhoneBackend"]

# Staff second factor (TOTP, django-otp): the admin asks for it and staff tokens without it
# act as their citizen self. On in prod; the tests that test it turn it on.
STAFF_2FA_REQUIRED = env.bool("STAFF_2FA_REQUIRED", default=IS_PROD)
OTP_TOTP_ISSUER = "Dich vu cong vung cao"
# django-axes: after 5 wrong admin sign-ins from one address for one account, that pair waits
# 30 minutes. The API's login has its own growing delays (accounts/api/views.py).
AXES_ONLY_ADMIN_SITE = True
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=30)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# The admin's sign-in form names the phone `username` (the user model's field is `phone`).
AXES_USERNAME_FORM_FIELD = "username"
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "common.api.throttling.client_address"
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ("phone", "full_name")},
    },
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 8},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if DJANGO_ENV == "test":
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

LANGUAGE_CODE = "vi"
LANGUAGES = [("vi", "Tiếng Việt"), ("en", "English")]
TIME_ZONE = "Asia/Ho_Chi_Minh"
USE_I18N = True
USE_TZ = True
LOCALE_PATHS = [BASE_DIR / "locale"]

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(BASE_DIR / "media"))
STORAGES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if IS_PROD
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# Private files (attachments, previews, audio help, pieces of resumable uploads), through
# `common.files.storage`: `local` (MEDIA_ROOT/private) or `s3` (any S3-compatible store; the
# bucket stays private, downloads are streamed through the app's signed links). Several web
# servers need `s3` (or one shared disk).
STORAGE_BACKEND = env.str("STORAGE_BACKEND", default="local")
if STORAGE_BACKEND == "s3":
    STORAGES["private"] = {
        "BACKEND": "common.files.storage.PrivateS3Storage",
        "OPTIONS": {
            "bucket_name": env.str("AWS_STORAGE_BUCKET_NAME", default=""),
            # Empty: AWS itself; e.g. http://127.0.0.1:9555 for a local S3-compatible server.
            "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("AWS_S3_REGION_NAME", default="") or None,
            # Empty: boto3's own chain (instance role, AWS_* variables, ~/.aws).
            "access_key": secret("AWS_ACCESS_KEY_ID") or None,
            "secret_key": secret("AWS_SECRET_ACCESS_KEY") or None,
            "location": env.str("AWS_LOCATION", default="private"),
            # No ACL sent: objects take the bucket's (private; block public access on it).
            "default_acl": None,
            "file_overwrite": True,  # names are random; no existence check per save
            "addressing_style": env.str("AWS_S3_ADDRESSING_STYLE", default="") or None,
        },
    }
    if not STORAGES["private"]["OPTIONS"]["bucket_name"]:
        raise ImproperlyConfigured("STORAGE_BACKEND=s3 needs AWS_STORAGE_BUCKET_NAME")
elif STORAGE_BACKEND == "local":
    STORAGES["private"] = {"BACKEND": "common.files.storage.PrivateStorage"}
else:
    raise ImproperlyConfigured("STORAGE_BACKEND must be local or s3")

# Uploads (common/files/): type by content, caps per kind. Stored files live under
# MEDIA_ROOT/private, which no URL serves; they leave only through signed links this short-lived.
FILE_MAX_IMAGE_BYTES = env.int("FILE_MAX_IMAGE_BYTES", default=10 * 1024 * 1024)
FILE_MAX_PDF_BYTES = env.int("FILE_MAX_PDF_BYTES", default=10 * 1024 * 1024)
FILE_MAX_AUDIO_BYTES = env.int("FILE_MAX_AUDIO_BYTES", default=10 * 1024 * 1024)
# Decoded size, not file size: a few KB of PNG can claim gigapixels (decompression bomb).
FILE_MAX_IMAGE_PIXELS = env.int("FILE_MAX_IMAGE_PIXELS", default=64_000_000)
AUDIO_MAX_SECONDS = env.int("AUDIO_MAX_SECONDS", default=300)
DOWNLOAD_URL_TTL_SECONDS = env.int("DOWNLOAD_URL_TTL_SECONDS", default=300)
# Audio help is public catalog content: its links live a day and stay the same for half a
# day, so a service's body and ETag do not change with every minute's new signature.
AUDIO_HELP_URL_TTL_SECONDS = env.int("AUDIO_HELP_URL_TTL_SECONDS", default=24 * 3600)

# `manage.py backup` / `restore` (make backup, make restore): database dumps under db/, a
# copy of every stored file under files/ (common/backups.py, docs/operations.md).
BACKUP_DIR = env.path("BACKUP_DIR", default=str(BASE_DIR / "backups"))

# Data rights (docs/privacy.md). A dossier of a closed account keeps its applicant's name and
# phone for the handling agency this many days after it ended (10 years by default: the
# archive period of most procedures' files), then is pseudonymised.
DOSSIER_RETENTION_DAYS = env.int("DOSSIER_RETENTION_DAYS", default=3650)

# Redis is optional: without REDIS_URL the cache is in-process. The cache backend fails
# open, so a Redis outage never turns an API call into an error.
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "common.cache.FailOpenRedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Celery: eager by default in dev/test so `make run` needs no broker.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "memory://")
# A worker in dev needs CELERY_TASK_ALWAYS_EAGER=false (the Makefile's worker target sets it).
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not IS_PROD)
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 2, "socket_timeout": 2}
# Seconds a publish after commit may take before it is given up (the sweep delivers later).
CELERY_PUBLISH_TIMEOUT = env.float("CELERY_PUBLISH_TIMEOUT", default=2.0)
# One queue per kind of work, so a flood of one (an announcement to a province) never delays
# another (one-time codes by SMS). A worker started without -Q takes them all (`make worker`,
# the tests); compose.yaml runs one worker per queue. Redis or RabbitMQ (amqp://) alike.
CELERY_TASK_DEFAULT_QUEUE = "celery"
# Workers log through LOGGING (JSON lines with the request id), not Celery's own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TASK_QUEUES = [
    Queue(name) for name in ("pushes", "sms", "fanout", "housekeeping", CELERY_TASK_DEFAULT_QUEUE)
]
CELERY_TASK_ROUTES = {
    "notifications.tasks.deliver_pushes": {"queue": "pushes"},
    # The sweep is the outbox's catch-up; it sends pushes (and the few SMS left pending).
    "notifications.tasks.sweep_outbox": {"queue": "pushes"},
    "notifications.tasks.deliver_sms": {"queue": "sms"},
    "notifications.tasks.fan_out_announcement": {"queue": "fanout"},
    # Webhooks to agency systems: slow receivers must not hold up pushes or SMS.
    "webhooks.tasks.*": {"queue": "fanout"},
    # Its beat job only publishes deliveries.
    "webhooks.tasks.sweep_webhooks": {"queue": "housekeeping"},
    "common.tasks.*": {"queue": "housekeeping"},
    "accounts.tasks.*": {"queue": "housekeeping"},
    "notifications.tasks.prune_stale_devices": {"queue": "housekeeping"},
    "notifications.tasks.purge_finished_outbox": {"queue": "housekeeping"},
    "services.tasks.*": {"queue": "housekeeping"},
    "feedback.tasks.*": {"queue": "housekeeping"},
}
CELERY_BEAT_SCHEDULE = {
    "sweep-outbox": {"task": "notifications.tasks.sweep_outbox", "schedule": 60.0},
    "sweep-webhooks": {"task": "webhooks.tasks.sweep_webhooks", "schedule": 60.0},
    "prune-stale-devices": {
        "task": "notifications.tasks.prune_stale_devices",
        "schedule": crontab(hour=2, minute=43),
    },
    "flush-expired-tokens": {
        "task": "accounts.tasks.flush_expired_tokens",
        "schedule": crontab(hour=3, minute=17),
    },
    "purge-one-time-codes": {
        "task": "accounts.tasks.purge_one_time_codes",
        "schedule": crontab(minute=23),
    },
    "purge-idempotency-records": {
        "task": "common.tasks.purge_idempotency_records",
        "schedule": crontab(minute=41),
    },
    # Resumable uploads unfinished (or not attached) 24 hours after their last piece.
    "purge-expired-uploads": {
        "task": "common.tasks.purge_expired_uploads",
        "schedule": crontab(minute=47),
    },
    # Sync removals older than SYNC_REMOVAL_HORIZON_DAYS.
    "prune-sync-removals": {
        "task": "common.tasks.prune_sync_removals",
        "schedule": crontab(hour=2, minute=53),
    },
    # Pushes and SMS sent or given up more than OUTBOX_RETENTION_DAYS ago.
    "purge-finished-outbox": {
        "task": "notifications.tasks.purge_finished_outbox",
        "schedule": crontab(hour=4, minute=13),
    },
    # 07:00 in TIME_ZONE (Asia/Ho_Chi_Minh), before offices open.
    "notify-due-dossiers": {
        "task": "services.tasks.notify_due_dossiers",
        "schedule": crontab(hour=7, minute=0),
    },
    # Answered feedback not reopened within 7 days closes itself.
    "close-answered-feedback": {
        "task": "feedback.tasks.close_answered",
        "schedule": crontab(hour=1, minute=23),
    },
    # Dossiers of closed accounts past DOSSIER_RETENTION_DAYS lose the applicant's identity.
    "pseudonymise-retained-dossiers": {
        "task": "services.tasks.pseudonymise_retained_dossiers",
        "schedule": crontab(hour=3, minute=37),
    },
}

# Push backends: `fcm` | `log` | `memory`.
PUSH_BACKEND = env.str("PUSH_BACKEND", default="log")
FCM_ENDPOINT = env.str("FCM_ENDPOINT", default="")
FCM_PROJECT_ID = env.str("FCM_PROJECT_ID", default="demo-project")
GOOGLE_APPLICATION_CREDENTIALS = env.str("GOOGLE_APPLICATION_CREDENTIALS", default="")
FCM_HTTP_TIMEOUT_SECONDS = env.float("FCM_HTTP_TIMEOUT_SECONDS", default=10.0)
# Keep-alive connections per worker process to FCM at most (notifications.push._FcmSender):
# HTTP/2 ones carry up to 100 requests at once each and open only as they fill; HTTP/1.1 ones
# (a server without h2) one request at a time.
FCM_CONNECTIONS = env.int("FCM_CONNECTIONS", default=8)
# The CA certificate(s) to trust for an https FCM_ENDPOINT instead of the system's store, e.g.
# the one `python -m notifications.fake_fcm --tls --write-ca PATH` writes.
FCM_CA_FILE = env.str("FCM_CA_FILE", default="")
PUSH_TTL_SECONDS = env.int("PUSH_TTL_SECONDS", default=3 * 24 * 3600)
PUSH_MAX_ATTEMPTS = env.int("PUSH_MAX_ATTEMPTS", default=8)
PUSH_LEASE_SECONDS = env.int("PUSH_LEASE_SECONDS", default=120)
# `log` | `memory` | `http` (a JSON gateway; `make fake-sms` runs a local one). Another
# provider is one more backend in notifications/sms.py.
SMS_BACKEND = env.str("SMS_BACKEND", default="log")
SMS_HTTP_URL = env.str("SMS_HTTP_URL", default="")
SMS_HTTP_TOKEN = secret("SMS_HTTP_TOKEN")
SMS_SENDER = env.str("SMS_SENDER", default="DichVuCong")
SMS_HTTP_TIMEOUT = env.float("SMS_HTTP_TIMEOUT", default=5.0)
# Further tries within one send after a 429, a 5xx or a network error; then the outbox retries.
SMS_HTTP_RETRIES = env.int("SMS_HTTP_RETRIES", default=2)

# SMS commands (`onestop.sms`): the token the SMS gateway sends on `POST sms/inbound/`
# (empty: the hook refuses every call), and the limits per sending number.
SMS_INBOUND_TOKEN = secret("SMS_INBOUND_TOKEN", "" if IS_PROD else "dev-sms-inbound-token")
SMS_COMMANDS_PER_HOUR = env.int("SMS_COMMANDS_PER_HOUR", default=10)
SMS_PETITIONS_PER_DAY = env.int("SMS_PETITIONS_PER_DAY", default=3)

# Outgoing webhooks (`webhooks`, Standard Webhooks). Private, loopback and link-local
# receivers (and plain http) are allowed only outside prod, so `make run` and the tests can
# deliver to a local receiver.
WEBHOOK_ALLOW_PRIVATE = env.bool("WEBHOOK_ALLOW_PRIVATE", default=not IS_PROD)
WEBHOOK_HTTPS_ONLY = env.bool("WEBHOOK_HTTPS_ONLY", default=IS_PROD)
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10.0)
WEBHOOK_LEASE_SECONDS = env.int("WEBHOOK_LEASE_SECONDS", default=300)
WEBHOOK_RETRY_HOURS = env.float("WEBHOOK_RETRY_HOURS", default=24.0)
WEBHOOK_SECRET_OVERLAP_HOURS = env.float("WEBHOOK_SECRET_OVERLAP_HOURS", default=24.0)


def check_sms_backend(backend: str, url: str, token: str) -> None:
    """Refuse to start with an `http` SMS backend that has nowhere to send or no token."""
    if backend == "http" and not (url and token):
        raise ImproperlyConfigured(
            "SMS_BACKEND=http needs SMS_HTTP_URL and SMS_HTTP_TOKEN (or SMS_HTTP_TOKEN_FILE)"
        )


check_sms_backend(SMS_BACKEND, SMS_HTTP_URL, SMS_HTTP_TOKEN)
if IS_PROD and PUSH_BACKEND != "fcm":
    raise ImproperlyConfigured("prod needs PUSH_BACKEND=fcm")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.VersionedJWTAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON and multipart with text hygiene (common/api/parsers.py).
    "DEFAULT_PARSER_CLASSES": ["common.api.parsers.JSONParser"],
    # orjson, writing what DRF's JSONRenderer wrote (common/api/renderers.py); no browsable API.
    "DEFAULT_RENDERER_CLASSES": ["common.api.renderers.FastJSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "common.api.pagination.CursorPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "common.api.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "drf_standardized_errors.handler.exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        "login": env.str("THROTTLE_LOGIN", default="5/min"),
        "register": env.str("THROTTLE_REGISTER", default="10/hour"),
        # Claim codes per phone: each is an SMS, each allows accounts.otp.MAX_ATTEMPTS guesses.
        "claim": env.str("THROTTLE_CLAIM", default="3/hour"),
        # One-time codes asked per address (a village shares one carrier IP).
        "otp": env.str("THROTTLE_OTP", default="30/hour"),
        "anon": env.str("THROTTLE_ANON", default="600/min"),
        "user_write": env.str("THROTTLE_USER_WRITE", default="120/min"),
        # Per tracking code: a code plus the phone's last 4 digits must not be guessable.
        "lookup": env.str("THROTTLE_LOOKUP", default="10/min"),
    },
    "DEFAULT_THROTTLE_CLASSES": ["common.api.throttling.GenerousAnonRateThrottle"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

DRF_STANDARDIZED_ERRORS = {
    "ENABLE_IN_DEBUG_FOR_UNHANDLED_EXCEPTIONS": True,
    "EXCEPTION_HANDLER_CLASS": "common.api.errors.ExceptionHandler",
    # The spec: one shared error component per status (common.api.openapi); 405, 406 and
    # 415 are described once in `components.responses`, not on every operation.
    "ALLOWED_ERROR_STATUS_CODES": ["400", "401", "403", "404", "429", "500"],
    "ERROR_SCHEMAS": {
        status: f"common.api.openapi.ErrorResponse{status}"
        for status in ("400", "401", "403", "404", "429", "500")
    },
}

# `?updated_since=` sync: how far `server_time` trails the clock. Longer than any transaction
# that stamps `updated_at` (gunicorn kills a request after 30 s) plus clock skew between app
# servers, or a phone may miss a row committed late (see common/api/sync.py).
SYNC_SAFETY_MARGIN_SECONDS = env.int("SYNC_SAFETY_MARGIN_SECONDS", default=60)
# Removals (`SyncRemoval`) are remembered this long, then pruned; a phone whose
# `updated_since` is older gets every item of its list with `full_resync: true`. Longer than a
# refresh token lives (30 days), so a phone still signed in rarely needs it.
SYNC_REMOVAL_HORIZON_DAYS = env.int("SYNC_REMOVAL_HORIZON_DAYS", default=90)
# Pushes and SMS that were sent or given up stay this long in the outbox (for support), then
# are purged.
OUTBOX_RETENTION_DAYS = env.int("OUTBOX_RETENTION_DAYS", default=30)

# Proxies whose X-Forwarded-For is believed (CIDR list, e.g. "10.0.0.0/8,127.0.0.1/32"); empty:
# the socket's address is the client's (common/api/throttling.py).
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])

# A rotated refresh token sent again within this many seconds gets the same answer again (the
# phone lost the first one); later, its session is revoked as stolen (accounts/sessions.py).
JWT_REUSE_GRACE_SECONDS = env.int("JWT_REUSE_GRACE_SECONDS", default=60)

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=10)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=30)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "ALGORITHM": "HS256",
    "SIGNING_KEY": JWT_SIGNING_KEY,
    "AUDIENCE": env.str("JWT_AUDIENCE", default="dichvu-vungcao-app"),
    "ISSUER": env.str("JWT_ISSUER", default="dichvu-vungcao"),
    "LEEWAY": 5,
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
    "CHECK_USER_IS_ACTIVE": True,
    "AUTH_HEADER_TYPES": ("Bearer",),
}

SPECTACULAR_SETTINGS = {
    # ASCII, so that generators make a valid package name of it; the Vietnamese name opens
    # the description.
    "TITLE": "Dich vu cong vung cao API",
    "DESCRIPTION": (
        "**Dịch vụ công vùng cao** — online public services and citizen feedback (PAKN) for "
        "Vietnam's remote ethnic-minority regions.\n\n"
        "Every error, on every path under `/api/`, has the shape "
        '`{"type": ..., "errors": [{"code", "detail", "attr"}]}`; each status has one '
        "component (`ErrorResponse400`, `ErrorResponse409`, …) whose `code` enum lists every "
        "code it can carry. Any operation may also answer, in the same shape with `type` "
        "`client_error`: 405 `method_not_allowed` (a method the path does not take; `Allow` "
        "lists those it takes), 406 `not_acceptable` (an `Accept` the API cannot serve) or "
        "415 `unsupported_media_type` (a body type it does not read). No app sends those on "
        "purpose, so they are described here once rather than on every operation. Guide for "
        "app developers: docs/app-developers.md.\n\n"
        "The exception: `/open311/v2/` (tag `open311`), Open311 GeoReport v2 over feedback "
        "for civic reporting apps. It follows that standard, not the conventions above: "
        "form-encoded requests, an `api_key` per client application (`open311ApiKey`), JSON "
        "or XML answers by the path's suffix, and errors as GeoReport's own "
        "`[{code, description}]` list."
    ),
    "VERSION": "1.0.0",
    "LICENSE": {"name": "AGPL-3.0-or-later", "url": "https://www.gnu.org/licenses/agpl-3.0.html"},
    "CONTACT": {"name": "The project's maintainers (README.md)"},
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "SWAGGER_UI_DIST": "SIDECAR",
    # Documents HEAD and OPTIONS where a view asks for it (tus uploads).
    "DEFAULT_GENERATOR_CLASS": "common.api.openapi.SchemaGenerator",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        name: f"drf_standardized_errors.openapi_serializers.{name}.choices"
        for name in (
            "ValidationErrorEnum",
            "ClientErrorEnum",
            "ServerErrorEnum",
            *(f"ErrorCode{code}Enum" for code in (401, 403, 404, 405, 406, 415, 429, 500)),
        )
    }
    | {
        "AdministrativeUnitLevelEnum": "agencies.models.AdministrativeUnit.Level",
        "AgencyLevelEnum": "agencies.models.Agency.Level",
        "ServiceLevelEnum": "services.models.PublicService.Level",
        "ServiceRequestAttachmentKindEnum": "services.models.ServiceRequestAttachment.Kind",
        "SupplementItemKindEnum": "services.models.SupplementItemKind",
        # Keeps the dossier's status enum named as before feedback brought a second one.
        "StatusEnum": "services.models.ServiceRequest.Status",
        "FeedbackStatusEnum": "feedback.models.Feedback.Status",
        "FeedbackAttachmentKindEnum": "feedback.models.FeedbackAttachment.Kind",
        "FeedbackCategoryLevelEnum": "feedback.models.FeedbackCategory.Level",
        "OtpPurposeEnum": "accounts.models.OneTimeCode.Purpose",
        "ConsentPurposeEnum": "accounts.models.Consent.Purpose",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_standardized_errors.openapi_hooks.postprocess_schema_enums",
        "common.api.openapi.postprocess_errors",
        "common.api.openapi_lists.postprocess_partial_objects",
        "common.api.openapi.postprocess_descriptions",
        "common.api.openapi.postprocess_headers",
        "common.api.openapi.postprocess_request_bodies",
        "common.api.openapi.postprocess_shared_parts",
        "config.openapi.name_operations",
        "onestop.open311.openapi.add_open311",
        "config.openapi.add_examples",
    ],
}

# `json`: one object per line with the request id (common/logs.py), for log shippers;
# `plain` for a terminal. Phone numbers and tokens are masked in both.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain" if DJANGO_ENV == "dev" else "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {
            "()": "common.logs.PlainFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s",
        },
        "json": {"()": "common.logs.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # The request line of common.request_id replaces Django's own.
        "django.server": {"level": "WARNING"},
    },
}
if LOG_FORMAT not in {"json", "plain"}:
    raise ImproperlyConfigured("LOG_FORMAT must be json or plain")

# Errors to Sentry when a DSN is given; never personal data (common/logs.py scrubs events).
SENTRY_DSN = secret("SENTRY_DSN")
if SENTRY_DSN:
    from common.logs import init_sentry

    init_sentry(SENTRY_DSN, DJANGO_ENV, env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0))

# Prometheus at /metrics (common/metrics.py): readable with `Authorization: Bearer
# METRICS_TOKEN` or from an address in METRICS_ALLOWED_NETWORKS (CIDR list, after
# TRUSTED_PROXIES). A Celery worker serves its own on METRICS_WORKER_PORT (0: none).
METRICS_TOKEN = secret("METRICS_TOKEN")
METRICS_ALLOWED_NETWORKS = env.list(
    "METRICS_ALLOWED_NETWORKS", default=[] if IS_PROD else ["127.0.0.1/32", "::1/128"]
)
METRICS_WORKER_PORT = env.int("METRICS_WORKER_PORT", default=0)

SECURE_CONTENT_TYPE_NOSNIFF = True
if IS_PROD:
    # Behind a TLS-terminating proxy that sets X-Forwarded-Proto; `manage.py check --deploy`
    # is clean with the defaults below, each one an env setting for other set-ups.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    # Load balancers probe over plain HTTP inside the network.
    SECURE_REDIRECT_EXEMPT = [r"^health/"]
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
