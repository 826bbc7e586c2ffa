-- Shared part of the wrk scripts: counts answers whose envelope says result:true (so failures
-- are never mistaken for throughput) and prints the totals and latency percentiles the bench
-- scripts read. Loaded with dofile() by a request script; wrk runs from the repository root.
ok, failed = 0, 0
local threads = {}

function setup(thread)
  thread:set("thread_no", #threads + 1)
  table.insert(threads, thread)
end

function response(status, headers, body)
  if status == 200 and string.find(body, '"result":true', 1, true) then
    ok = ok + 1
  else
    failed = failed + 1
  end
end

function done(summary, latency, requests)
  local total_ok, total_failed = 0, 0
  for _, t in ipairs(threads) do
    total_ok = total_ok + t:get("ok")
    total_failed = total_failed + t:get("failed")
  end
  io.write(string.format("RESULT ok=%d failed=%d\n", total_ok, total_failed))
  io.write(string.format("LATENCY p50_us=%d p99_us=%d\n", latency:percentile(50), latency:percentile(99)))
end
