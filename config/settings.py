"""Quorum's one settings module: everything comes from the environment.

Embedded default (nothing set): SQLite in WAL mode under ``var/``, a filesystem Celery broker,
media on the local disk. Services mode: ``DATABASE_URL`` (PostgreSQL) and ``REDIS_URL``
(Celery broker and cache).
"""

import os
import secrets
import sys
from pathlib import Path

import dj_database_url

from config.secret_key import installation_secret_key

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("QUORUM_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [part.strip() for part in os.environ.get(name, default).split(",") if part.strip()]


TESTING = "pytest" in sys.modules or env_bool("QUORUM_TESTING")
DEBUG = env_bool("DEBUG")
# The demo (`make run`): Django's debug pages off, but what a local checkout needs still on
# (the key file, static files from the source folders, cookies over plain HTTP, quiet logs).
DEMO = env_bool("QUORUM_DEMO")

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if TESTING:
        SECRET_KEY = secrets.token_urlsafe(50)
    elif DEBUG or DEMO:
        # One key for every process of this installation (web workers, Celery, commands).
        SECRET_KEY = installation_secret_key(VAR_DIR)
    else:
        raise RuntimeError(
            "SECRET_KEY is required when DEBUG is off: set SECRET_KEY (production), "
            "or DEBUG=1 / QUORUM_DEMO=1 to use a key kept in the data folder"
        )

# Encrypts the secrets Quorum must read back (access-key secrets, workflows/crypto.py): Fernet
# keys, comma-separated, the first encrypts. Unset: derived from SECRET_KEY (HKDF).
QUORUM_SECRET_ENCRYPTION_KEY = os.environ.get("QUORUM_SECRET_ENCRYPTION_KEY", "")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    # Kept for its migrations only: labeling 0009_t12 moved its tokens, hashed, to ApiToken.
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # the API docs page's assets, served from here (issue 12)
    "labeling",
    "workflows",
    "active_learning",
    "control_plane",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # A strict Content-Security-Policy on every response that has none of its own (issue 12).
    "labeling.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Before the CSRF check, which reads a form's body (issue 12).
    "labeling.middleware.RequestBodyLimitMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Django's MessageMiddleware for the pages; API requests get none (issue 20).
    "labeling.middleware.PageMessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
AUTH_USER_MODEL = "labeling.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "labeling.review.context.mentions_unread",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
SQLITE_PATH = VAR_DIR / "quorum.sqlite3"
DATABASE_URL = os.environ.get("DATABASE_URL", "")
DATABASES = {
    "default": dj_database_url.parse(DATABASE_URL or f"sqlite:///{SQLITE_PATH}", conn_max_age=0)
}
IS_SQLITE = DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
if IS_SQLITE:
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets readers run beside the one writer; IMMEDIATE takes the write lock at BEGIN
        # so two claims never both read and then fail to upgrade their lock.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
    # Threads of a test share a file database (an in-memory one cannot be shared); one file
    # per test run, so two runs in one checkout never write to each other's.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-quorum-{os.getpid()}.sqlite3")}
else:
    DATABASES["default"]["CONN_MAX_AGE"] = int(os.environ.get("CONN_MAX_AGE", "60"))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    if env_bool("PG_PREPARED_STATEMENTS", default=True):
        # Server-side binding lets psycopg prepare statements a connection repeats, so
        # PostgreSQL plans the hot ones once per connection instead of on every request.
        # Turn it off (PG_PREPARED_STATEMENTS=0) behind a transaction-mode pooler.
        DATABASES["default"]["OPTIONS"] = {"server_side_binding": True, "prepare_threshold": 5}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Broker and cache -----------------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
# Tests get a broker folder and a queue of their own, so a running dev server never takes
# (or gives) their messages.
BROKER_DIR = VAR_DIR / ("test-broker" if TESTING else "broker")
CELERY_TASK_DEFAULT_QUEUE = "quorum-test" if TESTING else "quorum"
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    # Outages (issue 12): keepalive and a health check find a dead connection before a
    # command does; a connect that hangs gives up, so the caller logs and moves on.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "health_check_interval": 10,
        "socket_keepalive": True,
        "retry_on_timeout": True,
        "socket_connect_timeout": 3,
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            # A request never hangs on a Redis that stopped answering (issue 12).
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
else:
    # A broker that needs no server: messages are files in var/broker, shared by the web
    # process and the Celery worker on one machine.
    CELERY_BROKER_URL = "filesystem://localhost/"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "out"),
        "data_folder_out": str(BROKER_DIR / "out"),
        "control_folder": str(BROKER_DIR / "control"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "store_processed": False,
    }
    for _folder in ("out", "control", "processed"):
        (BROKER_DIR / _folder).mkdir(parents=True, exist_ok=True)
    # A cache the web process and the worker share (import progress): files under var/.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
            # Past MAX_ENTRIES the file cache deletes a random third of its entries, sign-in
            # locks among them (labeling/throttling.py): far more room than the default 300.
            "OPTIONS": {"MAX_ENTRIES": 20_000},
        }
    }

CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Broker outages (issue 12): the worker reconnects forever (the default gives up after 100
# tries), and its consumer survives a connection lost with tasks in flight (config/celery.py).
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_WORKER_CONSUMER = "config.celery:Consumer"
# A task running when the connection drops finishes its work (an import, a training round)
# rather than being cancelled by a 3 s Redis restart; it cannot be acknowledged on the lost
# channel, so it may run again (tasks are idempotent). Celery 6 changes the default: keep it.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
# The worker's database connection is kept between tasks (config/celery.py closes it as the web
# does: past CONN_MAX_AGE or unusable); Celery's fixup would otherwise close it at every task.
CELERY_DB_REUSE_MAX = 1_000_000
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BEAT_SCHEDULE = {
    "expire-due-leases": {
        "task": "labeling.assignments_expire_due",
        "schedule": float(os.environ.get("LEASE_SWEEP_SECONDS", "10")),
    },
    "sweep-human-loops": {
        "task": "workflows.human_loops_sweep",
        "schedule": float(os.environ.get("LOOP_SWEEP_SECONDS", "15")),
    },
    "active-learning-sweep": {
        "task": "active_learning.sweep",
        "schedule": float(os.environ.get("ACTIVE_LEARNING_SWEEP_SECONDS", "60")),
    },
    # Issue 20: the data manager's search text of new items, if its enqueue after the commit
    # was lost (a broker outage); a run on an empty backlog is one indexed read.
    "item-text-fill": {
        "task": "labeling.item_text_fill",
        "schedule": float(os.environ.get("ITEM_TEXT_SWEEP_SECONDS", "60")),
    },
    "sweep-imports": {
        "task": "labeling.imports_sweep",
        "schedule": float(os.environ.get("IMPORT_SWEEP_SECONDS", "30")),
    },
    "sweep-quality-estimates": {
        "task": "labeling.quality_sweep",
        "schedule": float(os.environ.get("QUALITY_SWEEP_SECONDS", "120")),
    },
    "sweep-storage-outputs": {
        "task": "labeling.storage_outputs_sweep",
        "schedule": float(os.environ.get("OUTPUT_SWEEP_SECONDS", "10")),
    },
    "sweep-control-plane": {
        "task": "control_plane.sweep",
        "schedule": float(os.environ.get("CONTROL_PLANE_SWEEP_SECONDS", "30")),
    },
}

# --- Active learning (docs/active-learning.md) ----------------------------------------------
ACTIVE_LEARNING_LEASE_SECONDS = int(os.environ.get("ACTIVE_LEARNING_LEASE_SECONDS", "120"))
ACTIVE_LEARNING_TORCH_THREADS = int(os.environ.get("ACTIVE_LEARNING_TORCH_THREADS", "1"))
ACTIVE_LEARNING_CHECK_DEBOUNCE_SECONDS = int(
    os.environ.get("ACTIVE_LEARNING_CHECK_DEBOUNCE_SECONDS", "5")
)
# Rounds also train on earlier rounds' auto-labels (self-training; issue 19): off, measured
# worse on digits (bench/RESULTS.md, issue 19 point 4).
ACTIVE_LEARNING_TRAIN_ON_AUTO_LABELS = env_bool(
    "ACTIVE_LEARNING_TRAIN_ON_AUTO_LABELS", default=False
)
# The threshold reads a class-aware calibrated score instead of the raw confidence, fitted on
# earlier rounds' predictions of items humans labeled afterwards (issue 19 point 4, q19-al3):
# off: measured −5.6 % human labels on 3,000 Fashion-MNIST items, +10.7 % on digits, since
# with margin sampling those items are the uncertain ones and say little about confident ones.
ACTIVE_LEARNING_CLASS_CALIBRATION = env_bool("ACTIVE_LEARNING_CLASS_CALIBRATION", default=False)
# Fault injection for the killed-worker test: hold the training lease this long first.
ACTIVE_LEARNING_FAULT_PAUSE_SECONDS = (
    float(os.environ.get("ACTIVE_LEARNING_FAULT_PAUSE_SECONDS", "0")) if TESTING else 0.0
)
# Box and mask jobs (issue 19): the size the networks see; their training length when set
# (unset: each learner's own default).
ACTIVE_LEARNING_SHAPES_IMAGE_SIZE = int(os.environ.get("ACTIVE_LEARNING_SHAPES_IMAGE_SIZE", "64"))
if os.environ.get("ACTIVE_LEARNING_SHAPES_SAMPLES_SEEN"):
    ACTIVE_LEARNING_SHAPES_SAMPLES_SEEN = int(os.environ["ACTIVE_LEARNING_SHAPES_SAMPLES_SEEN"])

# --- Files ----------------------------------------------------------------------------------
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
MEDIA_URL = "/media/"
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or DEMO or TESTING
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG or DEMO or TESTING

# --- Object storage (docs/storage.md) -------------------------------------------------------
# "s3": s3://bucket/key goes to an S3-compatible store through boto3 and its standard settings
# (credential chain, AWS_ENDPOINT_URL_S3, region); "local": s3://bucket/key is the file
# MEDIA_ROOT/bucket/key. Setting AWS_ENDPOINT_URL_S3 alone turns "s3" on.
QUORUM_STORAGE = os.environ.get(
    "QUORUM_STORAGE", "s3" if os.environ.get("AWS_ENDPOINT_URL_S3") else "local"
).lower()
if QUORUM_STORAGE not in ("s3", "local"):
    raise RuntimeError(f"QUORUM_STORAGE: {QUORUM_STORAGE!r} is not 's3' or 'local'")
# "path" for stores without virtual-hosted buckets (many MinIO and Ceph setups).
QUORUM_S3_ADDRESSING_STYLE = os.environ.get("QUORUM_S3_ADDRESSING_STYLE", "auto")
QUORUM_S3_MAX_ATTEMPTS = int(os.environ.get("QUORUM_S3_MAX_ATTEMPTS", "3"))
# Uploads (images of a job, import files) go to s3://<this bucket>/<prefix>/... when set, so
# several web machines share media without a shared disk; Django's file storage follows.
QUORUM_S3_MEDIA_BUCKET = os.environ.get("QUORUM_S3_MEDIA_BUCKET", "")
# Job outputs (docs/storage.md): a consolidated label is written once it is this old (a submit
# that took a lower id and committed later is not skipped); the running job's output.manifest
# is rewritten at most this often.
QUORUM_OUTPUT_SETTLE_SECONDS = float(os.environ.get("QUORUM_OUTPUT_SETTLE_SECONDS", "2"))
QUORUM_OUTPUT_MANIFEST_SECONDS = float(os.environ.get("QUORUM_OUTPUT_MANIFEST_SECONDS", "60"))
QUORUM_S3_MEDIA_PREFIX = os.environ.get("QUORUM_S3_MEDIA_PREFIX", "media").strip("/")
if QUORUM_STORAGE == "s3" and QUORUM_S3_MEDIA_BUCKET:
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": QUORUM_S3_MEDIA_BUCKET,
            "location": QUORUM_S3_MEDIA_PREFIX,
            "addressing_style": None
            if QUORUM_S3_ADDRESSING_STYLE == "auto"
            else QUORUM_S3_ADDRESSING_STYLE,
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("DATA_UPLOAD_MAX_MEMORY_SIZE", 50 * 2**20))
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 2**20
DATA_UPLOAD_MAX_NUMBER_FILES = 1000

