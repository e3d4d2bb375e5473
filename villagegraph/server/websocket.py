"""graphql-transport-ws with the HTTP side's limits and login.

A subscribe message takes from the principal's rate-limit bucket (the same one its HTTP
requests use) and its document is measured before it starts; a refusal is sent as the
protocol's `error` message. The socket logs in with connection_init's payload
(`{"Authorization": "Bearer <JWT>"}`); an untrustworthy token closes it with 4403, and
so does a socket that has not sent connection_init within Settings.ws_init_timeout_seconds
(4408, strawberry's). Sockets are capped per client address (over the cap: closed 1013
before the handshake) and per signed-in account (over the cap: connection_init refused
with 4403); each socket carries at most MAX_SUBSCRIPTIONS_PER_SOCKET subscriptions. Events
read on their own small pool (database.create_event_pool), never the requests'.
"""

from __future__ import annotations

from collections import Counter
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
            await context.admit_subscription(
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


class SocketCounts:
    """Open sockets per client address and per signed-in account, in this process."""

    def __init__(self, per_account: int, per_address: int) -> None:
        self.per_account = per_account
        self.per_address = per_address
        self.addresses: Counter[str] = Counter()
        self.accounts: Counter[int] = Counter()
        self.owners: dict[int, tuple[str, int | None]] = {}

    @staticmethod
    def _address(socket: Any) -> str:
        client = getattr(socket, "client", None)
        return client.host if client else "-"

    def open(self, socket: Any) -> bool:
        """Count a new socket; False (and nothing counted) when its address is at the cap."""
        address = self._address(socket)
        if self.addresses[address] >= self.per_address:
            return False
        self.addresses[address] += 1
        self.owners[id(socket)] = (address, None)
        return True

    def sign_in(self, socket: Any, account_id: int | None) -> None:
        """The socket's connection_init named an account: refused when it is at the cap."""
        if account_id is None:
            return
        if self.accounts[account_id] >= self.per_account:
            raise ConnectionRejectionError({"code": "RATE_LIMITED", "maxSockets": self.per_account})
        address, _ = self.owners.get(id(socket), (self._address(socket), None))
        self.accounts[account_id] += 1
        self.owners[id(socket)] = (address, account_id)

    def close(self, socket: Any) -> None:
        address, account_id = self.owners.pop(id(socket), (None, None))
        if address is not None:
            self.addresses[address] -= 1
            if self.addresses[address] <= 0:
                del self.addresses[address]
        if account_id is not None:
            self.accounts[account_id] -= 1
            if self.accounts[account_id] <= 0:
                del self.accounts[account_id]


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
