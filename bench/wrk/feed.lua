-- A 20-video feed page with owner, likeCount and viewerHasFavorited, signed in. Env: TOKEN.
dofile("bench/wrk/common.lua")
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
wrk.body = '{"query":"{ videos(first: 20) { edges { cursor node { id title likeCount viewerHasFavorited owner { id username displayName } } } pageInfo { hasNextPage endCursor } } }"}'
