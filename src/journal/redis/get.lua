-- Reads one entry, open or closed.
-- KEYS[1]  the entry hash
-- Returns {intent, outcome or '', staged or '', sending or '', created, target or '', digest}, {} for an unknown key,
-- or {'', type} when the key holds something else than a hash (damaged or planted: the caller refuses it).
-- Invariant: read-only.
local kind = redis.call('TYPE', KEYS[1]).ok
if kind == 'none' then
  return {}
end
if kind ~= 'hash' then
  return {'', kind}
end
local fields, digest = entry_fields(KEYS[1])
return {fields[1], fields[2], fields[3], fields[4], fields[5], fields[6], digest}
