"""Stock operations through the domain functions: receive, move, adjust, scrap, count, lot status."""
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal as D
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, text

from backend.domain import Actor, lots, stock
from backend.domain.errors import DomainError
from backend.models import Balance, LotEvent, LotStatus, Movement, MovementType, db
from tests.conftest import ledger_matches_balances


def on_hand(lot_id: int, code: str) -> D:
    """On-hand of a lot at a location code (0 when there is no balance row)."""
    row = db.session.execute(text(
        "SELECT b.on_hand FROM balance b JOIN location l ON l.id = b.location_id "
        "WHERE b.lot_id = :lot AND l.code = :code"), {"lot": lot_id, "code": code}).scalar()
    return D(0) if row is None else D(row) / 10**6


def receive(actor, qty="10", **kw):
    """Receive FLOUR into A-01-01 unless told otherwise, and commit."""
    args = dict(item="FLOUR", qty=D(qty), location="A-01-01") | kw
    movement = stock.receive(db.session, actor, **args)
    db.session.commit()
    return movement


def test_receiving_point_one_and_point_two_gives_exactly_point_three(world, actor):
    """Quantities are exact decimals on every database: 0.1 + 0.2 == 0.3."""
    first = receive(actor, "0.1", lot="L-EXACT")
    receive(actor, "0.2", lot="L-EXACT")
    db.session.expire_all()
    balance = db.session.get(Balance, (first.lot.id, world["a"].id))
    assert balance.on_hand == D("0.3")
    assert on_hand(first.lot.id, "A-01-01") == D("0.3")
    assert db.session.execute(text("SELECT SUM(qty) FROM movement")).scalar() == 300000


def test_receive_generates_a_unique_code_and_expiry_from_shelf_life(world, actor):
    """No lot code given: one is generated; no expiry given: the item's shelf life sets it."""
    at = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)
    a, b = receive(actor, at=at).lot, receive(actor, at=at).lot
    assert a.code != b.code and len(a.code) <= 20
    assert a.expires_on == date(2026, 3, 1) + timedelta(days=180)
    assert a.received_at == at


def test_receive_into_existing_lot_must_agree_on_expiry(world, actor):
    """Receiving more of a known lot adds to it; a different expiry is a conflict."""
    receive(actor, lot="L1", expires_on=date(2030, 1, 31))
    receive(actor, lot="L1")
    with pytest.raises(DomainError) as err:
        receive(actor, lot="L1", expires_on=date(2030, 2, 28))
    assert err.value.code == "lot_conflict"


def test_receiving_an_already_expired_lot_is_refused(world, actor):
    """Goods past their expiry on the day of receipt are refused."""
    with pytest.raises(DomainError) as err:
        receive(actor, lot="OLD", expires_on=date.today() - timedelta(days=1))
    assert err.value.code == "lot_expired"


def test_expiry_day_is_judged_in_the_site_time_zone(world, users):
    """At 23:30 UTC on D-1 it is already day D in Auckland: a lot expiring D-1 is refused there."""
    at = datetime(2026, 6, 9, 23, 30, tzinfo=timezone.utc)
    auckland = Actor(user=users["worker"], tz=ZoneInfo("Pacific/Auckland"))
    utc = Actor(user=users["worker"])
    assert receive(utc, lot="TZ-1", expires_on=date(2026, 6, 9), at=at).lot.code == "TZ-1"
    with pytest.raises(DomainError):
        receive(auckland, lot="TZ-2", expires_on=date(2026, 6, 9), at=at)
    lot = db.session.scalar(select(Movement)).lot
    assert not lots.is_expired(lot, at, utc.tz) and lots.is_expired(lot, at, auckland.tz)


def test_future_times_are_judged_at_the_server_clock(world, actor):
    """An operation dated in the future counts as happening now."""
    movement = receive(actor, at=datetime.now(timezone.utc) + timedelta(days=3))
    assert movement.happened_at <= datetime.now(timezone.utc)


def test_receiving_into_quarantine_holds_the_lot(world, actor):
    """A new lot received straight into a quarantine location starts on hold."""
    assert receive(actor, location="QRT-1").lot.status == LotStatus.quarantine


def test_move_and_insufficient_stock(world, actor):
    """A move shifts stock; moving more than is free changes nothing."""
    lot = receive(actor, "5").lot
    stock.move(db.session, actor, lot=lot.id, from_location="A-01-01", to_location="B-02-01", qty=D("2"))
    db.session.commit()
    with pytest.raises(DomainError) as err:
        stock.move(db.session, actor, lot=lot.id, from_location="A-01-01", to_location="B-02-01", qty=D("3.5"))
    db.session.rollback()
    assert err.value.code == "insufficient_stock" and err.value.status == 409
    assert (on_hand(lot.id, "A-01-01"), on_hand(lot.id, "B-02-01")) == (D(3), D(2))
    assert ledger_matches_balances(db.session) == []


