-- One shared budget of Vandar's: a sliding-window log of send slots in a sorted set.
-- KEYS[1]  the budget's sorted set (member: a unique request id, score: its send slot in ms;
--          scores later than now are calls waiting for their slot)
-- KEYS[2]  background pacing: the earliest time (ms) of the next background slot
-- KEYS[3]  after a 429: nothing is granted before this time (ms)
-- ARGV[1]  limit: requests allowed per span
-- ARGV[2]  span in ms (Vandar's window plus the safety margin)
-- ARGV[3]  a unique member for this request
-- ARGV[4]  'r' (a token renewal), 'i' (interactive) or 'b' (background)
-- ARGV[5]  slots of every span background requests leave free (0 by default)
-- ARGV[6]  the longest wait the caller accepts, in ms (-1: no deadline)
-- ARGV[7]  the background pace in ms (span / limit)
-- ARGV[8]  the shortest spacing of background slots while they catch up on the grid (a quarter pace)
-- Returns {1, wait, ahead}: a slot is reserved; the caller waits `wait` ms before sending.
--         {0, retry, ahead, earliest}: no slot taken; a background caller asks again after
--         `retry` ms; an interactive one (retry -1) gives up: its slot was `earliest` ms away.
--         `ahead`: calls waiting for a later slot than now.
--
-- Invariant: no interval of `span` ms holds more than `limit` slots. An interactive request takes
-- the earliest slot at or after now that is a full span after the slot `limit` places back; it is
-- written at once, so every process counts it. A background request takes a slot only at now,
-- only while the span (waiting reservations counted) has a slot free, and at most one per pace
-- (so slots free one at a time and an interactive arrival waits at most a pace). A renewal takes
-- the earliest waiting slot and moves every waiting call one place back. Time is Redis's own
-- clock (TIME), so the processes sharing the budget need not agree on it.
local limit = tonumber(ARGV[1])
local span = tonumber(ARGV[2])
local class = ARGV[4]
local reserve = tonumber(ARGV[5])
local max_wait = tonumber(ARGV[6])
local pace = tonumber(ARGV[7])
local slack = tonumber(ARGV[8])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + tonumber(time[2]) / 1000
-- Slots a full span old can no longer share a span with a new one.
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - span)
local count = redis.call('ZCARD', KEYS[1])
local ahead = redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf')
local base = math.max(now, tonumber(redis.call('GET', KEYS[3]) or '0'))
local function keep(last)
  redis.call('PEXPIRE', KEYS[1], math.ceil(last - now + span))
end
local function latest()
  local top = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
  if top[2] then return math.max(now, tonumber(top[2])) end
  return now
end
if class == 'b' then
  local at = base
  local paced = tonumber(redis.call('GET', KEYS[2]) or '0')
  at = math.max(at, paced)
  local allowed = math.max(1, limit - reserve)
  if count >= allowed then
    local leaving = redis.call('ZRANGE', KEYS[1], count - allowed, count - allowed, 'WITHSCORES')
    at = math.max(at, tonumber(leaving[2]) + span)
  end
  if at > now then
    return {0, math.max(1, math.ceil(at - now)), ahead, 0}
  end
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  keep(latest())
  -- The grid holds through a late caller (no drift): behind it, background catches up, never
  -- faster than one per `slack` (no burst). Idle for a span, it starts again from now.
  local next = now + pace
  if paced + span >= now then next = math.max(paced + pace, now + slack) end
  redis.call('SET', KEYS[2], tostring(next), 'PX', math.ceil(2 * span))
  return {1, 0, ahead}
end
local slot = base
if count >= limit then
  local back = redis.call('ZRANGE', KEYS[1], count - limit, count - limit, 'WITHSCORES')
  slot = math.max(base, tonumber(back[2]) + span)
end
if class == 'r' and ahead > 0 then
  -- The earliest waiting slot is the renewal's; each waiting call moves one place back, the
  -- last to the slot the renewal would have had.
  local waiting = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf', 'WITHSCORES')
  local first = waiting[2]
  for i = 1, #waiting - 2, 2 do
    redis.call('ZADD', KEYS[1], waiting[i + 3], waiting[i])
  end
  redis.call('ZADD', KEYS[1], slot, waiting[#waiting - 1])
  redis.call('ZADD', KEYS[1], first, ARGV[3])
  keep(latest())
  return {1, math.ceil(tonumber(first) - now), ahead}
end
if max_wait >= 0 and slot - now > max_wait then
  return {0, -1, ahead, math.ceil(slot - now)}
end
redis.call('ZADD', KEYS[1], slot, ARGV[3])
keep(latest())
return {1, math.ceil(slot - now), ahead}
