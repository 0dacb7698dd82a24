-- Registers one more waiter for the token renewal lock (a release hands the lock on while any is registered).
-- KEYS[1]  the count of registered waiters   ARGV[1]  how long the count lives, in ms
-- Returns the count. A count that is not an integer (damaged or planted) starts again from this waiter,
-- where INCR would fail every process that waits, for good.
-- Invariant: the count always expires.
local count = redis.pcall('INCR', KEYS[1])
if type(count) ~= 'number' then
  redis.call('DEL', KEYS[1])
  count = redis.call('INCR', KEYS[1])
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return count
