"""Real servers for fault injection, each ours alone, on loopback and free ports.

* :class:`PgCluster`: a throwaway PostgreSQL cluster that can be stopped and started again on
  the same port (never the machine's shared server).
* :class:`RedisServer`: a throwaway ``redis-server`` that can be stopped and restarted; it
  keeps an append-only file as production must (sessions and codes live there), so a clean
  restart loses nothing that was acknowledged.
* :class:`HomeroomServer`: Homeroom under uvicorn in a child process, configured by env.
* :class:`LatencyProxy`: a TCP proxy that delays every chunk (a slow network or database).
* :class:`BlackHole`: accepts connections and never answers (a hung upstream).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import redis

from tests.services import PgServer, _pg_bindir, free_port

__all__ = ["BlackHole", "HomeroomServer", "LatencyProxy", "PgCluster", "RedisServer"]


class PgCluster:
    def __init__(self) -> None:
        bindir = _pg_bindir()
        if bindir is None:
            raise RuntimeError("no PostgreSQL server binaries (initdb) found")
        self.bindir = bindir
        self.base = Path(tempfile.mkdtemp(prefix="homeroom-fault-pg-"))
        self.data, self.sock = self.base / "data", self.base / "sock"
        self.sock.mkdir()
        self.run_as: list[str] = []
        if os.geteuid() == 0:  # initdb and postgres refuse to run as root
            pw = pwd.getpwnam("postgres")
            for path in (self.base, self.sock):
                os.chown(path, pw.pw_uid, pw.pw_gid)
            self.run_as = ["runuser", "-u", "postgres", "--"]
        self.port = free_port()
        subprocess.run(
            [
                *self.run_as,
                str(bindir / "initdb"),
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "--no-sync",
                "-E",
                "UTF8",
            ],
            check=True,
            capture_output=True,
        )
        self.server = PgServer(
            f"postgresql://postgres@127.0.0.1:{self.port}/postgres", "127.0.0.1", self.port, "f"
        )

    def _ctl(self, *args: str) -> None:
        subprocess.run(
            [*self.run_as, str(self.bindir / "pg_ctl"), "-D", str(self.data), "-w", *args],
            check=True,
            capture_output=True,
            timeout=60,
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.sock} -h 127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=50"
        )
        self._ctl("-o", options, "-l", str(self.base / "log"), "start")

    def stop(self) -> None:
        """Fast shutdown: open transactions are rolled back, clients are disconnected."""
        self._ctl("-m", "fast", "stop")

    def remove(self) -> None:
        with contextlib.suppress(Exception):
            self.stop()
        shutil.rmtree(self.base, ignore_errors=True)


class RedisServer:
    def __init__(self, persistent: bool = True) -> None:
        self.persistent = persistent
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("no redis-server binary")
        self.binary = binary
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.dir = Path(tempfile.mkdtemp(prefix="homeroom-fault-redis-"))
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "yes" if self.persistent else "no",
                "--appendfsync",
                "everysec",
                "--dir",
                str(self.dir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis.from_url(self.url, socket_timeout=1).ping()
                return
            except redis.RedisError:
                if time.monotonic() > deadline:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)

    def stop(self) -> None:
        """SIGTERM: Redis flushes the append-only file and exits (a clean restart)."""
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


METRICS_REF = "secret://development/homeroom-web/metrics-token"
# One key-encryption key for the whole run: the fault PostgreSQL database is shared by the
# tests, and a secret (signing key, metrics token) stored by one test's server must open for
# the next one's, as it would for every worker and host of one deployment.
SESSION_KEK_FILE = Path(tempfile.mkdtemp(prefix="homeroom-faults-kek-")) / "kek.json"
atexit.register(shutil.rmtree, SESSION_KEK_FILE.parent, True)


class HomeroomServer:
    """``uvicorn homeroom.web.app:from_env`` in a child process: the real server."""

    def __init__(self, tmp: Path, workers: int = 1, **settings: object) -> None:
        self.workers = workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp / "homeroom-server.log"
        self.metrics_token = "fault-metrics-token"
        env = {k: v for k, v in os.environ.items() if not k.startswith("HOMEROOM_")}
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        env.update(
            {
                "HOMEROOM_DATA_DIR": str(tmp / "data"),
                "HOMEROOM_ISSUER": self.url,
                "HOMEROOM_LOG_LEVEL": "warning",
                "HOMEROOM_METRICS_TOKEN": METRICS_REF,
                "HOMEROOM_SECRETS_KEK_FILE": str(SESSION_KEK_FILE),
            }
        )
        env.update({f"HOMEROOM_{k.upper()}": str(v) for k, v in settings.items()})
        if workers > 1:  # what `homeroom serve --workers N` does
            self.metrics_dir = tmp / "metrics"
            self.metrics_dir.mkdir(exist_ok=True)
            env["PROMETHEUS_MULTIPROC_DIR"] = str(self.metrics_dir)
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        # The token lives in the secret store; settings name it by reference.
        subprocess.run(
            [sys.executable, "-m", "homeroom", "secrets", "put", METRICS_REF],
            env=self.env,
            input=self.metrics_token.encode(),
            capture_output=True,
            check=True,
            timeout=120,
        )
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "homeroom.web.app:from_env",
                    "--factory",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--log-level",
                    "warning",
                    "--no-access-log",
                    "--workers",
                    str(self.workers),
                ],
                env=self.env,
                stdout=log,
                stderr=log,
            )
        deadline = time.monotonic() + 60  # several workers on a busy shared CI box
        while True:
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"homeroom did not start (exit {self.proc.poll()}): "
                    f"{self.log.read_text()[-2000:]}"
                )
            time.sleep(0.1)

    def metric(self, name: str, labels: dict[str, str] | None = None) -> float:
        """One sample from the server's own ``/metrics`` (0 when absent)."""
        from prometheus_client.parser import text_string_to_metric_families

        text = httpx.get(
            self.url + "/metrics",
            headers={"Authorization": f"Bearer {self.metrics_token}"},
            timeout=5,
        ).text
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == name and all(
                    sample.labels.get(k) == v for k, v in (labels or {}).items()
                ):
                    return float(sample.value)
        return 0.0

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
            self.proc = None