# Limits on what an import accepts.
QUORUM_IMPORT_MAX_BYTES = int(os.environ.get("QUORUM_IMPORT_MAX_BYTES", 2 * 2**30))
QUORUM_IMAGE_MAX_BYTES = int(os.environ.get("QUORUM_IMAGE_MAX_BYTES", 25 * 2**20))
QUORUM_IMAGE_MAX_PIXELS = int(os.environ.get("QUORUM_IMAGE_MAX_PIXELS", 40_000_000))
QUORUM_TEXT_MAX_CHARS = int(os.environ.get("QUORUM_TEXT_MAX_CHARS", 100_000))
# An import's worker renews its lease every third of this; a run whose lease ran out lost its
# worker and is run again, at most this many attempts in all; a queued run not started after
# QUORUM_IMPORT_RESEND_AFTER_SECONDS had its message lost and is sent again.
QUORUM_IMPORT_LEASE_SECONDS = float(os.environ.get("QUORUM_IMPORT_LEASE_SECONDS", 60))
QUORUM_IMPORT_MAX_ATTEMPTS = int(os.environ.get("QUORUM_IMPORT_MAX_ATTEMPTS", 3))
QUORUM_IMPORT_RESEND_AFTER_SECONDS = float(
    os.environ.get("QUORUM_IMPORT_RESEND_AFTER_SECONDS", 600)
)
# Fault injection for the killed-import test: stop this long midway through storing.
QUORUM_IMPORT_FAULT_PAUSE_SECONDS = (
    float(os.environ.get("QUORUM_IMPORT_FAULT_PAUSE_SECONDS", "0")) if TESTING else 0.0
)

