-- list.lua - GET $BENCH_PATH as an owner picked at random from the lines of
-- $IDENTS (identity tokens, as Terrakube's UI sends them).  Lists are
-- rate-limited per owner and per worker, so a list case needs many owners.
-- With DELAY_MS each connection waits that long between requests: a load
-- offered at a fixed pace, whose latency is the figure.
local idents = {}
for line in io.lines(os.getenv("IDENTS")) do idents[#idents + 1] = "Bearer " .. line end
local path = os.getenv("BENCH_PATH")
local pause = tonumber(os.getenv("DELAY_MS") or "")
math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))

request = function()
  return wrk.format("GET", path, { ["Authorization"] = idents[math.random(#idents)] })
end

if pause then
  delay = function() return pause end
end
