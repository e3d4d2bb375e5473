"""Typed rows: stores hand out models and projections, never records; seeds name the
columns they write through the models.

mypy does the real work (a renamed column fails where it is read or written); these tests
pin the mechanisms it relies on.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from datetime import UTC, datetime
from typing import Protocol

import pytest
from sqlalchemy.orm.exc import UnmappedInstanceError

from villagegraph import resolvers
from villagegraph.models import column_names, from_record, from_records, into
from villagegraph.models.finance import AccountSubject
from villagegraph.models.notices import Notice
from villagegraph.models.residents import Resident
from villagegraph.models.tasks import Task
from villagegraph.resolvers.loaders import Loader
from villagegraph.resolvers.tasks import TaskWithStatus

# Functions of resolvers/ whose `Any` is not a row: a JSON payload, statement arguments.
NOT_ROWS = {
    "villagegraph.resolvers.tasks.task_payload",
    "villagegraph.resolvers.analytics.build_sql",
    "villagegraph.resolvers.notices._unread_args",
}
UNTYPED = ("Any", "Record")


def _store_functions() -> list[tuple[str, object]]:
    found = []
    for module_info in pkgutil.iter_modules(resolvers.__path__):
        module = importlib.import_module(f"villagegraph.resolvers.{module_info.name}")
        for name, value in vars(module).items():
            if getattr(value, "__module__", None) != module.__name__:
                continue
            if inspect.isfunction(value):
                found.append((f"{module.__name__}.{name}", value))
            elif inspect.isclass(value) and Protocol not in value.__mro__:
                for method_name, method in vars(value).items():
                    if inspect.isfunction(method):
                        found.append((f"{module.__name__}.{name}.{method_name}", method))
    return found


def _untyped(annotation: object) -> bool:
    return any(word in str(annotation) for word in UNTYPED)


def test_no_store_function_or_loader_returns_an_untyped_row() -> None:
    untyped = [
        name
        for name, function in _store_functions()
        if _untyped(inspect.signature(function).return_annotation) and name not in NOT_ROWS
    ]
    assert untyped == []


def test_every_loader_names_the_type_it_loads() -> None:
    loaders = [
        value
        for module_info in pkgutil.iter_modules(resolvers.__path__)
        for value in vars(
            importlib.import_module(f"villagegraph.resolvers.{module_info.name}")
        ).values()
        if inspect.isclass(value) and issubclass(value, Loader) and value is not Loader
    ]
    assert loaders
    for loader in loaders:
        assert not _untyped(inspect.signature(loader.batch_load).return_annotation), loader


def test_a_record_becomes_a_model_without_validation_or_orm_state() -> None:
    now = datetime.now(UTC)
    row = from_record(Notice, {"id": 7, "board": "NOT A BOARD", "published_at": now})
    assert (row.id, row.board, row.published_at) == (7, "NOT A BOARD", now)
    assert "_sa_instance_state" not in vars(row)  # a snapshot: never in an ORM session
    with pytest.raises(UnmappedInstanceError):
        _ = row.title  # a column the statement did not select is missing, not None


def test_a_projection_adds_its_computed_columns_to_the_tables() -> None:
    rows = from_records(TaskWithStatus, [{"id": 1, "title": "巡查", "status": "OVERDUE"}])
    assert (rows[0].id, rows[0].title, rows[0].status) == (1, "巡查", "OVERDUE")
    assert set(TaskWithStatus.model_fields) == set(Task.model_fields) | {"status"}


def test_into_names_the_models_table_and_columns() -> None:
    assert into(Task.assignee_code, Task.id, Task.title) == "vg.tasks (assignee_code, id, title)"
    assert column_names(Resident.village_code, Resident.id) == ["village_code", "id"]
    # The column is named, not the attribute: `class` is a Python keyword.
    assert into(AccountSubject.code, AccountSubject.class_) == "vg.account_subjects (code, class)"


def test_into_refuses_names_that_are_not_columns_and_columns_of_two_tables() -> None:
    with pytest.raises(TypeError, match="not a column"):
        column_names("village_code")
    with pytest.raises(TypeError, match="one table model"):
        into(Task.id, Resident.id)
