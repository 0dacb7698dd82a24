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
-- A count that does not read (damaged, another type) counts as one waiter: a wake token too many costs
-- a waiter one look at the lock, a missing one a second of waiting.
local stored = redis.pcall('GET', KEYS[2])
local waiters = 1
if stored == false then
  waiters = 0
elseif type(stored) == 'string' then
  waiters = tonumber(stored) or 1
end
if waiters > 0 then
  if type(redis.pcall('RPUSH', KEYS[3], '1')) ~= 'number' then
    -- The wake list holds another type (damaged or planted): replaced, so waiters are woken again.
    redis.call('DEL', KEYS[3])
    redis.call('RPUSH', KEYS[3], '1')
  end
  redis.call('PEXPIRE', KEYS[3], ARGV[2])
end
return 1
