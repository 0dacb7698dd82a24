-- Takes the token renewal lock for an owner, for a lease.
-- KEYS[1]  the lock key   ARGV[1]  the owner token   ARGV[2]  the lease in ms
-- Returns 1 when this owner holds the lock (taken now, or taken by this owner's earlier call whose answer
-- was lost), 2 when it was taken over from a value that never expires (nothing vandar writes: its lock
-- always has a lease, so a lock without one is damage or a leftover that would lock every process out
-- forever), 0 when another owner holds it.
-- Invariant: at most one owner's lease runs; a lock always expires.
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return 1
end
if redis.call('PTTL', KEYS[1]) == -1 or redis.call('TYPE', KEYS[1]).ok ~= 'string' then
  redis.call('DEL', KEYS[1])
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 2
end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return 1
end
return 0
