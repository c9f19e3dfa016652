"""The demo data set: a small cookie bakery with its suppliers, customers, warehouse and stock."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.domain import Actor, masterdata, stock
from backend.domain.auth import create_user
from backend.domain.lots import local_date, set_status
from backend.models import Balance, Item, Location, LotStatus, Partner, Role, User

DEMO_LOGINS = ("worker", "supervisor", "admin")

USERS = (
    ("worker", "Jonas Becker"),
    ("supervisor", "Sabine Krüger"),
    ("admin", "Thomas Wendt"),
)

# sku, name, unit, GTIN-13 without its check digit, shelf life in days
RAW_MATERIALS = (
    ("RM-FLOUR", "Wheat flour type 550, 25 kg sack", "KGM", "401234500001", 270),
    ("RM-SUGAR", "Fine white sugar, 25 kg sack", "KGM", "401234500002", 730),
    ("RM-EGGS", "Free-range eggs, size M", "EA", "401234500003", 28),
    ("RM-COCOA", "Cocoa powder 20-22 % fat, 25 kg sack", "KGM", "401234500004", 540),
    ("RM-BUTTER", "Sweet cream butter 82 %, 10 kg block", "KGM", "401234500005", 90),
)

FINISHED_GOODS = (
    ("FG-CHOC-12", "Chocolate chip cookies, 12-pack", 180),
    ("FG-BUTTER-500", "Butter cookies, 500 g tin", 270),
    ("FG-DOUBLE-8", "Double chocolate cookies, 8-pack", 150),
    ("FG-OAT-10", "Oat and raisin cookies, 10-pack", 180),
)

LOCATIONS = (
    ("DOCK-1", "Receiving dock 1", "receiving"),
    ("DOCK-2", "Receiving dock 2 (chilled goods)", "receiving"),
    *((f"A-{bay:02}-{level:02}", f"Rack A, bay {bay}, level {level}", "storage")
      for bay in (1, 2, 3) for level in (1, 2)),
    ("COLD-01", "Cold room, shelf 1", "storage"),
    ("COLD-02", "Cold room, shelf 2", "storage"),
    ("STAGE-1", "Staging lane 1 (line 1)", "staging"),
    ("STAGE-2", "Staging lane 2 (line 2)", "staging"),
    ("LINE-1", "Production line 1: drop cookies", "production"),
    ("LINE-2", "Production line 2: butter cookies", "production"),
    ("QRT-1", "Quarantine cage", "quarantine"),
)

# code, name, street, postal code, city, country, contact, email, phone, phone after hours
SUPPLIERS = (
    ("SUP-MILL", "Vossmühle GmbH", "Mühlenweg 12", "47533", "Kleve", "DE", "Katrin Voss",
     "orders@vossmuehle.example", "+49 2821 71230", "+49 171 4402210"),
    ("SUP-SUGAR", "Hanse Zucker & Kakao GmbH", "Am Sandtorkai 41", "20457", "Hamburg", "DE", "Ole Petersen",
     "vertrieb@hanse-zucker.example", "+49 40 3378120", "+49 160 9182734"),
    ("SUP-FARM", "Lindenhof Eier & Molkerei eG", "Dorfstraße 3", "29525", "Uelzen", "DE", "Heike Brandt",
     "bestellung@lindenhof.example", "+49 581 9730", "+49 152 23817460"),
)

CUSTOMERS = (
    ("CUS-FRISCH", "FrischMarkt Süd GmbH", "Landsberger Straße 310", "80687", "München", "DE", "Markus Huber",
     "einkauf@frischmarkt.example", "+49 89 5587210", "+49 172 6634019"),
    ("CUS-HANSE", "Hanse Feinkost KG", "Ost-West-Straße 70", "20457", "Hamburg", "DE", "Birte Lorenzen",
     "qs@hanse-feinkost.example", "+49 40 6093341", "+49 151 40127733"),
    ("CUS-GRUEN", "Grünkorb Bio-Märkte GmbH", "Aachener Straße 1042", "50858", "Köln", "DE", "Leonie Schmitz",
     "sortiment@gruenkorb.example", "+49 221 4847120", "+49 176 80239145"),
    ("CUS-LINDE", "Kaffeehaus Linde GmbH", "Mariahilfer Straße 88", "1070", "Wien", "AT", "Florian Gruber",
     "office@kaffeehaus-linde.example", "+43 1 5231877", "+43 664 3318204"),
    ("CUS-TANK", "Autohof Rastpunkt Kassel", "Dörnbergstraße 5", "34233", "Fuldatal", "DE", "Dennis Rupp",
     "markt@rastpunkt.example", "+49 561 8170450", "+49 160 7745120"),
)

# sku, lot, supplier, supplier's lot, qty, unit cost (EUR per unit), received days ago,
# expires in days from today, put-away as (location, qty) pairs
RECEIPTS = (
    ("RM-FLOUR", "VM-24117", "SUP-MILL", "CH24117", "1000", "0.58", 26, 230,
     (("A-01-01", "600"), ("A-01-02", "400"))),
    ("RM-FLOUR", "VM-24163", "SUP-MILL", "CH24163", "1000", "0.61", 12, 244, (("A-02-01", "1000"),)),
    ("RM-FLOUR", "VM-24198", "SUP-MILL", "CH24198", "500", "0.61", 0, 258, ()),
    ("RM-SUGAR", "HZ-7781", "SUP-SUGAR", "7781/2", "750", "0.92", 21, 690, (("A-02-02", "750"),)),
    ("RM-SUGAR", "HZ-7802", "SUP-SUGAR", "7802/1", "500", "0.94", 4, 715, (("A-02-02", "250"),)),
    ("RM-COCOA", "HZ-K3304", "SUP-SUGAR", "K3304", "100", "6.40", 19, 505, (("A-03-01", "100"),)),
    ("RM-COCOA", "HZ-K3317", "SUP-SUGAR", "K3317", "75", "6.55", 5, 520, ()),
    ("RM-EGGS", "LH-E0931", "SUP-FARM", "E0931-DE-0356001", "3600", "0.21", 24, -3, (("COLD-01", "3600"),)),
    ("RM-EGGS", "LH-E1007", "SUP-FARM", "E1007-DE-0356001", "5400", "0.22", 10, 14, (("COLD-01", "5400"),)),
    ("RM-EGGS", "LH-E1021", "SUP-FARM", "E1021-DE-0356001", "3600", "0.22", 3, 24, (("COLD-02", "3600"),)),
    ("RM-BUTTER", "LH-B552", "SUP-FARM", "B552", "250", "6.85", 20, 62, (("COLD-02", "250"),)),
    ("RM-BUTTER", "LH-B561", "SUP-FARM", "B561", "300", "7.10", 6, 80, (("COLD-02", "200"), ("COLD-01", "100"))),
)

# sku, lot, reason, where it is taken to
QUARANTINED = (
    ("RM-COCOA", "HZ-K3317", "Certificate of analysis missing; held until the supplier sends it", "QRT-1"),
)


def seed(session: Session, tz: ZoneInfo = ZoneInfo("UTC")) -> bool:
    """Seed the demo data set into an empty database; False, changing nothing, when users exist."""
    if session.scalar(select(User.id).limit(1)) is not None:
        return False
    users = {username: _add_user(session, username, name) for username, name in USERS}
    _add_master_data(session)
    worker = Actor(user=users["worker"], device="HH-01", tz=tz)
    supervisor = Actor(user=users["supervisor"], device="PC-OFFICE", tz=tz)
    now = datetime.now(timezone.utc)
    lots = _receive_and_put_away(session, worker, now, local_date(now, tz))
    _quarantine(session, worker, supervisor, lots, now)
    return True


def gtin13(digits: str) -> str:
    """The 12 digits followed by their GS1 mod-10 check digit."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits))
    return digits + str(-total % 10)


