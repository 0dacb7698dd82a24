-- Reads one entry, open or closed.
-- KEYS[1]  the entry hash
-- Returns {intent, outcome or '', staged or '', sending or '', created, target or ''}, {} for an unknown key,
-- or {'', type} when the key holds something else than a hash (damaged or planted: the caller refuses it).
-- Invariant: read-only.
local kind = redis.call('TYPE', KEYS[1]).ok
if kind == 'none' then
  return {}
end
if kind ~= 'hash' then
  return {'', kind}
end
local fields = redis.call('HMGET', KEYS[1], 'intent', 'outcome', 'staged', 'sending', 'created', 'target')
for i = 1, 6 do
  fields[i] = fields[i] or ''
end
return fields
