"""The analytics domain owns no tenant table, so it has no reference rule."""

from __future__ import annotations

from tests.reference_model import TableRule

RULES: dict[str, TableRule] = {}
