"""The demo data set: a small cookie bakery with its suppliers, customers, warehouse and stock.

Besides receipts it has a week of history, made through the domain rules as the floor would have done it:
two production runs on named machines and operators, shipments to several customers, and for today open
pick lists (sales orders and a planned run's materials) that a new user can pick, confirm and ship at once.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.domain import Actor, masterdata, orders, picking, production, shipping, stock
from backend.domain.auth import create_user
from backend.domain.lots import local_date, set_status
from backend.domain.scans import GS
from backend.models import Balance, Item, Location, Lot, LotStatus, Partner, PickList, PickTask, Role, User

DEMO_LOGINS = ("worker", "supervisor", "admin")

USERS = (
    ("worker", "Jonas Becker"),
    ("supervisor", "Sabine Krüger"),
    ("admin", "Thomas Wendt"),
)

# Line operators named on production operations; workers with random passwords, not demo logins.
OPERATORS = (
    ("mkaya", "Murat Kaya"),
    ("lschulz", "Lena Schulz"),
    ("dnowak", "Dariusz Nowak"),
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

# Recipes per batch: (sku, qty) of each material
DOUBLE_CHOCOLATE_BATCH = (("RM-FLOUR", "100"), ("RM-SUGAR", "60"), ("RM-BUTTER", "50"), ("RM-EGGS", "600"),
                          ("RM-COCOA", "15"))
BUTTER_COOKIE_BATCH = (("RM-FLOUR", "140"), ("RM-BUTTER", "100"), ("RM-SUGAR", "60"), ("RM-EGGS", "400"))


class Run(NamedTuple):
    """A past production run: made on a line from a recipe through steps on machines by operators."""

    days_ago: int
    start: str  # the site's wall-clock time the first step started (materials are picked before it)
    item: str
    planned: str
    made: str
    line: str
    store: str  # where the output is put away
    materials: tuple  # (sku, qty) pairs
    steps: tuple  # (operation, machine, operator's user name, hours) in order; materials go in at the first


PRODUCTION_RUNS = (
    Run(8, "06:00", "FG-DOUBLE-8", "1200", "1180", "LINE-1", "A-03-02", DOUBLE_CHOCOLATE_BATCH, (
        ("Mixing", "Spiral mixer SM-200", "mkaya", 1),
        ("Depositing and baking", "Tunnel oven TO-12", "lschulz", 3.5),
        ("Flow wrapping", "Flow wrapper FW-3", "dnowak", 2))),
    Run(2, "06:30", "FG-BUTTER-500", "600", "590", "LINE-2", "A-03-02", BUTTER_COOKIE_BATCH, (
        ("Creaming and mixing", "Horizontal mixer HM-150", "dnowak", 1),
        ("Wire-cutting and baking", "Tunnel oven TO-18", "mkaya", 3),
        ("Tin filling", "Tin filler TF-2", "lschulz", 2))),
)


class Sale(NamedTuple):
    """A customer's order: allocated to a staging lane, picked, confirmed and shipped two hours later."""

    customer: str
    reference: str  # the customer's purchase order number
    days_ago: int
    clock: str  # the site's wall-clock time of allocation
    staging: str
    lines: tuple  # (sku, qty) pairs


SHIPPED_ORDERS = (
    Sale("CUS-FRISCH", "4500018872", 6, "09:00", "STAGE-1", (("FG-DOUBLE-8", "360"),)),
    Sale("CUS-HANSE", "HF-2291", 5, "10:30", "STAGE-2", (("FG-DOUBLE-8", "192"),)),
    Sale("CUS-GRUEN", "GK-PO-7713", 1, "08:30", "STAGE-1", (("FG-BUTTER-500", "120"), ("FG-DOUBLE-8", "96"))),
    Sale("CUS-LINDE", "KL-0419", 1, "11:00", "STAGE-2", (("FG-BUTTER-500", "60"),)),
)

# Allocated today and waiting for the picker: customer, reference, staging lane, lines
OPEN_ORDERS = (
    ("CUS-TANK", "RP-1187", "STAGE-1", (("FG-DOUBLE-8", "96"),)),
    ("CUS-HANSE", "HF-2310", "STAGE-2", (("FG-BUTTER-500", "96"), ("FG-DOUBLE-8", "144"))),
    ("CUS-FRISCH", "4500019040", "STAGE-1", (("FG-DOUBLE-8", "192"), ("FG-BUTTER-500", "120"))),
)

