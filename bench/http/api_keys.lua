-- wrk script: each request carries a random X-Api-Key out of N keys and a
-- path; done() prints one JSON line of figures.
--
--   wrk -s api_keys.lua URL -- KEYS PATHS
--   KEYS   how many distinct keys (key-0 .. key-<KEYS-1>), picked at random
--   PATHS  "one": every request is GET /item
--          "alternate": requests alternate GET /limited/item, GET /open/item
--
-- Every request is built once in init(): building one per request in Lua
-- would cost wrk (which shares its CPU with the upstream) more than the
-- proxies' differences.

local built = {}  -- built[path_index][key_index] = raw request
local key_count
local path_count
local turn = 0

function init(args)
  key_count = tonumber(args[1]) or 100000
  local paths = (args[2] == "alternate") and { "/limited/item", "/open/item" } or { "/item" }
  path_count = #paths
  for p, path in ipairs(paths) do
    built[p] = {}
    for k = 1, key_count do
      built[p][k] = wrk.format("GET", path, { ["X-Api-Key"] = "key-" .. (k - 1) })
    end
  end
  -- The same key sequence in every run, for every proxy.
  math.randomseed(42)
end

function request()
  turn = turn % path_count + 1
  return built[turn][math.random(key_count)]
end

-- Latencies are in microseconds; the line is in milliseconds. Non-2xx/3xx
-- answers (the refusals) are summary.errors.status: no response() callback,
-- which would slow wrk down.
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_s":%.6f,"requests_per_s":%.1f,"p50_ms":%.3f,"p99_ms":%.3f,"p999_ms":%.3f,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d,"status":%d}}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1e3, latency:percentile(99) / 1e3, latency:percentile(99.9) / 1e3,
    e.connect, e.read, e.write, e.timeout, e.status))
end
