-- Sluice's quota step in Redis: limit/algorithms.cpp and LocalStore::acquire
-- in Lua, so that every host of a fleet counts on one state, exactly as the
-- local store does, in one round trip.
--
-- Lua numbers are doubles: integers are exact below 2^53. Times are therefore
-- kept relative to now, in nanoseconds, from 0 (now or earlier: the algorithms
-- treat every past time alike) to 2^53 (the Redis store refuses quotas whose
-- spans reach past 2^52 ns, 52 days). The products of counts and times that
-- the sliding window needs (beyond 2^53) are compared exactly in limbs.
--
-- ARGV[1]: "check", "refund" or "peek". ARGV[2]: the clock, "redis" (TIME, so that hosts'
-- clocks do not matter) or "<seconds> <nanoseconds>" (tests replay exact times).
-- check: KEYS are the request's keys; ARGV from 3 holds 7 values per key:
--   algorithm (0 token bucket, 1 fixed window, 2 sliding window), limit,
--   interval, emission, capacity, block interval, enforce (1 or 0).
--   Reply: {admitted (1/0), then per key: allowed, remaining, reset, retry_after}.
--   All or nothing: if an enforcing key refuses, no key is consumed.
-- peek: KEYS[1]; reply {time, hold_until, current, previous, blocked}, times
--   relative to now.
-- A state is stored as "<time s> <time ns> <hold s> <hold ns> <current>
-- <previous> <blocked>" (absolute times; "0 0" is the past) with an expiry at
-- the time it becomes equal to a fresh one.

local BILLION = 1000000000

-- Keys expire on Redis's clock. The caller's clock need not run with it, so
-- its keys are kept at least a minute (a state that outlives its use is
-- equal to a fresh one).
local now_s, now_ns, min_ttl_ms
if ARGV[2] == "redis" then
    local t = redis.call("TIME")
    now_s, now_ns, min_ttl_ms = tonumber(t[1]), tonumber(t[2]) * 1000, 1
else
    local s, ns = string.match(ARGV[2], "^(%d+) (%d+)$")
    now_s, now_ns, min_ttl_ms = tonumber(s), tonumber(ns), 60000
end

local function relative(s, ns)
    local rel = (s - now_s) * BILLION + (ns - now_ns)
    if rel < 0 then return 0 end
    return rel
end

local function absolute(rel)
    if rel <= 0 then return "0 0" end
    local ns = now_ns + rel % BILLION
    local s = now_s + (rel - rel % BILLION) / BILLION
    if ns >= BILLION then s, ns = s + 1, ns - BILLION end
    return string.format("%.0f %.0f", s, ns)
end

local function read_state(key)
    local v = redis.call("GET", key)
    if not v then return {time = 0, hold = 0, current = 0, previous = 0, blocked = 0} end
    local ts, tn, hs, hn, cur, prev, blk = string.match(v, "^(%d+) (%d+) (%d+) (%d+) (%d+) (%d+) ([01])$")
    if not ts then return redis.error_reply("sluice: key " .. key .. " holds no quota state") end
    return {
        time = relative(tonumber(ts), tonumber(tn)),
        hold = relative(tonumber(hs), tonumber(hn)),
        current = tonumber(cur),
        previous = tonumber(prev),
        blocked = tonumber(blk),
    }
end

local function copy(s)
    return {time = s.time, hold = s.hold, current = s.current, previous = s.previous, blocked = s.blocked}
end

local function idle_at(s) return math.max(s.time, s.hold) end

local function write_state(key, s)
    local idle = idle_at(s)
    if idle <= 0 then
        redis.call("DEL", key)
        return
    end
    local value = absolute(s.time) .. " " .. absolute(s.hold) .. " " ..
        string.format("%.0f %.0f %d", s.current, s.previous, s.blocked)
    redis.call("SET", key, value, "PX", string.format("%.0f", math.max(math.ceil(idle / 1000000), min_ttl_ms)))
end

