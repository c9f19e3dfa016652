"""Concurrent stock operations: row locks (PostgreSQL) and write transactions (SQLite) prevent overdraws."""
import random
import threading
from decimal import Decimal as D

from sqlalchemy import select

from backend.domain import Actor, stock
from backend.domain.errors import DomainError
from backend.models import Balance, Movement, User, db
from tests.conftest import ledger_matches_balances

THREADS = 8
ATTEMPTS = 25


def _hammer(app, lot_id: int, user_id: int, seed: int, barrier, outcomes: list) -> None:
    """Move and scrap random amounts out of A-01-01 as fast as possible."""
    rng = random.Random(seed)
    with app.app_context():
        actor = Actor(user=db.session.get(User, user_id), device=f"HH-{seed}")
        db.session.commit()  # on SQLite even a read holds the write lock until the transaction ends
        barrier.wait()
        for _ in range(ATTEMPTS):
            qty = D(rng.randint(1, 9))
            try:
                if rng.random() < 0.5:
                    stock.move(db.session, actor, lot=lot_id, from_location="A-01-01", to_location="B-02-01", qty=qty)
                else:
                    stock.scrap(db.session, actor, lot=lot_id, location="A-01-01", qty=qty, reason="race")
                db.session.commit()
                outcomes.append(qty)
            except DomainError as exc:
                db.session.rollback()
                assert exc.code == "insufficient_stock"
                outcomes.append(D(0))
        db.session.remove()


def test_eight_threads_never_overdraw_one_lot(app, world, users):
    """8 threads moving and scrapping from one lot and location: never negative, ledger adds up."""
    worker_id, source_id = users["worker"].id, world["a"].id
    lot_id = stock.receive(db.session, Actor(user=users["worker"]), item="FLOUR", qty=D(300),
                           location="A-01-01").lot_id
    db.session.commit()
    db.session.close()  # hold no transaction (on SQLite: no write lock) while the threads run
    barrier, outcomes = threading.Barrier(THREADS), []
    threads = [threading.Thread(target=_hammer, args=(app, lot_id, worker_id, i, barrier, outcomes))
               for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    db.session.expire_all()
    source = db.session.get(Balance, (lot_id, source_id))
    taken = sum(outcomes)
    assert len(outcomes) == THREADS * ATTEMPTS
    assert D(0) in outcomes, "the lot never ran out: the test did not reach contention"
    assert source.on_hand == D(300) - taken >= 0
    assert ledger_matches_balances(db.session) == []
    out = db.session.scalars(select(Movement.qty).where(Movement.from_location_id == source_id)).all()
    assert sum(out) == taken
