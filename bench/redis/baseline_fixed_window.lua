-- The per-request script of the fixed-window baseline (bench/redis/run.sh):
-- what Kong's rate-limiting plugin (policy "redis", sync_rate -1: counted in
-- Redis on every request) sends for each request and each period it limits,
-- restated. The caller sends this text with EVAL every time, as Kong does.
--
-- KEYS[1]: the window's counter (its name holds the window's start).
-- ARGV[1]: the window's expiry in seconds.
-- Reply: the count before this request; the caller refuses the request when
-- it is at the limit already (the request is counted all the same).
local count = redis.call("INCR", KEYS[1])
if count == 1 then redis.call("EXPIRE", KEYS[1], ARGV[1]) end
return count - 1
