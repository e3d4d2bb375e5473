"""graphql-transport-ws with the HTTP side's limits and login.

A subscribe message takes from the principal's rate-limit bucket (the same one its HTTP
requests use) and its document is measured before it starts; a refusal is sent as the
protocol's `error` message. The socket logs in with connection_init's payload
(`{"Authorization": "Bearer <JWT>"}`); an untrustworthy token closes it with 4403.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import SubscribeMessage

from villagegraph.errors import Unauthenticated, VillageGraphError
from villagegraph.schema.context import Context, SocketContext
from villagegraph.schema.subscriptions import SocketSession
from villagegraph.tenants.auth import InvalidToken, TokenService

MAX_SUBSCRIPTIONS_PER_SOCKET = 10


class LimitedTransportWS(BaseGraphQLTransportWSHandler[Context, None]):
    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        context = self.context
        if not isinstance(context, SocketContext):
            raise TypeError("a websocket's context must be a SocketContext")
        client = getattr(context.request, "client", None)
        try:
            context.admit_subscription(
                context.db.account_id,
                client.host if client else "-",
                dict(message.get("payload") or {}),
            )
        except VillageGraphError as refusal:
            error = GraphQLError(refusal.message, extensions=refusal.extensions)
            await self.send_message(
                {"id": message["id"], "type": "error", "payload": [error.formatted]}
            )
            return
        await super().handle_subscribe(message)


async def log_in(context: Any, tokens: TokenService) -> None:
    """Point the socket's session at the account connection_init's bearer token names
    (no Authorization: the socket stays anonymous)."""
    params = getattr(context, "connection_params", None) or {}
    header = params.get("Authorization") or params.get("authorization")
    if header:
        try:
            credential = await tokens.credential_for_header(str(header))
        except InvalidToken as error:
            raise ConnectionRejectionError({"code": Unauthenticated.code}) from error
        context.db = SocketSession(credential)
