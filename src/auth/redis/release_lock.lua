-- Releases the token renewal lock only if this process still owns it (compare-and-delete).
-- KEYS[1]  the lock key
-- ARGV[1]  the owner token this process set with SET NX PX
-- Invariant: a process whose lease ran out never deletes the lock another process holds now.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
