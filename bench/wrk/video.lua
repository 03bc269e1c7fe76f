-- video(id) through GraphQL. Env: VIDEO_ID.
dofile("bench/wrk/common.lua")
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"query":"query($id: ID!) { video(id: $id) { id title description tags categories status visibility publishedAt viewCount likeCount createdAt updatedAt } }","variables":{"id":"' .. os.getenv("VIDEO_ID") .. '"}}'