-- Exact products of a count (below 2^31) and a time (below 2^54), as three
-- base-2^22 limbs, each partial product staying below 2^53.
local LIMB = 4194304

local function product(x, y)
    local a, b = math.min(x, y), math.max(x, y)
    local b0 = b % LIMB
    local rest = (b - b0) / LIMB
    local b1 = rest % LIMB
    local b2 = (rest - b1) / LIMB
    local l0 = a * b0
    local c0 = math.floor(l0 / LIMB)
    local l1 = a * b1 + c0
    local c1 = math.floor(l1 / LIMB)
    return a * b2 + c1, l1 - c1 * LIMB, l0 - c0 * LIMB
end

-- The sign of a*b - c*d.
local function compare_products(a, b, c, d)
    local x2, x1, x0 = product(a, b)
    local y2, y1, y0 = product(c, d)
    if x2 ~= y2 then return x2 < y2 and -1 or 1 end
    if x1 ~= y1 then return x1 < y1 and -1 or 1 end
    if x0 ~= y0 then return x0 < y0 and -1 or 1 end
    return 0
end

-- floor(a*b / d), where a*b and q*d are each a count times a time: a
-- double's guess, then corrected exactly (q*d <= a*b < (q+1)*d).
local function floor_product_div(a, b, d)
    local q = math.floor(a * (b / d))
    while q > 0 and compare_products(d, q, a, b) > 0 do q = q - 1 end
    while compare_products(d, q + 1, a, b) <= 0 do q = q + 1 end
    return q
end

local function ceil_product_div(a, b, d)
    local q = floor_product_div(a, b, d)
    if compare_products(d, q, a, b) < 0 then q = q + 1 end
    return q
end

-- floor(x / d) for integers below 2^53.
local function floor_div(x, d)
    local q = math.floor(x / d)
    if q * d > x then q = q - 1 elseif (q + 1) * d <= x then q = q + 1 end
    return q
end

local function unblocked(s)
    local r = copy(s)
    if r.blocked == 1 then r.blocked, r.hold = 0, 0 end
    return r
end

local function blocked_now(s) return s.blocked == 1 and s.hold > 0 end

local function token_bucket(p, s)
    local e = {allowed = false, next = unblocked(s), remaining = 0, reset = 0, retry_after = 0}
    local new_tat = math.max(s.time, 0) + p.emission
    local allow_at = new_tat - p.capacity
    if allow_at > 0 then
        e.retry_after = allow_at
        e.reset = s.time
        return e
    end
    e.allowed = true
    e.next.time = new_tat
    e.remaining = floor_div(-allow_at, p.emission)
    e.reset = new_tat
    e.next.hold = e.remaining == 0 and allow_at + p.emission or 0
    return e
end

local function fixed_window(p, s)
    local e = {allowed = false, next = unblocked(s), remaining = 0, reset = 0, retry_after = 0}
    if s.time <= 0 then
        e.next.time = p.interval
        e.next.current = 0
    end
    local window_end = e.next.time
    e.reset = window_end
    if e.next.current >= p.limit then
        e.next = copy(s)
        e.retry_after = window_end
        return e
    end
    e.allowed = true
    e.next.current = e.next.current + 1
    e.remaining = p.limit - e.next.current
    e.next.hold = e.remaining == 0 and window_end or 0
    return e
end

local function roll_window(p, s)
    local r = unblocked(s)
    if s.time <= 0 then
        r.time = 2 * p.interval
        r.previous, r.current = 0, 0
    elseif s.time <= p.interval then
        r.time = s.time + p.interval
        r.previous, r.current = s.current, 0
    end
    return r
end

-- Of a rolled state (its time in (interval, 2 interval]): whether one more
-- request fits, k*interval >= previous*left with k = limit - current - 1 and
-- left the part of the previous window still in the sliding one.
local function sliding_fits(p, r)
    local k = p.limit - r.current - 1
    if k < 0 then return false end
    return compare_products(k, p.interval, r.previous, r.time - p.interval) >= 0
