-- What a fleet shares besides counters (README, "Fleet mode"): the live
-- blocks, the quotas made through the admin API, the quota settings and the
-- hosts' heartbeats. Every change is numbered (seq) and appended to a
-- stream, in the same call that makes it, so a host that applies the stream
-- in order and sees no gap in the numbers holds exactly the fleet's state;
-- a gap (the stream was trimmed while it was away) sends it back to a
-- snapshot. All keys share the hash tag {fleet}: one Redis Cluster slot.
--
-- KEYS: 1 blocks (hash client -> "<expiry unix ns> <origin>"),
--       2 block expiries (zset client -> expiry unix ms),
--       3 quotas (hash name -> JSON), 4 settings (JSON), 5 events (stream),
--       6 seq (the last change's number), 7 nodes (hash name -> JSON),
--       8 node heartbeats (zset name -> unix ms)
-- ARGV: 1 operation, 2 the stream's length, then the operation's.

local op = ARGV[1]
local stream_length = ARGV[2]

local function now_ms()
    local t = redis.call('TIME')
    return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Unix ns do not fit a double: they stay decimal strings, compared by
-- length first (no leading zeros), and become ms for the expiry index.
local function later(a, b)
    if #a ~= #b then return #a > #b end
    return a > b
end
local function ns_to_ms(ns)
    if #ns <= 6 then return 0 end
    return tonumber(string.sub(ns, 1, -7))
end

-- In slices: Lua passes a limited number of arguments to a call.
local function hdel_all(key, fields)
    for i = 1, #fields, 1000 do
        redis.call('HDEL', key, unpack(fields, i, math.min(i + 999, #fields)))
    end
end

local function drop_expired_blocks(now)
    local gone = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
    if #gone == 0 then return end
    hdel_all(KEYS[1], gone)
    redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
end

local function drop_gone_nodes(now, lifetime)
    local gone = redis.call('ZRANGEBYSCORE', KEYS[8], '-inf', now - lifetime)
    if #gone == 0 then return end
    hdel_all(KEYS[7], gone)
    redis.call('ZREMRANGEBYSCORE', KEYS[8], '-inf', now - lifetime)
end

local function current_seq()
    return tonumber(redis.call('GET', KEYS[6]) or '0')
end

local function publish(...)
    local seq = redis.call('INCR', KEYS[6])
    redis.call('XADD', KEYS[5], 'MAXLEN', '~', stream_length, '*', 'seq', seq, ...)
    return seq
end

-- Enters a block unless the fleet holds one as long; returns the change's
-- number, or 0 when nothing changed.
local function put_block(client, expiry, origin, now)
    if ns_to_ms(expiry) <= now then return 0 end
    local held = redis.call('HGET', KEYS[1], client)
    if held then
        local held_expiry = string.match(held, '^(%d+)')
        if held_expiry and not later(expiry, held_expiry) then return 0 end
    end
    redis.call('HSET', KEYS[1], client, expiry .. ' ' .. origin)
    redis.call('ZADD', KEYS[2], ns_to_ms(expiry), client)
    return publish('op', 'block', 'client', client, 'expiry', expiry, 'origin', origin)
end

-- A quota of a live host's config file may not be taken by the API.
local function file_quota_owner(name, writer, now, lifetime)
    local live = redis.call('ZRANGEBYSCORE', KEYS[8], now - lifetime, '+inf')
    for _, node in ipairs(live) do
        if node ~= writer then
            local record = redis.call('HGET', KEYS[7], node)
            if record then
                local file = (cjson.decode(record).file_quotas or {})[name]
                if file then return node, file end
            end
        end
    end
    return nil
end

if op == 'block' then
    return put_block(ARGV[3], ARGV[4], ARGV[5], now_ms())
elseif op == 'unblock' then
    redis.call('HDEL', KEYS[1], ARGV[3])
    redis.call('ZREM', KEYS[2], ARGV[3])
    return publish('op', 'unblock', 'client', ARGV[3])
elseif op == 'quota' then
    -- ARGV: name, JSON (empty: delete), the writing host, node lifetime (ms)
    local name, json = ARGV[3], ARGV[4]
    if json ~= '' then
        local node, file = file_quota_owner(name, ARGV[5], now_ms(), tonumber(ARGV[6]))
        if node then
            return redis.error_reply('quota "' .. name .. '" is defined in ' .. file .. ' on host ' .. node ..
                                     ': change it there and reload (SIGHUP)')
        end
        redis.call('HSET', KEYS[3], name, json)
    else
        redis.call('HDEL', KEYS[3], name)
    end
    return publish('op', 'quota', 'name', name, 'json', json)
elseif op == 'settings' then
    redis.call('SET', KEYS[4], ARGV[3])
    return publish('op', 'settings', 'json', ARGV[3])
elseif op == 'seed' then
    -- The first host of a fleet brings its API quotas, settings and blocks;
    -- ARGV: settings, quota count, name/JSON pairs, then client/expiry/origin.
    if redis.call('EXISTS', KEYS[4]) == 1 then return 0 end
    redis.call('SET', KEYS[4], ARGV[3])
    local quotas = tonumber(ARGV[4])
    for i = 5, 4 + 2 * quotas, 2 do redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1]) end
    local now = now_ms()
    for i = 5 + 2 * quotas, #ARGV, 3 do put_block(ARGV[i], ARGV[i + 1], ARGV[i + 2], now) end
    return publish('op', 'reset')
elseif op == 'snapshot' then
    drop_expired_blocks(now_ms())
    local last = redis.call('XREVRANGE', KEYS[5], '+', '-', 'COUNT', 1)
    local last_id = '0-0'
    if #last > 0 then last_id = last[1][1] end
    return {current_seq(), last_id, redis.call('HGETALL', KEYS[1]), redis.call('HGETALL', KEYS[3]),
            redis.call('GET', KEYS[4])}
elseif op == 'heartbeat' then
    -- ARGV: this host's name, its record (JSON), node lifetime (ms). Returns
    -- the last change's number, then name, record and last heartbeat (ms)
    -- of every live host.
    local now = now_ms()
    redis.call('HSET', KEYS[7], ARGV[3], ARGV[4])
    redis.call('ZADD', KEYS[8], now, ARGV[3])
    drop_gone_nodes(now, tonumber(ARGV[5]))
    drop_expired_blocks(now)
    local reply = {current_seq()}
    local live = redis.call('ZRANGE', KEYS[8], 0, -1, 'WITHSCORES')
    for i = 1, #live, 2 do
        reply[#reply + 1] = live[i]
        reply[#reply + 1] = redis.call('HGET', KEYS[7], live[i]) or '{}'
        reply[#reply + 1] = live[i + 1]
    end
    return reply
elseif op == 'leave' then
    redis.call('HDEL', KEYS[7], ARGV[3])
    redis.call('ZREM', KEYS[8], ARGV[3])
    return 1
end
return redis.error_reply('unknown fleet operation ' .. tostring(op))
