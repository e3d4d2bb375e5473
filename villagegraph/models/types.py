"""Column types the models share that SQLAlchemy does not name for us.

Owns only type objects; no table is declared here.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.types import UserDefinedType

# Every timestamp in vg is `timestamptz`.
TIMESTAMPTZ = DateTime(timezone=True)


class Cube(UserDefinedType[Any]):
    """The `cube` extension's type (vg.shelters.position, an earth point for distance search).

    Read only through SQL functions (earth_distance); Python never sees its value.
    """

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "cube"
