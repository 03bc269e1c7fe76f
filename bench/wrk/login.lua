-- login as a demo user (argon2id verification on every request).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"query":"mutation { login(input: {usernameOrEmail: \\"demo00001\\", password: \\"demo-password\\"}) { accessToken } }"}'
