--[[
  Applies writes all together, only while a guard key holds a given value: a fenced
  commit, the guard being the writer's lease.

  KEYS[1]     the guard key
  KEYS[2..n]  the key each op writes, one per op, in order
  ARGV[1]     the value the guard must hold
  ARGV[2..]   two per op, in order: its name (set, del, sadd, srem) and its value
              (set: the value, sadd and srem: the member, del: ignored)
  Returns     1 applied; 0 the guard holds something else, nothing was written
]]
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
for i = 2, #KEYS do
  local op, v = ARGV[2 * i - 2], ARGV[2 * i - 1]
  if op == 'set' then redis.call('SET', KEYS[i], v)
  elseif op == 'del' then redis.call('DEL', KEYS[i])
  elseif op == 'sadd' then redis.call('SADD', KEYS[i], v)
  elseif op == 'srem' then redis.call('SREM', KEYS[i], v) end
end
return 1
