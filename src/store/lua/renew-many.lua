--[[
  Extends many leases of one owner at once (a replica's renewal round): each only while
  the owner still holds it.

  KEYS[1..n]  the lease keys
  ARGV[1]     the owner's token (the value each lease holds)
  ARGV[2]     the new time to live, ms
  Returns     one integer per key, in order: 1 renewed; 0 expired or held by another owner
]]
local out = {}
for i = 1, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[1] then
    out[i] = redis.call('PEXPIRE', KEYS[i], ARGV[2])
  else
    out[i] = 0
  end
end
return out
