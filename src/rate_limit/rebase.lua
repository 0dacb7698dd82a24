-- Moves a slot whose caller woke too late to the real send time (Redis's now), if every window
-- of `span` around it still holds at most `limit` slots; otherwise the slot stays, counted as
-- used, and the caller reserves another.
-- KEYS[1]  the budget's sorted set
-- ARGV[1]  the member of the late slot
-- ARGV[2]  limit
-- ARGV[3]  span in ms
-- Returns 1 when moved, 0 when not.
-- Invariant (as in sliding_window.lua): no interval of `span` ms holds more than `limit` slots.
local limit = tonumber(ARGV[2])
local span = tonumber(ARGV[3])
local old = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not old then
  return 0
end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
redis.call('ZREM', KEYS[1], ARGV[1])
-- The other slots near `now`: the fullest window holding `now` starts at `now` or at one of them.
local near = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. (now - span), '(' .. (now + span), 'WITHSCORES')
local scores = {}
for i = 2, #near, 2 do
  scores[#scores + 1] = tonumber(near[i])
end
local function count_from(start)
  local n = 0
  for _, s in ipairs(scores) do
    if s >= start and s < start + span then n = n + 1 end
  end
  return n
end
local fits = count_from(now) < limit
for _, s in ipairs(scores) do
  if fits and s < now then
    fits = count_from(s) < limit
  end
end
if fits then
  redis.call('ZADD', KEYS[1], now, ARGV[1])
  return 1
end
redis.call('ZADD', KEYS[1], old, ARGV[1])
return 0
