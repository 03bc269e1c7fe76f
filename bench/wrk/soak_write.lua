-- Writes: a favorite added or removed on one of the videos in IDS (comma-separated),
-- signed in. Env: TOKEN, IDS.
dofile("bench/wrk/common.lua")
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
local ids = {}
for id in string.gmatch(os.getenv("IDS") or "", "[^,]+") do
  table.insert(ids, id)
end

request = function()
  local id = ids[math.random(1, #ids)]
  local op
  if math.random() < 0.5 then
    op = 'addFavorite(kind: VIDEO, targetId: $id) { createdAt }'
  else
    op = 'removeFavorite(kind: VIDEO, targetId: $id)'
  end
  local body = '{"query":"mutation($id: ID!) { ' .. op .. ' }","variables":{"id":"' .. id .. '"}}'
  return wrk.format(nil, nil, nil, body)
end
