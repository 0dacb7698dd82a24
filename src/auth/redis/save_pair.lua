-- Saves a token pair unless the stored one is of the same or a later generation (the fence).
-- KEYS[1]  the pair key (JSON with a numeric `generation`)
-- ARGV[1]  the new pair as JSON
-- ARGV[2]  its generation
-- Returns 1 when saved, 0 when a newer pair is already stored.
-- Invariant: the stored generation only grows. A renewal lock holder that stalled past its lease
-- and comes back with a pair no newer than the stored one cannot overwrite it.
local current = redis.call('GET', KEYS[1])
if current then
  local ok, stored = pcall(cjson.decode, current)
  if ok and type(stored) == 'table' and tonumber(stored.generation) ~= nil
     and tonumber(stored.generation) >= tonumber(ARGV[2]) then
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[1])
return 1
