--[[
  Extends a lease's time to live, only while its owner still holds it.

  KEYS[1]  the lease key
  ARGV[1]  the owner's token (the value the lease holds)
  ARGV[2]  the new time to live, ms
  Returns  1 renewed; 0 the lease expired or another owner holds it
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
