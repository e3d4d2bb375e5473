"""Scale data of listings (名特优, 农家乐): five per town."""

from __future__ import annotations

from villagegraph.models import into
from villagegraph.models.listings import Listing
from villagegraph.seed.scale.core import ScaleRun

# Tables whose id sequence continues after the generated ids (finish_domains).
SEQUENCES = ("listings",)


async def generate_listings(run: ScaleRun) -> None:
    """Five listings (名特优, 农家乐) in each town's villages, in every review state."""
    await run.conn.execute(
        f"""insert into {into(Listing.village_code, Listing.id, Listing.kind, Listing.name, Listing.description, Listing.price, Listing.contact, Listing.rooms, Listing.capacity, Listing.status, Listing.review_reason, Listing.applicant_id, Listing.applied_by, Listing.applied_at, Listing.reviewed_by, Listing.reviewed_at)}
           select v.code, t.n * 5 + k + 1, x.kind,
                  o.name || case when x.kind = 'FARM_STAY' then '农家乐' else '土特产' end,
                  case when x.kind = 'FARM_STAY' then '山水田园，农家菜，可住宿。'
                       else '本村自产，绿色生态。' end,
                  (38 + k * 20)::numeric, '138' || lpad((v.ordinal * 5 + k)::text, 8, '0'),
                  case when x.kind = 'FARM_STAY' then 4 + k end,
                  case when x.kind = 'FARM_STAY' then 8 + 2 * k end,
                  x.status, case when x.status = 'REJECTED' then '材料不全' end,
                  v.first_resident + 20 % v.residents, null,
                  timestamptz '2026-05-01 10:00+08' + k * interval '3 days',
                  case when x.status <> 'PENDING' then s.account_id end,
                  case when x.status <> 'PENDING'
                       then timestamptz '2026-05-10 10:00+08' + k * interval '3 days' end
             from (select town, (row_number() over (order by town) - 1)::int as n
                     from (select distinct town from scale_villages) d) t
             cross join generate_series(0, 4) k
             join lateral (select * from scale_villages v where v.town = t.town
                            order by v.ordinal
                           offset k % (select count(*) from scale_villages w
                                        where w.town = t.town) limit 1) v on true
             join vg.org_units o on o.code = v.code
             join scale_staff s on s.code = v.code
             cross join lateral (
                 select case when k % 2 = 0 then 'FARM_STAY' else 'SPECIALTY_PRODUCT' end as kind,
                        case k when 3 then 'PENDING' when 4 then 'REJECTED'
                               else 'APPROVED' end as status) x"""
    )
    run.progress.advance("listings")
