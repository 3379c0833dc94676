-- Latency-aware pick, per worker: an exponentially weighted moving average of each endpoint's
-- response time, fed by balancer.log(); the pick is the better of two random endpoints (power of
-- two choices), which avoids sending every request to the single best one.
local random, exp, now, tonumber, max = math.random, math.exp, ngx.now, tonumber, math.max
local gmatch, find = string.gmatch, string.find

local ALPHA = 0.3       -- weight of a new sample
local DECAY = 10        -- seconds: a score that gets no new samples fades, so a once-slow endpoint
                        -- is tried again later instead of being shunned forever
local FAILED = 1        -- seconds charged to a try that failed over to another endpoint

local mt = {}
mt.__index = mt

local _M = {}

-- previous: the instance of an older version; measurements of endpoints still present carry over
function _M.new(b, _, previous)
    local stats, keys = {}, {}
    for _, ep in ipairs(b.endpoints) do
        keys[ep.key] = true
        if previous and previous.stats then stats[ep.key] = previous.stats[ep.key] end
    end
    return setmetatable({ eps = b.endpoints, n = b.n, stats = stats, keys = keys }, mt)
end

local function score(s, t)
    if not s then return 0 end
    return s.avg * exp((s.at - t) / DECAY)
end

function mt:pick()
    local n = self.n
    if n == 1 then return self.eps[1] end
    local i = random(n)
    local j = random(n - 1)
    if j >= i then j = j + 1 end
    local a, b = self.eps[i], self.eps[j]
    local t, stats = now(), self.stats
    if score(stats[b.key], t) < score(stats[a.key], t) then return b end
    return a
end

function mt:update(key, seconds, t)
    if not self.keys[key] then return end
    local s = self.stats[key]
    if not s then
        self.stats[key] = { avg = seconds, at = t }
        return
    end
    local current = score(s, t)
    s.avg = current + ALPHA * (seconds - current)
    s.at = t
end

-- addrs, times: $upstream_addr and $upstream_response_time, one entry per try ("a, b" after a
-- retry, " : " after an internal redirect); every try but the last one failed
function mt:observe(addrs, times)
    if not addrs or not times then return end
    if not find(addrs, " ", 1, true) then -- one try, the usual case
        return self:update(addrs, tonumber(times) or FAILED, now())
    end
    local list = {}
    for a in gmatch(addrs, "[^%s,]+") do
        if a ~= ":" then list[#list + 1] = a end
    end
    local i, t = 0, now()
    for v in gmatch(times, "[^%s,]+") do
        if v ~= ":" then
            i = i + 1
            local key = list[i]
            if not key then break end
            local seconds = tonumber(v) or FAILED
            if i < #list then seconds = max(seconds, FAILED) end
            self:update(key, seconds, t)
        end
    end
end

return _M