def test_move_to_the_same_location_is_invalid(world, actor):
    """From and to must differ."""
    lot = receive(actor).lot
    with pytest.raises(DomainError) as err:
        stock.move(db.session, actor, lot=lot.id, from_location="A-01-01", to_location="A-01-01", qty=D(1))
    assert err.value.code == "invalid"


def test_held_and_expired_lots_can_still_be_moved_and_counted(world, actor, boss):
    """Quarantine and expiry stop use, not moves to quarantine or counts."""
    lot = receive(actor, lot="EXP", expires_on=date.today(), at=datetime.now(timezone.utc) - timedelta(days=2)).lot
    lots.set_status(db.session, boss, lot=lot.id, status=LotStatus.quarantine, reason="mould seen")
    stock.move(db.session, actor, lot=lot.id, from_location="A-01-01", to_location="QRT-1", qty=D(10))
    movement, _ = stock.count(db.session, actor, lot=lot.id, location="QRT-1", counted=D(9))
    db.session.commit()
    assert movement.type == MovementType.adjust and movement.qty == D(1)
    assert on_hand(lot.id, "QRT-1") == D(9)


def test_adjust_up_and_down(world, boss):
    """Adjustments add or remove with a reason; removing more than is there fails."""
    lot = receive(boss, "4").lot
    up = stock.adjust(db.session, boss, lot=lot.id, location="A-01-01", delta=D("1.5"), reason="found")
    down = stock.adjust(db.session, boss, lot=lot.id, location="A-01-01", delta=D("-0.5"), reason="spill")
    db.session.commit()
    assert (up.to_location.code, down.from_location.code) == ("A-01-01", "A-01-01")
    assert on_hand(lot.id, "A-01-01") == D(5)
    with pytest.raises(DomainError):
        stock.adjust(db.session, boss, lot=lot.id, location="A-01-01", delta=D("-6"), reason="x")


def test_scrap_writes_off(world, boss):
    """Scrap takes stock out of a location for good."""
    lot = receive(boss, "4").lot
    movement = stock.scrap(db.session, boss, lot=lot.id, location="A-01-01", qty=D(4), reason="damaged")
    db.session.commit()
    assert movement.type == MovementType.scrap and on_hand(lot.id, "A-01-01") == 0


def test_count_sets_on_hand_through_an_adjusting_movement(world, actor):
    """A count records the event; only a difference becomes a movement; zero is a valid count."""
    lot = receive(actor, "7").lot
    same, event = stock.count(db.session, actor, lot=lot.id, location="A-01-01", counted=D(7))
    assert same is None and (event.old_value, event.new_value) == ("7", "7")
    found, _ = stock.count(db.session, actor, lot=lot.id, location="B-02-01", counted=D(2))
    gone, _ = stock.count(db.session, actor, lot=lot.id, location="A-01-01", counted=D(0))
    db.session.commit()
    assert (found.to_location.code, found.qty) == ("B-02-01", D(2))
    assert (gone.from_location.code, gone.qty) == ("A-01-01", D(7))
    assert ledger_matches_balances(db.session) == []
    assert db.session.scalar(select(LotEvent).where(LotEvent.kind == "count").limit(1)) is not None


def test_whole_units_refuse_fractions(world, actor):
    """Eggs are counted in whole units."""
    with pytest.raises(DomainError) as err:
        stock.receive(db.session, actor, item="EGGS", qty=D("1.5"), location="A-01-01")
    assert err.value.errors == {"qty": ["EA is counted in whole units"]}


def test_quarantine_and_release_are_audited(world, actor, boss):
    """Status changes need a reason, are recorded as events, and refuse no-ops and recalled lots."""
    lot = receive(actor).lot
    lots.set_status(db.session, boss, lot=lot.id, status=LotStatus.quarantine, reason="lab test")
    with pytest.raises(DomainError) as err:
        lots.set_status(db.session, boss, lot=lot.id, status=LotStatus.quarantine, reason="again")
    assert err.value.code == "no_change"
    lots.set_status(db.session, boss, lot=lot.id, status=LotStatus.available, reason="lab ok")
    db.session.commit()
    events = db.session.scalars(select(LotEvent).where(LotEvent.kind == "status").order_by(LotEvent.id)).all()
    assert [(e.old_value, e.new_value, e.reason) for e in events] == [
        ("available", "quarantine", "lab test"), ("quarantine", "available", "lab ok")]


def test_ledger_rows_cannot_be_changed_or_deleted(world, actor):
    """The ledger is append-only."""
    movement = receive(actor)
    movement.qty = D(99)
    with pytest.raises(RuntimeError):
        db.session.flush()
    db.session.rollback()
    db.session.delete(db.session.get(Movement, movement.id))
    with pytest.raises(RuntimeError):
        db.session.flush()
    db.session.rollback()


def test_balance_can_never_go_negative_in_the_database(world, actor):
    """A CHECK constraint backs the rule even if code tried to bypass it."""
    lot = receive(actor, "1").lot
    with pytest.raises(Exception):
        db.session.execute(text("UPDATE balance SET on_hand = -1 WHERE lot_id = :id"), {"id": lot.id})
        db.session.flush()
    db.session.rollback()
