"""The `lotwise` command: serve, demo, user add, push, and Flask-Migrate's `db` commands."""
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


@main.command("push", with_appcontext=False)
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--server", required=True, envvar="LOTWISE_SERVER", show_envvar=True,
              help="Base URL of the Lotwise server, e.g. https://lotwise.example")
@click.option("--user", "username", envvar="LOTWISE_USER", show_envvar=True, help="Sign in as this user.")
@click.option("--password", envvar="LOTWISE_PASSWORD", show_envvar=True,
              help="The user's password (better from the environment; asked for when missing).")
@click.option("--token", envvar="LOTWISE_TOKEN", show_envvar=True, help="A bearer token instead of --user.")
@click.option("--device", help="Whose queue it is (default: the file's \"device\").")
@click.option("--chunk", default=1000, show_default=True, type=click.IntRange(1, 1000),
              help="Mutations a push (pushes also stay under 2 MiB).")
@click.option("--retries", default=8, show_default=True, type=click.IntRange(0, 100),
              help="Retries of a push on network errors, 429 and 5xx.")
@click.option("--backoff", default=0.5, show_default=True, type=click.FloatRange(0, 60),
              help="Seconds before the first retry; doubles each time (with jitter), at most 30.")
@click.option("--timeout", default=300.0, show_default=True, type=click.FloatRange(1, 3600),
              help="Seconds to wait for the answer to one push.")
@click.option("--cacert", type=click.Path(exists=True, dir_okay=False),
              help="CA bundle that signed the server's certificate (self-signed HTTPS).")
@click.option("--restart", is_flag=True,
              help="Ignore FILE.progress and send everything again (the server answers duplicate for what it has).")
def push(file, server, username, password, token, device, chunk, retries, backoff, timeout, cacert, restart):
    """Upload an exported queue FILE (a push body with any number of mutations) in chunks.

    Resumable: what the server acknowledged is kept in FILE.progress after every push, so running the
    same command again after an interruption continues there; the server's exactly-once rule makes any
    resend harmless. Exit code 0 when nothing was rejected, 1 when any mutation was rejected (now or in an
    earlier run), 2 for usage or sign-in errors, 3 when the server stayed unreachable, 130 on Ctrl-C.
    """
    import sys

    import requests

    from sync.client import (AuthError, PushRefused, QueueFileError, ServerUnavailable, SyncClient, SyncError,
                             format_summary, load_queue)

    if token and username:
        raise click.UsageError("Give --token or --user, not both")
    if not token and not username:
        raise click.UsageError("Give --user (and the password via LOTWISE_PASSWORD or the prompt) or --token")
    try:
        queue = load_queue(file)
    except QueueFileError as exc:
        raise click.UsageError(str(exc)) from None
    device = device or queue.get("device")
    if not device:
        raise click.UsageError('The file names no "device"; give --device')
    if username and password is None:
        try:
            password = click.prompt(f"Password for {username}", hide_input=True, err=True)
        except (click.Abort, EOFError):
            raise click.UsageError("No password: set LOTWISE_PASSWORD or type it when asked") from None

    def retrying(attempt, delay, why):
        click.echo(f"\n{why}; retry {attempt}/{retries} in {delay:.1f} s", err=True)

    session = requests.Session()
    if cacert:
        session.verify = cacert
    try:
        client = SyncClient(server, token=token, username=username, password=password, device=device,
                            session=session, timeout=(10, timeout), max_retries=retries, backoff_base=backoff,
                            on_retry=retrying)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    summary, code = None, 0
    with click.progressbar(length=len(queue["mutations"]), label=f"Pushing {device}", file=sys.stderr,
                           show_pos=True, show_percent=True) as bar:
        def progress(done, total):
            bar.update(done - bar.pos)

        try:
            summary = client.upload(queue, device=device, chunk_size=chunk, progress=progress,
                                    state_path=file + ".progress", resume=not restart)
        except KeyboardInterrupt as exc:
            summary, code = getattr(exc, "summary", None), 130
            message = "Interrupted."
        except (AuthError, PushRefused, QueueFileError) as exc:
            summary, code, message = exc.summary, 2, str(exc)
        except ServerUnavailable as exc:
            summary, code, message = exc.summary, 3, str(exc)
        except SyncError as exc:  # pragma: no cover - every SyncError is one of the above
            summary, code, message = exc.summary, 2, str(exc)
    if not sys.stderr.isatty():
        click.echo("", err=True)  # the bar drew only its label, without ending the line
    if client.warning:
        click.echo(client.warning, err=True)
    if summary is not None:
        click.echo(format_summary(summary))
    if code:
        click.echo(f"Error: {message}", err=True)
        if summary is not None and summary.done:
            click.echo(f"Progress is kept in {file}.progress; run the same command again to resume.", err=True)
        sys.exit(code)
    sys.exit(1 if summary.any_rejected else 0)
