"""The application factory: it only wires extensions and blueprints."""
from __future__ import annotations

import logging
import secrets
from pathlib import Path

from flask import Flask
from flask_migrate import Migrate
from flask_smorest import Api

from backend.api import adjustments, auth, barcodes, counts, health, items, locations, lots, moves, orders, partners
from backend.api import IdConverter, labels, production, receipts, require_json_body, scan, shipments, stock, tasks
from backend.api import users
from backend.config import Config
from backend.database import configure_engine
from backend.errors import register_error_handlers
from backend.models import db
from pwa import blp as pwa_blueprint
from sync import api as sync_api

MIGRATIONS = Path(__file__).parent / "migrations"
API_BLUEPRINTS = (auth, users, items, locations, partners, lots, stock, receipts, moves, adjustments, counts,
                  orders, tasks, production, shipments, scan, barcodes, sync_api, labels)


def create_app(config: Config | None = None) -> Flask:
    """Build a Lotwise app from `config` (default: read from the environment)."""
    config = config or Config()
    app = Flask(__name__, instance_path=getattr(config, "INSTANCE_PATH", None), instance_relative_config=True)
    app.config.from_object(config)
    _fill_instance_defaults(app)
    logging.basicConfig(level=app.config["LOTWISE_LOG_LEVEL"])

    db.init_app(app)
    Migrate(app, db, directory=str(MIGRATIONS), render_as_batch=True, compare_type=True)
    app.url_map.converters["id"] = IdConverter
    api = Api(app)
    with app.app_context():
        configure_engine(db.engine)

    app.register_blueprint(health.blp)
    app.register_blueprint(pwa_blueprint)
    for module in API_BLUEPRINTS:
        api.register_blueprint(module.blp)
    app.before_request(require_json_body)
    register_error_handlers(app)
    return app


def _fill_instance_defaults(app: Flask) -> None:
    """Settings that default to files in the instance folder: the SQLite database and the secret key."""
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{instance / 'lotwise.db'}"
    if not app.config.get("SECRET_KEY"):
        key_file = instance / "secret_key"
        if not key_file.exists():
            key_file.write_text(secrets.token_hex(32))
            key_file.chmod(0o600)
        app.config["SECRET_KEY"] = key_file.read_text().strip()