# Review loops (workflows/): see docs/review-loops.md and docs/a2i.md.
QUORUM_ARN_PREFIX = os.environ.get("QUORUM_ARN_PREFIX", "arn:aws:sagemaker:us-east-1:000000000000")
QUORUM_MAX_OPEN_LOOPS_PER_FLOW = int(os.environ.get("QUORUM_MAX_OPEN_LOOPS_PER_FLOW", 1_000_000))
QUORUM_A2I_MAX_REQUESTS_PER_SECOND = int(os.environ.get("QUORUM_A2I_MAX_REQUESTS_PER_SECOND", 0))
QUORUM_A2I_SIGNATURE_MAX_SKEW_SECONDS = 15 * 60
# How long a web process remembers an access key's secret (and that its owner may use it).
QUORUM_A2I_KEY_CACHE_SECONDS = float(os.environ.get("QUORUM_A2I_KEY_CACHE_SECONDS", 5))
QUORUM_OUTPUT_URL_MAX_AGE_SECONDS = int(os.environ.get("QUORUM_OUTPUT_URL_MAX_AGE_SECONDS", 3600))
QUORUM_WEBHOOK_MAX_ATTEMPTS = int(os.environ.get("QUORUM_WEBHOOK_MAX_ATTEMPTS", 8))
QUORUM_WEBHOOK_RETRY_BASE_SECONDS = float(os.environ.get("QUORUM_WEBHOOK_RETRY_BASE_SECONDS", 10))
QUORUM_WEBHOOK_RETRY_MAX_SECONDS = float(os.environ.get("QUORUM_WEBHOOK_RETRY_MAX_SECONDS", 3600))
QUORUM_WEBHOOK_SEND_TIMEOUT_SECONDS = float(
    os.environ.get("QUORUM_WEBHOOK_SEND_TIMEOUT_SECONDS", 10)
)
# A pending delivery overdue by this long lost its message; the sweep sends it again.
QUORUM_WEBHOOK_REDELIVERY_GRACE_SECONDS = float(
    os.environ.get("QUORUM_WEBHOOK_REDELIVERY_GRACE_SECONDS", 30)
)

# --- API ------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "labeling.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "labeling.errors.api_exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "UNAUTHENTICATED_USER": None,
    # ?format= is the export format here, not a renderer choice.
    "URL_FORMAT_OVERRIDE": None,
    # Issue 20: the usual Accept headers skip DRF's parsing (labeling/negotiation.py).
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "labeling.negotiation.FirstRendererNegotiation",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Quorum API",
    "DESCRIPTION": (
        "Human-in-the-loop labeling: teams, jobs, items, leases, answers, consolidated labels "
        "and exports. Every error has the shape "
        '{"error": {"code": ..., "message": ..., "details": ...}}.'
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # The docs page's Swagger UI comes from the pinned drf-spectacular-sidecar package, served
    # by Quorum: the page works offline and under the strict CSP (issue 12).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "COMPONENT_SPLIT_REQUEST": True,
    # Object ids in addresses (labeling/converters.py) are integers in the schema.
    "PATH_CONVERTER_OVERRIDES": {"id": int},
    "ENUM_NAME_OVERRIDES": {
        "JobStatusEnum": "labeling.states.JobStatus",
        "AssignmentStatusEnum": "labeling.states.AssignmentStatus",
        "ImportStatusEnum": "labeling.states.ImportStatus",
        "ImportKindEnum": "labeling.models.ImportKind",
        "TeamKindEnum": "labeling.models.TeamKind",
        "ExampleKindEnum": ["good", "bad"],
        "HumanLoopStatusEnum": "workflows.states.HumanLoopStatus",
        "DeliveryStatusEnum": "workflows.states.DeliveryStatus",
        "WebhookEventEnum": "workflows.states.WebhookEvent",
        # issue 14: the console
        "BulkActionKindEnum": "labeling.models.BulkActionKind",
        "ItemPreviewKindEnum": ["text", "media"],
    },
}