# Planned for today, its materials requested: item, qty, line, recipe
PLANNED_RUN = ("FG-DOUBLE-8", "1200", "LINE-1", DOUBLE_CHOCOLATE_BATCH)


@dataclass(frozen=True)
class Crew:
    """Who does the demo's work: the picker, the supervisor and the line operators (by user name)."""

    session: Session
    worker: Actor
    supervisor: Actor
    operators: dict[str, Actor]


def seed(session: Session, tz: ZoneInfo = ZoneInfo("UTC")) -> bool:
    """Seed the demo data set into an empty database; False, changing nothing, when users exist."""
    if session.scalar(select(User.id).limit(1)) is not None:
        return False
    users = {username: _add_user(session, username, name) for username, name in USERS}
    operators = {username: Actor(user=_add_operator(session, username, name), device="PC-LINES", tz=tz)
                 for username, name in OPERATORS}
    _add_master_data(session)
    worker = Actor(user=users["worker"], device="HH-01", tz=tz)
    supervisor = Actor(user=users["supervisor"], device="PC-OFFICE", tz=tz)
    now = datetime.now(timezone.utc)
    today = local_date(now, tz)
    lots = _receive_and_put_away(session, worker, now, today)
    _quarantine(session, worker, supervisor, lots, now)
    crew = Crew(session, worker, supervisor, operators)
    _replay_history(crew, today)
    _open_todays_work(crew, today)
    return True


def lot_scan(lot: Lot) -> str:
    """What a handheld reads from the lot's GS1 DataMatrix label: (01) GTIN or (240) SKU, then (10) lot."""
    if lot.item.gtin:
        return f"]d201{lot.item.gtin}10{lot.code}"
    return f"]d2240{lot.item.sku}{GS}10{lot.code}"


def gtin13(digits: str) -> str:
    """The 12 digits followed by their GS1 mod-10 check digit."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits))
    return digits + str(-total % 10)


def _add_user(session: Session, username: str, name: str) -> User:
    """A demo user whose role and password are its user name."""
    return create_user(session, username=username, password=username, role=Role(username), name=name)


def _add_operator(session: Session, username: str, name: str) -> User:
    """A line operator (a worker) with a random password: not a demo login."""
    return create_user(session, username=username, password=secrets.token_urlsafe(16), role=Role.worker, name=name)


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



def _site_time(today: date, days_ago: int, clock: str, tz: ZoneInfo) -> datetime:
    """The site's wall-clock time `clock` (HH:MM) `days_ago` days before today, in UTC."""
    hour, minute = map(int, clock.split(":"))
    return datetime.combine(today - timedelta(days=days_ago), time(hour, minute), tzinfo=tz).astimezone(timezone.utc)


def _replay_history(crew: Crew, today: date) -> None:
    """Run the past production runs and shipments in the order they happened, so each sees the stock of its day."""
    tz = crew.worker.tz
    events = [(_site_time(today, run.days_ago, run.start, tz), _production_run, run) for run in PRODUCTION_RUNS]
    events += [(_site_time(today, sale.days_ago, sale.clock, tz), _shipped_sale, sale) for sale in SHIPPED_ORDERS]
    for at, happen, row in sorted(events, key=lambda event: event[0]):
        happen(crew, row, at)


