-- Uniform random pick; the generator is seeded per worker in balancer.init_worker().
local random = math.random

local mt = {}
mt.__index = mt

local _M = {}

function _M.new(b)
    return setmetatable({ eps = b.endpoints, n = b.n }, mt)
end

function mt:pick()
    return self.eps[random(self.n)]
end

return _M
