-- Records an intent unless its key is taken.
-- KEYS[1]  the entry hash (<prefix>:journal:entry:<key>)
-- KEYS[2]  the open index, a sorted set scored by created_at_ms (<prefix>:journal:open)
-- ARGV[1]  the intent as JSON   ARGV[2]  its created_at_ms   ARGV[3]  its key
-- Returns {1, '', 0} when recorded, {0, stored intent, 1 if an outcome is stored else 0} when the key exists.
-- Invariant: an entry's intent is written once and never changed; the caller compares the stored one
-- with its own (the same move written ahead is accepted while it has no outcome).
local stored = redis.call('HGET', KEYS[1], 'intent')
if stored then
  return {0, stored, redis.call('HEXISTS', KEYS[1], 'outcome')}
end
redis.call('HSET', KEYS[1], 'intent', ARGV[1], 'created', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
return {1, '', 0}
