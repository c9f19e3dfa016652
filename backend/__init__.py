"""Lotwise backend: Flask app factory, models, domain rules, REST API and CLI."""
from backend.app import create_app

__all__ = ["create_app"]
