"""Seats on hold, in Redis, changed only by atomic Lua scripts.

Per slot, a hash `{capacity, confirmed}` mirrors PostgreSQL, and a sorted set holds one
member `<hold id>:<seats>` per hold, scored by its expiry in epoch milliseconds. Every script
can run twice for one call (a client retries a command whose answer a dropped connection lost)
and change the counts once: holds confirmed and given back are remembered per slot. Every script
first drops the members whose expiry has passed, so an expired hold's seats are back on sale
at that very moment, whatever the background jobs are doing. Times come from the caller's
clock, so tests pin them.
"""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

# Shared snippets. KEYS[2] is the holds set, ARGV[1] the current time in ms.
# A slot's keys live until a day after it ends (set on load); a key a script creates later
# takes the same expiry, so nothing of a past slot stays in Redis.
_EXPIRE_WITH_SEATS = """
local function expire_with_seats(key)
  local keep = redis.call('PEXPIRETIME', KEYS[1])
  if keep > 0 then redis.call('PEXPIREAT', key, keep) end
end
"""
_DROP_EXPIRED = """
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
"""
_COUNT_HELD = """
local held = 0
for _, member in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  held = held + tonumber(string.match(member, ':(%d+)$'))
end
"""

# ARGV: now_ms, seats, member, expires_ms → {status, available after}; -2 = slot not loaded.
_RESERVE = (
    _EXPIRE_WITH_SEATS
    + """
if redis.call('EXISTS', KEYS[1]) == 0 then return {-2, 0} end
"""
    + _DROP_EXPIRED
    + _COUNT_HELD
    + """
local available = tonumber(redis.call('HGET', KEYS[1], 'capacity'))
  - tonumber(redis.call('HGET', KEYS[1], 'confirmed')) - held
if redis.call('ZSCORE', KEYS[2], ARGV[3]) then return {1, available} end
if available < tonumber(ARGV[2]) then return {-1, available} end
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[3])
expire_with_seats(KEYS[2])
return {1, available - tonumber(ARGV[2])}
"""
)

# ARGV: now_ms → {status, available}
_AVAILABLE = (
    """
if redis.call('EXISTS', KEYS[1]) == 0 then return {-2, 0} end
"""
    + _DROP_EXPIRED
    + _COUNT_HELD
    + """
return {1, tonumber(redis.call('HGET', KEYS[1], 'capacity'))
  - tonumber(redis.call('HGET', KEYS[1], 'confirmed')) - held}
"""
)

# ARGV: now_ms, member → {removed (0 or 1), available}
_RELEASE = (
    """
if redis.call('EXISTS', KEYS[1]) == 0 then return {-2, 0} end
local removed = redis.call('ZREM', KEYS[2], ARGV[2])
"""
    + _DROP_EXPIRED
    + _COUNT_HELD
    + """
return {removed, tonumber(redis.call('HGET', KEYS[1], 'capacity'))
  - tonumber(redis.call('HGET', KEYS[1], 'confirmed')) - held}
"""
)

# KEYS[4] maps each confirmed hold to how it was confirmed. ARGV: now_ms, member, seats →
# {status, available}: 1 = the live hold's seats are now confirmed; 2 = the hold had lapsed but
# the seats were still free and are confirmed; -1 = gone.
_CONFIRM = (
    _EXPIRE_WITH_SEATS
    + """
if redis.call('EXISTS', KEYS[1]) == 0 then return {-2, 0} end
"""
    + _DROP_EXPIRED
    + """
local was_held = redis.call('ZREM', KEYS[2], ARGV[2])
"""
    + _COUNT_HELD
    + """
local available = tonumber(redis.call('HGET', KEYS[1], 'capacity'))
  - tonumber(redis.call('HGET', KEYS[1], 'confirmed')) - held
local before = redis.call('HGET', KEYS[4], ARGV[2])
if before then return {tonumber(before), available} end
if was_held == 0 and available < tonumber(ARGV[3]) then return {-1, available} end
redis.call('HINCRBY', KEYS[1], 'confirmed', ARGV[3])
local status = 2
if was_held == 1 then status = 1 end
redis.call('HSET', KEYS[4], ARGV[2], status)
expire_with_seats(KEYS[4])
return {status, available - tonumber(ARGV[3])}
"""
)

# ARGV: member, seats → {1 if the confirmation was undone now else 0, 0}
_UNCONFIRM = """
if redis.call('HDEL', KEYS[4], ARGV[1]) == 1 then
  redis.call('HINCRBY', KEYS[1], 'confirmed', -tonumber(ARGV[2]))
  return {1, 0}
end
return {0, 0}
"""

