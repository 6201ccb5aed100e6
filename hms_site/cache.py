"""Django's Redis cache, with one ``redis.Redis`` client per connection pool.

Django's ``RedisCacheClient.get_client`` builds a new ``redis.Redis`` for every cache
operation (the pool is shared, the client object is not), and building one costs more
than the round trip on this path: ~170 response callbacks copied into a fresh
case-insensitive dict. DRF's throttle makes two cache operations on every ingest
request. A client with an explicit pool is safe to share between threads (each command
takes a connection from the pool), so each pool's client is built once and reused.
"""

from django.core.cache.backends import redis


class RedisCacheClient(redis.RedisCacheClient):
    def __init__(self, servers, **options):
        super().__init__(servers, **options)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class RedisCache(redis.RedisCache):
    """``django.core.cache.backends.redis.RedisCache`` with the reusing client above."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = RedisCacheClient
