"""The `lotwise` command: serve, demo, user add, and Flask-Migrate's `db` commands."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

from backend.app import create_app


@click.group(cls=FlaskGroup, create_app=lambda: create_app(), add_version_option=False)
def main():
    """Lotwise lot tracking. DATABASE_URL picks the database (default: SQLite in the instance folder)."""


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int, help="Processes (keep 1 on SQLite).")
@click.option("--threads", default=8, show_default=True, type=int, help="Threads per process.")
@click.option("--cert", type=click.Path(exists=True, dir_okay=False), help="TLS certificate (PEM) for HTTPS.")
@click.option("--key", type=click.Path(exists=True, dir_okay=False), help="TLS private key (PEM) for HTTPS.")
def serve(host, port, workers, threads, cert, key):
    """Serve Lotwise with gunicorn (HTTPS with --cert and --key)."""
    from backend.server import run

    if bool(cert) != bool(key):
        raise click.UsageError("--cert and --key go together")
    scheme = "https" if cert else "http"
    click.echo(f"Lotwise on {scheme}://{host}:{port}  (API docs: {scheme}://{host}:{port}/api/docs)")
    run(host=host, port=port, workers=workers, threads=threads, cert=cert, key=key)


@main.command("demo")
@with_appcontext
def demo():
    """Seed the demo data set (a cookie bakery with a week of history) unless the database has users."""
    from zoneinfo import ZoneInfo

    from backend.demo import DEMO_LOGINS, seed
    from backend.models import db

    created = seed(db.session, ZoneInfo(current_app.config["LOTWISE_TIMEZONE"]))
    db.session.commit()
    click.echo("Seeded the demo data." if created else "The database already has data; left as it is.")
    click.echo("Demo logins (user / password): " + ", ".join(f"{u} / {u}" for u in DEMO_LOGINS))


@main.group("user")
def user():
    """Manage users."""


@user.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(["worker", "supervisor", "admin"]), default="worker", show_default=True)
@click.option("--name", default="")
@click.password_option()
@with_appcontext
def user_add(username, role, name, password):
    """Add a user (asks for the password)."""
    from backend.domain.auth import create_user
    from backend.models import Role, db

    create_user(db.session, username=username, password=password, role=Role(role), name=name)
    db.session.commit()
    click.echo(f"Added {role} {username} to {current_app.config['SQLALCHEMY_DATABASE_URI'].split('@')[-1]}")
