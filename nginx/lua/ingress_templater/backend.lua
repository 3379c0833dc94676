-- One backend as a worker uses it, built from its stored JSON once per version.
local cjson = require("cjson.safe").new()
local store = require("ingress_templater.store")
local sticky = require("ingress_templater.lb.sticky")
local canary = require("ingress_templater.canary")

local min = math.min

local LB = {
    round_robin = require("ingress_templater.lb.round_robin"),
    random = require("ingress_templater.lb.random"),
    ewma = require("ingress_templater.lb.ewma"),
    chash = require("ingress_templater.lb.chash"),
}

local _M = {
    -- must match proxy_next_upstream_tries in nginx.conf
    MAX_TRIES = 3,
}

-- previous: this backend's instance for an older version (ewma keeps its measurements)
function _M.build(name, version, json, previous)
    local data, err = cjson.decode(json)
    if type(data) ~= "table" then return nil, "stored JSON does not decode: " .. tostring(err) end
    local lb = LB[data.loadBalance]
    if not lb then return nil, "unknown loadBalance " .. tostring(data.loadBalance) end

    local eps = {}
    for i, e in ipairs(data.endpoints) do
        -- set_current_peer wants IPv6 in brackets; key is how nginx prints the peer ($upstream_addr)
        local host = e.address:find(":", 1, true) and "[" .. e.address .. "]" or e.address
        eps[i] = { address = e.address, host = host, port = e.port, key = host .. ":" .. e.port }
    end

    local b = {
        name = name,
        version = version,
        endpoints = eps,
        n = #eps,
        more_tries = min(#eps, _M.MAX_TRIES) - 1,
        rr_key = store.rr_key(name),
    }
    b.lb = lb.new(b, data, previous and previous.lb)
    if data.affinity then b.affinity = sticky.new(data.affinity, eps) end
    if data.canary then b.canary = canary.new(data.canary) end
    return b
end

return _M