# ARGV: now_ms, member, new expires_ms → {1 if the live hold now lasts until then, else 0; 0}
_EXTEND = (
    """
if redis.call('EXISTS', KEYS[1]) == 0 then return {-2, 0} end
"""
    + _DROP_EXPIRED
    + """
if redis.call('ZSCORE', KEYS[2], ARGV[2]) == false then return {0, 0} end
redis.call('ZADD', KEYS[2], 'XX', ARGV[3], ARGV[2])
return {1, 0}
"""
)

# ARGV: capacity, confirmed, keep_until_ms, then pairs of (expires_ms, member) → 1 if loaded,
# 0 if it was there. The confirmed count comes from PostgreSQL, where every return is already
# counted, so marks of returns left from before are dropped with the rest.
_LOAD = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4])
redis.call('HSET', KEYS[1], 'capacity', ARGV[1], 'confirmed', ARGV[2])
redis.call('PEXPIREAT', KEYS[1], ARGV[3])
for i = 4, #ARGV, 2 do redis.call('ZADD', KEYS[2], ARGV[i], ARGV[i + 1]) end
if #ARGV > 3 then redis.call('PEXPIREAT', KEYS[2], ARGV[3]) end
return 1
"""

# ARGV: now_ms, capacity → {1, available after} or {-1, seats confirmed and held}
_SET_CAPACITY = (
    """
if redis.call('EXISTS', KEYS[1]) == 0 then return {-2, 0} end
"""
    + _DROP_EXPIRED
    + _COUNT_HELD
    + """
local taken = tonumber(redis.call('HGET', KEYS[1], 'confirmed')) + held
if tonumber(ARGV[2]) < taken then return {-1, taken} end
redis.call('HSET', KEYS[1], 'capacity', ARGV[2])
return {1, tonumber(ARGV[2]) - taken}
"""
)

# KEYS[3] is the set of holds whose confirmed seats were given back, so a retried return
# gives them back once. ARGV: now_ms, member, seats → {1 if returned now else 0, available}
_RETURN = (
    _EXPIRE_WITH_SEATS
    + """
if redis.call('EXISTS', KEYS[1]) == 0 then return {-2, 0} end
"""
    + _DROP_EXPIRED
    + """
local returned = redis.call('SADD', KEYS[3], ARGV[2])
expire_with_seats(KEYS[3])
if returned == 1 then redis.call('HINCRBY', KEYS[1], 'confirmed', -tonumber(ARGV[3])) end
"""
    + _COUNT_HELD
    + """
return {returned, tonumber(redis.call('HGET', KEYS[1], 'capacity'))
  - tonumber(redis.call('HGET', KEYS[1], 'confirmed')) - held}
"""
)

# ARGV: capacity, confirmed, then pairs of (expires_ms, member) that must be present →
# {capacity was wrong, confirmed was wrong, holds put back}. A slot that left Redis meanwhile
# is left out: it is loaded afresh when next used.
_REPAIR = (
    _EXPIRE_WITH_SEATS
    + """
if redis.call('EXISTS', KEYS[1]) == 0 then return {0, 0, 0} end
local wrong_capacity = 0
local wrong_confirmed = 0
if tonumber(redis.call('HGET', KEYS[1], 'capacity')) ~= tonumber(ARGV[1]) then wrong_capacity = 1 end
if tonumber(redis.call('HGET', KEYS[1], 'confirmed')) ~= tonumber(ARGV[2]) then wrong_confirmed = 1 end
redis.call('HSET', KEYS[1], 'capacity', ARGV[1], 'confirmed', ARGV[2])
local restored = 0
for i = 3, #ARGV, 2 do
  if redis.call('ZADD', KEYS[2], 'NX', ARGV[i], ARGV[i + 1]) == 1 then restored = restored + 1 end