def _add_user(session: Session, username: str, name: str) -> User:
    """A demo user whose role and password are its user name."""
    return create_user(session, username=username, password=username, role=Role(username), name=name)


def _add_master_data(session: Session) -> None:
    """Items, locations, suppliers and customers, through the master data rules."""
    for sku, name, uom, gtin, shelf_life in RAW_MATERIALS:
        masterdata.create(session, Item, dict(sku=sku, name=name, uom=uom, gtin=gtin13(gtin),
                                              shelf_life_days=shelf_life))
    for sku, name, shelf_life in FINISHED_GOODS:
        masterdata.create(session, Item, dict(sku=sku, name=name, uom="EA", shelf_life_days=shelf_life))
    for code, name, kind in LOCATIONS:
        masterdata.create(session, Location, dict(code=code, name=name, kind=kind))
    for kind, partners in (("supplier", SUPPLIERS), ("customer", CUSTOMERS)):
        for code, name, street, postal_code, city, country, contact, email, phone, after_hours in partners:
            masterdata.create(session, Partner, dict(
                code=code, name=name, kind=kind, street=street, postal_code=postal_code, city=city,
                country=country, contact=contact, email=email, phone=phone, phone_after_hours=after_hours))


def _receive_and_put_away(session: Session, actor: Actor, now: datetime, today: date) -> dict:
    """Receive every lot on a dock and move it to its racks an hour later; returns lot ids by (sku, code)."""
    lots = {}
    for number, (sku, code, supplier, supplier_lot, qty, cost, days_ago, expires_in, put_away) \
            in enumerate(RECEIPTS, start=1):
        at = now - timedelta(days=days_ago, hours=3)
        dock = "DOCK-2" if sku in ("RM-EGGS", "RM-BUTTER") else "DOCK-1"
        movement = stock.receive(
            session, actor, item=sku, qty=Decimal(qty), location=dock, lot=code,
            expires_on=today + timedelta(days=expires_in), supplier=supplier, supplier_lot=supplier_lot,
            unit_cost=Decimal(cost), reference=f"GRN-{number:05}", at=at)
        lots[sku, code] = movement.lot.id
        for location, moved in put_away:
            stock.move(session, actor, lot=movement.lot.id, from_location=dock, to_location=location,
                       qty=Decimal(moved), at=at + timedelta(hours=1))
    return lots


def _quarantine(session: Session, worker: Actor, supervisor: Actor, lots: dict, now: datetime) -> None:
    """Put the held lots on quarantine and take their stock from the dock to the quarantine cage."""
    for sku, code, reason, location in QUARANTINED:
        lot_id = lots[sku, code]
        set_status(session, supervisor, lot=lot_id, status=LotStatus.quarantine, reason=reason,
                   at=now - timedelta(hours=2))
        for balance in _stocked_balances(session, lot_id):
            stock.move(session, worker, lot=lot_id, from_location=balance.location.code, to_location=location,
                       qty=balance.on_hand, reason=reason, at=now - timedelta(hours=1))


def _stocked_balances(session: Session, lot_id: int) -> list:
    """The lot's balances with stock on hand."""
    return list(session.scalars(select(Balance).where(Balance.lot_id == lot_id, Balance.on_hand > 0)))

