-- wrk script for bench/run.mjs: GET by default, POST with the body from $BENCH_BODY_FILE when set.
-- Stops after $BENCH_MAX_REQUESTS responses (a count bound on top of wrk's -d), and prints one
-- machine-readable line `BENCHJSON {...}` (latencies in ms) from done().
local body_file = os.getenv("BENCH_BODY_FILE")
if body_file and body_file ~= "" then
  local f = assert(io.open(body_file, "rb"))
  wrk.method = "POST"
  wrk.body = f:read("*a")
  f:close()
  wrk.headers["Content-Type"] = "application/json"
end
wrk.headers["Accept"] = "application/json"
local max_requests = tonumber(os.getenv("BENCH_MAX_REQUESTS") or "") or 1000000
local count = 0
local non2xx = 0
function response(status, headers, body)
  count = count + 1
  if count >= max_requests then wrk.thread:stop() end
end
function done(summary, latency, requests)
  local e = summary.errors
  local secs = summary.duration / 1e6
  io.write(string.format(
    'BENCHJSON {"requests":%d,"duration_s":%.6f,"rps":%.3f,"p50_ms":%.4f,"p99_ms":%.4f,"errors":%d}\n',
    summary.requests, secs, summary.requests / secs, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    e.connect + e.read + e.write + e.status + e.timeout))
end
