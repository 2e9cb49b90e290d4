"""Socket.IO (protocol v5) for Python, with first-class framework plugins.

A program written for python-socketio 5.x runs after ``import sio_integrations as socketio``.
Importing this package starts nothing.
"""

from . import exceptions
from .errors import ConnectionRefusedError  # noqa: A004
from .runtime._async.client import AsyncClient
from .runtime._async.client_namespace import AsyncClientNamespace
from .runtime._async.manager import AsyncManager
from .runtime._async.namespace import AsyncNamespace
from .runtime._async.pubsub import AsyncPubSubManager
from .runtime._async.pubsub_managers import AsyncAioPikaManager, AsyncEmitter, AsyncRedisManager
from .runtime._async.server import AsyncServer
from .runtime._async.simple_client import AsyncSimpleClient
from .runtime._sync.client import Client
from .runtime._sync.client_namespace import ClientNamespace
from .runtime._sync.manager import Manager
from .runtime._sync.namespace import Namespace
from .runtime._sync.pubsub import PubSubManager
from .runtime._sync.pubsub_managers import Emitter, KombuManager, RedisManager
from .runtime._sync.server import Server
from .runtime._sync.simple_client import SimpleClient
from .runtime.asgi import ASGIApp
from .runtime.hosts import get_tornado_handler
from .runtime.wsgi import WSGIApp

#: python-socketio's alias for WSGIApp
Middleware = WSGIApp

__version__ = "0.1.0"

__all__ = [
    "ASGIApp",
    "AsyncAioPikaManager",
    "AsyncClient",
    "AsyncClientNamespace",
    "AsyncEmitter",
    "AsyncManager",
    "AsyncNamespace",
    "AsyncPubSubManager",
    "AsyncRedisManager",
    "AsyncServer",
    "AsyncSimpleClient",
    "Client",
    "ClientNamespace",
    "ConnectionRefusedError",
    "Emitter",
    "KombuManager",
    "Manager",
    "Middleware",
    "Namespace",
    "PubSubManager",
    "RedisManager",
    "Server",
    "SimpleClient",
    "WSGIApp",
    "exceptions",
    "get_tornado_handler",
]
