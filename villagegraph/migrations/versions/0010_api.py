"""The API's hooks into the database: new-notice notifications and the outbox gauge.

A published notice NOTIFYs channel `vg_notice` with its id and publisher (delivered at
commit, so subscribers only hear of committed notices; the payload carries no content,
each subscriber reads the notice under its own RLS context). /metrics reads the outbox
depth through a security-definer function, as the request role cannot see the outbox.

Revision ID: 0010_api
Revises: 0001_core
"""

from alembic import op

from villagegraph.migrations.helpers import as_owner

revision = "0010_api"
down_revision = "0001_core"
branch_labels = ("api",)
depends_on = None

UP = """
create function vg.notify_notice() returns trigger
language plpgsql as $$
begin
    perform pg_notify('vg_notice', json_build_object(
        'id', new.id::text, 'publisher', new.publisher_code::text)::text);
    return null;
end
$$;
create trigger notices_notify after insert on vg.notices
    for each row execute function vg.notify_notice();

create function vg.outbox_depth() returns table (status text, messages bigint)
language sql stable security definer set search_path = vg, pg_catalog as $$
    select status, count(*) from vg.outbox group by status
$$;
revoke execute on function vg.outbox_depth() from public;
grant execute on function vg.outbox_depth() to vg_request;
"""


def upgrade() -> None:
    with as_owner():
        op.execute(UP)


def downgrade() -> None:
    with as_owner():
        op.execute("drop trigger notices_notify on vg.notices")
        op.execute("drop function vg.notify_notice()")
        op.execute("drop function vg.outbox_depth()")
