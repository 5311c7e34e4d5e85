--[[
  Deletes a lease, only while its owner still holds it (compare-and-delete).

  KEYS[1]  the lease key
  ARGV[1]  the owner's token (the value the lease holds)
  Returns  1 released; 0 the lease expired or another owner holds it
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