end

local function sliding_wait(p, r)
    if sliding_fits(p, r) then return 0 end
    local window_end = r.time - p.interval
    if r.current + 1 <= p.limit and r.previous > 0 then
        local wait = window_end - floor_product_div(p.limit - r.current - 1, p.interval, r.previous)
        if wait < window_end then return wait end
    end
    local over = r.current + 1 - p.limit
    local into_next = 0
    if r.current > 0 and over > 0 then into_next = ceil_product_div(over, p.interval, r.current) end
    return window_end + into_next
end

local function sliding_window(p, s)
    local e = {allowed = false, next = copy(s), remaining = 0, reset = 0, retry_after = 0}
    local r = roll_window(p, s)
    e.reset = r.time
    if not sliding_fits(p, r) then
        e.retry_after = sliding_wait(p, r)
        return e
    end
    e.allowed = true
    e.remaining = p.limit - r.current - 1 - ceil_product_div(r.previous, r.time - p.interval, p.interval)
    e.next = r
    e.next.current = r.current + 1
    e.next.hold = sliding_wait(p, e.next)
    return e
end

local ALGORITHMS = {[0] = token_bucket, [1] = fixed_window, [2] = sliding_window}

local function evaluate(p, s)
    if blocked_now(s) then
        return {allowed = false, next = copy(s), remaining = 0, reset = idle_at(s), retry_after = s.hold}
    end
    return ALGORITHMS[p.algorithm](p, s)
end

if ARGV[1] == "refund" then
    -- A request another slot refused (Redis Cluster), or that was answered
    -- without Redis: what it consumed here is given back. ARGV from 3 holds 2
    -- values per key: algorithm, emission.
    for i, key in ipairs(KEYS) do
        local a = 3 + (i - 1) * 2
        local s = read_state(key)
        if s.err then return s end
        if tonumber(ARGV[a]) == 0 then
            s.time = math.max(s.time - tonumber(ARGV[a + 1]), 0)
        elseif s.current > 0 then
            s.current = s.current - 1
        end
        write_state(key, s)
    end
    return 0
end

if ARGV[1] == "peek" then
    local s = read_state(KEYS[1])
    if s.err then return s end
    return {s.time, s.hold, s.current, s.previous, s.blocked}
end

local checks, admitted = {}, true
for i, key in ipairs(KEYS) do
    local a = 3 + (i - 1) * 7
    local p = {
        algorithm = tonumber(ARGV[a]), limit = tonumber(ARGV[a + 1]), interval = tonumber(ARGV[a + 2]),
        emission = tonumber(ARGV[a + 3]), capacity = tonumber(ARGV[a + 4]), block = tonumber(ARGV[a + 5]),
        enforce = ARGV[a + 6] == "1",
    }
    local s = read_state(key)
    if s.err then return s end
    local e = evaluate(p, s)
    if p.enforce and not e.allowed then admitted = false end
    checks[i] = {p = p, s = s, e = e}
end

local reply = {admitted and 1 or 0}
for i, key in ipairs(KEYS) do
    local c = checks[i]
    local p, s, e = c.p, c.s, c.e
    if admitted and e.allowed then
        write_state(key, e.next)
    elseif p.enforce and not e.allowed then
        local n = e.next
        if p.block > 0 and not blocked_now(n) then  -- the refusal starts the key's block
            n.blocked, n.hold = 1, math.max(n.hold, p.block)
            write_state(key, n)
        end
        -- A block is what the client has to wait for.
        if n.blocked == 1 then e.retry_after = math.max(e.retry_after, n.hold) end
        e.reset = math.max(e.reset, idle_at(n))
    end
    local base = 1 + (i - 1) * 4
    reply[base + 1] = e.allowed and 1 or 0
    reply[base + 2] = e.remaining
    reply[base + 3] = e.reset
    reply[base + 4] = e.retry_after
end
return reply
