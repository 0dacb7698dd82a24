-- Saves a token pair unless the stored one is of the same or a later generation (the fence).
-- KEYS[1]  the pair key (JSON with a numeric `generation`)
-- ARGV[1]  the new pair as JSON
-- ARGV[2]  its generation, digits only, at most 15 of them (below 2^53, where Lua's numbers are exact)
-- Returns 1 when saved, 0 when a newer pair is already stored, 2 when it replaced a stored value that
-- does not read as a pair (damaged or planted: nothing could be renewed from it anyway).
-- Invariant: the stored generation only grows. A renewal lock holder that stalled past its lease
-- and comes back with a pair no newer than the stored one cannot overwrite it. Generations are
-- compared as integers: digit strings of at most 15 digits, so `tonumber` is exact (a double holds
-- every integer below 2^53; past it two generations could compare equal or out of order).
local function generation(text)
  if type(text) ~= 'string' or #text > 15 or not string.match(text, '^%d+$') then
    return nil
  end
  return tonumber(text)
end
local new = generation(ARGV[2])
if not new then
  return redis.error_reply('vandar: a token generation must be at most 15 digits; refused')
end
local kind = redis.call('TYPE', KEYS[1]).ok
local replaced = false
if kind == 'string' then
  local stored = generation(string.match(redis.call('GET', KEYS[1]), '"generation"%s*:%s*(%d+)'))
  if stored ~= nil and stored >= new then
    return 0
  end
  replaced = stored == nil
elseif kind ~= 'none' then
  redis.call('DEL', KEYS[1])
  replaced = true
end
redis.call('SET', KEYS[1], ARGV[1])
if replaced then
  return 2
end
return 1