def _production_run(crew: Crew, run: Run, start: datetime) -> None:
    """Plan, supply, run, book and close one production order; its output is put away afterwards."""
    session, supervisor = crew.session, crew.supervisor
    order = production.create_production_order(
        session, supervisor, item=run.item, qty=Decimal(run.planned), location=run.line,
        materials=_lines(run.materials), due_on=local_date(start, supervisor.tz))
    requested = start - timedelta(minutes=90)
    pick_list, shortfalls = production.request_materials(session, supervisor, order=order.id, at=requested)
    _must_be_covered(order.number, shortfalls)
    _backdate(requested, order, pick_list)
    tasks = _pick_all(crew, pick_list, requested + timedelta(minutes=10))
    _confirm(crew, tasks, start - timedelta(minutes=20))
    clock, output = start, None
    for number, (name, machine, operator, hours) in enumerate(run.steps):
        actor = crew.operators[operator]
        operation = production.start_operation(session, actor, order=order.id, name=name, workstation=machine,
                                               operator=operator, at=clock)
        if number == 0:
            for task in tasks:
                production.consume(session, actor, order=order.id, lot=task.picked_lot_id, location=run.line,
                                   qty=task.picked_qty, at=clock + timedelta(minutes=5))
        clock += timedelta(hours=hours)
        if number == len(run.steps) - 1:
            output = production.produce(session, actor, order=order.id, qty=Decimal(run.made), location=run.line,
                                        at=clock - timedelta(minutes=5))
        production.end_operation(session, actor, operation=operation.id, at=clock)
    stock.move(session, crew.worker, lot=output.lot_id, from_location=run.line, to_location=run.store,
               qty=Decimal(run.made), at=clock + timedelta(minutes=20))
    production.close_order(session, supervisor, order=order.id)


def _shipped_sale(crew: Crew, sale: Sale, allocated: datetime) -> None:
    """Take a customer's order, allocate, pick and confirm it, and ship it two hours later."""
    order, pick_list = _allocated_sale(crew, sale.customer, sale.reference, sale.staging, sale.lines, allocated)
    _backdate(allocated, order, pick_list)
    tasks = _pick_all(crew, pick_list, allocated + timedelta(minutes=15))
    _confirm(crew, tasks, allocated + timedelta(hours=1))
    shipping.ship(crew.session, crew.supervisor, order=order.id, at=allocated + timedelta(hours=2))


def _open_todays_work(crew: Crew, today: date) -> None:
    """Today's sales orders and the planned run's materials, allocated and waiting for the picker."""
    for customer, reference, staging, lines in OPEN_ORDERS:
        _allocated_sale(crew, customer, reference, staging, lines, None)
    item, qty, line, materials = PLANNED_RUN
    order = production.create_production_order(crew.session, crew.supervisor, item=item, qty=Decimal(qty),
                                                location=line, materials=_lines(materials), due_on=today)
    _, shortfalls = production.request_materials(crew.session, crew.supervisor, order=order.id)
    _must_be_covered(order.number, shortfalls)


def _allocated_sale(crew: Crew, customer: str, reference: str, staging: str, lines: tuple,
                    at: datetime | None) -> tuple:
    """A sales order allocated in full to a staging lane at `at` (None: now); returns it and its pick list."""
    requested_on = local_date(at or datetime.now(timezone.utc), crew.supervisor.tz)
    order = orders.create_sales_order(crew.session, crew.supervisor, customer=customer, lines=_lines(lines),
                                      requested_on=requested_on, reference=reference)
    pick_list, shortfalls = orders.allocate_order(crew.session, crew.supervisor, order=order.id, staging=staging,
                                                  at=at)
    _must_be_covered(order.number, shortfalls)
    return order, pick_list


def _lines(pairs: tuple) -> list[dict]:
    """Order or material lines from (sku, qty) pairs."""
    return [{"item": sku, "qty": Decimal(qty)} for sku, qty in pairs]


def _must_be_covered(number: str, shortfalls: dict) -> None:
    """The demo's quantities are chosen to fit its stock: a shortfall is a mistake in the tables above."""
    if shortfalls:
        raise RuntimeError(f"demo data: {number} is short of {shortfalls}")


def _pick_all(crew: Crew, pick_list: PickList, at: datetime) -> list[PickTask]:
    """The worker picks every task of the list in walking order, scanning each lot's label, four minutes apart."""
    tasks = sorted(pick_list.tasks, key=lambda task: (task.from_location.code, task.id))
    for number, task in enumerate(tasks):
        picking.pick(crew.session, crew.worker, task=task.id, scan=lot_scan(task.lot), qty=task.qty,
                     at=at + timedelta(minutes=4 * number))
    return tasks


def _confirm(crew: Crew, tasks: list[PickTask], at: datetime) -> None:
    """The supervisor confirms the picks; dated `at`, as confirm() stamps the current time."""
    for task in picking.confirm(crew.session, crew.supervisor, tasks):
        task.confirmed_at = at


def _backdate(at: datetime, *documents) -> None:
    """Date orders and pick lists made for the past on their day (the domain stamps them with the current time)."""
    for document in documents:
        document.created_at = at
