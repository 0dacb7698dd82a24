-- Prepended to get.lua and begin.lua: the fields an entry is read from, and a digest of them, so
-- that begin acts only on the entry the client read and checked (a compare and set).
local function entry_fields(key)
  local fields = redis.call('HMGET', key, 'intent', 'outcome', 'staged', 'sending', 'created', 'target', 'move', 'outcome_kind')
  local parts = {}
  for i = 1, 8 do
    fields[i] = fields[i] or ''
    parts[i] = #fields[i] .. ':' .. fields[i]
  end
  return fields, redis.sha1hex(table.concat(parts))
end
