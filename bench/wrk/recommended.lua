-- recommendedVideos: the feed page's selection plus score and reason, signed in (the
-- viewer's stored list is reused while their feedback does not change). Env: TOKEN.
dofile("bench/wrk/common.lua")
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
wrk.body = '{"query":"{ recommendedVideos(first: 20) { edges { cursor score reason node { id title likeCount viewerHasFavorited owner { id username displayName } } } pageInfo { hasNextPage endCursor } } }"}'
