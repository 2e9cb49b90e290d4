"""A message-queue broker over the Channels channel layer (``CHANNEL_LAYERS``).

Publishing is a ``group_send`` to one group; listening adds a channel of this process to
that group and receives from it. With channels_redis every worker of every host shares
the group, so the project's Socket.IO servers form one cluster without another broker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

logger = logging.getLogger("sio_integrations.django")

#: the ``type`` of our channel-layer messages (a consumer would dispatch on it)
MESSAGE_TYPE = "sio_integrations.message"


class ChannelLayerBroker:
    """:class:`~sio_integrations.runtime._async.broker.AsyncBroker` over a channel layer.

    ``alias`` names the layer in ``CHANNEL_LAYERS``; ``group`` is the group every
    process listens on. The group membership is renewed every ``refresh`` seconds
    (channels_redis forgets members after its ``group_expiry``, a day by default).
    """

    name = "channel-layer"

    def __init__(self, alias: str = "default", group: str = "sio_integrations",
                 refresh: float = 3600.0) -> None:
        self.alias = alias
        self.group = group
        self.refresh = refresh

    def layer(self) -> Any:
        """The channel layer (raises ``ConnectionError`` when it is not configured)."""
        from .conf import require_channels

        require_channels("ChannelLayerBroker")
        from channels.layers import get_channel_layer

        layer = get_channel_layer(self.alias)
        if layer is None:
            raise ConnectionError(f"CHANNEL_LAYERS has no layer {self.alias!r}")
        return layer

    async def publish(self, payload: bytes) -> None:
        try:
            await self.layer().group_send(self.group, {"type": MESSAGE_TYPE, "payload": payload})
        except ConnectionError:
            raise
        except (OSError, asyncio.TimeoutError) as exc:
            raise ConnectionError(f"channel layer {self.alias!r}: {exc}") from exc
        except Exception as exc:  # the layer's own errors (e.g. redis exceptions)
            if _is_connection_error(exc):
                raise ConnectionError(f"channel layer {self.alias!r}: {exc}") from exc
            raise

    async def listen(self) -> AsyncIterator[bytes]:
        layer = self.layer()
        try:
            channel = await layer.new_channel("sio_integrations.")
            await layer.group_add(self.group, channel)
        except Exception as exc:
            raise ConnectionError(f"channel layer {self.alias!r}: {exc}") from exc
        refresher = asyncio.ensure_future(self._refresh(layer, channel))
        try:
            while True:
                try:
                    message = await layer.receive(channel)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    raise ConnectionError(f"channel layer {self.alias!r}: {exc}") from exc
                if message.get("type") != MESSAGE_TYPE:
                    continue
                payload = message.get("payload")
                if isinstance(payload, (bytes, bytearray)):
                    yield bytes(payload)
        finally:
            refresher.cancel()
            with contextlib.suppress(BaseException):
                await refresher
            with contextlib.suppress(Exception):
                await asyncio.shield(layer.group_discard(self.group, channel))

    async def close(self) -> None:
        """Nothing to release: the channel layer owns its connections."""

    async def _refresh(self, layer: Any, channel: str) -> None:
        while True:
            await asyncio.sleep(self.refresh)
            try:
                await layer.group_add(self.group, channel)
            except Exception:  # the listener sees the outage itself
                logger.debug("could not renew the channel-layer group membership",
                             exc_info=True)


def _is_connection_error(exc: BaseException) -> bool:
    name = type(exc).__name__
    return "Connection" in name or "Timeout" in name
