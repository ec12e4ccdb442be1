-- wrk script: replays pre-generated requests, each exactly once (unless wrap=1, for baselines).
-- Args: <requests file> <threads> <wrap 0|1>. File: one request a line, tab-separated:
-- METHOD, path, body ("-" for none), then "Name: value" headers.
-- Each thread takes every <threads>-th line; when a thread has sent all of its lines it stops.
-- done() prints one line "BENCH {json}" the Python side parses.

local threads = {}
local counter = 0

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local file, nthreads, wrapflag = args[1], tonumber(args[2]), args[3]
  wrap = wrapflag == "1"
  reqs = {}
  local i = 0
  for line in io.lines(file) do
    if i % nthreads == tid then
      local fields = {}
      for f in string.gmatch(line, "[^\t]+") do table.insert(fields, f) end
      local headers = {}
      for k = 4, #fields do
        local name, value = string.match(fields[k], "^([^:]+): (.*)$")
        headers[name] = value
      end
      local body = fields[3]
      if body == "-" then body = nil end
      table.insert(reqs, wrk.format(fields[1], fields[2], headers, body))
    end
    i = i + 1
  end
  idx = 0
  -- wrk (4.1) calls request() once more on the first thread, right after init(), only to look at
  -- the request (script_verify_request): that call must neither consume a line nor count as sent
  -- (it did: one event per run was counted as sent, never sent).
  verify_pending = tid == 0
  sent = 0
  ok = 0
  bad = 0
  exhausted = 0
  bad_status = 0
end

function request()
  if verify_pending then
    verify_pending = false
    return reqs[1] or wrk.format("GET", "/bench/bare", {["X-Forwarded-Proto"] = "https", ["Host"] = "127.0.0.1"})
  end
  idx = idx + 1
  if idx > #reqs then
    if wrap then
      idx = 1
    else
      -- Nothing left: a harmless GET the response() below does not count, then stop. With the
      -- proxy's headers, or HTTPS_ONLY answers it with a redirect instead of the "ok" it expects.
      exhausted = exhausted + 1
      return wrk.format("GET", "/bench/bare", {["X-Forwarded-Proto"] = "https", ["Host"] = "127.0.0.1"})
    end
  end
  sent = sent + 1
  return reqs[idx]
end

function response(status, headers, body)
  if not wrap and body == "ok" then
    -- the answer to a filler GET: every real request has been sent
    if ok + bad >= sent then wrk.thread:stop() end
    return
  end
  if status >= 200 and status < 300 then ok = ok + 1 else bad = bad + 1; bad_status = status end
  if exhausted > 0 and ok + bad >= sent then wrk.thread:stop() end
end

function done(summary, latency, requests)
  local ok_total, bad_total, sent_total, bad_status_any = 0, 0, 0, 0
  for _, t in ipairs(threads) do
    ok_total = ok_total + t:get("ok")
    bad_total = bad_total + t:get("bad")
    sent_total = sent_total + t:get("sent")
    if t:get("bad_status") ~= 0 then bad_status_any = t:get("bad_status") end
  end
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "ok": %d, "bad": %d, "sent": %d, ' ..
    '"p50_us": %d, "p99_us": %d, "max_us": %d, "errors_connect": %d, "errors_read": %d, ' ..
    '"errors_write": %d, "errors_timeout": %d, "errors_status": %d, "bad_status": %d}\n',
    summary.requests, summary.duration, ok_total, bad_total, sent_total,
    latency:percentile(50), latency:percentile(99), latency.max,
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout,
    summary.errors.status, bad_status_any))
end
