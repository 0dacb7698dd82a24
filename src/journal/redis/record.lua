-- Stages an intent (written ahead by the application; nothing is sent) unless its key is taken.
-- KEYS[1]  the entry hash (<prefix>:journal:entry:<key>)
-- KEYS[2]  the open index, a sorted set scored by created_at_ms (<prefix>:journal:open)
-- ARGV[1]  the intent as JSON   ARGV[2]  its created_at_ms   ARGV[3]  its key   ARGV[4]  its move fingerprint
-- Returns 1 when staged, or when the same move is staged already; 0 when the key is taken otherwise.
-- Invariant: an entry's intent is written once and never changed.
-- A key holding something else than a hash is damaged or planted: refused, never overwritten.
local found = redis.call('TYPE', KEYS[1]).ok
if found ~= 'none' and found ~= 'hash' then
  return redis.error_reply('vandar journal: ' .. KEYS[1] .. ' holds a ' .. found .. ', not an entry; refused')
end
-- An entry whose intent is gone or does not read, or an index member whose entry is gone, may be the only trace of a
-- move that left: damaged, refused until an operator repairs it, never taken for a new key.
if found == 'hash' then
  local intent = redis.call('HGET', KEYS[1], 'intent')
  local read, decoded = pcall(cjson.decode, intent or '')
  if not read or type(decoded) ~= 'table' then
    return redis.error_reply('vandar journal: ' .. KEYS[1] .. ' holds no intent that reads (damaged); refused')
  end
end
if found == 'none' and redis.call('ZSCORE', KEYS[2], ARGV[3]) then
  return redis.error_reply('vandar journal: the open index names ' .. KEYS[1] .. ' but it is gone (damaged); refused')
end
local stored = redis.call('HGET', KEYS[1], 'intent')
if stored then
  if redis.call('HGET', KEYS[1], 'staged') == '1' and redis.call('HGET', KEYS[1], 'move') == ARGV[4] then
    return 1
  end
  return 0
end
redis.call('HSET', KEYS[1], 'intent', ARGV[1], 'created', ARGV[2], 'move', ARGV[4], 'staged', '1')
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
return 1