end
if restored > 0 then expire_with_seats(KEYS[2]) end
return {wrong_capacity, wrong_confirmed, restored}
"""
)


class SlotNotLoaded(Exception):
    """Redis has no counts for the slot (new, evicted, or Redis restarted)."""


@dataclass(frozen=True)
class SeatChange:
    ok: bool
    available: int
    late: bool = False


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def hold_member(hold_id: UUID, seats: int) -> str:
    return f"{hold_id}:{seats}"


class RedisSeats:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._reserve = redis.register_script(_RESERVE)
        self._available = redis.register_script(_AVAILABLE)
        self._release = redis.register_script(_RELEASE)
        self._confirm = redis.register_script(_CONFIRM)
        self._load = redis.register_script(_LOAD)
        self._extend = redis.register_script(_EXTEND)
        self._repair = redis.register_script(_REPAIR)
        self._set_capacity = redis.register_script(_SET_CAPACITY)
        self._return = redis.register_script(_RETURN)
        self._unconfirm = redis.register_script(_UNCONFIRM)

    @staticmethod
    def _keys(slot_id: UUID) -> list[str]:
        # One hash tag per slot, so its keys live on the same Redis Cluster shard.
        return [f"slot:{{{slot_id}}}:{part}" for part in ("seats", "holds", "returned", "confirmed")]

    async def _run(self, script: AsyncScript, slot_id: UUID, *args: int | str) -> tuple[int, int]:
        status, available = await script(keys=self._keys(slot_id), args=list(args))
        if int(status) == -2:
            raise SlotNotLoaded(str(slot_id))
        return int(status), int(available)

    async def load(
        self,
        slot_id: UUID,
        *,
        capacity: int,
        confirmed: int,
        holds: list[tuple[UUID, int, datetime]],
        keep_until: datetime,
    ) -> None:
        """Put a slot's counts in Redis unless they are there, kept until `keep_until`."""
        args: list[int | str] = [capacity, confirmed, _ms(keep_until)]
        for hold_id, seats, expires_at in holds:
            args += [_ms(expires_at), hold_member(hold_id, seats)]
        await self._load(keys=self._keys(slot_id), args=args)

    async def loaded_slots(self) -> AsyncIterator[UUID]:
        async for key in self.redis.scan_iter(match="slot:{*}:seats", count=500):
            yield UUID(key.decode().split("{", 1)[1].split("}", 1)[0])

    async def repair(
        self, slot_id: UUID, *, capacity: int, confirmed: int, holds: list[tuple[UUID, int, datetime]]
    ) -> list[str]:
        """Make Redis agree with PostgreSQL; returns what had drifted."""
        args: list[int | str] = [capacity, confirmed]
        for hold_id, seats, expires_at in holds:
            args += [_ms(expires_at), hold_member(hold_id, seats)]
        wrong_capacity, wrong_confirmed, restored = await self._repair(keys=self._keys(slot_id), args=args)
        drift = ["capacity"] * int(wrong_capacity) + ["confirmed seats"] * int(wrong_confirmed)
        return drift + ([f"{restored} hold(s) missing"] if int(restored) else [])

    async def forget(self, slot_id: UUID) -> None:
        await self.redis.delete(*self._keys(slot_id))

    async def reserve(
        self, slot_id: UUID, *, hold_id: UUID, seats: int, now: datetime, expires_at: datetime
    ) -> SeatChange:
        status, available = await self._run(
            self._reserve, slot_id, _ms(now), seats, hold_member(hold_id, seats), _ms(expires_at)
        )
        return SeatChange(ok=status == 1, available=available)

    async def available(self, slot_id: UUID, *, now: datetime) -> int:
        return (await self._run(self._available, slot_id, _ms(now)))[1]

    async def release(self, slot_id: UUID, *, hold_id: UUID, seats: int, now: datetime) -> SeatChange:
        status, available = await self._run(self._release, slot_id, _ms(now), hold_member(hold_id, seats))
        return SeatChange(ok=status == 1, available=available)

    async def confirm(self, slot_id: UUID, *, hold_id: UUID, seats: int, now: datetime) -> SeatChange:
        status, available = await self._run(self._confirm, slot_id, _ms(now), hold_member(hold_id, seats), seats)
        return SeatChange(ok=status > 0, available=available, late=status == 2)

    async def extend(self, slot_id: UUID, *, hold_id: UUID, seats: int, now: datetime, expires_at: datetime) -> bool:
        """Keep a live hold until `expires_at`; False if it had already lapsed."""
        status, _ = await self._run(self._extend, slot_id, _ms(now), hold_member(hold_id, seats), _ms(expires_at))
        return status == 1

    async def set_capacity(self, slot_id: UUID, *, capacity: int, now: datetime) -> SeatChange:
        """Change the capacity unless it would fall below the seats confirmed and held; when
        refused, `available` carries those taken seats instead."""
        status, value = await self._run(self._set_capacity, slot_id, _ms(now), capacity)
        return SeatChange(ok=status == 1, available=value)

    async def give_back(self, slot_id: UUID, *, hold_id: UUID, seats: int, now: datetime) -> SeatChange:
        """Put a confirmed hold's seats back on sale, once however often it is called."""
        status, available = await self._run(self._return, slot_id, _ms(now), hold_member(hold_id, seats), seats)
        return SeatChange(ok=status == 1, available=available)

    async def unconfirm(self, slot_id: UUID, *, hold_id: UUID, seats: int) -> None:
        """Undo a confirmation PostgreSQL refused."""
        await self._unconfirm(keys=self._keys(slot_id), args=[hold_member(hold_id, seats), seats])
