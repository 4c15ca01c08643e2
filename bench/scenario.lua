-- wrk script for every load scenario of bench/run.
--
--   wrk -t1 -c8 -d10s -s bench/scenario.lua http://127.0.0.1:PORT -- SCENARIO TARGETS [LIMIT [ACCEPT_ENCODING]]
--
-- SCENARIO: floor | healthz | org | board | tasks | create | move
--           | board_write | board_after_write | warm (one pass, then exit)
-- TARGETS:  bench/seed.py's targets.tsv, one line per (organization, user):
--           host, role, access token, big board id, scratch list ids, scratch task ids,
--           big board task ids (one per list)
-- LIMIT:    stop after this many responses (0: run for the whole duration; `warm`
--           sets its own), then print only the counts and exit
-- ACCEPT_ENCODING: sent as Accept-Encoding on every GET ("" or "-": none)
--
-- Each thread walks the (shuffled) targets round-robin from a random start,
-- so requests spread evenly over every organization and user, and each one
-- carries that organization's Host and that user's token. `done` prints one
-- JSON line: request count, duration, bytes, socket errors, non-2xx responses
-- (with the first such body), latency percentiles in microseconds, and for
-- `board_after_write` the reads and writes answered.
--
-- board_write: PATCH /tasks/{id} (a new title) on one of the big board's tasks
-- (owners and admins). board_after_write: the same writes, and after each
-- write's response a GET of that board, issued before any new write: every read
-- comes right after a write to its board, so it always meets a stale rendered
-- copy (with 1,000 organizations and 8 connections two writes to one board are
-- rarely in flight together; with 10 they can be, and a read may then find the
-- copy the previous read rendered).

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

local scenario, limit, accept_encoding
local targets = {}
local by_task = {}    -- big board task id -> target (board_after_write)
local pending = {}    -- targets whose write was answered: their board is read next
local pos = 0
responses = 0
reads = 0
writes = 0
non2xx = 0
statuses = {}
first_error = ""

function init(args)
   scenario = args[1]
   limit = tonumber(args[3] or "0") or 0
   accept_encoding = args[4] or ""
   if accept_encoding == "-" then accept_encoding = "" end
   local writers_only = scenario == "move" or scenario == "board_write" or scenario == "board_after_write"
   for line in io.lines(args[2]) do
      local f = split(line, "\t")
      local t = {
         host = f[1], role = f[2], auth = "Bearer " .. f[3], board = f[4],
         lists = split(f[5], ","), tasks = split(f[6], ","),
         big_tasks = f[7] and split(f[7], ",") or {},
      }
      -- Members may change only tasks they created or are assigned: writers of
      -- existing tasks are owners and admins.
      if not writers_only or t.role ~= "member" then
         table.insert(targets, t)
         for _, task in ipairs(t.big_tasks) do by_task[task] = t end
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

local n = 0

local function next_target()
   pos = pos % #targets + 1
   return targets[pos]
end

local function json_headers(t)
   return { Host = t.host, Authorization = t.auth, ["Content-Type"] = "application/json" }
end

local function get_headers(t, auth)
   local h = { Host = t.host }
   if auth then h.Authorization = t.auth end
   if accept_encoding ~= "" then h["Accept-Encoding"] = accept_encoding end
   return h
end

local function board_write(t)
   -- A new title on one of the big board's tasks: the board keeps its shape
   -- (10 x 50) and its size, and its rendered copy goes stale.
   local task = t.big_tasks[math.random(#t.big_tasks)]
   local body = '{"title":"Task ' .. n .. ': write the thing"}'
   return wrk.format("PATCH", "/api/v1/tasks/" .. task, json_headers(t), body)
end

function request()
   local t = next_target()
   n = n + 1
   if scenario == "healthz" then
      return wrk.format("GET", "/healthz", get_headers(t, false))
   elseif scenario == "floor" then
      return wrk.format("GET", "/hello", get_headers(t, false))
   elseif scenario == "org" then
      return wrk.format("GET", "/api/v1/org", get_headers(t, true))
   elseif scenario == "board" then
      return wrk.format("GET", "/api/v1/boards/" .. t.board, get_headers(t, true))
   elseif scenario == "tasks" then
      return wrk.format("GET", "/api/v1/tasks?board_id=" .. t.board .. "&status=open&priority=high&limit=50",
         get_headers(t, true))
   elseif scenario == "board_write" then
      return board_write(t)
   elseif scenario == "board_after_write" then
      local due = table.remove(pending, 1)
      if due then
         pos = pos - 1  -- this call did not use its target: the next write takes it
         return wrk.format("GET", "/api/v1/boards/" .. due.board, get_headers(due, true))
      end
      return board_write(t)
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
   if scenario == "board_after_write" and status >= 200 and status <= 299 then
      -- A write answers its task (TaskOut, "id" first); a read answers the board
      -- (its own id first, or a compressed body): only writes match a task.
      local id = body and #body < 16384 and string.match(body, '^%s*{%s*"id"%s*:%s*"([%x%-]+)"')
      local t = id and by_task[id]
      if t then
         writes = writes + 1
         table.insert(pending, t)
      else
         reads = reads + 1
      end
   end
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
   local bad, errbody, all_status, n_reads, n_writes = 0, "", {}, 0, 0
   for _, thread in ipairs(threads) do
      bad = bad + (thread:get("non2xx") or 0)
      n_reads = n_reads + (thread:get("reads") or 0)
      n_writes = n_writes + (thread:get("writes") or 0)
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
      '"non2xx":%d,"statuses":{%s},"first_error":%s,"reads":%d,"writes":%d,' ..
      '"latency_us":{"p50":%d,"p90":%d,"p95":%d,"p99":%d,"max":%d,"mean":%.1f,"stdev":%.1f}}\n',
      summary.requests, summary.duration, summary.bytes,
      e.connect, e.read, e.write, e.timeout, e.status,
      bad, table.concat(parts, ","), jstr(errbody), n_reads, n_writes,
      latency:percentile(50), latency:percentile(90), latency:percentile(95), latency:percentile(99),
      latency.max, latency.mean, latency.stdev))
end
