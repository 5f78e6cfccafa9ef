-- wrk script for scripts/heap_profile.sh: new_patient.lua's bookings, but each wrk thread stops
-- after BENCH_MAX answers, so that two runs do the same work whatever the machine's speed (a
-- peak of memory follows how many bookings were taken, not how long the load lasted). Kept
-- apart from new_patient.lua: a `response` function makes wrk read every answer in Lua, which
-- would slow the client bench.sh measures with.
dofile("scripts/bench/new_patient.lua")

local max = tonumber(os.getenv("BENCH_MAX") or "0")
local answered = 0

function response(status, headers, body)
  answered = answered + 1
  if max > 0 and answered >= max then
    wrk.thread:stop()
  end
end
