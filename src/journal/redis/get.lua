-- Reads one entry, open or closed.
-- KEYS[1]  the entry hash
-- Returns {intent, outcome or '', staged or '', sending or '', created, target or ''}, or {} for an unknown key.
-- Invariant: read-only.
local fields = redis.call('HMGET', KEYS[1], 'intent', 'outcome', 'staged', 'sending', 'created', 'target')
if not fields[1] then
  return {}
end
for i = 2, 6 do
  fields[i] = fields[i] or ''
end
return fields
