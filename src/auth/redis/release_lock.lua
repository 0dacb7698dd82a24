-- Releases the token renewal lock only if this process still owns it (compare-and-delete), and
-- hands it on: one wake token for the next registered waiter (which, holding the lock, finds the
-- pair renewed and releases it to the next), so a fleet's renewal costs O(waiters) commands.
-- KEYS[1]  the lock key
-- KEYS[2]  the count of registered waiters
-- KEYS[3]  the wake list the waiters block on (BLPOP)
-- ARGV[1]  the owner token this process set with SET NX PX
-- ARGV[2]  the lease in ms (the wake list expires with it)
-- Invariant: a process whose lease ran out never deletes the lock another process holds now.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
redis.call('DEL', KEYS[1])
local waiters = tonumber(redis.call('GET', KEYS[2]) or '0')
if waiters > 0 then
  redis.call('RPUSH', KEYS[3], '1')
  redis.call('PEXPIRE', KEYS[3], ARGV[2])
end
return 1
