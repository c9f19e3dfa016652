"""Settings, read once from the environment; every one has a default (listed in README.md)."""
import os


def _env_int(name: str, default: int) -> int:
    """Read an integer setting from the environment."""
    return int(os.environ.get(name, default))


def _sqlalchemy_url(url: str | None) -> str | None:
    """Accept the usual postgres:// forms and use the psycopg 3 driver for them."""
    for prefix in ("postgres://", "postgresql://"):
        if url and url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


class Config:
    """All of Lotwise's settings. Instantiate to read the environment at that moment."""

    def __init__(self, **overrides):
        env = os.environ.get
        # None means: a SQLite file in the instance folder, decided by create_app.
        self.SQLALCHEMY_DATABASE_URI = _sqlalchemy_url(env("DATABASE_URL"))
        self.SECRET_KEY = env("SECRET_KEY", "")
        self.LOTWISE_TIMEZONE = env("LOTWISE_TIMEZONE", "UTC")
        self.LOTWISE_CURRENCY = env("LOTWISE_CURRENCY", "EUR")
        self.LOTWISE_TOKEN_TTL_HOURS = _env_int("LOTWISE_TOKEN_TTL_HOURS", 12)
        self.LOTWISE_GS_SUBSTITUTE = env("LOTWISE_GS_SUBSTITUTE", "|")
        # 2 MiB: the largest sync push the protocol allows; uploads that may be larger set their own limit.
        self.MAX_CONTENT_LENGTH = _env_int("LOTWISE_MAX_BODY_BYTES", 2 * 1024 * 1024)
        self.SQLALCHEMY_ECHO = env("LOTWISE_SQL_ECHO", "") == "1"
        self.LOTWISE_LOG_LEVEL = env("LOTWISE_LOG_LEVEL", "INFO")
        self.INSTANCE_PATH = env("LOTWISE_INSTANCE_PATH") or None
        self.SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
        # flask-smorest / OpenAPI, served offline from the swagger-ui-bundle package.
        self.API_TITLE = "Lotwise"
        self.API_VERSION = "1"
        self.OPENAPI_VERSION = "3.0.3"
        self.OPENAPI_URL_PREFIX = "/api"
        self.OPENAPI_JSON_PATH = "openapi.json"
        self.OPENAPI_SWAGGER_UI_PATH = "docs"
        self.OPENAPI_SWAGGER_UI_URL = "/api/docs/assets/"
        self.API_SPEC_OPTIONS = {
            "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
            "security": [{"bearer": []}],
        }
        for key, value in overrides.items():
            setattr(self, key, value)
