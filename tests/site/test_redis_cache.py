"""The production cache backend (``hms_site.cache.RedisCache``): Django's Redis cache, with
one ``redis.Redis`` client per pool instead of a new one per operation."""

import threading

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache

from hms_site.cache import RedisCache


def test_every_operation_shares_one_client_and_the_cache_works_across_threads(redis_url):
    cache = RedisCache(redis_url, {"KEY_PREFIX": "hms-cache-test"})
    try:
        client = cache._cache.get_client("k")
        assert cache._cache.get_client("k", write=True) is client
        cache.set("history", [1.5, 2.5], 60)
        assert cache.get("history") == [1.5, 2.5]
        assert cache.add("once", 1, 60) and not cache.add("once", 2, 60)

        def bump(n: int) -> None:
            for _ in range(50):
                cache.add("count", 0, 60)
                cache.incr("count")
            cache.set(f"thread-{n}", n, 60)

        threads = [threading.Thread(target=bump, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert [cache.get(f"thread-{n}") for n in range(4)] == [0, 1, 2, 3]
        assert cache.get("count") == 200
        assert cache._cache.get_client("k") is client
        # Django's own backend reads what this one wrote (same keys, same pickles).
        assert DjangoRedisCache(redis_url, {"KEY_PREFIX": "hms-cache-test"}).get("history") == [
            1.5,
            2.5,
        ]
    finally:
        cache.delete_many(["history", "once", "count", *(f"thread-{n}" for n in range(4))])
