-- wrk script: search_inst with an equality filter on the indexed attribute `serial`, picking a
-- random one of the BENCH_POPULATION serials `p-0` .. `p-(N-1)` created beforehand.
ok, failed = 0, 0
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  auth = os.getenv("BENCH_AUTH")
  population = tonumber(os.getenv("BENCH_POPULATION") or "1")
  math.randomseed(os.time() + (tonumber(tostring({}):match("0x(%x+)"), 16) or 0))
end

function request()
  local serial = string.format("p-%d", math.random(0, population - 1))
  local body = '{"bk_obj_id":"bench","page":{"start":0,"limit":10},"condition":{"bench":[{"field":"serial","operator":"$eq","value":"' .. serial .. '"}]}}'
  return wrk.format("POST", "/api/c/compapi/v2/cc/search_inst/",
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
