"""A worker's part in the mesh: membership, partition ownership by lease, consumers, redriver.

Every heartbeat the worker refreshes its membership, computes its rendezvous share of the
partitions over the live workers, renews the leases it holds (a failed renewal stops that
partition at once), hands off partitions that should move (stop reading, drop unstarted,
wait for in-flight within the lease, release) and acquires the ones it should own. On stop it
hands off everything and leaves, so the others take over at their next heartbeat.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from amss.actors.bus import enqueue
from amss.actors.executor import CommandExecutor, CommandHandler
from amss.actors.leases import Leases
from amss.actors.membership import Membership
from amss.actors.metrics import MeshMetrics
from amss.actors.partition import PartitionConsumer
from amss.actors.partitioning import partitions_of
from amss.app.commands.log import CommandLog
from amss.app.commands.transport import MeshKeys, RoundTrips

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MeshConfig:
    worker_id: str
    partitions: int
    concurrency: int
    lease_ttl: float
    heartbeat_interval: float
    command_timeout: float
    max_deliveries: int
    redrive_after: float
    max_inflight_per_partition: int = 256


class MeshWorker:
    def __init__(
        self,
        config: MeshConfig,
        commands: CommandLog,
        client: Redis,
        keys: MeshKeys,
        handlers: Mapping[str, CommandHandler],
        metrics: MeshMetrics,
        batcher: RoundTrips,
    ) -> None:
        self.config = config
        self._log = commands
        self._client = client
        # replies and acknowledgements of commands that finish in the same loop turn share a round trip
        self._batcher = batcher
        self._keys = keys
        self._metrics = metrics
        self.executor = CommandExecutor(commands, handlers, config.command_timeout, config.worker_id)
        ttl_ms = int(config.lease_ttl * 1000)
        self._membership = Membership(client, keys, config.worker_id, ttl_ms)
        self._leases = Leases(client, keys, config.worker_id, ttl_ms)
        self._slots = asyncio.Semaphore(config.concurrency)
        self._owned: dict[int, PartitionConsumer] = {}
        self._releasing: dict[int, asyncio.Task[None]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False

    @property
    def owned_partitions(self) -> set[int]:
        return set(self._owned)

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._control_loop(), name="mesh-control"),
            asyncio.create_task(self._redrive_loop(), name="mesh-redriver"),
        ]

    async def stop(self) -> None:
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        handoffs = [self._hand_off(partition) for partition in list(self._owned)]
        await asyncio.gather(*handoffs, *self._releasing.values(), return_exceptions=True)
        with contextlib.suppress(RedisError, OSError):
            await self._membership.leave()
        self._metrics.owned_partitions.set(0)

    async def _control_loop(self) -> None:
        while not self._stopping:
            try:
                await self.rebalance()
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                log.warning("mesh heartbeat failed", extra={"worker_id": self.config.worker_id, "error": repr(exc)})
            await asyncio.sleep(self.config.heartbeat_interval)

    async def rebalance(self) -> None:
        live = await self._membership.heartbeat()
        wanted = partitions_of(self.config.worker_id, live, self.config.partitions)
        for partition, consumer in list(self._owned.items()):
            if not await self._leases.renew(partition, consumer.epoch):
                log.warning("lease lost; partition stopped", extra={"partition": partition})
                del self._owned[partition]
                # stop at once: nothing new starts; a command already running finishes within its timeout
                self._spawn_release(partition, consumer.stop(self.config.command_timeout))
        for partition in set(self._owned) - wanted:
            self._spawn_release(partition, self._hand_off(partition))
        for partition in sorted(wanted - set(self._owned) - set(self._releasing)):
            epoch = await self._leases.acquire(partition)
            if epoch is None:
                continue
            consumer = PartitionConsumer(
                partition,
                epoch,
                client=self._client,
                batcher=self._batcher,
                keys=self._keys,
                executor=self.executor,
                slots=self._slots,
                metrics=self._metrics,
                max_inflight=self.config.max_inflight_per_partition,
                max_deliveries=self.config.max_deliveries,
            )
            self._owned[partition] = consumer
            consumer.start()
            log.info("partition acquired", extra={"partition": partition, "epoch": epoch})
        self._metrics.owned_partitions.set(len(self._owned))

    def _spawn_release(self, partition: int, work: Coroutine[Any, Any, None]) -> None:
        async def run() -> None:
            try:
                await work
            finally:
                self._releasing.pop(partition, None)

        self._releasing[partition] = asyncio.create_task(run(), name=f"release-{partition}")

    async def _hand_off(self, partition: int) -> None:
        consumer = self._owned.pop(partition, None)
        if consumer is None:
            return
        # in-flight commands may use what is left of the lease, with a margin for the release
        await consumer.stop(max(0.0, self.config.lease_ttl - self.config.heartbeat_interval))
        with contextlib.suppress(RedisError, OSError):
            await self._leases.release(partition, consumer.epoch)
        log.info("partition handed off", extra={"partition": partition})

    async def _redrive_loop(self) -> None:
        interval = max(0.5, self.config.redrive_after / 2)
        while not self._stopping:
            await asyncio.sleep(interval)
            try:
                await self.redrive()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the redriver must outlive a failing round
                log.warning("redrive round failed", extra={"error": repr(exc)})

    async def redrive(self) -> int:
        """Enqueue again every command still `accepted` after `redrive_after` (e.g. Redis lost its entry)."""
        stale = await self._log.claim_stale(timedelta(seconds=self.config.redrive_after), 500)
        for command in stale:
            await enqueue(self._client, self._keys, self.config.partitions, command)
        if stale:
            self._metrics.commands_redriven_total.inc(len(stale))
            log.info("commands redriven", extra={"count": len(stale)})
        return len(stale)
