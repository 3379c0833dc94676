-- Cookie affinity. The cookie value is md5("address:port"), so it stays valid across pushes, workers
-- and reloads for as long as that endpoint exists. Runs in the rewrite phase, where response headers
-- can still be set; the choice reaches balance() through ngx.ctx.
local var, header, md5 = ngx.var, ngx.header, ngx.md5

local mt = {}
mt.__index = mt

local _M = {}

function _M.new(affinity, eps)
    local by_cookie = {}
    for _, ep in ipairs(eps) do
        ep.cookie = md5(ep.address .. ":" .. ep.port)
        by_cookie[ep.cookie] = ep
    end
    local attrs = "; Path=" .. affinity.path
    if affinity.maxAge then attrs = attrs .. "; Max-Age=" .. affinity.maxAge end
    return setmetatable({
        var = "cookie_" .. affinity.name,
        prefix = affinity.name .. "=",
        attrs = attrs .. "; HttpOnly",
        by_cookie = by_cookie,
    }, mt)
end

local function add_set_cookie(value)
    local current = header["Set-Cookie"]
    if current == nil then
        header["Set-Cookie"] = value
    elseif type(current) == "table" then
        current[#current + 1] = value
        header["Set-Cookie"] = current
    else
        header["Set-Cookie"] = { current, value }
    end
end

-- does the request carry a cookie naming an endpoint of this set (canary stickiness)
function mt:owns()
    local value = var[self.var]
    return value ~= nil and self.by_cookie[value] ~= nil
end

-- the endpoint for this request: the cookie's if it is still in the set, else lb's pick, pinned
function mt:route(lb)
    local value = var[self.var]
    local ep = value and self.by_cookie[value]
    if ep then return ep end
    ep = lb:pick()
    add_set_cookie(self.prefix .. ep.cookie .. self.attrs)
    return ep
end

return _M
