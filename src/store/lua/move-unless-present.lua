--[[
  Moves keys to new names, all or none: when the first target already exists, the
  sources are dropped instead (what is under the new names wins). Sources that do
  not exist are skipped.

  KEYS[1..n]  pairs, source then target: from1, to1, from2, to2, ...
  ARGV        none
  Returns     1
]]
local present = redis.call('EXISTS', KEYS[2]) == 1
for i = 1, #KEYS, 2 do
  if redis.call('EXISTS', KEYS[i]) == 1 then
    if present then redis.call('DEL', KEYS[i]) else redis.call('RENAME', KEYS[i], KEYS[i + 1]) end
  end
end
return 1
