-- Canary routing: a backend with a "canary" field sends some of its requests to another backend (the
-- canary Ingress's). Only such backends pay for it; balancer.lua decides once per request (ngx.ctx)
-- so that the rewrite phase, every try in the balancer and the log phase agree, and retries stay
-- within the backend chosen. Precedence as in ingress-nginx: header, then cookie, then weight; a
-- client that cookie affinity pinned to one side stays there when no header or cookie rule decided.
local var, re_find, random, log, ERR = ngx.var, ngx.re.find, math.random, ngx.log, ngx.ERR
local gsub, lower = string.gsub, string.lower

local _M = {}

-- c: the validated "canary" object of a backend (validate.lua)
function _M.new(c)
    local header_var, cookie_var
    -- $http_x_canary: nginx spells header variables in lower case with '_' for '-'
    if c.header then header_var = "http_" .. gsub(lower(c.header), "-", "_") end
    if c.cookie then cookie_var = "cookie_" .. c.cookie end
    return {
        backend = c.backend,
        weight = c.weight,
        total = c.weightTotal,
        header_var = header_var,
        value = c.headerValue,
        pattern = c.headerPattern,
        cookie_var = cookie_var,
    }
end

-- true: this request goes to the canary backend alt; false: it stays on main
function _M.decide(c, main, alt)
    local hv = c.header_var
    if hv then
        local v = var[hv]
        if v then
            if c.value then
                if v == c.value then return true end
            elseif c.pattern then
                local from, _, err = re_find(v, c.pattern, "jo")
                if from then return true end
                -- checked when pushed, so this should not happen; ingress-nginx counts it as no match
                if err then log(ERR, "canary of ", c.backend, ": header pattern: ", err) end
            elseif v == "always" then
                return true
            elseif v == "never" then
                return false
            end
        end
    end
    local cv = c.cookie_var
    if cv then
        local v = var[cv]
        if v == "always" then return true end
        if v == "never" then return false end
    end
    if alt.affinity and alt.affinity:owns() then return true end
    if main.affinity and main.affinity:owns() then return false end
    local w = c.weight
    if w <= 0 then return false end
    if w >= c.total then return true end
    return random(c.total) <= w
end

return _M
