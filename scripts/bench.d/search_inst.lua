-- wrk script: search_inst with an equality filter on the indexed attribute `serial`, picking a
-- random one of the BENCH_POPULATION serials `p-0` .. `p-(N-1)` created beforehand.
dofile("scripts/bench.d/envelopes.lua")

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
