-- Reads the open entries, oldest first, in one snapshot.
-- KEYS[1]  the open index   ARGV[1]  the entry hash prefix (<prefix>:journal:entry:)
-- Returns {intent, outcome or '', ...}; an index member whose hash is gone is skipped.
-- Invariant: read-only.
local result = {}
for _, key in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local fields = redis.call('HMGET', ARGV[1] .. key, 'intent', 'outcome')
  if fields[1] then
    result[#result + 1] = fields[1]
    result[#result + 1] = fields[2] or ''
  end
end
return result
