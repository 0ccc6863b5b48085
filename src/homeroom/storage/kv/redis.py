"""Redis KV store. Every call has a socket timeout; errors become ``ServiceUnavailable``.

The single-command operations (every one on a sign-in's path) go through a connection of
the calling thread's own, straight to redis-py's ``Connection`` (its command packer, reply
parser and health check), not through the ``Redis`` client: the client takes a connection
from its pool and gives it back around each command, behind a retry wrapper and, since
redis-py 7, observability hooks, and on this machine that came to more than half of a
call's CPU (``bench/bench_redis_kv.py``: about 90 µs against 40 µs). An instant login makes
four KV calls, from the web layer's worker threads; one of them, ``pop_and_set`` (a code
redeemed and marked spent), is a Lua script on the same connection
(``ThreadScriptClient``): one round trip where it was two. The one multi-command operation
(``incr``, a MULTI/EXEC pipeline) keeps the client.

A connection that failed is closed, and the next call on that thread opens a new one. A
command that met a closed connection (Redis restarted, or dropped an idle client) is sent
once more on a new one, as the client's default retry did; if the connection broke after
Redis had run it, it runs twice (harmless for SET and DEL; a repeated GETDEL finds nothing,
so a code redeemed then is refused, never accepted twice). A timeout is never retried, so a
Redis that stops answering is a 503 within the timeout.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

import redis
from redis.commands.core import Script
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError

from homeroom.errors import ServiceUnavailable

__all__ = ["RedisKV", "ThreadConnections", "ThreadScriptClient"]

T = TypeVar("T")


class ThreadConnections:
    """One redis-py ``Connection`` per calling thread, for single commands (``RedisKV``,
    and the rate limiter's scripts): see the module docstring for why, and what is retried.

    ``command`` returns the raw RESP reply and raises redis-py's errors (a socket error as
    its ``ConnectionError``); callers turn them into their own."""

    def __init__(self, url: str, timeout_s: float = 0.5, client_name: str = "homeroom") -> None:
        self.client = redis.Redis.from_url(
            url,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            health_check_interval=30,
            retry_on_timeout=False,
            client_name=client_name,  # who is connected, in Redis's CLIENT LIST
        )
        """A pooled client with the same settings, for what is not one command."""
        pool = self.client.connection_pool
        self._connection_class = pool.connection_class
        self._connection_kwargs = dict(pool.connection_kwargs)
        self._local = threading.local()
        # Every thread's connection, to close them all on close() (weakly held: a thread
        # that ends takes its connection with it).
        self._connections: weakref.WeakSet[Any] = weakref.WeakSet()
        self._lock = threading.Lock()

    def _connection(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connection_class(**self._connection_kwargs)
            with self._lock:
                self._connections.add(conn)
            self._local.conn = conn
        return conn

    def command(self, *args: Any) -> Any:
        """One command on this thread's connection; its raw RESP reply."""
        conn = self._connection()
        for attempt in (1, 2):
            try:
                conn.send_command(*args)
                return conn.read_response()
            except ResponseError:
                raise  # the server answered with an error: the connection is still in step
            except RedisConnectionError:
                conn.disconnect()  # the next send opens a new socket
                if attempt == 2:
                    raise
            except RedisError:
                conn.disconnect()  # a reply may still be on its way: never reuse this socket
                raise
            except OSError as exc:
                conn.disconnect()
                raise RedisConnectionError(str(exc)) from exc
        raise AssertionError("unreachable")

    def close(self) -> None:
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            conn.disconnect()
        self.client.close()


