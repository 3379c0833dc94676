-- Round robin shared by all workers: one counter per backend in the shared dict, so consecutive
-- requests rotate exactly whichever worker takes them.
local dict = require("ingress_templater.store").dict

local mt = {}
mt.__index = mt

local _M = {}

function _M.new(b)
    return setmetatable({ eps = b.endpoints, n = b.n, key = b.rr_key, fallback = 0 }, mt)
end

function mt:pick()
    -- no init value: creating the key here could evict another entry of a full dict
    local c = dict:incr(self.key, 1)
    if not c then
        self.fallback = self.fallback + 1
        c = self.fallback
    end
    return self.eps[c % self.n + 1]
end

return _M
