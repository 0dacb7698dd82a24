-- One shared budget of Vandar's: a sliding-window log of send slots in a sorted set.
-- KEYS[1]  the budget's sorted set (member: a unique request id, score: its send slot in ms)
-- KEYS[2]  a marker that exists while an interactive request was seen within ARGV[7] ms
-- ARGV[1]  limit: requests allowed per span
-- ARGV[2]  span in ms (Vandar's window plus the safety margin)
-- ARGV[3]  a unique member for this request
-- ARGV[4]  lane: 'i' (interactive) or 'b' (background)
-- ARGV[5]  reserve: slots of every span that background requests never take
-- ARGV[6]  the longest wait the caller accepts, in ms (-1: no deadline)
-- ARGV[7]  how long the reserve holds after an interactive request, in ms
-- Returns {1, wait}: a slot is reserved; the caller waits `wait` ms before sending.
--         {0, retry}: no slot taken; a background caller asks again after `retry` ms, an
--                     interactive one (its slot would come past its deadline) gives up.
--
-- Invariant: no interval of `span` ms holds more than `limit` slots. An interactive request takes
-- the earliest slot at or after now that is a full span after the slot `limit` places back; slots
-- only grow, so interactive reservations are served in order. A background request takes a slot
-- only at now, and only while the span (future interactive slots counted) leaves `reserve` slots
-- free; when no interactive request was seen for ARGV[7] ms, the reserve is lent to background work
-- (so background is never starved while interactive is idle). Time is Redis's own clock (TIME), so the processes sharing the budget need not agree on it.
local limit = tonumber(ARGV[1])
local span = tonumber(ARGV[2])
local reserve = tonumber(ARGV[5])
local max_wait = tonumber(ARGV[6])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
-- Slots a full span old can no longer share a span with a new one.
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - span)
local count = redis.call('ZCARD', KEYS[1])
if ARGV[4] == 'b' and reserve > 0 then
  local allowed = limit
  if redis.call('EXISTS', KEYS[2]) == 1 then
    allowed = limit - reserve
  end
  if count < allowed then
    redis.call('ZADD', KEYS[1], now, ARGV[3])
    redis.call('PEXPIRE', KEYS[1], span)
    return {1, 0}
  end
  local leaving = redis.call('ZRANGE', KEYS[1], count - allowed, count - allowed, 'WITHSCORES')
  return {0, math.max(1, tonumber(leaving[2]) + span - now)}
end
redis.call('SET', KEYS[2], '1', 'PX', tonumber(ARGV[7]))
local slot = now
if count >= limit then
  local back = redis.call('ZRANGE', KEYS[1], count - limit, count - limit, 'WITHSCORES')
  slot = math.max(now, tonumber(back[2]) + span)
end
if max_wait >= 0 and slot - now > max_wait then
  return {0, -1}
end
redis.call('ZADD', KEYS[1], slot, ARGV[3])
redis.call('PEXPIRE', KEYS[1], slot - now + span)
return {1, slot - now}
