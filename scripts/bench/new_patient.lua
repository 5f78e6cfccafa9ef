-- wrk script for scripts/bench.sh: an OptiMantra booking of a NEW patient per request (unique
-- email, phone, name and appointment id), so every run creates a contact and sends one email.
-- From the environment: BENCH_THREADS (wrk's -t) and BENCH_BASE (the first index; bench.sh moves
-- it on between wrk runs so that no patient comes twice).
local threads = tonumber(os.getenv("BENCH_THREADS") or "2")
local base = tonumber(os.getenv("BENCH_BASE") or "0")

local first = { "Jane", "Omar", "Priya", "Lucas", "Mei", "Aiden", "Fatima", "Noah", "Chloe",
  "Mateo", "Sofia", "Ethan", "Amara", "Liam", "Yuki", "Zoe" }
local last = { "Doe", "Nguyen", "Patel", "Garcia", "Okafor", "Smith", "Kowalski", "Haddad",
  "Rossi", "Kim", "Johnson", "Dubois", "Silva", "Cohen", "Moreau", "Tanaka", "Ali" }
-- Valid US area codes; each gives 8 million numbers (exchanges 200-999).
local areas = { "212", "646", "718", "917", "347", "415", "310", "312", "617", "202", "305",
  "404", "503", "206", "512", "702" }

local next_tid = 0
function setup(thread)
  thread:set("tid", next_tid)
  next_tid = next_tid + 1
end

local n = 0
function request()
  -- Threads interleave: thread t of T takes indexes base + t, base + t + T, …
  local idx = base + n * threads + tid
  n = n + 1
  local fname = first[idx % #first + 1]
  local lname = last[math.floor(idx / #first) % #last + 1]
  local phone = string.format("+1%s%07d", areas[math.floor(idx / 8000000) % #areas + 1],
    2000000 + idx % 8000000)
  local body = string.format(
    '{"firstName":"%s","lastName":"%s","email":"%s.%s.%d@example.com","phone":"%s",'
      .. '"dateOfBirth":"1988-04-17","appointmentId":"OM-%d","appointmentDate":"2026-12-03",'
      .. '"appointmentTime":"10:30 AM","appointmentType":"Initial Naturopathic Consultation (60 min)",'
      .. '"practitioner":"Dr. Maya Chen, ND",'
      .. '"location":"Bayview Integrative Health, 2150 Lombard St, San Francisco, CA",'
      .. '"bookedOnline":true,"status":"Booked"}',
    fname, lname, string.lower(fname), string.lower(lname), idx, phone, idx)
  return wrk.format("POST", nil, { ["Content-Type"] = "application/json" }, body)
end

