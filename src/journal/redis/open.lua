-- Reads the open entries, oldest first, in one snapshot.
-- KEYS[1]  the open index   ARGV[1]  the entry hash prefix (<prefix>:journal:entry:)
-- Returns {intent, outcome or '', staged or '', sending or '', created, target or '', ...}; an index member whose hash is gone is skipped.
-- Invariant: read-only.
local result = {}
for _, key in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local fields = redis.call('HMGET', ARGV[1] .. key, 'intent', 'outcome', 'staged', 'sending', 'created', 'target')
  if fields[1] then
    for i = 1, 6 do
      result[#result + 1] = fields[i] or ''
    end
  end
end
return result
