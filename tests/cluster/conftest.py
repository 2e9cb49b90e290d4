from tests.services import rabbitmq_server, redis_server

__all__ = ["rabbitmq_server", "redis_server"]
