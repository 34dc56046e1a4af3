"""The Lua scripts of `RedisJournal` (``_redis_journal``): each runs atomically in Redis, so a
claim, an outcome, a heartbeat and the reaping of a dead worker's claims are each one step no
other worker can interleave with. The keys they use are described in ``_redis_journal``'s
docstring and the fan-out guide.
"""

from __future__ import annotations

__all__ = ["BEAT", "CLAIM", "REAP", "RECORD"]

CLAIM = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local me, started, lease = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local prefix = ARGV[4]
redis.call('ZADD', KEYS[2], now + lease, me)
local out = {}
local function take(gid)
  redis.call('HSET', KEYS[1], gid, 'C|' .. me)
  redis.call('SADD', prefix .. me, gid)
end
for i = 5, #ARGV, 2 do
  local gid, retake = ARGV[i], ARGV[i + 1] == '1'
  local v = redis.call('HGET', KEYS[1], gid)
  local kind = v and string.sub(v, 1, 1) or ''
  local answer
  if kind == 'C' or kind == 'I' then
    local owner = string.match(v, '^.|([^|]*)')
    local until_ms = tonumber(redis.call('ZSCORE', KEYS[2], owner) or '0')
    if owner == me then
      answer = {'mine', ''}
    elseif until_ms >= now then
      answer = {'held', owner}
    else
      redis.call('SREM', prefix .. owner, gid)
      if kind == 'C' then  -- claimed by a dead worker, never sent
        take(gid); answer = {'new', '1'}
      else  -- in flight when its worker died: unknown
        redis.call('HSET', KEYS[1], gid, 'U'); kind = 'U'
      end
    end
  end
  if answer == nil then
    if v == false then
      take(gid); answer = {'new', '1'}
    elseif kind == 'S' then
      answer = {'sent', string.sub(v, 3)}
    elseif kind == 'F' then
      if tonumber(string.sub(v, 3)) < started then take(gid); answer = {'failed', '1'}
      else answer = {'failed-now', ''} end
    elseif retake then
      take(gid); answer = {'unknown', '1'}
    else
      answer = {'unknown', ''}
    end
  end
  out[#out + 1] = answer[1]; out[#out + 1] = answer[2]
end
return out
"""

RECORD = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local me, prefix = ARGV[1], ARGV[2]
local lost = {}
for i = 3, #ARGV, 3 do
  local state, gid, ref = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  if state == 'inflight' then
    if redis.call('HGET', KEYS[1], gid) == 'C|' .. me then
      redis.call('HSET', KEYS[1], gid, 'I|' .. me .. '|' .. now)
    else
      lost[#lost + 1] = gid
    end
  else
    local code = state == 'sent' and ('S|' .. ref) or (state == 'failed' and ('F|' .. now) or 'U')
    redis.call('HSET', KEYS[1], gid, code)
    redis.call('SREM', prefix .. me, gid)
  end
end
return lost
"""

BEAT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), ARGV[1])
"""

REAP = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local me, lease, prefix, most = ARGV[1], tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4])
redis.call('ZADD', KEYS[2], now + lease, me)
local taken, lost = {}, {}
for _, owner in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now - 1)) do
  for _, gid in ipairs(redis.call('SRANDMEMBER', prefix .. owner, most)) do
    local v = redis.call('HGET', KEYS[1], gid) or ''
    redis.call('SREM', prefix .. owner, gid)
    if v == 'C|' .. owner and #taken < most then
      redis.call('HSET', KEYS[1], gid, 'C|' .. me)
      redis.call('SADD', prefix .. me, gid)
      taken[#taken + 1] = gid
    elseif v == 'C|' .. owner then
      redis.call('SADD', prefix .. owner, gid)  -- more than this call takes: left for the next
    elseif string.sub(v, 1, 2 + #owner) == 'I|' .. owner then
      redis.call('HSET', KEYS[1], gid, 'U')
      lost[#lost + 1] = gid
    end
  end
  if redis.call('SCARD', prefix .. owner) == 0 then redis.call('ZREM', KEYS[2], owner) end
end
local busy = 0
for _, owner in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], now, '+inf')) do
  if owner ~= me and redis.call('SCARD', prefix .. owner) > 0 then busy = 1 end
end
return {busy, taken, lost}
"""
