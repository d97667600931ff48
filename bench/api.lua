-- api.lua: wrk script for bench/api.sh: similar-tracks for a random track of
-- the library each time (TRACKS ids from 1), and a one-line summary at the end.
local tracks = tonumber(os.getenv("TRACKS") or "100000")

function setup(thread)
  thread:set("seed", math.random(1, 1000000))
end

function init(args)
  math.randomseed(seed)
end

function request()
  return wrk.format("GET", "/api/faiss/similar-tracks?track_id=" .. math.random(1, tracks) .. "&top_n=5")
end

function done(summary, latency, requests)
  local s = summary.duration / 1e6
  io.write(string.format("RESULT requests=%d errors=%d rps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f\n",
    summary.requests, summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.timeout, summary.requests / s, latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
end
