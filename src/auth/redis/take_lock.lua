-- Takes over the token renewal lock when what holds its key is not a live lock: a value of another
-- type, or one that never expires (nothing vandar writes: its lock always has a lease, so such a
-- value is damage or a leftover that would lock every process out for good). Called only when a
-- plain SET NX / GET found something wrong, or when a waiter has waited its whole wait.
-- KEYS[1]  the lock key   ARGV[1]  the owner token   ARGV[2]  the lease in ms
-- Returns 1 when the key was free (taken the plain way), 2 when it was taken over, 0 when a live lock
-- (a string with a lease) holds it.
-- Invariant: at most one owner's lease runs; a lock always expires.
local kind = redis.call('TYPE', KEYS[1]).ok
if kind == 'none' then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
if kind == 'string' and redis.call('PTTL', KEYS[1]) ~= -1 then
  return 0
end
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 2
