"""Property test: random stock operations keep every balance equal to its ledger and never negative."""
from decimal import Decimal

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import func, select, text

from backend.domain import stock
from backend.domain.errors import DomainError
from backend.models import Balance, Lot, LotEvent, Movement, db
from tests.conftest import ledger_matches_balances

LOCATIONS = ("RCV-1", "A-01-01", "B-02-01", "STAGE-1", "QRT-1")
quantities = st.decimals(min_value=Decimal("-1"), max_value=Decimal("40"), places=3)


def snapshot() -> tuple:
    """Everything an operation may change: row counts and every balance."""
    counts = tuple(db.session.scalar(select(func.count()).select_from(m)) for m in (Movement, Lot, LotEvent))
    balances = db.session.execute(select(Balance.lot_id, Balance.location_id, Balance.on_hand, Balance.reserved)
                                  .order_by(Balance.lot_id, Balance.location_id)).all()
    return counts, tuple(balances)


def test_random_operations_keep_the_ledger_and_balances_in_step(world, actor, boss):
    """Receive/move/adjust/scrap/count in random order: invariants hold and rejections change nothing."""

    class Ledger(RuleBasedStateMachine):
        """A model of the stock: expected on-hand per (lot, location)."""

        lots = Bundle("lots")

        def __init__(self):
            super().__init__()
            for table in ("movement", "lot_event", "balance", "lot"):
                db.session.execute(text(f"DELETE FROM {table}"))
            db.session.commit()
            self.expected: dict[tuple[int, str], Decimal] = {}

        def apply(self, operation, *args, **kwargs):
            """Run one domain operation; a refusal must leave the database exactly as it was."""
            before = snapshot()
            try:
                result = operation(db.session, *args, **kwargs)
            except DomainError:
                db.session.rollback()
                assert snapshot() == before
                return None
            db.session.commit()
            return result

        def change(self, lot_id, location, delta):
            """Book a change in the model."""
            key = (lot_id, location)
            self.expected[key] = self.expected.get(key, Decimal(0)) + delta

        @rule(target=lots, qty=quantities, location=st.sampled_from(LOCATIONS))
        def receive(self, qty, location):
            movement = self.apply(stock.receive, actor, item="FLOUR", qty=qty, location=location)
            if movement is None:
                assert qty <= 0
                return None
            self.change(movement.lot_id, location, qty)
            return movement.lot_id

        @rule(lot=lots, qty=quantities, src=st.sampled_from(LOCATIONS), dst=st.sampled_from(LOCATIONS))
        def move(self, lot, qty, src, dst):
            if lot is None:
                return
            moved = self.apply(stock.move, actor, lot=lot, from_location=src, to_location=dst, qty=qty)
            assert (moved is not None) == (src != dst and 0 < qty <= self.expected.get((lot, src), 0))
            if moved:
                self.change(lot, src, -qty)
                self.change(lot, dst, qty)

        @rule(lot=lots, delta=quantities, location=st.sampled_from(LOCATIONS))
        def adjust(self, lot, delta, location):
            if lot is None:
                return
            done = self.apply(stock.adjust, boss, lot=lot, location=location, delta=delta, reason="prop")
            assert (done is not None) == (delta != 0 and -delta <= self.expected.get((lot, location), 0))
            if done:
                self.change(lot, location, delta)

        @rule(lot=lots, qty=quantities, location=st.sampled_from(LOCATIONS))
        def scrap(self, lot, qty, location):
            if lot is None:
                return
            done = self.apply(stock.scrap, boss, lot=lot, location=location, qty=qty, reason="prop")
            assert (done is not None) == (0 < qty <= self.expected.get((lot, location), 0))
            if done:
                self.change(lot, location, -qty)

        @rule(lot=lots, counted=quantities, location=st.sampled_from(LOCATIONS))
        def count(self, lot, counted, location):
            if lot is None:
                return
            done = self.apply(stock.count, actor, lot=lot, location=location, counted=counted)
            assert (done is not None) == (counted >= 0)
            if done:
                self.change(lot, location, counted - self.expected.get((lot, location), Decimal(0)))

        @invariant()
        def balances_equal_their_ledger_and_the_model(self):
            assert ledger_matches_balances(db.session) == []
            rows = db.session.execute(text(
                "SELECT b.lot_id, l.code, b.on_hand FROM balance b JOIN location l ON l.id = b.location_id"))
            actual = {(lot, code): Decimal(qty) / 10**6 for lot, code, qty in rows}
            assert all(qty >= 0 for qty in actual.values())
            expected = {key: qty for key, qty in self.expected.items() if qty}
            assert {key: qty for key, qty in actual.items() if qty} == expected

    run_state_machine_as_test(Ledger, settings=settings(
        max_examples=25, stateful_step_count=25, deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]))
