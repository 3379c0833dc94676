-- The internal API: /configuration/backends on the loopback-only server. POST replaces the whole
-- backend set, PATCH adds, changes and removes single backends (both validated completely first; an
-- invalid backend is refused alone and listed in a 207 answer, see validate.lua), GET shows the set.
local validate = require("ingress_templater.validate")
local store = require("ingress_templater.store")
local encode = require("cjson.safe").encode

local ngx, log, INFO, WARN, concat, ipairs = ngx, ngx.log, ngx.INFO, ngx.WARN, table.concat, ipairs

local _M = {}

local LOOPBACK = { ["127.0.0.1"] = true, ["localhost"] = true, ["[::1]"] = true }

-- "127.0.0.1", "localhost:10246", "[::1]:10246"...; a browser tricked by DNS rebinding sends its
-- own name here, so only loopback names pass
local function loopback_host(value)
    if type(value) ~= "string" then return false end
    value = value:lower()
    return LOOPBACK[value:match("^(.-):%d%d?%d?%d?%d?$") or value] == true
end

local function reply(status, body)
    ngx.status = status
    ngx.header["Content-Type"] = "application/json"
    ngx.header["Cache-Control"] = "no-store"
    ngx.print(body, "\n")
    return ngx.exit(ngx.HTTP_OK) -- the status is set; this only ends the request
end

local function fail(status, message)
    return reply(status, '{"error":' .. encode(message) .. "}")
end

local function read_body()
    ngx.req.read_body()
    local body = ngx.req.get_body_data()
    if body then return body end
    -- only when client_body_buffer_size is below the body size
    local path = ngx.req.get_body_file()
    if not path then return nil end
    local f, err = io.open(path, "rb")
    if not f then return nil, err end
    body = f:read("*a")
    f:close()
    return body
end

-- check: validate.backends or validate.patch; apply: store.replace or store.patch
local function push(what, check, apply, count)
    local body, err = read_body()
    if not body then
        if err then return fail(500, "cannot read the request body: " .. err) end
        return fail(400, "body: empty, expected a JSON object")
    end
    local input
    input, err = check(body)
    if not input then return fail(400, err) end
    local res, status
    res, err, status = apply(input)
    if not res then return fail(status, err) end
    log(INFO, what, ": version ", res.version, ", ", count(input), " backends, ", res.changed,
        " changed, ", res.removed, " removed, ", #input.refused, " refused")
    local body = '{"version":' .. res.version .. ',"changed":' .. res.changed .. ',"removed":' .. res.removed
    if #input.refused == 0 then return reply(201, body .. "}") end
    -- 207: stored, except the backends listed, which keep what was stored for them
    local refused = {}
    for i, r in ipairs(input.refused) do
        log(WARN, what, ": backend ", r.name, " refused: ", r.error)
        refused[i] = '{"name":' .. encode(r.name) .. ',"error":' .. encode(r.error) .. "}"
    end
    return reply(207, body .. ',"refused":[' .. concat(refused, ",") .. "]}")
end

local function post()
    return push("backends", validate.backends, store.replace, function(p) return #p.backends end)
end

local function patch()
    return push("backends patch", validate.patch, store.patch, function(p) return #p.backends end)
end

function _M.backends()
    if not loopback_host(ngx.var.http_host) then
        return fail(403, "Host must be 127.0.0.1, localhost or [::1]")
    end
    -- a browser page cannot make its cross-site POST look local: it sends Origin
    local origin = ngx.var.http_origin
    if origin and not loopback_host(origin:match("^https?://([^/]+)$")) then
        return fail(403, "cross-origin requests are refused")
    end
    local method = ngx.req.get_method()
    if method == "POST" then return post() end
    if method == "PATCH" then return patch() end
    if method == "GET" or method == "HEAD" then return reply(200, store.dump()) end
    ngx.header["Allow"] = "GET, HEAD, POST, PATCH"
    return fail(405, "use POST to replace the backends, PATCH to change some, GET to read them")
end

return _M
