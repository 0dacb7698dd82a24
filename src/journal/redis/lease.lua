-- Takes an open entry for a holder, unless another holder's lease still runs (the holder renews).
-- KEYS[1]  the entry hash   KEYS[2]  the open index
-- ARGV[1]  the holder   ARGV[2]  the lease, in ms   ARGV[3]  the key
-- Returns 1 when taken, 0 when held by another, closed or unknown.
-- Invariant: at any time (Redis's clock, one for every replica) at most one holder's lease runs.
if not redis.call('ZSCORE', KEYS[2], ARGV[3]) then
  return 0
end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local holder = redis.call('HGET', KEYS[1], 'lease_holder')
local expires = tonumber(redis.call('HGET', KEYS[1], 'lease_until') or '0')
if holder and holder ~= ARGV[1] and expires > now then
  return 0
end
redis.call('HSET', KEYS[1], 'lease_holder', ARGV[1], 'lease_until', string.format('%.0f', now + tonumber(ARGV[2])))
return 1
