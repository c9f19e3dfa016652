"""Genealogy derived from the ledger: which lots went into which, through which production orders."""
from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.domain.errors import DomainError, unknown
from backend.models import Lot, Movement, MovementType, ProductionOrder


def trace(session: Session, lot_id: int, direction: str = "backward") -> dict:
    """The graph reachable from a lot: backward to its inputs, or forward to what was made from it.

    Edges run from input lot to output lot with the quantity of the input consumed and of the output
    produced under the production order that links them.
    """
    if direction not in ("backward", "forward"):
        raise DomainError("invalid", "direction is backward or forward", errors={"direction": ["Unknown"]})
    root = session.get(Lot, lot_id)
    if root is None:
        raise unknown("lot", lot_id, status=404)
    lots, edges, orders, seen, frontier = {root.id: root}, [], {}, {root.id}, [root.id]
    while frontier:
        links = _links(session, frontier, direction)
        frontier = []
        for order_number, inputs, outputs in links:
            orders[order_number] = session.scalar(select(ProductionOrder).where(ProductionOrder.number == order_number))
            for (in_id, consumed), (out_id, produced) in ((i, o) for i in inputs.items() for o in outputs.items()):
                edges.append({"from": in_id, "to": out_id, "consumed": consumed, "produced": produced,
                              "order": order_number})
            for new_id in (inputs if direction == "backward" else outputs):
                if new_id not in seen:
                    seen.add(new_id)
                    frontier.append(new_id)
                    lots[new_id] = session.get(Lot, new_id)
    unique_edges = {(e["from"], e["to"], e["order"]): e for e in edges}
    return {"root": root, "direction": direction, "lots": list(lots.values()),
            "edges": list(unique_edges.values()), "orders": [o for o in orders.values() if o is not None],
            "receipts": _partner_movements(session, MovementType.receive, lots),
            "shipments": _partner_movements(session, MovementType.ship, lots)}


def _partner_movements(session: Session, kind: MovementType, lots: dict) -> list[Movement]:
    """The receipts from suppliers (or shipments to customers) of the traced lots, in time order."""
    return session.scalars(select(Movement).where(Movement.type == kind, Movement.lot_id.in_(list(lots)))
                           .order_by(Movement.happened_at, Movement.id)).all()


def _links(session: Session, lot_ids: list[int], direction: str) -> list[tuple[str, dict, dict]]:
    """For the production orders touching these lots: (order, inputs {lot: qty}, outputs {lot: qty})."""
    own_type = MovementType.produce if direction == "backward" else MovementType.consume
    numbers = set(session.scalars(select(Movement.ref_number).where(
        Movement.type == own_type, Movement.ref_type == "production", Movement.lot_id.in_(lot_ids))))
    if not numbers:
        return []
    flows: dict[str, dict[MovementType, dict[int, Decimal]]] = defaultdict(lambda: defaultdict(dict))
    rows = session.execute(select(Movement.ref_number, Movement.type, Movement.lot_id, Movement.qty).where(
        Movement.ref_type == "production", Movement.ref_number.in_(numbers),
        Movement.type.in_([MovementType.consume, MovementType.produce])))
    for number, kind, lot, qty in rows:
        bucket = flows[number][kind]
        bucket[lot] = bucket.get(lot, Decimal(0)) + qty
    result = []
    for number, kinds in sorted(flows.items()):
        inputs, outputs = kinds[MovementType.consume], kinds[MovementType.produce]
        if direction == "backward":
            outputs = {k: v for k, v in outputs.items() if k in lot_ids}
        else:
            inputs = {k: v for k, v in inputs.items() if k in lot_ids}
        result.append((number, inputs, outputs))
    return result