# issue 12: every password set on any path (every role, the API, the console, the commands,
# sign-up, invitations) meets every Django rule. issue 5: the open crowd sign-up's attempts are
# throttled per client IP and per username (labeling/throttling.py).
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {
            "min_length": int(
                os.environ.get(
                    "QUORUM_PASSWORD_MIN_LENGTH",
                    os.environ.get("QUORUM_CROWD_PASSWORD_MIN_LENGTH", "10"),
                )
            )
        },
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
QUORUM_SIGNUP_RATE_PER_IP = os.environ.get("QUORUM_SIGNUP_RATE_PER_IP", "20/hour")
QUORUM_SIGNUP_RATE_PER_USERNAME = os.environ.get("QUORUM_SIGNUP_RATE_PER_USERNAME", "5/hour")
QUORUM_TRUST_X_FORWARDED_FOR = env_bool("QUORUM_TRUST_X_FORWARDED_FOR", default=False)
# issue 12: sign-in (/login/, /admin/login/) failures per account and per client address; past
# them each attempt waits a lock that doubles with each further failure, capped.
QUORUM_SIGNIN_MAX_FAILURES_PER_ACCOUNT = int(
    os.environ.get("QUORUM_SIGNIN_MAX_FAILURES_PER_ACCOUNT", 5)
)
QUORUM_SIGNIN_MAX_FAILURES_PER_ADDRESS = int(
    os.environ.get("QUORUM_SIGNIN_MAX_FAILURES_PER_ADDRESS", 20)
)
QUORUM_SIGNIN_LOCK_BASE_SECONDS = int(os.environ.get("QUORUM_SIGNIN_LOCK_BASE_SECONDS", 30))
QUORUM_SIGNIN_LOCK_MAX_SECONDS = int(os.environ.get("QUORUM_SIGNIN_LOCK_MAX_SECONDS", 3600))
QUORUM_SIGNIN_FAILURE_MEMORY_SECONDS = int(
    os.environ.get("QUORUM_SIGNIN_FAILURE_MEMORY_SECONDS", 86400)
)
# issue 12: outbound requests (webhooks) never reach internal addresses (loopback, private,
# link-local, ...) unless this comma-separated CIDR list allows them (labeling/outbound.py).
QUORUM_OUTBOUND_ALLOW = env_list("QUORUM_OUTBOUND_ALLOW", "")

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# Behind a proxy that terminates HTTPS: trust its X-Forwarded-Proto header (set it only when
# the proxy always sets or overwrites that header; docs/operations.md).
if env_bool("QUORUM_TRUST_X_FORWARDED_PROTO"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", default=not (DEBUG or DEMO or TESTING))
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
# HSTS: SecurityMiddleware sends it on HTTPS requests only (behind a proxy that ends TLS,
# QUORUM_TRUST_X_FORWARDED_PROTO=1 above tells Django which requests were HTTPS). 0 turns it off.
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
# Origins besides this server that pages may load images and video from (the media or S3
# host of image items), e.g. "https://bucket.s3.eu-west-1.amazonaws.com". No wildcards.
QUORUM_CSP_MEDIA_ORIGINS = env_list("QUORUM_CSP_MEDIA_ORIGINS", "")
for _origin in QUORUM_CSP_MEDIA_ORIGINS:
    if "*" in _origin or not _origin.startswith(("https://", "http://")) or _origin.count("/") != 2:
        raise RuntimeError(
            f"QUORUM_CSP_MEDIA_ORIGINS: {_origin!r} is not an origin like https://host[:port]"
        )

# The demo's terminal shows warnings and errors only; LOG_LEVEL=INFO shows requests and more.
LOG_LEVEL = os.environ.get("LOG_LEVEL", "WARNING" if DEMO else "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(process)d %(message)s"}
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "celery": {"level": LOG_LEVEL},
    },
}

if TESTING:
    # Tests create many users; the real hasher's deliberate slowness only costs time there.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# --- Model-quality monitoring (docs/monitoring.md) -------------------------------------------
