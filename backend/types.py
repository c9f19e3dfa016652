"""Exact column types: decimals as scaled integers (SQLite has no decimal) and UTC datetimes."""
from datetime import datetime, timezone
from decimal import Decimal

from sqlalchemy import BigInteger, DateTime
from sqlalchemy.types import TypeDecorator

SCALE_DIGITS = 6
_SCALE = 10**SCALE_DIGITS


def to_scaled(value: Decimal) -> int:
    """Turn a decimal into an integer count of millionths, refusing anything inexact."""
    scaled = Decimal(value).scaleb(SCALE_DIGITS)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{value} has more than {SCALE_DIGITS} decimal places")
    return int(scaled)


def from_scaled(value: int) -> Decimal:
    """Turn an integer count of millionths back into an exact decimal."""
    return Decimal(value) / _SCALE


class ExactDecimal(TypeDecorator):
    """A decimal with six places, stored as a BIGINT of millionths on every database."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value, dialect):
        """Scale on the way in."""
        return None if value is None else to_scaled(value)

    def process_result_value(self, value, dialect):
        """Unscale on the way out."""
        return None if value is None else from_scaled(value)


class UTCDateTime(TypeDecorator):
    """A timezone-aware datetime kept in UTC (naive UTC on SQLite, timestamptz on PostgreSQL)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        """Store in UTC; a naive value is taken to be UTC already."""
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):
        """Always hand back an aware UTC datetime."""
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
