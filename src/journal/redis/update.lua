-- Records an entry's outcome; an outcome that closes the entry takes it out of the open index.
-- KEYS[1]  the entry hash   KEYS[2]  the open index
-- ARGV[1]  the outcome as JSON   ARGV[2]  '1' if it closes the entry   ARGV[3]  the key
-- ARGV[4]  how long a closed entry is kept, in ms (its key stays taken until then)   ARGV[5]  the outcome's kind
-- Returns 1 when recorded, 0 for an unknown key (ignored, as in every journal).
-- Invariant: an entry is in the open index exactly when its last outcome does not close it.
-- A key holding something else than a hash is damaged or planted: refused, never overwritten.
local found = redis.call('TYPE', KEYS[1]).ok
if found ~= 'none' and found ~= 'hash' then
  return redis.error_reply('vandar journal: ' .. KEYS[1] .. ' holds a ' .. found .. ', not an entry; refused')
end
if redis.call('HEXISTS', KEYS[1], 'intent') == 0 then
  return 0
end
redis.call('HSET', KEYS[1], 'outcome', ARGV[1], 'outcome_kind', ARGV[5])
-- An entry with an outcome is no longer merely staged (the same reading as the file and Postgres).
redis.call('HDEL', KEYS[1], 'staged')
if ARGV[2] == '1' then
  redis.call('ZREM', KEYS[2], ARGV[3])
  redis.call('HDEL', KEYS[1], 'lease_holder', 'lease_until')
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
else
  -- A damaged `created` scores the entry oldest: it is recovered first, never dropped.
  redis.call('ZADD', KEYS[2], tonumber(redis.call('HGET', KEYS[1], 'created') or '') or 0, ARGV[3])
  redis.call('PERSIST', KEYS[1])
end
return 1
