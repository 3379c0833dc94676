-- The nginx phases of the data plane: balance() (balancer_by_lua), rewrite() (cookie affinity),
-- log() (ewma measurements), init_worker(). Each worker keeps one instance per backend and rebuilds
-- it when the backend's version in the shared dict differs from the cached one: a push is seen on
-- the next request, without timers or polling.
local ngx_balancer = require("ngx.balancer")
local store = require("ingress_templater.store")
local backend = require("ingress_templater.backend")
local canary = require("ingress_templater.canary")

local var, log, WARN, ERR, exit, ERROR = ngx.var, ngx.log, ngx.WARN, ngx.ERR, ngx.exit, ngx.ERROR
local set_current_peer = ngx_balancer.set_current_peer
local set_more_tries = ngx_balancer.set_more_tries
local get_last_failure = ngx_balancer.get_last_failure
local random, gmatch, match, tonumber = math.random, string.gmatch, string.match, tonumber
local dict = store.dict

local CTX_PEER = "ingress_templater_peer"
local CTX_BACKEND = "ingress_templater_backend" -- the instance chosen for a backend with a canary

local _M = {}

local cache = {}  -- name -> backend instance (this worker)
local warned = {} -- name -> global version at which "unknown" was last logged

local function unknown(name)
    cache[name] = nil
    local v = store.version()
    if warned[name] ~= v then
        warned[name] = v
        log(WARN, "backend ", name, " is unknown: answering 503")
    end
end

local function refresh(name, version)
    local json = version and store.json(name)
    if not json then return unknown(name) end
    local b, err = backend.build(name, version, json, cache[name])
    if not b then
        log(ERR, "backend ", name, " version ", version, ": ", err)
        return nil
    end
    cache[name] = b
    if b.n == 0 then
        log(WARN, "backend ", name, " version ", version, " has no endpoints: answering 503")
    end
    return b
end

-- the backend as of now: one dict:get per call, a rebuild only when the version moved
local function current(name)
    if not name or name == "" then return nil end
    local version = dict:get(name)
    local b = cache[name]
    if b and b.version == version then return b end
    return refresh(name, version)
end

-- a retry: an endpoint not tried yet ($upstream_addr lists the tries so far)
local function untried(b)
    local tried = {}
    for addr in gmatch(var.upstream_addr or "", "[^%s,]+") do tried[addr] = true end
    local eps, n = b.endpoints, b.n
    local start = random(n)
    for i = 0, n - 1 do
        local ep = eps[(start + i - 1) % n + 1]
        if not tried[ep.key] then return ep end
    end
    return eps[start]
end

-- b has a canary: the backend that serves this request, decided once (the canary only when it has
-- endpoints, as ingress-nginx does); later phases and retries reuse the decision
local function routed(b)
    local ctx = ngx.ctx
    local chosen = ctx[CTX_BACKEND]
    if chosen then return chosen end
    chosen = b
    local alt = current(b.canary.backend)
    if alt and alt.n > 0 and canary.decide(b.canary, b, alt) then chosen = alt end
    ctx[CTX_BACKEND] = chosen
    return chosen
end

-- No endpoint for this request: nginx.conf names a loopback server that answers 503 in
-- $ingress_templater_unavailable ("127.0.0.2:port"); where that is empty or undefined, fail with 500 for
-- the location's error_page. No retry either way.
local function unavailable()
    local host, port = match(var.ingress_templater_unavailable or "", "^(.+):(%d+)$")
    if not host then return exit(ERROR) end
    local ok, err = set_current_peer(host, tonumber(port))
    if not ok then
        log(ERR, "cannot answer 503 through ", host, ":", port, ": ", err)
        return exit(ERROR)
    end
end

function _M.init_worker()
    -- workers fork from one master: seed each differently, with well-mixed bits
    math.randomseed(tonumber(ngx.md5(ngx.worker.pid() .. " " .. ngx.now()):sub(1, 12), 16))
end

function _M.balance()
    local b = current(var.proxy_upstream_name)
    if b and b.canary then b = routed(b) end
    if not b or b.n == 0 then return unavailable() end

    local ep
    if get_last_failure() == nil then
        if b.affinity then ep = ngx.ctx[CTX_PEER] end
        if not ep then ep = b.lb:pick() end
        if b.n > 1 then set_more_tries(b.more_tries) end
    else
        ep = untried(b)
    end

    local ok, err = set_current_peer(ep.host, ep.port)
    if not ok then
        log(ERR, "backend ", b.name, ": cannot use ", ep.key, ": ", err)
        return unavailable()
    end
end

function _M.rewrite()
    local b = current(var.proxy_upstream_name)
    if b and b.canary then b = routed(b) end
    if b and b.n > 0 and b.affinity then
        ngx.ctx[CTX_PEER] = b.affinity:route(b.lb)
    end
end

function _M.log()
    local b = cache[var.proxy_upstream_name]
    if b and b.canary then b = ngx.ctx[CTX_BACKEND] or b end
    if b and b.lb.observe then
        b.lb:observe(var.upstream_addr, var.upstream_response_time)
    end
end

return _M
