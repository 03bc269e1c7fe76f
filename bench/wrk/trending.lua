-- trendingVideos: the feed page's selection over the trending ranking, signed in. Env: TOKEN.
dofile("bench/wrk/common.lua")
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
wrk.body = '{"query":"{ trendingVideos(first: 20) { edges { cursor node { id title likeCount viewerHasFavorited owner { id username displayName } } } pageInfo { hasNextPage endCursor } } }"}'