# How often the beat task evaluates flows with new audited labels and writes due exports.
CELERY_BEAT_SCHEDULE["monitoring-sweep"] = {
    "task": "workflows.monitoring_sweep",
    "schedule": float(os.environ.get("MONITORING_SWEEP_SECONDS", "300")),
}
# The address clients reach Quorum at, for links in webhooks (model.retrain); relative if unset.
QUORUM_PUBLIC_URL = os.environ.get("QUORUM_PUBLIC_URL", "")
# Custom task templates run in a sandboxed frame (issue 17): origins besides this server its
# scripts, style sheets and inner frames may load from, e.g. "https://cdn.example.org". None
# by default; no wildcards.
QUORUM_TEMPLATE_SCRIPT_ORIGINS = env_list("QUORUM_TEMPLATE_SCRIPT_ORIGINS", "")
QUORUM_TEMPLATE_STYLE_ORIGINS = env_list("QUORUM_TEMPLATE_STYLE_ORIGINS", "")
QUORUM_TEMPLATE_FRAME_ORIGINS = env_list("QUORUM_TEMPLATE_FRAME_ORIGINS", "")
for _setting in ("SCRIPT", "STYLE", "FRAME"):
    for _origin in globals()[f"QUORUM_TEMPLATE_{_setting}_ORIGINS"]:
        if (
            "*" in _origin
            or not _origin.startswith(("https://", "http://"))
            or _origin.count("/") != 2
        ):
            raise RuntimeError(
                f"QUORUM_TEMPLATE_{_setting}_ORIGINS: {_origin!r} is not an origin like "
                "https://host[:port]"
            )

# --- Streaming jobs (issue 16; docs/pipelines.md) ---------------------------------------------
# How often items past their lifetime expire, lost feed numbering is redone and lost webhook
# deliveries are resent.
CELERY_BEAT_SCHEDULE["pipelines-stream-sweep"] = {
    "task": "labeling.pipelines_stream_sweep",
    "schedule": float(os.environ.get("STREAM_SWEEP_SECONDS", "5")),
}

# Pipelines' pre- and post-annotation hooks (issue 16; docs/pipelines.md). The dotted paths of
# Python callables a hook may name (none by default: only operators who deploy Quorum list
# theirs); attempts per call and the first backoff (doubled each retry); the calls a worker
# makes at once and the items per Celery task of a pre-annotation run; how long the signed URL
# of a consolidation payload document lives.
QUORUM_HOOK_CALLABLES = env_list("QUORUM_HOOK_CALLABLES", "")
QUORUM_HOOK_ATTEMPTS = int(os.environ.get("QUORUM_HOOK_ATTEMPTS", 3))
QUORUM_HOOK_BACKOFF_SECONDS = float(os.environ.get("QUORUM_HOOK_BACKOFF_SECONDS", 1.0))
QUORUM_HOOK_CONCURRENCY = int(os.environ.get("QUORUM_HOOK_CONCURRENCY", 16))
QUORUM_HOOK_CHUNK_ITEMS = int(os.environ.get("QUORUM_HOOK_CHUNK_ITEMS", 500))
QUORUM_HOOK_PAYLOAD_URL_SECONDS = int(os.environ.get("QUORUM_HOOK_PAYLOAD_URL_SECONDS", 3600))
CELERY_BEAT_SCHEDULE["pipelines-hook-sweep"] = {
    "task": "labeling.pipelines_hook_sweep",
    "schedule": float(os.environ.get("HOOK_SWEEP_SECONDS", "120")),
}

# --- Chained jobs (issue 16, docs/pipelines.md) ----------------------------------------------
# The backstop that passes on what a lost event left behind, along every chain link.
CELERY_BEAT_SCHEDULE["sweep-chain-links"] = {
    "task": "labeling.chain_links_sweep",
    "schedule": float(os.environ.get("CHAIN_SWEEP_SECONDS", "60")),
}

# --- API token lookups (issue 20, docs/api.md) -----------------------------------------------
# How long a web process remembers whose an API token is (and that they are active) after
# reading it: a revoked token or a deactivated user is refused at once in the process that made
# the change, and within this time in the others. 0: read on every request.
QUORUM_API_TOKEN_CACHE_SECONDS = float(os.environ.get("QUORUM_API_TOKEN_CACHE_SECONDS", 5))

# --- The labeling loop's requests (issue 20, labeling/hot_path.py) ---------------------------
# Next-task and submit requests of a labeler's API token answered ahead of Django's handler,
# with the same responses. Off: every request goes through Django's middlewares and DRF.
QUORUM_API_HOT_PATH = env_bool("QUORUM_API_HOT_PATH", default=True)