class _LoopThread:
    """An asyncio loop in a daemon thread, for the small TCP servers below."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.port = free_port()
        self.server: asyncio.AbstractServer | None = None
        self.connections = 0

    def serve(self, handler: object) -> None:
        async def start() -> asyncio.AbstractServer:
            return await asyncio.start_server(handler, "127.0.0.1", self.port)  # type: ignore[arg-type]

        self.server = asyncio.run_coroutine_threadsafe(start(), self.loop).result(10)

    def close(self) -> None:
        async def stop() -> None:
            if self.server is not None:
                self.server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


class LatencyProxy(_LoopThread):
    """Forwards TCP to ``target_port`` and delays each chunk by ``delay_s`` both ways."""

    def __init__(self, target_port: int, delay_s: float) -> None:
        super().__init__()
        self.target_port = target_port
        self.delay_s = delay_s
        self.serve(self._handle)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                await asyncio.sleep(self.delay_s)
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))


class BlackHole(_LoopThread):
    """Accepts every connection, reads what is sent, never answers: a hung server.

    ``answer`` switches it to a healthy HTTP server answering 200 ``{"ok": true}``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.answer = False
        self.serve(self._handle)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            if self.answer:
                await reader.readuntil(b"\r\n\r\n")
                body = b'{"ok": true}'
                writer.write(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                    + f"content-length: {len(body)}\r\nconnection: close\r\n\r\n".encode()
                    + body
                )
                await writer.drain()
            else:
                while await reader.read(65536):
                    pass
        except (ConnectionError, asyncio.CancelledError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0