class ThreadScriptClient:
    """What a redis-py ``Script`` calls its client for, on the calling thread's connection.

    ``Script.__call__`` sends ``EVALSHA`` and, on ``NOSCRIPT`` (a restarted or flushed
    Redis), ``SCRIPT LOAD`` and the ``EVALSHA`` again; errors stay redis-py's, so that
    callers wrap them as they wrap the client's. A script whose connection Redis had closed
    is sent once more, as the client's default retry did (see the module docstring). If the
    connection broke after Redis had run it, it runs twice: a rate-limit hit counts twice
    (on the side of the limit), and a repeated ``pop_and_set`` finds the code gone, so the
    redemption is refused, never granted twice."""

    def __init__(self, connections: ThreadConnections) -> None:
        self.connections = connections

    def evalsha(self, sha: str, numkeys: int, *keys_and_args: object) -> object:
        return self.connections.command("EVALSHA", sha, numkeys, *keys_and_args)

    def script_load(self, script: str | bytes) -> str:
        sha = self.connections.command("SCRIPT", "LOAD", script)
        return sha.decode() if isinstance(sha, bytes) else str(sha)


# KEYS[1] is popped; only when it held a value is KEYS[2] set (ARGV[1], PX ARGV[2] unless 0).
_POP_AND_SET = b"""
local value = redis.call('GETDEL', KEYS[1])
if value then
  if tonumber(ARGV[2]) > 0 then
    redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
  else
    redis.call('SET', KEYS[2], ARGV[1])
  end
end
return value
"""


class RedisKV:
    def __init__(self, url: str, timeout_s: float = 0.5, client_name: str = "homeroom") -> None:
        self._connections = ThreadConnections(url, timeout_s, client_name)
        self._client = self._connections.client
        self._pop_and_set = Script(ThreadScriptClient(self._connections), _POP_AND_SET)

    def _command(self, *args: Any) -> Any:
        try:
            return self._connections.command(*args)
        except RedisError as exc:
            raise ServiceUnavailable("kv store unavailable", retry_after=2) from exc

    def _call(self, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except RedisError as exc:
            raise ServiceUnavailable("kv store unavailable", retry_after=2) from exc

    @staticmethod
    def _px(ttl_s: float | None) -> int | None:
        return None if ttl_s is None else max(1, int(ttl_s * 1000))

    def get(self, key: str) -> bytes | None:
        value = self._command("GET", key)
        return None if value is None else bytes(value)

    def set(self, key: str, value: bytes, ttl_s: float | None = None) -> None:
        px = self._px(ttl_s)
        if px is None:
            self._command("SET", key, value)
        else:
            self._command("SET", key, value, "PX", px)

    def add(self, key: str, value: bytes, ttl_s: float | None = None) -> bool:
        px = self._px(ttl_s)
        if px is None:
            reply = self._command("SET", key, value, "NX")
        else:
            reply = self._command("SET", key, value, "PX", px, "NX")
        return reply is not None  # "OK" when set, nil when the key was there

    def pop(self, key: str) -> bytes | None:
        value = self._command("GETDEL", key)
        return None if value is None else bytes(value)

    def pop_and_set(
        self, key: str, mark_key: str, mark_value: bytes, ttl_s: float | None = None
    ) -> bytes | None:
        # Both keys in one script: on a Redis Cluster they would have to share a slot.
        value = self._call(
            lambda: self._pop_and_set([key, mark_key], [mark_value, self._px(ttl_s) or 0])
        )
        return None if value is None or value is False else bytes(value)

    def delete(self, key: str) -> bool:
        return int(self._command("DEL", key)) > 0

    def incr(self, key: str, amount: int = 1, ttl_s: float | None = None) -> int:
        def run() -> int:
            pipe = self._client.pipeline(transaction=True)
            pipe.incrby(key, amount)
            if ttl_s is not None:
                pipe.pexpire(key, self._px(ttl_s) or 1, nx=True)
            return int(pipe.execute()[0])

        return self._call(run)

    def ttl(self, key: str) -> float | None:
        value = int(self._command("PTTL", key))
        return None if value < 0 else value / 1000

    def ping(self) -> None:
        self._command("PING")

    def close(self) -> None:
        self._connections.close()
