"""Scale-out: the project's servers form one cluster over the Channels channel layer.

With ``CHANNEL_LAYERS`` configured (channels_redis in production), the server's manager is
the generic message-queue manager with a :class:`~.broker.ChannelLayerBroker`, so rooms,
broadcasts, disconnects and emits cross every worker process. ``SOCKETIO["CHANNEL_LAYER"]
= None`` turns it off; an explicit ``CLIENT_MANAGER`` or ``MESSAGE_QUEUE`` wins.
"""

from __future__ import annotations

import logging
from typing import Any

from . import conf

logger = logging.getLogger("sio_integrations.django")


def channel_layer_alias() -> str | None:
    """The channel layer the project's servers share, or None."""
    values = conf.option_values()
    if values.get("client_manager") is not None or values.get("message_queue"):
        return None
    alias = conf.django_setting("CHANNEL_LAYER")
    return str(alias) if alias else None


def new_broker() -> Any:
    """A :class:`ChannelLayerBroker` for the configured layer (None without one)."""
    alias = channel_layer_alias()
    if alias is None:
        return None
    from .broker import ChannelLayerBroker

    return ChannelLayerBroker(alias, str(conf.django_setting("CHANNEL_LAYER_GROUP")))


def _manager_options(options: Any) -> dict[str, Any]:
    """The message-queue options of SOCKETIO (signing, format, outbox) for any broker."""
    return {
        "secret": getattr(options, "message_queue_secret", None),
        "format": getattr(options, "message_queue_format", "json"),
        "outbox": getattr(options, "message_queue_outbox", 0),
        "outbox_age": getattr(options, "message_queue_outbox_age", 30.0),
        "request_timeout": getattr(options, "message_queue_timeout", 5.0),
        "json": options.json,
    }


def external_emitter() -> Any:
    """A new ``AsyncEmitter`` reaching the cluster from a process that serves no clients
    (the channel layer, or ``MESSAGE_QUEUE``), or None when the project has no cluster."""
    from ..runtime._async.pubsub_managers import AsyncEmitter

    options = conf.server_options()
    broker = new_broker()
    if broker is not None:
        return AsyncEmitter(broker=broker, **_manager_options(options))
    url = getattr(options, "message_queue", None)
    if url:
        return AsyncEmitter(url, channel=options.channel,
                            options=options.message_queue_options,
                            **_manager_options(options))
    return None


_sync_emitters: dict[str, Any] = {}


def sync_external_emitter() -> Any:
    """The synchronous ``Emitter`` for ``MESSAGE_QUEUE`` (one per URL, kept), or None.

    For WSGI projects: the channel layer is an asyncio API, so only a message queue URL
    connects a synchronous project's processes.
    """
    options = conf.server_options()
    url = getattr(options, "message_queue", None)
    if not url:
        return None
    emitter = _sync_emitters.get(url)
    if emitter is None:
        from ..runtime._sync.pubsub_managers import Emitter

        emitter = Emitter(url, channel=options.channel, options=options.message_queue_options,
                          **_manager_options(options))
        _sync_emitters[url] = emitter
    return emitter


def reset() -> None:
    """Forget the kept emitters (the settings changed)."""
    emitters = list(_sync_emitters.values())
    _sync_emitters.clear()
    for emitter in emitters:
        try:
            emitter.manager.shutdown()
        except Exception:  # a broker that is gone already
            logger.debug("closing an emitter failed", exc_info=True)


def client_manager(*, is_async: bool, options: Any = None) -> Any:
    """The manager of the project's server over the channel layer, or None (the default).

    Only the asyncio server runs over the channel layer (the layer is an asyncio API).
    """
    broker = new_broker()
    if broker is None:
        return None
    if not is_async:
        logger.warning("SOCKETIO: the channel layer carries messages between ASGI servers "
                       "only; a WSGI server uses MESSAGE_QUEUE instead")
        return None
    from ..runtime._async.pubsub import AsyncPubSubManager

    if options is None:
        options = conf.server_options()
    return AsyncPubSubManager(broker, **_manager_options(options))
