-- wrk script of `pulse bench flash-sale`: every request holds one random seat of a ROWS x COLS venue
-- as one of many users, the same way for every target.
--   BENCH_MODE   pulse: POST /api/v1/events/<event>/holds {"seatIds":[seat]} with a bearer token
--                peer:  POST /api/events/<event>/lock {"seatId":seat,"userId":user}
--   BENCH_EVENT  the event id; BENCH_TOKENS a file of tokens, one per line (pulse); BENCH_USERS (peer)
--   BENCH_ROWS, BENCH_COLS (26, 50)
-- At the end it prints one line: `statuses 2xx=N 4xx=N 5xx=N other=N`.
local mode = os.getenv("BENCH_MODE") or "pulse"
local event = os.getenv("BENCH_EVENT")
local rows = tonumber(os.getenv("BENCH_ROWS") or "26")
local cols = tonumber(os.getenv("BENCH_COLS") or "50")
local users = tonumber(os.getenv("BENCH_USERS") or "200")
local letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
local tokens = {}
local threads = {}

if mode == "pulse" then
  for line in io.lines(os.getenv("BENCH_TOKENS")) do
    if #line > 0 then tokens[#tokens + 1] = line end
  end
end

function setup(thread)
  thread:set("id", #threads + 1)
  threads[#threads + 1] = thread
end

function init(args)
  math.randomseed(id * 7919)
  counts = { ["2"] = 0, ["4"] = 0, ["5"] = 0, other = 0 }
end

function request()
  local row = math.random(1, rows)
  local seat = letters:sub(row, row) .. math.random(1, cols)
  if mode == "pulse" then
    local token = tokens[math.random(1, #tokens)]
    return wrk.format("POST", "/api/v1/events/" .. event .. "/holds",
      { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token },
      '{"seatIds":["' .. seat .. '"]}')
  end
  return wrk.format("POST", "/api/events/" .. event .. "/lock", { ["Content-Type"] = "application/json" },
    '{"seatId":"' .. seat .. '","userId":"u' .. math.random(1, users) .. '"}')
end

function response(status, headers, body)
  local class = tostring(status):sub(1, 1)
  if counts[class] then counts[class] = counts[class] + 1 else counts.other = counts.other + 1 end
end

function done(summary, latency, requests)
  local total = { ["2"] = 0, ["4"] = 0, ["5"] = 0, other = 0 }
  for _, thread in ipairs(threads) do
    local c = thread:get("counts")
    for k, v in pairs(c) do total[k] = total[k] + v end
  end
  io.write(string.format("statuses 2xx=%d 4xx=%d 5xx=%d other=%d\n", total["2"], total["4"], total["5"], total.other))
end
