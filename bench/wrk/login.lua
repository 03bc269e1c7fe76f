-- login as a random demo user (argon2id verification on every request). One account per
-- request keeps the per-account throttle out of the measurement. Env: USERS (1000).
dofile("bench/wrk/common.lua")
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local users = tonumber(os.getenv("USERS") or "1000")

request = function()
  local user = string.format("demo%05d", math.random(1, users - 1))
  local body = '{"query":"mutation { login(input: {usernameOrEmail: \\"' .. user .. '\\", password: \\"demo-password\\"}) { accessToken } }"}'
  return wrk.format(nil, nil, nil, body)
end
