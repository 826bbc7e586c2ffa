-- wrk script: create_inst with a unique bk_inst_name and serial per request.
dofile("scripts/bench.d/envelopes.lua")
counter = 0
thread_no = 0

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
