-- Takes an open entry for a holder, unless another holder's lease still runs (the holder renews).
-- KEYS[1]  the entry hash   KEYS[2]  the open index
-- ARGV[1]  the holder   ARGV[2]  the lease, in ms   ARGV[3]  the key
-- Returns 1 when taken, 0 when held by another, closed or unknown.
-- Invariant: at any time (Redis's clock, one for every replica) at most one holder's lease runs.
-- A key holding something else than a hash is damaged or planted: refused, never overwritten.
local found = redis.call('TYPE', KEYS[1]).ok
if found ~= 'none' and found ~= 'hash' then
  return redis.error_reply('vandar journal: ' .. KEYS[1] .. ' holds a ' .. found .. ', not an entry; refused')
end
if not redis.call('ZSCORE', KEYS[2], ARGV[3]) then
  return 0
end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local holder = redis.call('HGET', KEYS[1], 'lease_holder')
-- A damaged lease_until reads as a lease that ran out: the entry is taken, never stuck.
local expires = tonumber(redis.call('HGET', KEYS[1], 'lease_until') or '') or 0
if holder and holder ~= ARGV[1] and expires > now then
  return 0
end
redis.call('HSET', KEYS[1], 'lease_holder', ARGV[1], 'lease_until', string.format('%.0f', now + tonumber(ARGV[2])))
return 1
