-- wrk script: GET /v1/suggest with the benchmark suite's prefix queries.
--
--   wrk -s bench/wrk-suggest.lua http://127.0.0.1:PORT -- QUERIES.tsv
--
-- QUERIES.tsv is the `queries.tsv` that bench/native.rs writes for a data set (kind, length,
-- query, exact top-10 keys; drawn with a fixed seed). Only the `prefix` rows are used,
-- interleaved by length (1, 2, ..., 6, 1, 2, ...) so that every length is in the mix from the
-- first request on; each thread cycles through them in that same order.

local queries = {}

local function url_encode(s)
  return (s:gsub("[^%w%-%._~]", function(c)
    return string.format("%%%02X", string.byte(c))
  end))
end

function init(args)
  -- args[0] is the URL; the script's own arguments follow `--`.
  local path = args[1]
  if path == nil then
    error("usage: wrk -s wrk-suggest.lua URL -- QUERIES.tsv")
  end
  local by_length, lengths = {}, {}
  for line in io.lines(path) do
    local kind, length, text = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)")
    if kind == "prefix" then
      length = tonumber(length)
      if by_length[length] == nil then
        by_length[length] = {}
        table.insert(lengths, length)
      end
      table.insert(by_length[length], url_encode(text))
    end
  end
  table.sort(lengths)
  local round = 1
  repeat
    local added = false
    for _, length in ipairs(lengths) do
      local q = by_length[length][round]
      if q ~= nil then
        table.insert(queries, q)
        added = true
      end
    end
    round = round + 1
  until not added
  if #queries == 0 then
    error("no prefix queries in " .. path)
  end
end

local i = 0
request = function()
  i = i % #queries + 1
  return wrk.format("GET", "/v1/suggest?k=10&q=" .. queries[i])
end
