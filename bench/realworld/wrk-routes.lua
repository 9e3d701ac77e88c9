-- wrk script for bench/realworld.mjs: one request per route from $BENCH_ROUTES_FILE (lines
-- METHOD<TAB>PATH<TAB>CONTENT-TYPE<TAB>BODY, "\n" in BODY standing for a newline, no content type: no body),
-- sent round-robin, so c connections spread over every route. Stops after $BENCH_MAX_REQUESTS responses
-- (a count bound on top of wrk's -d) and prints `BENCHJSON {...}` from done(), as bench/lib/wrk.lua does;
-- "errors" counts wrk's socket errors and answers with a status above 399.
local reqs = {}
local idx = 0
local max_requests = tonumber(os.getenv("BENCH_MAX_REQUESTS") or "") or 1000000
local count = 0

function init(args)
  for line in io.lines(os.getenv("BENCH_ROUTES_FILE")) do
    local method, path, ctype, body = line:match("^(%S+)\t(%S+)\t(%S*)\t(.*)$")
    local headers = { ["Accept"] = "application/json" }
    if ctype ~= "" then
      headers["Content-Type"] = ctype
      body = body:gsub("\\n", "\n")
    else
      body = nil
    end
    reqs[#reqs + 1] = wrk.format(method, path, headers, body)
  end
end

function request()
  idx = idx % #reqs + 1
  return reqs[idx]
end

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
