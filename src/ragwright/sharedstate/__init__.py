"""State that the replicas of one deployment share through Redis: rate-limit windows, budgets, the gateway cache and
key revocation (docs/scale-out.md, docs/adr/0009-redis-shared-state.md).

- :mod:`~ragwright.sharedstate.client`: :class:`SharedRedis`, one connection per event loop, typed failures;
- :mod:`~ragwright.sharedstate.window`: moving windows over several limits, checked and taken in one Lua script;
- :mod:`~ragwright.sharedstate.revocation`: a key version read per request, so a revocation reaches every replica.

The gateway's budget and cache stores are with their policies (``gateway/policies/redis_budget.py``,
``redis_cache.py``). Importing this package imports no Redis client.
"""
