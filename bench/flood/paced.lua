-- wrk script for the legitimate client: one request every DELAY ms per
-- connection (wrk -c1: about 1000/DELAY requests/s, minus the response
-- time), far under any per-source limit. done() prints one JSON line.
--
--   wrk -t1 -c1 -s paced.lua URL -- DELAY
--
-- Latency is from writing the request to the end of the response, in
-- microseconds in wrk, milliseconds in the line.

local delay_ms = 10

function init(args)
  delay_ms = tonumber(args[1]) or delay_ms
end

function delay()
  return delay_ms
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_s":%.6f,"requests_per_s":%.1f,"p50_ms":%.3f,"p99_ms":%.3f,"p999_ms":%.3f,' ..
    '"max_ms":%.3f,"errors":%d}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1e3, latency:percentile(99) / 1e3, latency:percentile(99.9) / 1e3,
    latency.max / 1e3, e.connect + e.read + e.write + e.timeout + e.status))
end
