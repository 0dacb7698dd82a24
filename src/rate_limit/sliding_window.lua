-- One shared budget of Vandar's: a sliding-window log of send slots in a sorted set.
-- KEYS[1]  the budget's sorted set (member: a unique request id, score: its send slot in ms)
-- ARGV[1]  limit: requests allowed per span
-- ARGV[2]  span in ms (Vandar's window plus the safety margin)
-- ARGV[3]  a unique member for this request
-- Returns how many ms the caller waits before sending.
--
-- Invariant: no interval of `span` ms holds more than `limit` slots. A new request takes the
-- earliest slot at or after now that is a full span after the slot `limit` places back; slots
-- only grow, so reservations are served in order. Time is Redis's own clock (TIME), so the
-- processes sharing the budget need not agree on the time.
local limit = tonumber(ARGV[1])
local span = tonumber(ARGV[2])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
-- Slots a full span old can no longer share a span with a new one.
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - span)
local count = redis.call('ZCARD', KEYS[1])
local slot = now
if count >= limit then
  local back = redis.call('ZRANGE', KEYS[1], count - limit, count - limit, 'WITHSCORES')
  slot = math.max(now, tonumber(back[2]) + span)
end
redis.call('ZADD', KEYS[1], slot, ARGV[3])
redis.call('PEXPIRE', KEYS[1], slot - now + span)
return slot - now
