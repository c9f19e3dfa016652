from tests.conftest import ledger_matches_balances
from backend.domain import stock
from backend.models import db
from decimal import Decimal as D

def test_receive(world, actor, client, headers):
    m = stock.receive(db.session, actor, item="FLOUR", qty=D("0.1"), location="A-01-01")
    db.session.commit()
    assert ledger_matches_balances(db.session) == []
    assert client.get("/api/lots", headers=headers["worker"]).json["total"] == 1
