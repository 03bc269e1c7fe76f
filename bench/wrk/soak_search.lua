-- A search page (20 hits with highlights) for one of a few common words.
dofile("bench/wrk/common.lua")
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local words = { "tokyo", "night", "music", "travel", "cooking", "guide", "live", "review" }

request = function()
  local q = words[math.random(1, #words)]
  local body = '{"query":"query($q: String!) { search(query: $q, first: 20) { totalCount edges { score node { id title } highlights { field snippet } } } }","variables":{"q":"' .. q .. '"}}'
  return wrk.format(nil, nil, nil, body)
end
