-- Reads the open entries, oldest first, in one snapshot, each with whether its hash reads.
-- KEYS[1]  the open index   ARGV[1]  the entry hash prefix (<prefix>:journal:entry:)
-- Returns {member, status, intent, outcome, staged, sending, created, target, ...} ('' for none), status
-- 'hash' when the entry is a hash, 'none' when the index names a key that is gone (an orphan), or the
-- Redis type found instead of a hash. Nothing is skipped: the caller reports what does not read.
-- Invariant: read-only.
local result = {}
for _, key in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local status = redis.call('TYPE', ARGV[1] .. key).ok
  local fields = {}
  if status == 'hash' then
    fields = redis.call('HMGET', ARGV[1] .. key, 'intent', 'outcome', 'staged', 'sending', 'created', 'target')
  end
  result[#result + 1] = key
  result[#result + 1] = status
  for i = 1, 6 do
    result[#result + 1] = fields[i] or ''
  end
end
return result
