"""Scale data of shelters (避灾安置点): three per town."""

from __future__ import annotations

from villagegraph.models import into
from villagegraph.models.shelters import Shelter
from villagegraph.seed.scale.core import ScaleRun, sql_hash

# Tables whose id sequence continues after the generated ids (finish_domains).
SEQUENCES = ("shelters",)


async def generate_shelters(run: ScaleRun) -> None:
    """Three shelters per town, the first of every fifth town open."""
    await run.conn.execute(
        f"""insert into {into(Shelter.unit_code, Shelter.id, Shelter.name, Shelter.address, Shelter.lat, Shelter.lng, Shelter.capacity, Shelter.facilities, Shelter.contact, Shelter.status, Shelter.updated_at, Shelter.updated_by)}
            select t.town, t.n * 3 + k + 1,
                   (array['文化礼堂', '中心小学', '体育馆'])[k + 1] || '避灾安置点',
                   o.name || (array['文化礼堂', '中心小学', '体育馆'])[k + 1],
                   27.5 + ({sql_hash("t.n * 3 + k", 103)} % 100000) / 100000.0,
                   120.2 + ({sql_hash("t.n * 3 + k", 107)} % 100000) / 100000.0,
                   100 + {sql_hash("t.n * 3 + k", 109)} % 400,
                   array['饮用水', '医疗点', '发电机'], '0577-' || (88000000 + t.n * 3 + k),
                   case when k = 0 and t.n % 5 = 0 then 'OPEN' else 'STANDBY' end,
                   timestamptz '2026-06-01 09:00+08', s.account_id
              from (select town, (row_number() over (order by town) - 1)::int as n
                      from (select distinct town from scale_villages) d) t
              join vg.org_units o on o.code = t.town
              join scale_staff s on s.code = t.town
              cross join generate_series(0, 2) k"""
    )
    run.progress.advance("shelters")
