-- create.lua - POST $BENCH_PATH (/pat/v1) as the owners whose identity
-- tokens are the lines of $IDENTS, in turn from a random start, each with a
-- description no other request uses.  Owners are many so that none reaches
-- the cap (max_tokens_per_user) in a run; the harness deletes their rows
-- after each run.
local idents = {}
for line in io.lines(os.getenv("IDENTS")) do idents[#idents + 1] = "Bearer " .. line end
local path = os.getenv("BENCH_PATH") or "/pat/v1"
math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
local tag = tostring(math.random(1, 1e9))
local n = math.random(#idents)

request = function()
  n = n + 1
  return wrk.format("POST", path,
    { ["Authorization"] = idents[n % #idents + 1], ["Content-Type"] = "application/json" },
    '{"days": 30, "description": "bench ' .. tag .. ' ' .. n .. '"}')
end
