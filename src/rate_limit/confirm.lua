-- Whether a slot may be sent now (see RateLimits::confirm): it holds, a renewal moved it later, or
-- its caller came too late and it moves to now (Redis's clock) if every window of `span` around
-- now still holds at most `limit` slots; otherwise it stays, counted as used, and the caller
-- takes another.
-- KEYS[1]  the budget's sorted set
-- ARGV[1]  the member of the slot
-- ARGV[2]  limit
-- ARGV[3]  span in ms
-- ARGV[4]  how late (ms) a send may be and keep its slot
-- Returns {1}: send; {2, wait}: a renewal took the slot, this one is `wait` ms later; {0}: take another.
-- Invariant (as in sliding_window.lua): no interval of `span` ms holds more than `limit` slots.
local limit = tonumber(ARGV[2])
local span = tonumber(ARGV[3])
local late = tonumber(ARGV[4])
local old = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not old then
  return {0}
end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + tonumber(time[2]) / 1000
if tonumber(old) > now then
  return {2, math.ceil(tonumber(old) - now)}
end
if now - tonumber(old) <= late then
  return {1}
end
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
  return {1}
end
redis.call('ZADD', KEYS[1], old, ARGV[1])
return {0}
