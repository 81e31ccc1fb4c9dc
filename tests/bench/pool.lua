-- pool.lua - GET wrk's path with a bearer token picked at random from $POOL.
local tokens = {}
for line in io.lines(os.getenv("POOL")) do tokens[#tokens + 1] = "Bearer " .. line end
local path = os.getenv("BENCH_PATH")
math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))

request = function()
  return wrk.format("GET", path, { ["Authorization"] = tokens[math.random(#tokens)] })
end
