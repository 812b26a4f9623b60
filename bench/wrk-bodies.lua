-- wrk script for the listener benchmarks: sends distinct, correctly signed events, pre-formatted at
-- start so the generator does no per-request work beyond picking the next string.
-- Arguments (after --): <bodies file> [first line, 0-based]
-- The file has one request per line: "<timestamp>\t<signature>\t<event id>\t<JSON body>".
local requests = {}
local count = 0
local next_index = 0

init = function(args)
  local file = assert(io.open(args[1], "rb"))
  for line in file:lines() do
    local timestamp, signature, event_id, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
    if body then
      count = count + 1
      requests[count] = wrk.format("POST", nil, {
        ["Content-Type"] = "application/json",
        ["X-Timestamp"] = timestamp,
        ["X-Signature"] = signature,
        ["X-Event-Id"] = event_id,
      }, body)
    end
  end
  file:close()
  next_index = tonumber(args[2] or "0") or 0
end

request = function()
  next_index = next_index + 1
  if next_index > count then next_index = 1 end
  return requests[next_index]
end

done = function(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    '{"requests":%d,"durationUs":%d,"connectErrors":%d,"readErrors":%d,"writeErrors":%d,"statusErrors":%d,"timeouts":%d,"p50Us":%d,"p99Us":%d}\n',
    summary.requests, summary.duration, errors.connect, errors.read, errors.write, errors.status, errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
