-- wrk script for every load scenario of bench/run.
--
--   wrk -t1 -c8 -d10s -s bench/scenario.lua http://127.0.0.1:PORT -- SCENARIO TARGETS [LIMIT]
--
-- SCENARIO: healthz | board | tasks | create | move | warm (one pass, then exit)
-- TARGETS:  bench/seed.py's targets.tsv, one line per (organization, user):
--           host, role, access token, big board id, scratch list ids, scratch task ids
-- LIMIT:    stop after this many responses (0: run for the whole duration; `warm`
--           sets its own), then print only the counts and exit
--
-- Each thread walks the (shuffled) targets round-robin from a random start,
-- so requests spread evenly over every organization and user, and each one
-- carries that organization's Host and that user's token. `done` prints one
-- JSON line: request count, duration, socket errors, non-2xx responses (with
-- the first such body), and latency percentiles in microseconds.

local threads = {}
local counter = 0

function setup(thread)
   counter = counter + 1
   thread:set("id", counter)
   table.insert(threads, thread)
end

local function split(s, sep)
   local out = {}
   for piece in string.gmatch(s, "([^" .. sep .. "]+)") do
      table.insert(out, piece)
   end
   return out
end

local scenario, limit
local targets = {}
local pos = 0
responses = 0
non2xx = 0
statuses = {}
first_error = ""

function init(args)
   scenario = args[1]
   limit = tonumber(args[3] or "0") or 0
   for line in io.lines(args[2]) do
      local f = split(line, "\t")
      local t = {
         host = f[1], role = f[2], auth = "Bearer " .. f[3], board = f[4],
         lists = split(f[5], ","), tasks = split(f[6], ","),
      }
      -- Members may move only tasks they created or are assigned: movers are owners and admins.
      if scenario ~= "move" or t.role ~= "member" then
         table.insert(targets, t)
      end
   end
   math.randomseed(os.time() * 1000 + (id or 1))
   pos = math.random(#targets)
   if scenario == "warm" then
      -- One pass: the board of each organization once (fills the query cache,
      -- shared by its users), the task filter once per (organization, user)
      -- (fills the host/user/session/role cache too).
      local seen = {}
      warm_queue = {}
      for _, t in ipairs(targets) do
         local h = { Host = t.host, Authorization = t.auth }
         if not seen[t.host] then
            seen[t.host] = true
            table.insert(warm_queue, wrk.format("GET", "/api/v1/boards/" .. t.board, h))
         end
         table.insert(warm_queue, wrk.format("GET",
            "/api/v1/tasks?board_id=" .. t.board .. "&status=open&priority=high&limit=50", h))
      end
      limit = #warm_queue
      pos = 0
   end
end

local function next_target()
   pos = pos % #targets + 1
   return targets[pos]
end

local function json_headers(t)
   return { Host = t.host, Authorization = t.auth, ["Content-Type"] = "application/json" }
end

local n = 0

function request()
   local t = next_target()
   n = n + 1
   if scenario == "healthz" then
      return wrk.format("GET", "/healthz", { Host = t.host })
   elseif scenario == "board" then
      return wrk.format("GET", "/api/v1/boards/" .. t.board, { Host = t.host, Authorization = t.auth })
   elseif scenario == "tasks" then
      return wrk.format("GET", "/api/v1/tasks?board_id=" .. t.board .. "&status=open&priority=high&limit=50",
         { Host = t.host, Authorization = t.auth })
   elseif scenario == "create" then
      local list = t.lists[math.random(#t.lists)]
      local body = '{"list_id":"' .. list .. '","title":"Bench task ' .. n .. '","priority":"high"}'
      return wrk.format("POST", "/api/v1/tasks", json_headers(t), body)
   elseif scenario == "move" then
      -- Each pass over the targets moves the next two tasks of every organization,
      -- one by its owner, one by its admin: requests in flight never move the same
      -- task (which the API would rightly answer with 409 stale_write).
      local k = math.floor((n - 1) / #targets) * 2 + (t.role == "admin" and 1 or 0)
      local task = t.tasks[k % #t.tasks + 1]
      local list = t.lists[math.random(#t.lists)]
      local body = '{"list_id":"' .. list .. '","position":' .. math.random(0, 15) .. '}'
      return wrk.format("POST", "/api/v1/tasks/" .. task .. "/move", json_headers(t), body)
   elseif scenario == "warm" then
      return warm_queue[(n - 1) % #warm_queue + 1]
   end
   error("unknown scenario " .. tostring(scenario))
end

local function jstr(s)
   return '"' .. string.gsub(string.gsub(s, '\\', '\\\\'), '"', '\\"'):gsub("[%c]", " ") .. '"'
end

function response(status, headers, body)
   responses = responses + 1
   statuses[status] = (statuses[status] or 0) + 1
   if status < 200 or status > 299 then
      non2xx = non2xx + 1
      if first_error == "" then first_error = status .. " " .. string.sub(body or "", 1, 300) end
   end
   if limit > 0 and responses >= limit then
      -- wrk's main thread would sleep out the whole -d duration: print this
      -- thread's counts (run with -t1) and leave at once.
      io.write(string.format('{"limit_reached":true,"requests":%d,"non2xx":%d,"first_error":%s}\n',
         responses, non2xx, jstr(first_error)))
      io.flush()
      os.exit(0)
   end
end


function done(summary, latency, requests)
   local bad, errbody, all_status = 0, "", {}
   for _, thread in ipairs(threads) do
      bad = bad + (thread:get("non2xx") or 0)
      local e = thread:get("first_error") or ""
      if errbody == "" then errbody = e end
      local st = thread:get("statuses") or {}
      for code, count in pairs(st) do
         all_status[code] = (all_status[code] or 0) + count
      end
   end
   local parts = {}
   for code, count in pairs(all_status) do
      table.insert(parts, '"' .. code .. '":' .. count)
   end
   local e = summary.errors
   io.write(string.format(
      '{"requests":%d,"duration_us":%d,"bytes":%d,' ..
      '"socket_errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d},"status_errors":%d,' ..
      '"non2xx":%d,"statuses":{%s},"first_error":%s,' ..
      '"latency_us":{"p50":%d,"p90":%d,"p95":%d,"p99":%d,"max":%d,"mean":%.1f,"stdev":%.1f}}\n',
      summary.requests, summary.duration, summary.bytes,
      e.connect, e.read, e.write, e.timeout, e.status,
      bad, table.concat(parts, ","), jstr(errbody),
      latency:percentile(50), latency:percentile(90), latency:percentile(95), latency:percentile(99),
      latency.max, latency.mean, latency.stdev))
end
