-- wrk script: create_inst with a unique bk_inst_name and serial per request, counting answers
-- whose envelope says result:true so failures are never mistaken for throughput.
counter = 0
thread_no = 0
ok, failed = 0, 0
local threads = {}

function setup(thread)
  thread:set("thread_no", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  auth = os.getenv("BENCH_AUTH")
  -- Runs against one server that must not collide with each other's names set BENCH_PREFIX.
  prefix = os.getenv("BENCH_PREFIX") or "i"
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"bk_obj_id":"bench","bk_inst_name":"%s-%d-%d","serial":"%s-%d-%d"}',
    prefix, thread_no, counter, prefix, thread_no, counter)
  return wrk.format("POST", "/api/c/compapi/v2/cc/create_inst/",
    {["Content-Type"] = "application/json", ["X-Bkapi-Authorization"] = auth}, body)
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
