-- The per-request script of the token-bucket baseline (bench/redis/run.sh):
-- what Traefik's Redis rate limiter asks Redis for every request, restated.
-- One call per request, refused or not; the bucket is read, refilled for the
-- time since its last use, one token taken (given back when the wait for it
-- would be longer than the caller accepts), and written back with its expiry.
--
-- KEYS[1]: the bucket, a hash {last, tokens}.
-- ARGV: rate (tokens per microsecond), burst, TTL (s), now (microseconds),
--       longest wait the caller accepts (microseconds).
-- Reply: {"true", wait in microseconds, tokens left}: the caller admits the
-- request when the wait is at most its longest wait.
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])
local now = tonumber(ARGV[4])
local longest_wait = tonumber(ARGV[5])

-- A bucket never seen is empty and was last used at time 0: refilled for
-- all that time, it starts full.
local last, tokens = 0, 0
local fields = redis.call("HGETALL", KEYS[1])
if #fields == 4 then
    for i = 1, 3, 2 do
        if fields[i] == "last" then
            last = tonumber(fields[i + 1])
        else
            tokens = tonumber(fields[i + 1])
        end
    end
end
if now < last then last = now end

tokens = math.min(tokens + rate * (now - last), burst) - 1
local wait = 0
if tokens < 0 then
    wait = -tokens / rate
    if wait > longest_wait then tokens = math.min(tokens + 1, burst) end
end

redis.call("HSET", KEYS[1], "last", now, "tokens", tokens)
redis.call("EXPIRE", KEYS[1], ttl)
return {"true", tostring(wait), tostring(tokens)}
