"""The routes master data shares: list with paging and filters, create, get, update, deactivate."""
from __future__ import annotations

from typing import Callable

from flask_smorest import Blueprint

from backend.api import auth_required, paginate
from backend.domain import masterdata
from backend.models import Role, db
from backend.schemas import page_of


def add_crud_routes(blp: Blueprint, model, schema, update_schema, filter_schema,
                    query: Callable[[dict], object]) -> None:
    """Register the five master-data routes of `model` on `blp`; `query` builds the filtered select."""
    name = model.__tablename__

    @blp.get("")
    @blp.doc(summary=f"List {name}s, with paging and filters.")
    @auth_required()
    @blp.arguments(filter_schema, location="query")
    @blp.response(200, page_of(schema))
    def list_rows(args):
        """List rows, with paging and filters."""
        return paginate(query(args), args)

    @blp.post("")
    @blp.doc(summary=f"Create a {name} (admin).")
    @auth_required(Role.admin)
    @blp.arguments(schema)
    @blp.response(201, schema)
    def create_row(data):
        """Create a row (admin)."""
        row = masterdata.create(db.session, model, data)
        db.session.commit()
        return row

    @blp.get("/<id:obj_id>")
    @blp.doc(summary=f"Get one {name}.")
    @auth_required()
    @blp.response(200, schema)
    def get_row(obj_id):
        """Get one row."""
        return masterdata.get(db.session, model, obj_id)

    @blp.patch("/<id:obj_id>")
    @blp.doc(summary=f"Change a {name}; `active: true` reactivates it (admin).")
    @auth_required(Role.admin)
    @blp.arguments(update_schema(partial=True))
    @blp.response(200, schema)
    def update_row(changes, obj_id):
        """Change a row (admin)."""
        row = masterdata.update(db.session, model, obj_id, changes)
        db.session.commit()
        return row

    @blp.delete("/<id:obj_id>")
    @blp.doc(summary=f"Deactivate a {name}: it stays in the history but takes no new stock (admin).")
    @auth_required(Role.admin)
    @blp.response(200, schema)
    def deactivate_row(obj_id):
        """Deactivate a row (admin)."""
        row = masterdata.update(db.session, model, obj_id, {"active": False})
        db.session.commit()
        return row
