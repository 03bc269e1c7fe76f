-- Counts responses whose body carries GraphQL errors (they arrive with status 200, which
-- wrk's own error count does not see) and prints the total as "GraphQL errors: N".
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  graphql_errors = 0
end

function response(status, headers, body)
  if body and string.find(body, '"errors"', 1, true) then
    graphql_errors = graphql_errors + 1
  end
end

function done(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do
    total = total + (t:get("graphql_errors") or 0)
  end
  io.write(string.format("GraphQL errors: %d\n", total))
end
