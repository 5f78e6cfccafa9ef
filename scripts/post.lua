-- wrk script for scripts/load.sh: POSTs one sample body as JSON to the URL given to wrk.
-- The body file is HOOKFLOW_LOAD_BODY (default: the OptiMantra booking sample), relative to the
-- directory wrk runs in (load.sh runs it from the repository root).
local path = os.getenv("HOOKFLOW_LOAD_BODY") or "samples/optimantra/booking.json"
local file = assert(io.open(path, "rb"), "cannot open " .. path)
local body = file:read("*a")
file:close()

wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/json"
