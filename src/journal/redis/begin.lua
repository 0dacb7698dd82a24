-- Records an intent as sending, in one step with the check of its key (the one rule for a track id).
-- KEYS[1]  the entry hash   KEYS[2]  the open index
-- ARGV[1]  the intent as JSON   ARGV[2]  its created_at_ms   ARGV[3]  its key   ARGV[4]  its move fingerprint
-- ARGV[5]  where it is sent, as JSON ('' when unknown)
-- ARGV[6]  the digest of the entry as the caller read and checked it (get.lua; '' for none)
-- ARGV[7..]  the outcome kinds after which the same move may be sent again
-- Returns 1 when the caller may send (a new key; the same move staged, or closed by an outcome of ARGV[7..]),
-- 0 when the key is held (sending, in doubt, done, or another move), 2 when the entry changed since the
-- caller read it (it reads again): nothing is changed then.
-- Invariant: a key is sending at most once at a time, and never after an outcome that does not allow it.
-- A key holding something else than a hash is damaged or planted: refused, never overwritten.
local found = redis.call('TYPE', KEYS[1]).ok
if found ~= 'none' and found ~= 'hash' then
  return redis.error_reply('vandar journal: ' .. KEYS[1] .. ' holds a ' .. found .. ', not an entry; refused')
end
-- The client decoded every field of the entry and found it whole (a damaged one is refused there):
-- act only on that entry. An index member whose entry is gone may be the only trace of a move that
-- left: damaged, refused until an operator repairs it, never taken for a new key.
local current = ''
if found == 'hash' then
  local _, digest = entry_fields(KEYS[1])
  current = digest
end
if current ~= ARGV[6] then
  return 2
end
if found == 'none' and redis.call('ZSCORE', KEYS[2], ARGV[3]) then
  return redis.error_reply('vandar journal: the open index names ' .. KEYS[1] .. ' but it is gone (damaged); refused')
end
local time = redis.call('TIME')
local now = string.format('%d', tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000))
local stored = redis.call('HGET', KEYS[1], 'intent')
if not stored then
  redis.call('HSET', KEYS[1], 'intent', ARGV[1], 'created', ARGV[2], 'move', ARGV[4], 'sending', now)
  redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
  return 1
end
if redis.call('HGET', KEYS[1], 'move') ~= ARGV[4] then
  return 0
end
local accepts = redis.call('HGET', KEYS[1], 'staged') == '1'
local kind = redis.call('HGET', KEYS[1], 'outcome_kind')
for i = 7, #ARGV do
  if kind == ARGV[i] then accepts = true end
end
if not accepts then
  return 0
end
redis.call('HDEL', KEYS[1], 'staged', 'outcome', 'outcome_kind')
redis.call('HSET', KEYS[1], 'sending', now)
if ARGV[5] ~= '' then
  redis.call('HSET', KEYS[1], 'target', ARGV[5])
end
-- A damaged `created` scores the entry oldest: it is recovered first, never dropped.
redis.call('ZADD', KEYS[2], tonumber(redis.call('HGET', KEYS[1], 'created') or '') or 0, ARGV[3])
redis.call('PERSIST', KEYS[1])
return 1
