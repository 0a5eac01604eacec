"""A small process supervisor: starts the stack's processes, restarts one that crashes, and
stops them all (SIGTERM, then SIGKILL after a grace period) when asked."""

import asyncio
import contextlib
import logging
import os
import signal
import time
from dataclasses import dataclass, field
from typing import IO

import httpx

from devstack.infra import Command

logger = logging.getLogger("devstack")


@dataclass
class _Running:
    command: Command
    process: asyncio.subprocess.Process | None = None
    restarts: int = 0
    monitor: asyncio.Task[None] | None = None
    started_at: float = field(default_factory=time.monotonic)


class Supervisor:
    def __init__(self, *, output: IO[str] | None = None, grace_seconds: float = 10.0) -> None:
        self._running: dict[str, _Running] = {}
        self._stopping = False
        self._output = output
        self._grace = grace_seconds

    async def start(self, command: Command) -> None:
        running = _Running(command)
        self._running[command.name] = running
        await self._spawn(running)
        running.monitor = asyncio.create_task(self._restart_when_it_exits(running), name=f"watch-{command.name}")

    async def _spawn(self, running: _Running) -> None:
        # A session of its own: a Ctrl-C in the terminal reaches only the supervisor, which then
        # stops every process in order instead of racing them.
        running.process = await asyncio.create_subprocess_exec(
            *running.command.argv,
            env={**os.environ, **running.command.env},
            stdout=self._output,
            stderr=self._output,
            start_new_session=True,
        )
        running.started_at = time.monotonic()

    async def _restart_when_it_exits(self, running: _Running) -> None:
        while True:
            assert running.process is not None
            code = await running.process.wait()
            if self._stopping:
                return
            stayed_up = time.monotonic() - running.started_at
            if stayed_up > 30:
                running.restarts = 0
            delay = min(0.5 * 2**running.restarts, 10.0)
            running.restarts += 1
            logger.warning("%s exited with code %s; restarting in %.1fs", running.command.name, code, delay)
            await asyncio.sleep(delay)
            if self._stopping:
                return
            await self._spawn(running)

    async def wait_ready(self, command: Command, *, within_seconds: float = 60.0) -> None:
        """Wait until the command's ready URL answers 200 or its port accepts connections."""
        deadline = time.monotonic() + within_seconds
        async with httpx.AsyncClient(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if await _is_ready(client, command):
                    return
                await asyncio.sleep(0.1)
        raise TimeoutError(f"{command.name} was not ready after {within_seconds}s")

    async def stop_all(self) -> None:
        """Stop every process, the last started first."""
        self._stopping = True
        for running in reversed(list(self._running.values())):
            if running.monitor:
                running.monitor.cancel()
            await self._stop(running)

    async def _stop(self, running: _Running) -> None:
        process = running.process
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), timeout=self._grace)
        except TimeoutError:
            logger.warning("%s did not stop within %.0fs; killing it", running.command.name, self._grace)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await process.wait()


async def _is_ready(client: httpx.AsyncClient, command: Command) -> bool:
    if command.ready_url:
        try:
            return (await client.get(command.ready_url)).status_code == 200
        except httpx.HTTPError:
            return False
    if command.ready_port:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", command.ready_port)
        except OSError:
            return False
        writer.close()
        return True
    return True
