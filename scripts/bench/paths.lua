-- wrk script for scripts/bench.sh: GETs the paths listed in BENCH_PATHS (one a line, e.g.
-- /api/contacts/ID), in turn, round and round.
local path = assert(os.getenv("BENCH_PATHS"), "set BENCH_PATHS to a file of paths")
local paths = {}
for line in assert(io.open(path, "r"), "cannot open " .. path):lines() do
  if line ~= "" then
    paths[#paths + 1] = line
  end
end
assert(#paths > 0, path .. " holds no paths")

local i = 0
function request()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
