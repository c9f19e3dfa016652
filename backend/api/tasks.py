"""Pick lists and pick tasks: picking, confirmation and the exceptions queue."""
from flask_smorest import Blueprint
from sqlalchemy import select

from backend.api import auth_required, current_actor, paginate
from backend.domain import masterdata, picking
from backend.models import Location, PickList, PickTask, Role, TaskStatus, db
from backend.schemas import (
    ConfirmedSchema, DecisionSchema, PickListSchema, PickResultSchema, PickSchema, TaskFilterSchema, TaskSchema,
    page_of,
)

blp = Blueprint("tasks", __name__, url_prefix="/api", description="Picking")


@blp.get("/tasks")
@auth_required()
@blp.arguments(TaskFilterSchema, location="query")
@blp.response(200, page_of(TaskSchema))
def list_tasks(args):
    """Pick tasks in walking order (by from-location): status=open for work, picked to confirm, exception."""
    query = select(PickTask).join(Location, Location.id == PickTask.from_location_id).order_by(
        Location.code, PickTask.id)
    if "status" in args:
        query = query.where(PickTask.status == args["status"])
    if "pick_list" in args:
        query = query.where(PickTask.pick_list_id == args["pick_list"])
    if "location" in args:
        query = query.where(Location.code == args["location"])
    return paginate(query, args)


@blp.get("/exceptions")
@auth_required(Role.supervisor)
@blp.response(200, TaskSchema(many=True))
def exceptions():
    """The exceptions queue: flagged picks and tasks whose stock was taken, oldest first."""
    return db.session.scalars(select(PickTask).where(PickTask.status == TaskStatus.exception)
                              .order_by(PickTask.picked_at, PickTask.id)).all()


@blp.get("/pick-lists/<id:list_id>")
@auth_required()
@blp.response(200, PickListSchema)
def get_pick_list(list_id):
    """A pick list with its tasks in walking order."""
    return masterdata.get(db.session, PickList, list_id)


@blp.post("/tasks/<id:task_id>/pick")
@auth_required()
@blp.arguments(PickSchema)
@blp.response(200, PickResultSchema)
def pick(data, task_id):
    """Pick for a task: applied, flagged for a supervisor, or rejected (4xx with the reason code)."""
    result = picking.pick(db.session, current_actor(), task=task_id, **data)
    db.session.commit()
    return {**result.verdict.__dict__, "movements": [m.id for m in result.movements], "task": result.task}


@blp.post("/tasks/<id:task_id>/confirm")
@auth_required(Role.supervisor)
@blp.response(200, ConfirmedSchema)
def confirm_task(task_id):
    """Confirm one picked task."""
    confirmed = picking.confirm_one(db.session, current_actor(), task=task_id)
    db.session.commit()
    return {"confirmed": confirmed}


@blp.post("/pick-lists/<id:list_id>/confirm")
@auth_required(Role.supervisor)
@blp.response(200, ConfirmedSchema)
def confirm_list(list_id):
    """Confirm every picked task of a pick list (exceptions wait for their decision)."""
    pick_list = masterdata.get(db.session, PickList, list_id)
    confirmed = picking.confirm(db.session, current_actor(), pick_list.tasks)
    db.session.commit()
    return {"confirmed": confirmed}


@blp.post("/tasks/<id:task_id>/approve")
@auth_required(Role.supervisor)
@blp.arguments(DecisionSchema)
@blp.response(200, TaskSchema)
def approve(data, task_id):
    """Approve a flagged pick (the picked lot stands and is confirmed)."""
    task = picking.approve(db.session, current_actor(), task=task_id, **data)
    db.session.commit()
    return task


@blp.post("/tasks/<id:task_id>/reject")
@auth_required(Role.supervisor)
@blp.arguments(DecisionSchema)
@blp.response(200, TaskSchema)
def reject(data, task_id):
    """Reject a flagged pick: reversing movements put the stock back and the task is open again."""
    task = picking.reject(db.session, current_actor(), task=task_id, **data)
    db.session.commit()
    return task
