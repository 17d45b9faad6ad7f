-- wrk script for the Portcullis bench.
--   BENCH_BODY     file holding the request body (POSTed to the URL's path)
--   BENCH_HEADERS  extra headers, "name: value" separated by newlines
--   BENCH_RATE     requests per second for the whole run (0 or unset: as fast as possible).
--                  One shared schedule hands each connection the next free slot, so the rate
--                  holds as long as a request takes less than connections / rate seconds;
--                  latency is measured from the actual send, not from the slot.
-- Prints one JSON line prefixed with BENCH_JSON at the end.
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk_id, bench_timespec *tp);
]]
local ts = ffi.new("bench_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

local f = assert(io.open(os.getenv("BENCH_BODY"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
for line in string.gmatch(os.getenv("BENCH_HEADERS") or "", "[^\n]+") do
  local name, value = string.match(line, "^%s*([^:]+):%s*(.-)%s*$")
  if name then wrk.headers[name] = value end
end

local rate = tonumber(os.getenv("BENCH_RATE") or "0") or 0
if rate > 0 then
  local interval = 1000 / rate
  local next_slot = nil
  function delay()
    local t = now_ms()
    if next_slot == nil or next_slot < t then next_slot = t end
    local wait = next_slot - t
    next_slot = next_slot + interval
    return math.floor(wait + 0.5)
  end
end

-- The latency distribution as a quantile grid (µs at 0.1 % steps, then 0.01 % steps above 99.9),
-- so that several runs can be merged into one distribution (measure.merge).
function done(summary, latency, requests)
  local grid = {}
  for i = 1, 999 do grid[#grid + 1] = latency:percentile(i / 10) end
  for i = 1, 9 do grid[#grid + 1] = latency:percentile(99.9 + i / 100) end
  grid[#grid + 1] = latency.max
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_min_us":%d,"latency_grid_us":[%s]}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, table.concat(grid, ",")))
end
