"""The app itself: health, OpenAPI spec and offline docs, migrations in step with the models."""
import re

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from backend.models import db
from tests.conftest import make_app


def test_healthz_answers_when_the_database_does(client):
    """GET /healthz is 200 and needs no token."""
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok"}


def test_openapi_spec_documents_every_api_route(app, client):
    """Every /api rule of the app appears in the spec, with a summary or description."""
    spec = client.get("/api/openapi.json").json
    documented = set(spec["paths"])
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        if path.startswith("/api/") and not path.startswith(("/api/docs", "/api/openapi")):
            assert path in documented, path
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            assert operation.get("summary") or operation.get("description"), (method, path)


def test_docs_page_works_offline(client):
    """The docs page loads Swagger UI from the app itself, never from a CDN."""
    page = client.get("/api/docs").get_data(as_text=True)
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert assets and all(url.startswith("/api/docs/assets/") for url in assets)
    for url in assets:
        assert client.get(url).status_code == 200, url


def test_migrations_create_exactly_the_models_schema(app):
    """Alembic's autogenerate finds nothing to change after `db upgrade`: migrations match the models."""
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}), db.metadata)
    assert diff == []


def test_healthz_is_503_when_the_database_is_gone(tmp_path):
    """A database that cannot be opened makes /healthz answer 503 JSON."""
    app = make_app(f"sqlite:///{tmp_path / 'missing' / 'nowhere.db'}", tmp_path)
    response = app.test_client().get("/healthz")
    assert response.status_code == 503 and response.json["error"] == "database_unavailable"
