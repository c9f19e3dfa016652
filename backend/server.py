"""`lotwise serve`: gunicorn with threads, as one command."""
from gunicorn.app.base import BaseApplication

from backend.app import create_app


class _Server(BaseApplication):
    """A gunicorn application serving create_app() with fixed, code-side options."""

    def __init__(self, options: dict):
        self.options = options
        super().__init__()

    def load_config(self):
        """Hand our options to gunicorn."""
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        """Each worker builds its own app."""
        return create_app()


def run(*, host: str, port: int, workers: int, threads: int, cert: str | None, key: str | None) -> None:
    """Serve until interrupted."""
    options = {"bind": f"{host}:{port}", "workers": workers, "threads": threads, "worker_class": "gthread",
               "accesslog": "-", "timeout": 120, "graceful_timeout": 10,
               # One control socket per host by default: several instances would fight over it.
               "control_socket_disable": True}
    if cert:
        options.update(certfile=cert, keyfile=key)
    _Server(options).run()
