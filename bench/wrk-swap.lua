-- wrk script for bench/swap.sh: GET /v1/suggest with prefixes (1 to 4 characters) of the
-- bundled data's names, recording every response's status and the index version that
-- answered it (the body's `version`).
--
--   wrk -s bench/wrk-swap.lua http://127.0.0.1:PORT -- DATA.tsv
--
-- done() prints `swap-wrk KEY VALUE...` lines for swap.sh: requests, responses, non2xx,
-- status CODE COUNT, unversioned (2xx bodies without a version), version V COUNT,
-- errors connect|read|write|timeout N, latency_us p50|p99|max N.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

local function url_encode(s)
  return (s:gsub("[^%w%-%._~]", function(c)
    return string.format("%%%02X", string.byte(c))
  end))
end

-- The first `n` UTF-8 characters of `s` (never a cut sequence: the worker answers 400 to
-- invalid UTF-8).
local function first_chars(s, n)
  local out, count = {}, 0
  for char in s:gmatch("[%z\1-\127\194-\244][\128-\191]*") do
    count = count + 1
    if count > n then
      break
    end
    table.insert(out, char)
  end
  return table.concat(out)
end

local paths = {}

function init(args)
  local data = args[1]
  if data == nil then
    error("usage: wrk -s wrk-swap.lua URL -- DATA.tsv")
  end
  for line in io.lines(data) do
    local name = line:match("^([^\t]+)")
    if name ~= nil then
      local q = first_chars(name, #paths % 4 + 1)
      table.insert(paths, "/v1/suggest?k=10&q=" .. url_encode(q))
    end
    if #paths == 2000 then
      break
    end
  end
  if #paths == 0 then
    error("no names in " .. data)
  end
end

-- Per thread, read by done() through thread:get: globals.
statuses = {}
versions = {}
non2xx = 0
unversioned = 0

local i = 0
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    return
  end
  local v = body and body:match('"version":(%d+)')
  if v == nil then
    unversioned = unversioned + 1
  else
    versions[v] = (versions[v] or 0) + 1
  end
end

local function add_into(total, part)
  for k, v in pairs(part) do
    total[k] = (total[k] or 0) + v
  end
end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do
    table.insert(keys, k)
  end
  table.sort(keys, function(a, b)
    return tonumber(a) < tonumber(b)
  end)
  return keys
end

function done(summary, latency, requests)
  local all_statuses, all_versions, bad, unv, responses = {}, {}, 0, 0, 0
  for _, thread in ipairs(threads) do
    add_into(all_statuses, thread:get("statuses"))
    add_into(all_versions, thread:get("versions"))
    bad = bad + thread:get("non2xx")
    unv = unv + thread:get("unversioned")
  end
  local out = function(...)
    io.write("swap-wrk " .. table.concat({ ... }, " ") .. "\n")
  end
  out("requests", summary.requests)
  for _, status in ipairs(sorted_keys(all_statuses)) do
    responses = responses + all_statuses[status]
    out("status", status, all_statuses[status])
  end
  out("responses", responses)
  out("non2xx", bad)
  out("unversioned", unv)
  for _, v in ipairs(sorted_keys(all_versions)) do
    out("version", v, all_versions[v])
  end
  for _, kind in ipairs({ "connect", "read", "write", "timeout" }) do
    out("errors", kind, summary.errors[kind])
  end
  out("latency_us", "p50", latency:percentile(50))
  out("latency_us", "p99", latency:percentile(99))
  out("latency_us", "max", latency.max)
end
