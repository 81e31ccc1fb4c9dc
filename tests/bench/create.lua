-- create.lua - POST /pat/v1 as $IDENT, each with a description no other request uses.
local ident = "Bearer " .. os.getenv("IDENT")
local tag = tostring(math.random(1, 1e9)) .. tostring({}):sub(8)
local n = 0

request = function()
  n = n + 1
  return wrk.format("POST", "/pat/v1",
    { ["Authorization"] = ident, ["Content-Type"] = "application/json" },
    '{"days": 30, "description": "bench ' .. tag .. ' ' .. n .. '"}')
end
